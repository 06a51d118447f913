build2/obj/src/store/sqlite.o: src/store/sqlite.c src/store/../core/buf.h \
 src/store/../core/base.h src/store/../core/codec.h \
 src/store/../core/buf.h src/store/../core/val.h \
 src/store/../core/arena.h src/store/../core/config.h \
 src/store/../core/log.h src/store/../core/timeutil.h src/store/sql.h \
 src/store/store.h src/store/../core/val.h src/store/../model/spec.h \
 src/store/../model/../core/val.h src/store/filter.h \
 src/store/../core/arena.h
src/store/../core/buf.h:
src/store/../core/base.h:
src/store/../core/codec.h:
src/store/../core/buf.h:
src/store/../core/val.h:
src/store/../core/arena.h:
src/store/../core/config.h:
src/store/../core/log.h:
src/store/../core/timeutil.h:
src/store/sql.h:
src/store/store.h:
src/store/../core/val.h:
src/store/../model/spec.h:
src/store/../model/../core/val.h:
src/store/filter.h:
src/store/../core/arena.h:
