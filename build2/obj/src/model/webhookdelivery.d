build2/obj/src/model/webhookdelivery.o: src/model/webhookdelivery.c \
 src/model/specs.h src/model/spec.h src/model/../core/val.h \
 src/model/../core/arena.h src/model/../core/base.h
src/model/specs.h:
src/model/spec.h:
src/model/../core/val.h:
src/model/../core/arena.h:
src/model/../core/base.h:
