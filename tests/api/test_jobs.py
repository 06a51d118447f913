"""Background jobs seen from outside: the periodic expiry and audit retention jobs run
(and are recorded in the store's jobs table), a store made by an older release is
migrated in place, and a job left running by a killed server is taken again.

The jobs table has no API: these tests read it with `keyward store-dump` (docs/tools.md).
Nothing is written to the store behind the server's back: an audit entry older than the
shortest retention (one hour) is made by restarting the server with its clock two hours
ahead (libfaketime), and a job left leased by a server killed with kill -9 is a real one:
a discovery run of a port that never answers.
"""
import time

from kwtest import Client, Server, faked_clock, leased_run, rand, silent_socket, wait_for


def job(server, kind):
    """The jobs row of the periodic kind `kind` (its key is its kind), or None."""
    rows = [r for r in server.store_rows("jobs") if r["kind"] == kind and r["key"] == kind]
    return rows[0] if rows else None


FAST = {"idempotency_ttl": "1s", "expire_interval": "300ms",
        "login_failures_per_address_max": 0}


def test_expired_idempotency_answers_are_dropped(start_server):
    s = start_server(config=FAST)
    admin = Client(s, s.token())
    key = "idem-" + rand(10)
    t0 = time.time()
    r = admin.post("/namespaces", {"name": "i" + rand(6)}, ns="/", idem=key)
    assert r.status == 200, r
    kept = s.store_rows("idempotency")
    assert kept or time.time() - t0 > 1.0  # kept for idempotency_ttl (1 s)
    # Gone within the ttl plus a few sweep intervals.
    assert wait_for(lambda: not s.store_rows("idempotency"), timeout=10)
    j = job(s, "expire")
    assert j["state"] in ("queued", "running") and j["last_error"] is None
    # A repeat is now a new request: a duplicate name, not the kept answer.
    r2 = admin.post("/namespaces", {"name": r.data["name"]}, ns="/", idem=key)
    assert r2.status == 422, r2


def test_periodic_jobs_run_again_and_again(start_server):
    s = start_server(config=FAST)
    first = wait_for(lambda: job(s, "expire"))
    assert first is not None
    seen = set()

    def ran_often():
        j = job(s, "expire")
        seen.add(j["updated"])
        return len(seen) >= 4

    assert wait_for(ran_often, timeout=10)
    for kind in ("expire", "auditlog.purge", "jobs.purge"):
        j = job(s, kind)
        assert j["attempts"] <= 1 and j["last_error"] is None, j
        assert j["lease_owner"], j  # the server id of its last run


def test_audit_entries_past_retention_are_purged(start_server):
    """The entry is written by a server whose clock is two hours behind; the purge runs by
    the store's clock (on PostgreSQL the database's, which no server's clock moves), on a
    server whose clock is right: the entry is past its retention. The writing server's
    purge runs only a minute after its start (expire_interval's default): on PostgreSQL
    it would purge the entry by the database's clock before the test read it (a flake)."""
    s = start_server(config={"audit_retention": "1h"}, env=faked_clock("-2h"))
    admin = Client(s, s.token())
    r = admin.post("/namespaces", {"name": "p" + rand(6)}, ns="/")
    assert r.status == 200
    ids = wait_for(lambda: [e["ID"] for e in admin.get(
        "/auditlogs", ns="/", params={"q": 'objectID == "%s"' % r.data["ID"]}).data])
    assert ids
    s.stop()
    s.extra_env = {}
    s.config.write_text(s.config.read_text() + "".join(
        "%s = %s\n" % kv for kv in FAST.items()))  # now it purges often
    s.start()
    admin = Client(s, s.token())
    assert wait_for(lambda: admin.get("/auditlogs/" + ids[0], ns="/").status == 404)
    assert admin.get("/namespaces/" + r.data["ID"], ns="/").status == 200
    fresh = admin.get("/auditlogs", ns="/", params={"q": 'objectID == "%s"' % r.data["ID"]})
    assert fresh.status == 200 and fresh.data == [], fresh.data


def test_job_left_running_by_a_killed_server_is_taken_again(start_server):
    # A discovery run (API.md 7.5) of a port that never answers is a job that runs for its
    # time-out: kill -9 the server in the middle of it, and the item is left running under
    # the dead server's lease. The next server takes it once the lease has run out, and
    # the run ends; it is never left RUNNING.
    silent = silent_socket()
    try:
        s = start_server(config=dict(FAST, job_lease="6s"))  # a discovery run's lease
        admin = Client(s, s.token())
        run, dead = leased_run(admin, s, silent, "4s")
        assert dead["lease_ms"] == 6000, dead
        s.kill()  # kill -9: nothing is released
        killed = time.time()
        s.start()
        admin = Client(s, s.token())
        got = admin.ok(admin.get("/discoveryruns/" + run["ID"], ns="/"))
        if time.time() - killed < 5:  # (a slow start may have used the lease up)
            assert got["status"] == "RUNNING", got  # the dead server's lease holds

        def ended():
            r = admin.get("/discoveryruns/" + run["ID"], ns="/").data
            return r if r["status"] not in ("QUEUED", "RUNNING") else None

        got = wait_for(ended, timeout=60)
        assert got and got["status"] == "SUCCEEDED", got
        assert got["targetsScanned"] == 1 and got["errors"] == {"TIMEOUT": 1}, got
        rows = [r for r in s.store_rows("jobs") if r["kind"] == "discovery.run"]
        assert len(rows) == 1 and rows[0]["state"] == "done", rows
        assert rows[0]["lease_owner"] != dead["lease_owner"]  # the new server ran it
    finally:
        silent.close()
