"""The API's certificate (docs/config.md): the operator's own chain and key (`tls_cert`,
`tls_key`), served as they are and never written; SIGHUP reads them again, or renews the
console's own; files that cannot be used refuse the start, or keep the certificate served."""

import hashlib
import os
import signal
import socket
import ssl
import subprocess
import time

import pytest

from certmaker import make_cert
from kwtest import Server, wait_for


class OwnServer(Server):
    """A server whose API certificate chains to `root_pem`, a CA of the test's."""

    def __init__(self, workdir, root_pem, **kw):
        super().__init__(workdir, **kw)
        self.root = str(self.workdir / "root.pem")
        (self.workdir / "root.pem").write_text(root_pem)

    @property
    def ca(self):
        return self.root


def write_own(d, leaf, chain=(), key=None, mode=0o600):
    cert, keyf = d / "own.pem", d / "own.key"
    cert.write_text(leaf.pem + "".join(c.pem for c in chain))
    keyf.write_text((key or leaf).key_pem())
    os.chmod(keyf, mode)
    return cert, keyf


def pki(tmp_path):
    root = make_cert("Own Root", ca=True, days=3650)
    inter = make_cert("Own Intermediate", issuer=root, ca=True, days=1000)
    leaf = make_cert("keyward.own.test", issuer=inter, dns=["localhost"], ips=["127.0.0.1"])
    return root, inter, leaf


def served(server, cafile=None):
    """The DER of the certificate a new connection is given."""
    ctx = ssl.create_default_context(cafile=cafile) if cafile else ssl._create_unverified_context()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            return tls.getpeercert(binary_form=True)


def fingerprint(der):
    return hashlib.sha256(der).hexdigest()


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


@pytest.fixture
def own(tmp_path):
    root, inter, leaf = pki(tmp_path)
    cert, key = write_own(tmp_path, leaf, [inter])
    s = OwnServer(tmp_path / "srv", root.pem, config={"tls_cert": cert, "tls_key": key})
    yield s, root, inter, leaf, cert, key
    if s.alive():
        s.stop(check=True)


def test_the_api_serves_the_operators_chain_and_never_writes_it(own):
    s, root, inter, leaf, cert, key = own
    before = digest(cert), digest(key)
    s.start()
    assert fingerprint(served(s, s.root)) == leaf.fingerprint  # verified up to the root
    out = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % s.port,
                          "-CAfile", s.root, "-verify_return_error", "-showcerts"],
                         input="", capture_output=True, text=True, timeout=30)
    assert "Verify return code: 0 (ok)" in out.stdout, out.stdout[-2000:]
    assert "Own Intermediate" in out.stdout  # the chain goes with the leaf
    assert s.client(s.token()).get("/namespaces", ns="/").status == 200
    assert "the API serves the certificate of %s" % cert in s.stderr()
    assert "curl [--cacert YOUR-CA.pem] " in s.stderr()  # not the console's CA
    s.stop(check=True)
    assert (digest(cert), digest(key)) == before
    assert not (s.data / "tls" / "server.pem").exists()
    assert not (s.data / "tls" / "server.key").exists()


def test_sighup_serves_the_replaced_files_to_new_connections_only(own, tmp_path):
    s, root, inter, leaf, cert, key = own
    s.start()
    old = s.https_conn()
    old.request("GET", "/health")
    assert old.getresponse().read() is not None
    renewed = make_cert("keyward.own.test", issuer=inter, dns=["localhost"], ips=["127.0.0.1"])
    write_own(tmp_path, renewed, [inter])
    assert fingerprint(served(s, s.root)) == leaf.fingerprint  # read only when told
    s.proc.send_signal(signal.SIGHUP)
    assert wait_for(lambda: fingerprint(served(s, s.root)) == renewed.fingerprint, timeout=10)
    old.request("GET", "/health")  # an open connection keeps its session
    r = old.getresponse()
    assert r.status == 200
    r.read()
    old.close()
    assert s.proc.poll() is None


@pytest.mark.parametrize("bad", ["another key", "not PEM", "gone", "a FIFO"])
def test_files_that_cannot_be_used_at_sighup_keep_the_certificate_served(own, tmp_path, bad):
    s, root, inter, leaf, cert, key = own
    s.start()
    if bad == "another key":
        other = make_cert("other", issuer=inter)
        write_own(tmp_path, make_cert("keyward.own.test", issuer=inter, ips=["127.0.0.1"]),
                  [inter], key=other)
        said = "is not the key of tls_cert"
    elif bad == "not PEM":
        cert.write_text("hello\n")
        said = "holds no PEM certificate"
    elif bad == "gone":
        cert.unlink()
        said = "does not exist"
    else:  # read, it would block the server's main thread: SIGTERM, key rotation
        cert.unlink()
        os.mkfifo(cert)
        said = "is not a regular file"
    s.proc.send_signal(signal.SIGHUP)
    assert wait_for(lambda: said in s.stderr(), timeout=10), s.stderr()[-2000:]
    assert "the certificate served is kept" in s.stderr()
    assert fingerprint(served(s, s.root)) == leaf.fingerprint
    assert s.client(s.token()).get("/namespaces", ns="/").status == 200


@pytest.mark.parametrize("case", ["cert only", "key only", "another key", "key for all",
                                  "no such file", "not PEM", "encrypted key"])
def test_the_start_is_refused_with_files_that_cannot_be_used(tmp_path, case):
    root, inter, leaf = pki(tmp_path)
    cert, key = write_own(tmp_path, leaf, [inter])
    conf = {"tls_cert": cert, "tls_key": key}
    said = {"cert only": "tls_cert and tls_key go together",
            "key only": "tls_cert and tls_key go together",
            "another key": "is not the key of tls_cert",
            "key for all": "is readable by every user",
            "no such file": "does not exist",
            "not PEM": "holds no PEM private key",
            "encrypted key": "without a passphrase (decrypt it"}[case]
    if case == "cert only":
        del conf["tls_key"]
    elif case == "key only":
        del conf["tls_cert"]
    elif case == "another key":
        write_own(tmp_path, leaf, [inter], key=make_cert("other"))
    elif case == "key for all":
        os.chmod(key, 0o644)
    elif case == "no such file":
        conf["tls_cert"] = tmp_path / "missing.pem"
    elif case == "encrypted key":
        from cryptography.hazmat.primitives import serialization
        key.write_bytes(leaf.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret-pass")))
    else:
        key.write_text("not a key\n")
    before = key.read_bytes()
    s = OwnServer(tmp_path / "srv", root.pem, config=conf).spawn()
    assert s.wait_exit() == 1
    assert said in s.stderr(), s.stderr()[-2000:]
    assert key.read_bytes() == before  # nothing written over the operator's files


def test_a_group_readable_key_is_served(tmp_path):
    root, inter, leaf = pki(tmp_path)
    cert, key = write_own(tmp_path, leaf, [inter], mode=0o640)  # Debian's ssl-cert group
    s = OwnServer(tmp_path / "srv", root.pem, config={"tls_cert": cert, "tls_key": key})
    s.start()
    try:
        assert fingerprint(served(s, s.root)) == leaf.fingerprint
    finally:
        s.stop(check=True)


def test_an_expiring_certificate_of_ones_own_is_served_with_a_warning(tmp_path):
    root, inter, _ = pki(tmp_path)
    leaf = make_cert("keyward.own.test", issuer=inter, ips=["127.0.0.1"], days=10)
    cert, key = write_own(tmp_path, leaf, [inter])
    s = OwnServer(tmp_path / "srv", root.pem, config={"tls_cert": cert, "tls_key": key})
    s.start()
    try:
        assert "expires within 30 days or has expired" in s.stderr()
        assert fingerprint(served(s, s.root)) == leaf.fingerprint
    finally:
        s.stop(check=True)


def test_sighup_renews_the_consoles_own_certificate_when_it_is_no_longer_usable(start_server):
    """The console's own certificate is judged again on SIGHUP (and every hour): one that is
    no longer usable (here: replaced by a certificate of another CA, as one within 30 days of
    its end would be) is issued anew from the console's CA and served to new connections."""
    s = start_server()
    before = served(s, s.ca)
    foreign = make_cert("localhost", ips=["127.0.0.1"], days=10)
    (s.data / "tls" / "server.pem").write_text(foreign.pem)
    (s.data / "tls" / "server.key").write_text(foreign.key_pem())
    s.proc.send_signal(signal.SIGHUP)
    assert wait_for(lambda: served(s, s.ca) != before, timeout=10), s.stderr()[-2000:]
    now = served(s, s.ca)  # verified against tls/ca.pem: the console's CA issued it
    first = (s.data / "tls" / "server.pem").read_text().split("-----END CERTIFICATE-----")[0]
    on_disk = ssl.PEM_cert_to_DER_cert(first + "-----END CERTIFICATE-----\n")
    assert now == on_disk and fingerprint(now) != foreign.fingerprint
    assert "new connections get the certificate of tls/server.pem" in s.stderr()
    s.proc.send_signal(signal.SIGHUP)  # nothing due: nothing changes
    time.sleep(1)
    assert served(s, s.ca) == now
