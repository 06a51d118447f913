# bench/pg.sh - part 14 of bench/run.sh (BENCH_ONLY=pg): Keyward on PostgreSQL side by side
# with Keyward on SQLite. Method and results: docs/performance.md, part 14.
#
# Sourced by run.sh after part 13: it uses run.sh's helpers and settings (start_keyward,
# get_token, create_ns, count_ns, check_wrk, kv, median, calc, met, CONNS, ROUNDS, ...) and
# leaves its summary rows in $WORK/pg.rows (six cells separated by |, as part 9's). One
# PostgreSQL 15 cluster (tests/pg/pgctl.sh) lives in $WORK/pg, on the disk of the SQLite
# consoles; run.sh's cleanup destroys it. Every measurement gets a database of its own, and
# every console the same config but its store: threads = cores, sync = full (on PostgreSQL
# synchronous_commit = on), one public_url.
#
#   14.1  GET /namespaces/:id (get.lua, part 1's request) on a SQLite console and on a
#         PostgreSQL console, the same data, rounds alternating        goal PG >= 0.8 x SQLite
#         reference: pgbench sending the console's two statements of a GET (the generation
#         row, the object) over as many connections as the console has readers, and the
#         object's statement alone: what the database does with nothing else in the way
#   14.2  durable creates (create.lua, part 2's POSTs), the same way   goal PG >= 0.8 x SQLite
#         reference: pgbench on one connection (the console has one writer) sending what
#         the writer sends for a batch of PG_REF_BATCH creates - BEGIN, the advisory lock,
#         per create a savepoint, a unique-name read, two 500-byte inserts, its release,
#         the generation update, COMMIT - one statement at a time as the writer does, and
#         all in one pipeline: the ceiling of the writer's round trips on these cores
#   14.3  two consoles on one database (the second with the first's master.key), a wrk on
#         each with half the connections and threads, summed, against one console on that
#         database with all of them: GET and creates                  goal >= 1.6 x
#   14.4  the inventory import (bench/inventory.py) of BENCH_PG_INV_PROBE certificates on
#         each store; the 1,000,000-certificate searches on PostgreSQL (goal p99 <= 10 ms)
#         only when the probe's rate loads them within BENCH_PG_INV_MAX_SECS
#
# Besides the rates, each wrk window measures where the CPU went: the consoles' and the
# cluster's processes' CPU time per answer (/proc/PID/stat), and the share of the machine in
# use (/proc/stat): client, consoles and PostgreSQL share the same cores.

say ""
say "== 14. PostgreSQL store vs SQLite: GET by ID, durable creates, two consoles on one" \
    "database; $CONNS connections, $ROUNDS rounds"
stop_keyward
PGCTL=$ROOT/tests/pg/pgctl.sh
PG_DIR=$WORK/pg
"$PGCTL" start "$PG_DIR" >/dev/null 2>>"$WORK/pgctl.log" ||   # its URL holds the password
    { cat "$WORK/pgctl.log" >&2; die "PostgreSQL did not start (tests/pg/pgctl.sh)"; }
PG_PORT=$(cat "$PG_DIR/port")
# The consoles' store URLs carry no password: libpq takes it from PGPASSWORD, so it is in
# no config file and no log line.
export PGPASSWORD
PGPASSWORD=$(cat "$PG_DIR/password")
PG_PUBLIC=https://keyward.bench.test   # every console's public_url (the tokens' audience)
PGBIN=/usr/lib/postgresql/15/bin
PG_REF_BATCH=30   # creates per transaction of the writer's reference (a 64-connection run: ~30)
say "PostgreSQL $("$PGCTL" psql "$PG_DIR" -tA -c 'SHOW server_version') on 127.0.0.1:$PG_PORT," \
    "data in $PG_DIR (fsync, synchronous_commit = on, shared_buffers = 64MB)"

PG_ROWS=$WORK/pg.rows
: >"$PG_ROWS"
pg_row() { printf '%s|%s|%s|%s|%s|%s\n' "$@" >>"$PG_ROWS"; }   # pg_row MEASURE KEYWARD REF RATIO GOAL RESULT

# pg_db NAME - a new database in the cluster, owned by keyward; sets PG_URL to it
pg_db() {
    "$PGCTL" psql "$PG_DIR" -c "CREATE DATABASE $1 OWNER keyward" >/dev/null 2>>"$WORK/pgctl.log" ||
        die "cannot create database $1 (see bench/out/last/pgctl.log)"
    PG_URL="postgres://keyward@127.0.0.1:$PG_PORT/$1?sslmode=disable"
}

# pg_sql DB ARGS... - psql as keyward over TCP, as the consoles connect
pg_sql() {
    local db=$1
    shift
    "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "postgres://keyward@127.0.0.1:$PG_PORT/$db?sslmode=disable" \
        "$@" </dev/null
}
# pg_bench KEY DB CLIENTS SCRIPT [N] - pgbench running SCRIPT (prepared statements) on
# CLIENTS connections as keyward over TCP for ROUND_SECS; keeps its transactions/s times N
# under KEY (PW[KEY,rate]) and sets REF to it, or to "-" when pgbench failed (a warning)
pg_bench() {
    local out=$WORK/pgbench-$1.out tps
    tps=""
    if "$PGBIN/pgbench" -n -M prepared -c "$3" -j "$3" -T "$ROUND_SECS" -f "$4" \
        -h 127.0.0.1 -p "$PG_PORT" -U keyward "$2" >>"$out" 2>&1; then
        tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time).*/\1/p' "$out" | tail -1)
    fi
    if [ -z "$tps" ]; then
        say "  warning: pgbench ($1) failed: $(tail -1 "$out")"
        WARNINGS="$WARNINGS pgbench-$1"
        REF=-
        return 0
    fi
    REF=$(calc '"%.0f", '"$tps * ${5:-1}")
    PW[$1,rate]="${PW[$1,rate]:-} $REF"
}

declare -A S_PID S_URL S_CA S_TOK S_OBJ   # per console NAME
# pg_start NAME DATADIR [STORE] - a console next to the others, on SQLite in DATADIR or on
# the PostgreSQL database at the URL STORE; with the admin's token
pg_start() {
    local extra
    extra=$(printf 'sync = full\npublic_url = %s\n' "$PG_PUBLIC"
        [ -z "${3:-}" ] || printf 'store = %s\n' "$3")
    KW_CONF_EXTRA=$extra start_keyward "$1" "$2" || die "keyward ($1) did not start"
    SRV_PIDS+=("$KW_PID")
    S_PID[$1]=$KW_PID; S_URL[$1]=$KW_URL; S_CA[$1]=$KW_CA
    get_token || die "cannot get a token from $1"
    S_TOK[$1]=$TOKEN
    KW_PID=""   # not the main console: pg_stop stops it (or cleanup)
}
pg_use() { KW_URL=${S_URL[$1]}; KW_CA=${S_CA[$1]}; TOKEN=${S_TOK[$1]}; }   # kcurl & co. on NAME
pg_stop() { # pg_stop NAME...
    local n
    for n in "$@"; do
        KW_PID=${S_PID[$n]}
        KW_HWM_KB=$(( $(hwm_kb "$KW_PID") > KW_HWM_KB ? $(hwm_kb "$KW_PID") : KW_HWM_KB ))
        stop_keyward
        unset "S_PID[$n]"
    done
    SRV_PIDS=("${S_PID[@]}")
}

# pg_item NAME - /bench and /bench/item (part 1's object) through console NAME; sets S_OBJ[NAME]
pg_item() {
    local obj
    pg_use "$1"
    create_ns / '{"name":"bench"}' >/dev/null
    obj=$(create_ns /bench '{"name":"item","description":"tier-3"}')
    S_OBJ[$1]=$(printf '%s' "$obj" | sed -n 's/.*"ID":"\([^"]*\)".*/\1/p')
    [ -n "${S_OBJ[$1]}" ] || die "cannot create the object to GET on $1: $obj"
}
# pg_get_bytes NAME [TOKEN] - GET S_OBJ[NAME] through NAME (with TOKEN, default its own):
# prints the answer's size; dies unless it is 200
pg_get_bytes() {
    local out
    pg_use "$1"
    out=$(kcurl -o /dev/null -w '%{http_code} %{size_download}' -H 'X-Namespace: /bench' \
        -H "Authorization: Bearer ${2:-$TOKEN}" "$KW_URL/namespaces/${S_OBJ[$1]}")
    [ "${out% *}" = 200 ] || die "GET /namespaces/${S_OBJ[$1]} through $1 answered ${out% *}"
    echo "${out#* }"
}

pg_ticks() { # CPU ticks the cluster (the postmaster and its children) has used so far
    local pm p t=0
    pm=$(head -1 "$PG_DIR/data/postmaster.pid")
    for p in "$pm" $(grep -l "^PPid:[[:space:]]*$pm\$" /proc/[0-9]*/status 2>/dev/null |
        sed 's|/proc/\([0-9]*\)/status|\1|'); do
        t=$((t + $(cpu_ticks "$p")))
    done
    echo "$t"
}
# machine_ticks - "busy steal total" CPU ticks of the whole machine so far (/proc/stat)
machine_ticks() {
    awk '$1 == "cpu" { b = $2 + $3 + $4 + $7 + $8; print b, $9, b + $5 + $6 + $9 }' /proc/stat
}

# lock_sampler DB OUT - every 100 ms, on one connection to DB, how many of its sessions are in a
# transaction and how many of those wait for an advisory lock (the write lock), one "w|t" line
# per sample into OUT; runs until killed (its PID in SAMPLER_PID)
lock_sampler() {
    printf '%s\n' "SELECT count(*) FILTER (WHERE wait_event_type = 'Lock' AND wait_event = 'advisory'),
        count(*) FILTER (WHERE xact_start IS NOT NULL) FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid()" '\watch 0.1' |
        "$PGBIN/psql" -X -q -tA -d "postgres://keyward@127.0.0.1:$PG_PORT/$1?sslmode=disable" \
            >"$2" 2>/dev/null &
    SAMPLER_PID=$!
    BG_PIDS+=("$!")
}
# lock_share OUT - "W% of T samples" with a session waiting for the write lock, and the mean
# sessions in a transaction, from lock_sampler's OUT
lock_share() {
    awk -F'|' 'NF == 2 { n++; if ($1 > 0) w++; t += $2 }
        END { if (n) printf "%.0f%% of %d samples, %.1f in a transaction", 100 * w / n, n, t / n }' "$1"
}

# settle - wait (up to 10 s) until every console started and the cluster are quiet: under 3
# CPU ticks (30 ms at 100 Hz) together in a quarter of a second. A console idle since its
# round may still be checkpointing what it wrote (SQLite's WAL into its database file), and
# the next window, another console's, would pay for it. Says so when it never settles.
settle() {
    local i s t0 t1
    for i in $(seq 40); do
        t0=$(pg_ticks); for s in "${S_PID[@]}"; do t0=$((t0 + $(cpu_ticks "$s"))); done
        sleep 0.25
        t1=$(pg_ticks); for s in "${S_PID[@]}"; do t1=$((t1 + $(cpu_ticks "$s"))); done
        [ $((t1 - t0)) -ge 3 ] || return 0
    done
    say "  (the consoles and PostgreSQL were still busy after 10 s of waiting: measuring anyway)"
}

# pg_window TAG SECS LUA PATH NAME... - wrk with LUA against each console NAME at once for
# SECS; CONNS connections and WRK_THREADS threads shared out between them (@ID in PATH: the
# console's S_OBJ; KW_NAMESPACE from the caller, KW_RUN made from TAG). Sets WIN_RATE
# (answers/s, summed: requests for get.lua, acknowledged creates for create.lua), WIN_N
# (those answers), WIN_EACH (the rate of each console), WIN_P99 (ms, the highest of the wrk
# runs), WIN_KW_US and WIN_PG_US (CPU µs per answer of the consoles together and of the
# cluster), WIN_BUSY and WIN_STEAL (% of the machine's CPU time busy, and stolen by the host).
pg_window() {
    local tag=$1 secs=$2 lua=$3 path=$4 s f p t c a r k0=0 k1=0 p0 p1 b0 s0 t0 b1 s1 t1
    local pids=()
    shift 4
    t=$((WRK_THREADS / $#)); [ "$t" -ge 1 ] || t=1
    c=$((CONNS / $#))
    settle
    [ -z "${LOCK_DB:-}" ] || lock_sampler "$LOCK_DB" "$WORK/pg-$tag-locks.out"
    for s in "$@"; do k0=$((k0 + $(cpu_ticks "${S_PID[$s]}"))); done
    p0=$(pg_ticks)
    read -r b0 s0 t0 <<<"$(machine_ticks)"
    for s in "$@"; do
        KW_TOKEN=${S_TOK[$s]} KW_RUN=$tag-$s-$$ wrk -t"$t" -c"$c" -d"$secs" -s "$BENCH/$lua" \
            "${S_URL[$s]}${path//@ID/${S_OBJ[$s]:-}}" >"$WORK/pg-$tag-$s.out" 2>&1 &
        pids+=("$!")
        BG_PIDS+=("$!")
    done
    for p in "${pids[@]}"; do
        wait "$p" || die "wrk failed ($tag; see bench/out/last/pg-$tag-*.out)"
    done
    for s in "$@"; do k1=$((k1 + $(cpu_ticks "${S_PID[$s]}"))); done
    p1=$(pg_ticks)
    WIN_LOCKS=""
    if [ -n "${LOCK_DB:-}" ]; then
        kill "$SAMPLER_PID" 2>/dev/null || true
        wait "$SAMPLER_PID" 2>/dev/null || true
        WIN_LOCKS=$(lock_share "$WORK/pg-$tag-locks.out")
    fi
    read -r b1 s1 t1 <<<"$(machine_ticks)"
    WIN_RATE=0; WIN_N=0; WIN_P99=0; WIN_EACH=""
    for s in "$@"; do
        f=$WORK/pg-$tag-$s.out
        grep -q '^RESULT ' "$f" || { cat "$f" >&2; die "wrk ($tag, $s) printed no RESULT line"; }
        check_wrk "$f" "pg $tag $s"
        a=$(kv "$f" acked)
        if [ -n "$a" ]; then   # create.lua: acknowledged creates
            if [ "$(kv "$f" failed)" != 0 ]; then
                say "  warning: pg $tag $s: $(kv "$f" failed) creates answered other than 200"
                WARNINGS="$WARNINGS pg-$tag-$s"
            fi
        else
            a=$(kv "$f" requests)
        fi
        r=$(calc '"%.1f", '"$a * 1e6 / $(kv "$f" duration_us)")
        WIN_N=$((WIN_N + a))
        WIN_RATE=$(calc '"%.1f", '"$WIN_RATE + $r")
        WIN_EACH="$WIN_EACH${WIN_EACH:+ + }$(calc '"%.0f", '"$r")"
        WIN_P99=$(calc '"%.2f", '"($(kv "$f" p99_us) / 1000 > $WIN_P99 ? $(kv "$f" p99_us) / 1000 : $WIN_P99)")
    done
    [ "$WIN_N" -gt 0 ] || die "no answers in the $tag window"
    WIN_KW_US=$(calc '"%.1f", '"($k1 - $k0) * 1e6 / $CLK_TCK / $WIN_N")
    WIN_PG_US=$(calc '"%.1f", '"($p1 - $p0) * 1e6 / $CLK_TCK / $WIN_N")
    WIN_BUSY=$(calc '"%.0f", '"100 * ($b1 - $b0) / ($t1 - $t0)")
    WIN_STEAL=$(calc '"%.0f", '"100 * ($s1 - $s0) / ($t1 - $t0)")
}
# win_say - the last window in a few words
win_say() {
    printf '%s/s%s (p99 %s ms; CPU µs each: console %s, PostgreSQL %s; machine %s%% busy%s%s)' \
        "$(calc '"%.0f", '"$WIN_RATE")" "$([ "${WIN_EACH/+/}" = "$WIN_EACH" ] || echo " = $WIN_EACH")" \
        "$WIN_P99" "$WIN_KW_US" "$WIN_PG_US" "$WIN_BUSY" \
        "$([ "$WIN_STEAL" = 0 ] || echo ", $WIN_STEAL% stolen")" \
        "$([ -z "$WIN_LOCKS" ] || echo "; waiting for the write lock: $WIN_LOCKS")"
}

declare -A PW   # PW[KEY,FIELD]: the windows' values, space-separated, for the medians
pg_keep() { # pg_keep KEY - keep the last window's rate, p99, console and cluster CPU under KEY
    PW[$1,rate]="${PW[$1,rate]:-} $WIN_RATE"; PW[$1,p99]="${PW[$1,p99]:-} $WIN_P99"
    PW[$1,kw]="${PW[$1,kw]:-} $WIN_KW_US"; PW[$1,pg]="${PW[$1,pg]:-} $WIN_PG_US"
    PW[$1,busy]="${PW[$1,busy]:-} $WIN_BUSY"
}
# shellcheck disable=SC2086
pg_med() { median ${PW[$1,$2]}; }   # pg_med KEY FIELD - the median of the kept windows
ratio() { calc '"%.2f", '"$1 / $2"; }
# ref_row MEASURE KEY REFKEY LABEL - a summary row: KEY's median rate against the pgbench
# reference REFKEY's (left out when pgbench never ran)
ref_row() {
    local k r
    [ -n "${PW[$3,rate]:-}" ] || return 0
    k=$(pg_med "$2" rate); r=$(pg_med "$3" rate)
    pg_row "$1" "$(calc '"%.0f", '"$k")" "$r $4" "$(ratio "$k" "$r")" "" ""
}
cpu_each() { calc '"%.0f", '"$(pg_med "$1" kw) + $(pg_med "$1" pg)"; }   # console + cluster µs

# -------------------------------------------------------------- 14.1 GET by ID
say ""
say "-- 14.1 GET /namespaces/:id, TLS keep-alive, $CONNS connections, $ROUNDS x ${ROUND_SECS}s per store"
pg_db kw_get
pg_start get-sqlite "$WORK/pg-get-sqlite"
pg_start get-pg "$WORK/pg-get-pg" "$PG_URL"
for s in get-sqlite get-pg; do pg_item "$s"; done
sq_bytes=$(pg_get_bytes get-sqlite)
pg_bytes=$(pg_get_bytes get-pg)
say "object: $sq_bytes bytes of JSON from SQLite, $pg_bytes from PostgreSQL (database kw_get);" \
    "every PostgreSQL request also reads the generation row"
# The reference's scripts: the two statements the console sends for the GET (its log with
# log_statement = all shows these two), and the object's alone.
printf '%s\n' "SELECT n FROM kw_generation WHERE topic = 'authz';" \
    "SELECT doc FROM \"namespaces\" WHERE \"ID\" = '${S_OBJ[get-pg]}' AND \"namespace\" = '/bench' LIMIT 1;" \
    >"$WORK/pg-ref-get.sql"
tail -1 "$WORK/pg-ref-get.sql" >"$WORK/pg-ref-object.sql"
for s in get-sqlite get-pg; do   # warm-up, not counted: connections are made on first use
    KW_NAMESPACE=/bench pg_window get-warmup 1s get.lua /namespaces/@ID "$s"
done
for r in $(seq "$ROUNDS"); do
    line="  round $r:"
    for s in get-sqlite get-pg; do
        KW_NAMESPACE=/bench pg_window "get-$r" "${ROUND_SECS}s" get.lua /namespaces/@ID "$s"
        pg_keep "$s"
        line="$line ${s#get-} $(win_say)"
    done
    say "$line"
    pg_bench ref-get kw_get "$CORES" "$WORK/pg-ref-get.sql"
    line="           pgbench, $CORES connections: the GET's 2 statements $REF/s"
    pg_bench ref-object kw_get "$CORES" "$WORK/pg-ref-object.sql"
    say "$line, the object's alone $REF/s"
done
PG_GET_SQ=$(pg_med get-sqlite rate); PG_GET_PG=$(pg_med get-pg rate)
PG_GET_RATIO=$(ratio "$PG_GET_PG" "$PG_GET_SQ")
say "median: PostgreSQL $(calc '"%.0f", '"$PG_GET_PG")/s, SQLite $(calc '"%.0f", '"$PG_GET_SQ")/s:" \
    "$PG_GET_RATIO; server CPU per GET: $(pg_med get-pg kw) µs console + $(pg_med get-pg pg) µs PostgreSQL" \
    "against $(pg_med get-sqlite kw) µs; goal >= 0.8: $(met "$PG_GET_PG >= 0.8 * $PG_GET_SQ")"
say "RSS after the rounds: $(mb "$(rss_kb "${S_PID[get-pg]}")") MB on PostgreSQL," \
    "$(mb "$(rss_kb "${S_PID[get-sqlite]}")") MB on SQLite"
pg_stop get-sqlite get-pg
pg_row "PG: GET /namespaces/:id (req/s)" "$(calc '"%.0f", '"$PG_GET_PG")" \
    "$(calc '"%.0f", '"$PG_GET_SQ") SQLite" "$PG_GET_RATIO" ">= 0.8 x" "$(met "$PG_GET_PG >= 0.8 * $PG_GET_SQ")"
ref_row "PG: GET against its SQL alone (req/s)" get-pg ref-get "pgbench"
ref_row "PG: the same, the object's statement alone" get-pg ref-object "pgbench"
pg_row "PG: GET p99 (ms)" "$(pg_med get-pg p99)" "$(pg_med get-sqlite p99) SQLite" \
    "$(ratio "$(pg_med get-pg p99)" "$(pg_med get-sqlite p99)")" "" ""
pg_row "PG: GET, server CPU each (us, console + PG)" "$(cpu_each get-pg)" "$(cpu_each get-sqlite) SQLite" \
    "$(ratio "$(cpu_each get-pg)" "$(cpu_each get-sqlite)")" "" ""

# ------------------------------------------------------------ 14.2 durable creates
say ""
say "-- 14.2 durable creates (POST /namespaces, sync = full), $CONNS connections, $ROUNDS x ${CREATE_SECS}s per store"
pg_db kw_create
pg_start create-sqlite "$WORK/pg-create-sqlite"
pg_start create-pg "$WORK/pg-create-pg" "$PG_URL"
declare -A PG_ACK
for s in create-sqlite create-pg; do
    pg_use "$s"
    create_ns / '{"name":"creates"}' >/dev/null
    PG_ACK[$s]=0
done
# The writer's reference: tables of its own in the same database, its own advisory lock
# (the consoles' job leases take theirs meanwhile).
pg_sql kw_create -c 'CREATE TABLE ref_rows (name TEXT COLLATE "C" PRIMARY KEY, doc BYTEA NOT NULL);
    CREATE TABLE ref_audit (id BIGSERIAL PRIMARY KEY, doc BYTEA NOT NULL);
    CREATE TABLE ref_gen (n BIGINT NOT NULL); INSERT INTO ref_gen VALUES (0)' ||
    die "cannot create the reference's tables in kw_create"
# writer_sql PIPELINE - one transaction of PG_REF_BATCH creates as pgbench script; PIPELINE 1:
# everything after the lock in one pipeline (one wait instead of one per statement)
writer_sql() {
    local j
    echo 'BEGIN;'
    echo 'SELECT pg_advisory_xact_lock(1);'
    [ "$1" = 0 ] || printf '%s\n' '\startpipeline'
    for j in $(seq "$PG_REF_BATCH"); do
        printf '\\set r%s random(1, 9223372036854775806)\n' "$j"
        echo 'SAVEPOINT job;'
        echo "SELECT 1 FROM ref_rows WHERE name = 'n' || :r$j;"
        echo "INSERT INTO ref_rows (name, doc) VALUES ('n' || :r$j, convert_to(repeat('x', 500), 'UTF8')) ON CONFLICT DO NOTHING;"
        echo "INSERT INTO ref_audit (doc) VALUES (convert_to(repeat('a', 500), 'UTF8'));"
        echo 'RELEASE job;'
    done
    echo 'UPDATE ref_gen SET n = n + 1;'
    echo 'COMMIT;'
    [ "$1" = 0 ] || printf '%s\n' '\endpipeline'
}
writer_sql 0 >"$WORK/pg-ref-writer.sql"
writer_sql 1 >"$WORK/pg-ref-pipeline.sql"
for r in $(seq "$ROUNDS"); do
    line="  round $r:"
    for s in create-sqlite create-pg; do
        KW_NAMESPACE=/creates pg_window "create-$r" "${CREATE_SECS}s" create.lua / "$s"
        pg_keep "$s"
        PG_ACK[$s]=$((${PG_ACK[$s]} + WIN_N))
        line="$line ${s#create-} $(win_say)"
    done
    say "$line"
    pg_bench ref-writer kw_create 1 "$WORK/pg-ref-writer.sql" "$PG_REF_BATCH"
    line="           pgbench, one connection, the writer's statements for $PG_REF_BATCH creates: $REF/s"
    pg_bench ref-pipeline kw_create 1 "$WORK/pg-ref-pipeline.sql" "$PG_REF_BATCH"
    say "$line one at a time, $REF/s in one pipeline"
done
# Every acknowledged create must be stored (the kill -9 test of this is part 2's, and
# tests/api/test_pg_cluster.py's for PostgreSQL).
for s in create-sqlite create-pg; do
    pg_use "$s"
    n=$(count_ns /creates)
    if [ -n "$n" ] && [ "$n" -ge "${PG_ACK[$s]}" ]; then
        say "  ${s#create-}: $n namespaces in /creates, ${PG_ACK[$s]} acknowledged"
    else
        say "  FAIL: ${s#create-}: $n namespaces in /creates, ${PG_ACK[$s]} acknowledged"
        WARNINGS="$WARNINGS pg-$s-lost"
        STATUS=1
    fi
done
PG_CR_SQ=$(pg_med create-sqlite rate); PG_CR_PG=$(pg_med create-pg rate)
PG_CR_RATIO=$(ratio "$PG_CR_PG" "$PG_CR_SQ")
say "median: PostgreSQL $(calc '"%.0f", '"$PG_CR_PG")/s, SQLite $(calc '"%.0f", '"$PG_CR_SQ")/s: $PG_CR_RATIO;" \
    "goal >= 0.8: $(met "$PG_CR_PG >= 0.8 * $PG_CR_SQ"); 10,000/s: PostgreSQL $(met "$PG_CR_PG >= 10000")," \
    "SQLite $(met "$PG_CR_SQ >= 10000")"
pg_stop create-sqlite create-pg
pg_row "PG: durable creates (acknowledged/s)" "$(calc '"%.0f", '"$PG_CR_PG")" \
    "$(calc '"%.0f", '"$PG_CR_SQ") SQLite" "$PG_CR_RATIO" ">= 0.8 x" "$(met "$PG_CR_PG >= 0.8 * $PG_CR_SQ")"
pg_row "PG: durable creates, the aim (acknowledged/s)" "$(calc '"%.0f", '"$PG_CR_PG")" "" "" \
    ">= 10000/s" "$(met "$PG_CR_PG >= 10000")"
pg_row "SQLite: durable creates, the aim (ack./s)" "$(calc '"%.0f", '"$PG_CR_SQ")" "" "" \
    ">= 10000/s" "$(met "$PG_CR_SQ >= 10000")"
ref_row "PG: creates against the writer's SQL (/s)" create-pg ref-writer "pgbench"
ref_row "PG: the same SQL pipelined (/s)" create-pg ref-pipeline "pgbench"
pg_row "PG: create, server CPU each (us, console + PG)" "$(cpu_each create-pg)" \
    "$(cpu_each create-sqlite) SQLite" "$(ratio "$(cpu_each create-pg)" "$(cpu_each create-sqlite)")" "" ""
pg_row "PG: create p99 (ms)" "$(pg_med create-pg p99)" "$(pg_med create-sqlite p99) SQLite" \
    "$(ratio "$(pg_med create-pg p99)" "$(pg_med create-sqlite p99)")" "" ""

# -------------------------------------------------- 14.3 two consoles, one database
say ""
say "-- 14.3 two consoles on one database: a wrk on each ($((CONNS / 2)) connections each), summed," \
    "against one console ($CONNS connections); GET ${ROUND_SECS}s and creates ${CREATE_SECS}s, $ROUNDS rounds"
pg_db kw_pair
pg_start pair-a "$WORK/pg-pair-a" "$PG_URL"
# The second console seals and unseals with the first one's master key.
mkdir -p "$WORK/pg-pair-b"
chmod 700 "$WORK/pg-pair-b"
cp "$WORK/pg-pair-a/master.key" "$WORK/pg-pair-b/master.key"
pg_start pair-b "$WORK/pg-pair-b" "$PG_URL"
pg_item pair-a
S_OBJ[pair-b]=${S_OBJ[pair-a]}
pg_use pair-a
create_ns / '{"name":"creates"}' >/dev/null
pg_get_bytes pair-b "${S_TOK[pair-a]}" >/dev/null
say "database kw_pair: /bench/item made through pair-a is read through pair-b with pair-a's token"
KW_NAMESPACE=/bench pg_window pair-warmup 1s get.lua /namespaces/@ID pair-a pair-b   # warm-up
PG_PAIR_ACK=0
for r in $(seq "$ROUNDS"); do
    for what in get create; do
        line="  round $r $what:"
        for n in 1 2; do
            consoles=pair-a
            [ "$n" = 1 ] || consoles="pair-a pair-b"
            # shellcheck disable=SC2086
            if [ "$what" = get ]; then
                KW_NAMESPACE=/bench pg_window "pair-get$n-$r" "${ROUND_SECS}s" get.lua /namespaces/@ID $consoles
            else
                LOCK_DB=kw_pair KW_NAMESPACE=/creates pg_window "pair-create$n-$r" "${CREATE_SECS}s" create.lua / $consoles
                PG_PAIR_ACK=$((PG_PAIR_ACK + WIN_N))
            fi
            pg_keep "pair-$what$n"
            line="$line $n console$([ "$n" = 1 ] || echo s) $(win_say)"
        done
        say "$line"
    done
done
pg_use pair-b
n=$(count_ns /creates)
if [ -n "$n" ] && [ "$n" -ge "$PG_PAIR_ACK" ]; then
    say "  $n namespaces in /creates (counted through pair-b), $PG_PAIR_ACK acknowledged by the two"
else
    say "  FAIL: $n namespaces in /creates (counted through pair-b), $PG_PAIR_ACK acknowledged by the two"
    WARNINGS="$WARNINGS pg-pair-lost"
    STATUS=1
fi
for what in get create; do
    one=$(pg_med "pair-${what}1" rate); two=$(pg_med "pair-${what}2" rate)
    say "median $what: two consoles $(calc '"%.0f", '"$two")/s, one $(calc '"%.0f", '"$one")/s:" \
        "$(ratio "$two" "$one"); machine busy $(pg_med "pair-${what}2" busy)% and $(pg_med "pair-${what}1" busy)%;" \
        "goal >= 1.6 (where the database is not the limit): $(met "$two >= 1.6 * $one")"
    pg_row "PG: 2 consoles, $([ "$what" = get ] && echo "GET by ID (req/s)" || echo "creates (acknowledged/s)")" \
        "$(calc '"%.0f", '"$two")" "$(calc '"%.0f", '"$one") 1 console" "$(ratio "$two" "$one")" ">= 1.6 x" \
        "$(met "$two >= 1.6 * $one")"
done
pg_stop pair-a pair-b

# -------------------------------------- 14.4 the certificate inventory on PostgreSQL
if [ "$PG_INV_PROBE" -gt 0 ]; then
say ""
say "-- 14.4 certificate inventory: bench/inventory.py's import of $PG_INV_PROBE certificates on each store"
flags=$(pkg-config --cflags --libs openssl)
for t in certgen certparse-rate; do
    [ -x "$WORK/$t" ] && continue   # built by part 9
    # shellcheck disable=SC2086
    cc -std=c17 -D_GNU_SOURCE -O2 -o "$WORK/$t" "$BENCH/$t.c" $flags -lpthread ||
        die "cannot build bench/$t.c"
done
PY=/usr/bin/python3   # Debian's; the script needs nothing beyond the standard library
[ -x "$PY" ] || PY=python3
# pg_inventory TAG STORE N [VAR=VALUE...] - bench/inventory.py with N certificates on a fresh
# data directory, on STORE ("": SQLite); output in $WORK/pg-inv-TAG.out, rows in .rows
pg_inventory() {
    local tag=$1 store=$2 n=$3
    shift 3
    mkdir -p "$WORK/pg-inv-$tag"
    env "$@" KEYWARD_BIN="$KW_BIN" KW_WORK="$WORK/pg-inv-$tag" KW_ROWS="$WORK/pg-inv-$tag.rows" \
        KW_CERTGEN="$WORK/certgen" KW_CERTRATE="$WORK/certparse-rate" KW_BENCH_CERTS="$n" \
        KW_BENCH_STORE="$store" "$PY" "$BENCH/inventory.py" >"$WORK/pg-inv-$tag.out" 2>&1 ||
        { tail -20 "$WORK/pg-inv-$tag.out" >&2; die "bench/inventory.py ($tag) failed"; }
    grep -e '^import: [0-9]' -e '^import: stopped' "$WORK/pg-inv-$tag.out" | sed "s/^/  ${tag#probe-}: /"
}
inv_rate() { awk -F'|' '$1 ~ /^import:/ { print $2 }' "$WORK/pg-inv-$1.rows"; }
pg_inventory probe-sqlite "" "$PG_INV_PROBE" KW_BENCH_IMPORT_ONLY=1
pg_db kw_inv_probe
pg_inventory probe-pg "$PG_URL" "$PG_INV_PROBE" KW_BENCH_IMPORT_ONLY=1
PG_IMP_SQ=$(inv_rate probe-sqlite); PG_IMP_PG=$(inv_rate probe-pg)
PG_INV_PROJ=$(calc '"%.0f", 1000000 / '"$PG_IMP_PG")
say "import probe: PostgreSQL $PG_IMP_PG/s, SQLite $PG_IMP_SQ/s: $(ratio "$PG_IMP_PG" "$PG_IMP_SQ");" \
    "1,000,000 at the PostgreSQL probe's rate: ${PG_INV_PROJ}s or more (the rate falls as the tables grow, part 9)"
pg_row "PG: inventory import, N=$PG_INV_PROBE (/s)" "$PG_IMP_PG" "$PG_IMP_SQ SQLite" \
    "$(ratio "$PG_IMP_PG" "$PG_IMP_SQ")" "-" ""
if [ "$PG_INV_PROJ" -gt "$PG_INV_MAX" ]; then
    say "NOTE: the 1,000,000-certificate searches on PostgreSQL are skipped: loading the certificates" \
        "would take ${PG_INV_PROJ}s or more, over BENCH_PG_INV_MAX_SECS=$PG_INV_MAX. By hand:" \
        "KW_BENCH_STORE=postgres://... $PY bench/inventory.py (docs/performance.md, part 14)"
    pg_row "PG: 1M-certificate searches, p99 (ms)" "skipped" "load > ${PG_INV_MAX}s" "" "<= 10 ms" "-"
else
    pg_db kw_inv
    say "loading 1,000,000 certificates into PostgreSQL (${PG_INV_PROJ}s or more at the probe's rate) ..."
    pg_inventory full "$PG_URL" 1000000 KW_BENCH_IMPORT_MAX_SECS=$((PG_INV_MAX * 2))
    grep -e '^certificates in' -e '^reference: GET' -e ' p99 .*requests' "$WORK/pg-inv-full.out" |
        sed 's/^/  /' || true
    awk -F'|' '{ OFS = "|"; $1 = "PG 1M: " $1; print }' "$WORK/pg-inv-full.rows" >>"$PG_ROWS"
fi
fi
