build2/obj/src/http/peer.o: src/http/peer.c src/http/peer.h \
 src/http/../api/req.h src/http/../api/../core/buf.h \
 src/http/../api/../core/base.h src/http/../api/../core/codec.h \
 src/http/../api/../core/buf.h src/http/../api/../core/val.h \
 src/http/../api/../core/arena.h src/http/../api/../core/val.h \
 src/http/../api/../model/spec.h src/http/../api/../model/../core/val.h \
 src/http/../pki/certutil.h src/http/../pki/../core/buf.h
src/http/peer.h:
src/http/../api/req.h:
src/http/../api/../core/buf.h:
src/http/../api/../core/base.h:
src/http/../api/../core/codec.h:
src/http/../api/../core/buf.h:
src/http/../api/../core/val.h:
src/http/../api/../core/arena.h:
src/http/../api/../core/val.h:
src/http/../api/../model/spec.h:
src/http/../api/../model/../core/val.h:
src/http/../pki/certutil.h:
src/http/../pki/../core/buf.h:
