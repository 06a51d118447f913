build2/obj/src/http/addrcount.o: src/http/addrcount.c \
 src/http/addrcount.h src/http/../core/base.h src/http/../core/rnd.h \
 src/http/../core/base.h
src/http/addrcount.h:
src/http/../core/base.h:
src/http/../core/rnd.h:
src/http/../core/base.h:
