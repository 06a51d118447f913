"""text/csv on list endpoints (API.md 7.3) and the streamed answers under it (docs/http.md).

CSV bodies are parsed with Python's csv module (RFC 4180 dialect: CRLF rows, doubled
quotes); the raw bytes are checked where the exact encoding matters."""

import concurrent.futures
import csv
import io
import socket
import ssl
import time

import pytest

from kwtest import assert_error, rand

CSV = "text/csv"
DEFAULT_COLUMNS = ["ID", "name", "namespace", "createTime", "updateTime"]


def rows(r):
    assert r.status == 200, r
    assert r.ctype == "text/csv; charset=UTF-8", r
    text = r.content.decode("utf-8")
    assert text.endswith("\r\n"), r
    # Every row ends with CRLF; LF alone appears only inside quoted cells.
    return list(csv.reader(io.StringIO(text, newline="")))


def as_dicts(table):
    head, body = table[0], table[1:]
    return [dict(zip(head, row)) for row in body]


@pytest.fixture(scope="module")
def seeded(admin, ns):
    """Namespaces below the module's namespace with awkward descriptions and tags."""
    descs = ["plain", "a,b", 'say "hi"', "two\nlines", "cr\r\nlf", "=1+1", "+1", "-1",
             "@SUM(A1)", "a=b", ""]
    made = []
    for i, d in enumerate(descs):
        made.append(admin.mkns(ns, "c%02d" % i, description=d,
                               associatedTags=["k=v%d" % i, "x=y"]))
    return made


def test_default_columns(admin, ns, seeded):
    r = admin.get("/namespaces", ns=ns, accept=CSV)
    t = rows(r)
    assert t[0] == DEFAULT_COLUMNS
    got = as_dicts(t)
    assert [g["name"] for g in got] == [o["name"] for o in seeded]
    for g, o in zip(got, seeded):
        assert g == {k: o[k] for k in DEFAULT_COLUMNS}
    assert r.headers["X-Count-Total"] == str(len(seeded))
    assert r.content.startswith(b"ID,name,namespace,createTime,updateTime\r\n")


def test_default_columns_say_what_the_objects_are(admin, ns):
    """Without X-Fields, a resource's CSV shows what it is about, not only its IDs and
    times (a review: deliveries and policies showed ID, namespace and two times)."""
    admin.ok(admin.post("/monitoringpolicies", {"expiringWithinDays": 12}, ns=ns))
    t = rows(admin.get("/monitoringpolicies", ns=ns, accept=CSV))
    assert {"expiringWithinDays", "minimumRSAKeySize", "maximumValidityDays"} <= set(t[0]), t
    assert as_dicts(t)[0]["expiringWithinDays"] == "12"
    t = rows(admin.get("/webhookdeliveries", ns=ns, accept=CSV))
    assert {"event", "status", "attempts", "lastError", "webhookID"} <= set(t[0]), t


def test_x_fields_columns_in_their_order(admin, ns, seeded):
    r = admin.get("/namespaces", ns=ns, accept=CSV, fields="description,name,nothing,protected")
    t = rows(r)
    assert t[0] == ["description", "name", "nothing", "protected"]
    first = t[1]
    assert first == ["plain", seeded[0]["name"], "", "false"]


def test_quoting_and_formula_guard(admin, ns, seeded):
    r = admin.get("/namespaces", ns=ns, accept=CSV, fields="description")
    t = rows(r)
    got = [row[0] for row in t[1:]]
    assert got == ["plain", "a,b", 'say "hi"', "two\nlines", "cr\r\nlf", "'=1+1", "'+1", "'-1",
                   "'@SUM(A1)", "a=b", ""]
    body = r.content
    assert b'\r\n"a,b"\r\n' in body
    assert b'\r\n"say ""hi"""\r\n' in body
    assert b'\r\n"two\nlines"\r\n' in body
    assert b"\r\n'=1+1\r\n" in body


def test_lists_joined_with_semicolons(admin, ns, seeded):
    t = rows(admin.get("/namespaces", ns=ns, accept=CSV, fields="name,associatedTags",
                       params={"order": "name"}))
    assert t[1] == [seeded[0]["name"], "k=v0;x=y"]


def test_no_formula_hides_behind_a_separator(start_server):
    """Spreadsheets of locales whose list separator is ';' (or that split on TAB) make a
    cell of what follows one: cells holding either are quoted, and each element of a list
    is guarded as a cell is (a list's later element or a description after ';' came out
    as a bare formula: black-box review 8)."""
    admin = start_server().admin()
    box = admin.mkns("/", "sep-" + rand(6))["name"]
    o = admin.mkns(box, "x", description="safe;=1+1", associatedTags=["a=b", "@cmd=1", "-x=1"])
    r = admin.get("/namespaces", ns=box, accept=CSV, fields="name,description,associatedTags")
    t = rows(r)
    assert t[1] == [o["name"], "safe;=1+1", "a=b;'@cmd=1;'-x=1"], t
    assert b',"safe;=1+1","a=b;\'@cmd=1;\'-x=1"\r\n' in r.content, r.content


def test_first_recognised_type_wins(admin, ns, seeded):
    r = admin.get("/namespaces", ns=ns, accept="application/json, text/csv")
    assert r.ctype.startswith("application/json"), r
    assert len(r.data) == len(seeded)
    r = admin.get("/namespaces", ns=ns, accept="text/html, text/csv;q=0.5, application/json")
    assert len(rows(r)) == len(seeded) + 1
    r = admin.get("/namespaces", ns=ns, accept="application/msgpack, text/csv")
    assert r.ctype == "application/msgpack", r


def test_unknown_accept_is_still_the_json_error_list(admin, ns):
    r = admin.get("/namespaces", ns=ns, accept="text/html")
    assert_error(r, 415)
    assert r.ctype.startswith("application/json")
    # CSV is for lists: one object, or a write, does not produce it.
    one = admin.list("namespaces", ns)[0]
    r = admin.get("/namespaces/" + one["ID"], ns=ns, accept=CSV)
    assert_error(r, 415)
    r = admin.get("/namespaces/" + one["ID"], ns=ns, accept="text/csv, application/json")
    assert r.status == 200 and r.data["ID"] == one["ID"], r
    r = admin.post("/namespaces", {"name": "x" + rand(6)}, ns=ns, accept=CSV)
    assert_error(r, 415)


def test_errors_stay_json(admin, server, ns):
    r = admin.get("/namespaces", ns=ns, accept=CSV, params={"q": "name ~~ 1"})
    assert_error(r, 400)
    assert r.ctype.startswith("application/json")
    r = admin.get("/namespaces", ns=ns, accept=CSV, params={"nope": "1"})
    assert_error(r, 400)
    name, pw, _ = admin.mkaccount(ns)
    nobody = server.client(server.token(name, pw))
    r = nobody.get("/namespaces", ns=ns, accept=CSV)
    assert_error(r, 403)
    assert r.ctype.startswith("application/json")
    r = admin.get("/namespaces", ns=ns + "/missing" + rand(4), accept=CSV)
    assert_error(r, 404)


def test_head_is_the_count(admin, ns, seeded):
    r = admin.head("/namespaces", ns=ns, accept=CSV)
    assert r.status == 204, r
    assert r.content == b""
    assert r.headers["X-Count-Total"] == str(len(seeded))
    # HEAD says what GET would: the CSV type (it said JSON: a review); errors stay JSON
    assert r.headers["Content-Type"].startswith("text/csv"), r.headers
    r = admin.head("/namespaces", ns=ns, accept=CSV, params={"q": "nope =="})
    assert r.status == 400 and r.headers["Content-Type"].startswith("application/json"), r


def test_children_list_and_static_list(admin, ns, seeded):
    # /namespaces/:id/accounts: the accounts living in that namespace
    child = seeded[0]
    admin.mkaccount(child["name"], name="acc-" + rand(6))
    t = rows(admin.get("/namespaces/%s/accounts" % child["ID"], ns=ns, accept=CSV))
    assert t[0] == DEFAULT_COLUMNS
    assert len(t) == 2 and t[1][2] == child["name"]
    # roles are not stored: the same encoder, one whole body
    t = rows(admin.get("/roles", ns="/", accept=CSV, fields="name"))
    assert t[0] == ["name"] and len(t) > 1


def test_cursor_page_carries_x_next(admin, ns, seeded):
    r = admin.get("/namespaces", ns=ns, accept=CSV, params={"limit": 3}, fields="name")
    t = rows(r)
    assert [x[0] for x in t[1:]] == [o["name"] for o in seeded[:3]]
    assert r.headers.get("X-Next") == seeded[2]["ID"]
    assert "Content-Length" in r.headers


def test_page_size_zero_is_every_match(start_server):
    s = start_server(config={"page_size_max": 5, "page_size_default": 5})
    a = s.admin()
    top = a.mkns("/", "t-" + rand(6))["name"]
    for i in range(12):
        a.mkns(top, "n%02d" % i)
    t = rows(a.get("/namespaces", ns=top, accept=CSV, params={"pageSize": 0}))
    assert len(t) == 13
    assert [x[1] for x in t[1:]] == ["%s/n%02d" % (top, i) for i in range(12)]
    # the usual paging otherwise
    t = rows(a.get("/namespaces", ns=top, accept=CSV, params={"pageSize": 4, "page": 3}))
    assert [x[1] for x in t[1:]] == ["%s/n%02d" % (top, i) for i in range(8, 12)]
    t = rows(a.get("/namespaces", ns=top, accept=CSV))
    assert len(t) == 6
    t = rows(a.get("/namespaces", ns=top, accept=CSV, params={"pageSize": 0, "page": 2}))
    assert len(t) == 1
    # JSON keeps its cap
    assert len(a.list("namespaces", top, params={"pageSize": 0})) == 5


def _fill(server, admin, top, n):
    def make(i):
        c = server.client(admin.token)
        c.ok(c.post("/namespaces", {"name": "r%05d" % i,
                                    "description": "row %d, of %d " % (i, n) + "x" * 300},
                    ns=top))
    with concurrent.futures.ThreadPoolExecutor(16) as ex:
        list(ex.map(make, range(n)))


def _tls(server, rcvbuf=None):
    raw = socket.socket()
    if rcvbuf:
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    raw.settimeout(20)
    raw.connect((server.host, server.port))
    return server.ssl_context().wrap_socket(raw, server_hostname=server.host)


def _request(token, ns, version="1.1", extra=""):
    return ("GET /namespaces?pageSize=0 HTTP/%s\r\nHost: x\r\nAccept: text/csv\r\n"
            "Authorization: Bearer %s\r\nX-Namespace: %s\r\n%s\r\n"
            % (version, token, ns, extra)).encode()


def _read_all(sock):
    out = bytearray()
    while True:
        try:
            b = sock.recv(65536)
        except ssl.SSLZeroReturnError:
            break
        if not b:
            break
        out += b
    return bytes(out)


def _dechunk(body):
    out, i = bytearray(), 0
    while True:
        j = body.index(b"\r\n", i)
        n = int(body[i:j], 16)
        i = j + 2
        if n == 0:
            assert body[i:i + 2] == b"\r\n"
            return bytes(out), i + 2
        out += body[i:i + n]
        assert body[i + n:i + n + 2] == b"\r\n"
        i += n + 2


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """One worker thread: a stream and the other requests share its loop."""
    from kwtest import Server
    s = Server(tmp_path_factory.mktemp("kw-csv"), config={"threads": 1, "page_size_max": 100})
    s.start()
    a = s.admin()
    top = a.mkns("/", "big")["name"]
    _fill(s, a, top, 3000)
    yield s, a, top
    s.stop(check=True)


def test_large_export_is_chunked_and_complete(big):
    s, a, top = big
    conn = s.https_conn(timeout=60)
    conn.request("GET", "/namespaces?pageSize=0", headers={
        "Accept": CSV, "Authorization": "Bearer " + a.token, "X-Namespace": top})
    r = conn.getresponse()
    assert r.status == 200
    assert r.getheader("Transfer-Encoding") == "chunked"
    assert r.getheader("Content-Length") is None
    assert r.getheader("X-Count-Total") == "3000"
    body = r.read()
    t = list(csv.reader(io.StringIO(body.decode(), newline="")))
    assert len(t) == 3001
    assert [x[1] for x in t[1:]] == ["%s/r%05d" % (top, i) for i in range(3000)]
    # the connection goes on after the last chunk
    conn.request("GET", "/health")
    assert conn.getresponse().status == 200
    conn.close()
    # and the chunks, byte for byte, are well formed
    sock = _tls(s)
    sock.sendall(_request(a.token, top, extra="Connection: close\r\n"))
    raw = _read_all(sock)
    sock.close()
    head, _, chunked = raw.partition(b"\r\n\r\n")
    data, end = _dechunk(chunked)
    assert end == len(chunked)
    assert data == body


def test_http10_export_ends_with_the_close(big):
    s, a, top = big
    sock = _tls(s)
    sock.sendall(_request(a.token, top, version="1.0"))
    raw = _read_all(sock)
    sock.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert b"Transfer-Encoding" not in head and b"Content-Length" not in head
    assert b"Connection: close" in head
    assert body.count(b"\r\n") >= 3001
    assert len(list(csv.reader(io.StringIO(body.decode(), newline="")))) == 3001


# About 6 KB a row, 18 MB in all: more than the kernel's socket buffers take (its send
# buffer grows to tcp_wmem's 4 MB), so the producer must wait for the reader.
WIDE = ["ID", "name"] + ["description"] * 20
WIDE_FIELDS = "X-Fields: %s\r\n" % ",".join(WIDE)


def _trace(head):
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"x-trace-id:"):
            return line.split(b":", 1)[1].strip().decode()
    raise AssertionError("no X-Trace-Id in %r" % head)


def test_slow_reader_does_not_hold_the_worker(big):
    s, a, top = big
    sock = _tls(s, rcvbuf=4096)
    sock.sendall(_request(a.token, top, extra=WIDE_FIELDS))
    first = sock.recv(400)
    assert first.startswith(b"HTTP/1.1 200")
    trace = _trace(first)
    # The reader stalls; the one worker serves others meanwhile.
    for _ in range(5):
        t0 = time.monotonic()
        assert s.health() == 200
        r = a.get("/namespaces", ns=top, params={"pageSize": 2})
        assert r.status == 200 and len(r.data) == 2
        assert time.monotonic() - t0 < 1.0
        # a write commits and the next read sees it, while the export's snapshot is open
        name = "late" + rand(6)
        a.mkns(top, name)
        assert a.get("/namespaces", ns=top, params={"q": 'name == "%s/%s"' % (top, name)}).data
        time.sleep(0.2)
    # The server produced only what the socket took: the export is not finished.
    assert "trace=%s streamed" % trace not in s.stderr()
    # Then it reads on: the export is complete, as of its start.
    rest = bytearray(first)
    sock.settimeout(30)
    while not rest.endswith(b"\r\n0\r\n\r\n"):
        b = sock.recv(65536)
        assert b, "the connection ended before the last chunk"
        rest += b
    sock.close()
    head, _, chunked = bytes(rest).partition(b"\r\n\r\n")
    data, _ = _dechunk(chunked)
    t = list(csv.reader(io.StringIO(data.decode(), newline="")))
    assert len(t) == 3001 and t[0] == WIDE
    assert not any("/late" in x[1] for x in t[1:])
    time.sleep(0.1)
    assert "trace=%s streamed %d bytes" % (trace, len(data)) in s.stderr()


def test_client_gone_mid_export(big):
    s, a, top = big
    for _ in range(5):
        sock = _tls(s, rcvbuf=4096)
        sock.sendall(_request(a.token, top))
        sock.recv(100)
        sock.close()
    time.sleep(0.3)
    assert s.health() == 200
    t = rows(a.get("/namespaces", ns=top, accept=CSV, params={"pageSize": 0}, timeout=60))
    assert len(t) >= 3001


def test_stop_during_a_stalled_export(big):
    """Last of the module: a stop waits for the stream up to its grace period, then ends it
    (stream_end closes the cursor); the exit is clean, with nothing leaked."""
    s, a, top = big
    sock = _tls(s, rcvbuf=4096)
    sock.sendall(_request(a.token, top, extra=WIDE_FIELDS))
    assert sock.recv(100).startswith(b"HTTP/1.1 200")
    s.stop(check=True)
    sock.close()
