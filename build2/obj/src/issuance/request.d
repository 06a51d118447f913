build2/obj/src/issuance/request.o: src/issuance/request.c \
 src/issuance/../core/net.h src/issuance/../core/base.h \
 src/issuance/../core/timeutil.h src/issuance/../inventory/inventory.h \
 src/issuance/../inventory/../jobs/jobs.h \
 src/issuance/../inventory/../jobs/../core/arena.h \
 src/issuance/../inventory/../jobs/../core/base.h \
 src/issuance/../inventory/../jobs/../store/store.h \
 src/issuance/../inventory/../jobs/../store/../core/val.h \
 src/issuance/../inventory/../jobs/../store/../core/arena.h \
 src/issuance/../inventory/../jobs/../store/../core/base.h \
 src/issuance/../inventory/../jobs/../store/../model/spec.h \
 src/issuance/../inventory/../jobs/../store/../model/../core/val.h \
 src/issuance/../inventory/../jobs/../store/filter.h \
 src/issuance/../inventory/../jobs/../store/../core/arena.h \
 src/issuance/../inventory/../jobs/../store/../core/buf.h \
 src/issuance/../inventory/../model/spec.h \
 src/issuance/../inventory/../store/store.h \
 src/issuance/../notify/webhook.h src/issuance/../notify/../core/arena.h \
 src/issuance/../notify/../core/val.h src/issuance/../pki/issue.h \
 src/issuance/../pki/../core/arena.h src/issuance/../pki/../core/buf.h \
 src/issuance/../pki/ca.h src/issuance/../pki/../core/seal.h \
 src/issuance/../pki/../core/buf.h src/issuance/../pki/certutil.h \
 src/issuance/local.h src/issuance/../model/spec.h \
 src/issuance/../pki/ca.h src/issuance/../store/store.h \
 src/issuance/issuance.h src/issuance/../api/req.h \
 src/issuance/../api/../core/buf.h src/issuance/../api/../core/codec.h \
 src/issuance/../api/../core/buf.h src/issuance/../api/../core/val.h \
 src/issuance/../api/../core/val.h src/issuance/../api/../model/spec.h \
 src/issuance/policy.h src/issuance/../core/val.h
src/issuance/../core/net.h:
src/issuance/../core/base.h:
src/issuance/../core/timeutil.h:
src/issuance/../inventory/inventory.h:
src/issuance/../inventory/../jobs/jobs.h:
src/issuance/../inventory/../jobs/../core/arena.h:
src/issuance/../inventory/../jobs/../core/base.h:
src/issuance/../inventory/../jobs/../store/store.h:
src/issuance/../inventory/../jobs/../store/../core/val.h:
src/issuance/../inventory/../jobs/../store/../core/arena.h:
src/issuance/../inventory/../jobs/../store/../core/base.h:
src/issuance/../inventory/../jobs/../store/../model/spec.h:
src/issuance/../inventory/../jobs/../store/../model/../core/val.h:
src/issuance/../inventory/../jobs/../store/filter.h:
src/issuance/../inventory/../jobs/../store/../core/arena.h:
src/issuance/../inventory/../jobs/../store/../core/buf.h:
src/issuance/../inventory/../model/spec.h:
src/issuance/../inventory/../store/store.h:
src/issuance/../notify/webhook.h:
src/issuance/../notify/../core/arena.h:
src/issuance/../notify/../core/val.h:
src/issuance/../pki/issue.h:
src/issuance/../pki/../core/arena.h:
src/issuance/../pki/../core/buf.h:
src/issuance/../pki/ca.h:
src/issuance/../pki/../core/seal.h:
src/issuance/../pki/../core/buf.h:
src/issuance/../pki/certutil.h:
src/issuance/local.h:
src/issuance/../model/spec.h:
src/issuance/../pki/ca.h:
src/issuance/../store/store.h:
src/issuance/issuance.h:
src/issuance/../api/req.h:
src/issuance/../api/../core/buf.h:
src/issuance/../api/../core/codec.h:
src/issuance/../api/../core/buf.h:
src/issuance/../api/../core/val.h:
src/issuance/../api/../core/val.h:
src/issuance/../api/../model/spec.h:
src/issuance/policy.h:
src/issuance/../core/val.h:
