"""Helpers for the Keyward black-box API tests: start a real server, talk to it.

Everything here is plain Python so test modules can `from kwtest import ...`; the pytest
fixtures that use it are in conftest.py.
"""

import base64
import http.client
import json
import os
import re
import secrets
import signal
import socket
import ssl
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import msgpack
import requests

from freeport import free_port  # noqa: F401 - the tests import it from here

REPO = Path(__file__).resolve().parents[2]


def _bin_path():
    b = os.environ.get("KEYWARD_BIN", "build/keyward")
    p = Path(b)
    if not p.is_absolute():
        p = (REPO / p) if not p.exists() else p.resolve()
    return p


KEYWARD_BIN = _bin_path()
IS_SANITIZED = "asan" in str(KEYWARD_BIN) or os.environ.get("KEYWARD_SANITIZED") == "1"
ADMIN_ACCOUNT = "admin"
ADMIN_PASSWORD = "kw-Test-admin-Passw0rd"
START_TIMEOUT = 60.0  # the ASan build is slow to start
STOP_TIMEOUT = 30.0
REQ_TIMEOUT = 60.0

# Config keys (docs/config.md); kept here so a rename is one edit.
CFG_MAX_BODY = "max_body_size"
CFG_MAX_DEPTH = "max_depth"
CFG_MAX_VALIDITY = "token_max_validity"

SANITIZER_MARKERS = (
    "ERROR: AddressSanitizer",
    "ERROR: LeakSanitizer",
    "AddressSanitizer:DEADLYSIGNAL",
    "runtime error:",
    "WARNING: ThreadSanitizer",
)

JSON_CT = "application/json; charset=UTF-8"
MSGPACK_CT = "application/msgpack"
ACCEPT_HDR = "application/json, application/msgpack"

HEX24 = re.compile(r"^[0-9a-f]{24}$")
HEX16 = re.compile(r"^[0-9a-f]{16}$")
RFC3339_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def rand(n=8):
    return secrets.token_hex(n // 2 + 1)[:n]


def wait_for(pred, timeout=15.0, step=0.1):
    """pred()'s first true value within `timeout` seconds, else its last (false) one."""
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


def silent_socket():
    """A loopback TCP port that accepts connections into its backlog and never reads: a
    discovery of it waits for its time-out."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    return sock


def leased_run(client, server, silent, timeout):
    """A discovery run of `silent` (silent_socket) started through `client`, once RUNNING:
    a job that holds its lease for `timeout`. Returns the run and its row in `server`'s jobs
    table (store-dump)."""
    d = client.ok(client.post("/discoveries", {
        "name": "k" + rand(6), "targets": ["127.0.0.1"],
        "ports": [str(silent.getsockname()[1])], "timeout": timeout}, ns="/"))
    run = client.ok(client.post("/discoveries/%s/discoveryruns" % d["ID"], {}, ns="/"))
    assert wait_for(lambda: client.get("/discoveryruns/" + run["ID"], ns="/").data[
        "status"] == "RUNNING", timeout=10)
    rows = [r for r in server.store_rows("jobs") if r["kind"] == "discovery.run"]
    assert len(rows) == 1 and rows[0]["state"] == "running", rows
    return run, rows[0]


def sanitizer_findings(text):
    return [m for m in SANITIZER_MARKERS if m in text]


# -- which store: KEYWARD_STORE (tests/run-api.sh) -------------------------------------
#
# sqlite (the default): a server's store is DATA/keyward.db, as without --store. pg:
# run-api.sh starts one PostgreSQL cluster for the run (KEYWARD_PG_DIR, made by
# tests/pg/pgctl.sh; KEYWARD_PG_URL is the URL of its database `keyward`), and each data dir
# gets a database of its own, made on first use and passed as --store: the same data dir is
# always the same database (a restarted server, two servers on one dir, store-dump).

STORE = os.environ.get("KEYWARD_STORE", "sqlite")
# pg2: as pg, and the session's server is two servers on one database; every Client sends
# its requests to each in turn (Server.peer, Client.request).
PG = STORE in ("pg", "pg2")
PG_DIR = os.environ.get("KEYWARD_PG_DIR")
PG_URL = os.environ.get("KEYWARD_PG_URL")
PGCTL = REPO / "tests" / "pg" / "pgctl.sh"
_pg_urls = {}  # resolved data dir -> URL of its database


def pg_psql(db, sql):
    """`sql` on database `db` as the cluster's superuser over its socket (pgctl.sh psql),
    unaligned, tuples only (-tA); returns stdout."""
    r = subprocess.run(["bash", str(PGCTL), "psql", PG_DIR, "-tA", "-d", db, "-c", sql],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, "psql on %s failed (%d): %s" % (db, r.returncode, r.stderr)
    return r.stdout


def store_url(data):
    """The store of data dir `data`: sqlite:DATA/keyward.db, or with KEYWARD_STORE=pg the URL
    of the database of its own, made (CREATE DATABASE kw_<pid>_<n>) on the first call."""
    if not PG:
        return "sqlite:%s" % (Path(data) / "keyward.db")
    key = Path(data).resolve()
    if key not in _pg_urls:
        name = "kw_%d_%d" % (os.getpid(), len(_pg_urls) + 1)
        pg_psql("keyward", "CREATE DATABASE %s OWNER keyward" % name)
        _pg_urls[key] = urlsplit(PG_URL)._replace(path="/" + name).geturl()
    return _pg_urls[key]


def faked_clock(offset):
    """The environment that runs a server with its wall clock moved by `offset` ("-30s",
    "+2h"), through Debian's libfaketime (the faketime package); its monotonic clock
    (deadlines, renewals) is left alone. ASan accepts the library loaded before it."""
    return {"LD_PRELOAD": "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1",
            "FAKETIME": offset, "FAKETIME_DONT_FAKE_MONOTONIC": "1",
            "ASAN_OPTIONS": "abort_on_error=0:detect_leaks=1:verify_asan_link_order=0"}


# -- what is at rest: `keyward store-dump` (docs/tools.md) ------------------------------
#
# Tests look at the store only through this tool, never by opening keyward.db: the same
# checks then hold for every store (PostgreSQL has no file to open).

def run_store_dump(data, *tables, config=None, store=None, check=True):
    """`keyward store-dump --data DATA [--config FILE] [--store URI] TABLE...` as a
    CompletedProcess (text); with check, assert exit 0 and no sanitizer report."""
    cmd = [str(KEYWARD_BIN), "store-dump", "--data", str(data)]
    if config is not None:
        cmd += ["--config", str(config)]
    if store is None:
        store = _pg_urls.get(Path(data).resolve())  # a server's database (pg), else none
    if store is not None:
        cmd += ["--store", store]
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "abort_on_error=0:detect_leaks=1")
    r = subprocess.run(cmd + list(tables), stdin=subprocess.DEVNULL, capture_output=True,
                       env=env, timeout=START_TIMEOUT, text=True, encoding="utf-8",
                       errors="surrogateescape")
    if check:
        found = sanitizer_findings(r.stderr)
        assert not found, "sanitizer report(s) %s in store-dump stderr:\n%s" % (found, r.stderr)
        assert r.returncode == 0, "store-dump exit %s: %s" % (r.returncode, r.stderr)
    return r


def store_dump(data, *tables, config=None):
    """Every stored row of `tables` (all when none), as [{"table": T, "row": {...}}]."""
    out = run_store_dump(data, *tables, config=config).stdout
    return [json.loads(line) for line in out.splitlines()]


def blob_bytes(v):
    """The bytes of a dumped value: a {"base64": ...} blob decoded, text as UTF-8."""
    if isinstance(v, dict) and set(v) == {"base64"}:
        return base64.b64decode(v["base64"])
    return v.encode() if isinstance(v, str) else None


def _blobs(v):
    if isinstance(v, dict):
        if set(v) == {"base64"} and isinstance(v["base64"], str):
            yield base64.b64decode(v["base64"])
            return
        for x in v.values():
            yield from _blobs(x)
    elif isinstance(v, list):
        for x in v:
            yield from _blobs(x)


def store_bytes(data, config=None):
    """Everything at rest as one bytes string, for "this secret appears nowhere" checks:
    the whole dump's text, then the decoded bytes of every blob in it (which the dump
    shows as base64), so that a secret in clear is found wherever it is stored."""
    out = run_store_dump(data, config=config).stdout
    parts = [out.encode("utf-8", "surrogateescape")]
    for line in out.splitlines():
        parts.extend(_blobs(json.loads(line)))
    return b"\n".join(parts)


class Server:
    """One `keyward server` process on a free loopback port with its own data dir."""

    def __init__(self, workdir, data=None, config=None, env=None,
                 admin_password=ADMIN_PASSWORD, port=None, args=None):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.data = Path(data) if data else self.workdir / "data"
        self.port = port or free_port()
        self.host = "127.0.0.1"
        self.config = None
        self.own_store = False  # a `store` in its config: no --store added (pg)
        self.peer = None  # pg2: the other server on the same database (Client alternates)
        if config is not None:
            self.config = self.workdir / ("keyward-%s.conf" % rand(6))
            lines = ["# written by the API tests"]
            for k, v in (config.items() if isinstance(config, dict) else config):
                lines.append("%s = %s" % (k, v))
                self.own_store = self.own_store or k == "store"
            self.config.write_text("\n".join(lines) + "\n")
        self.admin_password = admin_password
        self.extra_env = env or {}
        self.args = args
        self.proc = None
        self.rc = None
        self.n = 0
        self.stderr_path = None
        self.stdout_path = None
        self._stopped_checked = False

    # -- process ---------------------------------------------------------------------

    @property
    def url(self):
        return "https://%s:%d" % (self.host, self.port)

    @property
    def ca(self):
        return str(self.data / "tls" / "ca.pem")

    def command(self):
        if self.args is not None:
            return [str(KEYWARD_BIN)] + list(self.args)
        cmd = [str(KEYWARD_BIN), "server", "--listen", "%s:%d" % (self.host, self.port),
               "--data", str(self.data)]
        if self.config is not None:
            cmd += ["--config", str(self.config)]
        if PG and not self.own_store:
            cmd += ["--store", store_url(self.data)]
        return cmd

    def environ(self):
        env = dict(os.environ)
        env.pop("KEYWARD_ADMIN_PASSWORD", None)
        if self.admin_password is not None:
            env["KEYWARD_ADMIN_PASSWORD"] = self.admin_password
        # Make sanitizer reports fatal and visible; keep leak checking on.
        env.setdefault("ASAN_OPTIONS", "abort_on_error=0:detect_leaks=1")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
        env.update(self.extra_env)
        return env

    def spawn(self):
        """Start the process without waiting for readiness."""
        assert self.proc is None or self.proc.poll() is not None
        self.n += 1
        self.stderr_path = self.workdir / ("stderr-%d-%d.log" % (self.port, self.n))
        self.stdout_path = self.workdir / ("stdout-%d-%d.log" % (self.port, self.n))
        self.rc = None
        self._stopped_checked = False
        with open(self.stderr_path, "wb") as err, open(self.stdout_path, "wb") as out:
            self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=err, env=self.environ(), cwd=str(self.workdir))
        return self

    def start(self):
        self.spawn()
        self.wait_ready()
        return self

    def stderr(self):
        try:
            return self.stderr_path.read_text(errors="replace")
        except (OSError, AttributeError):
            return ""

    def stdout(self):
        try:
            return self.stdout_path.read_text(errors="replace")
        except (OSError, AttributeError):
            return ""

    def wait_ready(self, timeout=START_TIMEOUT):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            rc = self.proc.poll()
            if rc is not None:
                self.rc = rc
                raise AssertionError("keyward exited with %s before becoming ready; stderr:\n%s"
                                     % (rc, self.stderr()[-4000:]))
            if os.path.exists(self.ca):
                try:
                    s = self.session()
                    r = s.get(self.url + "/health", timeout=5)
                    s.close()
                    if r.status_code == 200:
                        return
                    last = "health %d" % r.status_code
                except Exception as e:  # not listening yet
                    last = repr(e)
            time.sleep(0.05)
        self.kill()
        raise AssertionError("keyward not ready after %.0fs (%s); stderr:\n%s"
                             % (timeout, last, self.stderr()[-4000:]))

    def wait_exit(self, timeout=START_TIMEOUT):
        self._stopped_checked = True
        try:
            self.rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("keyward did not exit within %.0fs; stderr:\n%s"
                                 % (timeout, self.stderr()[-4000:]))
        return self.rc

    def terminate(self, timeout=STOP_TIMEOUT):
        """SIGTERM and wait; returns the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("keyward ignored SIGTERM for %.0fs; stderr:\n%s"
                                 % (timeout, self.stderr()[-4000:]))
        return self.rc

    def stop(self, check=True):
        """SIGTERM; with check, assert a clean exit 0 and no sanitizer report."""
        rc = self.terminate()
        already = self._stopped_checked
        self._stopped_checked = True  # the caller took charge of this run's exit
        if check and not already:
            self.check_clean(rc)
        return rc

    def check_clean(self, rc):
        err = self.stderr()
        found = sanitizer_findings(err)
        assert not found, "sanitizer report(s) %s in keyward stderr:\n%s" % (found, err[-8000:])
        assert rc == 0, "keyward exit status %s after SIGTERM (want 0); stderr:\n%s" % (
            rc, err[-4000:])

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    # -- what is at rest -------------------------------------------------------------

    def store_dump(self, *tables):
        """The rows of `tables` (all when none) as [{"table": T, "row": {...}}], read by
        `keyward store-dump` (the server may be running)."""
        return store_dump(self.data, *tables, config=self.config)

    def store_rows(self, table):
        """The rows (column -> value dicts) of one table."""
        return [r["row"] for r in self.store_dump(table)]

    def store_bytes(self):
        """Everything at rest as bytes (see store_bytes())."""
        return store_bytes(self.data, config=self.config)

    # -- clients ---------------------------------------------------------------------

    def session(self):
        s = requests.Session()
        s.trust_env = False
        s.verify = self.ca
        return s

    def ssl_context(self, version=None):
        ctx = ssl.create_default_context(cafile=self.ca)
        if version is not None:
            ctx.minimum_version = version
            ctx.maximum_version = version
        return ctx

    def https_conn(self, version=None, timeout=REQ_TIMEOUT):
        return http.client.HTTPSConnection(self.host, self.port, timeout=timeout,
                                           context=self.ssl_context(version))

    def health(self):
        s = self.session()
        try:
            return s.get(self.url + "/health", timeout=REQ_TIMEOUT).status_code
        finally:
            s.close()

    def client(self, token=None):
        return Client(self, token)

    def issue(self, account=ADMIN_ACCOUNT, password=None, **kw):
        if password is None:
            password = self.admin_password
        c = Client(self)
        body = {"realm": "Vince", "metadata": {"vinceAccount": account, "vincePassword": password}}
        body.update(kw)
        return c.post("/issue", body, ns=None, token=None)

    def token(self, account=ADMIN_ACCOUNT, password=None, **kw):
        r = self.issue(account, password, **kw)
        assert r.status == 200, "/issue for %r failed: %s" % (account, r)
        return r.data["token"]

    def admin(self):
        return Client(self, self.token())


class Resp:
    def __init__(self, method, path, r):
        self.method = method
        self.path = path
        self.status = r.status_code
        self.headers = r.headers
        self.content = r.content
        self._data = None
        self._decoded = False

    @property
    def ctype(self):
        return self.headers.get("Content-Type", "")

    @property
    def data(self):
        if not self._decoded:
            self._decoded = True
            ct = self.ctype.split(";")[0].strip().lower()
            if not self.content:
                self._data = None
            elif ct == "application/msgpack":
                self._data = msgpack.unpackb(self.content, raw=False, strict_map_key=False)
            elif ct == "application/json":
                self._data = json.loads(self.content.decode("utf-8"))
            else:
                self._data = None
        return self._data

    def __repr__(self):
        body = self.content[:1500]
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            pass
        return "<%s %s -> %d %s %r>" % (self.method, self.path, self.status, self.ctype, body)


_DEFAULT = object()
NOBODY = object()


class Client:
    """A requests.Session bound to one server, with a token and JSON/MessagePack bodies."""

    def __init__(self, server, token=None, ns="/"):
        self.server = server
        self.token = token
        self.ns = ns
        self.http = server.session()
        self.turn = 0

    def target(self):
        """The server of the next request: with a peer (pg2), each in turn."""
        self.turn += 1
        peer = self.server.peer
        return peer if peer is not None and self.turn % 2 == 0 else self.server

    def with_token(self, token):
        return Client(self.server, token, self.ns)

    def request(self, method, path, body=NOBODY, *, ns=_DEFAULT, token=_DEFAULT, fmt="json",
                accept=_DEFAULT, content_type=_DEFAULT, headers=None, params=None, fields=None,
                idem=None, data=None, timeout=REQ_TIMEOUT):
        h = {}
        ns = self.ns if ns is _DEFAULT else ns
        token = self.token if token is _DEFAULT else token
        if ns is not None:
            h["X-Namespace"] = ns
        if token is not None:
            h["Authorization"] = "Bearer " + token
        if fmt == "msgpack":
            h["Accept"] = MSGPACK_CT
        if accept is not _DEFAULT and accept is not None:
            h["Accept"] = accept
        payload = data
        if body is not NOBODY:
            if fmt == "msgpack":
                payload = msgpack.packb(body, use_bin_type=True)
                h["Content-Type"] = MSGPACK_CT
            else:
                payload = json.dumps(body).encode()
                h["Content-Type"] = "application/json"
        if content_type is not _DEFAULT:
            if content_type is None:
                h.pop("Content-Type", None)
            else:
                h["Content-Type"] = content_type
        if fields:
            h["X-Fields"] = fields if isinstance(fields, str) else ", ".join(fields)
        if idem is not None:
            h["Idempotency-Key"] = idem
        if headers:
            h.update(headers)
        req = requests.Request(method, self.target().url + path, headers=h, params=params,
                               data=payload)
        prep = self.http.prepare_request(req)
        if payload is None and "Content-Type" not in h:
            prep.headers.pop("Content-Type", None)
        r = self.http.send(prep, timeout=timeout, allow_redirects=False)
        return Resp(method, prep.path_url, r)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def head(self, path, **kw):
        return self.request("HEAD", path, **kw)

    def post(self, path, body=NOBODY, **kw):
        return self.request("POST", path, body, **kw)

    def put(self, path, body=NOBODY, **kw):
        return self.request("PUT", path, body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    # -- shortcuts that must succeed -------------------------------------------------

    def ok(self, r, code=200):
        assert r.status == code, "expected %d, got %r" % (code, r)
        return r.data

    def mkns(self, parent, name=None, **attrs):
        """Create namespace `name` (bare) under `parent`; returns the object."""
        body = {"name": name or ("n" + rand(8))}
        body.update(attrs)
        return self.ok(self.post("/namespaces", body, ns=parent))

    def list(self, rest, ns, **kw):
        r = self.get("/" + rest, ns=ns, **kw)
        return self.ok(r)

    def names(self, rest, ns, **kw):
        return [o["name"] for o in self.list(rest, ns, **kw)]

    def mkaccount(self, ns, name=None, password=None, **attrs):
        name = name or ("u-" + rand(10))
        password = password or ("pw-" + rand(16))
        body = {"name": name, "password": password}
        body.update(attrs)
        obj = self.ok(self.post("/accounts", body, ns=ns))
        return name, password, obj

    def mkauthz(self, ns, subject, identities, authorized_ns=None, **attrs):
        body = {"name": "az-" + rand(8), "subject": subject,
                "authorizedIdentities": identities,
                "authorizedNamespace": authorized_ns or ns}
        body.update(attrs)
        return self.ok(self.post("/apiauthorizations", body, ns=ns))


# -- assertions ----------------------------------------------------------------------

def assert_error(r, code, title=None, description=None):
    """The error list of API.md section 2; returns the first error."""
    assert r.status == code, "expected %d, got %r" % (code, r)
    if r.method == "HEAD":
        return None
    body = r.data
    assert isinstance(body, list) and body, "error body is not a non-empty list: %r" % (r,)
    e = body[0]
    assert isinstance(e, dict), r
    assert e.get("code") == code and isinstance(e.get("code"), int), r
    assert isinstance(e.get("title"), str) and e["title"], r
    assert isinstance(e.get("description"), str) and e["description"], r
    assert isinstance(e.get("trace"), str) and HEX16.match(e["trace"]), r
    assert r.headers.get("X-Trace-Id") == e["trace"], \
        "X-Trace-Id %r != trace %r" % (r.headers.get("X-Trace-Id"), e["trace"])
    if title is not None:
        assert e["title"] == title, r
    if description is not None:
        assert e["description"] == description, r
    return e


def strip_traces(body):
    if isinstance(body, list):
        return [{k: v for k, v in e.items() if k != "trace"} if isinstance(e, dict) else e
                for e in body]
    return body


def parse_time(s):
    import datetime
    assert RFC3339_MS.match(s), "not RFC 3339 UTC with ms: %r" % s
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc)


# -- JWT -----------------------------------------------------------------------------

def b64u_decode(s):
    if isinstance(s, str):
        s = s.encode()
    return base64.urlsafe_b64decode(s + b"=" * (-len(s) % 4))


def b64u_encode(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def jwt_parts(token):
    h, p, s = token.split(".")
    return json.loads(b64u_decode(h)), json.loads(b64u_decode(p)), b64u_decode(s)


_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0,
             "m": 60.0, "h": 3600.0}


def go_duration(s):
    """Seconds in a Go duration string ("1h30m", "90s", "0")."""
    if s == "0":
        return 0.0
    m = re.fullmatch(r"((?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+", s)
    assert m, "not a Go duration: %r" % s
    total = 0.0
    for num, unit in re.findall(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)", s):
        total += float(num) * _GO_UNITS[unit]
    return total


# -- raw HTTP ------------------------------------------------------------------------

def raw_request(server, method, path, headers=(), body=None, version=None, timeout=REQ_TIMEOUT):
    """One request on a fresh connection with headers given as a list (repeats allowed).

    Returns (status, headers list, body bytes) or raises on a connection failure."""
    conn = server.https_conn(version, timeout)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for k, v in headers:
            conn.putheader(k, v)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders()
        if body is not None:
            try:
                conn.send(body)
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
                pass  # the server may answer and close before reading everything
        r = conn.getresponse()
        return r.status, r.getheaders(), r.read()
    finally:
        conn.close()


def make_ca(cn, days=3650):
    """A P-256 CA as tlsboot makes it: (certificate PEM, PKCS#8 key PEM)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Keyward"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                         False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))


def plant_client_ca(tls_dir):
    """Write tls/client-ca.pem and client-ca.key as a version before sealed CA keys did;
    returns the key PEM."""
    tls_dir = Path(tls_dir)
    tls_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    cert_pem, key_pem = make_ca("Keyward Client CA")
    (tls_dir / "client-ca.pem").write_bytes(cert_pem)
    key_file = tls_dir / "client-ca.key"
    key_file.write_bytes(key_pem)
    key_file.chmod(0o600)
    return key_pem
