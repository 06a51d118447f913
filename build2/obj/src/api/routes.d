build2/obj/src/api/routes.o: src/api/routes.c src/api/routes.h \
 src/api/req.h src/api/../core/buf.h src/api/../core/base.h \
 src/api/../core/codec.h src/api/../core/buf.h src/api/../core/val.h \
 src/api/../core/arena.h src/api/../core/val.h src/api/../model/spec.h \
 src/api/../model/../core/val.h src/api/../auth/authn.h \
 src/api/../auth/../core/arena.h src/api/../auth/../core/base.h \
 src/api/../auth/../core/net.h src/api/../auth/../core/base.h \
 src/api/../auth/jwt.h src/api/../auth/../core/buf.h \
 src/api/../auth/../core/val.h src/api/../issuance/issuance.h \
 src/api/../issuance/../api/req.h src/api/../store/store.h \
 src/api/../store/../core/val.h src/api/../store/../model/spec.h \
 src/api/../store/filter.h src/api/../store/../core/arena.h \
 src/api/../store/../core/buf.h src/api/engine.h src/api/openapi.h \
 src/api/../core/version.h src/api/realms/issue.h src/api/realms/../req.h \
 src/api/router.h
src/api/routes.h:
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
src/api/../issuance/issuance.h:
src/api/../issuance/../api/req.h:
src/api/../store/store.h:
src/api/../store/../core/val.h:
src/api/../store/../model/spec.h:
src/api/../store/filter.h:
src/api/../store/../core/arena.h:
src/api/../store/../core/buf.h:
src/api/engine.h:
src/api/openapi.h:
src/api/../core/version.h:
src/api/realms/issue.h:
src/api/realms/../req.h:
src/api/router.h:
