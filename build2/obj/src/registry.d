build2/obj/src/registry.o: src/registry.c src/discovery/discovery.h \
 src/discovery/../model/spec.h src/discovery/../model/../core/val.h \
 src/discovery/../model/../core/arena.h \
 src/discovery/../model/../core/base.h src/discovery/../store/store.h \
 src/discovery/../store/../core/val.h \
 src/discovery/../store/../model/spec.h src/discovery/../store/filter.h \
 src/discovery/../store/../core/arena.h \
 src/discovery/../store/../core/buf.h \
 src/discovery/../store/../core/base.h src/inventory/inventory.h \
 src/inventory/../jobs/jobs.h src/inventory/../jobs/../core/arena.h \
 src/inventory/../jobs/../store/store.h src/inventory/../model/spec.h \
 src/inventory/../store/store.h src/issuance/issuance.h \
 src/issuance/../api/req.h src/issuance/../api/../core/buf.h \
 src/issuance/../api/../core/codec.h src/issuance/../api/../core/buf.h \
 src/issuance/../api/../core/val.h src/issuance/../api/../core/val.h \
 src/issuance/../api/../model/spec.h src/model/specs.h src/model/spec.h
src/discovery/discovery.h:
src/discovery/../model/spec.h:
src/discovery/../model/../core/val.h:
src/discovery/../model/../core/arena.h:
src/discovery/../model/../core/base.h:
src/discovery/../store/store.h:
src/discovery/../store/../core/val.h:
src/discovery/../store/../model/spec.h:
src/discovery/../store/filter.h:
src/discovery/../store/../core/arena.h:
src/discovery/../store/../core/buf.h:
src/discovery/../store/../core/base.h:
src/inventory/inventory.h:
src/inventory/../jobs/jobs.h:
src/inventory/../jobs/../core/arena.h:
src/inventory/../jobs/../store/store.h:
src/inventory/../model/spec.h:
src/inventory/../store/store.h:
src/issuance/issuance.h:
src/issuance/../api/req.h:
src/issuance/../api/../core/buf.h:
src/issuance/../api/../core/codec.h:
src/issuance/../api/../core/buf.h:
src/issuance/../api/../core/val.h:
src/issuance/../api/../core/val.h:
src/issuance/../api/../model/spec.h:
src/model/specs.h:
src/model/spec.h:
