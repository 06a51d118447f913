build2/obj/src/api/router.o: src/api/router.c src/api/router.h \
 src/api/req.h src/api/../core/buf.h src/api/../core/base.h \
 src/api/../core/codec.h src/api/../core/buf.h src/api/../core/val.h \
 src/api/../core/arena.h src/api/../core/val.h src/api/../model/spec.h \
 src/api/../model/../core/val.h src/api/routes.h
src/api/router.h:
src/api/req.h:
src/api/../core/buf.h:
src/api/../core/base.h:
src/api/../core/codec.h:
src/api/../core/buf.h:
src/api/../core/val.h:
src/api/../core/arena.h:
src/api/../core/val.h:
src/api/../model/spec.h:
src/api/../model/../core/val.h:
src/api/routes.h:
