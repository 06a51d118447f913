build2/obj/src/core/strmap.o: src/core/strmap.c src/core/strmap.h \
 src/core/arena.h src/core/base.h
src/core/strmap.h:
src/core/arena.h:
src/core/base.h:
