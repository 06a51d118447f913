build2/obj/src/api/csv.o: src/api/csv.c src/api/csv.h \
 src/api/../store/store.h src/api/../store/../core/val.h \
 src/api/../store/../core/arena.h src/api/../store/../core/base.h \
 src/api/../store/../model/spec.h src/api/../store/../model/../core/val.h \
 src/api/../store/filter.h src/api/../store/../core/arena.h \
 src/api/../store/../core/buf.h src/api/req.h src/api/../core/buf.h \
 src/api/../core/codec.h src/api/../core/buf.h src/api/../core/val.h \
 src/api/../core/val.h src/api/../model/spec.h src/api/../core/arena.h \
 src/api/../core/log.h src/api/../core/base.h src/api/../model/validate.h \
 src/api/../model/spec.h
src/api/csv.h:
src/api/../store/store.h:
src/api/../store/../core/val.h:
src/api/../store/../core/arena.h:
src/api/../store/../core/base.h:
src/api/../store/../model/spec.h:
src/api/../store/../model/../core/val.h:
src/api/../store/filter.h:
src/api/../store/../core/arena.h:
src/api/../store/../core/buf.h:
src/api/req.h:
src/api/../core/buf.h:
src/api/../core/codec.h:
src/api/../core/buf.h:
src/api/../core/val.h:
src/api/../core/val.h:
src/api/../model/spec.h:
src/api/../core/arena.h:
src/api/../core/log.h:
src/api/../core/base.h:
src/api/../model/validate.h:
src/api/../model/spec.h:
