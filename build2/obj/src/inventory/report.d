build2/obj/src/inventory/report.o: src/inventory/report.c \
 src/inventory/../core/timeutil.h src/inventory/../core/base.h \
 src/inventory/../store/filter.h src/inventory/../store/../core/arena.h \
 src/inventory/../store/../core/base.h \
 src/inventory/../store/../core/buf.h \
 src/inventory/../store/../model/spec.h \
 src/inventory/../store/../model/../core/val.h \
 src/inventory/../store/../model/../core/arena.h \
 src/inventory/../store/../model/../core/base.h src/inventory/inventory.h \
 src/inventory/../jobs/jobs.h src/inventory/../jobs/../core/arena.h \
 src/inventory/../jobs/../store/store.h \
 src/inventory/../jobs/../store/../core/val.h \
 src/inventory/../jobs/../store/../model/spec.h \
 src/inventory/../jobs/../store/filter.h src/inventory/../model/spec.h \
 src/inventory/../store/store.h
src/inventory/../core/timeutil.h:
src/inventory/../core/base.h:
src/inventory/../store/filter.h:
src/inventory/../store/../core/arena.h:
src/inventory/../store/../core/base.h:
src/inventory/../store/../core/buf.h:
src/inventory/../store/../model/spec.h:
src/inventory/../store/../model/../core/val.h:
src/inventory/../store/../model/../core/arena.h:
src/inventory/../store/../model/../core/base.h:
src/inventory/inventory.h:
src/inventory/../jobs/jobs.h:
src/inventory/../jobs/../core/arena.h:
src/inventory/../jobs/../store/store.h:
src/inventory/../jobs/../store/../core/val.h:
src/inventory/../jobs/../store/../model/spec.h:
src/inventory/../jobs/../store/filter.h:
src/inventory/../model/spec.h:
src/inventory/../store/store.h:
