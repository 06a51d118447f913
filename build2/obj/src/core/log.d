build2/obj/src/core/log.o: src/core/log.c src/core/log.h src/core/base.h \
 src/core/timeutil.h
src/core/log.h:
src/core/base.h:
src/core/timeutil.h:
