"""Revocation and what relying parties read (API.md 7.4): POST /certificates/:id/revocations,
the public routes /pki/:caID/{ca.pem,ca.crt,crl,ocsp} without a token, checked with
`openssl crl`, `openssl ocsp` and curl; the plain-HTTP listener of `pki_listen` and the URLs
issued certificates carry; the certificate.revoked webhook."""

import base64
import datetime
import subprocess
import time
import urllib.parse

import pytest
from cryptography.hazmat.primitives import serialization

from certmaker import make_cert
from kwtest import HEX24, RFC3339_MS, assert_error, free_port, parse_time, rand
from pkitest import (aia_urls, crl_urls, issue, load, make_csr, mk_ca, mk_template, openssl,
                     public, sha256_pem, split_pem, tmpdir, utcnow, write)
from webhookreceiver import Receiver
from webhooktest import delivery_config, webhook_body


@pytest.fixture(scope="module")
def space(admin):
    return admin.mkns("/", "rev-" + rand(8))["name"]


@pytest.fixture(scope="module")
def pki(admin, space):
    root = mk_ca(admin, space, subject="CN=Revocation Root")
    inter = mk_ca(admin, space, subject="CN=Revocation Issuing CA", parentID=root["ID"])
    tpl = mk_template(admin, space, inter["ID"])
    return {"root": root, "inter": inter, "tpl": tpl}


def new_leaf(admin, ns, tpl_id, name=None):
    name = name or "r%s.test.example" % rand(6)
    req = issue(admin, ns, tpl_id, csr=make_csr(cn=name, dns=[name])[0])
    return req, split_pem(req["certificateChain"])[0]


def revoke(client, ns, cert_id, reason="keyCompromise"):
    return client.post("/certificates/%s/revocations" % cert_id, {"reason": reason}, ns=ns)


# ---- OCSP and CRL through openssl ---------------------------------------------------------


def ocsp_request_der(issuer_pem, leaf_pem=None, serial=None, nonce=False, digest=None):
    d = tmpdir()
    args = ["ocsp", "-issuer", write(d, "issuer.pem", issuer_pem), "-reqout", d / "req.der"]
    if digest:
        args.append("-" + digest)  # the CertID's hash (SHA-1 by default)
    args += ["-cert", write(d, "leaf.pem", leaf_pem)] if leaf_pem else ["-serial", serial]
    if not nonce:
        args.append("-no_nonce")
    openssl(*args)
    return (d / "req.der").read_bytes()


def ocsp_read(resp_der, issuer_pem, root_pem, leaf_pem=None, serial=None):
    """`openssl ocsp -respin` of an answer: (status line words, full text, verified)."""
    d = tmpdir()
    args = ["ocsp", "-respin", write(d, "resp.der", resp_der), "-issuer",
            write(d, "issuer.pem", issuer_pem), "-CAfile", write(d, "root.pem", root_pem),
            "-resp_text"]
    args += ["-cert", write(d, "leaf.pem", leaf_pem)] if leaf_pem else ["-serial", serial]
    r = openssl(*args, check=False)
    return r.stdout, r.stderr, "Response verify OK" in r.stderr


def ocsp_status(out, what):
    for line in out.splitlines():
        if line.startswith(what + ": "):
            return line.split(": ", 1)[1].strip()
    raise AssertionError("no status for %s in:\n%s" % (what, out))


def ocsp_post(server, ca_id, der):
    return public(server, "/pki/%s/ocsp" % ca_id, "POST", data=der,
                  headers={"Content-Type": "application/ocsp-request"})


def ocsp_get(server, ca_id, der):
    enc = urllib.parse.quote(base64.b64encode(der).decode(), safe="")
    return public(server, "/pki/%s/ocsp/%s" % (ca_id, enc))


def ask(server, pki, leaf, how="POST"):
    der = ocsp_request_der(pki["inter"]["certificate"], leaf)
    r = (ocsp_post if how == "POST" else ocsp_get)(server, pki["inter"]["ID"], der)
    assert r.status_code == 200, (r.status_code, r.content[:300])
    assert r.headers["Content-Type"] == "application/ocsp-response", r.headers
    out, err, ok = ocsp_read(r.content, pki["inter"]["certificate"], pki["root"]["certificate"],
                             leaf_pem=leaf)
    assert ok, "OCSP response does not verify:\n%s\n%s" % (out, err)
    return out


def crl_text(server, ca):
    r = public(server, "/pki/%s/crl" % ca["ID"])
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/pkix-crl", r
    d = tmpdir()
    out = openssl("crl", "-inform", "DER", "-in", write(d, "crl.der", r.content), "-CAfile",
                  write(d, "ca.pem", ca["certificate"]), "-noout", "-text", check=False)
    assert out.returncode == 0 and "verify OK" in out.stderr, out
    return out.stdout


def crl_number(text):
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if "X509v3 CRL Number" in line:
            return int(lines[i + 1].strip(), 0) if lines[i + 1].strip().startswith("0x") \
                else int(lines[i + 1].strip())
    raise AssertionError("no CRL Number in:\n" + text)


def serial_hex(pem):
    """The serial as `openssl crl -text` prints it: uppercase hex, whole bytes."""
    h = format(load(pem).serial_number, "X")
    return "0" * (len(h) % 2) + h


# ---- the revocation resource --------------------------------------------------------------


def test_revoke(admin, space, pki):
    req, leaf = new_leaf(admin, space, pki["tpl"]["ID"])
    before = utcnow() - datetime.timedelta(seconds=2)
    r = revoke(admin, space, req["certificateID"])
    assert r.status == 200, r
    rev = r.data
    assert rev["object"] == "revocation", rev
    assert rev["certificateID"] == req["certificateID"]
    assert rev["certificateAuthorityID"] == pki["inter"]["ID"]
    assert int(rev["serialNumber"], 16) == load(leaf).serial_number
    assert rev["reason"] == "keyCompromise"
    assert RFC3339_MS.match(rev["revocationTime"])
    assert before <= parse_time(rev["revocationTime"]) <= utcnow() + datetime.timedelta(seconds=2)
    cert = admin.ok(admin.get("/certificates/" + req["certificateID"], ns=space))
    assert cert["status"] == "REVOKED" and cert["revocationReason"] == "keyCompromise", cert
    assert cert["revocationTime"] == rev["revocationTime"]
    got = admin.list("certificates", space, params={"q": 'status == "REVOKED"'})
    assert req["certificateID"] in [x["ID"] for x in got]
    active = admin.list("certificates", space, params={"q": 'status == "ACTIVE"'})
    assert req["certificateID"] not in [x["ID"] for x in active]
    # once
    assert_error(revoke(admin, space, req["certificateID"]), 422)
    assert_error(revoke(admin, space, req["certificateID"], "superseded"), 422)
    assert admin.get("/certificates/" + req["certificateID"], ns=space).data[
        "revocationReason"] == "keyCompromise"


def test_revocation_moves_no_update_time(admin, space, pki):
    """The revocation's status, reason and time are server-maintained attributes of the
    certificate (API.md 6): revoking it does not move its updateTime, so a client's PUT of
    its description with the body read before the revocation goes through (no 409), and
    that PUT, whose body has the status before and no revocation, does not undo it."""
    req, _ = new_leaf(admin, space, pki["tpl"]["ID"])
    read = admin.ok(admin.get("/certificates/" + req["certificateID"], ns=space))
    assert read["status"] != "REVOKED" and "revocationTime" not in read, read
    admin.ok(revoke(admin, space, req["certificateID"], "superseded"))
    revoked = admin.ok(admin.get("/certificates/" + req["certificateID"], ns=space))
    assert revoked["status"] == "REVOKED", revoked
    assert revoked["updateTime"] == read["updateTime"], (read, revoked)
    read["description"] = "rotated out"
    r = admin.put("/certificates/" + req["certificateID"], read, ns=space)
    assert r.status == 200, r
    assert r.data["description"] == "rotated out" and r.data["updateTime"] > read["updateTime"]
    assert r.data["status"] == "REVOKED" and r.data["revocationReason"] == "superseded", r.data
    got = admin.ok(admin.get("/certificates/" + req["certificateID"], ns=space))
    assert got["status"] == "REVOKED", got
    assert got["revocationReason"] == "superseded", got
    assert got["revocationTime"] == revoked["revocationTime"], got
    assert got["description"] == "rotated out"
    assert req["certificateID"] in [
        x["ID"] for x in admin.list("certificates", space, params={"q": 'status == "REVOKED"'})]


@pytest.mark.parametrize("reason", ["unspecified", "cACompromise", "affiliationChanged",
                                    "superseded", "cessationOfOperation", "privilegeWithdrawn"])
def test_every_reason(admin, space, pki, reason):
    req, _ = new_leaf(admin, space, pki["tpl"]["ID"])
    rev = admin.ok(revoke(admin, space, req["certificateID"], reason))
    assert rev["reason"] == reason
    assert admin.get("/certificates/" + req["certificateID"], ns=space).data[
        "revocationReason"] == reason


def test_revocation_refusals(server, admin, space, pki):
    req, _ = new_leaf(admin, space, pki["tpl"]["ID"])
    for bad in ("KeyCompromise", "nope", "removeFromCRL", 1, "key Compromise"):
        e = assert_error(revoke(admin, space, req["certificateID"], bad), 422)
        assert e["data"]["attribute"] == "reason", (bad, e)
    assert admin.get("/certificates/" + req["certificateID"], ns=space).data[
        "status"] != "REVOKED"
    # An empty reason is no reason name: refused, or taken as "unspecified"; never kept
    # as it is (a CRL has no entry reason "").
    ns = admin.mkns(space, "blank" + rand(6))["name"]
    ca = mk_ca(admin, ns)
    blank, _ = new_leaf(admin, ns, mk_template(admin, ns, ca["ID"])["ID"])
    r = revoke(admin, ns, blank["certificateID"], "")
    if r.status == 200:
        assert r.data["reason"] == "unspecified", r
    else:
        assert assert_error(r, 422)["data"]["attribute"] == "reason"
    crl_text(server, ca)
    imported = admin.ok(admin.post("/certificates", {"certificate": make_cert(
        "imp%s.test.example" % rand(4)).pem}, ns=space))
    assert_error(revoke(admin, space, imported["ID"]), 422)
    assert admin.get("/certificates/" + imported["ID"], ns=space).data["status"] == "ACTIVE"
    assert_error(revoke(admin, space, "0" * 24), 404)
    other = admin.mkns(space, "o" + rand(6))["name"]
    assert_error(revoke(admin, other, req["certificateID"]), 404)


def test_revoking_needs_revocation_post(server, admin, space, pki):
    ns = admin.mkns(space, "p" + rand(6))["name"]
    tpl = mk_template(admin, ns, mk_ca(admin, ns)["ID"])
    req, _ = new_leaf(admin, ns, tpl["ID"])
    tokens = {}
    for key, perms in (("cert", ["certificate,*"]), ("rev", ["revocation,post"])):
        name, pw, _ = admin.mkaccount(ns)
        admin.mkauthz(ns, [["@auth:realm=vince", "@auth:account=" + name]], perms)
        tokens[key] = server.client(server.token(name, pw))
    assert_error(revoke(tokens["cert"], ns, req["certificateID"]), 403)
    assert admin.get("/certificates/" + req["certificateID"], ns=ns).data["status"] != "REVOKED"
    # revocation,post alone revokes (API.md 5: a permission of its own), and tells a
    # missing certificate (404) only to those allowed to revoke
    assert revoke(tokens["rev"], ns, req["certificateID"]).status == 200
    assert_error(revoke(tokens["rev"], ns, "0" * 24), 404)
    assert_error(revoke(tokens["cert"], ns, "0" * 24), 403)
    assert_error(tokens["rev"].get("/certificates/" + req["certificateID"], ns=ns), 403)
    name, pw, _ = admin.mkaccount(ns)
    admin.mkauthz(ns, [["@auth:realm=vince", "@auth:account=" + name]],
                  ["@auth:role=namespace.editor"])
    editor = server.client(server.token(name, pw))
    req2, _ = new_leaf(admin, ns, tpl["ID"])
    assert revoke(editor, ns, req2["certificateID"]).status == 200



def test_revoking_a_cas_own_certificate_takes_the_right_to_change_the_ca(server, admin, space):
    """An editor may revoke leaves but not a CA's own certificate: that stops the CA and
    every CA below it for good, which only those who may change the CA may do (API.md 5:
    editors do not manage certificate authorities; a review's editor could)."""
    ns = admin.mkns(space, "rc" + rand(6))["name"]
    root = mk_ca(admin, ns)
    inter = mk_ca(admin, ns, parentID=root["ID"])
    tokens = {}
    for key, perms in (("editor", ["@auth:role=namespace.editor"]),
                       ("rev", ["revocation,post"]),
                       ("caput", ["revocation,post", "certificateauthority,put"])):
        name, pw, _ = admin.mkaccount(ns)
        admin.mkauthz(ns, [["@auth:realm=vince", "@auth:account=" + name]], perms)
        tokens[key] = server.client(server.token(name, pw))
    for key in ("editor", "rev"):
        r = revoke(tokens[key], ns, inter["certificateID"])
        assert_error(r, 403)
        assert "certificateauthority,put" in r.data[0]["description"], r.data
    assert admin.get("/certificates/" + inter["certificateID"], ns=ns).data["status"] != "REVOKED"
    assert "revocationTime" not in admin.get("/certificateauthorities/" + inter["ID"],
                                             ns=ns).data
    tpl = mk_template(admin, ns, inter["ID"])
    req, _ = new_leaf(admin, ns, tpl["ID"])
    assert revoke(tokens["editor"], ns, req["certificateID"]).status == 200
    assert revoke(tokens["caput"], ns, inter["certificateID"]).status == 200
    assert admin.get("/certificateauthorities/" + inter["ID"], ns=ns).data["revocationTime"]

# ---- public routes ------------------------------------------------------------------------


def test_ca_certificate_routes(server, pki):
    ca = pki["inter"]
    r = public(server, "/pki/%s/ca.pem" % ca["ID"])
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/x-pem-file", r
    assert split_pem(r.text)[0] == split_pem(ca["certificate"])[0]
    r = public(server, "/pki/%s/ca.crt" % ca["ID"])
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/pkix-cert", r
    assert r.content == load(ca["certificate"]).public_bytes(serialization.Encoding.DER)
    assert public(server, "/pki/%s/ca.pem" % ca["ID"], "HEAD").status_code == 200


@pytest.mark.parametrize("path", ["ca.pem", "ca.crt", "crl", "nothing"])
def test_unknown_ca_is_404(server, path):
    """OCSP to an unknown CA is an OCSP answer, unauthorized: test_ocsp.py."""
    for ca_id in ("0" * 24, "not-an-id"):
        r = public(server, "/pki/%s/%s" % (ca_id, path))
        assert r.status_code == 404, (path, r.status_code, r.content[:200])


def test_the_public_routes_take_no_token_and_write_nothing(server, pki):
    ca = pki["inter"]
    assert public(server, "/pki/%s/ca.pem" % ca["ID"], "POST", data=b"x").status_code in \
        (404, 405)
    assert public(server, "/pki/%s/crl" % ca["ID"], "DELETE").status_code in (401, 404, 405)
    assert public(server, "/pki/%s/crl" % ca["ID"]).status_code == 200
    # each URL tells its own methods (a review: POST had no Allow, DELETE offered POST)
    for path, method, allow in (("ca.pem", "POST", "GET, HEAD"), ("crl", "DELETE", "GET, HEAD"),
                                ("ca.crt", "PUT", "GET, HEAD"), ("ocsp", "DELETE", "POST"),
                                ("ocsp/MAA=", "DELETE", "GET")):
        r = public(server, "/pki/%s/%s" % (ca["ID"], path), method)
        assert r.status_code == 405 and r.headers.get("Allow") == allow, (path, method, r)
    # the rest of the API still wants a token
    assert public(server, "/certificateauthorities").status_code == 401


def test_crl(server, admin, space, pki):
    ns = admin.mkns(space, "crl" + rand(6))["name"]
    ca = mk_ca(admin, ns)
    tpl = mk_template(admin, ns, ca["ID"])
    text = crl_text(server, ca)
    assert "X509v3 Authority Key Identifier" in text and "Next Update" in text, text
    n0 = crl_number(text)
    assert "No Revoked Certificates" in text, text
    req, leaf = new_leaf(admin, ns, tpl["ID"])
    keep, kept = new_leaf(admin, ns, tpl["ID"])
    admin.ok(revoke(admin, ns, req["certificateID"]))
    text = crl_text(server, ca)  # at once, no waiting for a schedule
    assert crl_number(text) > n0
    assert "Serial Number: " + serial_hex(leaf) in text, text
    after = text.split("Serial Number: " + serial_hex(leaf), 1)[1]
    assert after.split("Serial Number:")[0].count("Key Compromise") == 1, text
    assert serial_hex(kept) not in text
    # another revocation, another CRL with a larger number, listing both
    admin.ok(revoke(admin, ns, keep["certificateID"], "superseded"))
    text2 = crl_text(server, ca)
    assert crl_number(text2) > crl_number(text)
    assert serial_hex(leaf) in text2 and serial_hex(kept) in text2 and "Superseded" in text2


def test_ocsp_good_then_revoked(server, admin, space, pki):
    req, leaf = new_leaf(admin, space, pki["tpl"]["ID"])
    for how in ("POST", "GET"):
        out = ask(server, pki, leaf, how)
        assert ocsp_status(out, _name(out)) == "good", out
    assert "OCSP Signing" in out, "a delegated responder (RFC 6960 4.2.2.2):\n" + out
    admin.ok(revoke(admin, space, req["certificateID"]))
    for how in ("POST", "GET"):
        out = ask(server, pki, leaf, how)  # at once
        assert ocsp_status(out, _name(out)) == "revoked", out
        assert "Reason: keyCompromise" in out, out
        assert "Revocation Time" in out


def _name(out):
    for line in out.splitlines():
        if line.endswith(": good") or line.endswith(": revoked") or line.endswith(": unknown"):
            return line.rsplit(": ", 1)[0]
    raise AssertionError("no status line in:\n" + out)


def test_ocsp_answers_are_presigned(server, admin, space, pki):
    """RFC 5019: the same question gets the same signed answer (no signature per query),
    until the status changes."""
    req, leaf = new_leaf(admin, space, pki["tpl"]["ID"])
    der = ocsp_request_der(pki["inter"]["certificate"], leaf)
    first = ocsp_post(server, pki["inter"]["ID"], der).content
    assert ocsp_post(server, pki["inter"]["ID"], der).content == first
    assert ocsp_get(server, pki["inter"]["ID"], der).content == first
    admin.ok(revoke(admin, space, req["certificateID"]))
    after = ocsp_post(server, pki["inter"]["ID"], der).content
    assert after != first
    out, _, ok = ocsp_read(after, pki["inter"]["certificate"], pki["root"]["certificate"],
                           leaf_pem=leaf)
    assert ok and ocsp_status(out, _name(out)) == "revoked"


def test_ocsp_with_a_sha256_cert_id(server, admin, space, pki):
    req, leaf = new_leaf(admin, space, pki["tpl"]["ID"])
    der = ocsp_request_der(pki["inter"]["certificate"], leaf, digest="sha256")
    r = ocsp_post(server, pki["inter"]["ID"], der)
    assert r.status_code == 200, r
    out, err, ok = ocsp_read(r.content, pki["inter"]["certificate"], pki["root"]["certificate"],
                             leaf_pem=leaf)
    # openssl matches the answer's CertID to its own SHA-1 one: read the status as text
    assert ok and "Cert Status: good" in out, (out, err)
    admin.ok(revoke(admin, space, req["certificateID"]))
    out, err, ok = ocsp_read(ocsp_post(server, pki["inter"]["ID"], der).content,
                             pki["inter"]["certificate"], pki["root"]["certificate"],
                             leaf_pem=leaf)
    assert ok and "Cert Status: revoked" in out, (out, err)


def test_ocsp_with_a_nonce_still_answers(server, pki, admin, space):
    _, leaf = new_leaf(admin, space, pki["tpl"]["ID"])
    der = ocsp_request_der(pki["inter"]["certificate"], leaf, nonce=True)
    r = ocsp_post(server, pki["inter"]["ID"], der)
    assert r.status_code == 200
    out, err, ok = ocsp_read(r.content, pki["inter"]["certificate"], pki["root"]["certificate"],
                             leaf_pem=leaf)
    assert ok and ocsp_status(out, _name(out)) == "good", (out, err)


def test_ocsp_unknown_serial(server, pki):
    for serial in ("0x1234567890abcdef", "0x01"):
        der = ocsp_request_der(pki["inter"]["certificate"], serial=serial)
        for r in (ocsp_post(server, pki["inter"]["ID"], der),
                  ocsp_get(server, pki["inter"]["ID"], der)):
            assert r.status_code == 200, r
            out, err, ok = ocsp_read(r.content, pki["inter"]["certificate"],
                                     pki["root"]["certificate"], serial=serial)
            assert ok and ocsp_status(out, serial) == "unknown", (out, err)


def test_ocsp_for_another_cas_certificate_is_never_good(server, admin, space, pki):
    other = mk_ca(admin, space)
    tpl = mk_template(admin, space, other["ID"])
    _, leaf = new_leaf(admin, space, tpl["ID"])
    # asked of pki["inter"]'s responder, with the right issuer in the CertID...
    der = ocsp_request_der(other["certificate"], leaf)
    r = ocsp_post(server, pki["inter"]["ID"], der)
    assert r.status_code == 200, r
    d = tmpdir()
    out = openssl("ocsp", "-respin", write(d, "r.der", r.content), "-resp_text", "-noverify",
                  check=False).stdout
    assert "unauthorized" in out or "Cert Status: unknown" in out, out
    assert "Cert Status: good" not in out
    # ...and with this CA named as the issuer of a serial it never issued
    der = ocsp_request_der(pki["inter"]["certificate"], serial="0x%s" % serial_hex(leaf))
    out, _, ok = ocsp_read(ocsp_post(server, pki["inter"]["ID"], der).content,
                           pki["inter"]["certificate"], pki["root"]["certificate"],
                           serial="0x%s" % serial_hex(leaf))
    assert ocsp_status(out, "0x%s" % serial_hex(leaf)) == "unknown", out


@pytest.mark.parametrize("body", [b"", b"garbage", b"\x30\x03\x02\x01\x00", b"\x30" * 4096],
                         ids=["empty", "garbage", "a sequence of nothing", "deep nesting"])
def test_malformed_ocsp_requests(server, pki, body):
    r = ocsp_post(server, pki["inter"]["ID"], body)
    assert r.status_code < 500, (r.status_code, r.content[:200])
    if r.status_code == 200:
        d = tmpdir()
        out = openssl("ocsp", "-respin", write(d, "r.der", r.content), "-resp_text",
                      "-noverify", check=False)
        assert "malformedrequest" in (out.stdout + out.stderr).lower(), out
    else:
        assert r.status_code == 400, r.status_code
    for path in ("/pki/%s/ocsp/%s" % (pki["inter"]["ID"], "!!!"),
                 "/pki/%s/ocsp/%s" % (pki["inter"]["ID"],
                                      urllib.parse.quote(base64.b64encode(body).decode(),
                                                         safe=""))):
        r = public(server, path)
        assert r.status_code < 500 and r.status_code in (200, 400, 404), r.status_code


def test_a_disabled_ca_still_revokes(server, admin, space, pki):
    """A disabled CA issues nothing, but its revocations still go on, to CRL and OCSP."""
    ns = admin.mkns(space, "dis" + rand(6))["name"]
    root = mk_ca(admin, ns)
    tpl = mk_template(admin, ns, root["ID"])
    req, leaf = new_leaf(admin, ns, tpl["ID"])
    r = admin.put("/certificateauthorities/" + root["ID"], dict(root, disabled=True), ns=ns)
    assert r.status == 200, r
    admin.ok(revoke(admin, ns, req["certificateID"]))
    assert serial_hex(leaf) in crl_text(server, root)
    p = {"inter": root, "root": root}
    out = ask(server, p, leaf)
    assert ocsp_status(out, _name(out)) == "revoked", out


def test_a_deleted_cas_certificates_cannot_be_revoked(server, admin, space):
    """Once its CA is deleted (?override=true) no CRL or OCSP responder can ever publish a
    revocation of a certificate: revoking it is 422 on certificateID, saying why, and
    nothing is stored (no revocation, the certificate not REVOKED)."""
    ns = admin.mkns(space, "gone" + rand(6))["name"]
    ca = mk_ca(admin, ns)
    req, _ = new_leaf(admin, ns, mk_template(admin, ns, ca["ID"])["ID"])
    r = admin.delete("/certificateauthorities/" + ca["ID"], ns=ns, params={"override": "true"})
    assert r.status == 200, r
    assert public(server, "/pki/%s/crl" % ca["ID"]).status_code == 404
    e = assert_error(revoke(admin, ns, req["certificateID"]), 422)
    assert e["data"]["attribute"] == "certificateID", e
    assert "deleted" in e["description"], e
    cert = admin.ok(admin.get("/certificates/" + req["certificateID"], ns=ns))
    assert cert["status"] != "REVOKED" and not cert.get("revocationTime"), cert
    assert admin.list("revocations", ns) == []
    assert admin.list("certificates/%s/revocations" % req["certificateID"], ns) == []


def test_an_expired_cas_certificates_cannot_be_revoked(admin, space):
    """An expired CA signs no new CRL or OCSP answer (its last CRL is served as it is),
    so a revocation would never be published: 422 on certificateID, saying why, nothing
    stored (black-box review 8: 200 and REVOKED, yet no relying party could see it)."""
    ns = admin.mkns(space, "exp" + rand(6))["name"]
    end = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=6)
    ca_cert = make_cert("Ending CA " + rand(6), ca=True, end=end.replace(microsecond=0))
    ca = admin.ok(admin.post("/certificateauthorities", {
        "name": "ending-" + rand(6), "certificate": ca_cert.pem,
        "privateKey": ca_cert.key_pem()}, ns=ns))
    req, _ = new_leaf(admin, ns, mk_template(admin, ns, ca["ID"])["ID"])
    left = end.timestamp() + 1 - time.time()
    if left > 0:
        time.sleep(left)
    e = assert_error(revoke(admin, ns, req["certificateID"]), 422)
    assert e["data"]["attribute"] == "certificateID" and "expired" in e["description"], e
    cert = admin.ok(admin.get("/certificates/" + req["certificateID"], ns=ns))
    assert not cert.get("revocationTime"), cert
    assert admin.list("certificates/%s/revocations" % req["certificateID"], ns) == []


def test_the_responder_of_a_ca_with_directory_name_constraints_verifies(server, admin, space):
    """An imported intermediate O=Corp, CN=Corp Issuing constrained to the subtree O=Corp,
    OU=Servers (a CA's own name need not lie within what it permits): relying parties apply
    the constraints to its delegated OCSP responder too. Named after the CA's subject, the
    responder was outside them and `openssl ocsp` refused every answer ("permitted subtree
    violation": black-box review 8); named within the permitted subtree, it verifies."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    from certmaker import name, new_key
    ns = admin.mkns(space, "dirnc" + rand(6))["name"]
    root = make_cert("Corp Root " + rand(6), ca=True, days=3650)
    key = new_key("EC_P256")
    now = datetime.datetime.now(datetime.timezone.utc)
    permitted = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Corp"),
                           x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Servers")])
    inter = (x509.CertificateBuilder().subject_name(name("Corp Issuing " + rand(6), o="Corp"))
             .issuer_name(root.cert.subject).public_key(key.public_key())
             .serial_number(x509.random_serial_number())
             .not_valid_before(now - datetime.timedelta(hours=1))
             .not_valid_after(now + datetime.timedelta(days=200))
             .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
             .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                          False), critical=True)
             .add_extension(x509.NameConstraints([x509.DirectoryName(permitted)], None),
                            critical=True)
             .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
             .sign(root.key, hashes.SHA256()))
    inter_pem = inter.public_bytes(serialization.Encoding.PEM).decode()
    ca = admin.ok(admin.post("/certificateauthorities", {
        "name": "dirnc-" + rand(6), "certificate": inter_pem,
        "privateKey": key.private_bytes(serialization.Encoding.PEM,
                                        serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()).decode()}, ns=ns))
    tpl = mk_template(admin, ns, ca["ID"], subjectORegexes=["Corp"],
                      subjectOURegexes=["Servers"])
    csr, _ = make_csr(subj="/O=Corp/OU=Servers/CN=www.corp.test", dns=["www.corp.test"])
    leaf = split_pem(issue(admin, ns, tpl["ID"], csr=csr)["certificateChain"])[0]
    r = ocsp_post(server, ca["ID"], ocsp_request_der(inter_pem, leaf))
    assert r.status_code == 200, r.status_code
    d = tmpdir()
    args = ["ocsp", "-respin", write(d, "resp.der", r.content), "-issuer",
            write(d, "issuer.pem", inter_pem), "-CAfile", write(d, "root.pem", root.pem),
            "-verify_other", write(d, "inter.pem", inter_pem), "-cert", write(d, "leaf.pem", leaf),
            "-resp_text"]
    out = openssl(*args, check=False)
    assert "Response verify OK" in out.stderr, out.stderr + out.stdout
    assert ocsp_status(out.stdout, str(d / "leaf.pem")) == "good", out.stdout
    assert "OU=Servers" in out.stdout.replace(" = ", "=").replace(", ", ","), out.stdout


def test_everything_survives_a_restart(start_server):
    """The CA keys are sealed in the store: after a restart the same CAs issue, and the
    revocations are still in the CRL and OCSP."""
    s = start_server(config={"login_failures_per_address_max": 0})
    c = s.admin()
    root = mk_ca(c, "/")
    inter = mk_ca(c, "/", parentID=root["ID"], key_type="RSA_2048")
    tpl = mk_template(c, "/", inter["ID"])
    req, leaf = new_leaf(c, "/", tpl["ID"])
    _, kept = new_leaf(c, "/", tpl["ID"])
    c.ok(revoke(c, "/", req["certificateID"]))
    s.stop(check=True)
    s.start()
    c = s.admin()
    assert c.ok(c.get("/certificateauthorities/" + inter["ID"], ns="/"))["certificate"] == \
        inter["certificate"]
    _, fresh_leaf = new_leaf(c, "/", tpl["ID"])
    from pkitest import verify
    verify(root["certificate"], fresh_leaf, [inter["certificate"]])
    assert serial_hex(leaf) in crl_text(s, inter)
    p = {"inter": inter, "root": root}
    out = ask(s, p, leaf)
    assert ocsp_status(out, _name(out)) == "revoked", out
    out = ask(s, p, kept)
    assert ocsp_status(out, _name(out)) == "good", out


def test_revoking_an_intermediate(server, admin, space):
    """An intermediate's certificate is one its parent issued: revocable like a leaf, on
    the parent's CRL and OCSP; openssl then refuses the leaves below it."""
    ns = admin.mkns(space, "ri" + rand(6))["name"]
    root = mk_ca(admin, ns)
    inter = mk_ca(admin, ns, parentID=root["ID"])
    tpl = mk_template(admin, ns, inter["ID"])
    _, leaf = new_leaf(admin, ns, tpl["ID"])
    p = {"inter": root, "root": root}
    out = ask(server, p, inter["certificate"])
    assert ocsp_status(out, _name(out)) == "good", out
    rev = admin.ok(revoke(admin, ns, inter["certificateID"], "cACompromise"))
    assert rev["certificateAuthorityID"] == root["ID"]
    out = ask(server, p, inter["certificate"])
    assert ocsp_status(out, _name(out)) == "revoked" and "cACompromise" in out, out
    text = crl_text(server, root)
    assert serial_hex(inter["certificate"]) in text and "CA Compromise" in text, text
    d = tmpdir()
    crls = write(d, "crls.pem", "".join(
        openssl("crl", "-inform", "DER", "-in", write(d, "%d.der" % i, public(
            server, "/pki/%s/crl" % ca["ID"]).content)).stdout
        for i, ca in enumerate((root, inter))))
    v = openssl("verify", "-crl_check_all", "-CAfile", write(d, "root.pem", root["certificate"]),
                "-untrusted", write(d, "inter.pem", inter["certificate"]), "-CRLfile", crls,
                write(d, "leaf.pem", leaf), check=False)
    assert v.returncode != 0 and "revoked" in v.stdout + v.stderr, v



def test_a_deleted_intermediates_certificate_stays_good_at_its_parent(server, admin, space):
    """The parent issued the intermediate's certificate, which outlives the intermediate's
    CA object (it stays in the inventory): the parent answers good for it, by any CertID
    hash, then revoked (a review saw unknown on every answer signed after the delete)."""
    ns = admin.mkns(space, "di" + rand(6))["name"]
    root = mk_ca(admin, ns)
    inter = mk_ca(admin, ns, parentID=root["ID"])
    assert admin.delete("/certificateauthorities/" + inter["ID"], ns=ns).status == 200
    p = {"inter": root, "root": root}
    for digest in ("sha256", "sha384", None):
        der = ocsp_request_der(root["certificate"], inter["certificate"], digest=digest)
        out, err, ok = ocsp_read(ocsp_post(server, root["ID"], der).content,
                                 root["certificate"], root["certificate"],
                                 leaf_pem=inter["certificate"])
        assert ok and ocsp_status(out, _name(out)) == "good", (digest, out, err)
    admin.ok(revoke(admin, ns, inter["certificateID"], "cessationOfOperation"))
    out = ask(server, p, inter["certificate"])
    assert ocsp_status(out, _name(out)) == "revoked", out


def test_ocsp_answers_never_outlive_their_ca(start_server):
    """An answer's nextUpdate never passes its responder certificate, clipped to the CA's
    end (a cache keeping it till then could not verify it after); once the CA has expired,
    OCSP is unauthorized and no new CRL is signed (404), not internal errors (a review saw
    them)."""
    from kwtest import faked_clock
    s = start_server()
    admin = s.admin()
    ns = admin.mkns("/", "exp" + rand(6))["name"]
    root = mk_ca(admin, ns)
    inter = mk_ca(admin, ns, parentID=root["ID"], validity="2h")
    _, leaf = new_leaf(admin, ns, mk_template(admin, ns, inter["ID"])["ID"])
    der = ocsp_request_der(inter["certificate"], leaf)
    out, err, ok = ocsp_read(ocsp_post(s, inter["ID"], der).content, inter["certificate"],
                             root["certificate"], leaf_pem=leaf)
    assert ok and ocsp_status(out, _name(out)) == "good", (out, err)
    nxt = [ln.split(":", 1)[1].strip() for ln in out.splitlines()
           if ln.strip().startswith("Next Update:")][0]
    nxt = datetime.datetime.strptime(nxt, "%b %d %H:%M:%S %Y %Z").replace(
        tzinfo=datetime.timezone.utc)
    assert nxt <= parse_time(inter["validityEnd"]), (nxt, inter["validityEnd"])
    s.stop()
    s.extra_env = faked_clock("+3h")  # the intermediate has expired
    s.start()
    r = ocsp_post(s, inter["ID"], der)
    assert r.status_code == 200 and r.content == bytes.fromhex("30030a0106"), r.content
    crl = public(s, "/pki/%s/crl" % inter["ID"])  # no new one signed: every leaf expired
    assert crl.status_code == 404 and b"expired" in crl.content, crl.content
    assert "ERROR" not in s.stderr(), s.stderr()[-2000:]
    s.stop()

# ---- plain HTTP for relying parties: pki_listen --------------------------------------------


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    from kwtest import Server
    port = free_port()
    s = Server(tmp_path_factory.mktemp("kw-pki"), config={
        "login_failures_per_address_max": 0, "pki_listen": "127.0.0.1:%d" % port,
        "pki_url": "http://127.0.0.1:%d" % port})
    s.start()
    s.pki_port = port
    yield s
    s.stop(check=True)


def test_plain_http_serves_the_pki_routes_only(plain):
    import requests
    c = plain.admin()
    ca = mk_ca(c, "/")
    base = "http://127.0.0.1:%d" % plain.pki_port
    assert ca["crlURL"] == "%s/pki/%s/crl" % (base, ca["ID"])
    assert ca["ocspURL"] == "%s/pki/%s/ocsp" % (base, ca["ID"])
    assert ca["caIssuersURL"] == "%s/pki/%s/ca.crt" % (base, ca["ID"])
    s = requests.Session()
    s.trust_env = False
    r = s.get(base + "/pki/%s/ca.pem" % ca["ID"], timeout=30)
    assert r.status_code == 200 and split_pem(r.text) == split_pem(ca["certificate"])
    assert s.get(base + "/pki/%s/crl" % ca["ID"], timeout=30).status_code == 200
    for path in ("/health", "/certificateauthorities", "/issue", "/openapi.json",
                 "/.well-known/jwks.json", "/namespaces"):
        r = s.get(base + path, headers={"Authorization": "Bearer " + c.token,
                                        "X-Namespace": "/"}, timeout=30)
        assert r.status_code == 404, (path, r.status_code, r.content[:200])
    r = s.post(base + "/issue", json={"realm": "Vince", "metadata": {
        "vinceAccount": "admin", "vincePassword": plain.admin_password}}, timeout=30)
    assert r.status_code in (404, 405) and b"token" not in r.content
    # the HTTPS listener still answers them too
    assert public(plain, "/pki/%s/ca.pem" % ca["ID"]).status_code == 200


def test_relying_party_follows_the_urls_in_the_certificate(plain):
    c = plain.admin()
    root = mk_ca(c, "/")
    inter = mk_ca(c, "/", parentID=root["ID"])
    tpl = mk_template(c, "/", inter["ID"])
    req, leaf = new_leaf(c, "/", tpl["ID"])
    base = "http://127.0.0.1:%d/pki/%s/" % (plain.pki_port, inter["ID"])
    ocsp, issuers = aia_urls(leaf)
    assert ocsp == [base + "ocsp"] and issuers == [base + "ca.crt"]
    assert crl_urls(leaf) == [base + "crl"]
    d = tmpdir()
    # caIssuers gives the issuer, in DER
    got = subprocess.run(["curl", "-sS", "--noproxy", "*", "-o", str(d / "issuer.der"),
                          issuers[0]], capture_output=True)
    assert got.returncode == 0, got
    assert sha256_pem(openssl("x509", "-inform", "DER", "-in", d / "issuer.der").stdout) == \
        inter["fingerprint"]
    root_f, inter_f, leaf_f = (write(d, "root.pem", root["certificate"]),
                               write(d, "inter.pem", inter["certificate"]),
                               write(d, "leaf.pem", leaf))

    def query():
        r = openssl("ocsp", "-issuer", inter_f, "-cert", leaf_f, "-url", ocsp[0], "-CAfile",
                    root_f, "-no_nonce", check=False)
        assert "Response verify OK" in r.stderr, r
        return r.stdout

    assert ocsp_status(query(), str(leaf_f)) == "good"
    c.ok(revoke(c, "/", req["certificateID"], "cessationOfOperation"))
    out = query()
    assert ocsp_status(out, str(leaf_f)) == "revoked" and \
        "Reason: cessationOfOperation" in out, out
    got = subprocess.run(["curl", "-sS", "--noproxy", "*", "-o", str(d / "crl.der"),
                          crl_urls(leaf)[0]], capture_output=True)
    assert got.returncode == 0, got
    crl = openssl("crl", "-inform", "DER", "-in", d / "crl.der", "-CAfile", inter_f, "-noout",
                  "-text", check=False)
    assert "verify OK" in crl.stderr and serial_hex(leaf) in crl.stdout, crl
    # and openssl verify, reading the CRL, now refuses the leaf
    openssl("crl", "-inform", "DER", "-in", d / "crl.der", "-out", d / "crl.pem")
    v = openssl("verify", "-crl_check", "-CAfile", root_f, "-untrusted", inter_f, "-CRLfile",
                d / "crl.pem", leaf_f, check=False)
    assert v.returncode != 0 and "revoked" in (v.stdout + v.stderr), v


# ---- the certificate.revoked event --------------------------------------------------------


def test_certificate_revoked_webhook(start_server):
    s = start_server(config=delivery_config())
    c = s.admin()
    rcv = Receiver().start()
    try:
        ns = c.mkns("/", "rv" + rand(6))["name"]
        c.ok(c.post("/webhooks", webhook_body(rcv.url(), events=["certificate.revoked"],
                                              caCertificate=rcv.ca_pem, secret=rcv.secret),
                    ns=ns))
        tpl = mk_template(c, ns, mk_ca(c, ns)["ID"])
        req, leaf = new_leaf(c, ns, tpl["ID"])
        time.sleep(1)
        assert rcv.received() == [], "only certificate.revoked was asked for"
        c.ok(revoke(c, ns, req["certificateID"]))
        d = rcv.wait_for(1)[0]
        assert d.signature_ok and d.json["event"] == "certificate.revoked", d
        cert = d.json["certificate"]
        assert cert["ID"] == req["certificateID"] and cert["status"] == "REVOKED"
        assert cert["revocationReason"] == "keyCompromise"
        assert cert["fingerprint"] == sha256_pem(leaf)
        assert revoke(c, ns, req["certificateID"]).status == 422
        time.sleep(3)
        assert len(rcv.received()) == 1
    finally:
        rcv.close()


def test_ids_are_hex(pki):
    for ca in (pki["root"], pki["inter"]):
        assert HEX24.match(ca["ID"]) and HEX24.match(ca["certificateID"])


def test_a_namespace_delete_keeps_the_revocations_of_a_ca_above_it(server, admin, space):
    """A CA usable in sub-namespaces issued and revoked a leaf and an intermediate in a child
    namespace; deleting the child (its certificates, requests and templates go) leaves both
    on the CA's CRL and revoked in its OCSP answers (RFC 5280 3.3: an entry stays until the
    certificate expires), also on the CRLs signed after the delete; the revocations are
    the CA's record, in its namespace now."""
    ns = admin.mkns(space, "keep" + rand(6))["name"]
    ca = mk_ca(admin, ns, usableInSubNamespaces=True)
    child = admin.mkns(ns, "tenant")
    tpl = mk_template(admin, child["name"], ca["ID"])
    req, leaf = new_leaf(admin, child["name"], tpl["ID"])
    inter = mk_ca(admin, child["name"], subject="CN=Child Issuing " + rand(4),
                  parentID=ca["ID"])
    admin.ok(revoke(admin, child["name"], req["certificateID"]))
    admin.ok(revoke(admin, child["name"], inter["certificateID"], "cACompromise"))
    admin.ok(admin.delete("/namespaces/" + child["ID"], ns=ns))
    other_tpl = mk_template(admin, ns, ca["ID"])
    other, _ = new_leaf(admin, ns, other_tpl["ID"])
    admin.ok(revoke(admin, ns, other["certificateID"]))  # a new CRL, signed after the delete
    time.sleep(1.5)  # the deleted namespaces' rows are purged in the background meanwhile
    admin.ok(revoke(admin, ns, new_leaf(admin, ns, other_tpl["ID"])[0]["certificateID"]))
    text = crl_text(server, ca)
    assert serial_hex(leaf) in text and serial_hex(inter["certificate"]) in text, text
    pki = {"inter": ca, "root": ca}
    out = ask(server, pki, leaf)
    assert ocsp_status(out, _name(out)) == "revoked" and "keyCompromise" in out, out
    kept = admin.list("revocations", ns, params={"q": 'certificateID == "%s"' %
                                                 req["certificateID"]})
    assert len(kept) == 1 and kept[0]["namespace"] == ns, kept


def test_an_issued_certificate_is_deleted_by_who_could_revoke_it(server, admin, space, pki):
    """API.md 7.1: DELETE removes a certificate from the inventory, a valid one a console CA
    issued too (it was 422 'revoke it first': a conformance review). Deleting it leaves
    nothing to revoke it by, so it takes revocation,post besides certificate,delete (403);
    the certificate of a CA below stays while valid (delete that CA instead); a revoked
    one goes and stays on the CRL."""
    ns = admin.mkns(space, "d" + rand(6))["name"]
    tpl = mk_template(admin, ns, mk_ca(admin, ns)["ID"])
    req, _ = new_leaf(admin, ns, tpl["ID"])
    name, pw, _ = admin.mkaccount(ns)
    admin.mkauthz(ns, [["@auth:realm=vince", "@auth:account=" + name]], ["certificate,*"])
    deleter = server.client(server.token(name, pw))
    r = deleter.delete("/certificates/" + req["certificateID"], ns=ns)
    assert "revocation,post" in assert_error(r, 403)["description"], r
    assert admin.get("/certificates/" + req["certificateID"], ns=ns).status == 200
    r = admin.delete("/certificates/" + req["certificateID"], ns=ns)
    assert r.status == 200 and r.data["ID"] == req["certificateID"], r
    assert_error(admin.get("/certificates/" + req["certificateID"], ns=ns), 404)
    # revoked first: it goes, and its CA's CRL keeps it
    req, leaf = new_leaf(admin, space, pki["tpl"]["ID"])
    admin.ok(revoke(admin, space, req["certificateID"], "cessationOfOperation"))
    admin.ok(admin.delete("/certificates/" + req["certificateID"], ns=space))
    assert serial_hex(leaf) in crl_text(server, pki["inter"])
    # an intermediate CA's own certificate: its CA is what goes
    root = mk_ca(admin, ns)
    inter = mk_ca(admin, ns, parentID=root["ID"])
    r = admin.delete("/certificates/" + inter["certificateID"], ns=ns)
    assert "delete its certificate authority" in assert_error(r, 422)["description"], r


def test_a_public_route_tells_its_own_methods(server, pki):
    # RFC 9110 15.5.6: a 405's Allow lists what that URL takes; OPTIONS listed every
    # method of the API (a review), while PUT on the same URL said GET, HEAD
    base = "/pki/%s/" % pki["inter"]["ID"]
    for method in ("OPTIONS", "PUT", "DELETE"):
        for path, allow in (("crl", "GET, HEAD"), ("ca.pem", "GET, HEAD"), ("ocsp", "POST")):
            r = public(server, base + path, method=method)
            assert r.status_code == 405 and r.headers["Allow"] == allow, (method, path, r)
    assert public(server, "/pki/%s/crl" % ("0" * 24), method="OPTIONS").status_code == 404


@pytest.mark.parametrize("route", ["crl", "ca.pem", "ca.crt"])
def test_head_of_a_public_route_says_the_gets_length(server, pki, route):
    # RFC 9110 8.6: a HEAD's Content-Length is the one its GET would have (it was 0)
    path = "/pki/%s/%s" % (pki["inter"]["ID"], route)
    get = public(server, path)
    head = public(server, path, method="HEAD")
    assert get.status_code == head.status_code == 200
    assert head.content == b""
    assert int(head.headers["Content-Length"]) == len(get.content) > 0, head.headers
    assert head.headers["Content-Type"] == get.headers["Content-Type"]


def test_a_certificate_id_in_the_body_must_be_the_urls(admin, space, pki):
    # API.md 6: the URL names the certificate; a body naming another one was ignored and
    # the URL's revoked (a client that thought it revoked the other did not): 422 now
    req, _ = new_leaf(admin, space, pki["tpl"]["ID"])
    other, _ = new_leaf(admin, space, pki["tpl"]["ID"])
    r = admin.post("/certificates/%s/revocations" % req["certificateID"],
                   {"reason": "keyCompromise", "certificateID": other["certificateID"]},
                   ns=space)
    e = assert_error(r, 422)
    assert e["title"] == "Read Only Error" and e["data"]["attribute"] == "certificateID", r
    for c in (req, other):
        got = admin.ok(admin.get("/certificates/" + c["certificateID"], ns=space))
        assert got["status"] != "REVOKED", got
    admin.ok(admin.post("/certificates/%s/revocations" % req["certificateID"],
                        {"certificateID": req["certificateID"]}, ns=space))


def test_a_namespace_holding_valid_certificates_of_a_ca_above_goes_for_who_could_revoke_them(
        server, admin, space):
    """API.md 4: deleting a namespace deletes everything below it (it was 422 'revoke them
    first' without ?override=true: a conformance review). Their inventory objects are how
    they are revoked, so, as a delete of one of them, it takes revocation,post there: an
    account that may delete everything but not revoke is 403 naming the CA (docs/issuance.md)."""
    from test_authz import user_with
    ns = admin.mkns(space, "hold" + rand(6))["name"]
    ca = mk_ca(admin, ns, usableInSubNamespaces=True)
    deleter = user_with(admin, server, ns, ["*,get", "*,delete"])  # no revocation,post
    child = admin.mkns(ns, "t" + rand(6))
    mk_ca(admin, child["name"])  # a CA of its own that issued nothing goes with it
    req, leaf = new_leaf(admin, child["name"],
                         mk_template(admin, child["name"], ca["ID"])["ID"])
    e = assert_error(deleter.delete("/namespaces/" + child["ID"], ns=ns), 403)
    assert ca["name"] in e["description"] and "revocation,post" in e["description"], e
    assert admin.get("/namespaces/" + child["ID"], ns=ns).status == 200
    admin.ok(admin.delete("/namespaces/" + child["ID"], ns=ns))
    assert admin.get("/namespaces/" + child["ID"], ns=ns).status == 404
    # the request, the CA's record, stays in the CA's namespace: OCSP still says good, and
    # the CA still needs ?override=true (a code review deleted it without, CRL and all)
    reqs = admin.ok(admin.get("/certificaterequests", ns=ns,
                              params={"q": 'ID == "%s"' % req["ID"]}))
    assert [r["ID"] for r in reqs] == [req["ID"]], reqs
    der = ocsp_request_der(ca["certificate"], leaf)
    out, _, ok = ocsp_read(ocsp_post(server, ca["ID"], der).content, ca["certificate"],
                           ca["certificate"], leaf)
    assert ok and "Cert Status: good" in out, out
    assert_error(admin.delete("/certificateauthorities/" + ca["ID"], ns=ns), 422)
    # revoked first, deleting is enough
    child = admin.mkns(ns, "r" + rand(6))
    req, _ = new_leaf(admin, child["name"], mk_template(admin, child["name"], ca["ID"])["ID"])
    admin.ok(revoke(admin, child["name"], req["certificateID"], "cessationOfOperation"))
    deleter.ok(deleter.delete("/namespaces/" + child["ID"], ns=ns))


def test_a_namespace_holding_a_ca_that_issued_valid_certificates_goes_only_with_override(
        server, admin, space):
    """API.md 7.4: a CA that issued unexpired certificates is deleted only with
    ?override=true; deleting its namespace deleted it (and its CRL and OCSP) without."""
    ns = admin.mkns(space, "caheld" + rand(6))
    ca = mk_ca(admin, ns["name"])
    new_leaf(admin, ns["name"], mk_template(admin, ns["name"], ca["ID"])["ID"])
    r = admin.delete("/namespaces/" + ns["ID"], ns=space)
    e = assert_error(r, 422)
    assert ca["name"] in e["description"] and "override" in e["description"], r
    assert public(server, "/pki/%s/crl" % ca["ID"]).status_code == 200
    admin.ok(admin.delete("/namespaces/" + ns["ID"], ns=space, params={"override": "true"}))
    assert admin.get("/namespaces/" + ns["ID"], ns=space).status == 404


def test_copies_of_a_revoked_certificate_read_revoked_in_every_namespace(admin, space, pki):
    """The certificate a console CA issued and revoked reads REVOKED wherever it is in the
    inventory: a copy imported (or discovered) into another namespace before the revocation
    is marked with it, and one imported after it is stored REVOKED (a new user's review: a
    discovery from a child namespace recorded a keyCompromise'd certificate as ACTIVE)."""
    req, pem = new_leaf(admin, space, pki["tpl"]["ID"])
    before = admin.mkns(space, "copy-before-" + rand(4))["name"]
    other = admin.mkns("/", "copy-other-" + rand(6))["name"]  # another tenant
    early = admin.ok(admin.post("/certificates", {"certificate": pem}, ns=before))
    assert early["status"] != "REVOKED" and early["source"] == "IMPORTED"
    shelved = admin.mkns(space, "copy-retired-" + rand(4))["name"]
    kept = admin.ok(admin.post("/certificates", {"certificate": pem}, ns=shelved))
    kept["retired"] = True
    kept = admin.ok(admin.put("/certificates/" + kept["ID"], kept, ns=shelved))
    assert kept["status"] == "RETIRED"
    admin.ok(revoke(admin, space, req["certificateID"], "keyCompromise"))
    # a retired copy stays RETIRED (retirement comes first), its revocation recorded
    got = admin.ok(admin.get("/certificates/" + kept["ID"], ns=shelved))
    assert got["status"] == "RETIRED" and got["revocationReason"] == "keyCompromise", got
    got = admin.ok(admin.get("/certificates/" + early["ID"], ns=before))
    assert got["status"] == "REVOKED" and got["revocationReason"] == "keyCompromise", got
    assert got["updateTime"] == early["updateTime"]  # server-maintained
    q = admin.ok(admin.get("/certificates", ns=before, params={"q": 'status == "REVOKED"'}))
    assert [c["ID"] for c in q] == [early["ID"]]
    after = admin.mkns(space, "copy-after-" + rand(4))["name"]
    for ns in (after, other):
        late = admin.ok(admin.post("/certificates", {"certificate": pki_chain(admin, space, pki,
                                                                              pem)}, ns=ns))
        assert late["status"] == "REVOKED", (ns, late)
        assert late["revocationReason"] == "keyCompromise", late
    # A certificate of the same CA that was not revoked stays as it is.
    _, fine = new_leaf(admin, space, pki["tpl"]["ID"])
    assert admin.ok(admin.post("/certificates", {"certificate": fine}, ns=after))["status"] \
        in ("ACTIVE", "EXPIRING")


def pki_chain(admin, space, pki, leaf_pem):
    """The leaf with its CAs' certificates, as a server presents them (the chain links the
    leaf in a namespace that holds none of them)."""
    out = [leaf_pem]
    for ca in (pki["inter"], pki["root"]):
        out.append(admin.ok(admin.get("/certificateauthorities/" + ca["ID"], ns=space))
                   ["certificate"])
    return "".join(out)
