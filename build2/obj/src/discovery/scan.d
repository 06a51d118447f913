build2/obj/src/discovery/scan.o: src/discovery/scan.c \
 src/discovery/scan.h src/discovery/../core/base.h \
 src/discovery/../core/timeutil.h src/discovery/../core/base.h
src/discovery/scan.h:
src/discovery/../core/base.h:
src/discovery/../core/timeutil.h:
src/discovery/../core/base.h:
