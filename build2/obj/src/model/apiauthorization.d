build2/obj/src/model/apiauthorization.o: src/model/apiauthorization.c \
 src/model/../core/nspath.h src/model/../core/base.h src/model/roles.h \
 src/model/../core/val.h src/model/../core/arena.h src/model/spec.h \
 src/model/specs.h
src/model/../core/nspath.h:
src/model/../core/base.h:
src/model/roles.h:
src/model/../core/val.h:
src/model/../core/arena.h:
src/model/spec.h:
src/model/specs.h:
