build2/obj/src/store/sql.o: src/store/sql.c src/store/sql.h \
 src/store/store.h src/store/../core/val.h src/store/../core/arena.h \
 src/store/../core/base.h src/store/../model/spec.h \
 src/store/../model/../core/val.h src/store/filter.h \
 src/store/../core/arena.h src/store/../core/buf.h
src/store/sql.h:
src/store/store.h:
src/store/../core/val.h:
src/store/../core/arena.h:
src/store/../core/base.h:
src/store/../model/spec.h:
src/store/../model/../core/val.h:
src/store/filter.h:
src/store/../core/arena.h:
src/store/../core/buf.h:
