build2/obj/src/issuance/public.o: src/issuance/public.c \
 src/issuance/../core/log.h src/issuance/../core/base.h \
 src/issuance/../core/rnd.h src/issuance/../core/timeutil.h \
 src/issuance/../inventory/certparse.h \
 src/issuance/../inventory/../core/arena.h \
 src/issuance/../inventory/../core/base.h \
 src/issuance/../inventory/../core/base.h \
 src/issuance/../inventory/../core/val.h \
 src/issuance/../inventory/../core/arena.h src/issuance/../pki/status.h \
 src/issuance/../pki/../core/arena.h src/issuance/../pki/../core/buf.h \
 src/issuance/../pki/../core/base.h src/issuance/../pki/ca.h \
 src/issuance/../pki/../core/seal.h src/issuance/../pki/../core/buf.h \
 src/issuance/../pki/certutil.h src/issuance/../store/filter.h \
 src/issuance/../store/../core/arena.h \
 src/issuance/../store/../core/buf.h \
 src/issuance/../store/../model/spec.h \
 src/issuance/../store/../model/../core/val.h src/issuance/issuance.h \
 src/issuance/../api/req.h src/issuance/../api/../core/buf.h \
 src/issuance/../api/../core/codec.h src/issuance/../api/../core/buf.h \
 src/issuance/../api/../core/val.h src/issuance/../api/../core/val.h \
 src/issuance/../api/../model/spec.h src/issuance/local.h \
 src/issuance/../model/spec.h src/issuance/../pki/ca.h \
 src/issuance/../pki/issue.h src/issuance/../store/store.h \
 src/issuance/../store/../core/val.h src/issuance/../store/filter.h
src/issuance/../core/log.h:
src/issuance/../core/base.h:
src/issuance/../core/rnd.h:
src/issuance/../core/timeutil.h:
src/issuance/../inventory/certparse.h:
src/issuance/../inventory/../core/arena.h:
src/issuance/../inventory/../core/base.h:
src/issuance/../inventory/../core/base.h:
src/issuance/../inventory/../core/val.h:
src/issuance/../inventory/../core/arena.h:
src/issuance/../pki/status.h:
src/issuance/../pki/../core/arena.h:
src/issuance/../pki/../core/buf.h:
src/issuance/../pki/../core/base.h:
src/issuance/../pki/ca.h:
src/issuance/../pki/../core/seal.h:
src/issuance/../pki/../core/buf.h:
src/issuance/../pki/certutil.h:
src/issuance/../store/filter.h:
src/issuance/../store/../core/arena.h:
src/issuance/../store/../core/buf.h:
src/issuance/../store/../model/spec.h:
src/issuance/../store/../model/../core/val.h:
src/issuance/issuance.h:
src/issuance/../api/req.h:
src/issuance/../api/../core/buf.h:
src/issuance/../api/../core/codec.h:
src/issuance/../api/../core/buf.h:
src/issuance/../api/../core/val.h:
src/issuance/../api/../core/val.h:
src/issuance/../api/../model/spec.h:
src/issuance/local.h:
src/issuance/../model/spec.h:
src/issuance/../pki/ca.h:
src/issuance/../pki/issue.h:
src/issuance/../store/store.h:
src/issuance/../store/../core/val.h:
src/issuance/../store/filter.h:
