build2/obj/src/core/password.o: src/core/password.c src/core/password.h \
 src/core/base.h src/core/digest.h
src/core/password.h:
src/core/base.h:
src/core/digest.h:
