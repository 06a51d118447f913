build2/obj/src/core/nspath.o: src/core/nspath.c src/core/nspath.h \
 src/core/base.h
src/core/nspath.h:
src/core/base.h:
