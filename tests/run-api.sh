#!/bin/sh
# run-api.sh [PYTEST-ARGS...] - the black-box API suite (tests/api) against $KEYWARD_BIN
# (default build/keyward). Exits with pytest's status; "no tests collected" is a failure.
# Arguments go to pytest; one naming tests/api/... replaces the default selection, e.g.
#   tests/run-api.sh tests/api/test_auth.py -k quota
set -u
bin=${KEYWARD_BIN:-build/keyward}
root=$(cd "$(dirname "$0")/.." && pwd) || exit 2
case $bin in
    /*) ;;
    *) if [ -e "$bin" ]; then bin="$(pwd)/$bin"; else bin="$root/$bin"; fi ;;
esac
cd "$root" || exit 2
if [ ! -x "$bin" ]; then
    echo "run-api.sh: $bin is missing or not executable (make build/keyward)" >&2
    exit 2
fi
KEYWARD_BIN=$bin
PYTHONDONTWRITEBYTECODE=1
export KEYWARD_BIN PYTHONDONTWRITEBYTECODE
echo "run-api.sh: testing $KEYWARD_BIN"
sel=tests/api
for a in "$@"; do
    case $a in tests/api/*) sel= ;; esac
done
# Servers' data dirs and logs go to a private directory: kept when something failed.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/keyward-api.XXXXXX") || exit 2
/usr/bin/python3 -m pytest $sel -q -rfE -p no:cacheprovider --basetemp="$tmp/t" "$@" </dev/null
rc=$?
if [ "$rc" -eq 0 ]; then
    rm -rf "$tmp"
else
    [ "$rc" -eq 5 ] && echo "run-api.sh: pytest collected no tests" >&2
    echo "run-api.sh: server data dirs and logs kept in $tmp" >&2
fi
exit "$rc"
