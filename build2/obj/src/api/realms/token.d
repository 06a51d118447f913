build2/obj/src/api/realms/token.o: src/api/realms/token.c \
 src/api/realms/../../auth/authn.h \
 src/api/realms/../../auth/../core/arena.h \
 src/api/realms/../../auth/../core/base.h \
 src/api/realms/../../auth/../core/base.h \
 src/api/realms/../../auth/../core/net.h src/api/realms/../../auth/jwt.h \
 src/api/realms/../../auth/../core/buf.h \
 src/api/realms/../../auth/../core/val.h \
 src/api/realms/../../auth/../core/arena.h src/api/realms/issue.h \
 src/api/realms/../req.h src/api/realms/../../core/buf.h \
 src/api/realms/../../core/codec.h src/api/realms/../../core/buf.h \
 src/api/realms/../../core/val.h src/api/realms/../../core/val.h \
 src/api/realms/../../model/spec.h \
 src/api/realms/../../model/../core/val.h
src/api/realms/../../auth/authn.h:
src/api/realms/../../auth/../core/arena.h:
src/api/realms/../../auth/../core/base.h:
src/api/realms/../../auth/../core/base.h:
src/api/realms/../../auth/../core/net.h:
src/api/realms/../../auth/jwt.h:
src/api/realms/../../auth/../core/buf.h:
src/api/realms/../../auth/../core/val.h:
src/api/realms/../../auth/../core/arena.h:
src/api/realms/issue.h:
src/api/realms/../req.h:
src/api/realms/../../core/buf.h:
src/api/realms/../../core/codec.h:
src/api/realms/../../core/buf.h:
src/api/realms/../../core/val.h:
src/api/realms/../../core/val.h:
src/api/realms/../../model/spec.h:
src/api/realms/../../model/../core/val.h:
