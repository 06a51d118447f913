build2/obj/src/core/buf.o: src/core/buf.c src/core/buf.h src/core/base.h
src/core/buf.h:
src/core/base.h:
