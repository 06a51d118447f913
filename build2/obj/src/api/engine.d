build2/obj/src/api/engine.o: src/api/engine.c src/api/engine.h \
 src/api/req.h src/api/../core/buf.h src/api/../core/base.h \
 src/api/../core/codec.h src/api/../core/buf.h src/api/../core/val.h \
 src/api/../core/arena.h src/api/../core/val.h src/api/../model/spec.h \
 src/api/../model/../core/val.h src/api/../auth/authn.h \
 src/api/../auth/../core/arena.h src/api/../auth/../core/base.h \
 src/api/../auth/../core/net.h src/api/../auth/../core/base.h \
 src/api/../auth/jwt.h src/api/../auth/../core/buf.h \
 src/api/../auth/../core/val.h src/api/../auth/authz.h \
 src/api/../auth/../model/spec.h src/api/../auth/authn.h \
 src/api/../core/config.h src/api/../core/digest.h src/api/../core/log.h \
 src/api/../core/pool.h src/api/../core/rnd.h src/api/../core/timeutil.h \
 src/api/../model/secrets.h src/api/../model/../core/buf.h \
 src/api/../model/spec.h src/api/../model/specs.h \
 src/api/../model/validate.h src/api/../store/store.h \
 src/api/../store/../core/val.h src/api/../store/../model/spec.h \
 src/api/../store/filter.h src/api/../store/../core/arena.h \
 src/api/../store/../core/buf.h src/api/audit.h src/api/csv.h \
 src/api/list.h src/api/router.h
src/api/engine.h:
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
src/api/../auth/authn.h:
src/api/../auth/../core/arena.h:
src/api/../auth/../core/base.h:
src/api/../auth/../core/net.h:
src/api/../auth/../core/base.h:
src/api/../auth/jwt.h:
src/api/../auth/../core/buf.h:
src/api/../auth/../core/val.h:
src/api/../auth/authz.h:
src/api/../auth/../model/spec.h:
src/api/../auth/authn.h:
src/api/../core/config.h:
src/api/../core/digest.h:
src/api/../core/log.h:
src/api/../core/pool.h:
src/api/../core/rnd.h:
src/api/../core/timeutil.h:
src/api/../model/secrets.h:
src/api/../model/../core/buf.h:
src/api/../model/spec.h:
src/api/../model/specs.h:
src/api/../model/validate.h:
src/api/../store/store.h:
src/api/../store/../core/val.h:
src/api/../store/../model/spec.h:
src/api/../store/filter.h:
src/api/../store/../core/arena.h:
src/api/../store/../core/buf.h:
src/api/audit.h:
src/api/csv.h:
src/api/list.h:
src/api/router.h:
