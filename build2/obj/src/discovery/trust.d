build2/obj/src/discovery/trust.o: src/discovery/trust.c \
 src/discovery/../core/rnd.h src/discovery/../core/base.h \
 src/discovery/../inventory/inventory.h \
 src/discovery/../inventory/../jobs/jobs.h \
 src/discovery/../inventory/../jobs/../core/arena.h \
 src/discovery/../inventory/../jobs/../core/base.h \
 src/discovery/../inventory/../jobs/../store/store.h \
 src/discovery/../inventory/../jobs/../store/../core/val.h \
 src/discovery/../inventory/../jobs/../store/../core/arena.h \
 src/discovery/../inventory/../jobs/../store/../core/base.h \
 src/discovery/../inventory/../jobs/../store/../model/spec.h \
 src/discovery/../inventory/../jobs/../store/../model/../core/val.h \
 src/discovery/../inventory/../jobs/../store/filter.h \
 src/discovery/../inventory/../jobs/../store/../core/arena.h \
 src/discovery/../inventory/../jobs/../store/../core/buf.h \
 src/discovery/../inventory/../model/spec.h \
 src/discovery/../inventory/../store/store.h \
 src/discovery/../store/filter.h src/discovery/trust.h \
 src/discovery/../store/store.h
src/discovery/../core/rnd.h:
src/discovery/../core/base.h:
src/discovery/../inventory/inventory.h:
src/discovery/../inventory/../jobs/jobs.h:
src/discovery/../inventory/../jobs/../core/arena.h:
src/discovery/../inventory/../jobs/../core/base.h:
src/discovery/../inventory/../jobs/../store/store.h:
src/discovery/../inventory/../jobs/../store/../core/val.h:
src/discovery/../inventory/../jobs/../store/../core/arena.h:
src/discovery/../inventory/../jobs/../store/../core/base.h:
src/discovery/../inventory/../jobs/../store/../model/spec.h:
src/discovery/../inventory/../jobs/../store/../model/../core/val.h:
src/discovery/../inventory/../jobs/../store/filter.h:
src/discovery/../inventory/../jobs/../store/../core/arena.h:
src/discovery/../inventory/../jobs/../store/../core/buf.h:
src/discovery/../inventory/../model/spec.h:
src/discovery/../inventory/../store/store.h:
src/discovery/../store/filter.h:
src/discovery/trust.h:
src/discovery/../store/store.h:
