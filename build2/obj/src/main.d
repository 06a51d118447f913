build2/obj/src/main.o: src/main.c src/api/realms/throttle.h \
 src/api/realms/../req.h src/api/realms/../../core/buf.h \
 src/api/realms/../../core/base.h src/api/realms/../../core/codec.h \
 src/api/realms/../../core/buf.h src/api/realms/../../core/val.h \
 src/api/realms/../../core/arena.h src/api/realms/../../core/val.h \
 src/api/realms/../../model/spec.h \
 src/api/realms/../../model/../core/val.h src/auth/authn.h \
 src/auth/../core/arena.h src/auth/../core/base.h src/auth/../core/net.h \
 src/auth/../core/base.h src/auth/jwt.h src/auth/../core/buf.h \
 src/auth/../core/val.h src/auth/authz.h src/auth/../model/spec.h \
 src/auth/authn.h src/boot.h src/core/base.h src/core/config.h \
 src/core/base.h src/core/log.h src/core/password.h src/core/pool.h \
 src/core/seal.h src/core/buf.h src/core/timeutil.h src/core/version.h \
 src/discovery/discovery.h src/discovery/../model/spec.h \
 src/discovery/../store/store.h src/discovery/../store/../core/val.h \
 src/discovery/../store/../model/spec.h src/discovery/../store/filter.h \
 src/discovery/../store/../core/arena.h \
 src/discovery/../store/../core/buf.h src/housekeeping.h src/jobs/jobs.h \
 src/jobs/../core/arena.h src/jobs/../store/store.h src/http/server.h \
 src/http/../pki/tlsboot.h src/http/../pki/../core/arena.h \
 src/http/../pki/../core/buf.h src/http/../pki/ca.h \
 src/http/../pki/../core/seal.h src/inventory/inventory.h \
 src/inventory/../jobs/jobs.h src/inventory/../model/spec.h \
 src/inventory/../store/store.h src/issuance/issuance.h \
 src/issuance/../api/req.h src/model/specs.h src/model/spec.h \
 src/notify/deliver.h src/notify/../jobs/jobs.h src/notify/webhook.h \
 src/notify/../core/arena.h src/notify/../core/val.h src/pki/signer.h \
 src/pki/../core/buf.h src/pki/ca.h src/pki/certutil.h src/pki/tlsboot.h \
 src/store/store.h src/storedump.h src/vault.h
src/api/realms/throttle.h:
src/api/realms/../req.h:
src/api/realms/../../core/buf.h:
src/api/realms/../../core/base.h:
src/api/realms/../../core/codec.h:
src/api/realms/../../core/buf.h:
src/api/realms/../../core/val.h:
src/api/realms/../../core/arena.h:
src/api/realms/../../core/val.h:
src/api/realms/../../model/spec.h:
src/api/realms/../../model/../core/val.h:
src/auth/authn.h:
src/auth/../core/arena.h:
src/auth/../core/base.h:
src/auth/../core/net.h:
src/auth/../core/base.h:
src/auth/jwt.h:
src/auth/../core/buf.h:
src/auth/../core/val.h:
src/auth/authz.h:
src/auth/../model/spec.h:
src/auth/authn.h:
src/boot.h:
src/core/base.h:
src/core/config.h:
src/core/base.h:
src/core/log.h:
src/core/password.h:
src/core/pool.h:
src/core/seal.h:
src/core/buf.h:
src/core/timeutil.h:
src/core/version.h:
src/discovery/discovery.h:
src/discovery/../model/spec.h:
src/discovery/../store/store.h:
src/discovery/../store/../core/val.h:
src/discovery/../store/../model/spec.h:
src/discovery/../store/filter.h:
src/discovery/../store/../core/arena.h:
src/discovery/../store/../core/buf.h:
src/housekeeping.h:
src/jobs/jobs.h:
src/jobs/../core/arena.h:
src/jobs/../store/store.h:
src/http/server.h:
src/http/../pki/tlsboot.h:
src/http/../pki/../core/arena.h:
src/http/../pki/../core/buf.h:
src/http/../pki/ca.h:
src/http/../pki/../core/seal.h:
src/inventory/inventory.h:
src/inventory/../jobs/jobs.h:
src/inventory/../model/spec.h:
src/inventory/../store/store.h:
src/issuance/issuance.h:
src/issuance/../api/req.h:
src/model/specs.h:
src/model/spec.h:
src/notify/deliver.h:
src/notify/../jobs/jobs.h:
src/notify/webhook.h:
src/notify/../core/arena.h:
src/notify/../core/val.h:
src/pki/signer.h:
src/pki/../core/buf.h:
src/pki/ca.h:
src/pki/certutil.h:
src/pki/tlsboot.h:
src/store/store.h:
src/storedump.h:
src/vault.h:
