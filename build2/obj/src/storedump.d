build2/obj/src/storedump.o: src/storedump.c src/core/buf.h \
 src/core/base.h src/core/codec.h src/core/buf.h src/core/val.h \
 src/core/arena.h src/store/store.h src/store/../core/val.h \
 src/store/../model/spec.h src/store/../model/../core/val.h \
 src/store/filter.h src/store/../core/arena.h src/store/../core/buf.h \
 src/storedump.h
src/core/buf.h:
src/core/base.h:
src/core/codec.h:
src/core/buf.h:
src/core/val.h:
src/core/arena.h:
src/store/store.h:
src/store/../core/val.h:
src/store/../model/spec.h:
src/store/../model/../core/val.h:
src/store/filter.h:
src/store/../core/arena.h:
src/store/../core/buf.h:
src/storedump.h:
