build2/obj/src/api/openapi.o: src/api/openapi.c src/api/openapi.h \
 src/api/req.h src/api/../core/buf.h src/api/../core/base.h \
 src/api/../core/codec.h src/api/../core/buf.h src/api/../core/val.h \
 src/api/../core/arena.h src/api/../core/val.h src/api/../model/spec.h \
 src/api/../model/../core/val.h src/api/../core/version.h \
 src/api/../model/validate.h src/api/../model/spec.h \
 src/api/../core/config.h src/api/../core/log.h src/api/routes.h
src/api/openapi.h:
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
src/api/../core/version.h:
src/api/../model/validate.h:
src/api/../model/spec.h:
src/api/../core/config.h:
src/api/../core/log.h:
src/api/routes.h:
