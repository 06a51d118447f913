build2/obj/src/api/realms/throttle.o: src/api/realms/throttle.c \
 src/api/realms/throttle.h src/api/realms/../req.h \
 src/api/realms/../../core/buf.h src/api/realms/../../core/base.h \
 src/api/realms/../../core/codec.h src/api/realms/../../core/buf.h \
 src/api/realms/../../core/val.h src/api/realms/../../core/arena.h \
 src/api/realms/../../core/val.h src/api/realms/../../model/spec.h \
 src/api/realms/../../model/../core/val.h \
 src/api/realms/../../core/config.h src/api/realms/../../core/log.h \
 src/api/realms/../../core/net.h src/api/realms/../../core/ratelimit.h \
 src/api/realms/../../core/timeutil.h
src/api/realms/throttle.h:
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
src/api/realms/../../core/config.h:
src/api/realms/../../core/log.h:
src/api/realms/../../core/net.h:
src/api/realms/../../core/ratelimit.h:
src/api/realms/../../core/timeutil.h:
