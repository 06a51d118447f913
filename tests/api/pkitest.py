"""Helpers for the issuance tests (API.md 7.4: test_issuance_ca.py,
test_issuance_requests.py, test_revocation.py).

Relying-party work is done with clients nobody here wrote: the `openssl` command line
(CSRs, `verify`, `crl`, `ocsp`), curl and nginx; python3-cryptography only to read fields
out of certificates and to build CSRs openssl will not make (duplicate extensions).
"""

import atexit
import base64
import datetime
import hashlib
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from kwtest import assert_error, rand

KEY_TYPES = ["EC_P256", "EC_P384", "RSA_2048", "RSA_3072", "RSA_4096", "ED25519"]
FAST_KEY_TYPES = ["EC_P256", "EC_P384", "ED25519"]
PEM_CERT = re.compile(r"-----BEGIN CERTIFICATE-----\r?\n.*?-----END CERTIFICATE-----\r?\n?",
                      re.S)


# ---- openssl ---------------------------------------------------------------------------


def openssl(*args, input=None, check=True, cwd=None):
    """`openssl ARGS...` as a CompletedProcess (text); with check, exit 0 required."""
    r = subprocess.run(["openssl"] + [str(a) for a in args], input=input, capture_output=True,
                       text=True, timeout=120, cwd=cwd)
    if check:
        assert r.returncode == 0, "openssl %s: exit %d\n%s\n%s" % (
            " ".join(str(a) for a in args), r.returncode, r.stdout, r.stderr)
    return r


_BASE = []


def tmpdir():
    """A new directory for files handed to openssl, under one per test process that is
    removed when the process exits."""
    if not _BASE:
        _BASE.append(tempfile.mkdtemp(prefix="kw-pki-"))
        atexit.register(shutil.rmtree, _BASE[0], True)
    return Path(tempfile.mkdtemp(dir=_BASE[0]))


def write(d, name, text):
    p = Path(d) / name
    p.write_text(text) if isinstance(text, str) else p.write_bytes(text)
    return p


def newkey_args(key_type):
    return {"EC_P256": ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
            "EC_P384": ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"],
            "ED25519": ["-newkey", "ed25519"],
            "RSA_1024": ["-newkey", "rsa:1024"],
            "RSA_2048": ["-newkey", "rsa:2048"],
            "RSA_3072": ["-newkey", "rsa:3072"],
            "RSA_4096": ["-newkey", "rsa:4096"]}[key_type]


def make_csr(key_type="EC_P256", cn="www.test.example", dns=(), ips=(), uris=(), emails=(),
             subj=None, extra=(), d=None):
    """A CSR made by `openssl req`: (CSR PEM, key PEM)."""
    d = Path(d or tmpdir())
    tag = rand(6)
    key, csr = d / ("k-%s.pem" % tag), d / ("r-%s.pem" % tag)
    if subj is None:
        subj = "/CN=%s" % cn if cn is not None else "/"
    sans = (["DNS:" + x for x in dns] + ["IP:" + x for x in ips] + ["URI:" + x for x in uris]
            + ["email:" + x for x in emails])
    args = ["req", "-new", "-nodes", "-keyout", key, "-out", csr, "-subj", subj]
    args += newkey_args(key_type)
    if sans:
        # Long SAN lists go through a config file (one -addext line could pass ARG_MAX).
        cfg = d / ("c-%s.cnf" % tag)
        cfg.write_text("[req]\ndistinguished_name=dn\nreq_extensions=ext\nprompt=no\n[dn]\n"
                       "[ext]\nsubjectAltName=@alt\n[alt]\n" + "".join(
                           "%s.%d=%s\n" % (s.split(":", 1)[0].replace("email", "email"), i,
                                           s.split(":", 1)[1]) for i, s in enumerate(sans)))
        args += ["-config", cfg]
    args += list(extra)
    openssl(*args)
    return csr.read_text(), key.read_text()


def split_pem(text):
    """The PEM certificate blocks of `text`, in order."""
    return [m.group(0) if m.group(0).endswith("\n") else m.group(0) + "\n"
            for m in PEM_CERT.finditer(text)]


def load(pem):
    return x509.load_pem_x509_certificate(pem.encode() if isinstance(pem, str) else pem)


def der_of(pem):
    return load(pem).public_bytes(serialization.Encoding.DER)


def sha256_pem(pem):
    return hashlib.sha256(der_of(pem)).hexdigest()


def text_of(pem):
    """`openssl x509 -text` of one certificate."""
    return openssl("x509", "-noout", "-text", input=pem).stdout


def pubkey_of_cert(pem):
    return openssl("x509", "-noout", "-pubkey", input=pem).stdout


def pubkey_of_csr(csr_pem):
    return openssl("req", "-noout", "-pubkey", input=csr_pem).stdout


def pubkey_of_key(key_pem):
    return openssl("pkey", "-pubout", input=key_pem).stdout


def verify(root_pem, leaf_pem, intermediates=(), purpose=None):
    """`openssl verify -CAfile root [-untrusted inters] leaf`: assert it says OK."""
    d = tmpdir()
    args = ["verify", "-CAfile", write(d, "root.pem", root_pem)]
    if intermediates:
        args += ["-untrusted", write(d, "inter.pem", "".join(intermediates))]
    if purpose:
        args += ["-purpose", purpose]
    args.append(write(d, "leaf.pem", leaf_pem))
    r = openssl(*args, check=False)
    assert r.returncode == 0 and r.stdout.strip().endswith(": OK"), \
        "openssl verify failed:\n%s\n%s" % (r.stdout, r.stderr)
    return r


def ext(pem, cls):
    try:
        return load(pem).extensions.get_extension_for_class(cls)
    except x509.ExtensionNotFound:
        return None


def aia_urls(pem):
    """(OCSP URLs, caIssuers URLs) of the certificate's AIA."""
    e = ext(pem, x509.AuthorityInformationAccess)
    assert e is not None, "no Authority Information Access in\n" + text_of(pem)
    ocsp = [d.access_location.value for d in e.value
            if d.access_method == x509.oid.AuthorityInformationAccessOID.OCSP]
    issuers = [d.access_location.value for d in e.value
               if d.access_method == x509.oid.AuthorityInformationAccessOID.CA_ISSUERS]
    return ocsp, issuers


def crl_urls(pem):
    e = ext(pem, x509.CRLDistributionPoints)
    assert e is not None, "no CRL Distribution Points in\n" + text_of(pem)
    return [n.value for dp in e.value for n in (dp.full_name or [])]


def not_before_after(pem):
    c = load(pem)
    utc = datetime.timezone.utc
    return c.not_valid_before.replace(tzinfo=utc), c.not_valid_after.replace(tzinfo=utc)


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


# ---- the API ---------------------------------------------------------------------------


def ca_body(name=None, key_type="EC_P256", subject=None, **kw):
    name = name or "ca-" + rand(8)
    body = {"name": name, "keyType": key_type,
            "subject": "CN=%s Test CA,O=Keyward Tests" % name if subject is None else subject}
    body.update(kw)
    return body


def mk_ca(client, ns, **kw):
    """Create a CA (root, or intermediate with parentID); returns the object."""
    r = client.post("/certificateauthorities", ca_body(**kw), ns=ns)
    assert r.status == 200, r
    return r.data


def template_body(ca_id, name=None, **kw):
    body = {"name": name or "tpl-" + rand(8), "certificateAuthorityID": ca_id,
            "subjectCNRegexes": [".*"], "sanDNSNameRegexes": [".*"],
            "keyTypes": list(KEY_TYPES), "maxValidity": "2160h", "defaultValidity": "720h",
            "keyUsages": ["digitalSignature"], "extendedKeyUsages": ["serverAuth"],
            "csrUploadAllowed": True, "serverKeyGenerationAllowed": True}
    body.update(kw)
    return body


def mk_template(client, ns, ca_id, **kw):
    r = client.post("/issuingtemplates", template_body(ca_id, **kw), ns=ns)
    assert r.status == 200, r
    return r.data


def request(client, ns, template_id, csr=None, attrs=None, validity=None, idem=None, **kw):
    body = {"issuingTemplateID": template_id}
    if csr is not None:
        body["csr"] = csr
    if attrs is not None:
        body["csrAttributes"] = attrs
    if validity is not None:
        body["validity"] = validity
    body.update(kw)
    return client.post("/certificaterequests", body, ns=ns, idem=idem)


def issue(client, ns, template_id, **kw):
    """A request that must issue: the certificaterequest object."""
    r = request(client, ns, template_id, **kw)
    assert r.status == 200, r
    assert r.data["status"] == "ISSUED", r
    return r.data


def refused(r, attribute=None, prefix=None):
    """A policy refusal (API.md 7.4): 422 naming the attribute, and the request kept as
    FAILED under data.certificateRequestID. Returns the error."""
    e = assert_error(r, 422)
    data = e.get("data") or {}
    if attribute is not None:
        assert data.get("attribute") == attribute, e
    if prefix is not None:
        assert str(data.get("attribute", "")).startswith(prefix), e
    return e


def refused_and_kept(client, ns, r, attribute=None, prefix=None):
    e = refused(r, attribute, prefix)
    rid = e["data"].get("certificateRequestID")
    assert rid, "a refused request is kept, its ID in data.certificateRequestID: %r" % e
    got = client.ok(client.get("/certificaterequests/" + rid, ns=ns))
    assert got["status"] == "FAILED" and got.get("failureReason"), got
    assert not got.get("certificateID") and not got.get("certificateChain"), got
    return e, got


def count(client, rest, ns, q=None):
    r = client.head("/" + rest, ns=ns, params={"q": q} if q else None)
    assert r.status == 204, r
    return int(r.headers["X-Count-Total"])


def public(server, path, method="GET", data=None, headers=None):
    """A request without a token (the public PKI routes) over the server's HTTPS."""
    s = server.session()
    try:
        return s.request(method, server.url + path, data=data, headers=headers or {},
                         timeout=60, allow_redirects=False)
    finally:
        s.close()


def list_caps(client, identity):
    """{attribute: maxItems} of every list attribute a resource's published schema
    (/openapi.json) lets a client write; a list without maxItems is listed with None."""
    doc = client.ok(client.get("/openapi.json", ns=None))
    props = doc["components"]["schemas"][identity]["properties"]
    return {k: p.get("maxItems") for k, p in props.items()
            if p.get("type") == "array" and not p.get("readOnly")}


# ---- CSRs openssl will not make --------------------------------------------------------


def _der(tag, content):
    n = len(content)
    if n < 0x80:
        ln = bytes([n])
    else:
        b = n.to_bytes((n.bit_length() + 7) // 8, "big")
        ln = bytes([0x80 | len(b)]) + b
    return bytes([tag]) + ln + content


def raw_csr(extensions, cn="dup.test.example", key=None, version=0):
    """A correctly signed P-256 CSR whose extensionRequest holds `extensions` as given
    (a list of (OID DER bytes, critical, extnValue bytes)), duplicates and all, of PKCS#10
    `version` (RFC 2986 has only 0): PEM."""
    key = key or ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, cn)]).public_bytes()
    spki = key.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)
    exts = b"".join(_der(0x30, oid + (b"\x01\x01\xff" if crit else b"") + _der(0x04, val))
                    for oid, crit, val in extensions)
    ext_req_oid = bytes.fromhex("06092a864886f70d01090e")
    attrs = _der(0xA0, _der(0x30, ext_req_oid + _der(0x31, _der(0x30, exts))))
    cri = _der(0x30, _der(0x02, version.to_bytes(1, "big", signed=True)) + name + spki + attrs)
    sig = key.sign(cri, ec.ECDSA(hashes.SHA256()))
    alg = bytes.fromhex("300a06082a8648ce3d040302")
    der = _der(0x30, cri + alg + _der(0x03, b"\x00" + sig))
    b64 = base64.encodebytes(der).decode().replace("\n", "")
    body = "\n".join(b64[i:i + 64] for i in range(0, len(b64), 64))
    return "-----BEGIN CERTIFICATE REQUEST-----\n%s\n-----END CERTIFICATE REQUEST-----\n" % body


SAN_OID = bytes.fromhex("0603551d11")


def san_value(*dns):
    return x509.SubjectAlternativeName([x509.DNSName(d) for d in dns]).public_bytes()


def tamper(csr_pem, where="signature"):
    """The CSR with one bit flipped in its signature, or in its subject (the signature
    then no longer covers what it says)."""
    lines = csr_pem.strip().splitlines()
    der = bytearray(base64.b64decode("".join(lines[1:-1])))
    if where == "signature":
        der[-5] ^= 0x01
    else:
        # the CN's last byte: find the name's text and change one letter
        i = bytes(der).find(b"test")
        assert i > 0
        der[i] ^= 0x01
    b64 = base64.b64encode(bytes(der)).decode()
    body = "\n".join(b64[i:i + 64] for i in range(0, len(b64), 64))
    return "%s\n%s\n%s\n" % (lines[0], body, lines[-1])


# ---- a real TLS server -----------------------------------------------------------------

NGINX = "/usr/sbin/nginx"


def _curl(root, name, port):
    return subprocess.run(["curl", "-sS", "--noproxy", "*", "--max-time", "5", "--cacert",
                           str(root), "--resolve", "%s:%d:127.0.0.1" % (name, port),
                           "https://%s:%d/" % (name, port)], capture_output=True, text=True)


def nginx_curl(chain_pem, key_pem, root_pem, name):
    """Start Debian's nginx (the test's own process, on a free loopback port) serving
    `chain_pem` with `key_pem` for server name `name`, fetch / with curl trusting only
    `root_pem`, as `name` and as another name; stop nginx. Returns the two curl
    CompletedProcesses. nginx missing is a failure, not a skip (scripts/deps.sh test)."""
    import os
    import shutil
    import signal
    import time
    from kwtest import free_port

    assert os.path.exists(NGINX), "nginx is not installed (scripts/deps.sh test: nginx-light)"
    d = tmpdir()
    try:
        chain = write(d, "chain.pem", chain_pem)
        key = write(d, "key.pem", key_pem)
        os.chmod(key, 0o600)
        root = write(d, "root.pem", root_pem)
        www = d / "www"
        www.mkdir()
        (www / "index.html").write_text("issued by keyward\n")
        (d / "tmp").mkdir()
        port = free_port()
        conf = write(d, "nginx.conf", """
daemon off;
master_process off;
worker_processes 1;
error_log %(d)s/e.log;
pid %(d)s/pid;
events { worker_connections 16; }
http {
    access_log off;
    client_body_temp_path %(d)s/tmp;
    proxy_temp_path %(d)s/tmp;
    fastcgi_temp_path %(d)s/tmp;
    uwsgi_temp_path %(d)s/tmp;
    scgi_temp_path %(d)s/tmp;
    server {
        listen 127.0.0.1:%(port)d ssl;
        server_name %(name)s;
        ssl_certificate %(chain)s;
        ssl_certificate_key %(key)s;
        root %(www)s;
    }
}
""" % {"d": d, "port": port, "chain": chain, "key": key, "www": www, "name": name})
        proc = subprocess.Popen([NGINX, "-c", str(conf), "-p", str(d), "-e", str(d / "e.log")],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)
        try:
            ok = None
            for _ in range(100):
                if proc.poll() is not None:
                    break
                ok = _curl(root, name, port)
                if ok.returncode != 7:  # 7: not listening yet
                    break
                time.sleep(0.1)
            log = (d / "e.log").read_text() if (d / "e.log").exists() else ""
            assert proc.poll() is None, "nginx exited: %s\n%s" % (
                proc.stdout.read().decode(errors="replace"), log)
            assert ok is not None, log
            bad = _curl(root, "other." + name, port)
            return ok, bad
        finally:
            proc.send_signal(signal.SIGQUIT)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
    finally:
        shutil.rmtree(d, ignore_errors=True)
