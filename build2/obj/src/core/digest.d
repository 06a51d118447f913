build2/obj/src/core/digest.o: src/core/digest.c src/core/digest.h \
 src/core/base.h src/core/rnd.h
src/core/digest.h:
src/core/base.h:
src/core/rnd.h:
