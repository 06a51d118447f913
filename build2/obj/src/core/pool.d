build2/obj/src/core/pool.o: src/core/pool.c src/core/pool.h \
 src/core/base.h
src/core/pool.h:
src/core/base.h:
