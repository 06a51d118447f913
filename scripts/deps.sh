#!/bin/sh
# deps.sh GROUP... - install the Debian packages a make target needs, only those missing.
# Groups: build (compile and run the server), test (make check), bench (make bench).
set -eu
build="gcc make pkg-config libssl-dev libjson-c-dev libmsgpack-dev
libsqlite3-dev libpq-dev libargon2-dev libcurl4-openssl-dev libldap2-dev ca-certificates"
test="libcmocka-dev clang libclang-rt-14-dev clang-format python3 python3-pytest python3-requests python3-msgpack
python3-cryptography curl openssl slapd ldap-utils nodejs nginx-light postgresql-15 faketime"
bench="wrk nginx-light sqlite3 slowhttptest golang-cfssl nmap"
want=""
for g in "$@"; do
    eval "want=\"\$want \$$g\""
done
missing=""
# The OIDC tests run a real provider on Node.js: install it only when npm is
# missing (a machine may have Node from another repository than Debian's).
case " $* " in
*" test "*) command -v npm >/dev/null 2>&1 || missing="$missing nodejs npm" ;;
esac
for p in $want; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
        missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "keyward: installing missing Debian packages:$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq </dev/null
$SUDO apt-get install -y -qq --no-install-recommends $missing </dev/null
