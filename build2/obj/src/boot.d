build2/obj/src/boot.o: src/boot.c src/boot.h src/core/base.h \
 src/core/digest.h src/core/base.h src/core/fileio.h src/core/buf.h \
 src/core/password.h src/core/rnd.h src/model/specs.h src/model/spec.h \
 src/model/../core/val.h src/model/../core/arena.h \
 src/model/../core/base.h src/model/validate.h src/store/store.h \
 src/store/../core/val.h src/store/../model/spec.h src/store/filter.h \
 src/store/../core/arena.h src/store/../core/buf.h
src/boot.h:
src/core/base.h:
src/core/digest.h:
src/core/base.h:
src/core/fileio.h:
src/core/buf.h:
src/core/password.h:
src/core/rnd.h:
src/model/specs.h:
src/model/spec.h:
src/model/../core/val.h:
src/model/../core/arena.h:
src/model/../core/base.h:
src/model/validate.h:
src/store/store.h:
src/store/../core/val.h:
src/store/../model/spec.h:
src/store/filter.h:
src/store/../core/arena.h:
src/store/../core/buf.h:
