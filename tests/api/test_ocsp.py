"""The OCSP responder as relying parties meet it (API.md 7.4, docs/issuance.md "Revocation,
CRL, OCSP"): a request naming several certificates (RFC 6960 4.2.2.3), its cap, a CA this
server does not answer for (RFC 6960 2.3, RFC 5019 2.2.3), and the HTTP caching headers of
RFC 5019 6.2. Answers are read with `openssl ocsp` (as a client, with -url, and with -respin)
and with python3-cryptography's ocsp module; test_revocation.py has the single-certificate
answers themselves."""

import base64
import datetime
import email.utils
import hashlib
import re
import urllib.parse

import pytest
import requests
from cryptography import x509
from cryptography.x509 import ocsp
from cryptography.hazmat.primitives import serialization

from kwtest import Server, free_port, parse_time, rand
from pkitest import load, mk_ca, mk_template, openssl, public, tmpdir, utcnow, write
from test_revocation import new_leaf, ocsp_status, revoke

CERTIDS_MAX = 16  # PKI_OCSP_CERTIDS_MAX (src/pki/status.h)
NO_CA = "0" * 24
OCSP_CT = "application/ocsp-response"


@pytest.fixture(scope="module")
def space(admin):
    return admin.mkns("/", "ocsp-" + rand(8))["name"]


@pytest.fixture(scope="module")
def pki(admin, space):
    """A root, an issuing CA and its template; three leaves: good, revoked (superseded),
    revoked (keyCompromise)."""
    root = mk_ca(admin, space, subject="CN=OCSP Root")
    inter = mk_ca(admin, space, subject="CN=OCSP Issuing CA", parentID=root["ID"])
    tpl = mk_template(admin, space, inter["ID"])
    leaves = [new_leaf(admin, space, tpl["ID"]) for _ in range(3)]
    revs = [None] + [admin.ok(revoke(admin, space, leaves[i][0]["certificateID"], why))
                     for i, why in ((1, "superseded"), (2, "keyCompromise"))]
    return {"root": root, "inter": inter, "tpl": tpl, "leaves": [pem for _, pem in leaves],
            "revocations": revs}


def request_der(*items, digest=None):
    """A DER OCSPRequest made by `openssl ocsp -reqout`, no nonce: its CertIDs in the order
    of `items`, each ("cert", issuer PEM, leaf PEM) or ("serial", issuer PEM, "0x...")."""
    d = tmpdir()
    args = ["ocsp", "-reqout", d / "req.der", "-no_nonce"]
    if digest:
        args.append("-" + digest)
    for i, (kind, issuer, what) in enumerate(items):
        args += ["-issuer", write(d, "issuer%d.pem" % i, issuer)]
        args += (["-cert", write(d, "leaf%d.pem" % i, what)] if kind == "cert"
                 else ["-serial", what])
    openssl(*args)
    return (d / "req.der").read_bytes()


def post(server, ca_id, der):
    return public(server, "/pki/%s/ocsp" % ca_id, "POST", data=der,
                  headers={"Content-Type": "application/ocsp-request"})


def get(server, ca_id, der):
    return public(server, "/pki/%s/ocsp/%s" % (
        ca_id, urllib.parse.quote(base64.b64encode(der).decode(), safe="")))


def answer(r, status=ocsp.OCSPResponseStatus.SUCCESSFUL):
    """The OCSP response of an HTTP answer (200, application/ocsp-response), parsed by
    python3-cryptography, with the response status asked."""
    assert r.status_code == 200, (r.status_code, r.content[:300])
    assert r.headers["Content-Type"] == OCSP_CT, r.headers
    resp = ocsp.load_der_ocsp_response(r.content)
    assert resp.response_status == status, resp.response_status
    return resp


def utc(obj, name):
    """A time field of python3-cryptography's OCSP objects, timezone-aware (Debian 12's
    cryptography 38 has only the naive UTC ones, later ones add `<name>_utc`)."""
    if hasattr(obj, name + "_utc"):
        return getattr(obj, name + "_utc")
    t = getattr(obj, name)
    return t.replace(tzinfo=datetime.timezone.utc) if t is not None else None


def singles(resp):
    """(serial, status, revocation time, reason) of each SingleResponse, in order."""
    return [(s.serial_number, s.certificate_status, utc(s, "revocation_time"),
             s.revocation_reason) for s in resp.responses]


def second(rfc3339):
    return parse_time(rfc3339).replace(microsecond=0)


def respin(der, issuer_pem, root_pem, leaves=(), serials=()):
    """`openssl ocsp -respin` of an answer, asked about `leaves` (PEMs) and `serials`:
    ({leaf index or serial: status line}, stdout, stderr)."""
    d = tmpdir()
    args = ["ocsp", "-respin", write(d, "resp.der", der), "-issuer",
            write(d, "issuer.pem", issuer_pem), "-CAfile", write(d, "root.pem", root_pem),
            "-resp_text"]
    names = {}
    for i, pem in enumerate(leaves):
        p = write(d, "leaf%d.pem" % i, pem)
        args += ["-cert", p]
        names[i] = str(p)
    for s in serials:
        args += ["-serial", s]
        names[s] = s
    r = openssl(*args, check=False)
    assert "Response verify OK" in r.stderr, (r.stdout, r.stderr)
    return {k: ocsp_status(r.stdout, v) for k, v in names.items()}, r.stdout, r.stderr


# ---- several certificates in one request (RFC 6960 4.2.2.3) ------------------------------


def test_every_certificate_of_a_request_is_answered(server, pki):
    """A SingleResponse for each CertID, in order, each as that certificate alone would be
    answered (good / revoked with time and reason / unknown), signed by the same delegated
    responder, whose certificate is included."""
    inter, root = pki["inter"]["certificate"], pki["root"]["certificate"]
    good, sup, kc = pki["leaves"]
    unk = "0x0123456789abcdef0123"
    der = request_der(("cert", inter, good), ("cert", inter, sup), ("serial", inter, unk),
                      ("cert", inter, kc))
    for how in (post, get):
        resp = answer(how(server, pki["inter"]["ID"], der))
        got = singles(resp)
        assert [s[0] for s in got] == [load(good).serial_number, load(sup).serial_number,
                                      int(unk, 16), load(kc).serial_number], got
        assert [s[1] for s in got] == [ocsp.OCSPCertStatus.GOOD, ocsp.OCSPCertStatus.REVOKED,
                                      ocsp.OCSPCertStatus.UNKNOWN,
                                      ocsp.OCSPCertStatus.REVOKED], got
        assert got[1][2:] == (second(pki["revocations"][1]["revocationTime"]),
                              x509.ReasonFlags.superseded), got
        assert got[3][2:] == (second(pki["revocations"][2]["revocationTime"]),
                              x509.ReasonFlags.key_compromise), got
        # each says what asking for that certificate alone says, signed by the same responder
        for i, (kind, what) in enumerate((("cert", good), ("cert", sup), ("serial", unk),
                                          ("cert", kc))):
            alone = answer(post(server, pki["inter"]["ID"], request_der((kind, inter, what))))
            assert singles(alone) == [got[i]], (i, singles(alone), got[i])
            assert [c.public_bytes(serialization.Encoding.DER) for c in alone.certificates] == \
                [c.public_bytes(serialization.Encoding.DER) for c in resp.certificates]
            assert alone.responder_key_hash == resp.responder_key_hash
        # and openssl, reading it as a relying party, verifies it and finds every status
        status, out, _ = respin(how(server, pki["inter"]["ID"], der).content, inter, root,
                                leaves=(good, sup, kc), serials=(unk,))
        assert status == {0: "good", 1: "revoked", 2: "revoked", unk: "unknown"}, out
        assert "Reason: superseded" in out and "Reason: keyCompromise" in out, out
        assert "OCSP Signing" in out, out


def test_another_cas_certificate_among_several_is_unknown(server, admin, space, pki):
    other = mk_ca(admin, space, subject="CN=Another OCSP CA")
    _, theirs = new_leaf(admin, space, mk_template(admin, space, other["ID"])["ID"])
    inter = pki["inter"]["certificate"]
    good, sup, _ = pki["leaves"]
    der = request_der(("cert", inter, good), ("cert", other["certificate"], theirs),
                      ("cert", inter, sup))
    got = singles(answer(post(server, pki["inter"]["ID"], der)))
    assert [s[1] for s in got] == [ocsp.OCSPCertStatus.GOOD, ocsp.OCSPCertStatus.UNKNOWN,
                                  ocsp.OCSPCertStatus.REVOKED], got
    assert got[1][0] == load(theirs).serial_number


def test_the_cap_on_certificates_per_request(server, pki):
    """PKI_OCSP_CERTIDS_MAX CertIDs are answered, one more is malformedRequest."""
    inter = pki["inter"]["certificate"]
    good = pki["leaves"][0]
    serials = ["0x%04x" % (0x7f00 + i) for i in range(CERTIDS_MAX)]
    items = [("cert", inter, good)] + [("serial", inter, s) for s in serials[1:]]
    der = request_der(*items)
    for how in (post, get):
        got = singles(answer(how(server, pki["inter"]["ID"], der)))
        assert len(got) == CERTIDS_MAX, got
        assert got[0][:2] == (load(good).serial_number, ocsp.OCSPCertStatus.GOOD)
        assert [s[0] for s in got[1:]] == [int(s, 16) for s in serials[1:]]
        assert {s[1] for s in got[1:]} == {ocsp.OCSPCertStatus.UNKNOWN}
    der = request_der(*(items + [("serial", inter, "0x7fff")]))
    for how in (post, get):
        r = how(server, pki["inter"]["ID"], der)
        answer(r, ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
        d = tmpdir()
        out = openssl("ocsp", "-respin", write(d, "r.der", r.content), "-resp_text",
                      "-noverify", check=False)
        assert "malformedrequest" in (out.stdout + out.stderr).lower(), out


def test_a_single_certificate_keeps_its_presigned_answer(server, pki):
    """Asking for several certificates signs a fresh answer and keeps nothing: the answer to
    one certificate alone stays the very bytes signed before (RFC 5019)."""
    inter = pki["inter"]["certificate"]
    good, sup, _ = pki["leaves"]
    one = request_der(("cert", inter, good))
    first = post(server, pki["inter"]["ID"], one).content
    both = request_der(("cert", inter, good), ("cert", inter, sup))
    assert len(singles(answer(post(server, pki["inter"]["ID"], both)))) == 2
    assert post(server, pki["inter"]["ID"], one).content == first
    assert get(server, pki["inter"]["ID"], one).content == first


# ---- a CA this server does not answer for -------------------------------------------------


def test_ocsp_to_an_unknown_ca_is_unauthorized(server, pki):
    """An OCSP client gets an OCSP response, not a JSON 404: HTTP 200 and the unsigned
    unauthorized (RFC 6960 2.3, RFC 5019 2.2.3), for the POST and the GET form."""
    der = request_der(("cert", pki["inter"]["certificate"], pki["leaves"][0]))
    for ca_id in (NO_CA, "not-an-id"):
        for how in (post, get):
            r = how(server, ca_id, der)
            answer(r, ocsp.OCSPResponseStatus.UNAUTHORIZED)
            assert r.content == b"\x30\x03\x0a\x01\x06", r.content
            d = tmpdir()
            out = openssl("ocsp", "-respin", write(d, "r.der", r.content), "-resp_text",
                          "-noverify", check=False)
            assert "unauthorized" in (out.stdout + out.stderr).lower(), out
    # a request that does not even parse: the CA is looked at first
    r = post(server, NO_CA, b"garbage")
    answer(r, ocsp.OCSPResponseStatus.UNAUTHORIZED)


@pytest.mark.parametrize("path", ["ca.pem", "ca.crt", "crl"])
def test_the_other_routes_of_an_unknown_ca_stay_404(server, path):
    for ca_id in (NO_CA, "not-an-id"):
        r = public(server, "/pki/%s/%s" % (ca_id, path))
        assert r.status_code == 404, (path, r.status_code, r.content[:200])
        assert r.json()[0]["description"] == "Unknown certificate authority", r.content


# ---- HTTP caching (RFC 5019 6.2) ------------------------------------------------------------


def http_time(value):
    t = email.utils.parsedate_to_datetime(value)
    assert t.tzinfo is not None and value.endswith(" GMT"), value
    return t


def assert_cache_headers(r, resp):
    """Last-Modified the thisUpdate, Expires the nextUpdate, ETag the quoted SHA-256 of the
    DER, and a public max-age that does not outrun nextUpdate."""
    h = r.headers
    ss = list(resp.responses)
    this, nxt = utc(ss[0], "this_update"), utc(ss[0], "next_update")
    assert all((utc(s, "this_update"), utc(s, "next_update")) == (this, nxt) for s in ss)
    assert http_time(h["Last-Modified"]) == this, (h["Last-Modified"], this)
    assert abs((utc(resp, "produced_at") - this).total_seconds()) <= 1, resp.produced_at
    assert http_time(h["Expires"]) == nxt, (h["Expires"], nxt)
    assert h["ETag"] == '"%s"' % hashlib.sha256(r.content).hexdigest(), h["ETag"]
    cc = [p.strip() for p in h["Cache-Control"].split(",")]
    assert "public" in cc, cc
    ages = [int(p[len("max-age="):]) for p in cc if re.fullmatch(r"max-age=\d+", p)]
    assert len(ages) == 1 and 0 < ages[0], cc
    assert utcnow() + datetime.timedelta(seconds=ages[0]) <= nxt + datetime.timedelta(seconds=2)


def test_cached_answers_carry_the_rfc5019_headers(server, admin, space, pki):
    inter = pki["inter"]["certificate"]
    req, leaf = new_leaf(admin, space, pki["tpl"]["ID"])
    der = request_der(("cert", inter, leaf))
    tags = set()
    for how in (post, get):
        r = how(server, pki["inter"]["ID"], der)
        assert_cache_headers(r, answer(r))
        tags.add(r.headers["ETag"])
    assert len(tags) == 1, tags  # the same kept answer, the same tag
    # an unknown serial, and another CA's certificate (answered, not kept)
    other = mk_ca(admin, space)
    _, theirs = new_leaf(admin, space, mk_template(admin, space, other["ID"])["ID"])
    for d in (request_der(("serial", inter, "0x%x" % (0x5e0000 + int(rand(4), 16)))),
              request_der(("cert", other["certificate"], theirs))):
        r = post(server, pki["inter"]["ID"], d)
        assert_cache_headers(r, answer(r))
    # a revocation: a new answer, a new tag
    admin.ok(revoke(admin, space, req["certificateID"]))
    r = post(server, pki["inter"]["ID"], der)
    assert_cache_headers(r, answer(r))
    assert r.headers["ETag"] not in tags


def test_answers_to_several_certificates_carry_them_too(server, pki):
    inter = pki["inter"]["certificate"]
    der = request_der(*[("cert", inter, pem) for pem in pki["leaves"]])
    for how in (post, get):
        r = how(server, pki["inter"]["ID"], der)
        resp = answer(r)
        assert len(singles(resp)) == 3
        assert_cache_headers(r, resp)


# ---- the real client over plain HTTP (pki_listen) ---------------------------------------------


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    port = free_port()
    s = Server(tmp_path_factory.mktemp("kw-ocsp"), config={
        "pki_listen": "127.0.0.1:%d" % port, "pki_url": "http://127.0.0.1:%d" % port})
    s.start()
    s.pki_port = port
    yield s
    s.stop(check=True)


def test_openssl_ocsp_with_several_certs_over_plain_http(plain):
    """`openssl ocsp -issuer int.pem -cert a.pem -cert b.pem -url <ocspURL> -no_nonce`: a
    status for each certificate (it said "b.pem: ERROR: No Status found")."""
    c = plain.admin()
    root = mk_ca(c, "/")
    inter = mk_ca(c, "/", parentID=root["ID"])
    tpl = mk_template(c, "/", inter["ID"])
    (_, a), (req_b, b) = new_leaf(c, "/", tpl["ID"]), new_leaf(c, "/", tpl["ID"])
    c.ok(revoke(c, "/", req_b["certificateID"], "cessationOfOperation"))
    d = tmpdir()
    root_f, inter_f = write(d, "root.pem", root["certificate"]), write(d, "int.pem",
                                                                      inter["certificate"])
    a_f, b_f = write(d, "a.pem", a), write(d, "b.pem", b)
    r = openssl("ocsp", "-issuer", inter_f, "-cert", a_f, "-cert", b_f, "-url",
                inter["ocspURL"], "-CAfile", root_f, "-no_nonce", check=False)
    assert r.returncode == 0 and "Response verify OK" in r.stderr, (r.stdout, r.stderr)
    assert "ERROR" not in r.stdout, r.stdout
    assert ocsp_status(r.stdout, str(a_f)) == "good", r.stdout
    assert ocsp_status(r.stdout, str(b_f)) == "revoked", r.stdout
    assert "Reason: cessationOfOperation" in r.stdout, r.stdout
    # and a CA this server does not know: openssl reads the responder's error
    url = "http://127.0.0.1:%d/pki/%s/ocsp" % (plain.pki_port, NO_CA)
    r = openssl("ocsp", "-issuer", inter_f, "-cert", a_f, "-url", url, "-no_nonce",
                check=False)
    assert "Responder Error: unauthorized (6)" in r.stdout + r.stderr, (r.stdout, r.stderr)
    s = requests.Session()
    s.trust_env = False
    got = s.get("http://127.0.0.1:%d/pki/%s/crl" % (plain.pki_port, NO_CA), timeout=30)
    assert got.status_code == 404
