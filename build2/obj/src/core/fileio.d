build2/obj/src/core/fileio.o: src/core/fileio.c src/core/fileio.h \
 src/core/buf.h src/core/base.h
src/core/fileio.h:
src/core/buf.h:
src/core/base.h:
