#!/usr/bin/python3
"""bench/discovery.py - the helpers of part 13 of `make bench` (discovery); bench/run.sh
drives them. Debian's python3 and its standard library only.

    discovery.py layout
        Picks the loopback layout: a random 127.R.S.0 and a port base B (20000-31899) such
        that every address .1-.10 binds on every port B+1..B+100 just now (nothing listens
        there, no wildcard listener on those ports). Prints "127.R.S B".
    discovery.py silent ADDR PORT...
        Listens on ADDR:PORT for each PORT (backlog 1024) and never accepts nor reads; prints
        "ready" once all listen, then sleeps until killed: connects complete (the kernel
        answers the SYN) and then nothing ever comes back.
    discovery.py sclient PAIRS PARALLEL SECONDS
        `openssl s_client -connect ADDR:PORT </dev/null` for every line ADDR:PORT of the
        file PAIRS, PARALLEL at a time, each killed after SECONDS; a probe counts as a
        certificate when the output holds one. Prints
        "RESULT pairs= ok= failed= secs= rate=" (rate: pairs/s).
    discovery.py run NAME TARGETS PORTS TIMEOUT CONCURRENCY [RESPONDED REFUSED TIMEOUTS]
        POST /discoveries {name, targets (comma-separated), ports (comma-separated),
        timeout, concurrency}, POST /discoveries/:id/discoveryruns, then GET
        /discoveryruns/:id every 20 ms on one keep-alive connection until it ends. Prints
        "RESULT id= run= status= total= scanned= responded= certs= new= refused= timeout=
        other_errors= run_secs= wall_secs= instances=" (run_secs: endTime - startTime of the
        run; wall_secs: from before the POST of the run to the first GET that saw it ended;
        instances: X-Count-Total of HEAD /discoveries/:id/certificateinstances). With the
        expected counts, also "CHECK ok" or "CHECK FAIL <what>" (status SUCCEEDED, all
        pairs scanned, RESPONDED responded, REFUSED refused, TIMEOUTS timed out, nothing
        else, one certificate, RESPONDED instances).
    discovery.py loop DISCOVERY_ID STOPFILE
        Runs the discovery again and again (a new run as soon as one ends, polled every
        50 ms) until STOPFILE exists; then waits for the run in progress to end. Prints
        "RESULT runs= running_secs= window_secs= failed=" (running_secs: the sum of the
        runs' endTime - startTime).

Environment for run and loop: KW_URL (https://127.0.0.1:PORT), KW_CA (the console's CA
file), KW_TOKEN, KW_NAMESPACE. Exit status 1 when the API answered unexpectedly.
"""
import concurrent.futures
import datetime
import http.client
import json
import os
import random
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.parse


def die(msg):
    print("discovery.py: " + msg, file=sys.stderr, flush=True)
    sys.exit(1)


# ---- layout, silent listeners, s_client ----------------------------------------------


def layout():
    rng = random.SystemRandom()
    for _ in range(50):
        net = "127.%d.%d" % (rng.randint(20, 250), rng.randint(1, 250))
        base = rng.randint(20000, 31899)
        socks = []
        try:
            for a in range(1, 11):
                for p in range(base + 1, base + 101):
                    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                    socks.append(s)
                    s.bind(("%s.%d" % (net, a), p))
            print(net, base)
            return
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    die("no free layout of 10 loopback addresses x 100 ports found in 50 tries")


def silent(addr, ports):
    socks = []
    for p in ports:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, int(p)))
        s.listen(1024)
        socks.append(s)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("ready", flush=True)
    while True:
        time.sleep(3600)


def sclient(pairs_file, parallel, seconds):
    with open(pairs_file) as f:
        pairs = [line.strip() for line in f if line.strip()]

    def probe(pair):
        try:
            r = subprocess.run(["openssl", "s_client", "-connect", pair], stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=seconds)
            return b"-----BEGIN CERTIFICATE-----" in r.stdout
        except subprocess.TimeoutExpired:
            return False

    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=parallel) as ex:
        results = list(ex.map(probe, pairs))
    secs = time.monotonic() - t0
    ok = sum(results)
    print("RESULT pairs=%d ok=%d failed=%d secs=%.3f rate=%.1f"
          % (len(pairs), ok, len(pairs) - ok, secs, len(pairs) / secs), flush=True)


# ---- the console's API -----------------------------------------------------------------


class Api:
    def __init__(self):
        u = urllib.parse.urlsplit(os.environ["KW_URL"])
        self.host, self.port = u.hostname, u.port
        self.ctx = ssl.create_default_context(cafile=os.environ["KW_CA"])
        self.ctx.check_hostname = False
        self.headers = {"Authorization": "Bearer " + os.environ["KW_TOKEN"],
                        "X-Namespace": os.environ.get("KW_NAMESPACE", "/"),
                        "Content-Type": "application/json", "Accept": "application/json"}
        self.c = None

    def req(self, method, path, body=None, want=200):
        data = None if body is None else json.dumps(body).encode()
        for attempt in (1, 2):
            if self.c is None:
                self.c = http.client.HTTPSConnection(self.host, self.port, context=self.ctx,
                                                     timeout=60)
            try:
                self.c.request(method, path, body=data, headers=self.headers)
                r = self.c.getresponse()
                raw = r.read()
                break
            except (http.client.HTTPException, ConnectionError, ssl.SSLError):
                self.c.close()
                self.c = None
                if attempt == 2:
                    raise
        if r.status not in ((want,) if isinstance(want, int) else want):
            die("%s %s answered %d: %s" % (method, path, r.status, raw[:300].decode("utf-8", "replace")))
        if method == "HEAD":
            return r.getheader("X-Count-Total")
        return json.loads(raw) if raw else None


def ms(t):
    """RFC 3339 time ("2026-12-04T10:11:14.208Z") as seconds since the epoch."""
    return datetime.datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp()


def start_run(api, did):
    return api.req("POST", "/discoveries/%s/discoveryruns" % did, {})


def wait_run(api, rid, poll):
    while True:
        r = api.req("GET", "/discoveryruns/" + rid)
        if r.get("status") not in ("QUEUED", "RUNNING"):
            return r
        time.sleep(poll)


def run(name, targets, ports, timeout, concurrency, expect):
    api = Api()
    d = api.req("POST", "/discoveries", {"name": name, "targets": targets.split(","),
                                         "ports": ports.split(","), "timeout": timeout,
                                         "concurrency": int(concurrency)})
    t0 = time.monotonic()
    r = start_run(api, d["ID"])
    r = wait_run(api, r["ID"], 0.02)
    wall = time.monotonic() - t0
    inst = api.req("HEAD", "/discoveries/%s/certificateinstances" % d["ID"], want=(200, 204))
    errs = dict(r.get("errors") or {})
    refused = errs.pop("REFUSED", 0)
    timeouts = errs.pop("TIMEOUT", 0)
    other = ",".join("%s:%s" % kv for kv in sorted(errs.items())) or "0"
    run_secs = ms(r["endTime"]) - ms(r["startTime"]) if r.get("startTime") and r.get("endTime") else wall
    run_secs = max(run_secs, 0.001)  # the times have milliseconds
    print("RESULT id=%s run=%s status=%s total=%s scanned=%s responded=%s certs=%s new=%s "
          "refused=%s timeout=%s other_errors=%s run_secs=%.3f wall_secs=%.3f instances=%s"
          % (d["ID"], r["ID"], r.get("status"), r.get("targetsTotal"), r.get("targetsScanned"),
             r.get("endpointsResponded"), r.get("certificatesFound"), r.get("newCertificates"),
             refused, timeouts, other, run_secs, wall, inst), flush=True)
    if expect:
        responded, want_refused, want_timeout = (int(x) for x in expect)
        total = responded + want_refused + want_timeout
        bad = []
        if r.get("status") != "SUCCEEDED":
            bad.append("status %s (%s)" % (r.get("status"), r.get("failureReason", "")))
        for k, want in (("targetsTotal", total), ("targetsScanned", total),
                        ("endpointsResponded", responded), ("certificatesFound", 1)):
            if r.get(k) != want:
                bad.append("%s %s, expected %d" % (k, r.get(k), want))
        if refused != want_refused:
            bad.append("REFUSED %d, expected %d" % (refused, want_refused))
        if timeouts != want_timeout:
            bad.append("TIMEOUT %d, expected %d" % (timeouts, want_timeout))
        if errs:
            bad.append("other errors %s" % other)
        if str(inst) != str(responded):
            bad.append("%s certificateinstances, expected %d" % (inst, responded))
        print("CHECK " + ("ok" if not bad else "FAIL " + "; ".join(bad)), flush=True)


def loop(did, stopfile):
    api = Api()
    t0 = time.monotonic()
    runs = failed = 0
    running = 0.0
    while not os.path.exists(stopfile):
        r = start_run(api, did)
        r = wait_run(api, r["ID"], 0.05)
        runs += 1
        if r.get("status") != "SUCCEEDED":
            failed += 1
        if r.get("startTime") and r.get("endTime"):
            running += ms(r["endTime"]) - ms(r["startTime"])
    print("RESULT runs=%d running_secs=%.3f window_secs=%.3f failed=%d"
          % (runs, running, time.monotonic() - t0, failed), flush=True)


def main():
    a = sys.argv[1:]
    if a[:1] == ["layout"] and len(a) == 1:
        layout()
    elif a[:1] == ["silent"] and len(a) >= 3:
        silent(a[1], a[2:])
    elif a[:1] == ["sclient"] and len(a) == 4:
        sclient(a[1], int(a[2]), float(a[3]))
    elif a[:1] == ["run"] and len(a) in (6, 9):
        run(a[1], a[2], a[3], a[4], a[5], a[6:])
    elif a[:1] == ["loop"] and len(a) == 3:
        loop(a[1], a[2])
    else:
        die("usage: see the comment at the top of bench/discovery.py")


if __name__ == "__main__":
    main()
