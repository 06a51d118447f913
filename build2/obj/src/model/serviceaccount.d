build2/obj/src/model/serviceaccount.o: src/model/serviceaccount.c \
 src/model/../core/digest.h src/model/../core/base.h \
 src/model/../core/rnd.h src/model/../store/store.h \
 src/model/../store/../core/val.h src/model/../store/../core/arena.h \
 src/model/../store/../core/base.h src/model/../store/../model/spec.h \
 src/model/../store/../model/../core/val.h src/model/../store/filter.h \
 src/model/../store/../core/arena.h src/model/../store/../core/buf.h \
 src/model/linked.h src/model/spec.h src/model/specs.h
src/model/../core/digest.h:
src/model/../core/base.h:
src/model/../core/rnd.h:
src/model/../store/store.h:
src/model/../store/../core/val.h:
src/model/../store/../core/arena.h:
src/model/../store/../core/base.h:
src/model/../store/../model/spec.h:
src/model/../store/../model/../core/val.h:
src/model/../store/filter.h:
src/model/../store/../core/arena.h:
src/model/../store/../core/buf.h:
src/model/linked.h:
src/model/spec.h:
src/model/specs.h:
