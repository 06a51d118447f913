build2/obj/src/core/rnd.o: src/core/rnd.c src/core/rnd.h src/core/base.h
src/core/rnd.h:
src/core/base.h:
