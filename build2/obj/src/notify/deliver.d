build2/obj/src/notify/deliver.o: src/notify/deliver.c \
 src/notify/deliver.h src/notify/../jobs/jobs.h \
 src/notify/../jobs/../core/arena.h src/notify/../jobs/../core/base.h \
 src/notify/../jobs/../store/store.h \
 src/notify/../jobs/../store/../core/val.h \
 src/notify/../jobs/../store/../core/arena.h \
 src/notify/../jobs/../store/../core/base.h \
 src/notify/../jobs/../store/../model/spec.h \
 src/notify/../jobs/../store/../model/../core/val.h \
 src/notify/../jobs/../store/filter.h \
 src/notify/../jobs/../store/../core/arena.h \
 src/notify/../jobs/../store/../core/buf.h src/notify/../core/config.h \
 src/notify/../core/base.h src/notify/../core/timeutil.h \
 src/notify/../model/secrets.h src/notify/../model/../core/buf.h \
 src/notify/../model/spec.h src/notify/../model/specs.h \
 src/notify/webhook.h src/notify/../core/arena.h src/notify/../core/val.h
src/notify/deliver.h:
src/notify/../jobs/jobs.h:
src/notify/../jobs/../core/arena.h:
src/notify/../jobs/../core/base.h:
src/notify/../jobs/../store/store.h:
src/notify/../jobs/../store/../core/val.h:
src/notify/../jobs/../store/../core/arena.h:
src/notify/../jobs/../store/../core/base.h:
src/notify/../jobs/../store/../model/spec.h:
src/notify/../jobs/../store/../model/../core/val.h:
src/notify/../jobs/../store/filter.h:
src/notify/../jobs/../store/../core/arena.h:
src/notify/../jobs/../store/../core/buf.h:
src/notify/../core/config.h:
src/notify/../core/base.h:
src/notify/../core/timeutil.h:
src/notify/../model/secrets.h:
src/notify/../model/../core/buf.h:
src/notify/../model/spec.h:
src/notify/../model/specs.h:
src/notify/webhook.h:
src/notify/../core/arena.h:
src/notify/../core/val.h:
