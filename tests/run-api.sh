#!/bin/sh
# run-api.sh [PYTEST-ARGS...] - the black-box API suite (tests/api) against $KEYWARD_BIN
# (default build/keyward). Exits with pytest's status; "no tests collected" is a failure.
set -u
bin=${KEYWARD_BIN:-build/keyward}
case $bin in
    /*) ;;
    *) bin="$(pwd)/$bin" ;;
esac
cd "$(dirname "$0")/.." || exit 2
if [ ! -x "$bin" ]; then
    echo "run-api.sh: $bin is missing or not executable (make build/keyward)" >&2
    exit 2
fi
KEYWARD_BIN=$bin
PYTHONDONTWRITEBYTECODE=1
export KEYWARD_BIN PYTHONDONTWRITEBYTECODE
echo "run-api.sh: testing $KEYWARD_BIN"
/usr/bin/python3 -m pytest tests/api -q -rfE -p no:cacheprovider "$@" </dev/null
rc=$?
if [ "$rc" -eq 5 ]; then
    echo "run-api.sh: pytest collected no tests" >&2
fi
exit "$rc"
