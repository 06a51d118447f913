#!/bin/bash
# run-passes.sh STORE:BINARY... - the API suite's passes (tests/run-api.sh), at most
# $KEYWARD_CHECK_JOBS (default 4: all of make check's at once) at a time, each with its own output file and its own range
# of TCP ports (KEYWARD_TEST_PORTS, tests/api/freeport.py), so that passes running side by side
# never take each other's ports. Each pass's output is printed whole when it ends; the last
# lines sum them up. Exits 1 when any pass failed.
#   tests/run-passes.sh sqlite:build/asan/keyward pg:build/keyward
# The passes wait much on timers and sockets (lease expiries, slow clients, a PostgreSQL
# round trip): on 2 cores, the four of make check took 36.7 min all at once (the cores 86 %
# busy), against 43 min two at a time.
set -u
jobs=${KEYWARD_CHECK_JOBS:-4}
case $jobs in '' | *[!0-9]* | 0) echo "run-passes.sh: KEYWARD_CHECK_JOBS=$jobs" >&2; exit 2 ;; esac
cd "$(dirname "$0")/.." || exit 2
out=$(mktemp -d "${TMPDIR:-/tmp}/keyward-passes.XXXXXX") || exit 2
declare -A pass_of=() # pid -> index
names=() results=()

start() { # index store binary
    local i=$1 lo=$((10000 + $1 * 5000))
    (
        export KEYWARD_STORE=$2 KEYWARD_BIN=$3 KEYWARD_TEST_PORTS=$lo-$((lo + 4999))
        SECONDS=0
        ./tests/run-api.sh >"$out/$i.log" 2>&1
        rc=$?
        echo "run-passes.sh: pass $2 ($3): exit $rc after ${SECONDS}s" >>"$out/$i.log"
        exit "$rc"
    ) &
    pass_of[$!]=$i
}

finish() { # wait for one pass, print it
    local pid rc i
    wait -n -p pid
    rc=$?
    i=${pass_of[$pid]}
    unset "pass_of[$pid]"
    cat "$out/$i.log"
    results[i]="${names[i]}: $(grep -E '^[0-9]+ (passed|failed)|(passed|failed).* in ' "$out/$i.log" | tail -1) (exit $rc)"
    [ "$rc" -eq 0 ] || failed=1
}

failed=0
i=0
for p in "$@"; do
    case $p in
        *:*) ;;
        *) echo "run-passes.sh: $p: want STORE:BINARY" >&2; exit 2 ;;
    esac
    [ "${#pass_of[@]}" -lt "$jobs" ] || finish
    names[i]=$p
    start "$i" "${p%%:*}" "${p#*:}"
    i=$((i + 1))
done
while [ "${#pass_of[@]}" -gt 0 ]; do finish; done
rm -rf "$out"
printf 'run-passes.sh: %s\n' "${results[@]}"
exit "$failed"
