build2/obj/src/model/linked.o: src/model/linked.c src/model/linked.h \
 src/model/spec.h src/model/../core/val.h src/model/../core/arena.h \
 src/model/../core/base.h src/model/../core/net.h \
 src/model/../store/store.h src/model/../store/../core/val.h \
 src/model/../store/../model/spec.h src/model/../store/filter.h \
 src/model/../store/../core/arena.h src/model/../store/../core/buf.h \
 src/model/../store/../core/base.h src/model/roles.h src/model/specs.h \
 src/model/validate.h
src/model/linked.h:
src/model/spec.h:
src/model/../core/val.h:
src/model/../core/arena.h:
src/model/../core/base.h:
src/model/../core/net.h:
src/model/../store/store.h:
src/model/../store/../core/val.h:
src/model/../store/../model/spec.h:
src/model/../store/filter.h:
src/model/../store/../core/arena.h:
src/model/../store/../core/buf.h:
src/model/../store/../core/base.h:
src/model/roles.h:
src/model/specs.h:
src/model/validate.h:
