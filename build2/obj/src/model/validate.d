build2/obj/src/model/validate.o: src/model/validate.c \
 src/model/validate.h src/model/spec.h src/model/../core/val.h \
 src/model/../core/arena.h src/model/../core/base.h \
 src/model/../core/net.h src/model/../core/rnd.h \
 src/model/../core/timeutil.h
src/model/validate.h:
src/model/spec.h:
src/model/../core/val.h:
src/model/../core/arena.h:
src/model/../core/base.h:
src/model/../core/net.h:
src/model/../core/rnd.h:
src/model/../core/timeutil.h:
