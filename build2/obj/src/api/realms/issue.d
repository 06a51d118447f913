build2/obj/src/api/realms/issue.o: src/api/realms/issue.c \
 src/api/realms/issue.h src/api/realms/../req.h \
 src/api/realms/../../core/buf.h src/api/realms/../../core/base.h \
 src/api/realms/../../core/codec.h src/api/realms/../../core/buf.h \
 src/api/realms/../../core/val.h src/api/realms/../../core/arena.h \
 src/api/realms/../../core/val.h src/api/realms/../../model/spec.h \
 src/api/realms/../../model/../core/val.h \
 src/api/realms/../../auth/authn.h \
 src/api/realms/../../auth/../core/arena.h \
 src/api/realms/../../auth/../core/base.h \
 src/api/realms/../../auth/../core/net.h \
 src/api/realms/../../auth/../core/base.h src/api/realms/../../auth/jwt.h \
 src/api/realms/../../auth/../core/buf.h \
 src/api/realms/../../auth/../core/val.h \
 src/api/realms/../../auth/authz.h \
 src/api/realms/../../auth/../model/spec.h \
 src/api/realms/../../auth/authn.h src/api/realms/../../core/config.h \
 src/api/realms/../../core/log.h src/api/realms/../../core/net.h \
 src/api/realms/../../core/nspath.h src/api/realms/../../core/rnd.h \
 src/api/realms/../../core/timeutil.h src/api/realms/../../model/roles.h \
 src/api/realms/../../model/spec.h
src/api/realms/issue.h:
src/api/realms/../req.h:
src/api/realms/../../core/buf.h:
src/api/realms/../../core/base.h:
src/api/realms/../../core/codec.h:
src/api/realms/../../core/buf.h:
src/api/realms/../../core/val.h:
src/api/realms/../../core/arena.h:
src/api/realms/../../core/val.h:
src/api/realms/../../model/spec.h:
src/api/realms/../../model/../core/val.h:
src/api/realms/../../auth/authn.h:
src/api/realms/../../auth/../core/arena.h:
src/api/realms/../../auth/../core/base.h:
src/api/realms/../../auth/../core/net.h:
src/api/realms/../../auth/../core/base.h:
src/api/realms/../../auth/jwt.h:
src/api/realms/../../auth/../core/buf.h:
src/api/realms/../../auth/../core/val.h:
src/api/realms/../../auth/authz.h:
src/api/realms/../../auth/../model/spec.h:
src/api/realms/../../auth/authn.h:
src/api/realms/../../core/config.h:
src/api/realms/../../core/log.h:
src/api/realms/../../core/net.h:
src/api/realms/../../core/nspath.h:
src/api/realms/../../core/rnd.h:
src/api/realms/../../core/timeutil.h:
src/api/realms/../../model/roles.h:
src/api/realms/../../model/spec.h:
