build2/obj/src/auth/jwt.o: src/auth/jwt.c src/auth/jwt.h \
 src/auth/../core/buf.h src/auth/../core/base.h src/auth/../core/val.h \
 src/auth/../core/arena.h src/auth/../core/pem.h src/auth/../core/codec.h \
 src/auth/../core/buf.h src/auth/../core/val.h src/auth/../core/rnd.h
src/auth/jwt.h:
src/auth/../core/buf.h:
src/auth/../core/base.h:
src/auth/../core/val.h:
src/auth/../core/arena.h:
src/auth/../core/pem.h:
src/auth/../core/codec.h:
src/auth/../core/buf.h:
src/auth/../core/val.h:
src/auth/../core/rnd.h:
