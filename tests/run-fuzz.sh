#!/bin/sh
# run-fuzz.sh SECONDS BINARY... - run each libFuzzer target (make fuzz) for SECONDS
# from an empty corpus: a target that no longer builds, or that finds a crash, a
# leak, a sanitizer report or a failed check of its own in that time, fails. Long
# campaigns are run by hand (each target's header says how).
set -u
secs=${1:?run-fuzz.sh SECONDS BINARY...}
shift
dir=$(mktemp -d "${TMPDIR:-/tmp}/keyward-fuzz.XXXXXX") || exit 2
failed=0
for bin in "$@"; do
    name=$(basename "$bin")
    mkdir -p "$dir/$name"
    "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$dir/$name-" \
        "$dir/$name" >"$dir/$name.log" 2>&1 </dev/null
    rc=$?
    if [ "$rc" -eq 0 ]; then
        echo "fuzz: $name: $(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$dir/$name.log") runs, no finding"
    else
        echo "fuzz: $name: exit $rc; its log:"
        tail -n 60 "$dir/$name.log"
        failed=1
    fi
done
if [ "$failed" -eq 0 ]; then
    rm -rf "$dir"
else
    echo "fuzz: inputs and logs kept in $dir" >&2
fi
exit "$failed"
