build2/obj/src/http/parse.o: src/http/parse.c src/http/parse.h \
 src/http/../core/base.h
src/http/parse.h:
src/http/../core/base.h:
