"""Background jobs seen from outside: the periodic expiry and audit retention jobs run
(and are recorded in the store's jobs table), a store made by an older release is
migrated in place, and a job left running by a killed server is taken again.

The jobs table has no API: these tests read it with `keyward store-dump` (docs/tools.md).
Two of them must also forge a state no API can make (an audit entry older than the
shortest retention, an item left leased by a dead server): that write goes to the SQLite
file (forge_sqlite below), the one place a test here opens keyward.db.
"""
import sqlite3
import time

from kwtest import Client, Server, rand


def forge_sqlite(server, sql, args=()):
    """Write to the SQLite store directly: only to make a state the API cannot (see the
    module's docstring). With another store this has to become that store's own client."""
    c = sqlite3.connect(str(server.data / "keyward.db"), timeout=10)
    try:
        with c:
            return c.execute(sql, args).rowcount
    finally:
        c.close()


def wait_for(pred, timeout=15.0, step=0.1):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


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
    s = start_server(config=FAST)
    admin = Client(s, s.token())
    r = admin.post("/namespaces", {"name": "p" + rand(6)}, ns="/")
    assert r.status == 200
    ids = wait_for(lambda: [e["ID"] for e in admin.get(
        "/auditlogs", ns="/", params={"q": 'objectID == "%s"' % r.data["ID"]}).data])
    assert ids
    # Age one entry beyond audit_retention (its createTime column is what retention reads).
    assert forge_sqlite(s, 'UPDATE auditlogs SET "createTime" = 0 WHERE "ID" = ?', (ids[0],)) == 1
    assert wait_for(lambda: admin.get("/auditlogs/" + ids[0], ns="/").status == 404)
    assert admin.get("/namespaces/" + r.data["ID"], ns="/").status == 200


def test_job_left_running_by_a_killed_server_is_taken_again(start_server):
    s = start_server(config=FAST)
    assert wait_for(lambda: job(s, "expire"))
    s.kill()  # kill -9: nothing is released
    # What a server killed in the middle of a run leaves: the item running under its lease.
    lease_end = int(time.time() * 1000) + 4000
    assert forge_sqlite(s, "UPDATE jobs SET state = 'running', lease_owner = 'dead',"
                           " lease_token = 1, lease_until = ?1, run_at = ?1, attempts = 1"
                           " WHERE kind = 'expire'", (lease_end,)) == 1
    s.start()
    j = job(s, "expire")
    if time.time() * 1000 < lease_end - 500:  # (a slow start may have used the lease up)
        assert (j["state"], j["lease_owner"]) == ("running", "dead"), j  # the lease holds

    def taken():
        j = job(s, "expire")
        return j if j["lease_owner"] != "dead" and j["state"] == "queued" else None

    j = wait_for(taken, timeout=15)
    assert j, job(s, "expire")
    assert j["updated"] >= lease_end and j["attempts"] == 0 and j["last_error"] is None
