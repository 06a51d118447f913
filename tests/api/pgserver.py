"""A throw-away PostgreSQL 15 for the tests that run Keyward on PostgreSQL.

`PgServer(tmpdir)` wraps tests/pg/pgctl.sh (which says how the cluster is made: initdb into
`tmpdir/pg` as an unprivileged user, 127.0.0.1 on a free port kept across restarts,
scram-sha-256 with a random password, fsync and synchronous_commit on):

    with PgServer(tmp_path) as pg:          # start() ... destroy()
        url = pg.url                        # postgres://keyward:PW@127.0.0.1:PORT/keyward?...
        pg.psql("select count(*) from namespaces")   # as the superuser, over the socket
        pg.kill()                           # SIGKILL the postmaster and its processes
        pg.restart()                        # same URL; crash recovery after a kill

`psql(sql)` is for tests that must look at the database itself: the PostgreSQL twin of
`keyward store-dump` (kwtest.run_store_dump). Needs Debian's postgresql-15
(scripts/deps.sh test); `python3 tests/api/pgserver.py` checks this file by itself.
"""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

PGCTL = Path(__file__).resolve().parent.parent / "pg" / "pgctl.sh"
PGBIN = Path("/usr/lib/postgresql/15/bin")
PSQL = str(PGBIN / "psql")


def available():
    return (PGBIN / "initdb").exists() and (PGBIN / "pg_ctl").exists()


def _env():
    """This process's environment without the PG* variables that would steer libpq."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PG")}


class PgServer:
    def __init__(self, tmpdir):
        self.dir = Path(tmpdir) / "pg"
        self.url = None

    # -- pgctl.sh -------------------------------------------------------------------
    def _pgctl(self, *args, timeout=120):
        r = subprocess.run(["bash", str(PGCTL), args[0], str(self.dir), *args[1:]],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout, env=_env())
        if r.returncode != 0:
            raise RuntimeError("pgctl.sh %s failed (%d): %s" % (
                args[0], r.returncode, (r.stderr + r.stdout).decode(errors="replace")))
        return r.stdout.decode()

    def start(self):
        """Make the cluster on the first call, start it; sets and returns `url`."""
        url = self._pgctl("start").strip()
        assert self.url in (None, url), "the URL changed across a restart: %s" % url
        self.url = url
        return self

    def stop(self):
        """Fast shutdown: sessions are ended, every committed transaction is kept."""
        self._pgctl("stop")

    def kill(self):
        """SIGKILL the postmaster and its processes: PostgreSQL goes away, as in a crash."""
        self._pgctl("kill")

    def restart(self):
        """Stop (a no-op after kill) and start again, at the same URL."""
        self.stop()
        return self.start()

    def destroy(self):
        """Stop and remove the cluster's directory."""
        self._pgctl("destroy")

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.destroy()

    # -- reading the database ----------------------------------------------------------
    def psql(self, sql, db="keyward", check=True):
        """Run `sql` with psql as the superuser over the cluster's socket, unaligned and
        tuples only (`-tA`: one line per row, columns joined by `|`); returns stdout."""
        r = subprocess.run(["bash", str(PGCTL), "psql", str(self.dir), "-tA", "-d", db,
                            "-c", sql],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=120, env=_env())
        if check and r.returncode != 0:
            raise RuntimeError("psql failed (%d): %s" % (
                r.returncode, r.stderr.decode(errors="replace")))
        return r.stdout.decode()

    @property
    def password(self):
        return urlsplit(self.url).password

    @property
    def port(self):
        return urlsplit(self.url).port


def _psql_url(url, sql):
    """psql over TCP as the URL's user, the password from the URL given as PGPASSWORD."""
    u = urlsplit(url)
    env = _env()
    env.update(PGPASSWORD=u.password, PGSSLMODE="disable", PGCONNECT_TIMEOUT="5")
    return subprocess.run([PSQL, "-X", "-q", "-tA", "-h", u.hostname, "-p", str(u.port),
                           "-U", u.username, "-d", u.path.lstrip("/"), "-c", sql],
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=60, env=env)


def _self_check():
    if not available():
        print("pgserver: %s is missing (apt-get install postgresql-15)" % PGBIN)
        return 1
    with tempfile.TemporaryDirectory(prefix="kw-pgserver.") as t:
        pg = PgServer(t)
        t0 = time.monotonic()
        with pg:
            t_start = time.monotonic() - t0
            print("started in %.2f s: %s" % (t_start, pg.url.replace(pg.password, "***")))
            print(pg.psql("select version()").strip())
            r = _psql_url(pg.url, "create table probe (v text); "
                                  "insert into probe values ('kept'); select current_user")
            assert r.returncode == 0, r.stderr.decode()
            assert r.stdout.decode().split() == ["keyward"], r.stdout
            bad = pg.url.replace(pg.password, "not-" + pg.password)
            assert _psql_url(bad, "select 1").returncode != 0, "a wrong password was accepted"

            t0 = time.monotonic()
            pg.kill()
            print("killed in %.2f s" % (time.monotonic() - t0))
            r = _psql_url(pg.url, "select 1")
            assert r.returncode != 0, "PostgreSQL still answers after kill"
            t0 = time.monotonic()
            url = pg.url
            pg.restart()
            print("restarted after kill (crash recovery) in %.2f s" % (time.monotonic() - t0))
            assert pg.url == url
            r = _psql_url(pg.url, "select v from probe")
            assert r.returncode == 0 and r.stdout.decode().strip() == "kept", r
            assert pg.psql("select count(*) from probe").strip() == "1"

            pg.stop()
            pg.stop()
            pg.start()
            assert pg.psql("show synchronous_commit").strip() == "on"
            assert pg.psql("show fsync").strip() == "on"
        assert not pg.dir.exists(), "destroy left %s" % pg.dir
        pg.destroy()  # idempotent
    print("pgserver: ok")
    return 0


if __name__ == "__main__":
    sys.exit(_self_check())
