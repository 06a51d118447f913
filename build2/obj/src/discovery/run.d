build2/obj/src/discovery/run.o: src/discovery/run.c \
 src/discovery/../core/timeutil.h src/discovery/../core/base.h \
 src/discovery/../model/validate.h src/discovery/../model/spec.h \
 src/discovery/../model/../core/val.h \
 src/discovery/../model/../core/arena.h \
 src/discovery/../model/../core/base.h src/discovery/../store/filter.h \
 src/discovery/../store/../core/arena.h \
 src/discovery/../store/../core/buf.h \
 src/discovery/../store/../core/base.h \
 src/discovery/../store/../model/spec.h src/discovery/local.h \
 src/discovery/../core/net.h src/discovery/../jobs/jobs.h \
 src/discovery/../jobs/../core/arena.h \
 src/discovery/../jobs/../store/store.h \
 src/discovery/../jobs/../store/../core/val.h \
 src/discovery/../jobs/../store/../model/spec.h \
 src/discovery/../jobs/../store/filter.h src/discovery/cron.h \
 src/discovery/../core/base.h src/discovery/discovery.h \
 src/discovery/../model/spec.h src/discovery/../store/store.h \
 src/discovery/targets.h src/discovery/../core/arena.h
src/discovery/../core/timeutil.h:
src/discovery/../core/base.h:
src/discovery/../model/validate.h:
src/discovery/../model/spec.h:
src/discovery/../model/../core/val.h:
src/discovery/../model/../core/arena.h:
src/discovery/../model/../core/base.h:
src/discovery/../store/filter.h:
src/discovery/../store/../core/arena.h:
src/discovery/../store/../core/buf.h:
src/discovery/../store/../core/base.h:
src/discovery/../store/../model/spec.h:
src/discovery/local.h:
src/discovery/../core/net.h:
src/discovery/../jobs/jobs.h:
src/discovery/../jobs/../core/arena.h:
src/discovery/../jobs/../store/store.h:
src/discovery/../jobs/../store/../core/val.h:
src/discovery/../jobs/../store/../model/spec.h:
src/discovery/../jobs/../store/filter.h:
src/discovery/cron.h:
src/discovery/../core/base.h:
src/discovery/discovery.h:
src/discovery/../model/spec.h:
src/discovery/../store/store.h:
src/discovery/targets.h:
src/discovery/../core/arena.h:
