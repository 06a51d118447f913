build2/obj/src/discovery/targets.o: src/discovery/targets.c \
 src/discovery/targets.h src/discovery/../core/arena.h \
 src/discovery/../core/base.h src/discovery/../core/base.h \
 src/discovery/../core/net.h
src/discovery/targets.h:
src/discovery/../core/arena.h:
src/discovery/../core/base.h:
src/discovery/../core/base.h:
src/discovery/../core/net.h:
