build2/obj/src/pki/ocsp.o: src/pki/ocsp.c src/pki/status.h \
 src/pki/../core/arena.h src/pki/../core/base.h src/pki/../core/buf.h \
 src/pki/ca.h src/pki/../core/seal.h src/pki/../core/buf.h \
 src/pki/certutil.h
src/pki/status.h:
src/pki/../core/arena.h:
src/pki/../core/base.h:
src/pki/../core/buf.h:
src/pki/ca.h:
src/pki/../core/seal.h:
src/pki/../core/buf.h:
src/pki/certutil.h:
