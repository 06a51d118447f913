build2/obj/src/discovery/cron.o: src/discovery/cron.c \
 src/discovery/cron.h src/discovery/../core/base.h
src/discovery/cron.h:
src/discovery/../core/base.h:
