#!/usr/bin/env bash
# bench/run.sh - Keyward's benchmark (`make bench`). Method: docs/performance.md.
#
# Every result is printed next to a reference measured in the same run:
#   1. GET /namespaces/:id, TLS keep-alive, wrk 64 connections   vs nginx (same cert, same bytes)
#   2. durable creates/s (checked with kill -9 + restart)          vs fsync-committed SQLite txns/s
#   3. filtered, counted, paged list over 1,000,000 namespaces    vs GET-by-ID p99, same server
#   4. RSS idle and under load                                     vs nginx master + workers
#   5. OAuth 2.0 client-credentials tokens/s, wrk 64 connections   vs openssl speed ES256 signs/s
#   6. GET by ID with 10,000 API authorizations in the tree        vs the same GET without them
#   7. POST /issue, realm Certificate (client certificate)         vs openssl speed ES256 signs/s
#   8. GET /health while 300 slow clients (slowhttptest) hold       vs the same client without them
#      connections, max_connections = 200; also for KEYWARD_OLD_BIN
#   9. the certificate inventory at 1,000,000 certificates (bench/inventory.py):
#      bulk import (certificates stored/s)                         vs plain OpenSSL parsing them
#      searches, paged and counted (p99)                           vs GET /certificates/:id p99
#      reports; CSV export (rows/s, peak RSS)                      vs GET-by-ID; sqlite3 -csv
#      monitoring sweep (CPU-s per monitor_interval)               vs the interval
#  10. issued-and-stored certificates/s, POST /certificaterequests  vs cfssl serve (SQLite certdb),
#      (P-256 CSR), TLS keep-alive, wrk 64 connections                 and openssl speed P-256
#                                                                      sign+verify on all cores
#  11. OCSP GET /pki/:caID/ocsp/<request>, no token                vs GET /certificates/:id
#  12. CRL with 100,000 revoked certificates: revocations/s, time   vs openssl ca -gencrl on a
#      from the last revocation to a complete GET /pki/:caID/crl       100,000-entry index.txt
#  13. discovery of 1,000 loopback endpoints (900 TLS served by     vs nmap --script +ssl-cert
#      nginx, 90 refusing, 10 silent): endpoints/s; of the 900         (a 100-pair sample of the
#      TLS ones alone: certificates recorded/s; GET /namespaces/:id    same mix, or all 1,000),
#      while scans run                                                 openssl s_client 64 at a
#                                                                      time; the idle GET rate
#  14. the PostgreSQL store (bench/pg.sh), one throw-away cluster:
#      GET by ID and durable creates on a PostgreSQL console       vs the same on a SQLite console
#      two consoles on one database, a wrk on each, summed         vs one console on that database
#      the inventory import on PostgreSQL (a probe), and the       vs the same probe on SQLite
#      1,000,000-certificate searches when the load fits the budget
#
# Loopback only, free ports, everything it starts is stopped on exit. The
# 1M-namespace and the 10k-authorization data sets are cached in bench/out/
# (git-ignored) between runs.
# Exit status: 0 when the run completed (goals met or not), 1 when the
# durability check failed, a discovery scan found other than what is there
# (part 13), or the harness could not run.
#
# Knobs (environment): BENCH_ROUNDS (3), BENCH_ROUND_SECS (8), BENCH_CONNECTIONS (64),
# BENCH_CREATE_SECS (10), BENCH_LIST_SECS (8), BENCH_LIST_CONNECTIONS (4),
# BENCH_PARENTS (1000), BENCH_CHILDREN (1000), BENCH_LOAD_CONNECTIONS (64),
# BENCH_SKIP_LIST (0), BENCH_AUTHZ_TENANTS (98), BENCH_AUTHZ_PER_TENANT (100),
# BENCH_SLOW_SECS (6), BENCH_SLOW_ATTACKERS (300), BENCH_SLOW_CONNECTIONS (4),
# KW_BENCH_CERTS (1000000) and the other KW_BENCH_* of bench/inventory.py,
# KEYWARD_BIN (build/keyward), KEYWARD_OLD_BIN (unset; part 8 measures this
# binary too, e.g. the previous release, for a before/after), BENCH_CRL_CERTS
# (100000), BENCH_CRL_WAIT (120), BENCH_REFERENCES_ONLY (0; 1: parts 10-12 run
# their references only, without the console), BENCH_DISC_TIMEOUT (3s: the
# discoveries' timeout, also s_client's), BENCH_DISC_CONCURRENCY (1000),
# BENCH_DISC_GET_SECS (5: each wrk window of part 13), BENCH_DISC_NMAP_FULL (0;
# 1: nmap scans all 1,000 pairs, about 10 minutes, instead of a 100-pair
# sample), BENCH_PG_INV_PROBE (20000: certificates of part 14's import probe;
# 0: no probe, no 1M searches), BENCH_PG_INV_MAX_SECS (600: part 14 loads the
# 1,000,000 certificates into PostgreSQL only when the probe's rate says it
# takes at most this long), BENCH_ONLY (all parts; a comma-separated subset of
# get,create,list,oauth2,authz,cert,slow,inventory,issue,ocsp,crl,discovery,pg,
# e.g. BENCH_ONLY=oauth2,authz).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
KW_BIN=${KEYWARD_BIN:-$ROOT/build/keyward}
BENCH=$ROOT/bench
OUT=$BENCH/out
ROUNDS=${BENCH_ROUNDS:-3}
ROUND_SECS=${BENCH_ROUND_SECS:-8}
CONNS=${BENCH_CONNECTIONS:-64}
CREATE_SECS=${BENCH_CREATE_SECS:-10}
LIST_SECS=${BENCH_LIST_SECS:-8}
LIST_CONNS=${BENCH_LIST_CONNECTIONS:-4}
NPARENTS=${BENCH_PARENTS:-1000}
NCHILDREN=${BENCH_CHILDREN:-1000}
LOAD_CONNS=${BENCH_LOAD_CONNECTIONS:-64}
SKIP_LIST=${BENCH_SKIP_LIST:-0}
AZ_TENANTS=${BENCH_AUTHZ_TENANTS:-98}
AZ_PER=${BENCH_AUTHZ_PER_TENANT:-100}
AZ_ROOT=100     # API authorizations in /, and in /bench (the GET's namespace)
SLOW_SECS=${BENCH_SLOW_SECS:-6}
SLOW_ATTACKERS=${BENCH_SLOW_ATTACKERS:-300}
SLOW_CONNS=${BENCH_SLOW_CONNECTIONS:-4}
SLOW_MAXCONN=200   # max_connections of the servers under attack
OLD_BIN=${KEYWARD_OLD_BIN:-}
PKI_CERTS=${BENCH_CRL_CERTS:-100000}   # certificates revoked in one CA (part 12)
CRL_WAIT=${BENCH_CRL_WAIT:-120}        # seconds the complete CRL may take
REFS_ONLY=${BENCH_REFERENCES_ONLY:-0}  # 1: parts 10-12 measure their references only
DISC_TIMEOUT=${BENCH_DISC_TIMEOUT:-3s}     # the discoveries' timeout (part 13)
DISC_CONC=${BENCH_DISC_CONCURRENCY:-1000}  # their concurrency
DISC_GET_SECS=${BENCH_DISC_GET_SECS:-5}    # each wrk window of part 13
DISC_NMAP_FULL=${BENCH_DISC_NMAP_FULL:-0}  # 1: nmap over all 1,000 pairs (~10 min)
PG_INV_PROBE=${BENCH_PG_INV_PROBE:-20000}  # certificates of part 14's import probe (0: none)
PG_INV_MAX=${BENCH_PG_INV_MAX_SECS:-600}   # part 14's budget (s) for loading 1M certificates
ONLY=${BENCH_ONLY:-}
PARTS="get create list oauth2 authz cert slow inventory issue ocsp crl discovery pg"
for p in ${ONLY//,/ }; do
    case " $PARTS " in *" $p "*) ;; *) echo "bench: BENCH_ONLY: unknown part '$p' (parts: ${PARTS// /,})" >&2; exit 1 ;; esac
done
want() { # want PART - is this part of the benchmark to run?
    if [ "$1" = list ] && [ "$SKIP_LIST" = 1 ]; then return 1; fi
    [ -z "$ONLY" ] || case ",$ONLY," in *",$1,"*) return 0 ;; *) return 1 ;; esac
}
CORES=$(nproc)
WRK_THREADS=$CORES
if [ "$WRK_THREADS" -gt 4 ]; then WRK_THREADS=4; fi
ADMIN_PW=keyward-bench-admin-password   # bench data only, loopback only

for tool in wrk nginx sqlite3 curl awk openssl base64; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is missing (make bench-deps)" >&2; exit 1; }
done
[ -x "$KW_BIN" ] || { echo "bench: $KW_BIN is missing (make all)" >&2; exit 1; }
if want slow; then
    command -v slowhttptest >/dev/null || { echo "bench: slowhttptest is missing (make bench-deps)" >&2; exit 1; }
fi
if want inventory; then
    for tool in python3 cc pkg-config; do
        command -v "$tool" >/dev/null || { echo "bench: $tool is missing (make bench-deps)" >&2; exit 1; }
    done
fi
if want issue; then
    command -v cfssl >/dev/null || { echo "bench: cfssl is missing (make bench-deps: golang-cfssl)" >&2; exit 1; }
fi
if want discovery; then
    for tool in nmap python3; do
        command -v "$tool" >/dev/null || { echo "bench: $tool is missing (make bench-deps)" >&2; exit 1; }
    done
fi
if want pg; then
    [ -x /usr/lib/postgresql/15/bin/initdb ] ||
        { echo "bench: PostgreSQL 15 is missing (apt-get install postgresql-15)" >&2; exit 1; }
    for tool in python3 cc pkg-config; do
        command -v "$tool" >/dev/null || { echo "bench: $tool is missing (make bench-deps)" >&2; exit 1; }
    done
fi

mkdir -p "$OUT"
# Keyward data (and the SQLite reference) live under bench/out so they are on
# the disk the console would use; /tmp may be a tmpfs.
WORK=$(mktemp -d "$OUT/run.XXXXXX")
# Engineers rebuild build/keyward while the bench runs: every start of the run
# uses this copy, so all its servers are the same binary.
# Which build that was (printed in the header): its time and a hash prefix.
KW_BIN_ID="built $(date -u -r "$KW_BIN" '+%Y-%m-%d %H:%M:%S'), sha256 $(sha256sum "$KW_BIN" | cut -c1-12)"
cp "$KW_BIN" "$WORK/keyward"
KW_BIN=$WORK/keyward
if [ -n "$OLD_BIN" ]; then
    [ -x "$OLD_BIN" ] || { echo "bench: KEYWARD_OLD_BIN: $OLD_BIN is missing" >&2; exit 1; }
    cp "$OLD_BIN" "$WORK/keyward-old"
    OLD_BIN=$WORK/keyward-old
fi
# nginx runs its workers as an unprivileged user when started as root: give it
# a world-readable prefix of its own.
NGX=$(mktemp -d "${TMPDIR:-/tmp}/keyward-bench-nginx.XXXXXX")
chmod 755 "$NGX"
LOGDIR=$OUT/last
rm -rf "$LOGDIR"
mkdir -p "$LOGDIR"

KW_PID=""       # the running console
SRV_PIDS=()     # more consoles running at the same time (part 6)
NGX_PID=""      # nginx master
CFSSL_PID=""    # cfssl serve (parts 10-12)
DISC_SILENT_PID=""   # the silent listeners of part 13
PG_DIR=""       # the PostgreSQL cluster of part 14 (tests/pg/pgctl.sh), destroyed on exit
BG_PIDS=()      # wrk runs in the background
STATUS=0

cleanup() {
    local rc=$?
    set +e
    for p in "${BG_PIDS[@]}"; do
        kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null
    done
    for p in "$KW_PID" "${SRV_PIDS[@]}" "$CFSSL_PID" "$DISC_SILENT_PID"; do
        [ -n "$p" ] && kill -0 "$p" 2>/dev/null || continue
        kill -TERM "$p"
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$p" 2>/dev/null && kill -KILL "$p"
    done
    if [ -n "$NGX_PID" ] && kill -0 "$NGX_PID" 2>/dev/null; then
        kill -TERM "$NGX_PID"   # the master stops its workers
        for _ in $(seq 50); do kill -0 "$NGX_PID" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$NGX_PID" 2>/dev/null && kill -KILL "$NGX_PID"
    fi
    wait 2>/dev/null
    if [ -n "$PG_DIR" ]; then
        cp "$PG_DIR/log" "$LOGDIR/postgresql.log" 2>/dev/null
        "$ROOT/tests/pg/pgctl.sh" destroy "$PG_DIR" >/dev/null 2>&1
    fi
    cp "$WORK"/*.log "$WORK"/*.out "$WORK"/inventory/*.log "$LOGDIR"/ 2>/dev/null
    cp "$WORK"/keyward.conf "$LOGDIR"/ 2>/dev/null
    cp "$NGX"/error.log "$LOGDIR"/nginx-error.log 2>/dev/null
    cp "$NGX"/nginx.conf "$LOGDIR"/nginx.conf 2>/dev/null
    cp "$NGX"/disc/error.log "$LOGDIR"/nginx-discovery-error.log 2>/dev/null
    cp "$NGX"/disc/nginx.conf "$LOGDIR"/nginx-discovery.conf 2>/dev/null
    cp "$NGX"/disc/nmap-*.txt "$LOGDIR"/ 2>/dev/null
    rm -rf "$WORK" "$NGX"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '%s\n' "$*"; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- helpers

# A port nobody listens on, below the ephemeral range wrk's connections use.
free_port() {
    local p
    for _ in $(seq 200); do
        p=$((20000 + RANDOM % 12000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

kv() { # kv FILE KEY - value of KEY=... on the RESULT line
    sed -n 's/^RESULT .*\b'"$2"'=\([^ ]*\).*/\1/p' "$1" | tail -1
}

calc() { awk "BEGIN { printf $* }"; }   # calc '"%.2f", 1 / 3'

median() { # median N... (prints the median, average of the middle two when even)
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
        END { if (NR == 0) print 0; else if (NR % 2) print v[(NR + 1) / 2];
              else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

status_kb() { # status_kb PID FIELD - a /proc/PID/status value in kB, 0 if gone
    local v
    v=$(awk -v f="$2:" '$1 == f { v = $2 } END { print v + 0 }' "/proc/$1/status" 2>/dev/null) || v=0
    echo "${v:-0}"
}
rss_kb() { status_kb "$1" VmRSS; }
hwm_kb() { status_kb "$1" VmHWM; }

nginx_pids() { # the master and its workers
    echo "$NGX_PID"
    grep -l "^PPid:[[:space:]]*$NGX_PID\$" /proc/[0-9]*/status 2>/dev/null |
        sed 's|/proc/\([0-9]*\)/status|\1|'
}
nginx_rss_kb() {
    local t=0 p
    for p in $(nginx_pids); do t=$((t + $(rss_kb "$p"))); done
    echo "$t"
}
mb() { calc '"%.1f", '"$1"' / 1024'; }

# kcurl ARGS... - curl against the console, with its CA passed explicitly
# (CURL_CA_BUNDLE and friends point elsewhere on these machines).
kcurl() { curl -sS --noproxy '*' --cacert "$KW_CA" "$@"; }

auth() { printf 'Authorization: Bearer %s' "$TOKEN"; }

# announced LOG SKIP TEXT - does LOG hold TEXT after its first SKIP lines?
announced() { awk -v n="$2" -v s="$3" 'NR > n && index($0, s) { f = 1 } END { exit !f }' "$1" 2>/dev/null; }

# start_keyward NAME DATADIR - start the console, wait until it is ready.
# Sets KW_PID, KW_PORT, KW_URL, KW_CA. KW_CONF_EXTRA: more lines for its config
# file (part 14: store, sync, public_url).
start_keyward() {
    local name=$1 data=$2 log port pub ready skip
    local conf=$WORK/keyward.conf
    printf 'threads = %s\nmax_connections = %s\nlog_level = warn\n' "$CORES" "${KW_MAX_CONNS:-1024}" >"$conf"
    [ -z "${KW_CONF_EXTRA:-}" ] || printf '%s\n' "$KW_CONF_EXTRA" >>"$conf"
    # The console announces the address it listens on (then its public_url if another).
    for attempt in 1 2 3 4 5; do
        port=$(free_port) || die "no free port"
        log=$WORK/keyward-$name.log
        ready="listening on https://127.0.0.1:$port"
        skip=0   # lines of earlier starts (a restart under the same NAME)
        [ ! -f "$log" ] || skip=$(wc -l <"$log")
        KEYWARD_ADMIN_PASSWORD=$ADMIN_PW \
            "$KW_BIN" server --listen "127.0.0.1:$port" --data "$data" --config "$conf" \
            >>"$log" 2>&1 </dev/null &
        KW_PID=$!
        for _ in $(seq 1200); do
            announced "$log" "$skip" "$ready" && break
            kill -0 "$KW_PID" 2>/dev/null || break
            sleep 0.1
        done
        if announced "$log" "$skip" "$ready" && kill -0 "$KW_PID" 2>/dev/null; then
            KW_PORT=$port
            KW_URL=https://127.0.0.1:$port
            KW_CA=$data/tls/ca.pem
            [ "$(kcurl -o /dev/null -w '%{http_code}' "$KW_URL/health")" = 200 ] ||
                die "keyward ($name) is listening but /health is not 200"
            return 0
        fi
        kill -KILL "$KW_PID" 2>/dev/null || true
        wait "$KW_PID" 2>/dev/null || true
        KW_PID=""
        grep -q "cannot listen" "$log" || { tail -5 "$log" >&2; return 1; }
    done
    return 1
}

stop_keyward() {
    [ -n "$KW_PID" ] || return 0
    kill -TERM "$KW_PID" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$KW_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$KW_PID" 2>/dev/null || true
    wait "$KW_PID" 2>/dev/null || true
    KW_PID=""
}

get_token() {
    local body
    body=$(kcurl -X POST "$KW_URL/issue" -H 'Content-Type: application/json' \
        -d '{"realm":"Vince","metadata":{"vinceAccount":"admin","vincePassword":"'"$ADMIN_PW"'"}}')
    TOKEN=$(printf '%s' "$body" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
    [ -n "$TOKEN" ] || { echo "bench: no token: $body" >&2; return 1; }
}

# create_ns PARENT BODY - POST /namespaces, prints the answer
create_ns() {
    kcurl -X POST "$KW_URL/namespaces" -H 'Content-Type: application/json' \
        -H "X-Namespace: $1" -H "$(auth)" -d "$2"
}

# count_ns NAMESPACE [QUERY] - X-Count-Total of HEAD /namespaces?QUERY
count_ns() {
    kcurl -I -o /dev/null -w '%header{x-count-total}' \
        "$KW_URL/namespaces${2:+?$2}" -H "X-Namespace: $1" -H "$(auth)"
}

CLK_TCK=$(getconf CLK_TCK)
cpu_ticks() { # cpu_ticks PID - user + system CPU time of the process so far
    awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0
}
cpu_us() { # cpu_us OUTFILE - server CPU µs per request of the last run_wrk
    calc '"%.1f", '"$RUN_CPU_TICKS * 1e6 / $CLK_TCK / $(kv "$1" requests)"
}

# run_wrk OUTFILE SAMPLEPID ARGS... - wrk in the background; while it runs,
# sample the VmRSS of SAMPLEPID ("nginx" for nginx's processes, "" for none).
# Sets PEAK_KB, and RUN_CPU_TICKS (CPU time SAMPLEPID used during the run).
run_wrk() {
    local outf=$1 target=$2 pid r c0=0
    shift 2
    case $target in "" | nginx) ;; *) c0=$(cpu_ticks "$target") ;; esac
    wrk "$@" >"$outf" 2>&1 &
    pid=$!
    BG_PIDS+=("$pid")
    PEAK_KB=0
    while kill -0 "$pid" 2>/dev/null; do
        sleep 0.5
        case $target in
            "") r=0 ;;
            nginx) r=$(nginx_rss_kb) ;;
            *) r=$(rss_kb "$target") ;;
        esac
        if [ "$r" -gt "$PEAK_KB" ]; then PEAK_KB=$r; fi
    done
    wait "$pid" || { cat "$outf" >&2; die "wrk failed"; }
    grep -q '^RESULT ' "$outf" || { cat "$outf" >&2; die "wrk printed no RESULT line"; }
    RUN_CPU_TICKS=0
    case $target in "" | nginx) ;; *) RUN_CPU_TICKS=$(( $(cpu_ticks "$target") - c0 )) ;; esac
}

# es256_rate - ES256 (ECDSA P-256) signs/s of OpenSSL on all cores: the
# sign/s column of `openssl speed` (5 s of signing, then 5 s of verifying)
es256_rate() {
    local v
    v=$(openssl speed -seconds 5 -multi "$CORES" ecdsap256 2>/dev/null |
        awk '/^ *256 bits ecdsa \(nistp256\)/ { v = $7 } END { print v + 0 }')
    [ "${v%.*}" -gt 0 ] || die "cannot parse openssl speed's ecdsap256 sign/s"
    echo "$v"
}

cpu_us_ok() { # cpu_us_ok OUTFILE - server CPU µs per successful answer (ok=) of the last run_wrk
    local ok
    ok=$(kv "$1" ok)
    if [ "${ok:-0}" -gt 0 ]; then calc '"%.1f", '"$RUN_CPU_TICKS * 1e6 / $CLK_TCK / $ok"; else echo 0; fi
}

check_wrk() { # check_wrk OUTFILE LABEL - warn on errors wrk saw
    local se so
    se=$(kv "$1" status_errors)
    so=$(kv "$1" socket_errors)
    if [ "${se:-0}" != 0 ] || [ "${so:-0}" != 0 ]; then
        say "  warning: $2: $se non-2xx answers, $so socket errors (see bench/out/last/)"
        WARNINGS="$WARNINGS $2"
    fi
}

# post_lines FILE CONNS POLL [leave] - POST every line of FILE (bench/post.lua:
# "PATH<TAB>X-Namespace<TAB>body") once, CONNS connections, until every answer
# is in, looking at wrk's progress files every POLL seconds (and printing
# progress every 20 s). Sets POST_WANT, POST_ACKED (200 answers), POST_FAILED,
# and POST_T0_NS / POST_T1_NS: the clock before wrk started and when the last
# answer was seen (within POLL). With "leave", wrk (idle by then) is left
# running for the caller to stop (post_stop): the caller's next request is
# not delayed by wrk's exit.
post_lines() {
    local file=$1 conns=$2 poll=$3 leave=${4:-} out pid l now a d fl done_n
    out=$WORK/post-$(basename "$file").out
    POST_WANT=$(wc -l <"$file")
    rm -f "$WORK"/progress.*
    POST_T0_NS=$(date +%s%N)
    KW_TOKEN=$TOKEN KW_REQUESTS=$file KW_THREADS=$WRK_THREADS KW_PROGRESS=$WORK/progress. \
        wrk -t"$WRK_THREADS" -c"$conns" -d3600s --timeout 600s -s "$BENCH/post.lua" "$KW_URL/" \
        >"$out" 2>&1 &
    pid=$!
    BG_PIDS+=("$pid")
    l=$(date +%s)
    while :; do
        sleep "$poll"
        kill -0 "$pid" 2>/dev/null || { cat "$out" >&2; die "wrk (post) ended early"; }
        a=0; d=0; fl=0; done_n=0
        for p in "$WORK"/progress.*; do
            [ -e "$p" ] || continue
            read -r pa pd pf _ pdone <"$p" || continue
            a=$((a + pa)); d=$((d + pd)); fl=$((fl + pf)); done_n=$((done_n + pdone))
        done
        if [ "$done_n" -ge "$WRK_THREADS" ]; then
            POST_T1_NS=$(date +%s%N)
            break
        fi
        now=$(date +%s)
        if [ $((now - l)) -ge 20 ]; then
            say "  $(basename "$file"): $((a + d + fl))/$POST_WANT after $(( (now * 1000000000 - POST_T0_NS) / 1000000000 ))s ($fl failed)"
            l=$now
        fi
    done
    POST_ACKED=$a
    POST_FAILED=$fl
    POST_PID=$pid
    [ "$leave" = leave ] || post_stop
}
post_stop() {
    kill -INT "$POST_PID" 2>/dev/null || true
    wait "$POST_PID" || true
}

WARNINGS=""
T_START=$(date +%s)

say "== Keyward benchmark ($(date -u +%Y-%m-%dT%H:%M:%SZ))"
say "machine: $CORES cores, $(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -1)," \
    "$(free -m | awk '/^Mem:/ { print $2 }') MB RAM; keyward $("$KW_BIN" version 2>&1 | head -1)" \
    "($KW_BIN_ID)"
say "wrk: $WRK_THREADS threads; keyward threads = nginx worker_processes = $CORES"

# ====================================================== 1. GET by ID vs nginx
KW_HWM_KB=0
if want get; then
say ""
say "== 1. GET /namespaces/:id over TLS keep-alive, $CONNS connections, $ROUNDS x ${ROUND_SECS}s rounds"
# First start (creates the CA, keys, the admin account), then a normal start:
# "idle" is measured on the second.
start_keyward first "$WORK/data" || die "keyward did not start"
get_token || die "cannot get a token"
create_ns / '{"name":"bench"}' >/dev/null
obj=$(create_ns /bench '{"name":"item","description":"tier-3"}')
OBJ_ID=$(printf '%s' "$obj" | sed -n 's/.*"ID":"\([^"]*\)".*/\1/p')
[ -n "$OBJ_ID" ] || die "cannot create the object to GET: $obj"
sleep 1
KW_FIRST_KB=$(rss_kb "$KW_PID")
stop_keyward
start_keyward main "$WORK/data" || die "keyward did not restart"
get_token || die "cannot get a token"
mkdir -p "$NGX/html" "$NGX/tmp"
kcurl -o "$NGX/html/object.json" -H 'X-Namespace: /bench' -H "$(auth)" "$KW_URL/namespaces/$OBJ_ID"
chmod 755 "$NGX/html"
chmod 644 "$NGX/html/object.json"
grep -q "\"ID\":\"$OBJ_ID\"" "$NGX/html/object.json" || die "GET by ID did not return the object"
say "object: $(wc -c <"$NGX/html/object.json") bytes of JSON"

# Keep-alive check: two requests on one curl must share one connection.
ka=$(kcurl -v -o /dev/null -o /dev/null -H 'X-Namespace: /bench' -H "$(auth)" \
    "$KW_URL/namespaces/$OBJ_ID" "$KW_URL/namespaces/$OBJ_ID" 2>&1 || true)
if printf '%s' "$ka" | grep -qi '^< connection: close' ||
    ! printf '%s' "$ka" | grep -qi 're-using existing connection'; then
    say "  warning: keyward does not keep the connection alive (Connection: close)"
    WARNINGS="$WARNINGS keep-alive"
fi

sleep 1
KW_IDLE_KB=$(rss_kb "$KW_PID")

NGX_PORT=$(free_port) || die "no free port"
SRV_PEM=$WORK/data/tls/server.pem
SRV_KEY=$WORK/data/tls/server.key
cat >"$NGX/nginx.conf" <<EOF
# throw-away config written by bench/run.sh
worker_processes $CORES;
daemon off;
master_process on;
pid $NGX/nginx.pid;
error_log $NGX/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    default_type application/json;
    keepalive_timeout 75s;
    keepalive_requests 1000000000;
    client_body_temp_path $NGX/tmp/body;
    proxy_temp_path $NGX/tmp/proxy;
    fastcgi_temp_path $NGX/tmp/fastcgi;
    uwsgi_temp_path $NGX/tmp/uwsgi;
    scgi_temp_path $NGX/tmp/scgi;
    server {
        listen 127.0.0.1:$NGX_PORT ssl;
        ssl_certificate $SRV_PEM;
        ssl_certificate_key $SRV_KEY;
        ssl_protocols TLSv1.2 TLSv1.3;
        root $NGX/html;
        location / { try_files /object.json =404; }
    }
}
EOF
nginx -p "$NGX/" -c "$NGX/nginx.conf" -e "$NGX/error.log" </dev/null >>"$NGX/error.log" 2>&1 &
NGX_PID=$!
NGX_URL=https://127.0.0.1:$NGX_PORT
for _ in $(seq 100); do
    [ "$(kcurl -o /dev/null -w '%{http_code}' "$NGX_URL/namespaces/$OBJ_ID" 2>/dev/null)" = 200 ] && break
    kill -0 "$NGX_PID" 2>/dev/null || { cat "$NGX/error.log" >&2; die "nginx did not start"; }
    sleep 0.1
done
kcurl -o "$WORK/nginx-object.json" "$NGX_URL/namespaces/$OBJ_ID"
cmp -s "$WORK/nginx-object.json" "$NGX/html/object.json" || die "nginx does not serve the same bytes"
sleep 0.5
NGX_IDLE_KB=$(nginx_rss_kb)

export KW_TOKEN=$TOKEN KW_NAMESPACE=/bench
KW_RPS=()
NGX_RPS=()
KW_LOAD_KB=0
NGX_LOAD_KB=0
for r in $(seq "$ROUNDS"); do
    f=$WORK/get-keyward-$r.out
    run_wrk "$f" "$KW_PID" -t"$WRK_THREADS" -c"$CONNS" -d"${ROUND_SECS}s" \
        -s "$BENCH/get.lua" "$KW_URL/namespaces/$OBJ_ID"
    check_wrk "$f" "GET keyward round $r"
    KW_RPS+=("$(kv "$f" rps)")
    if [ "$PEAK_KB" -gt "$KW_LOAD_KB" ]; then KW_LOAD_KB=$PEAK_KB; fi
    f=$WORK/get-nginx-$r.out
    run_wrk "$f" nginx -t"$WRK_THREADS" -c"$CONNS" -d"${ROUND_SECS}s" \
        -s "$BENCH/get.lua" "$NGX_URL/namespaces/$OBJ_ID"
    check_wrk "$f" "GET nginx round $r"
    NGX_RPS+=("$(kv "$f" rps)")
    if [ "$PEAK_KB" -gt "$NGX_LOAD_KB" ]; then NGX_LOAD_KB=$PEAK_KB; fi
    say "  round $r: keyward $(calc '"%.0f", '"${KW_RPS[-1]}")/s  nginx $(calc '"%.0f", '"${NGX_RPS[-1]}")/s"
done
GET_KW=$(median "${KW_RPS[@]}")
GET_NGX=$(median "${NGX_RPS[@]}")
GET_RATIO=$(calc '"%.2f", '"$GET_KW / $GET_NGX")
say "median: keyward $(calc '"%.0f", '"$GET_KW")/s, nginx $(calc '"%.0f", '"$GET_NGX")/s, ratio $GET_RATIO"

kill -TERM "$NGX_PID" 2>/dev/null || true
wait "$NGX_PID" 2>/dev/null || true
NGX_PID=""

# Idle again after the load, then after a few more logins (POST /issue hashes
# with Argon2id: watch whether that memory goes back).
sleep 1
KW_AFTER_KB=$(rss_kb "$KW_PID")
for _ in 1 2 3 4; do get_token; done
sleep 1
KW_ISSUE_KB=$(rss_kb "$KW_PID")
say "RSS idle: $(mb "$KW_IDLE_KB") MB before the rounds, $(mb "$KW_AFTER_KB") MB after," \
    "$(mb "$KW_ISSUE_KB") MB after 4 more POST /issue; first start: $(mb "$KW_FIRST_KB") MB"
fi

# start_main - the console on the run's own data directory (bootstrapped on
# its first start), unless it is running already; with a token.
start_main() {
    if [ -z "$KW_PID" ]; then
        start_keyward main "$WORK/data" || die "keyward did not start"
    fi
    get_token || die "cannot get a token"
}

# ================================================ 2. durable creates vs SQLite
if want create; then
say ""
say "== 2. durable creates: POST /namespaces, $CONNS connections, ${CREATE_SECS}s, then kill -9"
start_main
create_ns / '{"name":"creates"}' >/dev/null
export KW_TOKEN=$TOKEN KW_NAMESPACE=/creates KW_RUN=r$$
f=$WORK/create.out
wrk -t"$WRK_THREADS" -c"$CONNS" -d"$((CREATE_SECS + 30))s" -s "$BENCH/create.lua" "$KW_URL/" >"$f" 2>&1 &
WRK_PID=$!
BG_PIDS+=("$WRK_PID")
t0=$(date +%s%N)
t_end=$((t0 + CREATE_SECS * 1000000000))
CREATE_LOAD_KB=0
while [ "$(date +%s%N)" -lt "$t_end" ]; do
    sleep 0.25
    r=$(rss_kb "$KW_PID")
    if [ "$r" -gt "$CREATE_LOAD_KB" ]; then CREATE_LOAD_KB=$r; fi
done
KW_HWM_KB=$(( $(hwm_kb "$KW_PID") > KW_HWM_KB ? $(hwm_kb "$KW_PID") : KW_HWM_KB ))
# The console dies under load: every create wrk counted as acknowledged must
# be there after the restart.
kill -KILL "$KW_PID"
t1=$(date +%s%N)
wait "$KW_PID" 2>/dev/null || true
KW_PID=""
kill -INT "$WRK_PID" 2>/dev/null || true
wait "$WRK_PID" || true
grep -q '^RESULT ' "$f" || { cat "$f" >&2; die "wrk (creates) printed no RESULT line"; }
ACKED=$(kv "$f" acked)
CREATE_FAILED=$(kv "$f" failed)
CREATE_RATE=$(calc '"%.0f", '"$ACKED / (($t1 - $t0) / 1e9)")
say "acknowledged: $ACKED in $(calc '"%.2f", '"($t1 - $t0) / 1e9")s = $CREATE_RATE/s ($CREATE_FAILED other answers)"
[ "${CREATE_FAILED:-0}" = 0 ] || WARNINGS="$WARNINGS create-failures"

start_keyward restart "$WORK/data" || die "keyward did not restart after kill -9"
get_token || die "cannot get a token after the restart"
FOUND=$(count_ns /creates)
if [ -n "$FOUND" ] && [ "$FOUND" -ge "$ACKED" ]; then
    DURABLE=PASS
else
    DURABLE=FAIL
    STATUS=1
fi
say "after kill -9 and restart: $FOUND namespaces in /creates, $ACKED acknowledged: $DURABLE"
stop_keyward

# Reference: single-row INSERT transactions, WAL, synchronous=FULL, same disk.
sqlite_rate() { # sqlite_rate N - prints transactions per second
    local n=$1 db=$WORK/sqlite-ref.db s e
    rm -f "$db" "$db-wal" "$db-shm"
    {
        echo "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
        echo "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT UNIQUE, body TEXT);"
    } | sqlite3 "$db" >/dev/null
    seq "$n" | awk '{ printf "INSERT INTO t(name, body) VALUES(%c/creates/n%d%c, %c%0500d%c);\n", 39, $1, 39, 39, 0, 39 }' \
        >"$WORK/sqlite-ref.sql"
    s=$(date +%s%N)
    { echo "PRAGMA synchronous=FULL;"; cat "$WORK/sqlite-ref.sql"; } | sqlite3 "$db" >/dev/null
    e=$(date +%s%N)
    calc '"%.0f", '"$n / (($e - $s) / 1e9)"
}
probe=$(sqlite_rate 200)
n=$(calc '"%d", '"$probe * 3")
if [ "$n" -lt 500 ]; then n=500; fi
if [ "$n" -gt 100000 ]; then n=100000; fi
SQLITE_RATE=$(sqlite_rate "$n")
CREATE_RATIO=$(calc '"%.2f", '"$CREATE_RATE / $SQLITE_RATE")
say "sqlite3 reference: $n single-row transactions (WAL, synchronous=FULL): $SQLITE_RATE/s"
say "group-commit factor (creates / fsync'd transactions): $CREATE_RATIO"
fi

# ========================================== 3. filtered list over 1M objects
LIST_P50=""; LIST_P99=""; ID_P99=""; LIST_RATIO=""; BIG_IDLE_KB=""; LIST_COUNT=""; LIST_LOAD_KB=0
NOBJ=$((NPARENTS * NCHILDREN))
if want list; then
stop_keyward
say ""
say "== 3. filtered, counted, paged list over $NOBJ namespaces"
DS=$OUT/ns-${NPARENTS}x${NCHILDREN}
EXPECT_TOTAL=$((NPARENTS * (NCHILDREN + 1)))

# load_run MODE [PARENTSFILE] [ACCEPTDUP] - run load.lua until it has sent all
# its tasks and has every answer, printing progress.
load_run() {
    local mode=$1 plist=${2:-} dup=${3:-0} want done_n a d fl l pid start now el rate
    rm -f "$WORK"/progress.*
    want=$NPARENTS
    [ -n "$plist" ] && want=$(wc -l <"$plist")
    [ "$mode" = children ] && want=$((want * NCHILDREN))
    KW_TOKEN=$TOKEN KW_LOAD_MODE=$mode KW_NPARENTS=$NPARENTS KW_NCHILDREN=$NCHILDREN \
        KW_LOAD_PARENTS=$plist KW_THREADS=$WRK_THREADS KW_PROGRESS=$WORK/progress. \
        KW_ACCEPT_DUP=$dup \
        wrk -t"$WRK_THREADS" -c"$LOAD_CONNS" -d3600s -s "$BENCH/load.lua" "$KW_URL/" \
        >"$WORK/load-$mode.out" 2>&1 &
    pid=$!
    BG_PIDS+=("$pid")
    start=$(date +%s)
    l=$start
    while :; do
        sleep 1
        kill -0 "$pid" 2>/dev/null || { cat "$WORK/load-$mode.out" >&2; die "wrk (load) ended early"; }
        a=0; d=0; fl=0; done_n=0
        for p in "$WORK"/progress.*; do
            [ -e "$p" ] || continue
            read -r pa pd pf _ pdone <"$p" || continue
            a=$((a + pa)); d=$((d + pd)); fl=$((fl + pf)); done_n=$((done_n + pdone))
        done
        now=$(date +%s)
        [ "$done_n" -ge "$WRK_THREADS" ] && break
        if [ $((now - l)) -ge 10 ]; then
            el=$((now - start))
            rate=$(( (a + d + fl) / (el > 0 ? el : 1) ))
            say "  load $mode: $((a + d + fl))/$want after ${el}s ($rate/s, $fl failed)"
            l=$now
        fi
    done
    kill -INT "$pid" 2>/dev/null || true
    wait "$pid" || true
    el=$(( $(date +%s) - start ))
    say "  load $mode: $((a + d + fl))/$want in ${el}s ($a created, $d already there, $fl failed)"
    LOAD_FAILED=$fl
}

dataset_ok() { # the server runs on $DS: is the data set complete?
    local n
    n=$(count_ns /bench recursive=true 2>/dev/null || true)
    say "cached data set: $n of $EXPECT_TOTAL namespaces under /bench"
    [ "$n" = "$EXPECT_TOTAL" ]
}

ready=0
if [ -f "$DS/COMPLETE" ] && start_keyward big "$DS"; then
    if get_token && dataset_ok; then
        ready=1
    else
        stop_keyward
    fi
fi
if [ "$ready" = 0 ]; then
    say "loading $EXPECT_TOTAL namespaces into $DS (cached for later runs)"
    rm -rf "$DS"
    start_keyward big "$DS" || die "keyward did not start on $DS"
    get_token || die "cannot get a token"
    create_ns / '{"name":"bench"}' >/dev/null
    lt0=$(date +%s)
    load_run parents
    load_run children
    # Anything that did not answer 200 is retried parent by parent.
    n=$(count_ns /bench recursive=true)
    if [ "$n" != "$EXPECT_TOTAL" ]; then
        say "  $n of $EXPECT_TOTAL after the load: repairing"
        [ "$(count_ns /bench)" = "$NPARENTS" ] || load_run parents "" 1
        : >"$WORK/repair.list"
        for i in $(seq 0 $((NPARENTS - 1))); do
            c=$(count_ns "$(printf '/bench/g%04d' "$i")")
            [ "$c" = "$NCHILDREN" ] || echo "$i" >>"$WORK/repair.list"
        done
        load_run children "$WORK/repair.list" 1
    fi
    LOAD_SECS=$(( $(date +%s) - lt0 ))
    dataset_ok || die "the data set is incomplete after loading"
    echo "$EXPECT_TOTAL namespaces under /bench, loaded in ${LOAD_SECS}s on $(date -u +%FT%TZ)" >"$DS/COMPLETE"
fi
# Measure a freshly started server, whether the data set was loaded or cached
# (loading and the completeness count leave the page caches full).
stop_keyward
start_keyward big "$DS" || die "keyward did not restart on $DS"
get_token || die "cannot get a token"
sleep 1
BIG_IDLE_KB=$(rss_kb "$KW_PID")

PARENT=$(printf '/bench/g%04d' $((NPARENTS / 2)))
case $PARENT in *7*) PARENT=/bench/g0000 ;; esac
Q='description == "tier-3" or name contains "7"'
QENC=$(printf '%s' "$Q" | sed 's/ /%20/g; s/"/%22/g; s/=/%3D/g')
LIST_QS="q=$QENC&page=3&pageSize=20"
# what the filter must find: C % 4 == 3, or a 7 in cCCCC
expect=0
for c in $(seq 0 $((NCHILDREN - 1))); do
    name=$(printf 'c%04d' "$c")
    if [ $((c % 4)) = 3 ] || [[ $name == *7* ]]; then expect=$((expect + 1)); fi
done
kcurl -D "$WORK/list-headers.txt" -o "$WORK/list-body.json" -H "X-Namespace: $PARENT" -H "$(auth)" \
    "$KW_URL/namespaces?$LIST_QS"
LIST_COUNT=$(sed -n 's/^[Xx]-[Cc]ount-[Tt]otal: *\([0-9]*\).*/\1/p' "$WORK/list-headers.txt")
items=$(grep -o '"object":"namespace"' "$WORK/list-body.json" | wc -l)
say "list: GET /namespaces?q=$Q&page=3&pageSize=20 in $PARENT"
say "  X-Count-Total $LIST_COUNT (expected $expect), $items objects on the page"
if [ "$LIST_COUNT" != "$expect" ]; then
    say "  warning: the filter does not count what it should"
    WARNINGS="$WARNINGS list-count"
fi
ID_BODY=$(kcurl -H "X-Namespace: $PARENT" -H "$(auth)" "$KW_URL/namespaces?page=1&pageSize=1")
CHILD_ID=$(printf '%s' "$ID_BODY" | sed -n 's/.*"ID":"\([^"]*\)".*/\1/p')
[ -n "$CHILD_ID" ] || die "cannot find a child of $PARENT: $ID_BODY"

export KW_TOKEN=$TOKEN KW_NAMESPACE=$PARENT
# warm-up, not counted
run_wrk "$WORK/list-warmup.out" "" -t1 -c"$LIST_CONNS" -d2s -s "$BENCH/get.lua" "$KW_URL/namespaces?$LIST_QS"
run_wrk "$WORK/id-warmup.out" "" -t1 -c"$LIST_CONNS" -d2s -s "$BENCH/get.lua" "$KW_URL/namespaces/$CHILD_ID"
L50=(); L99=(); I50=(); I99=(); LRPS=()
lt=1   # one wrk thread: the client takes as little CPU from the server as it can
for r in $(seq "$ROUNDS"); do
    f=$WORK/list-$r.out
    run_wrk "$f" "$KW_PID" -t"$lt" -c"$LIST_CONNS" -d"${LIST_SECS}s" --latency \
        -s "$BENCH/get.lua" "$KW_URL/namespaces?$LIST_QS"
    check_wrk "$f" "list round $r"
    L50+=("$(kv "$f" p50_us)"); L99+=("$(kv "$f" p99_us)"); LRPS+=("$(kv "$f" rps)")
    if [ "$PEAK_KB" -gt "$LIST_LOAD_KB" ]; then LIST_LOAD_KB=$PEAK_KB; fi
    g=$WORK/id-$r.out
    run_wrk "$g" "$KW_PID" -t"$lt" -c"$LIST_CONNS" -d"${LIST_SECS}s" --latency \
        -s "$BENCH/get.lua" "$KW_URL/namespaces/$CHILD_ID"
    check_wrk "$g" "GET-by-ID round $r"
    I50+=("$(kv "$g" p50_us)"); I99+=("$(kv "$g" p99_us)")
    say "  round $r: list p50 $(calc '"%.2f", '"$(kv "$f" p50_us) / 1000")ms" \
        "p99 $(calc '"%.2f", '"$(kv "$f" p99_us) / 1000")ms ($(calc '"%.0f", '"$(kv "$f" rps)")/s);" \
        "GET by ID p50 $(calc '"%.2f", '"$(kv "$g" p50_us) / 1000")ms p99 $(calc '"%.2f", '"$(kv "$g" p99_us) / 1000")ms"
done
LIST_P50=$(calc '"%.2f", '"$(median "${L50[@]}") / 1000")
LIST_P99=$(calc '"%.2f", '"$(median "${L99[@]}") / 1000")
ID_P99=$(calc '"%.2f", '"$(median "${I99[@]}") / 1000")
ID_P50=$(calc '"%.2f", '"$(median "${I50[@]}") / 1000")
LIST_RATIO=$(calc '"%.2f", '"$LIST_P99 / $ID_P99")
say "median: list p50 ${LIST_P50}ms p99 ${LIST_P99}ms; GET by ID p50 ${ID_P50}ms p99 ${ID_P99}ms; p99 ratio $LIST_RATIO"
KW_HWM_KB=$(( $(hwm_kb "$KW_PID") > KW_HWM_KB ? $(hwm_kb "$KW_PID") : KW_HWM_KB ))
stop_keyward
fi

# ==================================== 5. OAuth 2.0 tokens vs ES256 signs/s
TOK_RATE=""; SIGN_RATE=""; TOK_RATIO=""; TOK_P99=""; TOK_CPU=""
if want oauth2; then
say ""
say "== 5. OAuth 2.0 client credentials: POST /oauth2/access_token, $CONNS connections, $ROUNDS x ${ROUND_SECS}s rounds"
stop_keyward
start_main
create_ns / '{"name":"tokens"}' >/dev/null
sa=$(kcurl -X POST "$KW_URL/serviceaccounts" -H 'Content-Type: application/json' \
    -H 'X-Namespace: /tokens' -H "$(auth)" \
    -d '{"name":"bench-client","roles":["@auth:role=namespace.viewer"]}')
SA_ID=$(printf '%s' "$sa" | sed -n 's/.*"clientID":"\([^"]*\)".*/\1/p')
SA_SECRET=$(printf '%s' "$sa" | sed -n 's/.*"clientSecret":"\([^"]*\)".*/\1/p')
[ -n "$SA_ID" ] && [ -n "$SA_SECRET" ] || die "cannot create the service account: $sa"
export KW_BASIC
KW_BASIC=$(printf '%s:%s' "$SA_ID" "$SA_SECRET" | base64 -w0)
# One token by hand: it must be a bearer token that works in the account's namespace.
tok=$(kcurl -X POST "$KW_URL/oauth2/access_token" -H "Authorization: Basic $KW_BASIC" \
    -H 'Content-Type: application/x-www-form-urlencoded' -d grant_type=client_credentials)
at=$(printf '%s' "$tok" | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
[ -n "$at" ] || die "no access token: $tok"
[ "$(kcurl -o /dev/null -w '%{http_code}' -H 'X-Namespace: /tokens' -H "Authorization: Bearer $at" \
    "$KW_URL/namespaces")" = 200 ] || die "the client-credentials token does not work"
say "service account $SA_ID in /tokens; token checked; answer $(printf '%s' "$tok" | wc -c) bytes"

TRATES=(); SRATES=(); TP99=(); TCPU=()
for r in $(seq "$ROUNDS"); do
    f=$WORK/oauth2-$r.out
    run_wrk "$f" "$KW_PID" -t"$WRK_THREADS" -c"$CONNS" -d"${ROUND_SECS}s" \
        -s "$BENCH/oauth2.lua" "$KW_URL/oauth2/access_token"
    check_wrk "$f" "OAuth 2.0 tokens round $r"
    TRATES+=("$(kv "$f" rps)"); TP99+=("$(kv "$f" p99_us)"); TCPU+=("$(cpu_us "$f")")
    s=$(es256_rate)
    SRATES+=("$s")
    say "  round $r: keyward $(calc '"%.0f", '"${TRATES[-1]}") tokens/s" \
        "(p99 $(calc '"%.1f", '"${TP99[-1]} / 1000")ms, ${TCPU[-1]} µs server CPU each)" \
        " openssl speed -multi $CORES: $(calc '"%.0f", '"$s") ES256 signs/s"
done
TOK_RATE=$(median "${TRATES[@]}")
TOK_CPU=$(median "${TCPU[@]}")
SIGN_RATE=$(median "${SRATES[@]}")
TOK_P99=$(calc '"%.1f", '"$(median "${TP99[@]}") / 1000")
TOK_RATIO=$(calc '"%.2f", '"$TOK_RATE / $SIGN_RATE")
say "median: $(calc '"%.0f", '"$TOK_RATE") tokens/s, $(calc '"%.0f", '"$SIGN_RATE") ES256 signs/s, ratio $TOK_RATIO"
if [ -n "${GET_KW:-}" ]; then
    say "  (for scale: $(calc '"%.2f", '"$TOK_RATE / $GET_KW") x this run's GET-by-ID rate)"
fi
KW_HWM_KB=$(( $(hwm_kb "$KW_PID") > KW_HWM_KB ? $(hwm_kb "$KW_PID") : KW_HWM_KB ))
stop_keyward
fi

# ============================= 6. GET by ID with 10,000 API authorizations
AZ_TOTAL=$((AZ_TENANTS * AZ_PER + 2 * AZ_ROOT))
AZ_ADMIN_BASE=""; AZ_ADMIN_POL=""; AZ_ADMIN_RATIO=""; AZ_USER_BASE=""; AZ_USER_POL=""
AZ_USER_RATIO=""; AZ_WRITE_BASE=""; AZ_WRITE_POL=""; AZ_BASE_KB=""; AZ_POL_KB=""
AZ_USER=bench-reader
AZ_USER_PW=keyward-bench-reader-password   # bench data only, loopback only
if want authz; then
say ""
say "== 6. API authorization evaluation: GET /namespaces/:id with $AZ_TOTAL API authorizations," \
    "$CONNS connections, $ROUNDS x ${ROUND_SECS}s rounds"
stop_keyward
AZ=$OUT/authz-$AZ_TOTAL

# The tree: /tenants/tNNN (AZ_TENANTS tenants) with AZ_PER authorizations each,
# AZ_ROOT in / and AZ_ROOT in /bench. No subject matches the admin or the
# reader: each needs its claims compared one by one (same realm, often the same
# organization, a different account). Written as post.lua request lines.
gen_authz() { # gen_authz PREFIX - PREFIX.ns (tenants), PREFIX.pol (authorizations)
    awk -v nt="$AZ_TENANTS" 'BEGIN { for (i = 0; i < nt; i++)
        printf "/namespaces\t/tenants\t{\"name\":\"t%03d\",\"description\":\"tenant %d\"}\n", i, i }' >"$1.ns"
    awk -v nt="$AZ_TENANTS" -v per="$AZ_PER" -v nroot="$AZ_ROOT" '
    function pol(ns, name, desc, subj, ids, authns, extra) {
        printf "/apiauthorizations\t%s\t{\"name\":\"%s\",\"description\":\"%s\",\"subject\":%s," \
               "\"authorizedIdentities\":[%s],\"authorizedNamespace\":\"%s\"%s}\n",
               ns, name, desc, subj, ids, authns, extra
    }
    BEGIN {
        role[0] = "\"@auth:role=namespace.viewer\""; role[1] = "\"@auth:role=namespace.editor\""
        role[2] = "\"@auth:role=namespace.administrator\""
        for (k = 0; k < nroot; k++)
            pol("/", sprintf("ops-%03d", k), "operator " k,
                sprintf("[[\"@auth:realm=vince\",\"@auth:organization=/\",\"@auth:account=ops-%03d\"]]", k),
                role[k % 3], "/", "")
        for (k = 0; k < nroot; k++)
            pol("/bench", sprintf("dev-%03d", k), "developer " k,
                sprintf("[[\"@auth:realm=vince\",\"@auth:organization=/bench\",\"@auth:account=dev-%03d\"]]", k),
                role[k % 2], "/bench", "")
        for (t = 0; t < nt; t++) {
            ns = sprintf("/tenants/t%03d", t)
            for (j = 0; j < per; j++) {
                name = sprintf("team-%03d", j); k = j % 4
                if (k == 0)
                    pol(ns, name, "", sprintf("[[\"@auth:realm=vince\",\"@auth:account=user-t%03d-%03d\"]]", t, j),
                        role[0], ns, "")
                else if (k == 1)
                    pol(ns, name, "", sprintf("[[\"@auth:realm=ldap\",\"@auth:namespace=%s\",\"@auth:ou=team-%03d\"]]", ns, j),
                        role[1], ns, "")
                else if (k == 2)
                    pol(ns, name, "", sprintf("[[\"@auth:realm=oidc\",\"@auth:email=dev-%03d@t%03d.example\"]," \
                        "[\"@auth:realm=vince\",\"@auth:account=dev-t%03d-%03d\"]]", j, t, t, j),
                        "\"namespace,get,post\",\"auditlog,get\"", ns, "")
                else
                    pol(ns, name, "", sprintf("[[\"@auth:realm=serviceaccount\",\"@auth:clientid=%012x%012x\"]]", t + 1, j + 1),
                        role[0], ns, sprintf(",\"authorizedSubnets\":[\"10.%d.0.0/16\"]", t % 250))
            }
        }
    }' >"$1.pol"
}

# post_run FILE - POST every line of FILE (post.lua) until every answer is in;
# any failure ends the bench.
post_run() {
    post_lines "$1" "$LOAD_CONNS" 1
    say "  $(basename "$1"): $((POST_ACKED + POST_FAILED))/$POST_WANT in $(( (POST_T1_NS - POST_T0_NS) / 1000000000 ))s ($POST_FAILED failed)"
    [ "$POST_FAILED" = 0 ] || die "$POST_FAILED POSTs failed loading $1 (see bench/out/last/)"
}

count_az() { # count_az - API authorizations in the whole tree
    kcurl -I -o /dev/null -w '%header{x-count-total}' "$KW_URL/apiauthorizations?recursive=true" \
        -H 'X-Namespace: /' -H "$(auth)"
}

# The reader's authorization lives in /bench, after the AZ_ROOT others there.
reader_policy() {
    local out
    out=$(kcurl -X POST "$KW_URL/apiauthorizations" -H 'Content-Type: application/json' \
        -H 'X-Namespace: /bench' -H "$(auth)" \
        -d '{"name":"reader","subject":[["@auth:realm=vince","@auth:account='"$AZ_USER"'"]],"authorizedIdentities":["@auth:role=namespace.viewer"],"authorizedNamespace":"/bench"}')
    printf '%s' "$out" | grep -q '"object":"apiauthorization"' || die "cannot create the reader's authorization: $out"
}

# Two data directories that differ only by the AZ_TOTAL authorizations: base/
# is built first and copied to pol/, which gets them through the API.
ready=0
if [ -f "$AZ/COMPLETE" ] && [ -s "$AZ/item-id" ]; then
    ready=1
    for d in base pol; do
        want_n=2
        [ "$d" = pol ] && want_n=$((AZ_TOTAL + 2))
        if start_keyward "az-check-$d" "$AZ/$d" && get_token; then
            n=$(count_az || true)
            say "cached data set $d: $n of $want_n API authorizations"
            [ "$n" = "$want_n" ] || ready=0
        else
            ready=0
        fi
        stop_keyward
    done
fi
if [ "$ready" = 0 ]; then
    say "loading $AZ_TOTAL API authorizations into $AZ (cached for later runs)"
    rm -rf "$AZ"
    mkdir -p "$AZ"
    gen_authz "$WORK/authz"
    start_keyward az-build "$AZ/base" || die "keyward did not start on $AZ/base"
    get_token || die "cannot get a token"
    create_ns / '{"name":"bench"}' >/dev/null
    create_ns / '{"name":"tenants"}' >/dev/null
    obj=$(create_ns /bench '{"name":"item","description":"tier-3"}')
    printf '%s' "$obj" | sed -n 's/.*"ID":"\([^"]*\)".*/\1/p' >"$AZ/item-id"
    [ -s "$AZ/item-id" ] || die "cannot create the object to GET: $obj"
    post_run "$WORK/authz.ns"
    out=$(kcurl -X POST "$KW_URL/accounts" -H 'Content-Type: application/json' -H 'X-Namespace: /bench' \
        -H "$(auth)" -d '{"name":"'"$AZ_USER"'","password":"'"$AZ_USER_PW"'"}')
    printf '%s' "$out" | grep -q '"object":"account"' || die "cannot create the reader account: $out"
    stop_keyward
    cp -a "$AZ/base" "$AZ/pol"
    start_keyward az-load "$AZ/pol" || die "keyward did not start on $AZ/pol"
    get_token || die "cannot get a token"
    lt0=$(date +%s)
    post_run "$WORK/authz.pol"
    reader_policy
    AZ_LOAD_SECS=$(( $(date +%s) - lt0 ))
    n=$(count_az)
    [ "$n" = $((AZ_TOTAL + 2)) ] || die "$n API authorizations after loading, $((AZ_TOTAL + 2)) expected"
    stop_keyward
    start_keyward az-build "$AZ/base" || die "keyward did not start on $AZ/base"
    get_token || die "cannot get a token"
    reader_policy
    [ "$(count_az)" = 2 ] || die "unexpected API authorizations in $AZ/base"
    stop_keyward
    echo "$AZ_TOTAL API authorizations in pol/, loaded in ${AZ_LOAD_SECS}s on $(date -u +%FT%TZ)" >"$AZ/COMPLETE"
fi
AZ_ID=$(cat "$AZ/item-id")

# Both consoles run side by side (one idle while the other is measured), with
# a token for the admin and one for the reader each.
declare -A AZ_URL AZ_CAS AZ_PID AZ_ADMIN_TOK AZ_USER_TOK
for d in base pol; do
    start_keyward "az-$d" "$AZ/$d" || die "keyward did not start on $AZ/$d"
    SRV_PIDS+=("$KW_PID")
    AZ_PID[$d]=$KW_PID; AZ_URL[$d]=$KW_URL; AZ_CAS[$d]=$KW_CA
    get_token || die "cannot get a token"
    AZ_ADMIN_TOK[$d]=$TOKEN
    body=$(kcurl -X POST "$KW_URL/issue" -H 'Content-Type: application/json' \
        -d '{"realm":"Vince","metadata":{"vinceAccount":"'"$AZ_USER"'","vincePassword":"'"$AZ_USER_PW"'"}}')
    AZ_USER_TOK[$d]=$(printf '%s' "$body" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
    [ -n "${AZ_USER_TOK[$d]}" ] || die "no token for $AZ_USER: $body"
    for who in ADMIN USER; do
        if [ "$who" = ADMIN ]; then t=${AZ_ADMIN_TOK[$d]}; else t=${AZ_USER_TOK[$d]}; fi
        [ "$(kcurl -o /dev/null -w '%{http_code}' -H 'X-Namespace: /bench' -H "Authorization: Bearer $t" \
            "$KW_URL/namespaces/$AZ_ID")" = 200 ] || die "GET by ID as $who on $d is not 200"
    done
    KW_PID=""   # not the main console: stopped below (or by cleanup)
done
say "GET /namespaces/$AZ_ID in /bench; base: 2 API authorizations (admin, reader), pol: $((AZ_TOTAL + 2))"

# az_wrk OUT SERVER WHO SECS
az_wrk() {
    local t
    if [ "$3" = admin ]; then t=${AZ_ADMIN_TOK[$2]}; else t=${AZ_USER_TOK[$2]}; fi
    export KW_TOKEN=$t KW_NAMESPACE=/bench
    run_wrk "$1" "${AZ_PID[$2]}" -t"$WRK_THREADS" -c"$CONNS" -d"$4" \
        -s "$BENCH/get.lua" "${AZ_URL[$2]}/namespaces/$AZ_ID"
}
for d in base pol; do for who in admin user; do   # warm-up, not counted
    az_wrk "$WORK/authz-warmup-$d-$who.out" "$d" "$who" 1s
done; done
declare -A AZR AZC
for r in $(seq "$ROUNDS"); do
    line="  round $r:"
    for who in admin user; do for d in base pol; do
        f=$WORK/authz-$who-$d-$r.out
        az_wrk "$f" "$d" "$who" "${ROUND_SECS}s"
        check_wrk "$f" "authz GET $who $d round $r"
        AZR[$who-$d]="${AZR[$who-$d]:-} $(kv "$f" rps)"
        AZC[$who-$d]="${AZC[$who-$d]:-} $(cpu_us "$f")"
        line="$line $who/$d $(calc '"%.0f", '"$(kv "$f" rps)")/s ($(cpu_us "$f") µs)"
    done; done
    say "$line"
done
# shellcheck disable=SC2086
{
AZ_ADMIN_BASE=$(median ${AZR[admin-base]}); AZ_ADMIN_POL=$(median ${AZR[admin-pol]})
AZ_USER_BASE=$(median ${AZR[user-base]}); AZ_USER_POL=$(median ${AZR[user-pol]})
AZ_ADMIN_CPU_BASE=$(median ${AZC[admin-base]}); AZ_ADMIN_CPU_POL=$(median ${AZC[admin-pol]})
AZ_USER_CPU_BASE=$(median ${AZC[user-base]}); AZ_USER_CPU_POL=$(median ${AZC[user-pol]})
}
AZ_ADMIN_RATIO=$(calc '"%.2f", '"$AZ_ADMIN_POL / $AZ_ADMIN_BASE")
AZ_USER_RATIO=$(calc '"%.2f", '"$AZ_USER_POL / $AZ_USER_BASE")
say "median: admin $(calc '"%.0f", '"$AZ_ADMIN_POL")/s with, $(calc '"%.0f", '"$AZ_ADMIN_BASE")/s without: $AZ_ADMIN_RATIO;" \
    "reader $(calc '"%.0f", '"$AZ_USER_POL")/s with, $(calc '"%.0f", '"$AZ_USER_BASE")/s without: $AZ_USER_RATIO"
say "server CPU per GET: admin $AZ_ADMIN_CPU_POL µs with, $AZ_ADMIN_CPU_BASE µs without;" \
    "reader $AZ_USER_CPU_POL µs with, $AZ_USER_CPU_BASE µs without"
AZ_BASE_KB=$(rss_kb "${AZ_PID[base]}")
AZ_POL_KB=$(rss_kb "${AZ_PID[pol]}")

# A write to namespaces or authorizations makes the next request rebuild the
# authorization snapshot: time the first GET after a namespace create (server
# time: curl's time to first byte minus its time to the request being sent).
write_probe() { # write_probe SERVER - median ms of 5
    local d=$1 i id obj ms=() t
    for i in 1 2 3 4 5; do
        obj=$(kcurl --cacert "${AZ_CAS[$d]}" -X POST "${AZ_URL[$d]}/namespaces" -H 'Content-Type: application/json' \
            -H 'X-Namespace: /' -H "Authorization: Bearer ${AZ_ADMIN_TOK[$d]}" -d '{"name":"probe-'"$$-$i"'"}')
        id=$(printf '%s' "$obj" | sed -n 's/.*"ID":"\([^"]*\)".*/\1/p')
        [ -n "$id" ] || die "probe create failed: $obj"
        t=$(kcurl --cacert "${AZ_CAS[$d]}" -o /dev/null -w '%{time_starttransfer} %{time_pretransfer}' \
            -H 'X-Namespace: /bench' -H "Authorization: Bearer ${AZ_ADMIN_TOK[$d]}" "${AZ_URL[$d]}/namespaces/$AZ_ID")
        ms+=("$(printf '%s' "$t" | awk '{ printf "%.2f", ($1 - $2) * 1000 }')")
        kcurl --cacert "${AZ_CAS[$d]}" -o /dev/null -X DELETE -H 'X-Namespace: /' \
            -H "Authorization: Bearer ${AZ_ADMIN_TOK[$d]}" "${AZ_URL[$d]}/namespaces/$id"
    done
    median "${ms[@]}"
}
AZ_WRITE_BASE=$(write_probe base)
AZ_WRITE_POL=$(write_probe pol)
say "first GET after a namespace create (server ms, median of 5): $AZ_WRITE_POL with, $AZ_WRITE_BASE without"
for d in base pol; do
    KW_PID=${AZ_PID[$d]}
    KW_HWM_KB=$(( $(hwm_kb "$KW_PID") > KW_HWM_KB ? $(hwm_kb "$KW_PID") : KW_HWM_KB ))
    stop_keyward
done
SRV_PIDS=()
fi

# ================================= 7. POST /issue, realm Certificate
# wrk cannot present a client certificate: bench/clientcert.c, preloaded,
# gives every SSL_CTX wrk makes the app credential's certificate and key.
CERT_STATE=""; CERT_RATE=""; CERT_SIGN=""; CERT_RATIO=""; CERT_P99=""; CERT_CPU=""
if want cert; then
say ""
say "== 7. POST /issue with realm Certificate (client certificate), $CONNS connections, $ROUNDS x ${ROUND_SECS}s rounds"
stop_keyward
start_main
create_ns / '{"name":"apps"}' >/dev/null
ac=$(kcurl -X POST "$KW_URL/appcredentials" -H 'Content-Type: application/json' \
    -H 'X-Namespace: /apps' -H "$(auth)" \
    -d '{"name":"bench-app","roles":["@auth:role=namespace.viewer"]}' || true)
if ! printf '%s' "$ac" | grep -q '"object":"appcredential"'; then
    CERT_STATE="not measured yet (realm pending)"
    say "  POST /appcredentials does not work in this build: $CERT_STATE"
    say "  answer: $(printf '%s' "$ac" | head -c 200)"
elif ! command -v cc >/dev/null; then
    CERT_STATE="not measured (no C compiler for bench/clientcert.c)"
    say "  $CERT_STATE"
else
    # PEM strings of the answer's credentials, JSON \n escapes undone
    printf '%s' "$ac" | sed -n 's/.*"privateKey":"\([^"]*\)".*/\1/p' | sed 's/\\n/\n/g; /^$/d' >"$WORK/app.key"
    printf '%s' "$ac" | sed -n 's/.*"certificate":"\([^"]*\)".*/\1/p' | sed 's/\\n/\n/g; /^$/d' >"$WORK/app.pem"
    chmod 600 "$WORK/app.key"
    grep -q 'BEGIN CERTIFICATE' "$WORK/app.pem" && grep -q 'PRIVATE KEY' "$WORK/app.key" ||
        die "no certificate or key in the app credential's answer"
    cc -shared -fPIC -O2 -o "$WORK/clientcert.so" "$BENCH/clientcert.c" -ldl -lssl ||
        die "cannot build bench/clientcert.c"
    # One token by hand, and none without the certificate.
    out=$(kcurl --cert "$WORK/app.pem" --key "$WORK/app.key" -X POST "$KW_URL/issue" \
        -H 'Content-Type: application/json' -d '{"realm":"Certificate"}')
    printf '%s' "$out" | grep -q '"token":"ey' || die "POST /issue with the client certificate: $out"
    [ "$(kcurl -o /dev/null -w '%{http_code}' -X POST "$KW_URL/issue" -H 'Content-Type: application/json' \
        -d '{"realm":"Certificate"}')" = 401 ] || die "POST /issue realm Certificate without a certificate is not 401"
    say "app credential in /apps: $(sed -n 's/.*"ID":"\([^"]*\)".*/\1/p' <<<"$ac" | head -1); token checked (401 without the certificate)"
    CRATES=(); CSIGN=(); CP99=(); CCPU=()
    for r in $(seq "$ROUNDS"); do
        f=$WORK/cert-$r.out
        LD_PRELOAD=$WORK/clientcert.so KW_CLIENT_CERT=$WORK/app.pem KW_CLIENT_KEY=$WORK/app.key \
            run_wrk "$f" "$KW_PID" -t"$WRK_THREADS" -c"$CONNS" -d"${ROUND_SECS}s" \
            -s "$BENCH/issue.lua" "$KW_URL/issue"
        check_wrk "$f" "Certificate realm round $r"
        CRATES+=("$(kv "$f" rps)"); CP99+=("$(kv "$f" p99_us)"); CCPU+=("$(cpu_us "$f")")
        s=$(es256_rate)
        CSIGN+=("$s")
        say "  round $r: keyward $(calc '"%.0f", '"${CRATES[-1]}") tokens/s" \
            "(p99 $(calc '"%.1f", '"${CP99[-1]} / 1000")ms, ${CCPU[-1]} µs server CPU each)" \
            " openssl speed -multi $CORES: $(calc '"%.0f", '"$s") ES256 signs/s"
    done
    CERT_RATE=$(median "${CRATES[@]}")
    CERT_CPU=$(median "${CCPU[@]}")
    CERT_SIGN=$(median "${CSIGN[@]}")
    CERT_P99=$(calc '"%.1f", '"$(median "${CP99[@]}") / 1000")
    CERT_RATIO=$(calc '"%.2f", '"$CERT_RATE / $CERT_SIGN")
    say "median: $(calc '"%.0f", '"$CERT_RATE") tokens/s, $(calc '"%.0f", '"$CERT_SIGN") ES256 signs/s, ratio $CERT_RATIO"
fi
KW_HWM_KB=$(( $(hwm_kb "$KW_PID") > KW_HWM_KB ? $(hwm_kb "$KW_PID") : KW_HWM_KB ))
stop_keyward
fi

# ============================== 8. a well-behaved client among slow clients
# The console runs with max_connections = 200; SLOW_ATTACKERS slowhttptest
# connections (slowloris -H: a head that never ends; slow body -B: a body
# that never ends) try to hold them. A small wrk client measures GET /health
# over keep-alive connections and with a new connection per request, first
# without the attackers, then while they run. Results are ratios to the same
# client without attackers. The same for KEYWARD_OLD_BIN when it is set.
declare -A SLOW   # SLOW[server,mode,attack,key]: rps, p99 (ms), ok (success share), held
SLOW_SERVERS=()
if want slow; then
say ""
say "== 8. slow clients: GET /health with $SLOW_CONNS connections, ${SLOW_SECS}s, without and with" \
    "$SLOW_ATTACKERS slowhttptest connections; max_connections = $SLOW_MAXCONN"
stop_keyward

# held SRVPID ATTPID PORT - attacker connections the server holds open: the
# attacker's established sockets whose other end is an established socket
# the server process has accepted (not one waiting in the listen queue, nor
# one the server has closed).
held() {
    ss -Htnp state established 2>/dev/null | awk -v port=":$3" -v a="pid=$2," -v s="pid=$1," '
        substr($4, length($4) - length(port) + 1) == port && index($0, a) { n = split($3, l, ":"); att[l[n]] = 1 }
        substr($3, length($3) - length(port) + 1) == port && index($0, s) { n = split($4, p, ":"); srv[p[n]] = 1 }
        END { c = 0; for (k in att) if (k in srv) c++; print c }'
}

# slow_wrk NAME MODE ATTPID - one measurement; ATTPID "" when there is no
# attacker. Sets SLOW[NAME,MODE,attack,...] from the RESULT line.
slow_wrk() {
    local name=$1 mode=$2 att=$3 atk=${4:-none} f pid h hs=() req se so att_n ok
    f=$WORK/slow-$name-$mode-$atk.out
    KW_NEWCONN=$([ "$mode" = newconn ] && echo 1 || echo 0) \
        wrk -t1 -c"$SLOW_CONNS" -d"${SLOW_SECS}s" --timeout 2s --latency \
        -s "$BENCH/slow.lua" "$KW_URL/health" >"$f" 2>&1 &
    pid=$!
    BG_PIDS+=("$pid")
    while kill -0 "$pid" 2>/dev/null; do
        sleep 0.5
        if [ -n "$att" ]; then hs+=("$(held "$KW_PID" "$att" "$KW_PORT")"); fi
    done
    wait "$pid" || true
    req=$(kv "$f" requests); se=$(kv "$f" status_errors); so=$(kv "$f" socket_errors)
    req=${req:-0}; se=${se:-0}; so=${so:-0}
    att_n=$((req + so))
    # success: 2xx answers among the requests wrk completed or saw fail
    ok=$(calc '"%.3f", '"($att_n > 0 ? ($req - $se) / $att_n : 0)")
    SLOW[$name,$mode,$atk,ok]=$ok
    SLOW[$name,$mode,$atk,rps]=$(calc '"%.1f", '"$req / ${SLOW_SECS}")
    if [ "$req" -gt 0 ]; then
        SLOW[$name,$mode,$atk,p99]=$(calc '"%.2f", '"$(kv "$f" p99_us) / 1000")
    else
        SLOW[$name,$mode,$atk,p99]=-
    fi
    if [ ${#hs[@]} -gt 0 ]; then
        h=$(median "${hs[@]}")
        SLOW[$name,$mode,$atk,held]=$(calc '"%.0f", '"$h")
        SLOW[$name,$mode,$atk,heldmin]=$(printf '%s\n' "${hs[@]}" | sort -n | head -1)
    fi
    say "  $name $mode $atk: $req answers ($se non-2xx, $so socket errors: connect $(kv "$f" connect_errors)," \
        "read $(kv "$f" read_errors), write $(kv "$f" write_errors), time-out $(kv "$f" timeouts))," \
        "p99 ${SLOW[$name,$mode,$atk,p99]} ms${att:+, attackers held open: median ${SLOW[$name,$mode,$atk,held]}, least ${SLOW[$name,$mode,$atk,heldmin]}}"
}

# slow_attack NAME MODE FLAG - slowhttptest FLAG (-H or -B) against the
# console; once the count it holds open is steady (at least 1 s, at most 4 s:
# the measurement must end before header_timeout, 10 s, cuts them off), measure.
slow_attack() {
    local name=$1 mode=$2 flag=$3 atk pid i h=0 last=-1 steady=0 want_n
    atk=$([ "$flag" = -H ] && echo slowloris || echo slowbody)
    slowhttptest "$flag" -c "$SLOW_ATTACKERS" -r "$SLOW_ATTACKERS" -i 5 -l $((SLOW_SECS + 20)) \
        -p 2 -u "$KW_URL/health" >"$WORK/slowhttptest-$name-$mode-$atk.log" 2>&1 </dev/null &
    pid=$!
    BG_PIDS+=("$pid")
    want_n=$(( SLOW_ATTACKERS < SLOW_MAXCONN ? SLOW_ATTACKERS : SLOW_MAXCONN ))
    for i in $(seq 16); do
        sleep 0.25
        h=$(held "$KW_PID" "$pid" "$KW_PORT")
        [ "$h" -ge $((want_n * 95 / 100)) ] && break
        if [ "$h" -gt 0 ] && [ "$h" -eq "$last" ]; then steady=$((steady + 1)); else steady=0; fi
        last=$h
        [ "$i" -ge 4 ] && [ "$steady" -ge 2 ] && break
    done
    SLOW[$name,$mode,$atk,held0]=$h
    say "  $name $mode $atk: $h attacker connections held open after $(calc '"%.2f", '"$i * 0.25")s"
    slow_wrk "$name" "$mode" "$pid" "$atk"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    sleep 1   # the server notices the closed attackers
}

slow_server() { # slow_server NAME BINARY
    local name=$1 bin=$2 save=$KW_BIN mode
    KW_BIN=$bin KW_MAX_CONNS=$SLOW_MAXCONN start_keyward "slow-$name" "$WORK/slow-$name" ||
        die "keyward ($name) did not start"
    KW_BIN=$save
    say "  $name: $("$bin" version 2>&1 | head -1) on $KW_URL"
    for mode in keepalive newconn; do slow_wrk "$name" "$mode" ""; done
    for flag in -H -B; do for mode in keepalive newconn; do
        slow_attack "$name" "$mode" "$flag"
    done; done
    stop_keyward
    SLOW_SERVERS+=("$name")
}
slow_server current "$KW_BIN"
[ -z "$OLD_BIN" ] || slow_server old "$OLD_BIN"
fi

# ======================================== 9. the certificate inventory at scale
# bench/inventory.py does it all (method in its docstring and in
# docs/performance.md) and writes its summary rows to $WORK/inventory.rows.
if want inventory; then
say ""
say "== 9. certificate inventory: ${KW_BENCH_CERTS:-1000000} certificates in one namespace"
stop_keyward
mkdir -p "$WORK/inventory"
flags=$(pkg-config --cflags --libs openssl)
for t in certgen certparse-rate; do
    # shellcheck disable=SC2086
    cc -std=c17 -D_GNU_SOURCE -O2 -o "$WORK/$t" "$BENCH/$t.c" $flags -lpthread ||
        die "cannot build bench/$t.c"
done
PY=/usr/bin/python3   # Debian's; the script needs nothing beyond the standard library
[ -x "$PY" ] || PY=python3
KEYWARD_BIN=$KW_BIN KW_WORK=$WORK/inventory KW_ROWS=$WORK/inventory.rows \
    KW_CERTGEN=$WORK/certgen KW_CERTRATE=$WORK/certparse-rate \
    "$PY" "$BENCH/inventory.py" || die "the inventory part failed"
fi

# ======================================= 10–12. issuance, OCSP, CRL (API.md 7.4)
# One console on a fresh data directory serves the three parts: in /issuance, a
# root CA "bench-root" (EC_P256) and a template "bench", both created through
# the API. The certificates part 10 issues stay for parts 11 and 12; part 12
# issues more (same CSR, same template) until the CA has BENCH_CRL_CERTS, which
# also makes parts 11 and 12 runnable alone. BENCH_REFERENCES_ONLY=1 runs only
# the references (cfssl, openssl speed, openssl ca -gencrl): no console.
ISS_RATE=""; ISS_P99=""; ISS_CPU=""; ISS_STORED=""; ISS_OK=0
CF_RATE=""; CF_CPU=""; CF_ROWS=""; CF_OK=0; CF_DEF_RATE=""; CF_DEF_ROWS=""; CF_DEF_OK=0
SSL_SIGN=""; SSL_VERIFY=""; SSL_SV=""
OCSP_RATE=""; OCSP_GET=""; OCSP_RATIO=""; OCSP_P99=""; OCSP_GET_P99=""
REV_RATE=""; CRL_SECS=""; CRL_FIRST_MS=""; CRL_AGAIN_MS=""; CRL_BYTES=""; CRL_ENTRIES=""
CRL_PARSE_MS=""; REF_CRL_SECS=""; REF_CRL_BYTES=""; REF_CRL_PARSE_MS=""
PKI_NS=/issuance
PKI=$WORK/pki-files        # CSR, request bodies, issued IDs, OCSP files
PKI_UP=0                   # the console of parts 10-12 is running, set up
PKI_CA_ID=""; PKI_TPL_ID=""; PKI_LEAF_ID=""

if want issue || want ocsp || want crl; then
mkdir -p "$PKI"
# The CSR of every request: P-256, CN and one DNS SAN, as a user makes it.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$PKI/csr.key" \
    -subj /CN=bench.example -addext subjectAltName=DNS:bench.example -out "$PKI/csr.pem" 2>/dev/null ||
    die "openssl req could not make the CSR"
CSR_JSON=$(awk '{ printf "%s\\n", $0 }' "$PKI/csr.pem")   # PEM as a JSON string
fi

# json_str FIELD - the first "FIELD":"value" of the JSON on stdin (flat values
# only: IDs, PEM strings; JSON escapes left as they are)
json_str() { { grep -o '"'"$1"'":"[^"]*"' || true; } | head -1 | sed 's/^"[^"]*":"//; s/"$//'; }
# json_pem FIELD - the PEM string FIELD of the JSON on stdin, unescaped
json_pem() { json_str "$1" | sed 's/\\n/\n/g; s/\\\//\//g' | sed '/^$/d'; }

# pki_post PATH BODY - POST to the console in /issuance; sets PKI_CODE and PKI_BODY
pki_post() {
    local out
    out=$(kcurl -X POST "$KW_URL$1" -H 'Content-Type: application/json' -H "X-Namespace: $PKI_NS" \
        -H "$(auth)" -d "$2" -w '\n%{http_code}' || true)
    PKI_CODE=${out##*$'\n'}
    PKI_BODY=${out%$'\n'*}
}

pki_missing() { # pki_missing WHAT - the issuance API is not there: stop, clearly
    printf 'bench: %s answered %s: %s\n' "$1" "$PKI_CODE" "$(printf '%s' "$PKI_BODY" | head -c 300)" >&2
    die "the issuance API (API.md 7.4) does not work in this build: parts issue, ocsp and crl cannot run (nothing measured; BENCH_REFERENCES_ONLY=1 runs their references alone)"
}

# pki_setup - start the console of parts 10-12, create the CA and the
# template through the API, issue one certificate with curl and check it.
pki_setup() {
    local san
    [ "$PKI_UP" = 1 ] && return 0
    stop_keyward
    start_keyward pki "$WORK/pki" || die "keyward did not start"
    get_token || die "cannot get a token"
    create_ns / '{"name":"issuance"}' >/dev/null
    pki_post /certificateauthorities \
        '{"name":"bench-root","keyType":"EC_P256","subject":"CN=Bench Root,O=Bench","validity":"87600h"}'
    PKI_CA_ID=$(printf '%s' "$PKI_BODY" | json_str ID)
    [ "$PKI_CODE" = 200 ] && [ -n "$PKI_CA_ID" ] || pki_missing "POST /certificateauthorities"
    pki_post /issuingtemplates '{"name":"bench","certificateAuthorityID":"'"$PKI_CA_ID"'","subjectCNRegexes":[".*"],"sanDNSNameRegexes":[".*"],"keyTypes":["EC_P256"],"maxValidity":"2160h","defaultValidity":"720h"}'
    PKI_TPL_ID=$(printf '%s' "$PKI_BODY" | json_str ID)
    [ "$PKI_CODE" = 200 ] && [ -n "$PKI_TPL_ID" ] || pki_missing "POST /issuingtemplates"
    printf '{"issuingTemplateID":"%s","csr":"%s"}' "$PKI_TPL_ID" "$CSR_JSON" >"$PKI/request.json"
    # The CA certificate from the public endpoint (no token).
    [ "$(kcurl -o "$PKI/ca.pem" -w '%{http_code}' "$KW_URL/pki/$PKI_CA_ID/ca.pem")" = 200 ] &&
        grep -q 'BEGIN CERTIFICATE' "$PKI/ca.pem" || {
        PKI_CODE="not a PEM certificate"; PKI_BODY=$(head -c 300 "$PKI/ca.pem" 2>/dev/null)
        pki_missing "GET /pki/$PKI_CA_ID/ca.pem"
    }
    # One request by hand: its certificate is the one part 11 asks OCSP about.
    pki_post /certificaterequests "$(cat "$PKI/request.json")"
    PKI_LEAF_ID=$(printf '%s' "$PKI_BODY" | json_str certificateID)
    [ "$PKI_CODE" = 200 ] && [ -n "$PKI_LEAF_ID" ] &&
        printf '%s' "$PKI_BODY" | grep -q '"status":"ISSUED"' || pki_missing "POST /certificaterequests"
    printf '%s' "$PKI_BODY" | json_pem certificateChain |
        awk '/-----BEGIN CERTIFICATE-----/ { n++ } n == 1 { print }' >"$PKI/leaf.pem"
    openssl x509 -in "$PKI/leaf.pem" -noout 2>/dev/null || die "no certificate in the answer's certificateChain"
    if ! openssl verify -CAfile "$PKI/ca.pem" "$PKI/leaf.pem" >/dev/null 2>&1; then
        say "  warning: the issued certificate does not verify against /pki/$PKI_CA_ID/ca.pem"
        WARNINGS="$WARNINGS issued-chain"
    fi
    san=$(openssl x509 -in "$PKI/leaf.pem" -noout -ext subjectAltName 2>/dev/null | sed -n '2p' | tr -d ' ')
    say "CA $PKI_CA_ID (EC_P256), template $PKI_TPL_ID in $PKI_NS; one request by curl:" \
        "certificate $PKI_LEAF_ID, serial $(openssl x509 -in "$PKI/leaf.pem" -noout -serial | cut -d= -f2)," \
        "${san:-no subjectAltName}, $(openssl x509 -in "$PKI/leaf.pem" -noout -enddate | cut -d= -f2)"
    PKI_UP=1
}

pki_ids() { { cat "$PKI"/ids.* 2>/dev/null || true; } | wc -l; } # certificates issued by wrk so far

# pki_fill N - issue certificates with wrk (csr.lua, $CONNS connections)
# until N have been issued by wrk in this run (IDs in $PKI/ids.*).
pki_fill() {
    local want=$1 have have0 pid t0 l now last stall out=$WORK/pki-fill.out
    have=$(pki_ids)
    have0=$have
    [ "$have" -ge "$want" ] && return 0
    say "issuing $((want - have)) more certificates with the same CSR, to $want in bench-root"
    KW_BODY_FILE=$PKI/request.json KW_OK='"status":"ISSUED"' KW_TOKEN=$TOKEN KW_NAMESPACE=$PKI_NS \
        KW_IDS=$PKI/ids. wrk -t"$WRK_THREADS" -c"$CONNS" -d3600s --timeout 10s -s "$BENCH/csr.lua" \
        "$KW_URL/certificaterequests" >>"$out" 2>&1 &
    pid=$!
    BG_PIDS+=("$pid")
    t0=$(date +%s); l=$t0; last=$have; stall=$t0
    while :; do
        sleep 0.5
        have=$(pki_ids)
        [ "$have" -ge "$want" ] && break
        kill -0 "$pid" 2>/dev/null || { cat "$out" >&2; die "wrk (issuing) ended early"; }
        now=$(date +%s)
        if [ "$have" -gt "$last" ]; then last=$have; stall=$now; fi
        [ $((now - stall)) -lt 30 ] || { kill -INT "$pid"; wait "$pid" || true; cat "$out" >&2
            die "no certificate issued for 30 s ($have of $want)"; }
        if [ $((now - l)) -ge 20 ]; then
            say "  $have/$want after $((now - t0))s"
            l=$now
        fi
    done
    kill -INT "$pid" 2>/dev/null || true
    wait "$pid" || true
    now=$(( $(date +%s) - t0 ))
    have=$(pki_ids)
    say "  $have certificates issued by wrk: $((have - have0)) in ${now}s for this fill" \
        "($(( (have - have0) / (now > 0 ? now : 1) ))/s)"
}

# ecdsa_speed - "sign/s verify/s" of OpenSSL's P-256 ECDSA on all cores, 3 s each
ecdsa_speed() {
    local v
    v=$(openssl speed -seconds 3 -multi "$CORES" ecdsap256 2>/dev/null |
        awk '/^ *256 bits ecdsa \(nistp256\)/ { s = $7; v = $8 } END { print s + 0, v + 0 }')
    case $v in 0\ * | *\ 0) die "cannot parse openssl speed's ecdsap256 sign/s and verify/s" ;; esac
    echo "$v"
}

# The reference CA of cfssl and of openssl ca: P-256, same subject and validity.
ref_ca() {
    [ -s "$WORK/ref-ca/ca.pem" ] && return 0
    mkdir -p "$WORK/ref-ca"
    openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$WORK/ref-ca/ca-key.pem" -out "$WORK/ref-ca/ca.pem" -days 3650 \
        -subj "/CN=Bench Root/O=Bench" -addext basicConstraints=critical,CA:TRUE \
        -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null || die "cannot make the reference CA"
}

CFSSL_URL=""; CFSSL_DB=""
# cfssl_start MODE - `cfssl serve` with a fresh SQLite certdb; sets CFSSL_PID,
# CFSSL_URL, CFSSL_DB. MODE durable: HTTPS (-tls-cert/-tls-key, a P-256
# certificate), certdb in WAL with synchronous=FULL (every stored certificate
# fsynced, as Keyward's commits are). MODE default: the settings of cfssl's
# documentation: plain HTTP, data_source the bare path (go-sqlite3's defaults:
# rollback journal).
cfssl_start() {
    local mode=$1 d=$WORK/cfssl-$1 port ds scheme=http tls=() out
    ref_ca
    rm -rf "$d"; mkdir -p "$d"
    # The tables this build's certdb writes (the columns its INSERTs name).
    sqlite3 "$d/certs.db" <<'SQL' || die "cannot create the cfssl certdb"
CREATE TABLE certificates (
  serial_number            blob NOT NULL,
  authority_key_identifier blob NOT NULL,
  ca_label                 blob,
  status                   blob NOT NULL,
  reason                   int,
  expiry                   timestamp,
  revoked_at               timestamp,
  pem                      blob NOT NULL,
  PRIMARY KEY(serial_number, authority_key_identifier)
);
CREATE TABLE ocsp_responses (
  serial_number            blob NOT NULL,
  authority_key_identifier blob NOT NULL,
  body                     blob NOT NULL,
  expiry                   timestamp,
  PRIMARY KEY(serial_number, authority_key_identifier),
  FOREIGN KEY(serial_number, authority_key_identifier)
    REFERENCES certificates(serial_number, authority_key_identifier)
);
SQL
    CFSSL_DB=$d/certs.db
    ds=$CFSSL_DB
    if [ "$mode" = durable ]; then
        ds="$CFSSL_DB?_journal_mode=WAL&_synchronous=FULL"
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/tls.key" \
            -out "$d/tls.pem" -days 30 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null ||
            die "cannot make cfssl's TLS certificate"
        tls=(-tls-cert "$d/tls.pem" -tls-key "$d/tls.key")
        scheme=https
    fi
    printf '{"driver":"sqlite3","data_source":"%s"}\n' "$ds" >"$d/db.json"
    cat >"$d/signing.json" <<'JSON'
{"signing":{"default":{"expiry":"720h","usages":["digital signature","key encipherment","server auth"]}}}
JSON
    printf '{"certificate_request":"%s"}' "$CSR_JSON" >"$PKI/cfssl-request.json"
    for _ in 1 2 3 4 5; do
        port=$(free_port) || die "no free port"
        cfssl serve -address 127.0.0.1 -port "$port" -ca "$WORK/ref-ca/ca.pem" \
            -ca-key "$WORK/ref-ca/ca-key.pem" -db-config "$d/db.json" -config "$d/signing.json" \
            "${tls[@]}" -loglevel 2 >>"$WORK/cfssl-$mode.log" 2>&1 </dev/null &
        CFSSL_PID=$!
        for _ in $(seq 100); do
            (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
            kill -0 "$CFSSL_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -0 "$CFSSL_PID" 2>/dev/null && break
        wait "$CFSSL_PID" 2>/dev/null || true
        CFSSL_PID=""
    done
    [ -n "$CFSSL_PID" ] || { tail -5 "$WORK/cfssl-$mode.log" >&2; die "cfssl serve did not start"; }
    CFSSL_URL=$scheme://127.0.0.1:$port
    out=$(curl -sS --noproxy '*' ${tls:+--cacert "$d/tls.pem"} -X POST --data-binary @"$PKI/cfssl-request.json" \
        "$CFSSL_URL/api/v1/cfssl/sign" || true)
    printf '%s' "$out" | grep -q '"success":true' || die "cfssl sign failed: $(printf '%s' "$out" | head -c 300)"
}

cfssl_stop() { # cfssl_stop - stop it; sets CF_ROWS_NOW (rows in its certdb)
    if [ -n "$CFSSL_PID" ]; then
        kill -TERM "$CFSSL_PID" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$CFSSL_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$CFSSL_PID" 2>/dev/null || true
        wait "$CFSSL_PID" 2>/dev/null || true
        CFSSL_PID=""
    fi
    CF_ROWS_NOW=$(sqlite3 "$CFSSL_DB" 'SELECT count(*) FROM certificates;' 2>/dev/null || echo 0)
}

# cfssl_wrk OUTFILE SECS - wrk with csr.lua against cfssl's /api/v1/cfssl/sign
cfssl_wrk() {
    KW_BODY_FILE=$PKI/cfssl-request.json KW_OK='"success":true' KW_TOKEN="" KW_NAMESPACE="" KW_IDS="" \
        run_wrk "$1" "$CFSSL_PID" -t"$WRK_THREADS" -c"$CONNS" -d"$2" --timeout 10s \
        -s "$BENCH/csr.lua" "$CFSSL_URL/api/v1/cfssl/sign"
}

# ================== 10. issued-and-stored certificates/s vs cfssl and OpenSSL
if want issue; then
say ""
say "== 10. issuance: POST /certificaterequests (P-256 CSR), TLS keep-alive, $CONNS connections," \
    "$ROUNDS x ${ROUND_SECS}s rounds; cfssl $(cfssl version 2>/dev/null | sed -n 's/^Version: //p') serve; openssl speed"
[ "$REFS_ONLY" = 1 ] || pki_setup
cfssl_start durable
say "cfssl serve on $CFSSL_URL: the same CSR, {\"certificate_request\": ...} to /api/v1/cfssl/sign over HTTPS," \
    "SQLite certdb (WAL, synchronous=FULL), a P-256 CA made with openssl"
IRATES=(); IP99=(); ICPU=(); CRATES=(); CCPU=(); SSIGN=(); SVER=(); SSV=()
for r in $(seq "$ROUNDS"); do
    line="  round $r:"
    if [ "$REFS_ONLY" != 1 ]; then
        f=$WORK/issue-keyward-$r.out
        KW_BODY_FILE=$PKI/request.json KW_OK='"status":"ISSUED"' KW_TOKEN=$TOKEN KW_NAMESPACE=$PKI_NS \
            KW_IDS=$PKI/ids. run_wrk "$f" "$KW_PID" -t"$WRK_THREADS" -c"$CONNS" -d"${ROUND_SECS}s" \
            --timeout 10s -s "$BENCH/csr.lua" "$KW_URL/certificaterequests"
        check_wrk "$f" "issuance keyward round $r"
        IRATES+=("$(kv "$f" rps)"); IP99+=("$(kv "$f" p99_us)"); ICPU+=("$(cpu_us_ok "$f")")
        ISS_OK=$((ISS_OK + $(kv "$f" ok)))
        line="$line keyward $(calc '"%.0f", '"${IRATES[-1]}")/s (p99 $(calc '"%.1f", '"${IP99[-1]} / 1000")ms, ${ICPU[-1]} µs server CPU each);"
    fi
    g=$WORK/issue-cfssl-$r.out
    cfssl_wrk "$g" "${ROUND_SECS}s"
    check_wrk "$g" "issuance cfssl round $r"
    CRATES+=("$(kv "$g" rps)"); CCPU+=("$(cpu_us_ok "$g")")
    CF_OK=$((CF_OK + $(kv "$g" ok)))
    read -r s v <<<"$(ecdsa_speed)"
    [ -n "${v:-}" ] || die "cannot parse openssl speed's ecdsap256 sign/s and verify/s"
    SSIGN+=("$s"); SVER+=("$v"); SSV+=("$(calc '"%.1f", '"1 / (1 / $s + 1 / $v)")")
    say "$line cfssl $(calc '"%.0f", '"${CRATES[-1]}")/s (${CCPU[-1]} µs CPU each);" \
        "openssl speed -multi $CORES: $(calc '"%.0f", '"$s") signs/s, $(calc '"%.0f", '"$v") verifies/s," \
        "sign+verify $(calc '"%.0f", '"${SSV[-1]}")/s"
done
cfssl_stop
CF_ROWS=$CF_ROWS_NOW
say "cfssl certdb: $CF_ROWS rows in certificates after the rounds ($CF_OK signed answers counted, plus the check request)"
if [ "$CF_ROWS" -lt "$CF_OK" ]; then
    say "  warning: cfssl answered more certificates than its certdb holds"
    WARNINGS="$WARNINGS cfssl-rows"
fi
# cfssl as its documentation sets it up: plain HTTP, the certdb's default journal.
cfssl_start default
f=$WORK/issue-cfssl-default.out
cfssl_wrk "$f" "${ROUND_SECS}s"
# Not check_wrk: with one rollback journal per certificate, 64 writers get some
# "database is locked" answers; they are part of this set-up's result.
CF_DEF_RATE=$(kv "$f" rps); CF_DEF_OK=$(kv "$f" ok)
cfssl_stop
CF_DEF_ROWS=$CF_ROWS_NOW
say "cfssl with the documented set-up (plain HTTP, data_source the bare path: rollback journal):" \
    "$(calc '"%.0f", '"$CF_DEF_RATE")/s, $CF_DEF_ROWS rows stored ($CF_DEF_OK signed answers counted;" \
    "$(kv "$f" failed) other answers, $(grep -c 'database is locked' "$WORK/cfssl-default.log" || true)" \
    "\"database is locked\" in its log; $(kv "$f" socket_errors) socket errors)"
CF_RATE=$(median "${CRATES[@]}"); CF_CPU=$(median "${CCPU[@]}")
SSL_SIGN=$(median "${SSIGN[@]}"); SSL_VERIFY=$(median "${SVER[@]}"); SSL_SV=$(median "${SSV[@]}")
if [ "$REFS_ONLY" != 1 ]; then
    ISS_RATE=$(median "${IRATES[@]}"); ISS_CPU=$(median "${ICPU[@]}")
    ISS_P99=$(calc '"%.1f", '"$(median "${IP99[@]}") / 1000")
    ISS_STORED=$(kcurl -I -o /dev/null -w '%header{x-count-total}' "$KW_URL/certificates" \
        -H "X-Namespace: $PKI_NS" -H "$(auth)")
    say "inventory of $PKI_NS: ${ISS_STORED:-?} certificates (HEAD /certificates); $ISS_OK issued answers counted in the rounds;" \
        "console RSS $(mb "$(rss_kb "$KW_PID")") MB, VmHWM $(mb "$(hwm_kb "$KW_PID")") MB"
    if [ -z "$ISS_STORED" ] || [ "$ISS_STORED" -lt "$ISS_OK" ]; then
        say "  warning: fewer certificates in the inventory than issued answers"
        WARNINGS="$WARNINGS issued-not-stored"
    fi
    say "issued and stored: $(calc '"%.0f", '"$ISS_RATE")/s" \
        "($(calc '"%.2f", '"$ISS_RATE / $CF_RATE") x cfssl, $(calc '"%.0f", '"$CF_RATE")/s;" \
        "$(calc '"%.2f", '"$ISS_RATE / $SSL_SV") x OpenSSL P-256 sign+verify, $(calc '"%.0f", '"$SSL_SV")/s)"
else
    say "references only: cfssl $(calc '"%.0f", '"$CF_RATE")/s; OpenSSL P-256 sign+verify $(calc '"%.0f", '"$SSL_SV")/s" \
        "($(calc '"%.0f", '"$SSL_SIGN") signs/s, $(calc '"%.0f", '"$SSL_VERIFY") verifies/s)"
fi
fi

# ============================== 11. OCSP GET vs GET /certificates/:id
if want ocsp; then
say ""
say "== 11. OCSP: GET /pki/:caID/ocsp/<request> (no token) vs GET /certificates/:id, TLS keep-alive," \
    "$CONNS connections, $ROUNDS x ${ROUND_SECS}s rounds"
if [ "$REFS_ONLY" = 1 ]; then
    say "  references only: the reference is the console's own GET by ID, nothing to measure"
else
pki_setup
openssl ocsp -issuer "$PKI/ca.pem" -cert "$PKI/leaf.pem" -no_nonce -reqout "$PKI/ocsp-req.der" >/dev/null 2>&1 ||
    die "openssl ocsp could not make the request"
OCSP_PATH=/pki/$PKI_CA_ID/ocsp/$(base64 -w0 "$PKI/ocsp-req.der" | sed 's/+/%2B/g; s/\//%2F/g; s/=/%3D/g')
code=$(kcurl -o "$PKI/ocsp-resp.der" -w '%{http_code} %{content_type}' "$KW_URL$OCSP_PATH" || true)
[ "${code%% *}" = 200 ] || die "GET $OCSP_PATH answered $code"
chk=$(openssl ocsp -respin "$PKI/ocsp-resp.der" -issuer "$PKI/ca.pem" -CAfile "$PKI/ca.pem" \
    -cert "$PKI/leaf.pem" 2>&1) || true
printf '%s\n' "$chk" >"$WORK/ocsp-check.log"
openssl ocsp -respin "$PKI/ocsp-resp.der" -noverify -resp_text >/dev/null 2>&1 ||
    die "the OCSP answer does not parse (openssl ocsp -respin): $(head -c 300 "$WORK/ocsp-check.log")"
say "OCSP request $(stat -c %s "$PKI/ocsp-req.der") bytes (SHA-1 CertID, no nonce), URL path ${#OCSP_PATH} bytes;" \
    "answer $(stat -c %s "$PKI/ocsp-resp.der") bytes, ${code#* }; openssl ocsp -respin:" \
    "$(printf '%s' "$chk" | grep -E '^Response verif' | head -1); $(printf '%s' "$chk" | grep -F "$PKI/leaf.pem:" | sed 's|.*/||')"
if ! printf '%s' "$chk" | grep -q '^Response verify OK' || ! printf '%s' "$chk" | grep -q 'leaf.pem: good'; then
    say "  warning: the OCSP answer is not a verified \"good\" (see bench/out/last/ocsp-check.log)"
    WARNINGS="$WARNINGS ocsp-answer"
fi
export KW_TOKEN=$TOKEN KW_NAMESPACE=$PKI_NS
run_wrk "$WORK/ocsp-warmup.out" "" -t"$WRK_THREADS" -c"$CONNS" -d1s -s "$BENCH/ocsp.lua" "$KW_URL$OCSP_PATH"
run_wrk "$WORK/getcert-warmup.out" "" -t"$WRK_THREADS" -c"$CONNS" -d1s -s "$BENCH/get.lua" \
    "$KW_URL/certificates/$PKI_LEAF_ID"
ORATES=(); GRATES=(); OP99=(); GP99=()
for r in $(seq "$ROUNDS"); do
    f=$WORK/ocsp-$r.out
    run_wrk "$f" "$KW_PID" -t"$WRK_THREADS" -c"$CONNS" -d"${ROUND_SECS}s" -s "$BENCH/ocsp.lua" "$KW_URL$OCSP_PATH"
    check_wrk "$f" "OCSP round $r"
    ORATES+=("$(kv "$f" rps)"); OP99+=("$(kv "$f" p99_us)")
    g=$WORK/getcert-$r.out
    run_wrk "$g" "$KW_PID" -t"$WRK_THREADS" -c"$CONNS" -d"${ROUND_SECS}s" -s "$BENCH/get.lua" \
        "$KW_URL/certificates/$PKI_LEAF_ID"
    check_wrk "$g" "GET /certificates/:id round $r"
    GRATES+=("$(kv "$g" rps)"); GP99+=("$(kv "$g" p99_us)")
    say "  round $r: OCSP $(calc '"%.0f", '"${ORATES[-1]}")/s (p99 $(calc '"%.1f", '"${OP99[-1]} / 1000")ms)," \
        "GET /certificates/:id $(calc '"%.0f", '"${GRATES[-1]}")/s (p99 $(calc '"%.1f", '"${GP99[-1]} / 1000")ms)"
done
OCSP_RATE=$(median "${ORATES[@]}"); OCSP_GET=$(median "${GRATES[@]}")
OCSP_P99=$(calc '"%.1f", '"$(median "${OP99[@]}") / 1000")
OCSP_GET_P99=$(calc '"%.1f", '"$(median "${GP99[@]}") / 1000")
OCSP_RATIO=$(calc '"%.2f", '"$OCSP_RATE / $OCSP_GET")
say "OCSP GET: $(calc '"%.0f", '"$OCSP_RATE")/s ($OCSP_RATIO x GET /certificates/:id, $(calc '"%.0f", '"$OCSP_GET")/s)"
fi
fi

# ================== 12. CRL publication with BENCH_CRL_CERTS revoked certificates
if want crl; then
say ""
say "== 12. CRL: $PKI_CERTS certificates of bench-root revoked (POST /certificates/:id/revocations," \
    "$CONNS connections), then GET /pki/:caID/crl until it lists them all"
if [ "$REFS_ONLY" != 1 ]; then
pki_setup
pki_fill "$PKI_CERTS"
cat "$PKI"/ids.* | head -n "$PKI_CERTS" |
    awk -v ns="$PKI_NS" '{ printf "/certificates/%s/revocations\t%s\t{\"reason\":\"keyCompromise\"}\n", $1, ns }' \
    >"$PKI/revocations"
say "console RSS $(mb "$(rss_kb "$KW_PID")") MB, VmHWM $(mb "$(hwm_kb "$KW_PID")") MB before the revocations"
post_lines "$PKI/revocations" "$CONNS" 0.05 leave
REV_END=$POST_T1_NS
# the console's VmHWM now, read without starting a process (the clock runs)
REV_HWM=0
while read -r k v _; do [ "$k" = VmHWM: ] && REV_HWM=$v; done <"/proc/$KW_PID/status"
# From the last revocation's answer, fetch the CRL until it lists every
# revoked certificate (the fetch's end is the time; counting is not in it).
n=0; tries=0; CRL_SECS=""
while :; do
    tries=$((tries + 1))
    t=$(kcurl -o "$PKI/crl.der" -w '%{http_code} %{time_total}' "$KW_URL/pki/$PKI_CA_ID/crl" || true)
    t1=$(date +%s%N)
    [ "$tries" = 1 ] && CRL_FIRST_MS=$(calc '"%.0f", '"${t#* } * 1000")
    if [ "${t%% *}" = 200 ]; then
        n=$(openssl crl -inform DER -in "$PKI/crl.der" -noout -text 2>/dev/null | grep -c 'Serial Number' || true)
        if [ "$n" -ge "$POST_ACKED" ]; then CRL_SECS=$(calc '"%.3f", '"($t1 - $REV_END) / 1e9"); break; fi
    fi
    if [ $(( (t1 - REV_END) / 1000000000 )) -ge "$CRL_WAIT" ]; then break; fi
    sleep 0.05
done
CRL_ENTRIES=$n
post_stop
REV_SECS=$(calc '"%.2f", '"($POST_T1_NS - $POST_T0_NS) / 1e9")
REV_RATE=$(calc '"%.0f", '"$POST_ACKED / $REV_SECS")
say "revocations: $POST_ACKED of $POST_WANT answered 200 in ${REV_SECS}s = $REV_RATE/s ($POST_FAILED failed);" \
    "console VmHWM $(mb "$REV_HWM") MB after them"
if [ "$POST_FAILED" != 0 ]; then
    say "  warning: $POST_FAILED revocations failed (see bench/out/last/post-revocations.out)"
    WARNINGS="$WARNINGS revocations"
fi
if [ -z "$CRL_SECS" ]; then
    say "  warning: after ${CRL_WAIT}s the CRL lists $n of $POST_ACKED revoked certificates (last answer ${t%% *})"
    WARNINGS="$WARNINGS crl-incomplete"
else
    CRL_BYTES=$(stat -c %s "$PKI/crl.der")
    t=$(kcurl -o /dev/null -w '%{time_total}' "$KW_URL/pki/$PKI_CA_ID/crl")
    CRL_AGAIN_MS=$(calc '"%.0f", '"$t * 1000")
    s=$(date +%s%N); openssl crl -inform DER -in "$PKI/crl.der" -noout; e=$(date +%s%N)
    CRL_PARSE_MS=$(calc '"%.0f", '"($e - $s) / 1e6")
    say "CRL with $n entries (openssl crl -text), $CRL_BYTES bytes of DER: complete ${CRL_SECS}s after the last" \
        "revocation's answer ($tries GET(s); the first took ${CRL_FIRST_MS} ms; one more GET: ${CRL_AGAIN_MS} ms);" \
        "openssl crl parses it in ${CRL_PARSE_MS} ms; console RSS $(mb "$(rss_kb "$KW_PID")") MB, VmHWM $(mb "$(hwm_kb "$KW_PID")") MB"
    [ "$n" = "$POST_ACKED" ] || { say "  warning: the CRL lists $n entries, $POST_ACKED were revoked"; WARNINGS="$WARNINGS crl-count"; }
fi
fi
# Reference: openssl ca -gencrl for a P-256 CA whose index.txt lists as many
# revoked certificates (random 16-byte serials, reason keyCompromise), median of 3.
ref_ca
R=$WORK/ref-crl
mkdir -p "$R"
cat >"$R/ca.cnf" <<EOF
[ ca ]
default_ca = bench
[ bench ]
database = $R/index.txt
certificate = $WORK/ref-ca/ca.pem
private_key = $WORK/ref-ca/ca-key.pem
crlnumber = $R/crlnumber
default_md = sha256
default_crl_days = 7
crl_extensions = crl_ext
[ crl_ext ]
authorityKeyIdentifier = keyid:always
EOF
echo 1000 >"$R/crlnumber"
nref=${CRL_ENTRIES:-$PKI_CERTS}
[ "${nref:-0}" -gt 0 ] || nref=$PKI_CERTS
awk -v n="$nref" 'BEGIN { srand(7); for (i = 1; i <= n; i++) {
        s = sprintf("%08X", int(rand() * 2147483648)); for (j = 0; j < 3; j++) s = s sprintf("%08X", int(rand() * 4294967296))
        printf "R\t%s\t%s,keyCompromise\t%s\tunknown\t/CN=bench.example\n", "361231000000Z", "261201000000Z", s } }' \
    >"$R/index.txt"
GT=()
for r in 1 2 3; do
    s=$(date +%s%N)
    openssl ca -config "$R/ca.cnf" -gencrl -out "$R/crl.pem" >/dev/null 2>&1 || die "openssl ca -gencrl failed"
    e=$(date +%s%N)
    GT+=("$(calc '"%.3f", '"($e - $s) / 1e9")")
done
REF_CRL_SECS=$(median "${GT[@]}")
openssl crl -in "$R/crl.pem" -outform DER -out "$R/crl.der"
REF_CRL_BYTES=$(stat -c %s "$R/crl.der")
s=$(date +%s%N); openssl crl -inform DER -in "$R/crl.der" -noout; e=$(date +%s%N)
REF_CRL_PARSE_MS=$(calc '"%.0f", '"($e - $s) / 1e6")
m=$(openssl crl -inform DER -in "$R/crl.der" -noout -text | grep -c 'Serial Number' || true)
say "reference: openssl ca -gencrl, $m entries, P-256 CA: ${REF_CRL_SECS}s (median of ${GT[*]})," \
    "$REF_CRL_BYTES bytes of DER; openssl crl parses it in ${REF_CRL_PARSE_MS} ms"
if [ -n "$CRL_SECS" ]; then
    say "CRL published: ${CRL_SECS}s ($(calc '"%.2f", '"$CRL_SECS / $REF_CRL_SECS") x openssl ca -gencrl, ${REF_CRL_SECS}s);" \
        "$CRL_BYTES bytes ($(calc '"%.2f", '"$CRL_BYTES / $REF_CRL_BYTES") x openssl's, $REF_CRL_BYTES)"
fi
fi
if [ "$PKI_UP" = 1 ]; then
    KW_HWM_KB=$(( $(hwm_kb "$KW_PID") > KW_HWM_KB ? $(hwm_kb "$KW_PID") : KW_HWM_KB ))
    stop_keyward
    PKI_UP=0
fi

met() { if awk "BEGIN { exit !($1) }"; then echo met; else echo MISSED; fi; }

# ======================= 13. discovery vs nmap ssl-cert and openssl s_client
# One nginx listens on 900 loopback address:port pairs (TLS 1.2/1.3, one EC
# P-256 certificate made here); 90 pairs refuse (nothing listens), 10 are
# silent (bench/discovery.py silent: listening, never accepting). Layout:
# addresses $DISC_NET.1-.10 x ports DISC_BASE+1..+100; nginx on .1-.9, .10
# refuses on the first 90 ports and is silent on the last 10. One discovery
# of the 10 addresses x 100 ports is exactly that set.
DISC_ALL_RATE=""; DISC_ALL_WALL=""; DISC_TLS_RATE=""; DISC_TLS_WALL=""; DISC_SC_RATE=""
DISC_NMAP_RATE=""; DISC_NMAP_TLS_RATE=""; DISC_GET_IDLE=""; DISC_GET_SCAN=""; DISC_CEIL=""
DISC_FAILS=0
if want discovery; then
case $DISC_TIMEOUT in
    *ms) DISC_TO_SECS=$(calc '"%g", '"${DISC_TIMEOUT%ms} / 1000") ;;
    *s) DISC_TO_SECS=${DISC_TIMEOUT%s} ;;
    *) die "BENCH_DISC_TIMEOUT: give seconds or milliseconds, e.g. 3s or 500ms" ;;
esac
awk "BEGIN { exit !($DISC_TO_SECS > 0) }" 2>/dev/null || die "BENCH_DISC_TIMEOUT: not a duration: $DISC_TIMEOUT"
say ""
say "== 13. discovery: 1,000 loopback endpoints (900 TLS served by nginx, 90 refusing, 10 silent)," \
    "timeout $DISC_TIMEOUT, concurrency $DISC_CONC, $ROUNDS rounds; references: $(nmap --version | sed -n 's/^Nmap version \([^ ]*\).*/nmap \1/p')" \
    "--script +ssl-cert, openssl s_client 64 at a time"
stop_keyward
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
# 1,000 connections in flight, 900 listening sockets in nginx: raise the fd
# limit of this shell (the console, nginx and the references inherit it).
nofile=$(ulimit -Hn)
[ "$nofile" = unlimited ] && nofile=1048576
ulimit -Sn "$nofile" 2>/dev/null || true
if [ "$(ulimit -Sn)" -lt $((DISC_CONC + 1024)) ]; then
    say "  warning: open files limited to $(ulimit -Sn): $DISC_CONC handshakes at once need more"
    WARNINGS="$WARNINGS nofile"
fi
D=$NGX/disc
mkdir -p "$D/tmp"
chmod 755 "$D"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$D/key.pem" \
    -out "$D/cert.pem" -days 30 -subj /CN=disc.bench.test -addext subjectAltName=DNS:disc.bench.test \
    2>/dev/null || die "cannot make the discovery certificate"
for attempt in 1 2 3 4 5; do
    read -r DISC_NET DISC_BASE <<<"$("$PY" "$BENCH/discovery.py" layout)" || die "no free loopback layout"
    P1=$((DISC_BASE + 1)); P90=$((DISC_BASE + 90)); P91=$((DISC_BASE + 91)); P100=$((DISC_BASE + 100))
    {
        echo "# throw-away config written by bench/run.sh (part 13)"
        echo "worker_processes $CORES; worker_rlimit_nofile 16384; daemon off; master_process on;"
        echo "pid $D/nginx.pid; error_log $D/error.log warn;"
        echo "events { worker_connections 8192; }"
        echo "http {"
        echo "    access_log off;"
        for t in client_body proxy fastcgi uwsgi scgi; do echo "    ${t}_temp_path $D/tmp/$t;"; done
        echo "    server {"
        echo "        ssl_certificate $D/cert.pem; ssl_certificate_key $D/key.pem;"
        echo "        ssl_protocols TLSv1.2 TLSv1.3; ssl_session_cache off; ssl_session_tickets off;"
        echo "        return 204;"
        for a in 1 2 3 4 5 6 7 8 9; do
            for p in $(seq "$P1" "$P100"); do echo "        listen $DISC_NET.$a:$p ssl;"; done
        done
        echo "    }"
        echo "}"
    } >"$D/nginx.conf"
    nginx -p "$D/" -c "$D/nginx.conf" -e "$D/error.log" </dev/null >>"$D/error.log" 2>&1 &
    NGX_PID=$!
    up=0
    for _ in $(seq 100); do
        kill -0 "$NGX_PID" 2>/dev/null || break
        # the master binds every listener before it starts a worker: the last one is enough
        if [ -s "$D/nginx.pid" ] && echo | timeout 3 openssl s_client -connect "$DISC_NET.9:$P100" 2>/dev/null |
            grep -q 'BEGIN CERTIFICATE'; then up=1; break; fi
        sleep 0.1
    done
    [ "$up" = 1 ] && break
    kill -TERM "$NGX_PID" 2>/dev/null || true
    wait "$NGX_PID" 2>/dev/null || true
    NGX_PID=""
    rm -f "$D/nginx.pid"
done
[ -n "$NGX_PID" ] || { tail -5 "$D/error.log" >&2; die "nginx (900 listeners) did not start"; }
"$PY" "$BENCH/discovery.py" silent "$DISC_NET.10" $(seq "$P91" "$P100") >"$D/silent.out" 2>&1 &
DISC_SILENT_PID=$!
for _ in $(seq 100); do grep -q ready "$D/silent.out" 2>/dev/null && break; sleep 0.05; done
grep -q ready "$D/silent.out" || { cat "$D/silent.out" >&2; die "the silent listeners did not start"; }
DISC_ALL_T="" DISC_TLS_T=""
for a in 1 2 3 4 5 6 7 8 9 10; do DISC_ALL_T="$DISC_ALL_T${DISC_ALL_T:+,}$DISC_NET.$a"; done
DISC_TLS_T=${DISC_ALL_T%,*}
for a in 1 2 3 4 5 6 7 8 9 10; do for p in $(seq "$P1" "$P100"); do echo "$DISC_NET.$a:$p"; done; done >"$D/pairs"
say "layout: $DISC_NET.1-.9 x ports $P1-$P100 served by one nginx ($CORES workers, TLS 1.2+1.3, no session" \
    "resumption, one EC P-256 certificate); $DISC_NET.10 ports $P1-$P90 refusing, $P91-$P100 silent (listening," \
    "never accepting); fd limit $(ulimit -Sn); the silent pairs hold every 1,000-pair scan for the timeout:" \
    "at most $(calc '"%.0f", 1000 / '"$DISC_TO_SECS") endpoints/s"

start_keyward discovery "$WORK/disc" || die "keyward did not start"
get_token || die "cannot get a token"
create_ns / '{"name":"disc"}' >/dev/null
create_ns / '{"name":"bench"}' >/dev/null
obj=$(create_ns /bench '{"name":"item","description":"tier-3"}')
DISC_OBJ=$(printf '%s' "$obj" | sed -n 's/.*"ID":"\([^"]*\)".*/\1/p')
[ -n "$DISC_OBJ" ] || die "cannot create the object to GET: $obj"
export KW_URL KW_CA KW_TOKEN=$TOKEN KW_NAMESPACE=/disc
sleep 0.5
DISC_RSS0=$(rss_kb "$KW_PID")

# disc_run NAME TARGETS RESPONDED REFUSED TIMEOUTS - a new discovery, one run;
# sets DR_OUT (its RESULT line) and DR_CHECK, prints a FAIL line when the scan
# did not find exactly what is there
disc_run() {
    local out
    out=$(KW_NAMESPACE=/disc "$PY" "$BENCH/discovery.py" run "$1" "$2" "$P1-$P100" "$DISC_TIMEOUT" "$DISC_CONC" \
        "$3" "$4" "$5") || die "discovery $1: the API answered unexpectedly"
    printf '%s\n' "$out" >>"$WORK/discovery.out"
    DR_OUT=$(printf '%s\n' "$out" | grep '^RESULT ')
    DR_CHECK=$(printf '%s\n' "$out" | sed -n 's/^CHECK //p')
    if [ "$DR_CHECK" != ok ]; then
        say "  FAIL: discovery $1: $DR_CHECK"
        DISC_FAILS=$((DISC_FAILS + 1))
        STATUS=1
    fi
}
dkv() { printf '%s\n' "$1" | sed -n 's/.*\b'"$2"'=\([^ ]*\).*/\1/p'; }   # dkv LINE KEY
# dmet EXPR - met/MISSED of a goal measured on the console's scans; FAIL when
# a scan did not find what is there
dmet() { if [ "$DISC_FAILS" != 0 ]; then echo FAIL; else met "$1"; fi; }

ARATE=(); AWALL=(); TRATE=(); TWALL=(); SRATE=()
for r in $(seq "$ROUNDS"); do
    disc_run "all-$r" "$DISC_ALL_T" 900 90 10
    a=$DR_OUT
    ARATE+=("$(calc '"%.1f", '"$(dkv "$a" total) / $(dkv "$a" run_secs)")")
    AWALL+=("$(calc '"%.1f", '"$(dkv "$a" total) / $(dkv "$a" wall_secs)")")
    disc_run "tls-$r" "$DISC_TLS_T" 900 0 0
    t=$DR_OUT
    TRATE+=("$(calc '"%.1f", '"$(dkv "$t" responded) / $(dkv "$t" run_secs)")")
    TWALL+=("$(calc '"%.1f", '"$(dkv "$t" responded) / $(dkv "$t" wall_secs)")")
    sc=$("$PY" "$BENCH/discovery.py" sclient "$D/pairs" 64 "$DISC_TO_SECS") || die "the s_client driver failed"
    printf '%s\n' "$sc" >>"$WORK/discovery.out"
    SRATE+=("$(dkv "$sc" rate)")
    if [ "$(dkv "$sc" ok)" != 900 ]; then
        say "  warning: openssl s_client got $(dkv "$sc" ok) certificates from the 1,000 pairs within ${DISC_TO_SECS}s each; 900 serve one"
        WARNINGS="$WARNINGS s_client-count"
    fi
    say "  round $r: keyward 1,000 pairs in $(dkv "$a" run_secs) s = $(calc '"%.0f", '"${ARATE[-1]}")/s" \
        "($(dkv "$a" wall_secs) s by the client's clock; responded $(dkv "$a" responded)," \
        "refused $(dkv "$a" refused), timeout $(dkv "$a" timeout), certificates $(dkv "$a" certs));" \
        "900 TLS in $(dkv "$t" run_secs) s = $(calc '"%.0f", '"${TRATE[-1]}")/s ($(dkv "$t" wall_secs) s," \
        "$(dkv "$t" instances) instances); openssl s_client -P64 1,000 pairs in $(dkv "$sc" secs) s" \
        "= $(calc '"%.0f", '"${SRATE[-1]}")/s ($(dkv "$sc" ok) certificates)"
done
DISC_ALL_RATE=$(median "${ARATE[@]}"); DISC_ALL_WALL=$(median "${AWALL[@]}")
DISC_TLS_RATE=$(median "${TRATE[@]}"); DISC_TLS_WALL=$(median "${TWALL[@]}")
DISC_SC_RATE=$(median "${SRATE[@]}")

# nmap: the same pairs, +ssl-cert (the script on every open port, without
# -sV's version probes); time by the wall clock, nmap's start included.
# ssl-cert fetches one certificate at a time (sslcert.lua holds a global
# mutex) and waits 2 x 30 s on a silent port, so 1,000 pairs take ~10 min:
# unless BENCH_DISC_NMAP_FULL=1, a 100-pair sample of the same mix,
# $DISC_NET.1 ports P1-P90 (90 TLS) then $DISC_NET.10 ports P82-P91 (9 refusing,
# 1 silent), the two times added.
# nmap_time OUT ARGS... - seconds nmap took; its -oN output in OUT
nmap_time() {
    local out=$1 s e
    shift
    s=$(date +%s%N)
    nmap -Pn -n --script +ssl-cert -oN "$out" "$@" >/dev/null 2>&1 || die "nmap failed: nmap $*"
    e=$(date +%s%N)
    calc '"%.3f", '"($e - $s) / 1e9"
}
nmap_certs() { grep -c 'ssl-cert: Subject: commonName=disc.bench.test' "$1" || true; }
t3=$(nmap_time "$D/nmap-tls-T3.txt" -T3 -p "$P1-$P100" "$DISC_NET.1-9")
t4=$(nmap_time "$D/nmap-tls-T4.txt" -T4 -p "$P1-$P100" "$DISC_NET.1-9")
for f in "$D/nmap-tls-T3.txt" "$D/nmap-tls-T4.txt"; do
    [ "$(nmap_certs "$f")" = 900 ] || { say "  warning: nmap found $(nmap_certs "$f") certificates on the 900 TLS pairs ($(basename "$f"))"; WARNINGS="$WARNINGS nmap-count"; }
done
DISC_NMAP_TLS_RATE=$(calc '"%.1f", 900 / '"$t4")
say "nmap -T4 on the 900 TLS pairs: $t4 s = $(calc '"%.0f", '"$DISC_NMAP_TLS_RATE")/s;" \
    "-T3: $t3 s = $(calc '"%.0f", 900 / '"$t3")/s ($(nmap_certs "$D/nmap-tls-T4.txt") and $(nmap_certs "$D/nmap-tls-T3.txt") certificates)"
if [ "$DISC_NMAP_FULL" = 1 ]; then
    say "nmap -T4 on all 1,000 pairs (about 10 minutes) ..."
    tn=$(nmap_time "$D/nmap-all-T4.txt" -T4 -p "$P1-$P100" "$DISC_NET.1-10")
    nc=$(nmap_certs "$D/nmap-all-T4.txt"); npairs=1000; nwant=900; what="all 1,000 pairs"
else
    ta=$(nmap_time "$D/nmap-sample-a-T4.txt" -T4 -p "$P1-$P90" "$DISC_NET.1")
    tb=$(nmap_time "$D/nmap-sample-b-T4.txt" -T4 -p "$((DISC_BASE + 82))-$P91" "$DISC_NET.10")
    tn=$(calc '"%.3f", '"$ta + $tb")
    nc=$(( $(nmap_certs "$D/nmap-sample-a-T4.txt") + $(nmap_certs "$D/nmap-sample-b-T4.txt") ))
    npairs=100; nwant=90; what="a 100-pair sample of the same mix (90 TLS: $ta s; 9 refusing + 1 silent: $tb s)"
fi
[ "$nc" = "$nwant" ] || { say "  warning: nmap found $nc certificates, $nwant expected"; WARNINGS="$WARNINGS nmap-count"; }
DISC_NMAP_RATE=$(calc '"%.2f", '"$npairs / $tn")
say "nmap -T4 on $what: $tn s = $DISC_NMAP_RATE endpoints/s ($nc certificates)"

# GET /namespaces/:id (part 1's request) idle, then while the 900-TLS
# discovery runs again and again (a new run as soon as one ends).
mkdir -p "$D/get"
GIDLE=(); GSCAN=(); GFRAC=()
LOOP_ID=$(dkv "$t" id)
for r in $(seq "$ROUNDS"); do
    f=$WORK/disc-get-idle-$r.out
    KW_NAMESPACE=/bench run_wrk "$f" "" -t"$WRK_THREADS" -c"$CONNS" -d"${DISC_GET_SECS}s" \
        -s "$BENCH/get.lua" "$KW_URL/namespaces/$DISC_OBJ"
    check_wrk "$f" "GET idle (part 13) round $r"
    GIDLE+=("$(kv "$f" rps)")
    rm -f "$D/get/stop"
    "$PY" "$BENCH/discovery.py" loop "$LOOP_ID" "$D/get/stop" >"$D/get/loop-$r.out" 2>&1 &
    lp=$!
    BG_PIDS+=("$lp")
    sleep 0.2
    g=$WORK/disc-get-scan-$r.out
    KW_NAMESPACE=/bench run_wrk "$g" "" -t"$WRK_THREADS" -c"$CONNS" -d"${DISC_GET_SECS}s" \
        -s "$BENCH/get.lua" "$KW_URL/namespaces/$DISC_OBJ"
    check_wrk "$g" "GET during scans round $r"
    touch "$D/get/stop"
    wait "$lp" || { cat "$D/get/loop-$r.out" >&2; die "the discovery loop failed"; }
    lo=$(grep '^RESULT ' "$D/get/loop-$r.out")
    cat "$D/get/loop-$r.out" >>"$WORK/discovery.out"
    GSCAN+=("$(kv "$g" rps)")
    GFRAC+=("$(calc '"%.2f", '"$(dkv "$lo" running_secs) / $(dkv "$lo" window_secs)")")
    [ "$(dkv "$lo" failed)" = 0 ] || { say "  warning: $(dkv "$lo" failed) discovery runs did not succeed"; WARNINGS="$WARNINGS disc-loop"; }
    say "  round $r: GET idle $(calc '"%.0f", '"${GIDLE[-1]}")/s; during $(dkv "$lo" runs) runs of the 900-TLS" \
        "discovery ($(dkv "$lo" running_secs) s RUNNING in $(dkv "$lo" window_secs) s):" \
        "$(calc '"%.0f", '"${GSCAN[-1]}")/s (p99 $(calc '"%.1f", '"$(kv "$g" p99_us) / 1000") ms," \
        "idle $(calc '"%.1f", '"$(kv "$f" p99_us) / 1000") ms)"
done
DISC_GET_IDLE=$(median "${GIDLE[@]}"); DISC_GET_SCAN=$(median "${GSCAN[@]}")

# nginx's own handshake ceiling on these cores: wrk, a new connection (full
# handshake, no resumption) per request, 64 connections, over 8 of the pairs.
f=$WORK/disc-nginx-handshakes.out
wrk -t"$WRK_THREADS" -c"$CONNS" -d3s -H 'Connection: close' "https://$DISC_NET.1:$P1/" >"$f" 2>&1 || true
DISC_CEIL=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$f")
say "nginx handshake ceiling: wrk -c$CONNS, Connection: close, one pair: $(calc '"%.0f", '"${DISC_CEIL:-0}") handshakes/s" \
    "(client and nginx on the same $CORES cores)"

KW_HWM_KB=$(( $(hwm_kb "$KW_PID") > KW_HWM_KB ? $(hwm_kb "$KW_PID") : KW_HWM_KB ))
say "console RSS $(mb "$DISC_RSS0") MB before the scans; $(mb "$(rss_kb "$KW_PID")") MB after them," \
    "VmHWM $(mb "$(hwm_kb "$KW_PID")") MB"
stop_keyward
kill -TERM "$DISC_SILENT_PID" 2>/dev/null || true
wait "$DISC_SILENT_PID" 2>/dev/null || true
DISC_SILENT_PID=""
kill -TERM "$NGX_PID" 2>/dev/null || true
wait "$NGX_PID" 2>/dev/null || true
NGX_PID=""

say "discovery 1,000 pairs: $(calc '"%.0f", '"$DISC_ALL_RATE") endpoints/s (keyward; $(calc '"%.0f", '"$DISC_ALL_WALL")/s by" \
    "the client's clock) = $(calc '"%.2f", '"$DISC_ALL_RATE / $DISC_NMAP_RATE") x nmap ssl-cert ($DISC_NMAP_RATE/s)," \
    "$(calc '"%.2f", '"$DISC_ALL_RATE / $DISC_SC_RATE") x openssl s_client -P64 ($(calc '"%.0f", '"$DISC_SC_RATE")/s);" \
    "goal >= 10 x nmap: $(dmet "$DISC_ALL_RATE >= 10 * $DISC_NMAP_RATE")"
say "discovery 900 TLS: $(calc '"%.0f", '"$DISC_TLS_RATE") certificates recorded/s ($(calc '"%.0f", '"$DISC_TLS_WALL")/s by" \
    "the client's clock) = $(calc '"%.2f", '"$DISC_TLS_RATE / $DISC_NMAP_TLS_RATE") x nmap ssl-cert on them" \
    "($(calc '"%.0f", '"$DISC_NMAP_TLS_RATE")/s), $(calc '"%.2f", '"$DISC_TLS_RATE / ${DISC_CEIL:-1}") x nginx's" \
    "handshake ceiling; goal >= 1,500/s: $(dmet "$DISC_TLS_RATE >= 1500")"
say "GET during a scan: $(calc '"%.0f", '"$DISC_GET_SCAN")/s = $(calc '"%.2f", '"$DISC_GET_SCAN / $DISC_GET_IDLE") x idle" \
    "($(calc '"%.0f", '"$DISC_GET_IDLE")/s; a run was RUNNING $(median "${GFRAC[@]}") of the window);" \
    "goal >= 0.5: $(dmet "$DISC_GET_SCAN >= 0.5 * $DISC_GET_IDLE")"
[ "$DISC_FAILS" = 0 ] || say "FAIL: $DISC_FAILS discovery runs did not find exactly what is there (see above)"
fi

# ========================= 14. the PostgreSQL store vs SQLite (bench/pg.sh)
if want pg; then
    # shellcheck source=bench/pg.sh
    . "$BENCH/pg.sh"
fi

# ================================================================== summary
T_TOTAL=$(( $(date +%s) - T_START ))
say ""
say "== Summary ($CORES cores; medians of $ROUNDS rounds; ${T_TOTAL}s)"
fmt='%-46s %14s %18s %8s %12s %7s\n'
for p in get create list oauth2 authz cert inventory issue ocsp crl discovery pg; do
    if want "$p"; then printf "$fmt" "measure" "keyward" "reference" "ratio" "goal" "result"; break; fi
done
if want get; then
printf "$fmt" "GET /namespaces/:id, TLS keep-alive (req/s)" \
    "$(calc '"%.0f", '"$GET_KW")" "$(calc '"%.0f", '"$GET_NGX") nginx" "$GET_RATIO" ">= 0.5 x" \
    "$(met "$GET_KW / $GET_NGX >= 0.5")"
fi
if want create; then
printf "$fmt" "durable creates (acknowledged/s)" \
    "$CREATE_RATE" "$SQLITE_RATE sqlite tx" "$CREATE_RATIO" ">= 10000/s" \
    "$(met "$CREATE_RATE >= 10000")"
printf "$fmt" "acknowledged creates after kill -9" \
    "$FOUND found" "$ACKED acked" "-" "all" "$DURABLE"
fi
if want list; then
    printf "$fmt" "filtered list, $NOBJ objects, p99 (ms)" \
        "$LIST_P99" "$ID_P99 GET-by-ID" "$LIST_RATIO" "<= 10 ms" "$(met "$LIST_P99 <= 10")"
    printf "$fmt" "filtered list, $NOBJ objects, p50 (ms)" "$LIST_P50" "$ID_P50 GET-by-ID" "" "" ""
fi
if want oauth2; then
    printf "$fmt" "OAuth2 client-credentials tokens (/s)" \
        "$(calc '"%.0f", '"$TOK_RATE")" "$(calc '"%.0f", '"$SIGN_RATE") ES256 sign" "$TOK_RATIO" \
        ">= 0.5 x" "$(met "$TOK_RATE / $SIGN_RATE >= 0.5")"
    printf "$fmt" "OAuth2 client-credentials tokens, p99 (ms)" "$TOK_P99" "" "" "" ""
    printf "$fmt" "OAuth2 token, server CPU each (us)" "$TOK_CPU" \
        "$(calc '"%.1f", '"$CORES * 1e6 / $SIGN_RATE") per sign" \
        "$(calc '"%.1f", '"$TOK_CPU * $SIGN_RATE / ($CORES * 1e6)")" "" ""
fi
if want authz; then
    printf "$fmt" "GET by ID, $AZ_TOTAL API authz, admin (req/s)" \
        "$(calc '"%.0f", '"$AZ_ADMIN_POL")" "$(calc '"%.0f", '"$AZ_ADMIN_BASE") without" "$AZ_ADMIN_RATIO" \
        ">= 0.9 x" "$(met "$AZ_ADMIN_POL / $AZ_ADMIN_BASE >= 0.9")"
    printf "$fmt" "GET by ID, $AZ_TOTAL API authz, reader (req/s)" \
        "$(calc '"%.0f", '"$AZ_USER_POL")" "$(calc '"%.0f", '"$AZ_USER_BASE") without" "$AZ_USER_RATIO" \
        ">= 0.9 x" "$(met "$AZ_USER_POL / $AZ_USER_BASE >= 0.9")"
    printf "$fmt" "server CPU per GET, $AZ_TOTAL authz, admin (us)" \
        "$AZ_ADMIN_CPU_POL" "$AZ_ADMIN_CPU_BASE without" \
        "$(calc '"%.2f", '"$AZ_ADMIN_CPU_POL / $AZ_ADMIN_CPU_BASE")" "" ""
    printf "$fmt" "server CPU per GET, $AZ_TOTAL authz, reader (us)" \
        "$AZ_USER_CPU_POL" "$AZ_USER_CPU_BASE without" \
        "$(calc '"%.2f", '"$AZ_USER_CPU_POL / $AZ_USER_CPU_BASE")" "" ""
    printf "$fmt" "first GET after a namespace write (ms)" \
        "$AZ_WRITE_POL" "$AZ_WRITE_BASE without" "$(calc '"%.1f", '"$AZ_WRITE_POL / $AZ_WRITE_BASE")" "-" ""
fi
if want cert; then
    if [ -n "$CERT_RATE" ]; then
        printf "$fmt" "POST /issue, realm Certificate (tokens/s)" \
            "$(calc '"%.0f", '"$CERT_RATE")" "$(calc '"%.0f", '"$CERT_SIGN") ES256 sign" "$CERT_RATIO" \
            ">= 0.5 x" "$(met "$CERT_RATE / $CERT_SIGN >= 0.5")"
        printf "$fmt" "POST /issue, realm Certificate, p99 (ms)" "$CERT_P99" "" "" "" ""
        printf "$fmt" "Certificate realm token, server CPU (us)" "$CERT_CPU" \
            "$(calc '"%.1f", '"$CORES * 1e6 / $CERT_SIGN") per sign" \
            "$(calc '"%.1f", '"$CERT_CPU * $CERT_SIGN / ($CORES * 1e6)")" "" ""
    else
        say "/issue Certificate realm per second — $CERT_STATE"
    fi
fi
if want get; then
printf "$fmt" "RSS idle, started + 1 login (MB)" \
    "$(mb "$KW_IDLE_KB")" "$(mb "$NGX_IDLE_KB") nginx" "$(calc '"%.2f", '"$KW_IDLE_KB / $NGX_IDLE_KB")" \
    "<= 20 MB" "$(met "$KW_IDLE_KB <= 20 * 1024")"
printf "$fmt" "RSS idle after the GET rounds (MB)" "$(mb "$KW_AFTER_KB")" "" "" "" ""
printf "$fmt" "RSS idle after GET rounds + 4 more logins (MB)" "$(mb "$KW_ISSUE_KB")" "" "" \
    "<= 20 MB" "$(met "$KW_ISSUE_KB <= 20 * 1024")"
printf "$fmt" "RSS idle after the very first start (MB)" "$(mb "$KW_FIRST_KB")" "" "" "" ""
printf "$fmt" "RSS under GET load, peak sampled (MB)" \
    "$(mb "$KW_LOAD_KB")" "$(mb "$NGX_LOAD_KB") nginx" "$(calc '"%.2f", '"$KW_LOAD_KB / $NGX_LOAD_KB")" "-" ""
fi
if want create; then
printf "$fmt" "RSS during creates, peak sampled (MB)" "$(mb "$CREATE_LOAD_KB")" "" "" "" ""
fi
if want list; then
    printf "$fmt" "RSS idle, $NOBJ-object store, started (MB)" "$(mb "$BIG_IDLE_KB")" "" "" "" ""
    printf "$fmt" "RSS during list runs, peak sampled (MB)" "$(mb "$LIST_LOAD_KB")" "" "" "" ""
fi
if want authz; then
    printf "$fmt" "RSS after the authz GET rounds (MB)" \
        "$(mb "$AZ_POL_KB")" "$(mb "$AZ_BASE_KB") without" "$(calc '"%.2f", '"$AZ_POL_KB / $AZ_BASE_KB")" "-" ""
fi
if want inventory && [ -s "$WORK/inventory.rows" ]; then
    while IFS="|" read -r m k r x g res; do
        printf "$fmt" "$m" "$k" "$r" "$x" "$g" "$res"
    done <"$WORK/inventory.rows"
fi
if want issue; then
    if [ -n "$ISS_RATE" ]; then
        printf "$fmt" "issued+stored certs/s, P-256 CSR (/s)" "$(calc '"%.0f", '"$ISS_RATE")" \
            "$(calc '"%.0f", '"$CF_RATE") cfssl" "$(calc '"%.2f", '"$ISS_RATE / $CF_RATE")" \
            ">= 10000/s" "$(met "$ISS_RATE >= 10000")"
        printf "$fmt" "issued+stored certs/s vs OpenSSL (/s)" "$(calc '"%.0f", '"$ISS_RATE")" \
            "$(calc '"%.0f", '"$SSL_SV") sign+vfy" "$(calc '"%.2f", '"$ISS_RATE / $SSL_SV")" "none set" ""
        printf "$fmt" "issuance, p99 (ms)" "$ISS_P99" "" "" "" ""
        printf "$fmt" "issuance, server CPU per certificate (us)" "$ISS_CPU" \
            "$CF_CPU cfssl" "$(calc '"%.2f", '"$ISS_CPU / $CF_CPU")" "" ""
    else
        printf "$fmt" "cfssl signed+stored (/s), HTTPS, WAL" "-" "$(calc '"%.0f", '"$CF_RATE") cfssl" "" "" ""
        printf "$fmt" "OpenSSL P-256 sign+verify (/s)" "-" "$(calc '"%.0f", '"$SSL_SV") sign+vfy" "" "" ""
    fi
    printf "$fmt" "cfssl documented set-up, plain HTTP (/s)" "" \
        "$(calc '"%.0f", '"$CF_DEF_RATE") cfssl" "" "" ""
fi
if want ocsp && [ -n "$OCSP_RATE" ]; then
    printf "$fmt" "OCSP GET, no token (req/s)" "$(calc '"%.0f", '"$OCSP_RATE")" \
        "$(calc '"%.0f", '"$OCSP_GET") GET by ID" "$OCSP_RATIO" ">= 0.9 x" "$(met "$OCSP_RATE / $OCSP_GET >= 0.9")"
    printf "$fmt" "OCSP GET, p99 (ms)" "$OCSP_P99" "$OCSP_GET_P99 GET by ID" "" "" ""
fi
if want crl; then
    if [ -n "$REV_RATE" ]; then
        printf "$fmt" "revocations, $CONNS connections (/s)" "$REV_RATE" "" "" "" ""
    fi
    if [ -n "$CRL_SECS" ]; then
        printf "$fmt" "CRL of $CRL_ENTRIES revoked, published after (s)" "$CRL_SECS" \
            "$REF_CRL_SECS openssl ca" "$(calc '"%.2f", '"$CRL_SECS / $REF_CRL_SECS")" "none set" ""
        printf "$fmt" "CRL of $CRL_ENTRIES revoked, size (bytes)" "$CRL_BYTES" \
            "$REF_CRL_BYTES openssl" "$(calc '"%.2f", '"$CRL_BYTES / $REF_CRL_BYTES")" "" ""
    elif [ -n "$REV_RATE" ]; then
        printf "$fmt" "CRL of $PKI_CERTS revoked" "INCOMPLETE" "$REF_CRL_SECS openssl ca" "" "" "MISSED"
    else
        printf "$fmt" "openssl ca -gencrl, $PKI_CERTS revoked (s)" "-" "$REF_CRL_SECS openssl ca" "" "" ""
    fi
fi
if want discovery; then
    printf "$fmt" "discovery, 1,000 pairs (endpoints/s)" "$(calc '"%.0f", '"$DISC_ALL_RATE")" \
        "$DISC_NMAP_RATE nmap" "$(calc '"%.1f", '"$DISC_ALL_RATE / $DISC_NMAP_RATE")" ">= 10 x" \
        "$(dmet "$DISC_ALL_RATE >= 10 * $DISC_NMAP_RATE")"
    printf "$fmt" "discovery, 1,000 pairs vs s_client (/s)" "$(calc '"%.0f", '"$DISC_ALL_RATE")" \
        "$(calc '"%.0f", '"$DISC_SC_RATE") s_client" "$(calc '"%.2f", '"$DISC_ALL_RATE / $DISC_SC_RATE")" "" ""
    printf "$fmt" "discovery, 900 TLS (certificates recorded/s)" "$(calc '"%.0f", '"$DISC_TLS_RATE")" \
        "$(calc '"%.0f", '"$DISC_NMAP_TLS_RATE") nmap" "$(calc '"%.2f", '"$DISC_TLS_RATE / $DISC_NMAP_TLS_RATE")" \
        ">= 1500/s" "$(dmet "$DISC_TLS_RATE >= 1500")"
    printf "$fmt" "GET /namespaces/:id during scans (req/s)" "$(calc '"%.0f", '"$DISC_GET_SCAN")" \
        "$(calc '"%.0f", '"$DISC_GET_IDLE") idle" "$(calc '"%.2f", '"$DISC_GET_SCAN / $DISC_GET_IDLE")" ">= 0.5 x" \
        "$(dmet "$DISC_GET_SCAN >= 0.5 * $DISC_GET_IDLE")"
    [ "$DISC_FAILS" = 0 ] || printf "$fmt" "discovery scans that found the wrong set" "$DISC_FAILS" "" "" "0" "FAIL"
fi
if want pg && [ -s "$WORK/pg.rows" ]; then
    while IFS="|" read -r m k r x g res; do
        printf "$fmt" "$m" "$k" "$r" "$x" "$g" "$res"
    done <"$WORK/pg.rows"
fi
if [ "$KW_HWM_KB" -gt 0 ]; then
printf "$fmt" "VmHWM, highest of the runs (MB)" "$(mb "$KW_HWM_KB")" "" "" "" ""
fi
if want slow; then
    say ""
    say "slow clients: GET /health, $SLOW_CONNS connections, ${SLOW_SECS}s; $SLOW_ATTACKERS slowhttptest" \
        "connections, max_connections = $SLOW_MAXCONN; ratios to the same client without attackers"
    sfmt='%-8s %-10s %-10s %7s %9s %9s %9s   %s\n'
    printf "$sfmt" server client attack held success p99 rate "without: success, p99 ms, req/s"
    for n in "${SLOW_SERVERS[@]}"; do for mode in keepalive newconn; do for atk in slowloris slowbody; do
        b0=${SLOW[$n,$mode,none,ok]}; p0=${SLOW[$n,$mode,none,p99]}; r0=${SLOW[$n,$mode,none,rps]}
        b1=${SLOW[$n,$mode,$atk,ok]}; p1=${SLOW[$n,$mode,$atk,p99]}; r1=${SLOW[$n,$mode,$atk,rps]}
        sr=-; pr=-; rr=-
        awk "BEGIN { exit !($b0 > 0) }" && sr=$(calc '"%.2f", '"$b1 / $b0")
        [ "$p0" != - ] && [ "$p1" != - ] && pr=$(calc '"%.1f", '"$p1 / $p0")
        awk "BEGIN { exit !($r0 > 0) }" && rr=$(calc '"%.2f", '"$r1 / $r0")
        printf "$sfmt" "$n" "$mode" "$atk" "${SLOW[$n,$mode,$atk,held]}" "$sr" "$pr" "$rr" "$b0, $p0, $(calc '"%.0f", '"$r0")"
    done; done; done
fi
[ -z "$WARNINGS" ] || say "warnings:$WARNINGS (details in bench/out/last/)"
[ "${DURABLE:-PASS}" = PASS ] || say "DURABILITY FAILED: acknowledged creates were lost"
exit "$STATUS"
