build2/obj/src/vault.o: src/vault.c src/vault.h src/pki/tlsboot.h \
 src/pki/../core/arena.h src/pki/../core/base.h src/pki/../core/buf.h \
 src/pki/ca.h src/pki/../core/seal.h src/pki/../core/buf.h \
 src/store/store.h src/store/../core/val.h src/store/../core/arena.h \
 src/store/../core/base.h src/store/../model/spec.h \
 src/store/../model/../core/val.h src/store/filter.h \
 src/store/../core/arena.h src/store/../core/buf.h
src/vault.h:
src/pki/tlsboot.h:
src/pki/../core/arena.h:
src/pki/../core/base.h:
src/pki/../core/buf.h:
src/pki/ca.h:
src/pki/../core/seal.h:
src/pki/../core/buf.h:
src/store/store.h:
src/store/../core/val.h:
src/store/../core/arena.h:
src/store/../core/base.h:
src/store/../model/spec.h:
src/store/../model/../core/val.h:
src/store/filter.h:
src/store/../core/arena.h:
src/store/../core/buf.h:
