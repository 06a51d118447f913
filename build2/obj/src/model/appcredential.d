build2/obj/src/model/appcredential.o: src/model/appcredential.c \
 src/model/../core/config.h src/model/../core/base.h \
 src/model/../core/timeutil.h src/model/../pki/signer.h \
 src/model/../pki/../core/buf.h src/model/../pki/../core/base.h \
 src/model/../pki/ca.h src/model/../pki/../core/seal.h \
 src/model/../pki/../core/buf.h src/model/../pki/certutil.h \
 src/model/../store/store.h src/model/../store/../core/val.h \
 src/model/../store/../core/arena.h src/model/../store/../core/base.h \
 src/model/../store/../model/spec.h \
 src/model/../store/../model/../core/val.h src/model/../store/filter.h \
 src/model/../store/../core/arena.h src/model/../store/../core/buf.h \
 src/model/linked.h src/model/spec.h src/model/specs.h
src/model/../core/config.h:
src/model/../core/base.h:
src/model/../core/timeutil.h:
src/model/../pki/signer.h:
src/model/../pki/../core/buf.h:
src/model/../pki/../core/base.h:
src/model/../pki/ca.h:
src/model/../pki/../core/seal.h:
src/model/../pki/../core/buf.h:
src/model/../pki/certutil.h:
src/model/../store/store.h:
src/model/../store/../core/val.h:
src/model/../store/../core/arena.h:
src/model/../store/../core/base.h:
src/model/../store/../model/spec.h:
src/model/../store/../model/../core/val.h:
src/model/../store/filter.h:
src/model/../store/../core/arena.h:
src/model/../store/../core/buf.h:
src/model/linked.h:
src/model/spec.h:
src/model/specs.h:
