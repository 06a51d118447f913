build2/obj/src/inventory/certificate.o: src/inventory/certificate.c \
 src/inventory/../core/rnd.h src/inventory/../core/base.h \
 src/inventory/../core/timeutil.h src/inventory/../model/validate.h \
 src/inventory/../model/spec.h src/inventory/../model/../core/val.h \
 src/inventory/../model/../core/arena.h \
 src/inventory/../model/../core/base.h src/inventory/../store/filter.h \
 src/inventory/../store/../core/arena.h \
 src/inventory/../store/../core/buf.h \
 src/inventory/../store/../core/base.h \
 src/inventory/../store/../model/spec.h src/inventory/certparse.h \
 src/inventory/../core/arena.h src/inventory/../core/base.h \
 src/inventory/../core/val.h src/inventory/inventory.h \
 src/inventory/../jobs/jobs.h src/inventory/../jobs/../core/arena.h \
 src/inventory/../jobs/../store/store.h \
 src/inventory/../jobs/../store/../core/val.h \
 src/inventory/../jobs/../store/../model/spec.h \
 src/inventory/../jobs/../store/filter.h src/inventory/../model/spec.h \
 src/inventory/../store/store.h
src/inventory/../core/rnd.h:
src/inventory/../core/base.h:
src/inventory/../core/timeutil.h:
src/inventory/../model/validate.h:
src/inventory/../model/spec.h:
src/inventory/../model/../core/val.h:
src/inventory/../model/../core/arena.h:
src/inventory/../model/../core/base.h:
src/inventory/../store/filter.h:
src/inventory/../store/../core/arena.h:
src/inventory/../store/../core/buf.h:
src/inventory/../store/../core/base.h:
src/inventory/../store/../model/spec.h:
src/inventory/certparse.h:
src/inventory/../core/arena.h:
src/inventory/../core/base.h:
src/inventory/../core/val.h:
src/inventory/inventory.h:
src/inventory/../jobs/jobs.h:
src/inventory/../jobs/../core/arena.h:
src/inventory/../jobs/../store/store.h:
src/inventory/../jobs/../store/../core/val.h:
src/inventory/../jobs/../store/../model/spec.h:
src/inventory/../jobs/../store/filter.h:
src/inventory/../model/spec.h:
src/inventory/../store/store.h:
