build2/obj/src/notify/emit.o: src/notify/emit.c src/notify/webhook.h \
 src/notify/../core/arena.h src/notify/../core/base.h \
 src/notify/../core/val.h src/notify/../core/arena.h \
 src/notify/../core/codec.h src/notify/../core/buf.h \
 src/notify/../core/val.h src/notify/../core/timeutil.h \
 src/notify/../model/specs.h src/notify/../model/spec.h \
 src/notify/../model/../core/val.h src/notify/../model/validate.h \
 src/notify/../store/store.h src/notify/../store/../core/val.h \
 src/notify/../store/../model/spec.h src/notify/../store/filter.h \
 src/notify/../store/../core/arena.h src/notify/../store/../core/buf.h \
 src/notify/deliver.h src/notify/../jobs/jobs.h \
 src/notify/../jobs/../core/arena.h src/notify/../jobs/../store/store.h
src/notify/webhook.h:
src/notify/../core/arena.h:
src/notify/../core/base.h:
src/notify/../core/val.h:
src/notify/../core/arena.h:
src/notify/../core/codec.h:
src/notify/../core/buf.h:
src/notify/../core/val.h:
src/notify/../core/timeutil.h:
src/notify/../model/specs.h:
src/notify/../model/spec.h:
src/notify/../model/../core/val.h:
src/notify/../model/validate.h:
src/notify/../store/store.h:
src/notify/../store/../core/val.h:
src/notify/../store/../model/spec.h:
src/notify/../store/filter.h:
src/notify/../store/../core/arena.h:
src/notify/../store/../core/buf.h:
src/notify/deliver.h:
src/notify/../jobs/jobs.h:
src/notify/../jobs/../core/arena.h:
src/notify/../jobs/../store/store.h:
