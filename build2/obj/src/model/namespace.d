build2/obj/src/model/namespace.o: src/model/namespace.c \
 src/model/../jobs/jobs.h src/model/../jobs/../core/arena.h \
 src/model/../jobs/../core/base.h src/model/../jobs/../store/store.h \
 src/model/../jobs/../store/../core/val.h \
 src/model/../jobs/../store/../core/arena.h \
 src/model/../jobs/../store/../core/base.h \
 src/model/../jobs/../store/../model/spec.h \
 src/model/../jobs/../store/../model/../core/val.h \
 src/model/../jobs/../store/filter.h \
 src/model/../jobs/../store/../core/arena.h \
 src/model/../jobs/../store/../core/buf.h src/model/../store/store.h \
 src/model/specs.h src/model/spec.h src/model/../core/timeutil.h \
 src/model/../core/base.h
src/model/../jobs/jobs.h:
src/model/../jobs/../core/arena.h:
src/model/../jobs/../core/base.h:
src/model/../jobs/../store/store.h:
src/model/../jobs/../store/../core/val.h:
src/model/../jobs/../store/../core/arena.h:
src/model/../jobs/../store/../core/base.h:
src/model/../jobs/../store/../model/spec.h:
src/model/../jobs/../store/../model/../core/val.h:
src/model/../jobs/../store/filter.h:
src/model/../jobs/../store/../core/arena.h:
src/model/../jobs/../store/../core/buf.h:
src/model/../store/store.h:
src/model/specs.h:
src/model/spec.h:
src/model/../core/timeutil.h:
src/model/../core/base.h:
