build2/obj/src/inventory/certparse.o: src/inventory/certparse.c \
 src/inventory/certparse.h src/inventory/../core/arena.h \
 src/inventory/../core/base.h src/inventory/../core/base.h \
 src/inventory/../core/val.h src/inventory/../core/arena.h \
 src/inventory/../core/digest.h src/inventory/../core/rnd.h \
 src/inventory/../core/timeutil.h
src/inventory/certparse.h:
src/inventory/../core/arena.h:
src/inventory/../core/base.h:
src/inventory/../core/base.h:
src/inventory/../core/val.h:
src/inventory/../core/arena.h:
src/inventory/../core/digest.h:
src/inventory/../core/rnd.h:
src/inventory/../core/timeutil.h:
