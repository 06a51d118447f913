build2/obj/src/pki/leaf.o: src/pki/leaf.c src/pki/issue.h \
 src/pki/../core/arena.h src/pki/../core/base.h src/pki/../core/buf.h \
 src/pki/ca.h src/pki/../core/seal.h src/pki/../core/buf.h \
 src/pki/certutil.h src/pki/certext.h src/pki/der.h
src/pki/issue.h:
src/pki/../core/arena.h:
src/pki/../core/base.h:
src/pki/../core/buf.h:
src/pki/ca.h:
src/pki/../core/seal.h:
src/pki/../core/buf.h:
src/pki/certutil.h:
src/pki/certext.h:
src/pki/der.h:
