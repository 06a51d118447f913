build2/obj/src/auth/authn.o: src/auth/authn.c src/auth/authn.h \
 src/auth/../core/arena.h src/auth/../core/base.h src/auth/../core/base.h \
 src/auth/../core/net.h src/auth/jwt.h src/auth/../core/buf.h \
 src/auth/../core/val.h src/auth/../core/arena.h \
 src/auth/../core/config.h src/auth/../core/digest.h \
 src/auth/../core/log.h src/auth/../core/rnd.h src/auth/../core/seal.h \
 src/auth/../core/buf.h src/auth/../core/timeutil.h \
 src/auth/../store/store.h src/auth/../store/../core/val.h \
 src/auth/../store/../model/spec.h \
 src/auth/../store/../model/../core/val.h src/auth/../store/filter.h \
 src/auth/../store/../core/arena.h src/auth/../store/../core/buf.h
src/auth/authn.h:
src/auth/../core/arena.h:
src/auth/../core/base.h:
src/auth/../core/base.h:
src/auth/../core/net.h:
src/auth/jwt.h:
src/auth/../core/buf.h:
src/auth/../core/val.h:
src/auth/../core/arena.h:
src/auth/../core/config.h:
src/auth/../core/digest.h:
src/auth/../core/log.h:
src/auth/../core/rnd.h:
src/auth/../core/seal.h:
src/auth/../core/buf.h:
src/auth/../core/timeutil.h:
src/auth/../store/store.h:
src/auth/../store/../core/val.h:
src/auth/../store/../model/spec.h:
src/auth/../store/../model/../core/val.h:
src/auth/../store/filter.h:
src/auth/../store/../core/arena.h:
src/auth/../store/../core/buf.h:
