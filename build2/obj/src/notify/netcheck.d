build2/obj/src/notify/netcheck.o: src/notify/netcheck.c \
 src/notify/netcheck.h src/notify/../core/base.h \
 src/notify/../core/config.h src/notify/../core/base.h \
 src/notify/../core/net.h
src/notify/netcheck.h:
src/notify/../core/base.h:
src/notify/../core/config.h:
src/notify/../core/base.h:
src/notify/../core/net.h:
