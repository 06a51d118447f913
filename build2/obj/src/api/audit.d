build2/obj/src/api/audit.o: src/api/audit.c src/api/audit.h \
 src/api/../store/store.h src/api/../store/../core/val.h \
 src/api/../store/../core/arena.h src/api/../store/../core/base.h \
 src/api/../store/../model/spec.h src/api/../store/../model/../core/val.h \
 src/api/../store/filter.h src/api/../store/../core/arena.h \
 src/api/../store/../core/buf.h src/api/req.h src/api/../core/buf.h \
 src/api/../core/codec.h src/api/../core/buf.h src/api/../core/val.h \
 src/api/../core/val.h src/api/../model/spec.h src/api/../auth/authn.h \
 src/api/../auth/../core/arena.h src/api/../auth/../core/base.h \
 src/api/../auth/../core/net.h src/api/../auth/../core/base.h \
 src/api/../auth/jwt.h src/api/../auth/../core/buf.h \
 src/api/../auth/../core/val.h src/api/../core/log.h \
 src/api/../core/base.h src/api/../model/specs.h src/api/../model/spec.h \
 src/api/../model/validate.h src/api/routes.h
src/api/audit.h:
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
src/api/../auth/authn.h:
src/api/../auth/../core/arena.h:
src/api/../auth/../core/base.h:
src/api/../auth/../core/net.h:
src/api/../auth/../core/base.h:
src/api/../auth/jwt.h:
src/api/../auth/../core/buf.h:
src/api/../auth/../core/val.h:
src/api/../core/log.h:
src/api/../core/base.h:
src/api/../model/specs.h:
src/api/../model/spec.h:
src/api/../model/validate.h:
src/api/routes.h:
