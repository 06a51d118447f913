build2/obj/src/jobs/jobs.o: src/jobs/jobs.c src/jobs/jobs.h \
 src/jobs/../core/arena.h src/jobs/../core/base.h \
 src/jobs/../store/store.h src/jobs/../store/../core/val.h \
 src/jobs/../store/../core/arena.h src/jobs/../store/../core/base.h \
 src/jobs/../store/../model/spec.h \
 src/jobs/../store/../model/../core/val.h src/jobs/../store/filter.h \
 src/jobs/../store/../core/arena.h src/jobs/../store/../core/buf.h \
 src/jobs/../core/log.h src/jobs/../core/rnd.h \
 src/jobs/../core/timeutil.h
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
src/jobs/../core/log.h:
src/jobs/../core/rnd.h:
src/jobs/../core/timeutil.h:
