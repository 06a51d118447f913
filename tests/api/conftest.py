"""Fixtures for the Keyward black-box API tests.

- `server`: one `keyward server` for the whole session (fresh data dir, admin password from
  KEYWARD_ADMIN_PASSWORD). Its teardown sends SIGTERM and asserts exit status 0 and no
  sanitizer report on stderr. Its client CA is one made here, planted as the key files of
  an older version: the server imports it into the store and removes tls/client-ca.key;
  the fixture then puts the key back, for the tests that forge client certificates with
  the console's own CA (the server never reads it again while running).
- `admin`: a Client holding an admin token for `server`.
- `ns`: a fresh namespace /t-<random> under / for each test module.
- `start_server`: a factory for extra servers (own data dir, optional config dict); each is
  stopped and checked the same way at the end of the test.

With KEYWARD_STORE=pg (tests/run-api.sh) every server runs on a PostgreSQL database of its
own (kwtest.store_url); the tests marked `sqlite_only`, about the SQLite file itself, are
skipped then, and the summary says how many. With KEYWARD_STORE=pg2 the session's `server`
is two servers on one database (the second with the first's master key and public_url),
and every Client of it sends its requests to each in turn: the whole suite then checks that
a write on one is what the other reads.
"""

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from kwtest import (KEYWARD_BIN, PG, PG_DIR, PG_URL, STORE, Client, Server,  # noqa: E402
                    plant_client_ca, rand, store_url)

SQLITE_ONLY = "sqlite_only: about the SQLite file itself (KEYWARD_STORE=pg)"


def pytest_configure(config):
    if not KEYWARD_BIN.exists():
        raise pytest.UsageError("keyward binary %s not found (set KEYWARD_BIN or make it)"
                                % KEYWARD_BIN)
    if STORE not in ("sqlite", "pg", "pg2"):
        raise pytest.UsageError("KEYWARD_STORE=%s: want sqlite, pg or pg2" % STORE)
    if PG and not (PG_DIR and PG_URL):
        raise pytest.UsageError("KEYWARD_STORE=pg needs KEYWARD_PG_DIR and KEYWARD_PG_URL "
                                "(run tests/run-api.sh)")
    config.addinivalue_line("markers", "sqlite_only: a test of the SQLite file itself "
                                       "(corrupt file, file mode): skipped with KEYWARD_STORE=pg")


def pytest_collection_modifyitems(config, items):
    if PG:
        for item in items:
            if item.get_closest_marker("sqlite_only"):
                item.add_marker(pytest.mark.skip(reason=SQLITE_ONLY))


def pytest_terminal_summary(terminalreporter):
    if PG:
        n = sum(1 for r in terminalreporter.stats.get("skipped", [])
                if SQLITE_ONLY in str(r.longrepr))
        terminalreporter.write_line("store %s: %d test(s) skipped as sqlite_only" % (STORE, n))


def start_peer(first, workdir, config):
    """pg2: a second server on `first`'s database, with its master key and public_url."""
    peer = Server(workdir, config=dict(config, store=store_url(first.data),
                                       public_url=first.url))
    peer.data.mkdir(parents=True, mode=0o700)
    shutil.copy(first.data / "master.key", peer.data / "master.key")
    return peer.start()


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    # Every test speaks from 127.0.0.1: the per-address login brake (tested with servers
    # of its own in test_ratelimit.py) would couple unrelated tests' failed logins.
    config = {"login_failures_per_address_max": 0}
    s = Server(tmp_path_factory.mktemp("kw-main"), config=config)
    key_pem = plant_client_ca(s.data / "tls")
    s.start()
    key_file = s.data / "tls" / "client-ca.key"
    assert not key_file.exists(), "the client CA's key file was not imported and removed"
    key_file.write_bytes(key_pem)
    key_file.chmod(0o600)
    if STORE == "pg2":
        s.peer = start_peer(s, tmp_path_factory.mktemp("kw-peer"), config)
    yield s
    for one in (s, s.peer) if s.peer else (s,):
        assert one.alive(), "a shared keyward server died during the tests; stderr:\n%s" % (
            one.stderr()[-8000:])
        one.stop(check=True)


@pytest.fixture(scope="session")
def admin(server):
    return Client(server, server.token())


@pytest.fixture(scope="module")
def ns(admin):
    """A fresh namespace for this module, e.g. /t-1a2b3c4d."""
    obj = admin.mkns("/", "t-" + rand(8))
    return obj["name"]


@pytest.fixture
def start_server(tmp_path_factory):
    started = []

    def start(config=None, wait=True, **kw):
        s = Server(tmp_path_factory.mktemp("kw-extra"), config=config, **kw)
        s.expect_running = wait
        started.append(s)
        if wait:
            s.start()
        else:
            s.spawn()
        return s

    yield start
    errors = []
    for s in started:
        if s.proc is None or s._stopped_checked:
            continue
        if s.proc.poll() is not None:
            if s.expect_running:
                errors.append("extra keyward server exited with %s during the test; stderr:\n%s"
                              % (s.proc.returncode, s.stderr()[-4000:]))
            continue  # else: start-up failure tests check the exit themselves
        try:
            s.stop(check=True)
        except AssertionError as e:
            errors.append(str(e))
    assert not errors, "\n".join(errors)
