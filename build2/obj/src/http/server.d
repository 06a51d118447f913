build2/obj/src/http/server.o: src/http/server.c src/http/server.h \
 src/http/../pki/tlsboot.h src/http/../pki/../core/arena.h \
 src/http/../pki/../core/base.h src/http/../pki/../core/buf.h \
 src/http/../pki/ca.h src/http/../pki/../core/seal.h \
 src/http/../pki/../core/buf.h src/http/../api/req.h \
 src/http/../api/../core/buf.h src/http/../api/../core/codec.h \
 src/http/../api/../core/buf.h src/http/../api/../core/val.h \
 src/http/../api/../core/arena.h src/http/../api/../core/base.h \
 src/http/../api/../core/val.h src/http/../api/../model/spec.h \
 src/http/../api/../model/../core/val.h src/http/../core/config.h \
 src/http/../core/base.h src/http/../core/log.h src/http/../core/rnd.h \
 src/http/../core/timeutil.h src/http/addrcount.h src/http/../core/base.h \
 src/http/parse.h src/http/peer.h
src/http/server.h:
src/http/../pki/tlsboot.h:
src/http/../pki/../core/arena.h:
src/http/../pki/../core/base.h:
src/http/../pki/../core/buf.h:
src/http/../pki/ca.h:
src/http/../pki/../core/seal.h:
src/http/../pki/../core/buf.h:
src/http/../api/req.h:
src/http/../api/../core/buf.h:
src/http/../api/../core/codec.h:
src/http/../api/../core/buf.h:
src/http/../api/../core/val.h:
src/http/../api/../core/arena.h:
src/http/../api/../core/base.h:
src/http/../api/../core/val.h:
src/http/../api/../model/spec.h:
src/http/../api/../model/../core/val.h:
src/http/../core/config.h:
src/http/../core/base.h:
src/http/../core/log.h:
src/http/../core/rnd.h:
src/http/../core/timeutil.h:
src/http/addrcount.h:
src/http/../core/base.h:
src/http/parse.h:
src/http/peer.h:
