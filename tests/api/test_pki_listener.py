"""The plain-HTTP listener of the public PKI routes (API.md 7.4; docs/config.md, "Plain HTTP
for the public PKI routes").

With `pki_listen` set, a second port speaks HTTP without TLS and serves `/pki/*` alone:
every other path is the routing 404, whatever the token. Its connections live under the
same rules as HTTPS ones (header_timeout, body_min_rate, connection_timeout, keep-alive,
max_connections). Without the setting, the server listens on its HTTPS port only.

Until the issuance module serves CAs, any /pki/ path answers its own 404 ("Unknown
certificate authority"); the tests tell it from the routing 404 ("Unknown API path") by the
description, so they hold once real CAs are served too.
"""

import http.client
import json
import os
import socket
import ssl
import subprocess
import time

import pytest
import requests

from kwtest import JSON_CT, KEYWARD_BIN, Resp, Server, assert_error, free_port, strip_traces
from test_lifecycle import assert_clean_failure

CA_ID = "0123456789abcdef01234567"  # 24 hex: the shape of a CA's ID, no such CA
PKI_PATHS = ["/pki/%s/ca.pem" % CA_ID, "/pki/%s/ca.crt" % CA_ID, "/pki/%s/crl" % CA_ID,
             "/v/1/pki/%s/ca.pem" % CA_ID]
UNKNOWN = "Unknown API path"
PROMPT = 5.0


def plain_server(workdir, **config):
    """A Server with pki_listen on a free loopback port (s.pki_port), not started."""
    port = free_port()
    config.setdefault("pki_listen", "127.0.0.1:%d" % port)
    s = Server(workdir, config=config)
    s.pki_port = port
    return s


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    s = plain_server(tmp_path_factory.mktemp("kw-pki")).start()
    yield s
    s.stop(check=True)


@pytest.fixture(scope="module")
def pki_token(pki):
    return pki.token()


def plain(s, method, path, body=None, headers=None):
    """One request over plain HTTP to the PKI listener, as a kwtest.Resp."""
    with requests.Session() as h:
        h.trust_env = False
        r = h.request(method, "http://127.0.0.1:%d%s" % (s.pki_port, path), data=body,
                      headers=headers or {}, timeout=30, allow_redirects=False)
    return Resp(method, path, r)


def assert_pki_route(r):
    """The answer came from the /pki/ row, not from routing (API.md 7.4)."""
    assert r.status != 404 or r.data[0]["description"] != UNKNOWN, r
    if r.status >= 400:
        assert_error(r, r.status)


def listening_ports(pid):
    """The TCP ports the process `pid` listens on (from /proc)."""
    inodes = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:["):-1])
    ports = set()
    for table in ("tcp", "tcp6"):
        with open("/proc/%d/net/%s" % (pid, table)) as f:
            next(f)
            for line in f:
                fields = line.split()
                local, state, inode = fields[1], fields[3], fields[9]
                if state == "0A" and inode in inodes:  # 0A: LISTEN
                    ports.add(int(local.rsplit(":", 1)[1], 16))
    return ports


def closed_by_server(sock, timeout):
    sock.settimeout(timeout)
    try:
        return sock.recv(1) == b""
    except socket.timeout:
        return False
    except OSError:
        return True


def read_until_closed(sock, timeout=PROMPT + 25):
    """Everything the server sends until it closes (or `timeout` passes)."""
    sock.settimeout(timeout)
    data = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except (socket.timeout, ConnectionResetError):
        pass
    return data


def raw_plain(s):
    return socket.create_connection(("127.0.0.1", s.pki_port), timeout=10)


# -- what the plain listener serves ---------------------------------------------------

@pytest.mark.parametrize("path", PKI_PATHS)
def test_pki_routes_are_served_over_plain_http(pki, path):
    r = plain(pki, "GET", path)
    assert_pki_route(r)
    assert r.ctype == JSON_CT or r.status < 400, r


@pytest.mark.parametrize("path", PKI_PATHS[:1])
def test_pki_routes_answer_alike_over_https(pki, path):
    """The same route on HTTPS gives the same answer (trace ids aside)."""
    over_plain = plain(pki, "GET", path)
    over_tls = pki.client().get(path, ns=None, token=None)
    assert_pki_route(over_tls)
    assert over_tls.status == over_plain.status
    assert strip_traces(over_tls.data) == strip_traces(over_plain.data)


def test_unknown_ca_is_the_error_list_over_plain_http(pki):
    r = plain(pki, "GET", "/pki/%s/ca.pem" % CA_ID)
    e = assert_error(r, 404)
    assert e["description"] != UNKNOWN, r


@pytest.mark.parametrize("method,path,body", [
    ("GET", "/health", None),
    ("HEAD", "/health", None),
    ("POST", "/issue", {"realm": "Vince", "metadata": {"vinceAccount": "admin",
                                                       "vincePassword": "x"}}),
    ("GET", "/namespaces", None),
    ("POST", "/namespaces", {"name": "nope"}),
    ("GET", "/openapi.json", None),
    ("GET", "/.well-known/jwks.json", None),
    ("GET", "/v/1/health", None),
    ("GET", "/pki", None),
    ("GET", "/pkix/%s/crl" % CA_ID, None),
])
def test_other_routes_are_404_over_plain_http(pki, pki_token, method, path, body):
    """Nothing but /pki/ is served there, not even with a valid token."""
    headers = {"Authorization": "Bearer " + pki_token, "X-Namespace": "/"}
    if body is not None:
        headers["Content-Type"] = "application/json"
        body = json.dumps(body).encode()
    r = plain(pki, method, path, body, headers)
    assert_error(r, 404, description=UNKNOWN)  # for HEAD: the status alone
    if method != "HEAD":
        assert r.ctype == JSON_CT
    if body is not None:  # whatever the body's type (it was 415 first: a review)
        headers["Content-Type"] = "application/ocsp-request"
        assert_error(plain(pki, method, path, b"x", headers), 404, description=UNKNOWN)


def test_nothing_was_created_over_plain_http(pki):
    names = [n["name"] for n in pki.admin().list("namespaces", "/")]
    assert "/nope" not in names


def test_keep_alive_over_plain_http(pki):
    conn = http.client.HTTPConnection("127.0.0.1", pki.pki_port, timeout=30)
    try:
        conn.request("GET", PKI_PATHS[0])
        r1 = conn.getresponse()
        body1 = r1.read()
        sock = conn.sock
        assert sock is not None and r1.getheader("Connection") is None, r1.getheaders()
        conn.request("GET", "/health")
        r2 = conn.getresponse()
        body2 = r2.read()
        assert conn.sock is sock, "the second request needed a new connection"
        assert json.loads(body1)[0]["description"] != UNKNOWN
        assert r2.status == 404 and json.loads(body2)[0]["description"] == UNKNOWN
    finally:
        conn.close()


def test_pipelined_requests_over_plain_http(pki):
    one = b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % PKI_PATHS[0].encode()
    last = b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    with raw_plain(pki) as sock:
        sock.sendall(one * 3 + last)
        data = read_until_closed(sock)
    assert data.count(b"HTTP/1.1 ") == 4, data[:600]
    assert data.count(UNKNOWN.encode()) == 1, data[:600]


def test_framing_error_is_answered_and_closes(pki):
    with raw_plain(pki) as sock:
        sock.sendall(b"GET /pki/x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")
        t0 = time.monotonic()
        data = read_until_closed(sock)
    assert data.startswith(b"HTTP/1.1 400 "), data[:300]
    assert b"Connection: close" in data and b'"code":400' in data
    assert time.monotonic() - t0 < PROMPT


def test_oversized_body_is_413_and_the_answer_arrives(pki):
    """The answer is read before the close, though the client still sends its body
    (the lingering close, here a shutdown of the writing side instead of close_notify)."""
    with raw_plain(pki) as sock:
        sock.sendall(b"POST /pki/%s/ocsp HTTP/1.1\r\nHost: x\r\nContent-Type: "
                     b"application/ocsp-request\r\nContent-Length: 100000000\r\n\r\n"
                     % CA_ID.encode())
        try:
            sock.sendall(b"\0" * 200000)
        except OSError:
            pass
        data = read_until_closed(sock)
    assert data.startswith(b"HTTP/1.1 413 "), data[:300]


def test_expect_continue_over_plain_http(pki):
    body = b"\x30\x03\x02\x01\x00"
    with raw_plain(pki) as sock:
        sock.sendall(b"POST /pki/%s/ocsp HTTP/1.1\r\nHost: x\r\nContent-Type: "
                     b"application/ocsp-request\r\nExpect: 100-continue\r\n"
                     b"Content-Length: %d\r\n\r\n" % (CA_ID.encode(), len(body)))
        sock.settimeout(10)
        assert sock.recv(4096).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        sock.sendall(body)
        data = sock.recv(65536)
    assert data.startswith(b"HTTP/1.1 "), data[:300]
    assert UNKNOWN.encode() not in data


# -- the two ports do not mix -------------------------------------------------------

def test_tls_to_the_plain_port_fails_cleanly(pki):
    ctx = pki.ssl_context()
    with raw_plain(pki) as raw:
        with pytest.raises((ssl.SSLError, ConnectionResetError)):
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as t:
                t.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
                t.recv(100)
    assert_pki_route(plain(pki, "GET", PKI_PATHS[0]))


def test_plain_http_to_the_https_port_fails_cleanly(pki):
    with socket.create_connection((pki.host, pki.port), timeout=10) as sock:
        sock.sendall(b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % PKI_PATHS[0].encode())
        data = read_until_closed(sock, timeout=10)
    assert not data.startswith(b"HTTP/"), data[:300]
    assert pki.health() == 200


# -- what is listening --------------------------------------------------------------

def test_listens_on_both_ports_and_says_so(pki):
    assert listening_ports(pki.proc.pid) == {pki.port, pki.pki_port}
    err = pki.stderr()
    assert "PKI routes also over plain HTTP on http://127.0.0.1:%d/pki/" % pki.pki_port in err
    assert "PKI routes under http://127.0.0.1:%d/pki/" % pki.pki_port in err


def test_without_pki_listen_only_https_listens(start_server):
    s = start_server()
    assert listening_ports(s.proc.pid) == {s.port}
    assert "plain HTTP on" not in s.stderr()
    assert "PKI routes under https://127.0.0.1:%d/pki/" % s.port in s.stderr()


def test_pki_listen_as_an_option_and_pki_url(tmp_path):
    """--pki-listen works as the setting does; on every address, pki_url names the base."""
    port, pki_port = free_port(), free_port()
    s = Server(tmp_path / "w", data=tmp_path / "d", port=port,
               config={"pki_url": "http://pki.example.test/"},
               args=["server", "--listen", "127.0.0.1:%d" % port, "--pki-listen",
                     "0.0.0.0:%d" % pki_port, "--data", str(tmp_path / "d")])
    s.pki_port = pki_port
    s.args += ["--config", str(s.config)]
    s.start()
    try:
        assert listening_ports(s.proc.pid) == {port, pki_port}
        assert "PKI routes under http://pki.example.test/pki/\n" in s.stderr()
        assert_pki_route(plain(s, "GET", PKI_PATHS[0]))
    finally:
        s.stop(check=True)


# -- slow clients on the plain listener ----------------------------------------------

@pytest.fixture(scope="module")
def slow(tmp_path_factory):
    s = plain_server(tmp_path_factory.mktemp("kw-pki-slow"), header_timeout="1s",
                     connection_timeout="1s", body_min_rate=1000).start()
    yield s
    s.stop(check=True)


def test_trickled_headers_are_cut_at_header_timeout(slow):
    with raw_plain(slow) as sock:
        t0 = time.monotonic()
        closed = False
        try:
            for b in b"GET /pki/%s/crl HTTP/1.1\r\nHost: x\r\nX-Slow: " % CA_ID.encode() + \
                    b"a" * 200:
                sock.sendall(bytes([b]))  # a byte every 50 ms: never idle, never done
                time.sleep(0.05)
                if time.monotonic() - t0 > 8:
                    break
        except OSError:
            closed = True
        closed = closed or closed_by_server(sock, 5)
        assert closed, "a client trickling its headers was never cut off"
        assert time.monotonic() - t0 < 8
    assert_pki_route(plain(slow, "GET", PKI_PATHS[0]))


def test_silent_connection_is_cut_at_header_timeout(slow):
    with raw_plain(slow) as sock:
        t0 = time.monotonic()
        assert closed_by_server(sock, 10)
        assert time.monotonic() - t0 < 5


def test_trickled_body_below_min_rate_is_cut(slow):
    with raw_plain(slow) as sock:
        sock.sendall(b"POST /pki/%s/ocsp HTTP/1.1\r\nHost: x\r\nContent-Type: "
                     b"application/ocsp-request\r\nContent-Length: 100000\r\n\r\n"
                     % CA_ID.encode())
        t0 = time.monotonic()
        closed = False
        try:
            while time.monotonic() - t0 < 10:
                sock.sendall(b"a" * 10)  # 200 bytes/s, under the 1000 asked
                time.sleep(0.05)
        except OSError:
            closed = True
        closed = closed or closed_by_server(sock, 5)
        assert closed and time.monotonic() - t0 < 10


def test_idle_keep_alive_is_closed_after_connection_timeout(slow):
    with raw_plain(slow) as sock:
        sock.sendall(b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % PKI_PATHS[0].encode())
        sock.settimeout(5)
        assert sock.recv(4096).startswith(b"HTTP/1.1 ")
        t0 = time.monotonic()
        assert closed_by_server(sock, 10)
        assert time.monotonic() - t0 < 5


def test_silent_plain_connections_cannot_lock_others_out(tmp_path):
    """Plain connections count in max_connections and make room like TLS ones: a flood
    of silent ones on the PKI port starves neither port."""
    s = plain_server(tmp_path, max_connections=30, header_timeout="60s").start()
    held = []
    try:
        for _ in range(90):
            held.append(raw_plain(s))
        # Wait until the server has taken the whole flood (nothing more is closed to
        # make room for a while): a busy machine may take a moment to accept it all.
        closed, quiet_since, deadline = set(), time.monotonic(), time.monotonic() + 20
        while time.monotonic() - quiet_since < 1 and time.monotonic() < deadline:
            more = {i for i, t in enumerate(held) if i not in closed and closed_by_server(t, 0.01)}
            if more:
                closed |= more
                quiet_since = time.monotonic()
        assert len(closed) >= 50, "only %d silent plain connections made room" % len(closed)
        for _ in range(3):
            assert s.health() == 200
            assert_pki_route(plain(s, "GET", PKI_PATHS[0]))
    finally:
        for t in held:
            t.close()
        s.stop(check=True)


# -- bad settings ----------------------------------------------------------------------

def test_keyward_config_shows_the_pki_url_certificates_will_name(tmp_path):
    """Without pki_listen, issued certificates name public_url's /pki/ routes: keyward config
    says so (a new user's review: it printed "pki_url = " as if none would be named)."""
    data = tmp_path / "d"
    data.mkdir(mode=0o700)
    (data / "keyward.conf").write_text("listen = 127.0.0.1:34643\n")

    def shown(*extra):
        r = subprocess.run([str(KEYWARD_BIN), "config", "--data", str(data), *extra],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        return r.stdout
    # pki_url stays empty (a file saved from this output keeps following pki_listen), and
    # the line after it says what certificates name then.
    out = shown()
    assert "\npki_url = \n#   (empty: issued certificates name https://127.0.0.1:34643/pki/" \
        in out, out
    assert "\npki_url = http://127.0.0.1:34644\n" in shown("--pki-listen", "127.0.0.1:34644")
    (data / "keyward.conf").write_text("listen = 127.0.0.1:34643\npki_url = http://crl.test\n")
    out = shown()
    assert "\npki_url = http://crl.test\n" in out and "(empty:" not in out, out


@pytest.mark.parametrize("config,hints", [
    ({"pki_listen": "127.0.0.1"}, ("pki_listen", "ADDR:PORT")),
    ({"pki_listen": "localhost:8080"}, ("pki_listen", "IP address")),
    ({"pki_listen": "127.0.0.1:99999"}, ("pki_listen", "ADDR:PORT")),
    ({"pki_listen": "0.0.0.0:{free}"}, ("pki_listen", "pki_url")),
    ({"pki_listen": "[::]:{free}"}, ("pki_listen", "pki_url")),
    ({"pki_listen": "127.0.0.1:{port}"}, ("pki_listen", "port")),
    ({"pki_listen": "127.0.0.2:{port}"}, ("pki_listen", "port")),
    ({"pki_url": "crl.example.test"}, ("pki_url", "URL")),
    ({"pki_url": "ftp://crl.example.test"}, ("pki_url", "URL")),
    ({"pki_url": "http://"}, ("pki_url", "URL")),
    ({"pki_url": "http://crl example.test"}, ("pki_url", "URL")),
])
def test_bad_settings_fail_at_start(tmp_path, config, hints):
    port = free_port()
    config = {k: v.format(port=port, free=free_port()) for k, v in config.items()}
    s = Server(tmp_path / "w", port=port, config=config)
    s.spawn()
    assert_clean_failure(s, *hints)
    assert all(h.lower() in s.stderr().lower() for h in hints), s.stderr()


def test_pki_listen_in_use_fails_at_start(tmp_path):
    s = plain_server(tmp_path / "w").start()
    s.stop(check=True)  # the data dir is initialised: only the port problem is left
    blocker = socket.socket()
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    blocker.bind(("127.0.0.1", s.pki_port))
    blocker.listen(1)
    try:
        s.spawn()
        assert_clean_failure(s, "pki_listen")
        assert "in use" in s.stderr() and str(s.pki_port) in s.stderr(), s.stderr()
    finally:
        blocker.close()
