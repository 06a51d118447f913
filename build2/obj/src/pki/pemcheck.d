build2/obj/src/pki/pemcheck.o: src/pki/pemcheck.c src/pki/pemcheck.h \
 src/pki/../core/base.h
src/pki/pemcheck.h:
src/pki/../core/base.h:
