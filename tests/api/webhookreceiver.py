"""A real HTTPS webhook receiver for the API tests (API.md 7.2).

It makes its own CA and a server certificate for 127.0.0.1 and localhost (python3-cryptography),
serves HTTPS on a thread, checks each request's X-Keyward-Signature against the secret it was
given, and records every request. It can answer errors on purpose (`fail_next(n, status)`),
answer slowly (`delay`), and be stopped and started again on the same port (a receiver that is
down, then back).

    r = Receiver(secret="...").start()
    body = {"url": r.url(), "caCertificate": r.ca_pem, "secret": r.secret, ...}
    ...
    got = r.wait_for(1)          # [Delivery], in arrival order
    r.stop()
"""

import datetime
import hashlib
import hmac
import http.server
import json
import secrets
import socket
import ssl
import tempfile
import threading
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

BODY_MAX = 4 * 1024 * 1024


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Webhook Receiver"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_tls(hosts=("127.0.0.1", "localhost")):
    """A CA and a server certificate it signs for `hosts`: (ca PEM, cert PEM, key PEM)."""
    import ipaddress

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name("Receiver Test CA"))
          .issuer_name(_name("Receiver Test CA")).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(hours=1))
          .not_valid_after(now + datetime.timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                       False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                         critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    sans = []
    for h in hosts:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            sans.append(x509.DNSName(h))
    cert = (x509.CertificateBuilder().subject_name(_name(hosts[0]))
            .issuer_name(ca.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    return (ca.public_bytes(pem).decode(), cert.public_bytes(pem).decode(),
            key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()).decode())


def signature(secret, body):
    """What X-Keyward-Signature must say for `body` (bytes) under `secret` (str)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class Delivery:
    """One request as the receiver got it."""

    def __init__(self, method, path, headers, body, secret, status):
        self.method = method
        self.path = path
        self.headers = headers  # a dict, names lower-cased
        self.body = body
        self.time = time.time()
        self.status = status  # what the receiver answered
        sig = headers.get("x-keyward-signature", "")
        self.signature_ok = hmac.compare_digest(sig, signature(secret, body))
        try:
            self.json = json.loads(body.decode("utf-8"))
        except ValueError:
            self.json = None

    def __repr__(self):
        return "<Delivery %s %s -> %d sig=%s %r>" % (self.method, self.path, self.status,
                                                      self.signature_ok, self.body[:200])


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet
        pass

    def do_POST(self):
        rcv = self.server.receiver
        n = int(self.headers.get("Content-Length", "0") or 0)
        body = self.rfile.read(min(n, BODY_MAX))
        status = rcv._next_status()
        headers = {k.lower(): v for k, v in self.headers.items()}
        d = Delivery("POST", self.path, headers, body, rcv.secret, status)
        if rcv.delay > 0:
            time.sleep(rcv.delay)
        with rcv._cv:
            rcv.deliveries.append(d)
            rcv._cv.notify_all()
        answer = rcv.answer_body
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    do_PUT = do_POST
    do_GET = do_POST


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def get_request(self):
        # The handshake runs on the handler's thread (first read), so a client
        # that connects and says nothing does not stall the accept loop.
        sock, addr = self.socket.accept()
        return self.receiver._tls.wrap_socket(sock, server_side=True,
                                              do_handshake_on_connect=False), addr

    def handle_error(self, request, client_address):  # a refused handshake is fine
        pass


class Receiver:
    """An HTTPS receiver on 127.0.0.1 (port: given, or a free one kept across restarts)."""

    def __init__(self, secret=None, port=None, hosts=("127.0.0.1", "localhost")):
        self.secret = secret or ("whsec-" + secrets.token_hex(16))
        self.ca_pem, self.cert_pem, self.key_pem = make_tls(hosts)
        self.port = port or _free_port()
        self.deliveries = []
        self.delay = 0.0
        self.answer_body = b"ok\n"
        self._fail = []  # statuses to answer next, in order
        self._cv = threading.Condition()
        self._httpd = None
        self._thread = None
        self._dir = tempfile.TemporaryDirectory(prefix="kw-receiver-")
        d = Path(self._dir.name)
        (d / "cert.pem").write_text(self.cert_pem)
        (d / "key.pem").write_text(self.key_pem)
        self._tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._tls.load_cert_chain(str(d / "cert.pem"), str(d / "key.pem"))

    def url(self, path="/hook", host="127.0.0.1"):
        return "https://%s:%d%s" % (host, self.port, path)

    # -- behaviour ---------------------------------------------------------------

    def fail_next(self, n, status=500):
        """Answer `status` to the next `n` requests, then 200 again."""
        with self._cv:
            self._fail.extend([status] * n)

    def _next_status(self):
        with self._cv:
            return self._fail.pop(0) if self._fail else 200

    # -- process -----------------------------------------------------------------

    def start(self):
        assert self._httpd is None, "already running"
        for _ in range(50):  # the port may linger briefly after a stop
            try:
                self._httpd = _Server(("127.0.0.1", self.port), _Handler)
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise AssertionError("receiver cannot listen on port %d again" % self.port)
        self._httpd.receiver = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(10)
        self._httpd = None

    def close(self):
        self.stop()
        self._dir.cleanup()

    # -- what came -----------------------------------------------------------------

    def wait_for(self, n, timeout=30.0):
        """At least `n` requests (returns them all), or fails after `timeout` seconds."""
        end = time.time() + timeout
        with self._cv:
            while len(self.deliveries) < n:
                left = end - time.time()
                if left <= 0:
                    raise AssertionError("receiver got %d request(s), wanted %d: %r"
                                         % (len(self.deliveries), n, self.deliveries))
                self._cv.wait(left)
            return list(self.deliveries)

    def received(self):
        with self._cv:
            return list(self.deliveries)


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


if __name__ == "__main__":  # a manual check: python3 webhookreceiver.py, then POST to it
    r = Receiver().start()
    print("listening on", r.url(), "secret", r.secret)
    print(r.ca_pem)
    try:
        while True:
            time.sleep(1)
            for d in r.received():
                print(d)
    except KeyboardInterrupt:
        r.close()
