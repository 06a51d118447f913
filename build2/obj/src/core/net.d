build2/obj/src/core/net.o: src/core/net.c src/core/net.h src/core/base.h \
 src/core/val.h src/core/arena.h
src/core/net.h:
src/core/base.h:
src/core/val.h:
src/core/arena.h:
