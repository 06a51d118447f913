build2/obj/src/pki/der.o: src/pki/der.c src/pki/der.h \
 src/pki/../core/buf.h src/pki/../core/base.h
src/pki/der.h:
src/pki/../core/buf.h:
src/pki/../core/base.h:
