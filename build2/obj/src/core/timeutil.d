build2/obj/src/core/timeutil.o: src/core/timeutil.c src/core/timeutil.h \
 src/core/base.h
src/core/timeutil.h:
src/core/base.h:
