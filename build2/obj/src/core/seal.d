build2/obj/src/core/seal.o: src/core/seal.c src/core/seal.h \
 src/core/buf.h src/core/base.h src/core/digest.h src/core/fileio.h \
 src/core/rnd.h
src/core/seal.h:
src/core/buf.h:
src/core/base.h:
src/core/digest.h:
src/core/fileio.h:
src/core/rnd.h:
