#!/usr/bin/python3
"""http-cases.py - how a Keyward server answers framing and limit cases.

Sends raw requests over TLS (stdlib ssl + socket only) and records, per case:
the status lines in the order they came, whether the final answer was
application/json with the console's error list as its body, whether an
answer's head came more than once, whether the server closed the connection
(or reset it, or left it open), and the time to the first final answer.
Every case is bounded: 35 s at most, 2 s of waiting for a close once an
answer is complete. The cases are those of the HTTP security review; each is
sent on its own connection, all cases of a server at the same time.

    bench/http-cases.py --server new=build/keyward --server old=/tmp/keyward-mhd
    bench/http-cases.py --target new=127.0.0.1:8443:DATA/tls/ca.pem

--server NAME=BINARY starts `BINARY server` on a free loopback port with a
fresh data directory and its default settings, and stops it afterwards;
--target NAME=HOST:PORT:CA uses a running one. Prints a Markdown table with
one column per server (--json FILE also writes the raw results).
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

CAP = 35.0          # seconds for a case, at most
LINGER_WAIT = 2.0   # seconds to wait for a close once an answer is complete
MAX_BODY = 1048576  # the servers' default max_body_size

H = "Host: 127.0.0.1\r\n"


def req(method, target, headers="", body=b"", version="HTTP/1.1", host=True):
    head = f"{method} {target} {version}\r\n" + (H if host else "") + headers + "\r\n"
    return head.encode() + body


SMUGGLED = b"GET /health HTTP/1.1\r\n" + H.encode() + b"\r\n"


def pad_headers(total, line=4000):
    out, n, i = [], 0, 0
    while n < total:
        s = f"X-Pad-{i}: {'a' * line}\r\n"
        out.append(s)
        n += len(s)
        i += 1
    return "".join(out)


# (key, description shown in the table, request bytes, extra)
CASES = [
    ("control", "`GET /health` (control)", req("GET", "/health"), {}),
    ("cl-cl", "`Content-Length: 0` and `Content-Length: 15`, then a request as the body",
     req("POST", "/health", "Content-Length: 0\r\nContent-Length: 15\r\n", SMUGGLED), {"second": True}),
    ("cl-te", "`Content-Length: 5` + `Transfer-Encoding: chunked` (`0` chunk), then a pipelined `GET`",
     req("POST", "/health", "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", b"0\r\n\r\n" + SMUGGLED),
     {"second": True}),
    ("te-identity", "`Transfer-Encoding: identity`",
     req("POST", "/health", "Transfer-Encoding: identity\r\n", b"hello"), {}),
    ("te-gzip", "`Transfer-Encoding: gzip, chunked`",
     req("POST", "/health", "Transfer-Encoding: gzip, chunked\r\n", b"5\r\nhello\r\n0\r\n\r\n"), {}),
    ("chunk-huge", "chunk size `ffffffffffffffff`",
     req("POST", "/health", "Transfer-Encoding: chunked\r\n", b"ffffffffffffffff\r\nhello"), {}),
    ("params-500", "URL with 500 query parameters",
     req("GET", "/health?" + "&".join(f"p{i}=v{i}" for i in range(500))), {}),
    ("expect-big", "`Expect: 100-continue`, `Content-Length: 2000000` (max_body_size 1 MiB)",
     req("POST", "/namespaces", "Content-Type: application/json\r\nContent-Length: 2000000\r\n"
         "Expect: 100-continue\r\n"), {"expect_body": 2000000}),
    ("url-100k", "100 KB URL", req("GET", "/health?x=" + "a" * 100000), {}),
    ("headers-40k", "~40 KB of headers", req("GET", "/health", pad_headers(40000)), {}),
    ("headers-1m", "~1 MB of headers", req("GET", "/health", pad_headers(1000000)), {}),
    ("cl-syntax", "`Content-Length: 12abc`",
     req("POST", "/health", "Content-Length: 12abc\r\n", b"123456789012"), {}),
    ("cl-huge", "`Content-Length: 99999999999`",
     req("POST", "/health", "Content-Length: 99999999999\r\n", b"hello"), {}),
    ("http3", "`HTTP/3.0` request line", req("GET", "/health", version="HTTP/3.0"), {}),
    ("h2-preface", "HTTP/2 preface `PRI * HTTP/2.0␍␊␍␊SM␍␊␍␊`", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", {}),
    ("no-host", "HTTP/1.1 without `Host`", req("GET", "/health", host=False), {}),
    ("obs-fold", "obs-fold header line (`X-A: a␍␊ b`)", req("GET", "/health", "X-A: a\r\n b\r\n"), {}),
]

STATUS_RE = re.compile(rb"HTTP/1\.[01] (\d{3})[^\r\n]*\r?\n")


def parse_answers(data):
    """Split `data` into answers: [(status, headers dict, body, complete)]."""
    out, pos = [], 0
    while pos < len(data):
        m = STATUS_RE.match(data, pos)
        if m is None:
            break
        end = data.find(b"\r\n\r\n", m.end() - 2)
        if end < 0:
            out.append((int(m.group(1)), {}, b"", False))
            break
        hdrs = {}
        for line in data[m.end():end].split(b"\r\n"):
            if b":" in line:
                k, v = line.split(b":", 1)
                hdrs[k.strip().lower().decode("latin-1")] = v.strip().decode("latin-1")
        status, body_start = int(m.group(1)), end + 4
        if 100 <= status < 200 or status in (204, 304):
            out.append((status, hdrs, b"", True))
            pos = body_start
            continue
        if "content-length" in hdrs and hdrs["content-length"].isdigit():
            n = int(hdrs["content-length"])
            body = data[body_start:body_start + n]
            out.append((status, hdrs, body, len(body) == n))
            pos = body_start + n
            continue
        if "chunked" in hdrs.get("transfer-encoding", "").lower():
            body, p, done = b"", body_start, False
            while True:
                le = data.find(b"\r\n", p)
                if le < 0:
                    break
                try:
                    size = int(data[p:le].split(b";")[0], 16)
                except ValueError:
                    break
                if size == 0:
                    t = data.find(b"\r\n\r\n", le)
                    done, p = t >= 0, (t + 4 if t >= 0 else len(data))
                    break
                body += data[le + 2:le + 2 + size]
                p = le + 2 + size + 2
            out.append((status, hdrs, body, done))
            pos = p
            continue
        out.append((status, hdrs, data[body_start:], False))  # until the close
        break
    return out


def error_list(hdrs, body):
    if not hdrs.get("content-type", "").lower().startswith("application/json"):
        return False
    try:
        v = json.loads(body)
    except ValueError:
        return False
    return isinstance(v, list) and len(v) > 0 and all(isinstance(e, dict) and "code" in e for e in v)


def run_case(host, port, ctx, case):
    key, _, payload, extra = case
    r = {"case": key, "statuses": [], "json_error_list": None, "content_type": None,
         "head_repeated": False, "closed": None, "answer_ms": None, "second_served": None,
         "sent": "all", "note": ""}
    t0 = time.monotonic()
    deadline = t0 + CAP
    try:
        raw = socket.create_connection((host, port), timeout=10)
        s = ctx.wrap_socket(raw, server_hostname=host)
    except (OSError, ssl.SSLError) as e:
        r["closed"] = f"no TLS: {e.__class__.__name__}"
        return r
    data, body_sent, final_at = b"", False, None
    t_send = time.monotonic()
    try:
        s.settimeout(CAP)
        s.sendall(payload)
    except (OSError, ssl.SSLError) as e:
        r["sent"] = f"cut: {e.__class__.__name__}"
    while True:
        now = time.monotonic()
        answers = parse_answers(data)
        finals = [a for a in answers if a[0] >= 200]
        if finals and finals[0][3] and final_at is None:
            final_at = now
        if extra.get("expect_body") and not body_sent and not finals and any(a[0] == 100 for a in answers):
            body_sent = True
            try:
                s.settimeout(max(0.1, deadline - now))
                s.sendall(b"x" * extra["expect_body"])
            except (OSError, ssl.SSLError) as e:
                r["note"] = f"body cut: {e.__class__.__name__}"
            continue
        wait = deadline - now
        if final_at is not None:
            wait = min(wait, final_at + LINGER_WAIT - now)
        if wait <= 0:
            r["closed"] = "open"
            break
        s.settimeout(wait)
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            r["closed"] = "open"
            break
        except ConnectionResetError:
            r["closed"] = "reset"
            break
        except (OSError, ssl.SSLError) as e:
            r["closed"] = f"closed ({e.__class__.__name__})"
            break
        if not chunk:
            r["closed"] = "closed"
            break
        if not data:
            r["first_byte_ms"] = round((time.monotonic() - t_send) * 1000, 1)
        data += chunk
    try:
        s.close()
    except OSError:
        pass
    answers = parse_answers(data)
    r["raw"] = data[:600].decode("latin-1")
    r["statuses"] = [a[0] for a in answers]
    if data and not answers:
        r["note"] = (r["note"] + " not HTTP: " + repr(data[:60])).strip()
    finals = [a for a in answers if a[0] >= 200]
    heads = [m.group(0) for m in STATUS_RE.finditer(data) if not m.group(1).startswith(b"1")]
    if finals:
        st, hdrs, body, complete = finals[0]
        r["content_type"] = hdrs.get("content-type")
        r["json_error_list"] = error_list(hdrs, body) if st >= 400 else None
        r["answer_ms"] = round(((final_at or time.monotonic()) - t_send) * 1000, 1)
        if not complete:
            r["note"] = (r["note"] + " answer incomplete").strip()
    # one request, more than one final head; for the two-request cases a
    # second 2xx/4xx is the smuggled request being answered
    if extra.get("second"):
        r["second_served"] = len(finals) > 1
        r["head_repeated"] = len(heads) > len(finals) or (
            len(finals) > 1 and finals[0][0] == finals[1][0] and finals[0][0] >= 400)
    else:
        r["head_repeated"] = len(heads) > 1
    if r["closed"] == "open" and not finals:
        r["note"] = (r["note"] + f" no answer in {CAP:.0f} s").strip()
    return r


def run_all(host, port, ca):
    ctx = ssl.create_default_context(cafile=ca)
    ctx.check_hostname = False
    results = [None] * len(CASES)

    def one(i):
        try:
            results[i] = run_case(host, port, ctx, CASES[i])
        except Exception as e:  # a harness bug must not hide the other cases
            results[i] = {"case": CASES[i][0], "statuses": [], "closed": "harness error",
                          "note": repr(e)}
    th = [threading.Thread(target=one, args=(i,)) for i in range(len(CASES))]
    for t in th:
        t.start()
    for t in th:
        t.join(CAP + 20)
    return results


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(binary):
    d = tempfile.mkdtemp(prefix="kw-cases-")
    port = free_port()
    log = open(os.path.join(d, "server.log"), "w")
    env = dict(os.environ, KEYWARD_ADMIN_PASSWORD="keyward-cases-admin-password")
    p = subprocess.Popen([binary, "server", "--listen", f"127.0.0.1:{port}", "--data",
                          os.path.join(d, "data")], stdout=log, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL, env=env)
    for _ in range(600):
        time.sleep(0.1)
        with open(os.path.join(d, "server.log")) as f:
            if f"listening on https://127.0.0.1:{port}" in f.read():
                return p, d, port
        if p.poll() is not None:
            break
    p.kill()
    sys.exit(f"http-cases: {binary} did not start (see {d}/server.log)")


def stop_server(p, d):
    crashed = p.poll() is not None
    if not crashed:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    return crashed


def cell(r):
    if r is None:
        return "(no result)"
    st = " then ".join(str(s) for s in r["statuses"]) or "none"
    parts = [st]
    if r.get("json_error_list") is True:
        parts.append("JSON list")
    elif r.get("json_error_list") is False:
        parts.append(f"not JSON ({r.get('content_type') or 'no Content-Type'})")
    if r.get("head_repeated"):
        parts.append("**head twice**")
    if r.get("second_served"):
        parts.append("**2nd served**")
    parts.append(r.get("closed") or "?")
    if r.get("answer_ms") is not None:
        ms = r["answer_ms"]
        parts.append(f"{ms / 1000:.1f} s" if ms >= 1000 else f"{ms:.0f} ms")
    if r.get("sent", "all") != "all":
        parts.append(f"send {r['sent']}")
    if r.get("note"):
        parts.append(r["note"])
    return ", ".join(parts)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server", action="append", default=[], help="NAME=BINARY")
    ap.add_argument("--target", action="append", default=[], help="NAME=HOST:PORT:CA")
    ap.add_argument("--json", help="write the raw results here")
    a = ap.parse_args()
    names, res, crashed = [], {}, {}
    for spec in a.server:
        name, binary = spec.split("=", 1)
        p, d, port = start_server(binary)
        try:
            res[name] = run_all("127.0.0.1", port, os.path.join(d, "data", "tls", "ca.pem"))
            # the server must still answer after the cases
            ok = run_case("127.0.0.1", port, ssl._create_unverified_context(), CASES[0])
            crashed[name] = p.poll() is not None or 200 not in ok["statuses"]
        finally:
            crashed[name] = stop_server(p, d) or crashed.get(name, False)
            shutil.rmtree(d, ignore_errors=True)
        names.append(name)
    for spec in a.target:
        name, rest = spec.split("=", 1)
        host, port, ca = rest.split(":", 2)
        res[name] = run_all(host, int(port), ca)
        names.append(name)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"cases": [c[0] for c in CASES], "results": res, "crashed": crashed}, f, indent=1)
    print("| case | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for i, c in enumerate(CASES):
        print(f"| {c[1]} | " + " | ".join(cell(res[n][i]) for n in names) + " |")
    for n, bad in crashed.items():
        if bad:
            print(f"\n{n}: the server died or stopped answering during the cases")


if __name__ == "__main__":
    main()
