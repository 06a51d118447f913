build2/obj/src/core/ratelimit.o: src/core/ratelimit.c \
 src/core/ratelimit.h src/core/base.h src/core/rnd.h
src/core/ratelimit.h:
src/core/base.h:
src/core/rnd.h:
