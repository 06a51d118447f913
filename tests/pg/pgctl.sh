#!/bin/bash
# pgctl.sh - a throw-away PostgreSQL 15 for the tests (Debian's postgresql-15).
#
#   pgctl.sh start DIR     initdb into DIR if it is new, start it; print its URL (one line)
#   pgctl.sh stop DIR      stop it (fast mode: sessions are ended, nothing is lost)
#   pgctl.sh kill DIR      SIGKILL the postmaster and every process of the cluster (a crash:
#                          "PostgreSQL goes away"); the next start runs crash recovery
#   pgctl.sh destroy DIR   stop it and remove DIR
#   pgctl.sh url DIR       print the URL again
#   pgctl.sh psql DIR ...  psql as the cluster's superuser over its socket (arguments to psql)
#
# The URL is postgres://keyward:PASSWORD@127.0.0.1:PORT/keyward?sslmode=disable: role
# `keyward` (LOGIN, no superuser) owns database `keyward` (UTF8, C.UTF-8). Over TCP, on
# 127.0.0.1 only, every role authenticates with scram-sha-256: the password is random,
# made at initdb, kept in DIR/password, as a real deployment would have it. The
# superuser `postgres` has no password, so it can only come through the Unix socket in
# DIR/sock (mode 0700, owned by the cluster's user; `local ... trust`): whoever can
# reach it can already read the data files.
#
# The cluster runs as an unprivileged user: the current one, or when run as root a
# system user keyward-pgtest (made on first use with useradd --system) that owns DIR.
# That user must be able to reach DIR, so as root every directory above DIR that it
# cannot search gets o+x (search only, no listing; said on stderr): test directories
# made by mktemp or pytest are 0700 root.
#
# The port is a free one found at the first start and kept in DIR/port: a restart
# (stop + start, kill + start) answers at the same URL, so servers that hold the URL
# reconnect. fsync and synchronous_commit are on (the kill -9 tests count on
# durability). A system cluster (Debian's postgresql@15-main, port 5432) is never
# used nor touched.
#
# Every command is idempotent (start of a running cluster prints its URL; stop of a
# stopped one, destroy of a missing DIR do nothing) and reads no standard input.
set -euo pipefail

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
PGUSER_SYS=keyward-pgtest
FREEPORT=$(cd "$(dirname "$0")/../api" && pwd)/freeport.py
MARK=.keyward-pgtest

# Nothing from the caller's environment may point libpq or the tools elsewhere.
unset PGDATA PGHOST PGHOSTADDR PGPORT PGUSER PGPASSWORD PGPASSFILE PGDATABASE PGSERVICE \
    PGSERVICEFILE PGOPTIONS PGSSLMODE PGCONNECT_TIMEOUT PGTZ PGCLIENTENCODING 2>/dev/null || true
export LC_ALL=C.UTF-8

die() {
    echo "pgctl: $*" >&2
    exit 1
}

usage() {
    echo "usage: pgctl.sh start|stop|kill|destroy|url DIR | psql DIR [psql args]" >&2
    exit 2
}

[ $# -ge 2 ] || usage
cmd=$1
dir=$2
shift 2
[ -n "$dir" ] || usage
case $dir in /*) ;; *) dir="$(pwd)/$dir" ;; esac
dir=${dir%/}
data=$dir/data
sock=$dir/sock

[ -x "$PGBIN/initdb" ] || die "$PGBIN/initdb is missing (apt-get install postgresql-15)"

# as_pg CMD...: run CMD as the cluster's user, from a directory it can read.
if [ "$(id -u)" -eq 0 ]; then
    owner=$PGUSER_SYS
    as_pg() { (cd / && runuser -u "$owner" -- "$@"); }
else
    owner=$(id -un)
    as_pg() { (cd / && "$@"); }
fi

ensure_user() {
    [ "$(id -u)" -eq 0 ] || return 0
    id -u "$owner" >/dev/null 2>&1 && return 0
    useradd --system --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin --comment "Keyward test PostgreSQL" "$owner" ||
        id -u "$owner" >/dev/null 2>&1 || die "could not create user $owner"
}

# As root: give the cluster's user search permission on each directory above DIR
# that it cannot search.
ensure_reachable() {
    [ "$(id -u)" -eq 0 ] || return 0
    local p=$dir
    local parents=()
    while p=$(dirname "$p") && [ "$p" != / ]; do
        parents=("$p" "${parents[@]}")
    done
    for p in "${parents[@]}"; do
        if ! runuser -u "$owner" -- test -x "$p" 2>/dev/null; then
            chmod o+x "$p"
            echo "pgctl: gave o+x to $p so that $owner reaches $dir" >&2
        fi
    done
}

is_ours() { [ -f "$dir/$MARK" ]; }

running() {
    is_ours && [ -f "$data/postmaster.pid" ] && as_pg "$PGBIN/pg_ctl" -D "$data" status >/dev/null 2>&1
}

url() {
    printf 'postgres://keyward:%s@127.0.0.1:%s/keyward?sslmode=disable\n' \
        "$(cat "$dir/password")" "$(cat "$dir/port")"
}

free_port() { # from KEYWARD_TEST_PORTS when set (tests/api/freeport.py)
    /usr/bin/python3 "$FREEPORT"
}

psql_su() {
    "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$sock" -p "$(cat "$dir/port")" -U postgres "$@" </dev/null
}

init() {
    if [ -e "$dir" ] && [ -n "$(ls -A "$dir")" ] && ! is_ours; then
        die "$dir exists, is not empty and is not a pgctl.sh cluster: refusing to use it"
    fi
    # A socket path is at most 107 bytes: DIR/sock/.s.PGSQL.NNNNN must fit.
    [ ${#sock} -le 88 ] || die "$dir is too long for a Unix socket path (at most 83 bytes)"
    ensure_user
    mkdir -p "$dir"
    touch "$dir/$MARK"
    ensure_reachable
    local pw
    pw=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
    printf '%s\n' "$pw" >"$dir/password"
    chmod 600 "$dir/password"
    mkdir -p "$sock"
    chmod 700 "$sock"
    chown -R "$owner:" "$dir" 2>/dev/null || true
    chmod 700 "$dir"
    rm -rf "$data"
    as_pg "$PGBIN/initdb" -D "$data" -U postgres -E UTF8 --locale=C.UTF-8 \
        --auth-local=trust --auth-host=scram-sha-256 >"$dir/initdb.log" 2>&1 ||
        die "initdb failed: $(tail -5 "$dir/initdb.log")"
    cat >"$data/pg_hba.conf" <<'EOF'
# pgctl.sh: the superuser through the socket in DIR/sock (mode 0700) only;
# every role over TCP on 127.0.0.1 with its password (scram-sha-256).
local   all   all                  trust
host    all   all   127.0.0.1/32   scram-sha-256
EOF
    cat >>"$data/postgresql.conf" <<EOF

# --- pgctl.sh ---
listen_addresses = '127.0.0.1'
unix_socket_directories = '$sock'
unix_socket_permissions = 0700
max_connections = 200
shared_buffers = 64MB
fsync = on
synchronous_commit = on
full_page_writes = on
password_encryption = 'scram-sha-256'
log_line_prefix = '%m [%p] %q%u@%d '
log_min_messages = warning
include_if_exists = 'port.conf'
EOF
    chown "$owner:" "$data/pg_hba.conf"
    # Ready once the role and the database exist (set by the first successful start).
    rm -f "$dir/ready"
}

# pg_ctl start on the port in DIR/port; 0 when it runs.
pg_start() {
    printf "port = %s\n" "$(cat "$dir/port")" >"$data/port.conf"
    chown "$owner:" "$data/port.conf"
    as_pg "$PGBIN/pg_ctl" -D "$data" -l "$dir/log" -w -t 60 -s start >/dev/null 2>&1
}

start() {
    if ! is_ours || [ ! -f "$data/PG_VERSION" ]; then
        init
    fi
    ensure_reachable
    if ! running; then
        local first=0 tries=0
        [ -f "$dir/port" ] || first=1
        while :; do
            [ "$first" -eq 0 ] || free_port >"$dir/port"
            pg_start && break
            tries=$((tries + 1))
            # Lost the free port to someone else (first start only: the URL is not out
            # yet), or the backends of a killed postmaster still hold its shared memory.
            if [ "$tries" -lt 5 ] && tail -20 "$dir/log" 2>/dev/null |
                grep -q -e 'could not bind' -e 'shared memory block is still in use'; then
                sleep 0.5
                continue
            fi
            die "could not start PostgreSQL in $dir; its log says: $(tail -5 "$dir/log" 2>/dev/null)"
        done
    fi
    if [ ! -f "$dir/ready" ]; then
        local pw
        pw=$(cat "$dir/password")
        if [ -z "$(psql_su -tA -c "SELECT 1 FROM pg_roles WHERE rolname = 'keyward'")" ]; then
            psql_su -c "CREATE ROLE keyward LOGIN PASSWORD '$pw'"
        fi
        if [ -z "$(psql_su -tA -c "SELECT 1 FROM pg_database WHERE datname = 'keyward'")" ]; then
            psql_su -c "CREATE DATABASE keyward OWNER keyward ENCODING 'UTF8' TEMPLATE template0"
        fi
        touch "$dir/ready"
    fi
    url
}

stop() {
    is_ours || return 0
    if running; then
        as_pg "$PGBIN/pg_ctl" -D "$data" -m fast -w -t 60 -s stop >/dev/null
    fi
}

# The postmaster and its children share a process group (pg_ctl starts it with setsid).
kill_all() {
    is_ours && [ -f "$data/postmaster.pid" ] || return 0
    local pid
    pid=$(head -1 "$data/postmaster.pid")
    case $pid in '' | *[!0-9]*) return 0 ;; esac
    [ -d "/proc/$pid" ] || return 0
    # /proc/PID/stat: pid (comm) state ppid pgrp ... (comm is "postgres": no blank)
    local st kids=() f
    read -r -a st <"/proc/$pid/stat" || return 0
    if [ "${st[4]}" = "$pid" ]; then
        kill -KILL -- "-$pid" 2>/dev/null || true
    else
        for f in /proc/[0-9]*/stat; do
            read -r -a st 2>/dev/null <"$f" || continue
            [ "${st[3]}" = "$pid" ] && kids+=("${st[0]}")
        done
        kill -KILL "$pid" "${kids[@]}" 2>/dev/null || true
    fi
    # Wait until it is reaped: while its zombie holds the PID, postmaster.pid names a
    # live process and a new postmaster refuses to start. (Init reaps orphans; the one of
    # this sandbox does it about every 2 s.)
    for _ in $(seq 300); do
        [ -e "/proc/$pid" ] || return 0
        sleep 0.05
    done
    die "the killed postmaster $pid is still not reaped"
}

destroy() {
    [ -e "$dir" ] || return 0
    is_ours || die "$dir is not a pgctl.sh cluster: refusing to remove it"
    stop || kill_all
    rm -rf "$dir"
}

case $cmd in
start) start ;;
stop) stop ;;
kill) kill_all ;;
destroy) destroy ;;
url)
    is_ours || die "$dir is not a pgctl.sh cluster"
    url
    ;;
psql)
    running || die "no PostgreSQL running in $dir"
    psql_su "$@"
    ;;
*) usage ;;
esac
