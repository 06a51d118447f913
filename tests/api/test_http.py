"""HTTP/1.1 framing, limits and slow clients (API.md sections 1 and 2; docs/http.md).

Raw bytes over TLS, so that what a hostile client sends is exactly what the server sees.
Every refusal must be one answer, with the error list and a documented code, and where the
framing is in doubt the connection must be closed afterwards.
"""

import json
import os
import re
import select
import signal
import socket
import ssl
import threading
import time

import pytest

from kwtest import IS_SANITIZED

ERROR_CT = "application/json; charset=UTF-8"
PROMPT = 5.0  # seconds: a refusal is prompt (the old server took 30 s for some)


class Exchange:
    """What came back for some bytes: the answers (status, headers, body) and whether the
    server closed the connection."""

    def __init__(self):
        self.answers = []
        self.closed = False
        self.elapsed = None
        self.raw = b""

    @property
    def status(self):
        return self.answers[0][0] if self.answers else None


def _parse_answers(data):
    """Split raw bytes into HTTP answers (status, headers dict, body)."""
    out = []
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        if not sep:
            break
        lines = head.split(b"\r\n")
        parts = lines[0].split(b" ", 2)
        status = int(parts[1])
        headers = {}
        for ln in lines[1:]:
            k, _, v = ln.partition(b":")
            headers[k.decode().strip().lower()] = v.decode().strip()
        if status == 100:
            out.append((100, headers, b""))
            data = rest
            continue
        n = int(headers.get("content-length", "0"))
        out.append((status, headers, rest[:n]))
        data = rest[n:]
    return out


def exchange(server, data, read_timeout=PROMPT + 25, answers=None, ctx=None):
    """Send `data`; read until the server closes, `answers` answers have come, or
    `read_timeout` passes."""
    ctx = ctx or server.ssl_context()
    ex = Exchange()
    t0 = time.monotonic()
    with socket.create_connection((server.host, server.port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            try:
                s.sendall(data)
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
                pass
            s.settimeout(read_timeout)
            buf = b""
            try:
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        ex.closed = True
                        break
                    buf += chunk
                    if answers is not None and _complete(buf, answers):
                        break
            except socket.timeout:
                pass
            except (ConnectionResetError, ssl.SSLError, OSError):
                ex.closed = True
    ex.elapsed = time.monotonic() - t0
    ex.raw = buf
    ex.answers = _parse_answers(buf)
    return ex


def _complete(buf, n=1):
    got = [a for a in _parse_answers(buf) if a[0] != 100]
    return len(got) >= n


def assert_refused(ex, code):
    """One answer with `code`, the error list, promptly, and the connection closed."""
    assert ex.answers, "no answer within %.1fs: %r" % (ex.elapsed, ex.raw[:200])
    assert [a[0] for a in ex.answers] == [code], [a[0] for a in ex.answers]
    status, headers, body = ex.answers[0]
    assert headers.get("content-type") == ERROR_CT, headers
    errs = json.loads(body)
    assert isinstance(errs, list) and errs[0]["code"] == code, errs
    assert errs[0]["title"] and errs[0]["trace"] == headers.get("x-trace-id"), errs
    assert ex.closed, "the connection stayed open after a %d" % code
    heads = re.findall(rb"(?:^|\r\n)HTTP/1\.1 \d{3} ", ex.raw)
    assert len(heads) == 1, "the head was sent more than once: %r" % ex.raw
    assert ex.elapsed < PROMPT, "answered after %.1fs" % ex.elapsed


HEALTH = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"


def req(head_lines, body=b""):
    return b"\r\n".join(head_lines) + b"\r\n\r\n" + body


# -- framing --------------------------------------------------------------------------

def test_two_different_content_lengths_are_400_and_close(server):
    smuggled = HEALTH[:-4] + b"\r\nX: y"  # 15+ bytes that look like a request
    data = req([b"POST /health HTTP/1.1", b"Host: x", b"Content-Length: 0",
                b"Content-Length: %d" % len(smuggled)], smuggled)
    ex = exchange(server, data)
    assert_refused(ex, 400)


def test_content_length_list_of_one_value_is_accepted(server):
    data = req([b"GET /health HTTP/1.1", b"Host: x", b"Content-Length: 0, 0"])
    ex = exchange(server, data, answers=1)
    assert ex.status == 200


def test_content_length_and_transfer_encoding_close_the_connection(server):
    data = req([b"POST /namespaces HTTP/1.1", b"Host: x", b"Content-Length: 5",
                b"Transfer-Encoding: chunked"], b"0\r\n\r\n") + HEALTH
    ex = exchange(server, data)
    assert_refused(ex, 400)  # and the pipelined GET /health is not served


@pytest.mark.parametrize("coding", [b"identity", b"gzip, chunked", b"gzip", b"chunked, gzip",
                                    b"chunked, chunked", b"deflate"])
def test_unsupported_transfer_coding_is_501(server, coding):
    data = req([b"POST /namespaces HTTP/1.1", b"Host: x", b"Transfer-Encoding: " + coding],
               b"5\r\nhello\r\n0\r\n\r\n")
    assert_refused(exchange(server, data), 501)


def test_transfer_encoding_in_http10_is_400(server):
    data = req([b"POST /namespaces HTTP/1.0", b"Host: x", b"Transfer-Encoding: chunked"],
               b"0\r\n\r\n")
    assert_refused(exchange(server, data), 400)


@pytest.mark.parametrize("size", [b"ffffffffffffffff", b"fffffffffffffffff", b"100001"])
def test_huge_chunk_size_is_refused_at_once(server, size):
    data = req([b"POST /namespaces HTTP/1.1", b"Host: x", b"Transfer-Encoding: chunked",
                b"Content-Type: application/json"], size + b"\r\n{")
    ex = exchange(server, data)
    assert_refused(ex, 400 if len(size) > 16 else 413)


@pytest.mark.parametrize("chunk", [b"zz\r\n", b"5\r\nhelloXX", b"\r\n", b"5;" + b"e" * 5000])
def test_malformed_chunks_are_400(server, chunk):
    data = req([b"POST /namespaces HTTP/1.1", b"Host: x", b"Transfer-Encoding: chunked"], chunk)
    assert_refused(exchange(server, data), 400)


@pytest.mark.parametrize("chunks", [
    b"5\nhello\r\n0\r\n\r\n",              # a lone LF after the size
    b"5;x=y\nhello\r\n0\r\n\r\n",          # ... after an extension
    b"5\r\nhello\n0\r\n\r\n",              # ... after the data
    b"5\r\nhello\r\n0\n\r\n",              # ... after the last size
    b"5\r\nhello\r\n0\r\n\n",              # ... ending the trailers
    b"5\r\nhello\r\n0\r\nX: 1\n\r\n",        # ... ending a trailer
    b"5\r\nhello\r\n0\r\nX: a\rb\r\n\r\n",   # a bare CR in a trailer
    b"5\r\nhello\r\n0\r\nnot a field\r\n\r\n",
    b"5\r\nhello\r\n0\r\nX: 1\r\n  folded\r\n\r\n",
    b"5;x=\x00\r\nhello\r\n0\r\n\r\n",     # a NUL in an extension
])
def test_chunked_framing_is_read_strictly(server, chunks):
    """RFC 9112 7.1: a server that ends a chunked body where a proxy in front does not is
    how requests are smuggled (a review: each of these was accepted, and the request after
    it answered). Refused, the connection closed, nothing after it served."""
    data = req([b"POST /namespaces HTTP/1.1", b"Host: x", b"Transfer-Encoding: chunked",
                b"Content-Type: application/json"], chunks) + HEALTH
    assert_refused(exchange(server, data), 400)


def test_chunked_body_with_extensions_and_trailers_works(admin, ns, server):
    body = json.dumps({"name": "chunky"}).encode()
    chunks = (b"%x;ext=1\r\n" % 5 + body[:5] + b"\r\n" +
              b"%x\r\n" % (len(body) - 5) + body[5:] + b"\r\n0\r\nX-Trailer: t\r\n\r\n")
    data = req([b"POST /namespaces HTTP/1.1", b"Host: x", b"Transfer-Encoding: chunked",
                b"Content-Type: application/json",
                b"Authorization: Bearer " + admin.token.encode(),
                b"X-Namespace: " + ns.encode()], chunks) + HEALTH
    ex = exchange(server, data, answers=2)
    assert [a[0] for a in ex.answers] == [200, 200], ex.raw[:300]
    assert json.loads(ex.answers[0][2])["name"] == ns + "/chunky"


def test_pipelined_requests_are_answered_in_order(server):
    data = HEALTH + req([b"GET /nowhere HTTP/1.1", b"Host: x"]) + HEALTH
    ex = exchange(server, data, answers=3)
    assert [a[0] for a in ex.answers] == [200, 404, 200]


def test_many_query_parameters_are_400(server):
    q = b"&".join(b"p%d=1" % i for i in range(500))
    ex = exchange(server, req([b"GET /health?" + q + b" HTTP/1.1", b"Host: x"]), answers=1)
    assert ex.status == 400 and ex.elapsed < PROMPT
    assert json.loads(ex.answers[0][2])[0]["code"] == 400


def test_expect_continue_past_body_limit_is_413_without_100(server):
    data = req([b"POST /namespaces HTTP/1.1", b"Host: x", b"Content-Length: 2000000",
                b"Expect: 100-continue", b"Content-Type: application/json"])
    ex = exchange(server, data)
    assert_refused(ex, 413)


def test_expect_continue_within_limit_gets_100(server, admin, ns):
    body = json.dumps({"name": "cont"}).encode()
    head = req([b"POST /namespaces HTTP/1.1", b"Host: x", b"Content-Length: %d" % len(body),
                b"Expect: 100-continue", b"Content-Type: application/json",
                b"Authorization: Bearer " + admin.token.encode(), b"X-Namespace: " + ns.encode()])
    ctx = server.ssl_context()
    with socket.create_connection((server.host, server.port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            s.sendall(head)
            assert s.recv(4096).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
            s.sendall(body)
            data = b""
            while not _complete(data):
                data += s.recv(65536)
    assert _parse_answers(data)[-1][0] == 200


def test_huge_content_length_is_413(server):
    data = req([b"POST /namespaces HTTP/1.1", b"Host: x", b"Content-Length: 99999999999"])
    assert_refused(exchange(server, data), 413)


@pytest.mark.parametrize("value", [b"12abc", b"-1", b"+5", b"0x10", b"", b"1 2",
                                   b"99999999999999999999999"])
def test_bad_content_length_is_400(server, value):
    data = req([b"POST /namespaces HTTP/1.1", b"Host: x", b"Content-Length: " + value])
    assert_refused(exchange(server, data), 400)


def test_long_url_is_414(server):
    data = req([b"GET /health?q=" + b"a" * 100000 + b" HTTP/1.1", b"Host: x"])
    assert_refused(exchange(server, data), 414)


@pytest.mark.parametrize("size", [40 * 1024, 1024 * 1024])
def test_large_headers_are_431(server, size):
    data = req([b"GET /health HTTP/1.1", b"Host: x", b"X-Big: " + b"a" * size])
    assert_refused(exchange(server, data), 431)


def test_too_many_header_lines_are_431(server):
    data = req([b"GET /health HTTP/1.1", b"Host: x"] + [b"X-H%d: v" % i for i in range(200)])
    assert_refused(exchange(server, data), 431)


@pytest.mark.parametrize("line", [b"GET /health HTTP/3.0", b"GET /health HTTP/2.0",
                                  b"GET /health HTTP/0.9"])
def test_unknown_http_version_is_505(server, line):
    assert_refused(exchange(server, req([line, b"Host: x"])), 505)


def test_http2_preface_is_505(server):
    assert_refused(exchange(server, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), 505)


@pytest.mark.parametrize("data", [
    req([b"GET /health HTTP/1.1"]),                                   # no Host
    req([b"GET /health HTTP/1.1", b"Host: x", b"Host: y"]),           # two Hosts
    req([b"GET /health HTTP/1.1", b"Host: x", b"X-A: 1", b" folded"]),  # obs-fold
    req([b"GET /health HTTP/1.1", b"Host : x"]),                      # space before colon
    req([b"GET /health HTTP/1.1", b"Host: x", b"X-A: a\x00b"]),        # NUL in a value
    req([b"GET /health HTTP/1.1", b"Host: x", b"Bad Header"]),        # no colon
    req([b"GET  /health HTTP/1.1", b"Host: x"]),                      # two spaces
    req([b"GET /health HTTX/1.1", b"Host: x"]),
    req([b"G(ET /health HTTP/1.1", b"Host: x"]),
    req([b"GET /hea\rlth HTTP/1.1", b"Host: x"]),
], ids=["no-host", "two-hosts", "obs-fold", "space-colon", "nul", "no-colon", "two-spaces",
        "bad-version", "bad-method", "cr-in-target"])
def test_malformed_requests_are_400(server, data):
    assert_refused(exchange(server, data), 400)


@pytest.mark.parametrize("target", [b"/%zz", b"/health%00", b"/health?a=%4", b"/health?%00=1"])
def test_bad_escape_is_400_and_the_connection_goes_on(server, target):
    """The framing is sound: the next pipelined request is served."""
    ex = exchange(server, req([b"GET " + target + b" HTTP/1.1", b"Host: x"]) + HEALTH,
                  answers=2)
    assert [a[0] for a in ex.answers] == [400, 200], ex.raw[:300]
    assert json.loads(ex.answers[0][2])[0]["code"] == 400


@pytest.mark.parametrize("header", [b"Authorization: Bearer x", b"X-Namespace: /",
                                    b"Content-Type: application/json",
                                    b"Idempotency-Key: k1"])
def test_a_header_that_counts_once_given_twice_is_400(server, header):
    """Which copy counts would be a guess, and a proxy in front may have judged the other
    (a review: the last one won); the next pipelined request is served."""
    ex = exchange(server, req([b"GET /health HTTP/1.1", b"Host: x", header, header]) + HEALTH,
                  answers=2)
    assert [a[0] for a in ex.answers] == [400, 200], ex.raw[:300]
    assert b"more than once" in ex.answers[0][2]


def test_an_encoded_slash_in_a_path_is_400_except_an_ocsp_requests(server):
    ex = exchange(server, req([b"GET /namespaces%2Fabc HTTP/1.1", b"Host: x"]) + HEALTH,
                  answers=2)
    assert [a[0] for a in ex.answers] == [400, 200], ex.raw[:300]
    ex = exchange(server, req([b"GET /pki/000000000000000000000000/ocsp/MA%2F%2F HTTP/1.1",
                               b"Host: x"]), answers=1)
    assert ex.answers[0][0] != 400, ex.raw[:300]


def test_several_accept_fields_are_one_list(server):
    ex = exchange(server, req([b"GET /health HTTP/1.1", b"Host: x", b"Accept: text/html",
                               b"Accept: application/json"]), answers=1)
    assert ex.answers[0][0] == 200, ex.raw[:300]


def test_bad_escape_with_a_body_closes(server):
    data = req([b"POST /%zz HTTP/1.1", b"Host: x", b"Content-Length: 2"], b"{}") + HEALTH
    assert_refused(exchange(server, data), 400)


def test_http10_keep_alive_is_answered_as_such(server):
    data = req([b"GET /health HTTP/1.0", b"Connection: keep-alive"]) + HEALTH
    ex = exchange(server, data, answers=2)
    assert [a[0] for a in ex.answers] == [200, 200]
    assert ex.answers[0][1].get("connection") == "keep-alive"


@pytest.mark.parametrize("fields", [[b"Connection: close, keep-alive"],
                                    [b"Connection: keep-alive, close"],
                                    [b"Connection: close", b"Connection: keep-alive"]])
def test_http10_close_wins_over_keep_alive(server, fields):
    """RFC 9112 9.6: with close among the options the connection does not persist, in any
    order or field (keep-alive after close kept it open: black-box review 8)."""
    data = req([b"GET /health HTTP/1.0"] + fields) + HEALTH
    ex = exchange(server, data)
    assert [a[0] for a in ex.answers] == [200] and ex.closed, ex.answers
    assert ex.answers[0][1].get("connection") == "close"


def test_http10_without_host_is_served_and_closed(server):
    ex = exchange(server, b"GET /health HTTP/1.0\r\n\r\n")
    assert ex.status == 200 and ex.closed


def test_connection_close_is_honoured(server):
    ex = exchange(server, req([b"GET /health HTTP/1.1", b"Host: x", b"Connection: close"]))
    assert ex.status == 200 and ex.closed
    assert ex.answers[0][1].get("connection") == "close"


def test_absolute_form_target_is_accepted(server):
    ex = exchange(server, req([b"GET https://127.0.0.1/health HTTP/1.1", b"Host: x"]),
                  answers=1)
    assert ex.status == 200


def test_head_answer_has_no_body(server):
    """A HEAD answer is the GET's head, its Content-Length included (a review saw 0), and
    no body: the next answer follows the head directly."""
    data = (req([b"HEAD /health HTTP/1.1", b"Host: x"]) +
            req([b"GET /health HTTP/1.1", b"Host: x", b"Connection: close"]))
    raw = b""
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        with server.ssl_context().wrap_socket(sock, server_hostname="127.0.0.1") as tls:
            tls.sendall(data)
            while True:  # until the server closes (no parser: it would read a HEAD body)
                chunk = tls.recv(65536)
                if not chunk:
                    break
                raw += chunk
    assert raw.count(b"HTTP/1.1 200") == 2, raw
    head, rest = raw.split(b"\r\n\r\n", 1)
    assert rest.startswith(b"HTTP/1.1 200"), raw
    lengths = re.findall(rb"Content-Length: (\d+)", raw)
    assert len(lengths) == 2 and lengths[0] == lengths[1] != b"0", raw


# -- slow clients, floods -------------------------------------------------------------

def _held_tls(server, n, first=b"GET /health HTTP/1.1\r\nHost: x\r\n"):
    """n TLS connections, each having sent `first` and nothing more."""
    ctx = server.ssl_context()
    held = []
    for _ in range(n):
        raw = socket.create_connection((server.host, server.port), timeout=30)
        s = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
        if first:
            s.sendall(first)
        held.append(s)
    return held


def _closed_by_server(s, timeout):
    s.settimeout(timeout)
    try:
        return s.recv(1) == b""
    except socket.timeout:
        return False
    except (ConnectionResetError, ssl.SSLError, OSError):
        return True


def _close_all(socks):
    for s in socks:
        try:
            s.close()
        except OSError:
            pass


def test_trickled_headers_are_cut_at_header_timeout(start_server):
    s = start_server({"header_timeout": "1s", "connection_timeout": "60s"})
    ctx = s.ssl_context()
    with socket.create_connection((s.host, s.port), timeout=30) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as t:
            t0 = time.monotonic()
            closed = False
            try:
                for b in b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200:
                    t.sendall(bytes([b]))  # a byte every 50 ms: never idle, never done
                    time.sleep(0.05)
                    if time.monotonic() - t0 > 8:
                        break
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
                closed = True
            closed = closed or _closed_by_server(t, 5)
            assert closed, "a client trickling its headers was never cut off"
            assert time.monotonic() - t0 < 8
    assert s.health() == 200


def test_silent_connection_without_tls_is_cut_at_header_timeout(start_server):
    s = start_server({"header_timeout": "1s"})
    with socket.create_connection((s.host, s.port), timeout=30) as raw:
        assert _closed_by_server(raw, 10)


def test_trickled_body_below_min_rate_is_cut(start_server, tmp_path):
    s = start_server({"header_timeout": "1s", "body_min_rate": 1000,
                      "connection_timeout": "60s"})
    ctx = s.ssl_context()
    with socket.create_connection((s.host, s.port), timeout=30) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as t:
            t.sendall(b"POST /namespaces HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
            t0 = time.monotonic()
            closed = False
            try:
                while time.monotonic() - t0 < 10:
                    t.sendall(b"a" * 10)  # 200 bytes/s, under the 1000 asked
                    time.sleep(0.05)
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
                closed = True
            closed = closed or _closed_by_server(t, 5)
            assert closed and time.monotonic() - t0 < 10
    assert s.health() == 200


def test_body_at_min_rate_is_not_cut(start_server, admin):
    s = start_server({"header_timeout": "1s", "body_min_rate": 1000})
    a = s.admin()
    body = b'{"name": "steady"' + b" " * 3000 + b"}"  # JSON white space: 3 KB
    ctx = s.ssl_context()
    with socket.create_connection((s.host, s.port), timeout=30) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as t:
            t.sendall(b"POST /namespaces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                      b"\r\nX-Namespace: /\r\nAuthorization: Bearer " + a.token.encode() +
                      b"\r\nContent-Length: %d\r\n\r\n" % len(body))
            for i in range(0, len(body), 100):  # 1,250 bytes/s for about 2.4 s
                t.sendall(body[i:i + 100])
                time.sleep(0.08)
            data = b""
            while not _complete(data):
                chunk = t.recv(65536)
                assert chunk, "cut off while keeping up the minimum rate"
                data += chunk
    assert _parse_answers(data)[0][0] == 200


def test_idle_keep_alive_is_closed_after_connection_timeout(start_server):
    s = start_server({"connection_timeout": "1s", "header_timeout": "30s"})
    [t] = _held_tls(s, 1, first=HEALTH)
    try:
        t.settimeout(5)
        assert t.recv(4096).startswith(b"HTTP/1.1 200")
        assert _closed_by_server(t, 10)
    finally:
        _close_all([t])


def test_slow_clients_cannot_lock_others_out(start_server):
    """300 slow clients against max_connections = 200: new clients are still served,
    because the connection that waited longest without a complete request makes room."""
    s = start_server({"max_connections": 200, "header_timeout": "60s",
                      "connection_timeout": "60s"})
    held = []
    try:
        lock = threading.Lock()

        def attack(n):
            socks = _held_tls(s, n)
            with lock:
                held.extend(socks)

        threads = [threading.Thread(target=attack, args=(75,)) for _ in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        ok = 0
        for _ in range(20):
            if s.health() == 200:
                ok += 1
        assert ok == 20
        closed = sum(1 for t in held[:100] if _closed_by_server(t, 0.01))
        assert closed > 0, "the table never made room: no slow client was closed"
    finally:
        _close_all(held)
    assert s.health() == 200


def _drained_to_close(s, quiet=0.5):
    """Whether the server closed s, once what it had sent is read (False when it stops
    sending and keeps the connection)."""
    s.settimeout(quiet)
    try:
        while s.recv(1 << 16):
            pass
        return True
    except socket.timeout:
        return False
    except (ConnectionResetError, ssl.SSLError, OSError):
        return True


def test_clients_that_never_read_their_answers_cannot_lock_others_out(start_server):
    """Each of max_connections clients pipelines answers bigger than the kernel holds
    (/openapi.json, no token) and never reads: their connections are stuck writing. A new
    client is still served, by closing the one whose answer made no progress longest (they
    were never evicted: every new client was refused for connection_timeout, black-box
    review 8)."""
    s = start_server({"max_connections": 4, "threads": 1, "connection_timeout": "60s"})
    ctx = s.ssl_context()
    held = []
    try:
        for _ in range(4):
            raw = socket.socket()
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            raw.settimeout(30)
            raw.connect((s.host, s.port))
            t = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
            t.sendall(b"GET /openapi.json HTTP/1.1\r\nHost: x\r\n\r\n" * 16)
            held.append(t)
        time.sleep(1)  # the server fills their send buffers, then waits to write
        for _ in range(3):
            assert s.health() == 200
        assert any(_drained_to_close(t) for t in held), "no stuck writer was closed"
    finally:
        _close_all(held)
    assert s.health() == 200


def _pump(sock, buf):
    """What a non-blocking SSL socket has to read now, appended to buf; how many bytes."""
    n = 0
    try:
        while True:
            b = sock.recv(1 << 16)
            assert b, "the server closed the connection"
            buf += b
            n += len(b)
    except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
        return n


def test_a_full_pipeline_does_not_keep_its_worker_from_others(start_server):
    """One client keeps its pipe full of cheap requests (GET /health) on the only worker;
    another client's request is answered while the pipeline is still being served, not
    after it (the worker looped on the pipeline: black-box review 8). One thread drives
    both connections, non-blocking, reading the pipeline all along, and gives up after
    120 s (the same SSL socket sent from one thread and read from another hung this test
    once in a run: neither side moved for 18 minutes)."""
    s = start_server({"threads": 1})
    n = 40000
    one = len(_health_answer(s))
    conns = [s.ssl_context().wrap_socket(socket.create_connection((s.host, s.port), timeout=60),
                                         server_hostname="127.0.0.1") for _ in range(2)]
    hog, other = conns
    for c in conns:
        c.setblocking(False)
    out, sent, got, reply = memoryview(HEALTH * n), 0, 0, bytearray()
    asked, answered_before = False, None
    deadline = time.monotonic() + 120
    try:
        while got < n * one or answered_before is None:
            assert time.monotonic() < deadline, (sent, got, bytes(reply))
            if not asked and got >= 100 * one:
                other.sendall(HEALTH)
                asked = True
            select.select(conns, [hog] if sent < len(out) else [], [], 1.0)
            try:
                if sent < len(out):
                    sent += hog.send(out[sent:sent + 16384])
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                pass
            got += _pump(hog, bytearray())
            if asked and answered_before is None:
                _pump(other, reply)
                if len(reply) >= one:
                    answered_before = got // one
    finally:
        for c in conns:
            c.close()
    assert got == n * one, got
    assert reply.startswith(b"HTTP/1.1 200"), bytes(reply[:100])
    assert answered_before < n, "the other client waited for the whole pipeline"


def _health_answer(s):
    t = s.ssl_context().wrap_socket(socket.create_connection((s.host, s.port), timeout=10),
                                    server_hostname="127.0.0.1")
    try:
        t.sendall(HEALTH)
        data = b""
        while b"\r\n\r\n" not in data or len(data) < data.index(b"\r\n\r\n") + 4 + int(
                re.search(rb"Content-Length: (\d+)", data).group(1)):
            data += t.recv(4096)
        return data
    finally:
        t.close()


def test_flood_of_silent_connections_does_not_starve_new_clients(start_server):
    s = start_server({"max_connections": 50, "header_timeout": "60s"})
    held = []
    try:
        for _ in range(150):  # TCP only: never a TLS handshake
            held.append(socket.create_connection((s.host, s.port), timeout=10))
        for _ in range(5):
            assert s.health() == 200
    finally:
        _close_all(held)


def test_flood_arriving_while_the_server_is_busy_spares_the_newest_client(start_server):
    """Connections that queue up while every worker is busy are adopted, and
    evicted, in the order they arrived: the client that came last (after the
    flood) is the one served, not the first to be closed."""
    s = start_server({"max_connections": 50, "header_timeout": "60s"})
    pid = s.proc.pid
    held = []
    try:
        for _ in range(3):
            os.kill(pid, signal.SIGSTOP)  # busy: the kernel queues the flood
            try:
                for _ in range(150):
                    held.append(socket.create_connection((s.host, s.port), timeout=10))
            finally:
                threading.Timer(0.3, os.kill, (pid, signal.SIGCONT)).start()
            assert s.health() == 200  # sent while stopped: arrives after the flood
    finally:
        os.kill(pid, signal.SIGCONT)
        _close_all(held)


def test_connections_per_address_are_capped(start_server):
    s = start_server({"max_connections_per_address": 4, "header_timeout": "60s"})
    held = _held_tls(s, 4, first=None)
    try:
        raw = socket.create_connection((s.host, s.port), timeout=10)
        try:
            with pytest.raises((ssl.SSLError, ConnectionResetError, OSError)):
                ctx = s.ssl_context()
                t = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
                t.sendall(HEALTH)
                if t.recv(100) == b"":
                    raise ConnectionResetError("closed")
        finally:
            raw.close()
        _close_all(held[:1])
        time.sleep(0.3)
        assert s.health() == 200  # one slot is free again
    finally:
        _close_all(held)


def test_pending_writes_are_answered_while_slow_clients_are_held(start_server):
    """Complete requests are never evicted: writes queued behind the store finish."""
    s = start_server({"max_connections": 40, "header_timeout": "60s"})
    a = s.admin()
    held = _held_tls(s, 60)
    try:
        errors = []

        def create(i):
            try:
                r = a.post("/namespaces", {"name": "w%d" % i}, ns="/")
                if r.status != 200:
                    errors.append(r.status)
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(repr(e))

        threads = [threading.Thread(target=create, args=(i,)) for i in range(10)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(60)
        assert errors == []
    finally:
        _close_all(held)


def test_connections_below_max_are_never_evicted(start_server):
    """The whole of max_connections is usable, whichever worker accepted each one."""
    s = start_server({"max_connections": 40, "header_timeout": "60s", "threads": 2})
    held = []
    try:
        for _ in range(38):  # plus the health check's own connection below
            held.append(socket.create_connection((s.host, s.port), timeout=10))
            time.sleep(0.005)
        assert s.health() == 200
        closed = [i for i, t in enumerate(held) if _closed_by_server(t, 0.05)]
        assert closed == [], "evicted below max_connections: %s" % closed
    finally:
        _close_all(held)


@pytest.mark.parametrize("target", [b"/namespaces/%ff%fe", b"/namespaces?q=%ff", b"/%c3%28",
                                    b"/namespaces?%e2%82=1"])
def test_url_that_is_not_utf8_is_400_and_the_audit_log_stays_readable(server, admin, target):
    """Paths and parameters are text: bytes that are not UTF-8 are refused, so they can
    reach no answer, log line or audit entry (an entry that did not decode once made
    GET /auditlogs answer 500)."""
    data = req([b"POST " + target + b" HTTP/1.1", b"Host: x", b"Content-Length: 2",
                b"Authorization: Bearer " + admin.token.encode(), b"X-Namespace: /",
                b"Content-Type: application/json"], b"{}")
    ex = exchange(server, data, answers=1)
    assert ex.status == 400, ex.raw[:300]
    r = admin.get("/auditlogs", ns="/", params={"recursive": "true", "pageSize": "0"})
    assert r.status == 200, r
