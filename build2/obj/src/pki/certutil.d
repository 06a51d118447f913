build2/obj/src/pki/certutil.o: src/pki/certutil.c src/pki/certutil.h \
 src/pki/../core/buf.h src/pki/../core/base.h src/pki/../core/pem.h
src/pki/certutil.h:
src/pki/../core/buf.h:
src/pki/../core/base.h:
src/pki/../core/pem.h:
