build2/obj/src/model/account.o: src/model/account.c \
 src/model/../core/password.h src/model/../core/base.h src/model/specs.h \
 src/model/spec.h src/model/../core/val.h src/model/../core/arena.h
src/model/../core/password.h:
src/model/../core/base.h:
src/model/specs.h:
src/model/spec.h:
src/model/../core/val.h:
src/model/../core/arena.h:
