build2/obj/src/issuance/policy.o: src/issuance/policy.c \
 src/issuance/../core/net.h src/issuance/../core/base.h \
 src/issuance/../core/nspath.h src/issuance/../core/timeutil.h \
 src/issuance/policy.h src/issuance/../core/val.h \
 src/issuance/../core/arena.h src/issuance/../pki/issue.h \
 src/issuance/../pki/../core/arena.h src/issuance/../pki/../core/buf.h \
 src/issuance/../pki/../core/base.h src/issuance/../pki/ca.h \
 src/issuance/../pki/../core/seal.h src/issuance/../pki/../core/buf.h \
 src/issuance/../pki/certutil.h
src/issuance/../core/net.h:
src/issuance/../core/base.h:
src/issuance/../core/nspath.h:
src/issuance/../core/timeutil.h:
src/issuance/policy.h:
src/issuance/../core/val.h:
src/issuance/../core/arena.h:
src/issuance/../pki/issue.h:
src/issuance/../pki/../core/arena.h:
src/issuance/../pki/../core/buf.h:
src/issuance/../pki/../core/base.h:
src/issuance/../pki/ca.h:
src/issuance/../pki/../core/seal.h:
src/issuance/../pki/../core/buf.h:
src/issuance/../pki/certutil.h:
