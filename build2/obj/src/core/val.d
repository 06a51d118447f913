build2/obj/src/core/val.o: src/core/val.c src/core/val.h src/core/arena.h \
 src/core/base.h
src/core/val.h:
src/core/arena.h:
src/core/base.h:
