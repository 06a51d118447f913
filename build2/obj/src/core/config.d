build2/obj/src/core/config.o: src/core/config.c src/core/config.h \
 src/core/base.h src/core/log.h src/core/net.h src/core/timeutil.h
src/core/config.h:
src/core/base.h:
src/core/log.h:
src/core/net.h:
src/core/timeutil.h:
