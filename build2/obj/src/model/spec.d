build2/obj/src/model/spec.o: src/model/spec.c src/model/spec.h \
 src/model/../core/val.h src/model/../core/arena.h \
 src/model/../core/base.h
src/model/spec.h:
src/model/../core/val.h:
src/model/../core/arena.h:
src/model/../core/base.h:
