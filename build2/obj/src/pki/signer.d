build2/obj/src/pki/signer.o: src/pki/signer.c src/pki/signer.h \
 src/pki/../core/buf.h src/pki/../core/base.h src/pki/ca.h \
 src/pki/../core/seal.h src/pki/../core/buf.h src/pki/certutil.h \
 src/pki/status.h src/pki/../core/arena.h src/pki/../core/pem.h \
 src/pki/cacert.h src/pki/issue.h
src/pki/signer.h:
src/pki/../core/buf.h:
src/pki/../core/base.h:
src/pki/ca.h:
src/pki/../core/seal.h:
src/pki/../core/buf.h:
src/pki/certutil.h:
src/pki/status.h:
src/pki/../core/arena.h:
src/pki/../core/pem.h:
src/pki/cacert.h:
src/pki/issue.h:
