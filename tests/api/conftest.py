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
"""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from kwtest import KEYWARD_BIN, Client, Server, plant_client_ca, rand  # noqa: E402


def pytest_configure(config):
    if not KEYWARD_BIN.exists():
        raise pytest.UsageError("keyward binary %s not found (set KEYWARD_BIN or make it)"
                                % KEYWARD_BIN)


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    # Every test speaks from 127.0.0.1: the per-address login brake (tested with servers
    # of its own in test_ratelimit.py) would couple unrelated tests' failed logins.
    s = Server(tmp_path_factory.mktemp("kw-main"), config={"login_failures_per_address_max": 0})
    key_pem = plant_client_ca(s.data / "tls")
    s.start()
    key_file = s.data / "tls" / "client-ca.key"
    assert not key_file.exists(), "the client CA's key file was not imported and removed"
    key_file.write_bytes(key_pem)
    key_file.chmod(0o600)
    yield s
    assert s.alive(), "the shared keyward server died during the tests; stderr:\n%s" % (
        s.stderr()[-8000:])
    s.stop(check=True)


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
