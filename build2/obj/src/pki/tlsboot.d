build2/obj/src/pki/tlsboot.o: src/pki/tlsboot.c src/pki/tlsboot.h \
 src/pki/../core/arena.h src/pki/../core/base.h src/pki/../core/buf.h \
 src/pki/ca.h src/pki/../core/seal.h src/pki/../core/buf.h \
 src/pki/../core/fileio.h src/pki/../core/log.h src/pki/../core/pem.h \
 src/pki/certutil.h
src/pki/tlsboot.h:
src/pki/../core/arena.h:
src/pki/../core/base.h:
src/pki/../core/buf.h:
src/pki/ca.h:
src/pki/../core/seal.h:
src/pki/../core/buf.h:
src/pki/../core/fileio.h:
src/pki/../core/log.h:
src/pki/../core/pem.h:
src/pki/certutil.h:
