build2/obj/src/store/sqlite_dump.o: src/store/sqlite_dump.c \
 src/store/store.h src/store/../core/val.h src/store/../core/arena.h \
 src/store/../core/base.h src/store/../model/spec.h \
 src/store/../model/../core/val.h src/store/filter.h \
 src/store/../core/arena.h src/store/../core/buf.h
src/store/store.h:
src/store/../core/val.h:
src/store/../core/arena.h:
src/store/../core/base.h:
src/store/../model/spec.h:
src/store/../model/../core/val.h:
src/store/filter.h:
src/store/../core/arena.h:
src/store/../core/buf.h:
