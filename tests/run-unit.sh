#!/bin/sh
# run-unit.sh - run cmocka test binaries, print their output, sum their counts.
#
# Usage: tests/run-unit.sh build/tests/test_core build/tests/test_codec ...
# Last line: "unit: N passed, M failed" (tests, summed over binaries). Exits
# non-zero when any test failed or any binary crashed or could not run; a binary
# that dies without cmocka's summary counts as one failed test.
passed=0
failed=0
bad=0
out=$(mktemp) || exit 2
trap 'rm -f "$out"' EXIT INT TERM

for bin in "$@"; do
    echo "== $bin"
    if [ -x "$bin" ]; then
        "$bin" >"$out" 2>&1
        rc=$?
    else
        echo "run-unit: $bin: not an executable file" >"$out"
        rc=127
    fi
    cat "$out"
    p=$(sed -n 's/^\[  PASSED  \] \([0-9][0-9]*\) test(s)\..*/\1/p' "$out" | tail -n 1)
    f=$(sed -n 's/^\[  FAILED  \] \([0-9][0-9]*\) test(s).*/\1/p' "$out" | tail -n 1)
    p=${p:-0}
    f=${f:-0}
    if [ "$rc" -ne 0 ]; then
        bad=1
        # Crashed or refused to run before cmocka could report a failure.
        if [ "$f" -eq 0 ]; then
            f=1
        fi
    fi
    passed=$((passed + p))
    failed=$((failed + f))
done

echo "unit: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$bad" -eq 0 ]
