build2/obj/src/model/webhook.o: src/model/webhook.c \
 src/model/../notify/netcheck.h src/model/../notify/../core/base.h \
 src/model/../pki/pemcheck.h src/model/../pki/../core/base.h \
 src/model/specs.h src/model/spec.h src/model/../core/val.h \
 src/model/../core/arena.h src/model/../core/base.h
src/model/../notify/netcheck.h:
src/model/../notify/../core/base.h:
src/model/../pki/pemcheck.h:
src/model/../pki/../core/base.h:
src/model/specs.h:
src/model/spec.h:
src/model/../core/val.h:
src/model/../core/arena.h:
src/model/../core/base.h:
