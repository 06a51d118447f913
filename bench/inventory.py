#!/usr/bin/python3
"""bench/inventory.py - part 9 of `make bench`: the certificate inventory at scale.

    KEYWARD_BIN=build/keyward KW_BENCH_CERTS=20000 /usr/bin/python3 bench/inventory.py

bench/run.sh runs it (BENCH_ONLY=inventory for this part alone). Debian's python3 and its
standard library only. Every result is next to a reference measured in the same run:

  bulk import, POST /certificateimports (bundles of KW_BENCH_BUNDLE PEM blocks,
      KW_BENCH_IMPORT_CLIENTS clients at once), certificates stored/s
      vs bench/certparse-rate: plain OpenSSL reading the same PEM file on `cores` threads,
      measured before and after the import (the higher counts)
  search over the N certificates of one namespace, one connection, one request at a time,
      pageSize=100, X-Count-Total checked against what the generator made: p50/p99 per query
      vs GET /certificates/:id p99 (one certificate by ID, the same server and connection)
  POST /certificatereports, {"recursive": true} and {"q": "keyAlgorithm == \\"RSA\\""}:
      median and worst of KW_BENCH_REPORTS runs, vs the same GET-by-ID p99
  CSV export, GET /certificates?pageSize=0 with Accept: text/csv: rows/s
      vs the sqlite3 CLI writing the same columns of the table as CSV from the same file
      (read-only, the console stopped);
      the server's peak RSS during it (VmHWM, reset before the export through
      /proc/PID/clear_refs, and VmRSS sampled every 50 ms) vs its RSS just before
  monitoring sweep: the server restarted with monitor_interval = KW_BENCH_SWEEP_INTERVAL
      seconds, left idle; its CPU time (/proc/PID/stat) over KW_BENCH_SWEEP_RUNS intervals
      after a first one, per interval = per sweep run; the ratio is the share of one core

The certificates come from bench/certgen (N leaves from 50 issuer CAs, which are imported
first), cached in bench/out/certs-N/ (regenerated when older than KW_BENCH_CERTS_MAX_AGE days:
their validity is relative to when they were made). The console gets a fresh data directory
every run, so the import is measured every run.

Knobs (environment): KW_BENCH_CERTS (1000000), KW_BENCH_BUNDLE (2000),
KW_BENCH_IMPORT_CLIENTS (2), KW_BENCH_IMPORT_MAX_SECS (1800: past it the import stops, its rate
so far is reported and nothing else is measured), KW_BENCH_QUERY_SECS (8, per query, at most 300 requests),
KW_BENCH_REPORTS (5; fewer when they take more than KW_BENCH_REPORT_SECS, 30, at least 1), KW_BENCH_SWEEP_INTERVAL (20), KW_BENCH_SWEEP_RUNS (3),
KW_BENCH_CERTS_MAX_AGE (7), KW_CERTGEN and KW_CERTRATE (the two programs; built with cc into
the work directory otherwise), KW_WORK (a directory for the data and logs; a temporary one
otherwise), KW_ROWS (a file for the summary rows bench/run.sh prints), KW_BENCH_STORE (unset:
SQLite in the data directory; else a store URI, e.g. postgres://..., written as `store` in the
config of every console it starts; the sqlite3 CSV reference is then left out),
KW_BENCH_IMPORT_ONLY=1 (the import and its row only: no OpenSSL reference, no searches,
reports, export or sweep; part 14 of bench/run.sh uses it as a probe of the import rate),
KW_BENCH_REUSE=1 (with KW_WORK: when a completed import of N certificates is in KW_WORK from an
earlier run, start on its data instead of importing again, and report that import's rate: for
measuring a change to the searches, reports, export or sweep without 15 minutes of import; with
KW_BENCH_STORE, the same store URL and its database as the import left it).

Output: progress and per-query lines, then the summary rows; with KW_ROWS each summary row is
also written there as six cells separated by | (measure, keyward, reference, ratio, goal,
result). Exit status 0 when the run completed, goals met or not; 1 when it could not run.
"""
import bisect
import datetime
import hashlib
import http.client
import json
import os
import random
import re
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
ADMIN_PW = "keyward-bench-admin-password"  # bench data only, loopback only
NS = "/inv"
DAY = 86400
MASK = (1 << 64) - 1


def env_int(name, default, lo=1):
    v = os.environ.get(name, "")
    if v == "":
        return default
    if not re.fullmatch(r"[0-9]+", v) or int(v) < lo:
        sys.exit("inventory: %s: not a whole number >= %d: %r" % (name, lo, v))
    return int(v)


N = env_int("KW_BENCH_CERTS", 1000000)
BUNDLE = env_int("KW_BENCH_BUNDLE", 2000)
CLIENTS = env_int("KW_BENCH_IMPORT_CLIENTS", 2)
QUERY_SECS = env_int("KW_BENCH_QUERY_SECS", 8)
QUERY_MAX = 300
REPORTS = env_int("KW_BENCH_REPORTS", 5)
REPORT_SECS = env_int("KW_BENCH_REPORT_SECS", 30)
SWEEP_INTERVAL = env_int("KW_BENCH_SWEEP_INTERVAL", 20)
SWEEP_RUNS = env_int("KW_BENCH_SWEEP_RUNS", 3)
MAX_AGE = env_int("KW_BENCH_CERTS_MAX_AGE", 7)
IMPORT_MAX = env_int("KW_BENCH_IMPORT_MAX_SECS", 1800)
STORE = os.environ.get("KW_BENCH_STORE", "")
IMPORT_ONLY = os.environ.get("KW_BENCH_IMPORT_ONLY", "") == "1"
REUSE = os.environ.get("KW_BENCH_REUSE", "") == "1"
CORES = os.cpu_count() or 2
CLK_TCK = os.sysconf("SC_CLK_TCK")


def say(*a):
    print(*a, flush=True)


def die(msg):
    raise SystemExit("inventory: %s" % msg)


# ------------------------------------------------- what bench/certgen.c makes

DEPTS = ["eng", "ops", "sales", "hr", "finance", "legal", "it", "support", "infra", "data",
         "mobile", "web", "payments", "search", "mail", "corp"]
SAN_HOSTS = ["host", "www", "api", "mail", "vpn"]
LIFE = [90, 365, 398, 825]


def splitmix64(x):
    x = (x + 0x9E3779B97F4A7C15) & MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK
    return x ^ (x >> 31)


class Gen:
    """The generator's formulas (bench/certgen.c's comment), for the expected answers."""

    def __init__(self, n, seed, now):
        self.n, self.seed, self.now = n, seed, now

    def mix(self, i, k):
        return splitmix64((self.seed + i * 8 + k) & MASK)

    @staticmethod
    def cn(i):
        return "host%d.%s.example.com" % (i, DEPTS[i % 16])

    def dns_names(self, i):
        n = 1 + self.mix(i, 1) % 5
        ndns = n - 1 if n >= 2 and self.mix(i, 2) % 10 == 0 else n
        return ["%s%d.%s.example.com" % (SAN_HOSTS[k], i, DEPTS[i % 16]) for k in range(ndns)]

    def end(self, i):
        m3, l = self.mix(i, 3), self.mix(i, 4) % 20
        v, r = m3 % 1000, m3 >> 16
        days = LIFE[0 if l < 6 else 1 if l < 14 else 2 if l < 19 else 3]
        if v < 80:
            return self.now - DAY - r % (364 * DAY)
        if v < 120:
            return self.now + 3600 + r % (29 * DAY)
        return self.now + 30 * DAY + r % ((days - 31) * DAY)

    def is_rsa(self, i):
        return self.mix(i, 5) % 100 < 62


# ------------------------------------------------------------ the programs

def build_tools(work):
    tools = {}
    for name, env in (("certgen", "KW_CERTGEN"), ("certparse-rate", "KW_CERTRATE")):
        exe = os.environ.get(env, "")
        if not exe:
            exe = str(work / name)
            flags = subprocess.run(["pkg-config", "--cflags", "--libs", "openssl"],
                                   capture_output=True, text=True).stdout.split()
            cmd = ["cc", "-std=c17", "-D_GNU_SOURCE", "-O2", "-o", exe,
                   str(ROOT / "bench" / (name + ".c"))] + flags + ["-lpthread"]
            if subprocess.run(cmd).returncode != 0:
                die("cannot build bench/%s.c" % name)
        tools[name] = exe
    return tools


def dataset(tools):
    """The cached certificates for N: (leaves.pem, cas.pem, Gen)."""
    d = OUT / ("certs-%d" % N)
    meta = d / "meta.json"
    if meta.exists():
        m = json.loads(meta.read_text())
        if m.get("n") == N and time.time() - m["now"] < MAX_AGE * DAY:
            say("certificates: %d cached in %s, made %s" % (N, d, m["made"]))
            return d / "leaves.pem", d / "cas.pem", Gen(N, m["seed"], m["now"])
    d.mkdir(parents=True, exist_ok=True)
    now, seed = int(time.time()), 0
    say("certificates: making %d with bench/certgen into %s (cached for later runs)" % (N, d))
    meta.unlink(missing_ok=True)
    r = subprocess.run([tools["certgen"], "-n", str(N), "-o", str(d / "leaves.pem"),
                        "-c", str(d / "cas.pem"), "-t", str(CORES), "-s", str(seed),
                        "-T", str(now)], capture_output=True, text=True)
    if r.returncode != 0:
        die("certgen failed: %s" % r.stderr.strip())
    say("  " + r.stderr.strip())
    made = datetime.datetime.utcfromtimestamp(now).strftime("%Y-%m-%dT%H:%M:%SZ")
    meta.write_text(json.dumps({"n": N, "seed": seed, "now": now, "made": made}))
    return d / "leaves.pem", d / "cas.pem", Gen(N, seed, now)


def reference_rate(tools, pem):
    r = subprocess.run([tools["certparse-rate"], "-t", str(CORES), "-d", "20", str(pem)],
                       capture_output=True, text=True)
    m = re.search(r"^RESULT .*\bcerts=(\d+) failed=(\d+) seconds=([0-9.]+) rate=(\d+)", r.stdout,
                  re.M)
    if r.returncode != 0 or not m:
        die("certparse-rate failed: %s%s" % (r.stdout, r.stderr))
    if int(m.group(2)):
        say("  warning: certparse-rate could not parse %s blocks" % m.group(2))
    say("reference: plain OpenSSL parses %s certificates/s on %d threads (%s in %s s)"
        % (m.group(4), CORES, m.group(1), m.group(3)))
    return float(m.group(4))


# ---------------------------------------------------------------- the console

def proc_status_kb(pid, field):
    try:
        for line in Path("/proc/%d/status" % pid).read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_ticks(pid):
    f = Path("/proc/%d/stat" % pid).read_text()
    rest = f[f.rindex(")") + 2:].split()
    return int(rest[11]) + int(rest[12])  # utime, stime (fields 14 and 15)


class Server:
    def __init__(self, work, name, data, extra_conf=""):
        self.work, self.name, self.data, self.extra = work, name, data, extra_conf
        self.proc, self.port, self.ctx, self.token = None, None, None, None

    def start(self):
        conf = self.work / ("keyward-%s.conf" % self.name)
        conf.write_text("threads = %d\nmax_connections = 1024\nlog_level = warn\n"
                        "%s%s" % (CORES, "store = %s\n" % STORE if STORE else "", self.extra))
        log = self.work / ("keyward-%s.log" % self.name)
        for _ in range(5):
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                self.port = s.getsockname()[1]
            env = dict(os.environ, KEYWARD_ADMIN_PASSWORD=ADMIN_PW)
            with open(log, "ab") as lf:
                self.proc = subprocess.Popen(
                    [os.environ.get("KEYWARD_BIN", str(ROOT / "build" / "keyward")), "server",
                     "--listen", "127.0.0.1:%d" % self.port, "--data", str(self.data),
                     "--config", str(conf)], stdout=lf, stderr=lf, stdin=subprocess.DEVNULL,
                    env=env)
            want = "listening on https://127.0.0.1:%d" % self.port
            for _ in range(1200):
                if want in log.read_text(errors="replace") or self.proc.poll() is not None:
                    break
                time.sleep(0.1)
            if self.proc.poll() is None and want in log.read_text(errors="replace"):
                self.ctx = ssl.create_default_context(cafile=str(self.data / "tls" / "ca.pem"))
                self.ctx.check_hostname = False
                self.token = self.issue()
                return self
            self.stop()
            if "cannot listen" not in log.read_text(errors="replace"):
                die("keyward (%s) did not start; see %s" % (self.name, log))
        die("keyward (%s) found no free port" % self.name)

    def issue(self):
        c = Client(self, None, "/")
        st, _, body, _ = c.req("POST", "/issue", {"realm": "Vince", "metadata": {
            "vinceAccount": "admin", "vincePassword": ADMIN_PW}})
        c.close()
        if st != 200:
            die("no token: %d %s" % (st, body[:200]))
        return json.loads(body)["token"]

    @property
    def pid(self):
        return self.proc.pid

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            self.proc = None
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


class Client:
    """One keep-alive HTTPS connection; req() times a request to its last body byte."""

    def __init__(self, srv, token, ns=NS):
        self.srv, self.token, self.ns, self.c = srv, token, ns, None

    def close(self):
        if self.c is not None:
            self.c.close()
            self.c = None

    def headers(self, extra):
        h = {"X-Namespace": self.ns, "Accept": "application/json"}
        if self.token:
            h["Authorization"] = "Bearer " + self.token
        h.update(extra or {})
        return h

    def send(self, method, path, data, headers):
        if self.c is None:
            self.c = http.client.HTTPSConnection("127.0.0.1", self.srv.port,
                                                 context=self.srv.ctx, timeout=900)
        self.c.request(method, path, body=data, headers=headers)
        return self.c.getresponse()

    def req(self, method, path, body=None, headers=None, sink=None):
        """(status, headers, body, seconds); with sink, the body goes to sink(chunk)."""
        data = None
        h = self.headers(headers)
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        for attempt in (0, 1):
            t0 = time.perf_counter()
            try:
                r = self.send(method, path, data, h)
                if sink is None:
                    out = r.read()
                else:
                    out = b""
                    while True:
                        chunk = r.read(1 << 20)
                        if not chunk:
                            break
                        sink(chunk)
                dt = time.perf_counter() - t0
                hd = {k.lower(): v for k, v in r.getheaders()}
                if hd.get("connection", "").lower() == "close":
                    self.close()
                return r.status, hd, out, dt
            except (http.client.HTTPException, ConnectionError, ssl.SSLError):
                self.close()  # an idle keep-alive connection closed by the server: once more
                if attempt:
                    raise
        raise AssertionError("unreachable")


# ------------------------------------------------------------------- import

def pem_bundles(path, size):
    """The file's PEM blocks, `size` to a string; and how many blocks there were."""
    out, cur, n, k = [], [], 0, 0
    with open(path) as f:
        for line in f:
            cur.append(line)
            if line.startswith("-----END CERTIFICATE-----"):
                n, k = n + 1, k + 1
                if k == size:
                    out.append("".join(cur))
                    cur, k = [], 0
    if k:
        out.append("".join(cur))
    return out, n


class Importer:
    def __init__(self, srv, bundles):
        self.srv, self.bundles = srv, bundles
        self.lock = threading.Lock()
        self.next = 0
        self.deadline = time.monotonic() + IMPORT_MAX
        self.tot = {"total": 0, "imported": 0, "duplicates": 0, "failed": 0}
        self.errors, self.ids, self.times, self.bad = [], [], [], []

    def take(self):
        with self.lock:
            if self.next >= len(self.bundles) or self.bad or time.monotonic() > self.deadline:
                return None
            self.next += 1
            return self.next - 1

    def one(self, c, k):
        st, _, body, dt = c.req("POST", "/certificateimports", {"contents": self.bundles[k]})
        if st != 200:
            with self.lock:
                self.bad.append("bundle %d: %d %s" % (k, st, body[:300]))
            return
        a = json.loads(body)
        with self.lock:
            for f in self.tot:
                self.tot[f] += a.get(f, 0)
            self.errors.extend(a.get("errors", [])[:5])
            if len(self.ids) < 100000:
                self.ids.extend(a.get("certificateIDs", [])[:50])
            self.times.append((time.monotonic(), a.get("imported", 0), dt))

    def worker(self):
        c = Client(self.srv, self.srv.token)
        try:
            while (k := self.take()) is not None:
                self.one(c, k)
        except Exception as e:  # noqa: BLE001 - reported, the run goes on to fail cleanly
            with self.lock:
                self.bad.append("client: %r" % e)
        finally:
            c.close()

    def run(self):
        th = [threading.Thread(target=self.worker) for _ in range(CLIENTS)]
        t0 = time.monotonic()
        last = t0
        for t in th:
            t.start()
        while any(t.is_alive() for t in th):
            time.sleep(0.5)
            if time.monotonic() - last >= 10:
                last = time.monotonic()
                el = last - t0
                say("  import: %d/%d stored after %.0fs (%.0f/s)" % (
                    self.tot["imported"], N, el, self.tot["imported"] / el))
        for t in th:
            t.join()
        return time.monotonic() - t0


def trend(times, t0):
    """Rate over the first and the last tenth of the import (does it slow as it grows?)."""
    if len(times) < 20:
        return ""
    times = sorted(times)
    k = max(1, len(times) // 10)

    def rate(part, start):
        return sum(n for _, n, _ in part) / max(1e-6, part[-1][0] - start)
    first = rate(times[:k], t0)
    last = rate(times[-k:], times[-k - 1][0])
    return "; first tenth %.0f/s, last tenth %.0f/s" % (first, last)


def do_import(srv, leaves, cas):
    c = Client(srv, srv.token, "/")
    st, _, body, _ = c.req("POST", "/namespaces", {"name": NS.strip("/")})
    c.close()
    if st != 200:
        die("cannot create %s: %d %s" % (NS, st, body[:300]))
    ca = Importer(srv, pem_bundles(cas, 50)[0])
    ca.run()
    if ca.bad or ca.tot["imported"] != 50:
        die("the 50 CAs did not import: %s %s" % (ca.bad, ca.tot))
    bundles, n = pem_bundles(leaves, BUNDLE)
    if n != N:
        die("%s holds %d certificates, not %d" % (leaves, n, N))
    imp = Importer(srv, bundles)
    t_start = time.monotonic()
    secs = imp.run()
    if imp.bad:
        die("import failed: %s" % "; ".join(imp.bad[:3]))
    rate = imp.tot["imported"] / secs
    if imp.next < len(bundles):
        say("import: stopped after %.0f s (KW_BENCH_IMPORT_MAX_SECS) with %d of %d stored: %.0f/s%s"
            % (secs, imp.tot["imported"], N, rate, trend(imp.times, t_start)))
        return rate, None
    say("import: %d certificates in %d bundles of %d, %d clients: %.1f s, %.0f stored/s%s"
        % (N, len(bundles), BUNDLE, CLIENTS, secs, rate, trend(imp.times, t_start)))
    lat = sorted(dt for _, _, dt in imp.times)
    say("  per bundle: p50 %.0f ms, p99 %.0f ms; answer totals %s"
        % (pct(lat, 50) * 1e3, pct(lat, 99) * 1e3, json.dumps(imp.tot)))
    if imp.tot["imported"] != N or imp.tot["failed"] or imp.errors:
        say("  warning: not every certificate was stored; errors: %s" % imp.errors[:5])
    return rate, imp.ids


# ------------------------------------------------------------------- search

def pct(sorted_v, p):
    if not sorted_v:
        return float("nan")
    return sorted_v[min(len(sorted_v) - 1, max(0, -(-len(sorted_v) * p // 100) - 1))]


def q(expr, **extra):
    return "/certificates?" + urllib.parse.urlencode(dict({"q": expr, "pageSize": 100}, **extra))


def latency(c, name, paths, check=None):
    """Sequential requests until QUERY_SECS or QUERY_MAX; (p50 ms, p99 ms, count)."""
    for p in paths[:2]:  # warm-up, not counted
        c.req("GET", p)
    ts, bad, t_end, k = [], [], time.monotonic() + QUERY_SECS, 0
    while time.monotonic() < t_end and k < QUERY_MAX:
        p = paths[k % len(paths)]
        k += 1
        st, h, body, dt = c.req("GET", p)
        ts.append(dt)
        if st != 200:
            bad.append("%d %s" % (st, body[:200]))
        elif check is not None and (why := check(p, h, body)):
            bad.append(why)
    ts.sort()
    if bad:
        say("  warning: %s: %d of %d answers wrong, e.g. %s" % (name, len(bad), len(ts), bad[0]))
    return pct(ts, 50) * 1e3, pct(ts, 99) * 1e3, len(ts), len(bad)


def count_check(expected):
    """A check that X-Count-Total is expected[path] (an int, or (lo, hi))."""
    def check(path, h, body):
        got = h.get("x-count-total")
        want = expected.get(path)
        if got is None or not got.isdigit():
            return "no X-Count-Total"
        if want is None:
            return None
        lo, hi = want if isinstance(want, tuple) else (want, want)
        if not lo <= int(got) <= hi:
            return "X-Count-Total %s, expected %s for %s" % (got, want, urllib.parse.unquote(path))
        return None
    return check


def searches(srv, gen, ids):
    """[(label, p50, p99, n, goal_ms)], ref p99 (GET by ID), health p99."""
    c = Client(srv, srv.token)
    rnd = random.Random(42)
    picks = [rnd.randrange(N) for _ in range(QUERY_MAX)]
    ends = sorted(gen.end(i) for i in range(N))
    id_paths = ["/certificates/%s" % i for i in (rnd.sample(ids, min(len(ids), 200)) or ["x"])]
    rp50, rp99, rn, _ = latency(c, "GET by ID", id_paths)
    hp50, hp99, _, _ = latency(Client(srv, None, "/"), "health", ["/health"])
    say("reference: GET /certificates/:id p50 %.2f ms p99 %.2f ms (%d); GET /health p99 %.2f ms"
        % (rp50, rp99, rn, hp99))
    now = time.time()
    exp_lo = bisect.bisect_right(ends, now + 60) - bisect.bisect_right(ends, now - 60)
    expiring = bisect.bisect_right(ends, now + 30 * DAY) - bisect.bisect_right(ends, now)
    slack = max(3, expiring // 200)
    out = []

    def run(label, goal, paths, expected):
        p50, p99, n, nbad = latency(c, label, paths, count_check(expected))
        say("  %-44s p50 %7.2f ms  p99 %7.2f ms  (%d requests%s)"
            % (label, p50, p99, n, ", %d wrong" % nbad if nbad else ""))
        out.append((label, p50, p99, n, goal))

    paths = [q('status == "EXPIRING"', page=1 + k % 10) for k in range(10)]
    run('status == "EXPIRING"', 10, paths,
        {p: (expiring - slack - exp_lo, expiring + slack + exp_lo) for p in paths})
    days = [datetime.date.today() + datetime.timedelta(days=d) for d in range(0, 91, 7)]
    paths, expected = [], {}
    for d in days:
        p = q('validityEnd < date("%s")' % d.isoformat(), order="validityEnd")
        cut = datetime.datetime(d.year, d.month, d.day, tzinfo=datetime.timezone.utc).timestamp()
        paths.append(p)
        expected[p] = bisect.bisect_left(ends, cut)
    run('validityEnd < date(...), order=validityEnd', 10, paths, expected)
    paths = [q('subjectCN == "%s"' % gen.cn(i)) for i in picks]
    run('subjectCN == "..."', 10, paths, {p: 1 for p in paths})
    paths = []
    for i in picks:
        names = gen.dns_names(i)
        paths.append(q('dnsNames == "%s"' % names[rnd.randrange(len(names))]))
    run('dnsNames == "..."', 10, paths, {p: 1 for p in paths})
    paths = [q('subjectCN contains "st%d.%s.ex"' % (i, DEPTS[i % 16])) for i in picks]
    run('subjectCN contains "..."', 50, paths, {p: (1, N) for p in paths})
    paths = [q('dnsNames matches "^www%d[.]%s[.]"' % (i, DEPTS[i % 16])) for i in picks]
    run('dnsNames matches "..."', None, paths,
        {p: int(len(gen.dns_names(i)) >= 2) for p, i in zip(paths, picks)})
    c.close()
    return out, rp99, hp99


# ------------------------------------------------------------------ reports

def reports(srv, gen):
    c = Client(srv, srv.token)
    rsa = 5 + sum(1 for i in range(N) if gen.is_rsa(i))
    out = []
    for label, body, total in (('reports {"recursive": true}', {"recursive": True}, N + 50),
                               ('reports {"q": keyAlgorithm == "RSA"}',
                                {"q": 'keyAlgorithm == "RSA"'}, rsa)):
        ts, t_end = [], time.monotonic() + REPORT_SECS
        while len(ts) < REPORTS and (not ts or time.monotonic() < t_end):
            st, _, b, dt = c.req("POST", "/certificatereports", body)
            ts.append(dt * 1e3)
            if st != 200:
                die("%s: %d %s" % (label, st, b[:300]))
            got = json.loads(b).get("total")
            if got != total:
                say("  warning: %s: total %s, expected %d" % (label, got, total))
        ts.sort()
        say("  %-44s median %7.1f ms  worst %7.1f ms  (%d runs)"
            % ("POST /certificate" + label, ts[len(ts) // 2], ts[-1], len(ts)))
        out.append((label, ts[len(ts) // 2], ts[-1]))
    c.close()
    return out


# ---------------------------------------------------------------------- CSV

# The default CSV columns (docs/inventory.md), which the table has as columns too.
CSV_COLUMNS = ["ID", "namespace", "subjectCN", "issuerCN", "serialNumber", "fingerprint",
               "keyAlgorithm", "keySize", "signatureAlgorithm", "validityStart", "validityEnd",
               "status", "source", "dnsNames", "weaknesses"]


def sqlite_csv_rate(db):
    """Rows/s of the sqlite3 CLI writing the CSV's columns of the certificates table."""
    if not db.exists():
        return None
    try:
        tables = subprocess.run(["sqlite3", "-readonly", str(db), ".tables"], capture_output=True,
                                text=True, timeout=60).stdout.split()
    except (OSError, subprocess.TimeoutExpired):
        return None
    if "certificates" not in tables:
        return None
    t0 = time.perf_counter()
    cols = ", ".join('"%s"' % c for c in CSV_COLUMNS)
    p = subprocess.Popen(["sqlite3", "-readonly", "-csv", "-header", str(db),
                          "SELECT %s FROM certificates" % cols], stdout=subprocess.PIPE)
    rows = sum(chunk.count(b"\n") for chunk in iter(lambda: p.stdout.read(1 << 20), b"")) - 1
    p.wait()
    return rows / (time.perf_counter() - t0), rows


def csv_export(srv):
    pid = srv.pid
    before = proc_status_kb(pid, "VmRSS")
    try:
        Path("/proc/%d/clear_refs" % pid).write_text("5")  # VmHWM := VmRSS
        hwm_reset = True
    except OSError:
        hwm_reset = False
    peak, done = [before], threading.Event()

    def sample():
        while not done.wait(0.05):
            peak[0] = max(peak[0], proc_status_kb(pid, "VmRSS"))
    th = threading.Thread(target=sample)
    th.start()
    lines, nbytes = [0], [0]

    def sink(chunk):
        lines[0] += chunk.count(b"\n")
        nbytes[0] += len(chunk)
    c = Client(srv, srv.token)
    try:
        st, h, _, secs = c.req("GET", "/certificates?pageSize=0", headers={"Accept": "text/csv"},
                               sink=sink)
    finally:
        done.set()
        th.join()
        c.close()
    hwm = proc_status_kb(pid, "VmHWM")
    rows = lines[0] - 1
    if st != 200 or not h.get("content-type", "").startswith("text/csv"):
        say("  warning: CSV export answered %d %s" % (st, h.get("content-type")))
    if rows != N + 50:
        say("  warning: the CSV export has %d rows, expected %d" % (rows, N + 50))
    say("  CSV export: %d rows, %.1f MB in %.1f s (%.0f rows/s); RSS before %.1f MB, peak sampled"
        " %.1f MB, VmHWM %.1f MB%s" % (rows, nbytes[0] / 1e6, secs, rows / secs, before / 1024,
                                       peak[0] / 1024, hwm / 1024,
                                       "" if hwm_reset else " (not reset: lifetime peak)"))
    return rows / secs, before, max(peak[0], hwm if hwm_reset else 0)


# -------------------------------------------------------------------- sweep

def sweep(work, data):
    srv = Server(work, "sweep", data, "monitor_interval = %ds\n" % SWEEP_INTERVAL).start()
    try:
        say("  monitoring sweep: monitor_interval = %ds, idle; one interval to settle, then %d"
            % (SWEEP_INTERVAL, SWEEP_RUNS))
        time.sleep(SWEEP_INTERVAL)
        t0, c0 = time.monotonic(), cpu_ticks(srv.pid)
        time.sleep(SWEEP_INTERVAL * SWEEP_RUNS)
        cpu = (cpu_ticks(srv.pid) - c0) / CLK_TCK
        el = time.monotonic() - t0
        per = cpu / (el / SWEEP_INTERVAL)
        say("  monitoring sweep: %.2f CPU-s in %.0f s, %.2f CPU-s per interval (%.0f%% of a core)"
            % (cpu, el, per, 100 * per / SWEEP_INTERVAL))
        return per
    finally:
        srv.stop()


# ------------------------------------------------------------------ summary

ROWS = []


def row(measure, kw, ref, ratio, goal, result):
    ROWS.append((measure, kw, ref, ratio, goal, result))


def met(ok):
    return "met" if ok else "MISSED"


def summary(ref_rate, imp_rate, found, ref_p99, hp99, rep, csv, sqlite_ref, sweep_cpu):
    row("import: certificates stored/s (N=%d)" % N, "%.0f" % imp_rate,
        "%.0f openssl" % ref_rate, "%.2f" % (imp_rate / ref_rate), ">= 0.5 x, 10k/s",
        met(imp_rate / ref_rate >= 0.5 and imp_rate >= 10000))
    for label, _, p99, _, goal in found:
        row("search p99 (ms): " + label[:28], "%.2f" % p99, "%.2f GET-by-ID" % ref_p99,
            "%.1f" % (p99 / ref_p99), "<= %d ms" % goal if goal else "-",
            met(p99 <= goal) if goal else "")
    row("GET /health p99 (ms), for scale", "%.2f" % hp99, "", "", "", "")
    for (label, med, worst), goal in zip(rep, (200, None)):
        row("%s (ms)" % label[:40], "%.1f" % med, "%.2f GET-by-ID" % ref_p99,
            "%.0f" % (med / ref_p99), "<= %d ms" % goal if goal else "-",
            met(med <= goal) if goal else "")
    rate, before, peak = csv
    if sqlite_ref:
        row("CSV export, pageSize=0 (rows/s)", "%.0f" % rate, "%.0f sqlite3 -csv" % sqlite_ref[0],
            "%.2f" % (rate / sqlite_ref[0]), "-", "")
    else:
        row("CSV export, pageSize=0 (rows/s)", "%.0f" % rate, "- (no certificates table)", "",
            "-", "")
    row("CSV export, server peak RSS (MB)", "%.1f" % (peak / 1024), "%.1f before" % (before / 1024),
        "%.2f" % (peak / max(before, 1)), "< 100 MB", met(peak < 100 * 1024))
    row("monitoring sweep, CPU-s per run", "%.2f" % sweep_cpu, "%d s interval" % SWEEP_INTERVAL,
        "%.2f" % (sweep_cpu / SWEEP_INTERVAL), "-", "")
    print_rows()


def print_rows():
    fmt = "%-46s %14s %18s %8s %16s %7s"
    say("")
    say(fmt % ("measure", "keyward", "reference", "ratio", "goal", "result"))
    for r in ROWS:
        say(fmt % r)
    if os.environ.get("KW_ROWS"):
        Path(os.environ["KW_ROWS"]).write_text("".join("|".join(r) + "\n" for r in ROWS))


def out_dir():
    OUT.mkdir(parents=True, exist_ok=True)
    return str(OUT)


def main():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    own = not os.environ.get("KW_WORK")
    work = Path(os.environ.get("KW_WORK") or tempfile.mkdtemp(prefix="inv.", dir=out_dir()))
    work.mkdir(parents=True, exist_ok=True)
    tools = build_tools(work)
    leaves, cas, gen = dataset(tools)
    if STORE:
        say("store: %s" % re.sub(r"//([^:@/]*):[^@/]*@", r"//\1:***@", STORE))
    ref_rate = None if IMPORT_ONLY else reference_rate(tools, leaves)
    data = work / "inventory-data"
    srv = Server(work, "inventory", data)
    done = work / "import-done.json"
    try:
        store_id = hashlib.sha256(STORE.encode()).hexdigest()[:16]  # no password kept
        if (REUSE and done.exists() and json.loads(done.read_text()).get("n") == N
                and json.loads(done.read_text()).get("store", "") == store_id):
            kept = json.loads(done.read_text())
            imp_rate, ids = kept["rate"], kept["ids"]
            say("import: reusing the %d certificates imported earlier in %s (%.0f stored/s then)"
                % (N, data, imp_rate))
            srv.start()
        else:
            done.unlink(missing_ok=True)
            srv.start()
            imp_rate, ids = do_import(srv, leaves, cas)
            if ids is not None:
                done.write_text(json.dumps({"n": N, "rate": imp_rate, "ids": ids,
                                            "store": store_id}))
        if IMPORT_ONLY:
            srv.stop()
            row("import: certificates stored/s (N=%d)" % N, "%.0f" % imp_rate, "-", "",
                "-", "" if ids is not None else "STOPPED")
            print_rows()
            if own:
                subprocess.run(["rm", "-rf", str(work)])
            return 0
        # once more after the import, the higher counts: a machine shared with other
        # work slows one measurement or the other, rarely both
        ref_rate = max(ref_rate, reference_rate(tools, leaves))
        if ids is None:
            row("import: certificates stored/s (N=%d)" % N, "%.0f" % imp_rate,
                "%.0f openssl" % ref_rate, "%.2f" % (imp_rate / ref_rate), ">= 0.5 x, 10k/s",
                "MISSED")
            row("import did not finish in %d s: nothing else measured" % IMPORT_MAX, "", "", "",
                "", "")
            print_rows()
            return 0
        srv.stop()  # searches on a freshly started server, as in part 3
        srv.start()
        c = Client(srv, srv.token)
        st, h, _, _ = c.req("HEAD", "/certificates")
        c.close()
        say("certificates in %s: X-Count-Total %s (expected %d)" % (NS, h.get("x-count-total"),
                                                                    N + 50))
        say("search, %d s or %d requests each, one connection:" % (QUERY_SECS, QUERY_MAX))
        found, ref_p99, hp99 = searches(srv, gen, ids)
        rep = reports(srv, gen)
        csv = csv_export(srv)
        srv.stop()
        sqlite_ref = sqlite_csv_rate(data / "keyward.db")
        if sqlite_ref:
            say("  reference: sqlite3 -csv of the certificates table: %d rows, %.0f rows/s"
                % (sqlite_ref[1], sqlite_ref[0]))
        sweep_cpu = sweep(work, data)
    finally:
        srv.stop()
    summary(ref_rate, imp_rate, found, ref_p99, hp99, rep, csv, sqlite_ref, sweep_cpu)
    if own:
        subprocess.run(["rm", "-rf", str(work)])
    return 0


if __name__ == "__main__":
    sys.exit(main())
