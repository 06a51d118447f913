build2/obj/src/inventory/imports.o: src/inventory/imports.c \
 src/inventory/../core/config.h src/inventory/../core/base.h \
 src/inventory/certparse.h src/inventory/../core/arena.h \
 src/inventory/../core/base.h src/inventory/../core/val.h \
 src/inventory/../core/arena.h src/inventory/inventory.h \
 src/inventory/../jobs/jobs.h src/inventory/../jobs/../core/arena.h \
 src/inventory/../jobs/../store/store.h \
 src/inventory/../jobs/../store/../core/val.h \
 src/inventory/../jobs/../store/../model/spec.h \
 src/inventory/../jobs/../store/../model/../core/val.h \
 src/inventory/../jobs/../store/filter.h \
 src/inventory/../jobs/../store/../core/arena.h \
 src/inventory/../jobs/../store/../core/buf.h \
 src/inventory/../jobs/../store/../core/base.h \
 src/inventory/../model/spec.h src/inventory/../store/store.h
src/inventory/../core/config.h:
src/inventory/../core/base.h:
src/inventory/certparse.h:
src/inventory/../core/arena.h:
src/inventory/../core/base.h:
src/inventory/../core/val.h:
src/inventory/../core/arena.h:
src/inventory/inventory.h:
src/inventory/../jobs/jobs.h:
src/inventory/../jobs/../core/arena.h:
src/inventory/../jobs/../store/store.h:
src/inventory/../jobs/../store/../core/val.h:
src/inventory/../jobs/../store/../model/spec.h:
src/inventory/../jobs/../store/../model/../core/val.h:
src/inventory/../jobs/../store/filter.h:
src/inventory/../jobs/../store/../core/arena.h:
src/inventory/../jobs/../store/../core/buf.h:
src/inventory/../jobs/../store/../core/base.h:
src/inventory/../model/spec.h:
src/inventory/../store/store.h:
