build2/obj/src/notify/webhook.o: src/notify/webhook.c \
 src/notify/webhook.h src/notify/../core/arena.h \
 src/notify/../core/base.h src/notify/../core/val.h \
 src/notify/../core/arena.h src/notify/../core/digest.h \
 src/notify/../core/version.h src/notify/netcheck.h \
 src/notify/../core/base.h
src/notify/webhook.h:
src/notify/../core/arena.h:
src/notify/../core/base.h:
src/notify/../core/val.h:
src/notify/../core/arena.h:
src/notify/../core/digest.h:
src/notify/../core/version.h:
src/notify/netcheck.h:
src/notify/../core/base.h:
