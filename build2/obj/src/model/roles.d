build2/obj/src/model/roles.o: src/model/roles.c src/model/roles.h \
 src/model/../core/val.h src/model/../core/arena.h \
 src/model/../core/base.h src/model/spec.h src/model/specs.h
src/model/roles.h:
src/model/../core/val.h:
src/model/../core/arena.h:
src/model/../core/base.h:
src/model/spec.h:
src/model/specs.h:
