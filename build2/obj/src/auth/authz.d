build2/obj/src/auth/authz.o: src/auth/authz.c src/auth/authz.h \
 src/auth/../model/spec.h src/auth/../model/../core/val.h \
 src/auth/../model/../core/arena.h src/auth/../model/../core/base.h \
 src/auth/authn.h src/auth/../core/arena.h src/auth/../core/base.h \
 src/auth/../core/net.h src/auth/../core/base.h src/auth/jwt.h \
 src/auth/../core/buf.h src/auth/../core/val.h src/auth/../core/log.h \
 src/auth/../core/nspath.h src/auth/../model/roles.h \
 src/auth/../model/spec.h src/auth/../model/specs.h \
 src/auth/../store/store.h src/auth/../store/../core/val.h \
 src/auth/../store/../model/spec.h src/auth/../store/filter.h \
 src/auth/../store/../core/arena.h src/auth/../store/../core/buf.h
src/auth/authz.h:
src/auth/../model/spec.h:
src/auth/../model/../core/val.h:
src/auth/../model/../core/arena.h:
src/auth/../model/../core/base.h:
src/auth/authn.h:
src/auth/../core/arena.h:
src/auth/../core/base.h:
src/auth/../core/net.h:
src/auth/../core/base.h:
src/auth/jwt.h:
src/auth/../core/buf.h:
src/auth/../core/val.h:
src/auth/../core/log.h:
src/auth/../core/nspath.h:
src/auth/../model/roles.h:
src/auth/../model/spec.h:
src/auth/../model/specs.h:
src/auth/../store/store.h:
src/auth/../store/../core/val.h:
src/auth/../store/../model/spec.h:
src/auth/../store/filter.h:
src/auth/../store/../core/arena.h:
src/auth/../store/../core/buf.h:
