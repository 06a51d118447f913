build2/obj/src/api/realms/oauth2.o: src/api/realms/oauth2.c \
 src/api/realms/../../auth/authn.h \
 src/api/realms/../../auth/../core/arena.h \
 src/api/realms/../../auth/../core/base.h \
 src/api/realms/../../auth/../core/base.h \
 src/api/realms/../../auth/../core/net.h src/api/realms/../../auth/jwt.h \
 src/api/realms/../../auth/../core/buf.h \
 src/api/realms/../../auth/../core/val.h \
 src/api/realms/../../auth/../core/arena.h \
 src/api/realms/../../core/config.h src/api/realms/../../core/base.h \
 src/api/realms/../../core/digest.h src/api/realms/../../core/log.h \
 src/api/realms/../../core/nspath.h src/api/realms/../../core/rnd.h \
 src/api/realms/../../core/timeutil.h src/api/realms/../../model/specs.h \
 src/api/realms/../../model/spec.h \
 src/api/realms/../../model/../core/val.h \
 src/api/realms/../../store/store.h \
 src/api/realms/../../store/../core/val.h \
 src/api/realms/../../store/../model/spec.h \
 src/api/realms/../../store/filter.h \
 src/api/realms/../../store/../core/arena.h \
 src/api/realms/../../store/../core/buf.h src/api/realms/issue.h \
 src/api/realms/../req.h src/api/realms/../../core/buf.h \
 src/api/realms/../../core/codec.h src/api/realms/../../core/buf.h \
 src/api/realms/../../core/val.h src/api/realms/../../core/val.h \
 src/api/realms/../../model/spec.h src/api/realms/throttle.h
src/api/realms/../../auth/authn.h:
src/api/realms/../../auth/../core/arena.h:
src/api/realms/../../auth/../core/base.h:
src/api/realms/../../auth/../core/base.h:
src/api/realms/../../auth/../core/net.h:
src/api/realms/../../auth/jwt.h:
src/api/realms/../../auth/../core/buf.h:
src/api/realms/../../auth/../core/val.h:
src/api/realms/../../auth/../core/arena.h:
src/api/realms/../../core/config.h:
src/api/realms/../../core/base.h:
src/api/realms/../../core/digest.h:
src/api/realms/../../core/log.h:
src/api/realms/../../core/nspath.h:
src/api/realms/../../core/rnd.h:
src/api/realms/../../core/timeutil.h:
src/api/realms/../../model/specs.h:
src/api/realms/../../model/spec.h:
src/api/realms/../../model/../core/val.h:
src/api/realms/../../store/store.h:
src/api/realms/../../store/../core/val.h:
src/api/realms/../../store/../model/spec.h:
src/api/realms/../../store/filter.h:
src/api/realms/../../store/../core/arena.h:
src/api/realms/../../store/../core/buf.h:
src/api/realms/issue.h:
src/api/realms/../req.h:
src/api/realms/../../core/buf.h:
src/api/realms/../../core/codec.h:
src/api/realms/../../core/buf.h:
src/api/realms/../../core/val.h:
src/api/realms/../../core/val.h:
src/api/realms/../../model/spec.h:
src/api/realms/throttle.h:
