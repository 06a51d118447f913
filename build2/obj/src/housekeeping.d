build2/obj/src/housekeeping.o: src/housekeeping.c src/housekeeping.h \
 src/jobs/jobs.h src/jobs/../core/arena.h src/jobs/../core/base.h \
 src/jobs/../store/store.h src/jobs/../store/../core/val.h \
 src/jobs/../store/../core/arena.h src/jobs/../store/../core/base.h \
 src/jobs/../store/../model/spec.h \
 src/jobs/../store/../model/../core/val.h src/jobs/../store/filter.h \
 src/jobs/../store/../core/arena.h src/jobs/../store/../core/buf.h \
 src/core/config.h src/core/base.h src/core/timeutil.h src/model/specs.h \
 src/model/spec.h
src/housekeeping.h:
src/jobs/jobs.h:
src/jobs/../core/arena.h:
src/jobs/../core/base.h:
src/jobs/../store/store.h:
src/jobs/../store/../core/val.h:
src/jobs/../store/../core/arena.h:
src/jobs/../store/../core/base.h:
src/jobs/../store/../model/spec.h:
src/jobs/../store/../model/../core/val.h:
src/jobs/../store/filter.h:
src/jobs/../store/../core/arena.h:
src/jobs/../store/../core/buf.h:
src/core/config.h:
src/core/base.h:
src/core/timeutil.h:
src/model/specs.h:
src/model/spec.h:
