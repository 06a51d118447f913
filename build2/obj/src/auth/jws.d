build2/obj/src/auth/jws.o: src/auth/jws.c src/auth/jws.h \
 src/auth/../core/val.h src/auth/../core/arena.h src/auth/../core/base.h \
 src/auth/../core/codec.h src/auth/../core/buf.h src/auth/../core/val.h \
 src/auth/../core/rnd.h
src/auth/jws.h:
src/auth/../core/val.h:
src/auth/../core/arena.h:
src/auth/../core/base.h:
src/auth/../core/codec.h:
src/auth/../core/buf.h:
src/auth/../core/val.h:
src/auth/../core/rnd.h:
