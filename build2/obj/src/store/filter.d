build2/obj/src/store/filter.o: src/store/filter.c src/store/filter.h \
 src/store/../core/arena.h src/store/../core/base.h \
 src/store/../core/buf.h src/store/../model/spec.h \
 src/store/../model/../core/val.h src/store/../model/../core/arena.h \
 src/store/../model/../core/base.h src/store/../core/timeutil.h
src/store/filter.h:
src/store/../core/arena.h:
src/store/../core/base.h:
src/store/../core/buf.h:
src/store/../model/spec.h:
src/store/../model/../core/val.h:
src/store/../model/../core/arena.h:
src/store/../model/../core/base.h:
src/store/../core/timeutil.h:
