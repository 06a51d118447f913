build2/obj/src/model/secrets.o: src/model/secrets.c src/model/secrets.h \
 src/model/../core/buf.h src/model/../core/base.h src/model/spec.h \
 src/model/../core/val.h src/model/../core/arena.h \
 src/model/../core/seal.h src/model/../core/buf.h
src/model/secrets.h:
src/model/../core/buf.h:
src/model/../core/base.h:
src/model/spec.h:
src/model/../core/val.h:
src/model/../core/arena.h:
src/model/../core/seal.h:
src/model/../core/buf.h:
