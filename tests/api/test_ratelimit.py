"""Brakes on password guessing and hashing floods (API.md section 2: 429 with Retry-After).

Each test starts its own server with small limits, so the shared server's counters (and the
rest of the suite) are not involved. Settings: docs/config.md."""
import threading
import time

import pytest

from kwtest import assert_error, rand

N = 3          # failures that lock an account
LOCKOUT = 2    # seconds
TOKEN_URL = "/oauth2/access_token"


def limited(start_server, **extra):
    cfg = {"login_failures_max": N, "login_failures_per_address_max": 1000,
           "login_failure_window": "1h", "login_lockout": "%ds" % LOCKOUT}
    cfg.update(extra)
    return start_server(cfg)


def assert_429(r, max_wait=LOCKOUT):
    e = assert_error(r, 429, "Too Many Requests")
    ra = r.headers.get("Retry-After", "")
    assert ra.isdigit() and 1 <= int(ra) <= max_wait, "Retry-After %r" % ra
    return e


def audit_status(admin, trace):
    for _ in range(50):  # failures are recorded just after the answer
        r = admin.get("/auditlogs", ns="/", params={"q": 'trace == "%s"' % trace})
        assert r.status == 200, r
        if r.data:
            return r.data[0]["status"]
        time.sleep(0.05)
    return None


def test_lockout_refuses_even_the_right_password(start_server):
    s = limited(start_server)
    admin = s.admin()
    name, pw, _ = admin.mkaccount("/")
    for _ in range(N):
        assert_error(s.issue(name, "wrong-" + rand(6)), 401)
    r = s.issue(name, pw)
    assert_429(r)
    assert "token" not in r.content.decode()
    assert audit_status(admin, r.headers["X-Trace-Id"]) == 429
    # Still locked: the refused attempt did not check, nor count.
    assert_429(s.issue(name, "wrong-again"))


def test_lockout_ends(start_server):
    s = limited(start_server)
    name, pw, _ = s.admin().mkaccount("/")
    for _ in range(N):
        assert_error(s.issue(name, "wrong-" + rand(6)), 401)
    r = s.issue(name, pw)
    assert_429(r)
    time.sleep(int(r.headers["Retry-After"]) + 0.2)
    assert s.issue(name, pw).status == 200


def test_unknown_accounts_lock_the_same_way(start_server):
    """A lock-out does not tell which account names exist."""
    s = limited(start_server)
    ghost = "nosuch-" + rand(8)
    for _ in range(N):
        assert_error(s.issue(ghost, "whatever-pw"), 401, description="Invalid credentials")
    assert_429(s.issue(ghost, "whatever-pw"))


def test_one_account_does_not_lock_another(start_server):
    s = limited(start_server)
    admin = s.admin()
    a, apw, _ = admin.mkaccount("/")
    b, bpw, _ = admin.mkaccount("/")
    for _ in range(N):
        assert_error(s.issue(a, "wrong-" + rand(6)), 401)
    assert_429(s.issue(a, apw))
    assert_error(s.issue(b, "wrong-" + rand(6)), 401)
    assert s.issue(b, bpw).status == 200


def test_success_resets_the_count(start_server):
    s = limited(start_server)
    name, pw, _ = s.admin().mkaccount("/")
    for _ in range(3):
        for _ in range(N - 1):
            assert_error(s.issue(name, "wrong-" + rand(6)), 401)
        assert s.issue(name, pw).status == 200
    for _ in range(N):
        assert_error(s.issue(name, "wrong-" + rand(6)), 401)
    assert_429(s.issue(name, pw))


def test_address_limit(start_server):
    """Failures spread over accounts lock the client address (per-address limit < 2N)."""
    per_address = N + 1
    s = limited(start_server, login_failures_per_address_max=per_address)
    admin = s.admin()
    a, _, _ = admin.mkaccount("/")
    b, bpw, _ = admin.mkaccount("/")
    c, cpw, _ = admin.mkaccount("/")
    for _ in range(N - 1):
        assert_error(s.issue(a, "wrong-" + rand(6)), 401)
    assert_error(s.issue(b, "wrong-" + rand(6)), 401)
    assert_error(s.issue(c, "wrong-" + rand(6)), 401)  # the address's N+1th failure
    # No account is locked, the address is: right passwords are refused unchecked.
    assert_429(s.issue(b, bpw))
    assert_429(s.issue(c, cpw))
    assert_429(s.issue("nosuch-" + rand(8), "x"))
    # Tokens already issued still work: only logins are braked.
    assert admin.get("/namespaces", ns="/").status == 200
    time.sleep(LOCKOUT + 0.2)
    assert s.issue(b, bpw).status == 200


def test_oauth2_client_is_braked(start_server):
    s = limited(start_server)
    admin = s.admin()
    sa = admin.ok(admin.post("/serviceaccounts", {"name": "sa-" + rand(6)}, ns="/"))
    sess = s.session()

    def token(secret):
        return sess.post(s.url + TOKEN_URL, data={"grant_type": "client_credentials"},
                         auth=(sa["clientID"], secret))

    for _ in range(N):
        r = token("wrong-" + rand(6))
        assert r.status_code == 401 and r.json()["error"] == "invalid_client", r.text
    r = token(sa["clientSecret"])
    assert r.status_code == 429, r.text
    assert r.headers.get("Retry-After", "").isdigit(), r.headers
    assert int(r.headers["Retry-After"]) >= 1
    assert r.json()["error"] == "temporarily_unavailable"
    assert r.headers.get("Cache-Control") == "no-store"
    assert "access_token" not in r.text
    time.sleep(int(r.headers["Retry-After"]) + 0.2)
    assert token(sa["clientSecret"]).status_code == 200
    sess.close()


def test_hashing_flood_is_refused_not_queued(start_server):
    """40 concurrent password logins, one hashing slot, many worker threads: some are told to
    come back (429, Retry-After: 1), none fails, and the server stays responsive."""
    s = start_server({"max_concurrent_hashes": 1, "threads": 16,
                      "login_failures_max": 0, "login_failures_per_address_max": 0})
    admin = s.admin()
    name, pw, _ = admin.mkaccount("/")
    results = []
    lock = threading.Lock()
    barrier = threading.Barrier(40)

    def worker():
        barrier.wait()
        for _ in range(2):
            r = s.issue(name, pw)
            with lock:
                results.append(r)

    threads = [threading.Thread(target=worker) for _ in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    assert len(results) == 80
    codes = sorted(r.status for r in results)
    assert not [c for c in codes if c >= 500], codes
    assert set(codes) <= {200, 429}, codes
    assert 429 in codes, codes
    assert 200 in codes, codes
    for r in results:
        if r.status == 429:
            assert_429(r, max_wait=1)
    assert s.health() == 200
    t0 = time.monotonic()
    assert admin.get("/namespaces", ns="/").status == 200
    assert time.monotonic() - t0 < 2.0
    assert s.issue(name, pw).status == 200


SETTINGS = [
    # name, lowest accepted, highest accepted, one below, one above
    ("login_failures_max", "0", "1000000", "-1", "1000001"),
    ("login_failures_per_address_max", "0", "1000000", "-1", "1000001"),
    ("login_failure_window", "1s", "24h", "999ms", "86400001ms"),
    ("login_lockout", "1s", "24h", "999ms", "86400001ms"),
    ("max_concurrent_hashes", "1", "256", "0", "257"),
]


@pytest.mark.parametrize("which", [1, 2], ids=["lowest", "highest"])
def test_settings_at_their_limits_are_accepted(start_server, which):
    s = start_server({row[0]: row[which] for row in SETTINGS})
    assert s.issue().status == 200


@pytest.mark.parametrize("name,past", [(row[0], row[i]) for row in SETTINGS for i in (3, 4)])
def test_settings_past_their_limits_are_refused(start_server, name, past):
    s = start_server({name: past}, wait=False)
    assert s.wait_exit() != 0
    assert name in s.stderr()
