build2/obj/src/core/arena.o: src/core/arena.c src/core/arena.h \
 src/core/base.h
src/core/arena.h:
src/core/base.h:
