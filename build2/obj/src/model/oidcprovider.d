build2/obj/src/model/oidcprovider.o: src/model/oidcprovider.c \
 src/model/../pki/pemcheck.h src/model/../pki/../core/base.h \
 src/model/specs.h src/model/spec.h src/model/../core/val.h \
 src/model/../core/arena.h src/model/../core/base.h
src/model/../pki/pemcheck.h:
src/model/../pki/../core/base.h:
src/model/specs.h:
src/model/spec.h:
src/model/../core/val.h:
src/model/../core/arena.h:
src/model/../core/base.h:
