"""Real TLS servers on loopback for the discovery API tests.

`Servers` is a context manager: __enter__ starts Debian's nginx (the test's own process,
with its own config and prefix in a temp dir, as in pkitest.nginx_curl) and an
`openssl s_server`, each on its own loopback address, serving certificates made here with
certmaker; __exit__ kills every process and closes every socket. The endpoints it lists
say which leaf each (address, port, server name) presents, so a test knows what a scan must
find. `sni_cert()` asks a server, with Python's ssl module, which leaf it really presents.

Linux answers on all of 127.0.0.0/8 without configuration, so each Servers instance uses
addresses base+1 .. base+6 of a random 127.<r>.<r2>.0 (r in 20..250): CIDR targets such as
base/29 then select exactly these servers, and parallel runs do not meet. Ports are found
by binding on the very address used.

nginx missing is a failure, never a skip (scripts/deps.sh test installs nginx-light).

Run this file to check it: `/usr/bin/python3 tests/api/discoverytest.py`.
"""

import datetime
import hashlib
import os
import random
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

import certmaker
from certmaker import Cert, make_cert
from freeport import free_port

NGINX = "/usr/sbin/nginx"
OPENSSL = "openssl"
START_TIMEOUT = 10.0

PEM_CERT = re.compile(r"-----BEGIN CERTIFICATE-----\r?\n.*?-----END CERTIFICATE-----", re.S)

KINDS = ("sni-a", "sni-b", "default", "expired", "self-signed", "console-ca", "s_server")


# ---- small helpers ---------------------------------------------------------------------


def accepts(address, port, timeout=0.5):
    """True when a TCP connect to address:port succeeds."""
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return True
    except OSError:
        return False


def sni_cert(address, port, server_name=None, timeout=5.0):
    """The sha256 (hex, lowercase) of the DER of the leaf certificate the server at
    address:port actually presents, with SNI `server_name` (None or "": no SNI sent).
    Nothing is verified (CERT_NONE, no host name check): this only looks."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection((address, port), timeout=timeout) as raw:
        with ctx.wrap_socket(raw, server_hostname=server_name or None) as tls:
            der = tls.getpeercert(binary_form=True)
    return hashlib.sha256(der).hexdigest()


def _write(d, name, text, mode=None):
    p = Path(d) / name
    p.write_text(text)
    if mode is not None:
        os.chmod(p, mode)
    return p


def _read(p):
    try:
        return Path(p).read_text(errors="replace")
    except OSError:
        return ""


def _stop(proc, sig=signal.SIGTERM):
    """Stop a Popen we started: `sig`, then SIGKILL after 5 s. Never raises."""
    if proc is None or proc.poll() is not None:
        return
    try:
        proc.send_signal(sig)
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            pass
    except OSError:
        pass


def _load_ca(ca_cert_pem, ca_key_pem):
    """A certmaker.Cert from PEM text (str or bytes), to sign with."""
    def b(v):
        return v.encode() if isinstance(v, str) else v
    cert = x509.load_pem_x509_certificate(b(ca_cert_pem))
    key = serialization.load_pem_private_key(b(ca_key_pem), password=None)
    return Cert(cert, key)


def _cert_pem(c):
    return c.pem if isinstance(c, Cert) else (c.decode() if isinstance(c, bytes) else c)


def _text(v):
    return v.decode() if isinstance(v, bytes) else v


def _split_chain(chain):
    """[pem, ...] from a PEM text holding several certificates, or a list of PEM texts."""
    if isinstance(chain, (str, bytes)):
        chain = [chain]
    pems = []
    for part in chain:
        pems += [m.group(0) + "\n" for m in PEM_CERT.finditer(_text(part))]
    assert pems, "console_chain holds no PEM certificate"
    return pems


# ---- the servers -----------------------------------------------------------------------


class Servers:
    """Real TLS servers on loopback addresses, each serving known certificates:
    started in __enter__, every process killed and every socket closed in __exit__.

    `tmpdir`: a directory (pytest's tmp_path is fine); a fresh sub-directory of it holds the
    configs, keys and logs. `console_ca`: optional (ca_cert_pem, ca_key_pem) of a CA the
    console knows; one nginx endpoint (kind "console-ca") then serves a leaf made here and
    signed by it, with the CA in the chain -- for chainValid tests. `console_chain`:
    optional (chain, key_pem), instead of console_ca, of a certificate the console itself
    issued (chain: one PEM text or a list of PEM texts, leaf first); the "console-ca"
    endpoint then serves exactly that chain with that key. At most one of the two.

    After __enter__:

    endpoints   list of dicts, one per (address, port, server_name) that serves TLS:
                  address      "127.x.y.n"
                  port         int
                  server_name  the SNI to send, "" for none (the listener's default)
                  fingerprint  sha256 hex, lowercase, of the DER of the leaf served
                  chain        [pem, ...] as served, leaf first
                  kind         one of KINDS:
                    "sni-a"       addr1:P1, SNI a.disc.test: leaf CN/SAN a.disc.test,
                                  signed by "Disc Test Root" (self.root), chain leaf+root
                    "sni-b"       addr1:P1, SNI b.disc.test: leaf SAN b.disc.test, same CA
                    "default"     addr1:P1, no SNI (or an unknown one): leaf SAN
                                  default.disc.test, same CA
                    "expired"     addr2:P2, no SNI: leaf SAN expired.disc.test, same CA,
                                  valid from -400 days to -10 days
                    "self-signed" addr3:P3, no SNI: self-signed leaf SAN self.disc.test,
                                  chain of one
                    "console-ca"  addr4:P4, no SNI: leaf SAN console.disc.test signed by
                                  console_ca, chain leaf+CA; or the console_chain as
                                  given (only when one of them is given)
                    "s_server"    addr5:P5, no SNI: `openssl s_server -www`, self-signed
                                  EC leaf SAN sserver.disc.test, chain of one
                  certificate  the certmaker.Cert of the leaf (key included)
                The endpoints stay listed after stop_s_server().
    closed      ("127.x.y.6", port): nothing listens there (connect is refused)
    silent      ("127.x.y.6", port): a socket that listens (backlog 64) and never
                accepts or reads; held open by this object until __exit__
    addresses   the distinct loopback addresses used, in order (base+1 .. base+6); base+4
                is listed but serves nothing without console_ca / console_chain
    base        "127.x.y.0": addresses are base+1 .. base+6, so base/29 holds them all
    root        the certmaker.Cert of "Disc Test Root"
    nginx_ports {kind: port} of the nginx listeners (addr1..addr4)

    Use `endpoint(kind)` to get the one endpoint of a kind, `stop_s_server()` to make the
    "s_server" endpoint go away (its port then refuses) while the rest keep serving.
    """

    def __init__(self, tmpdir, console_ca=None, console_chain=None):
        if console_ca is not None and console_chain is not None:
            raise ValueError("give console_ca or console_chain, not both")
        self.tmpdir = Path(tmpdir)
        self.console_ca = console_ca
        self.console_chain = console_chain
        rng = random.SystemRandom()
        self.base = "127.%d.%d.0" % (rng.randint(20, 250), rng.randint(0, 255))
        prefix = self.base.rsplit(".", 1)[0]
        self.addresses = ["%s.%d" % (prefix, i) for i in range(1, 7)]
        self.endpoints = []
        self.closed = None
        self.silent = None
        self.root = None
        self.nginx_ports = {}
        self.dir = None
        self._nginx = None
        self._s_server = None
        self._silent_sock = None

    # -- public helpers --

    def endpoint(self, kind):
        """The endpoint dict of `kind` (see KINDS); KeyError when there is none."""
        for e in self.endpoints:
            if e["kind"] == kind:
                return e
        raise KeyError(kind)

    def stop_s_server(self):
        """Stop the `openssl s_server` (kind "s_server") and wait until its port refuses;
        everything else keeps serving. Its endpoint stays in `endpoints`."""
        _stop(self._s_server)
        self._s_server = None
        e = self.endpoint("s_server")
        deadline = time.monotonic() + START_TIMEOUT
        while accepts(e["address"], e["port"], 0.2):
            assert time.monotonic() < deadline, "s_server still accepts after being stopped"
            time.sleep(0.05)

    # -- context manager --

    def __enter__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="discovery-", dir=str(self.tmpdir)))
        try:
            self._start()
        except BaseException:
            self._close()
            raise
        return self

    def __exit__(self, *exc):
        self._close()
        return False

    # -- the work --

    def _start(self):
        assert os.path.exists(NGINX), "nginx is not installed (scripts/deps.sh test: nginx-light)"
        assert shutil.which(OPENSSL), "openssl is not installed"
        a1, a2, a3, a4, a5, a6 = self.addresses

        now = certmaker.now()
        self.root = make_cert("Disc Test Root", ca=True, days=3650, o="Keyward Discovery Test")
        root = self.root
        leaf_a = make_cert("a.disc.test", issuer=root, dns=["a.disc.test"])
        leaf_b = make_cert("b.disc.test", issuer=root, dns=["b.disc.test"])
        leaf_d = make_cert("default.disc.test", issuer=root, dns=["default.disc.test"])
        leaf_x = make_cert("expired.disc.test", issuer=root, dns=["expired.disc.test"],
                           start=now - datetime.timedelta(days=400),
                           end=now - datetime.timedelta(days=10))
        leaf_s = make_cert("self.disc.test", dns=["self.disc.test"])
        leaf_o = make_cert("sserver.disc.test", key="EC_P256", dns=["sserver.disc.test"])

        # (kind, address, server_name in nginx, endpoint server_name, leaf, chain)
        sites = [
            ("default", a1, "default.disc.test", "", leaf_d, [leaf_d.pem, root.pem]),
            ("sni-a", a1, "a.disc.test", "a.disc.test", leaf_a, [leaf_a.pem, root.pem]),
            ("sni-b", a1, "b.disc.test", "b.disc.test", leaf_b, [leaf_b.pem, root.pem]),
            ("expired", a2, "expired.disc.test", "", leaf_x, [leaf_x.pem, root.pem]),
            ("self-signed", a3, "self.disc.test", "", leaf_s, [leaf_s.pem]),
        ]
        if self.console_ca is not None:
            ca = _load_ca(*self.console_ca)
            leaf_c = make_cert("console.disc.test", issuer=ca, dns=["console.disc.test"])
            sites.append(("console-ca", a4, "console.disc.test", "", leaf_c,
                          [leaf_c.pem, _cert_pem(ca)]))
        elif self.console_chain is not None:
            chain_in, key_in = self.console_chain
            pems = _split_chain(chain_in)
            leaf_c = Cert(x509.load_pem_x509_certificate(pems[0].encode()),
                          serialization.load_pem_private_key(_text(key_in).encode(), None))
            sites.append(("console-ca", a4, "console.disc.test", "", leaf_c, pems))

        for kind, _, _, _, leaf, chain_pems in sites:
            _write(self.dir, kind + ".chain.pem", "".join(chain_pems))
            _write(self.dir, kind + ".key.pem", leaf.key_pem(), 0o600)

        ports = self._start_nginx(sites)
        for kind, addr, _, sni, leaf, chain_pems in sites:
            self.endpoints.append({
                "address": addr, "port": ports[addr], "server_name": sni,
                "fingerprint": leaf.fingerprint, "chain": list(chain_pems), "kind": kind,
                "certificate": leaf,
            })
            self.nginx_ports[kind] = ports[addr]

        p5 = self._start_s_server(a5, leaf_o)
        self.endpoints.append({
            "address": a5, "port": p5, "server_name": "", "fingerprint": leaf_o.fingerprint,
            "chain": [leaf_o.pem], "kind": "s_server", "certificate": leaf_o,
        })

        # closed: a port found free on addr6, nothing listens on it
        self.closed = (a6, free_port(a6))
        # silent: listens, never accepts nor reads
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind((a6, 0))
            s.listen(64)
        except BaseException:
            s.close()
            raise
        self._silent_sock = s
        self.silent = (a6, s.getsockname()[1])
        if self.silent[1] == self.closed[1]:  # the kernel gave the same port back
            self.closed = (a6, free_port(a6))

    def _nginx_conf(self, sites, ports):
        d = self.dir
        blocks = []
        first = set()
        for kind, addr, name, sni, _, _ in sites:
            default = ""
            if addr not in first:  # the first server of a listener is its default_server
                first.add(addr)
                default = " default_server"
            blocks.append("""
    server {
        listen %(addr)s:%(port)d ssl%(default)s;
        server_name %(name)s;
        ssl_certificate "%(chain)s";
        ssl_certificate_key "%(key)s";
        location / { return 200 "%(kind)s\\n"; }
    }""" % {"addr": addr, "port": ports[addr], "default": default, "name": name,
                "chain": d / (kind + ".chain.pem"), "key": d / (kind + ".key.pem"),
                "kind": kind})
        return """
daemon off;
master_process off;
worker_processes 1;
error_log "%(d)s/nginx-error.log" info;
pid "%(d)s/nginx.pid";
events { worker_connections 64; }
http {
    access_log off;
    default_type text/plain;
    keepalive_timeout 0;
    ssl_protocols TLSv1.2 TLSv1.3;
    client_body_temp_path "%(d)s/tmp/body";
    proxy_temp_path "%(d)s/tmp/proxy";
    fastcgi_temp_path "%(d)s/tmp/fastcgi";
    uwsgi_temp_path "%(d)s/tmp/uwsgi";
    scgi_temp_path "%(d)s/tmp/scgi";
%(blocks)s
}
""" % {"d": d, "blocks": "\n".join(blocks)}

    def _start_nginx(self, sites):
        """Start nginx on one free port per address of `sites`; wait until every port
        accepts. Returns {address: port}. A port taken between finding it free and
        nginx binding it makes a retry with new ports (3 tries)."""
        d = self.dir
        (d / "tmp").mkdir(exist_ok=True)
        log = d / "nginx-error.log"
        out = d / "nginx.out"
        addrs = []
        for site in sites:
            if site[1] not in addrs:
                addrs.append(site[1])
        last = ""
        for _ in range(3):
            ports = {a: free_port(a) for a in addrs}
            conf = _write(d, "nginx.conf", self._nginx_conf(sites, ports))
            with open(out, "wb") as o:
                proc = subprocess.Popen(
                    [NGINX, "-p", str(d), "-c", str(conf), "-e", str(log)],
                    stdin=subprocess.DEVNULL, stdout=o, stderr=subprocess.STDOUT,
                    start_new_session=True)
            self._nginx = proc
            deadline = time.monotonic() + START_TIMEOUT
            waiting = list(addrs)
            while waiting and proc.poll() is None and time.monotonic() < deadline:
                waiting = [a for a in waiting if not accepts(a, ports[a], 0.2)]
                if waiting:
                    time.sleep(0.05)
            if proc.poll() is None and not waiting:
                return ports
            _stop(proc, signal.SIGQUIT)
            self._nginx = None
            last = "nginx %s:\n%s\n%s" % (
                "exited %s" % proc.returncode if proc.returncode is not None
                else "does not accept on %s" % ", ".join(
                    "%s:%d" % (a, ports[a]) for a in waiting),
                _read(out), _read(log))
            if "Address already in use" not in last:
                break
        raise AssertionError(last)

    def _start_s_server(self, address, leaf):
        """`openssl s_server -www` on address with `leaf` (self-signed); wait until it
        accepts. A port taken meanwhile makes a retry (3 tries). Returns the port."""
        d = self.dir
        cert = _write(d, "s_server.cert.pem", leaf.pem)
        key = _write(d, "s_server.key.pem", leaf.key_pem(), 0o600)
        out = d / "s_server.out"
        last = ""
        for _ in range(3):
            port = free_port(address)
            with open(out, "wb") as o:
                proc = subprocess.Popen(
                    [OPENSSL, "s_server", "-accept", "%s:%d" % (address, port),
                     "-cert", str(cert), "-key", str(key), "-www", "-quiet"],
                    stdin=subprocess.DEVNULL, stdout=o, stderr=subprocess.STDOUT,
                    start_new_session=True)
            self._s_server = proc
            deadline = time.monotonic() + START_TIMEOUT
            up = False
            while proc.poll() is None and time.monotonic() < deadline:
                if accepts(address, port, 0.2):
                    up = True
                    break
                time.sleep(0.05)
            if up and proc.poll() is None:
                return port
            _stop(proc)
            self._s_server = None
            last = "openssl s_server on %s:%d %s:\n%s" % (
                address, port,
                "exited %s" % proc.returncode if proc.returncode is not None
                else "does not accept", _read(out))
            if "in use" not in last:
                break
        raise AssertionError(last)

    def _close(self):
        """Kill every process, close every socket. Safe to call twice."""
        _stop(self._s_server)
        self._s_server = None
        _stop(self._nginx, signal.SIGQUIT)
        self._nginx = None
        if self._silent_sock is not None:
            self._silent_sock.close()
            self._silent_sock = None


# ---- self-check ------------------------------------------------------------------------


def _self_check():
    ca = make_cert("Console Test CA", ca=True, days=3650)
    with tempfile.TemporaryDirectory() as t:
        with Servers(t, console_ca=(ca.pem, ca.key_pem())) as s:
            print("base %s, addresses %s" % (s.base, " ".join(s.addresses)))
            kinds = [e["kind"] for e in s.endpoints]
            assert sorted(kinds) == sorted(KINDS), kinds
            assert len({e["fingerprint"] for e in s.endpoints}) == len(s.endpoints)
            for e in s.endpoints:
                got = sni_cert(e["address"], e["port"], e["server_name"] or None)
                ok = got == e["fingerprint"]
                print("%-12s %s:%-5d sni=%-18s %s chain=%d %s" % (
                    e["kind"], e["address"], e["port"], e["server_name"] or "-",
                    e["fingerprint"][:16], len(e["chain"]), "OK" if ok else "MISMATCH " + got))
                assert ok, e
                leaf = x509.load_pem_x509_certificate(e["chain"][0].encode())
                assert leaf.fingerprint(hashes.SHA256()).hex() == e["fingerprint"]
            # an unknown SNI on addr1:P1 gets the default server's leaf
            d = s.endpoint("default")
            assert sni_cert(d["address"], d["port"], "other.disc.test") == d["fingerprint"]
            print("unknown SNI on %s:%d -> default leaf OK" % (d["address"], d["port"]))
            # the expired one is expired, the console-ca one is signed by the console CA
            x = s.endpoint("expired")["certificate"].cert
            assert x.not_valid_after < datetime.datetime.utcnow()
            c = s.endpoint("console-ca")["certificate"].cert
            assert c.issuer == ca.cert.subject
            # closed refuses
            try:
                socket.create_connection(s.closed, timeout=2).close()
                raise AssertionError("closed %s:%d accepted" % s.closed)
            except ConnectionRefusedError:
                print("closed %s:%d refuses OK" % s.closed)
            # silent accepts (kernel backlog) and sends nothing within 1 s
            with socket.create_connection(s.silent, timeout=2) as c:
                c.settimeout(1.0)
                try:
                    data = c.recv(1)
                    raise AssertionError("silent sent %r" % data)
                except socket.timeout:
                    print("silent %s:%d accepts, sends nothing in 1 s OK" % s.silent)
            procs = [s._nginx, s._s_server]
        assert all(p.poll() is not None for p in procs), "a process outlived __exit__"
        assert s._silent_sock is None
        for e in s.endpoints:
            assert not accepts(e["address"], e["port"]), "still listening: %r" % (e,)
        assert not accepts(*s.silent), "silent still listening"
        print("after __exit__: every process gone, every port closed OK")
    # console_chain: the given chain and key served as is; stop_s_server
    root = make_cert("Issuing Root", ca=True, days=3650)
    issued = make_cert("console.disc.test", issuer=root, dns=["console.disc.test"])
    with tempfile.TemporaryDirectory() as t:
        with Servers(t, console_chain=(issued.pem + root.pem, issued.key_pem())) as s:
            e = s.endpoint("console-ca")
            assert e["fingerprint"] == issued.fingerprint and len(e["chain"]) == 2
            assert sni_cert(e["address"], e["port"]) == issued.fingerprint
            print("console_chain: served as given OK")
            s.stop_s_server()
            o = s.endpoint("s_server")
            assert not accepts(o["address"], o["port"])
            for e in s.endpoints:
                if e["kind"] != "s_server":
                    assert sni_cert(e["address"], e["port"], e["server_name"]) == \
                        e["fingerprint"]
            print("stop_s_server: its port refuses, the others still serve OK")
    # no console_ca: no console-ca endpoint
    with tempfile.TemporaryDirectory() as t:
        with Servers(t) as s:
            assert "console-ca" not in [e["kind"] for e in s.endpoints]
            for e in s.endpoints:
                assert sni_cert(e["address"], e["port"], e["server_name"]) == e["fingerprint"]
            print("without console_ca: %d endpoints, no console-ca OK" % len(s.endpoints))
    print("discoverytest self-check passed")


if __name__ == "__main__":
    _self_check()
