build2/obj/src/core/msgpack.o: src/core/msgpack.c src/core/codec.h \
 src/core/buf.h src/core/base.h src/core/val.h src/core/arena.h
src/core/codec.h:
src/core/buf.h:
src/core/base.h:
src/core/val.h:
src/core/arena.h:
