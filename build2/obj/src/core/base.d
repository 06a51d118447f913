build2/obj/src/core/base.o: src/core/base.c src/core/base.h
src/core/base.h:
