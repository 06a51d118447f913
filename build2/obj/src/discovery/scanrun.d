build2/obj/src/discovery/scanrun.o: src/discovery/scanrun.c \
 src/discovery/../core/config.h src/discovery/../core/base.h \
 src/discovery/../core/digest.h src/discovery/../core/log.h \
 src/discovery/../core/strmap.h src/discovery/../core/arena.h \
 src/discovery/../inventory/inventory.h \
 src/discovery/../inventory/../jobs/jobs.h \
 src/discovery/../inventory/../jobs/../core/arena.h \
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
 src/discovery/../notify/webhook.h \
 src/discovery/../notify/../core/arena.h \
 src/discovery/../notify/../core/val.h src/discovery/../store/filter.h \
 src/discovery/local.h src/discovery/../core/net.h \
 src/discovery/../core/timeutil.h src/discovery/../jobs/jobs.h \
 src/discovery/cron.h src/discovery/../core/base.h \
 src/discovery/discovery.h src/discovery/../model/spec.h \
 src/discovery/../store/store.h src/discovery/targets.h \
 src/discovery/../core/arena.h src/discovery/scan.h src/discovery/trust.h
src/discovery/../core/config.h:
src/discovery/../core/base.h:
src/discovery/../core/digest.h:
src/discovery/../core/log.h:
src/discovery/../core/strmap.h:
src/discovery/../core/arena.h:
src/discovery/../inventory/inventory.h:
src/discovery/../inventory/../jobs/jobs.h:
src/discovery/../inventory/../jobs/../core/arena.h:
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
src/discovery/../notify/webhook.h:
src/discovery/../notify/../core/arena.h:
src/discovery/../notify/../core/val.h:
src/discovery/../store/filter.h:
src/discovery/local.h:
src/discovery/../core/net.h:
src/discovery/../core/timeutil.h:
src/discovery/../jobs/jobs.h:
src/discovery/cron.h:
src/discovery/../core/base.h:
src/discovery/discovery.h:
src/discovery/../model/spec.h:
src/discovery/../store/store.h:
src/discovery/targets.h:
src/discovery/../core/arena.h:
src/discovery/scan.h:
src/discovery/trust.h:
