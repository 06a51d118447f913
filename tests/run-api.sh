#!/bin/sh
# run-api.sh [PYTEST-ARGS...] - the black-box API suite (tests/api) against $KEYWARD_BIN
# (default build/keyward). Exits with pytest's status; "no tests collected" is a failure.
# Arguments go to pytest; one naming tests/api/... replaces the default selection, e.g.
#   tests/run-api.sh tests/api/test_auth.py -k quota
# KEYWARD_STORE selects the servers' store: sqlite (default: DATA/keyward.db) or pg: one
# PostgreSQL cluster for the run (tests/pg/pgctl.sh, in $tmp/pg; KEYWARD_PG_DIR and
# KEYWARD_PG_URL, the URL of its database keyward, are exported), a database per server
# (tests/api/kwtest.py), the tests marked sqlite_only skipped; or pg2: as pg, with the
# session's server a pair on one database that every client alternates between.
set -u
bin=${KEYWARD_BIN:-build/keyward}
store=${KEYWARD_STORE:-sqlite}
case $store in
    sqlite | pg | pg2) ;;
    *)
        echo "run-api.sh: KEYWARD_STORE=$store: want sqlite, pg or pg2" >&2
        exit 2
        ;;
esac
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
KEYWARD_STORE=$store
PYTHONDONTWRITEBYTECODE=1
export KEYWARD_BIN KEYWARD_STORE PYTHONDONTWRITEBYTECODE
echo "run-api.sh: testing $KEYWARD_BIN on $store"
sel=tests/api
for a in "$@"; do
    case $a in tests/api/*) sel= ;; esac
done
# Servers' data dirs and logs go to a private directory: kept when something failed.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/keyward-api.XXXXXX") || exit 2
if [ "$store" != sqlite ]; then
    # On any exit the cluster is stopped: removed with $tmp after a success, else kept
    # (its log in $tmp/pg/log).
    KEYWARD_PG_DIR=$tmp/pg
    trap 'tests/pg/pgctl.sh stop "$KEYWARD_PG_DIR" || tests/pg/pgctl.sh kill "$KEYWARD_PG_DIR"' EXIT
    trap 'echo "run-api.sh: interrupted; kept in $tmp" >&2; exit 130' INT
    trap 'echo "run-api.sh: terminated; kept in $tmp" >&2; exit 143' TERM
    if ! KEYWARD_PG_URL=$(tests/pg/pgctl.sh start "$KEYWARD_PG_DIR"); then
        echo "run-api.sh: PostgreSQL did not start; kept in $tmp" >&2
        exit 2
    fi
    export KEYWARD_PG_DIR KEYWARD_PG_URL
fi
/usr/bin/python3 -m pytest $sel -q -rfEs -p no:cacheprovider --basetemp="$tmp/t" "$@" </dev/null
rc=$?
if [ "$rc" -eq 0 ]; then
    if [ "$store" != sqlite ] && ! tests/pg/pgctl.sh destroy "$tmp/pg"; then
        echo "run-api.sh: could not remove the PostgreSQL cluster in $tmp/pg" >&2
        exit 1
    fi
    rm -rf "$tmp"
else
    [ "$rc" -eq 5 ] && echo "run-api.sh: pytest collected no tests" >&2
    echo "run-api.sh: server data dirs and logs kept in $tmp" >&2
fi
exit "$rc"
