"""The certificate inventory (API.md 7.1): import in every form, dedupe, chains, the parsed
fields against python3-cryptography's reading, contents byte-exact, retire, delete, search,
bad input that loses nothing."""

import base64
import datetime
import subprocess
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs7

from certmaker import Cert, chain, make_cert, new_key, now
from kwtest import assert_error, rand, wait_for


@pytest.fixture(scope="module")
def space(admin):
    return admin.mkns("/", "c-" + rand(8))["name"]


def imp(admin, ns, pem, code=200, **kw):
    r = admin.post("/certificates", {"certificate": pem, **kw}, ns=ns)
    assert r.status == code, r
    return r.data


def count(admin, ns, q=None):
    params = {"q": q} if q else None
    r = admin.head("/certificates", ns=ns, params=params)
    assert r.status == 204, r
    return int(r.headers["X-Count-Total"])


# ---- import and parse ----------------------------------------------------------------


def test_import_pem_fields_match_the_certificate(admin, space):
    c = make_cert("www.acme.test", o="Acme", key="RSA_2048", dns=["www.acme.test", "acme.test"],
                  ips=["192.0.2.7"], days=200)
    obj = imp(admin, space, c.pem, description="front door")
    cert = c.cert
    assert obj["object"] == "certificate"
    assert obj["fingerprint"] == c.fingerprint
    assert obj["fingerprintSHA1"] == cert.fingerprint(hashes.SHA1()).hex()
    assert int(obj["serialNumber"], 16) == cert.serial_number
    assert obj["subject"] == "CN=www.acme.test,O=Acme"
    assert obj["subjectCN"] == "www.acme.test" and obj["subjectO"] == "Acme"
    assert obj["issuer"] == obj["subject"] and obj["selfSigned"] is True
    assert obj["dnsNames"] == ["www.acme.test", "acme.test"]
    assert obj["ipAddresses"] == ["192.0.2.7"]
    assert obj["keyAlgorithm"] == "RSA" and obj["keySize"] == 2048
    assert obj["signatureAlgorithm"] == "sha256WithRSAEncryption"
    assert obj["keyUsages"] == ["digitalSignature"]
    assert obj["extendedKeyUsages"] == ["serverAuth"]
    ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    assert obj["subjectKeyIdentifier"] == ski.hex()
    assert obj["isCA"] is False
    assert obj["validityEnd"].startswith(cert.not_valid_after.strftime("%Y-%m-%dT%H:%M:%S"))
    assert obj["source"] == "IMPORTED" and obj["status"] == "ACTIVE"
    assert obj["weaknesses"] == [] and obj["description"] == "front door"
    for hidden in ("certificate", "der", "expiringTime"):
        assert hidden not in obj
    got = admin.ok(admin.get("/certificates/" + obj["ID"], ns=space))
    assert got["fingerprint"] == c.fingerprint and "der" not in got


def test_ec_and_ed25519_keys(admin, space):
    ec = imp(admin, space, make_cert("ec384.test", key="EC_P384").pem)
    assert (ec["keyAlgorithm"], ec["keySize"], ec["keyCurve"]) == ("EC", 384, "P384")
    assert ec["signatureAlgorithm"] == "ecdsa-with-SHA384" or \
        ec["signatureAlgorithm"] == "ecdsa-with-SHA256"
    ed = imp(admin, space, make_cert("ed.test", key="ED25519").pem)
    assert (ed["keyAlgorithm"], ed["signatureAlgorithm"]) == ("ED25519", "ED25519")


def test_chain_members_become_linked_objects(admin, space):
    leaf, inter, root = chain(dns=["chain.acme.test"])
    before = count(admin, space)
    obj = imp(admin, space, leaf.pem + inter.pem + root.pem)
    assert obj["fingerprint"] == leaf.fingerprint, "the first certificate is the answer"
    assert count(admin, space) == before + 3
    got_inter = admin.ok(admin.get("/certificates/" + obj["issuerCertificateID"], ns=space))
    assert got_inter["fingerprint"] == inter.fingerprint and got_inter["isCA"] is True
    got_root = admin.ok(admin.get("/certificates/" + got_inter["issuerCertificateID"],
                                  ns=space))
    assert got_root["fingerprint"] == root.fingerprint and got_root["selfSigned"] is True
    assert "issuerCertificateID" not in got_root


@pytest.mark.parametrize("order", ["root-first", "middle-first", "pkcs7-root-first",
                                   "known-root-first", "deep-leaf-first", "deep-shuffled"])
def test_a_chain_in_any_order_is_linked_when_answered(admin, order):
    """The links are there in the answer's transaction whatever the chain's order (root
    first, or as PKCS#7 of [root, intermediate, leaf], linked nothing until the
    background caught up: an acceptance check), also when the first certificate is
    already in the namespace; a certificate given twice is stored once."""
    ns = admin.mkns("/", "order-" + rand(6))["name"]
    if order.startswith("deep"):  # two intermediates (a code review)
        leaf, low, up, root = chain(depth=4, dns=["deep.acme.test"])
        given = [leaf, low, up, root] if order == "deep-leaf-first" else [low, root, leaf, up]
        imp(admin, ns, "".join(c.pem for c in given))
        by_fp = {o["fingerprint"]: o for o in admin.ok(admin.get("/certificates", ns=ns))}
        for child, parent in ((leaf, low), (low, up), (up, root)):
            assert by_fp[child.fingerprint].get("issuerCertificateID") == \
                by_fp[parent.fingerprint]["ID"], (order, child.cert.subject)
        return
    leaf, inter, root = chain(dns=["order.acme.test"])
    certs = {"root-first": [root, inter, leaf, root], "middle-first": [inter, leaf, root],
             "pkcs7-root-first": [root, inter, leaf], "known-root-first": [root, inter, leaf]}
    given = certs[order]
    if order == "known-root-first":
        imp(admin, ns, root.pem)
    if order.startswith("pkcs7"):
        body = base64.b64encode(pkcs7.serialize_certificates(
            [c.cert for c in given], serialization.Encoding.DER)).decode()
    else:
        body = "".join(c.pem for c in given)
    obj = imp(admin, ns, body)
    assert obj["fingerprint"] == given[0].fingerprint
    assert count(admin, ns) == 3
    by_fp = {o["fingerprint"]: o for o in admin.ok(admin.get("/certificates", ns=ns))}
    assert by_fp[leaf.fingerprint].get("issuerCertificateID") == by_fp[inter.fingerprint]["ID"]
    assert by_fp[inter.fingerprint].get("issuerCertificateID") == by_fp[root.fingerprint]["ID"]
    assert "issuerCertificateID" not in by_fp[root.fingerprint]


def test_an_issuer_imported_later_is_linked(admin, space):
    leaf, inter, root = chain()
    obj = imp(admin, space, leaf.pem)
    assert "issuerCertificateID" not in obj
    ca = imp(admin, space, inter.pem)
    for _ in range(100):
        got = admin.ok(admin.get("/certificates/" + obj["ID"], ns=space))
        if got.get("issuerCertificateID"):
            break
        __import__("time").sleep(0.1)
    assert got["issuerCertificateID"] == ca["ID"]
    assert got["updateTime"] == obj["updateTime"], "server maintenance moves no updateTime"


def chain_ids(admin, ns, cert_id):
    """The fingerprints of GET contents?chain=true: the certificate, then up its links."""
    r = admin.get("/certificates/%s/contents" % cert_id, ns=ns, params={"chain": "true"})
    assert r.status == 200, r
    return [x509.load_pem_x509_certificate(("-----BEGIN" + p).encode())
            .fingerprint(hashes.SHA256()).hex()
            for p in r.content.decode().split("-----BEGIN")[1:]]


def linked_to(admin, ns, cert_id):
    return admin.ok(admin.get("/certificates/" + cert_id, ns=ns)).get("issuerCertificateID")


def test_deleting_an_issuer_unlinks_what_it_issued_and_its_return_links_it_again(admin):
    """API.md 7.1: issuerCertificateID is the issuer's object in the namespace, when known.
    Deleting the intermediate takes the leaf's link with it, in the same transaction,
    without moving the leaf's updateTime (a server-maintained link); importing the
    intermediate again links the leaf to the new object, as a leaf imported before its
    CA is."""
    ns = admin.mkns("/", "unlink-" + rand(6))["name"]
    leaf, inter, root = chain(dns=["unlink.test"])
    r = admin.ok(admin.post("/certificateimports",
                            {"contents": leaf.pem + inter.pem + root.pem}, ns=ns))
    leaf_id, inter_id, root_id = r["certificateIDs"]
    before = admin.ok(admin.get("/certificates/" + leaf_id, ns=ns))
    assert before["issuerCertificateID"] == inter_id
    assert chain_ids(admin, ns, leaf_id) == [leaf.fingerprint, inter.fingerprint,
                                             root.fingerprint]
    admin.ok(admin.delete("/certificates/" + inter_id, ns=ns))
    got = admin.ok(admin.get("/certificates/" + leaf_id, ns=ns))
    assert got.get("issuerCertificateID") is None, got
    assert got["updateTime"] == before["updateTime"], "server maintenance moves no updateTime"
    assert got["status"] == before["status"] and got["weaknesses"] == before["weaknesses"]
    assert chain_ids(admin, ns, leaf_id) == [leaf.fingerprint]
    assert count(admin, ns, 'issuerCertificateID == "%s"' % inter_id) == 0
    assert count(admin, ns, "issuerCertificateID exists") == 0
    # A client's PUT with the body read before the delete goes through, and links nothing.
    before["description"] = "kept"
    put = admin.ok(admin.put("/certificates/" + leaf_id, before, ns=ns))
    assert put.get("issuerCertificateID") is None and put["description"] == "kept", put
    # The intermediate comes back: a new object, and the leaf links to it again.
    again = imp(admin, ns, inter.pem)
    assert again["ID"] != inter_id and again["issuerCertificateID"] == root_id
    assert wait_for(lambda: linked_to(admin, ns, leaf_id) == again["ID"]), \
        admin.get("/certificates/" + leaf_id, ns=ns).data
    got = admin.ok(admin.get("/certificates/" + leaf_id, ns=ns))
    assert got["updateTime"] == put["updateTime"]
    assert chain_ids(admin, ns, leaf_id) == [leaf.fingerprint, inter.fingerprint,
                                             root.fingerprint]


def test_deleting_an_expired_issuer_takes_expired_issuer_away(admin):
    """API.md 7.2: EXPIRED_ISSUER is about the issuer in the inventory. Once the expired
    CA is deleted, its leaf has no such weakness (in reads, filters and reports), and its
    updateTime stays; imported again, the CA makes it EXPIRED_ISSUER again."""
    ns = admin.mkns("/", "unlink-" + rand(6))["name"]
    root = make_cert("Unlink Root", ca=True, days=3650)
    dead = make_cert("Unlink Dead CA", issuer=root, ca=True,
                     start=now() - datetime.timedelta(days=400), days=300)
    leaf = make_cert("child.unlink.test", issuer=dead, days=90)
    r = admin.ok(admin.post("/certificateimports",
                            {"contents": leaf.pem + dead.pem + root.pem}, ns=ns))
    leaf_id, dead_id, _ = r["certificateIDs"]
    before = admin.ok(admin.get("/certificates/" + leaf_id, ns=ns))
    assert before["weaknesses"] == ["EXPIRED_ISSUER"], before
    rep = admin.ok(admin.post("/certificatereports", {}, ns=ns))
    assert rep["byWeakness"] == {"EXPIRED_ISSUER": 1}, rep
    admin.ok(admin.delete("/certificates/" + dead_id, ns=ns))
    got = admin.ok(admin.get("/certificates/" + leaf_id, ns=ns))
    assert got["weaknesses"] == [] and got.get("issuerCertificateID") is None, got
    assert got["updateTime"] == before["updateTime"]
    assert count(admin, ns, 'weaknesses == "EXPIRED_ISSUER"') == 0
    rep = admin.ok(admin.post("/certificatereports", {}, ns=ns))
    assert rep["byWeakness"].get("EXPIRED_ISSUER", 0) == 0, rep
    again = imp(admin, ns, dead.pem)
    assert wait_for(lambda: admin.ok(admin.get("/certificates/" + leaf_id, ns=ns))
                    ["weaknesses"] == ["EXPIRED_ISSUER"])
    got = admin.ok(admin.get("/certificates/" + leaf_id, ns=ns))
    assert got["issuerCertificateID"] == again["ID"] and got["updateTime"] == before["updateTime"]


def test_deleting_a_ca_of_many_leaves_unlinks_them_all(admin):
    """More leaves than the delete's own transaction unlinks (100): the rest are unlinked in
    the background (the certificate.reevaluate job); none keeps a link to the deleted CA,
    none has its updateTime moved; imported again, the CA links them all."""
    ns = admin.mkns("/", "unlink-" + rand(6))["name"]
    ca = make_cert("Unlink Busy CA", ca=True, days=3650)
    leaves = [make_cert("l%d.busy.test" % k, issuer=ca) for k in range(250)]
    r = admin.ok(admin.post("/certificateimports",
                            {"contents": ca.pem + "".join(x.pem for x in leaves)}, ns=ns))
    ca_id = r["certificateIDs"][0]
    assert count(admin, ns, 'issuerCertificateID == "%s"' % ca_id) == 250
    times = {x["ID"]: x["updateTime"] for x in
             admin.list("certificates", ns, params={"pageSize": "0"})}
    admin.ok(admin.delete("/certificates/" + ca_id, ns=ns))
    assert wait_for(lambda: count(admin, ns, "issuerCertificateID exists") == 0), \
        count(admin, ns, "issuerCertificateID exists")
    now_times = {x["ID"]: x["updateTime"] for x in
                 admin.list("certificates", ns, params={"pageSize": "0"})}
    del times[ca_id]
    assert now_times == times
    again = imp(admin, ns, ca.pem)
    assert wait_for(lambda: count(admin, ns, 'issuerCertificateID == "%s"' % again["ID"])
                    == 250)


def test_same_certificate_twice_is_one_object(admin, space):
    c = make_cert("twice.test")
    first = imp(admin, space, c.pem)
    n = count(admin, space)
    again = imp(admin, space, c.pem)
    assert again["ID"] == first["ID"] and count(admin, space) == n
    other = admin.mkns(space, "other")["name"]
    elsewhere = imp(admin, other, c.pem)
    assert elsewhere["ID"] != first["ID"] and elsewhere["namespace"] == other


def test_base64_der_and_pkcs7_in_json(admin, space):
    c1, c2 = make_cert("der.test"), make_cert("p7.test")
    obj = imp(admin, space, base64.b64encode(c1.der).decode())
    assert obj["fingerprint"] == c1.fingerprint
    p7 = pkcs7.serialize_certificates([c2.cert], serialization.Encoding.DER)
    obj = imp(admin, space, base64.b64encode(p7).decode())
    assert obj["fingerprint"] == c2.fingerprint


def test_der_and_pkcs7_as_messagepack_bytes(admin, space):
    # MessagePack carries bytes as they are (bin): the DER itself, or a PKCS#7 bundle.
    c1, c2, c3 = make_cert("bin.test"), make_cert("bin-p7.test"), make_cert("bin-imp.test")
    r = admin.post("/certificates", {"certificate": c1.der}, ns=space, fmt="msgpack")
    assert r.status == 200, r
    assert r.data["fingerprint"] == c1.fingerprint
    p7 = pkcs7.serialize_certificates([c2.cert], serialization.Encoding.DER)
    r = admin.post("/certificates", {"certificate": p7}, ns=space, fmt="msgpack")
    assert r.status == 200 and r.data["fingerprint"] == c2.fingerprint, r
    r = admin.post("/certificateimports", {"contents": c3.der}, ns=space, fmt="msgpack")
    assert r.status == 200 and r.data["imported"] == 1, r
    # Bytes that are no certificate are what any bad certificate is: 422, nothing kept.
    r = admin.post("/certificates", {"certificate": b"\x30\x03\x02\x01\x00"}, ns=space,
                   fmt="msgpack")
    assert_error(r, 422)
    assert r.data[0]["data"]["attribute"] == "certificate"


def test_a_utf8_byte_order_mark_before_the_text_is_skipped(admin, space):
    """Windows editors save a PEM with a UTF-8 byte-order mark first; OpenSSL reads it (text
    before the block), and so does the console: in JSON, as a raw body, in a bundle, before
    base64 DER too (a black-box review had it refused as garbage)."""
    bom = "\ufeff"
    c1, c2, c3, c4 = (make_cert("bom%d.test" % i) for i in range(4))
    assert imp(admin, space, bom + c1.pem)["fingerprint"] == c1.fingerprint
    assert imp(admin, space, bom + base64.b64encode(c2.der).decode())["fingerprint"] == \
        c2.fingerprint
    r = admin.request("POST", "/certificates", ns=space, data=bom.encode() + c3.pem.encode(),
                      content_type="application/pem-certificate-chain")
    assert r.status == 200 and r.data["fingerprint"] == c3.fingerprint, r
    r = admin.post("/certificateimports", {"contents": bom + "\n" + c4.pem}, ns=space)
    assert r.status == 200 and r.data["imported"] == 1, r
    # Only before the text: a mark inside a block is what it was, garbage in its base64.
    inside = c1.pem.replace("\n", "\n" + bom, 1)
    assert_error(admin.post("/certificates", {"certificate": inside}, ns=space), 422)


@pytest.mark.parametrize("ctype", ["application/pem-certificate-chain", "application/pkix-cert"])
def test_raw_bodies(admin, space, ctype):
    c = make_cert("raw-%s.test" % ctype[-4:])
    body = c.der if ctype.endswith("cert") else c.pem.encode()
    r = admin.request("POST", "/certificates", ns=space, data=body, content_type=ctype)
    assert r.status == 200, r
    assert r.data["fingerprint"] == c.fingerprint


def test_curl_data_binary_works(server, admin, space, tmp_path):
    c = make_cert("curl.test")
    f = tmp_path / "c.pem"
    f.write_text(c.pem)
    out = subprocess.run(
        ["curl", "-sS", "--cacert", str(server.ca), "-H", "Authorization: Bearer " + admin.token,
         "-H", "X-Namespace: " + space, "-H", "Content-Type: application/pem-certificate-chain",
         "--data-binary", "@" + str(f), server.url + "/certificates"],
        capture_output=True, text=True, check=True)
    assert c.fingerprint in out.stdout


def test_odd_certificates_are_stored_as_they_are(admin, space, tmp_path):
    """Negative serial, an unknown critical extension: parsed, stored, never a 5xx."""
    key = tmp_path / "k.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-out", str(key)], check=True,
                   capture_output=True)
    cfg = tmp_path / "x.cnf"
    cfg.write_text("[req]\ndistinguished_name=dn\n[dn]\n[ext]\n"
                   "1.2.3.4.5.6.7=critical,ASN1:UTF8String:odd\n")
    out = tmp_path / "c.pem"
    subprocess.run(["openssl", "req", "-x509", "-key", str(key), "-subj", "/CN=odd.test",
                    "-set_serial", "-12345", "-days", "30", "-config", str(cfg),
                    "-extensions", "ext", "-out", str(out)], check=True, capture_output=True)
    obj = imp(admin, space, out.read_text())
    assert obj["subjectCN"] == "odd.test"
    assert obj["serialNumber"] == "-3039"  # -12345, as encoded
    got = admin.ok(admin.get("/certificates/" + obj["ID"], ns=space))
    assert got["serialNumber"] == "-3039"


# ---- bad input loses nothing ---------------------------------------------------------

BAD = {
    "garbage": "hello, world",
    "truncated": "-----BEGIN CERTIFICATE-----\nMIIB2zCCAYGgAwIBAgIU\n",
    "empty PKCS#7": None,  # filled below
    "trailing garbage": None,
    "not base64": "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
}


def bad_inputs():
    c = make_cert("bad.test")
    p7 = pkcs7.serialize_certificates([], serialization.Encoding.DER) if False else None
    d = dict(BAD)
    d["trailing garbage"] = c.pem + "and then some\n"
    d["empty PKCS#7"] = base64.b64encode(bytes.fromhex(
        "3023" "06092a864886f70d010702" "a016" "3014" "020101" "3100" "300b"
        "06092a864886f70d010701" "3100")).decode()
    del p7
    return d


@pytest.mark.parametrize("what", sorted(BAD))
def test_bad_input_is_422_on_certificate_and_stores_nothing(admin, space, what):
    n = count(admin, space)
    r = admin.post("/certificates", {"certificate": bad_inputs()[what]}, ns=space)
    assert_error(r, 422)
    assert r.data[0]["data"]["attribute"] == "certificate", r
    assert count(admin, space) == n


def test_a_private_key_is_refused_and_never_echoed(admin, space):
    c = make_cert("withkey.test")
    key = c.key_pem()
    body_line = key.splitlines()[1]
    n = count(admin, space)
    for payload in (key, c.pem + key):
        r = admin.post("/certificates", {"certificate": payload}, ns=space)
        assert_error(r, 422)
        assert body_line.encode() not in r.content
        assert "private key" in r.data[0]["description"]
    r = admin.request("POST", "/certificates", ns=space, data=key.encode(),
                      content_type="application/pem-certificate-chain")
    assert r.status == 422 and body_line.encode() not in r.content
    assert count(admin, space) == n


def test_a_private_key_in_a_bundle_fails_alone_and_is_never_echoed(admin, space):
    """API.md 7.1: one bad block of a bulk import fails alone; a private key block is one
    (the whole bundle was 422: a conformance review). It is not stored nor echoed, in the
    answer or in the kept record."""
    a, b = make_cert("bundle-a.key.test"), make_cert("bundle-b.key.test")
    key = a.key_pem()
    body_line = key.splitlines()[1]
    r = admin.post("/certificateimports", {"contents": a.pem + key + b.pem}, ns=space)
    assert r.status == 200, r
    assert (r.data["total"], r.data["imported"], r.data["failed"]) == (3, 2, 1), r.data
    assert r.data["errors"] == [{"index": 1,
                                 "reason": "holds a private key, which is not accepted"}], r
    assert body_line.encode() not in r.content
    kept = admin.ok(admin.get("/certificateimports/" + r.data["ID"], ns=space))
    assert body_line not in str(kept)
    # a bundle of a key alone holds no certificate: 422, nothing kept
    r = admin.post("/certificateimports", {"contents": key}, ns=space)
    assert_error(r, 422)
    assert body_line.encode() not in r.content


def test_a_bundle_skips_text_between_its_blocks_as_openssl_does(admin):
    """curl's cacert.pem names each root between its blocks, RHEL's ca-bundle.crt and
    `openssl s_client -showcerts` print lines around them: a bundle import skips that text
    as OpenSSL's PEM reader does (a new user's review: every such file was 422 whole).
    POST /certificates still refuses text outside its blocks (API.md 7.1: trailing garbage),
    and text holding a private key's armour still refuses the whole bundle."""
    ns = admin.mkns("/", "txt-" + rand(8))["name"]
    a, b, c = (make_cert("text%d.bundle.test" % i) for i in range(3))
    curlish = ("##\n## Bundle of CA Root Certificates: -----BEGIN CERTIFICATE----- blocks\n"
               "##\n\nFirst Root\n==========\n" + a.pem +
               "\nSecond Root\n===========\n" + b.pem + "depth=0 CN = x\nverify return:1\n" +
               c.pem + "---\nServer certificate\nsubject=CN = text2\n")
    r = admin.ok(admin.post("/certificateimports", {"contents": curlish}, ns=ns))
    assert (r["total"], r["imported"], r["failed"]) == (3, 3, 0), r
    assert_error(admin.post("/certificates", {"certificate": "junk\n" + a.pem}, ns=ns), 422)
    assert_error(admin.post("/certificates", {"certificate": a.pem + "junk\n"}, ns=ns), 422)
    keyish = a.pem + "note\n-----END PRIVATE KEY-----\n" + b.pem
    e = assert_error(admin.post("/certificateimports", {"contents": keyish}, ns=ns), 422)
    assert "private key" in e["description"], e
    # Debian's own bundle file, with its text-free layout, and OpenSSL's -showcerts output
    # of a real chain, both whole.
    out = subprocess.run(["openssl", "crl2pkcs7", "-nocrl", "-certfile", "/dev/stdin"],
                         input=a.pem + b.pem, capture_output=True, text=True, check=True).stdout
    shown = subprocess.run(["openssl", "pkcs7", "-print_certs"], input=out,
                           capture_output=True, text=True, check=True).stdout
    assert "subject=" in shown
    r = admin.ok(admin.post("/certificateimports", {"contents": shown}, ns=ns))
    assert (r["total"], r["duplicates"], r["failed"]) == (2, 2, 0), r


def test_empty_and_missing(admin, space):
    assert_error(admin.post("/certificates", {"certificate": ""}, ns=space), 422)
    assert_error(admin.post("/certificates", {}, ns=space), 422)
    r = admin.request("POST", "/certificates", ns=space, data=b"",
                      content_type="application/pem-certificate-chain")
    assert r.status == 400, r


def test_ten_megabytes_is_413(admin, space):
    r = admin.request("POST", "/certificates", ns=space, data=b"A" * (10 << 20),
                      content_type="application/pem-certificate-chain")
    assert r.status == 413, r


def test_read_only_fields_cannot_be_sent(admin, space):
    c = make_cert("ro.test")
    r = admin.post("/certificates", {"certificate": c.pem, "subjectCN": "forged"}, ns=space)
    assert_error(r, 422)
    assert r.data[0]["data"]["attribute"] == "subjectCN"


def test_unknown_content_type_is_415(admin, space):
    r = admin.request("POST", "/certificates", ns=space, data=b"x", content_type="text/plain")
    assert r.status == 415, r


# ---- contents ---------------------------------------------------------------------------


def test_contents_pem_der_and_chain_are_byte_exact(admin, space):
    leaf, inter, root = chain(dns=["contents.test"])
    obj = imp(admin, space, leaf.pem + inter.pem + root.pem)
    url = "/certificates/%s/contents" % obj["ID"]
    r = admin.get(url, ns=space)
    assert r.status == 200 and r.ctype == "application/pem-certificate-chain"
    assert r.content.decode() == leaf.pem
    r = admin.get(url, ns=space, params={"format": "DER"})
    assert r.ctype == "application/pkix-cert" and r.content == leaf.der
    r = admin.get(url, ns=space, params={"chain": "true"})
    assert r.content.decode() == leaf.pem + inter.pem + root.pem
    loaded = [x509.load_pem_x509_certificate(("-----BEGIN" + p).encode())
              for p in r.content.decode().split("-----BEGIN")[1:]]
    assert [c.fingerprint(hashes.SHA256()).hex() for c in loaded] == \
        [leaf.fingerprint, inter.fingerprint, root.fingerprint]
    assert admin.get(url, ns=space, params={"format": "XML"}).status == 400
    assert admin.get(url, ns=space, params={"pretty": "1"}).status == 400
    assert admin.get("/certificates/%s/contents" % ("0" * 24), ns=space).status == 404
    assert admin.post(url, {}, ns=space).status == 405


def test_contents_answer_an_accept_of_their_own_types(admin, space):
    # Accept: application/pem-certificate-chain (the type it answers) was 415 (a
    # conformance review); Accept: application/pkix-cert without `format` asks for DER.
    leaf = make_cert("accept.contents.test")
    obj = imp(admin, space, leaf.pem)
    url = "/certificates/%s/contents" % obj["ID"]
    r = admin.get(url, ns=space, accept="application/pem-certificate-chain")
    assert r.status == 200 and r.ctype == "application/pem-certificate-chain", r
    assert r.content.decode() == leaf.pem
    r = admin.get(url, ns=space, accept="application/pkix-cert")
    assert r.status == 200 and r.ctype == "application/pkix-cert" and r.content == leaf.der, r
    r = admin.get(url, ns=space, accept="text/html, application/pkix-cert;q=0.9")
    assert r.status == 200 and r.content == leaf.der, r
    # an explicit format wins over Accept
    r = admin.get(url, ns=space, accept="application/pkix-cert", params={"format": "PEM"})
    assert r.status == 200 and r.content.decode() == leaf.pem, r
    assert_error(admin.get(url, ns=space, accept="text/html"), 415)
    # errors stay JSON
    r = admin.get(url, ns=space, accept="application/pkix-cert", params={"format": "XML"})
    assert r.status == 400 and r.ctype.startswith("application/json"), r
    # the types are the action's: a list still refuses them
    assert_error(admin.get("/certificates", ns=space, accept="application/pkix-cert"), 415)


def test_recursive_reads_reach_the_subtree_for_contents_and_children(admin, space):
    # API.md 4: ?recursive=true extends reads to the whole subtree, also the reads below
    # an object (its contents, its children).
    sub = admin.mkns(space, "deep")["name"]
    leaf, inter, root = chain(dns=["recursive.test"])
    obj = imp(admin, sub, leaf.pem + inter.pem + root.pem)
    rec = {"recursive": "true"}
    url = "/certificates/%s/contents" % obj["ID"]
    assert_error(admin.get(url, ns=space), 404)
    r = admin.get(url, ns=space, params=dict(rec, chain="true"))
    assert r.status == 200 and r.content.decode() == leaf.pem + inter.pem + root.pem, r
    inst = "/certificates/%s/certificateinstances" % obj["ID"]
    assert_error(admin.get(inst, ns=space), 404)
    assert admin.ok(admin.get(inst, ns=space, params=rec)) == []
    hook = admin.ok(admin.post("/webhooks", {
        "name": "w" + rand(6), "url": "https://127.0.0.1:1/hook",
        "events": ["certificate.expired"], "secret": "s" * 32}, ns=sub))
    dl = "/webhooks/%s/webhookdeliveries" % hook["ID"]
    assert_error(admin.get(dl, ns=space), 404)
    assert admin.ok(admin.get(dl, ns=space, params=rec)) == []
    assert admin.get(dl, ns=space, params={"recursive": "maybe"}).status == 400


def test_contents_verify_with_openssl(admin, space, tmp_path):
    leaf, inter, root = chain(dns=["verify.test"])
    obj = imp(admin, space, leaf.pem + inter.pem + root.pem)
    r = admin.get("/certificates/%s/contents" % obj["ID"], ns=space, params={"chain": "true"})
    (tmp_path / "chain.pem").write_bytes(r.content)
    (tmp_path / "root.pem").write_text(root.pem)
    (tmp_path / "inter.pem").write_text(inter.pem)
    (tmp_path / "leaf.pem").write_text(r.content.decode().split("-----END CERTIFICATE-----")[0]
                                       + "-----END CERTIFICATE-----\n")
    out = subprocess.run(["openssl", "verify", "-CAfile", str(tmp_path / "root.pem"),
                          "-untrusted", str(tmp_path / "inter.pem"),
                          str(tmp_path / "leaf.pem")], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def _cross_certified_pair():
    """CAs "Loop A" and "Loop B", each certified by the other (SKI/AKI set), and a leaf of A."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    keys = [ec.generate_private_key(ec.SECP256R1()) for _ in range(3)]
    names = [x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
             for cn in ("Loop A", "Loop B", "loop leaf")]

    def cert(subj, issuer, is_ca):
        b = (x509.CertificateBuilder().subject_name(names[subj]).issuer_name(names[issuer])
             .public_key(keys[subj].public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(now() - datetime.timedelta(days=1))
             .not_valid_after(now() + datetime.timedelta(days=90))
             .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                 keys[issuer].public_key()), False))
        if is_ca:
            b = (b.add_extension(x509.BasicConstraints(True, None), True)
                 .add_extension(x509.SubjectKeyIdentifier.from_public_key(
                     keys[subj].public_key()), False))
        return b.sign(keys[issuer], hashes.SHA256()).public_bytes(serialization.Encoding.PEM)
    return cert(0, 1, True), cert(1, 0, True), cert(2, 0, False)


def test_a_chain_through_cas_that_certify_each_other_names_each_once(admin):
    # A and B certify each other (a cross-certified pair, as bridges and key rollovers make):
    # the leaf's chain is leaf, A, B, and ends there instead of going round to the cap.
    ns = admin.mkns("/", "loop-" + rand(6))["name"]
    a, b, leaf = _cross_certified_pair()
    imp(admin, ns, (a + b).decode())
    got = imp(admin, ns, leaf.decode())
    want = [x509.load_pem_x509_certificate(p).fingerprint(hashes.SHA256()).hex()
            for p in (leaf, a, b)]
    assert chain_ids(admin, ns, got["ID"]) == want


# ---- retire, update, delete ----------------------------------------------------------------


def test_retire_and_recover(admin, space):
    obj = imp(admin, space, make_cert("retire.test").pem)
    obj["retired"] = True
    got = admin.ok(admin.put("/certificates/" + obj["ID"], obj, ns=space))
    assert got["status"] == "RETIRED"
    ids = [c["ID"] for c in admin.ok(admin.get("/certificates", ns=space,
                                               params={"q": 'status == "RETIRED"'}))]
    assert obj["ID"] in ids
    assert obj["ID"] not in [c["ID"] for c in admin.ok(admin.get(
        "/certificates", ns=space, params={"q": 'status == "ACTIVE"'}))]
    got["retired"] = False
    back = admin.ok(admin.put("/certificates/" + obj["ID"], got, ns=space))
    assert back["status"] == "ACTIVE"
    stale = dict(obj)  # the first updateTime
    stale["retired"] = True
    assert admin.put("/certificates/" + obj["ID"], stale, ns=space).status == 409


def test_parsed_fields_are_read_only_on_update(admin, space):
    obj = imp(admin, space, make_cert("upd.test").pem)
    obj["subjectCN"] = "changed"
    r = admin.put("/certificates/" + obj["ID"], obj, ns=space)
    assert_error(r, 422)
    assert r.data[0]["data"]["attribute"] == "subjectCN"


def test_delete(admin, space):
    obj = imp(admin, space, make_cert("delete.test").pem)
    gone = admin.ok(admin.delete("/certificates/" + obj["ID"], ns=space))
    assert gone["ID"] == obj["ID"]
    assert admin.get("/certificates/" + obj["ID"], ns=space).status == 404
    assert admin.get("/certificates/%s/contents" % obj["ID"], ns=space).status == 404
    again = imp(admin, space, make_cert("delete.test").pem)  # a new one: a new object
    assert again["ID"] != obj["ID"]


# ---- search ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def searchable(admin):
    ns = admin.mkns("/", "s-" + rand(8))["name"]
    sub = admin.mkns(ns, "team")["name"]
    made = {
        "a": imp(admin, ns, make_cert("alpha.example.com", dns=["alpha.example.com",
                                                                "www.alpha.example.com"],
                                      key="RSA_2048", days=10).pem),
        "b": imp(admin, ns, make_cert("beta.example.org", dns=["beta.example.org"],
                                      days=300).pem),
        "c": imp(admin, sub, make_cert("gamma.example.com", dns=["gamma.example.com"],
                                       ips=["10.1.2.3"], days=100).pem),
    }
    return ns, sub, made


def ids_of(admin, ns, q, **params):
    r = admin.get("/certificates", ns=ns, params={"q": q, **params})
    assert r.status == 200, r
    return {c["ID"] for c in r.data}


def test_list_filters(admin, searchable):
    ns, sub, m = searchable
    a, b, c = m["a"]["ID"], m["b"]["ID"], m["c"]["ID"]
    assert ids_of(admin, ns, 'dnsNames == "www.alpha.example.com"') == {a}
    assert ids_of(admin, ns, 'dnsNames contains "beta.example.org"') == {b}
    assert ids_of(admin, ns, 'dnsNames in ["beta.example.org", "alpha.example.com"]') == {a, b}
    assert ids_of(admin, ns, r'dnsNames matches "\\.example\\.com$"') == {a}
    assert ids_of(admin, ns, r'dnsNames matches "\\.example\\.com$"', recursive="true") == {a, c}
    assert ids_of(admin, ns, 'subjectCN contains "example"') == {a, b}
    assert ids_of(admin, ns, 'subjectCN == "beta.example.org"') == {b}
    assert ids_of(admin, ns, 'keyAlgorithm == "RSA" and keySize >= 2048') == {a}
    assert ids_of(admin, ns, 'ipAddresses == "10.1.2.3"', recursive="true") == {c}
    assert ids_of(admin, ns, 'validityEnd < now("720h")') == {a}
    assert ids_of(admin, ns, 'status == "EXPIRING"') == {a}
    assert ids_of(admin, ns, 'status in ["EXPIRING", "ACTIVE"]') == {a, b}
    assert ids_of(admin, ns, 'status != "EXPIRING"') == {b}
    assert ids_of(admin, ns, 'status == "EXPIRED"') == set()


def test_order_by_validity_end_and_count(admin, searchable):
    ns, _, m = searchable
    r = admin.get("/certificates", ns=ns, params={"order": "-validityEnd", "recursive": "true"})
    ends = [c["validityEnd"] for c in r.data]
    assert ends == sorted(ends, reverse=True) and int(r.headers["X-Count-Total"]) == 3


def test_filter_errors(admin, searchable):
    ns, _, _ = searchable
    for q in ('status < "ACTIVE"', 'status contains "ACT"', 'der == "x"',
              'expiringTime < now()', 'nosuch == 1',
              # a status is a string: 1 matched nothing and != 1 everything (a review)
              'status == 1', 'status != 1', 'status in [1, 2]', 'status == true',
              'status in ["ACTIVE", 1]', 'status == date("2026-01-01")'):
        r = admin.get("/certificates", ns=ns, params={"q": q})
        assert r.status == 400, (q, r)
    assert admin.get("/certificates", ns=ns, params={"order": "der"}).status == 400


def test_csv_default_columns(admin, searchable):
    ns, _, m = searchable
    r = admin.get("/certificates", ns=ns, accept="text/csv", params={"order": "subjectCN"})
    assert r.status == 200 and r.ctype.startswith("text/csv")
    lines = r.content.decode().splitlines()
    head = lines[0].split(",")
    assert head[:3] == ["ID", "namespace", "subjectCN"] and "status" in head
    assert "der" not in head
    assert any("www.alpha.example.com" in ln for ln in lines)


@pytest.mark.parametrize("q", ['status == "BOGUS"', 'status == "active"',
                               'status in ["ACTIVE", "EXPIRNG"]', 'status != "REVOKD"',
                               'source == "FOUND"', 'weaknesses contains "WEAK"',
                               'weaknesses == "WEAK_KEYS"', 'weaknesses not in ["X"]',
                               'revocationReason == "keycompromise"',
                               'revocationReason in ["x"]'])
def test_a_filter_on_an_enumerated_field_with_a_value_it_cannot_hold_is_400(admin, space, q):
    # A typo in an enumerated value is a bad filter (API.md 2: 400), not an empty answer
    # that looks like "none"; the error names the field.
    r = admin.get("/certificates", ns=space, params={"q": q})
    assert assert_error(r, 400)["data"]["attribute"] in ("status", "source", "weaknesses",
                                                         "revocationReason"), q


@pytest.mark.parametrize("q", ['status == "ACTIVE"', 'source contains "IMP"',
                               'source matches "^IMP"', 'weaknesses contains "WEAK_KEY"',
                               'source in ["IMPORTED", "DISCOVERED"]',
                               'revocationReason == "keyCompromise"'])
def test_a_filter_on_an_enumerated_field_with_its_values_or_parts_is_200(admin, space, q):
    assert admin.get("/certificates", ns=space, params={"q": q}).status == 200, q


@pytest.mark.parametrize("order", ["subjectO", "-subjectO", "subjectO,issuerCN",
                                   "-subjectO,-issuerCN"])
def test_cursor_pages_ordered_on_a_field_some_lack_reach_every_certificate(admin, order):
    # Ordered on a field that some certificates do not have (no O in their subject), the
    # pages that follow X-Next must still reach every match, in the order of one big page:
    # a cursor on a certificate without O used to end the list there (black-box review).
    ns = admin.mkns("/", "cur-" + rand(6))["name"]
    for i, o in enumerate([None, "Beta", None, "Alpha", "Beta", None, "Gamma"]):
        imp(admin, ns, make_cert("c%d.cursor.test" % i, o=o).pem)
    params = {"order": order.split(","), "pageSize": 0}
    whole = [c["ID"] for c in admin.list("certificates", ns, params=params)]
    assert len(whole) == 7
    got, nxt = [], None
    for _ in range(10):
        p = {"order": order.split(","), "limit": 2}
        if nxt:
            p["after"] = nxt
        r = admin.get("/certificates", ns=ns, params=p)
        assert r.status == 200 and r.headers["X-Count-Total"] == "7", r
        got += [c["ID"] for c in r.data]
        nxt = r.headers.get("X-Next")
        if not nxt:
            break
    assert got == whole


# ---- imports -------------------------------------------------------------------------------


def test_import_bundle_counts_and_errors(admin, space):
    c1, c2 = make_cert("bundle1.test"), make_cert("bundle2.test")
    imp(admin, space, c2.pem)
    bad = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
    r = admin.post("/certificateimports", {"contents": c1.pem + bad + c2.pem + c1.pem},
                   ns=space)
    assert r.status == 200, r
    d = r.data
    assert d["object"] == "certificateimport"
    assert (d["total"], d["imported"], d["duplicates"], d["failed"]) == (4, 1, 2, 1)
    assert [e["index"] for e in d["errors"]] == [1]
    assert len(d["certificateIDs"]) == 3 and d["certificateIDs"][0] == d["certificateIDs"][2]
    kept = admin.ok(admin.get("/certificateimports/" + d["ID"], ns=space))
    assert kept["imported"] == 1 and "contents" not in kept


def test_import_all_bad_is_422(admin, space):
    n = count(admin, space)
    r = admin.post("/certificateimports", {"contents": "junk"}, ns=space)
    assert_error(r, 422)
    assert r.data[0]["data"]["attribute"] == "contents"
    assert count(admin, space) == n


def test_import_bundle_past_max_body_size(admin):
    ns = admin.mkns("/", "big-" + rand(6))["name"]
    issuer = make_cert("Bulk CA", ca=True, days=365)
    pems = [make_cert("h%d.bulk.test" % i, issuer=issuer, key=issuer.key, dns=[
        "h%d.bulk.test" % i]).pem for i in range(1600)]
    body = "".join(pems)
    assert len(body) > 1 << 20, "bigger than max_body_size"
    r = admin.request("POST", "/certificateimports", ns=ns, data=body.encode(),
                      content_type="application/pem-certificate-chain", timeout=60)
    assert r.status == 200, r
    assert r.data["imported"] == 1600
    assert count(admin, ns) == 1600


def test_import_is_idempotent(admin, space):
    c = make_cert("idem-import.test")
    key = "imp-" + rand(8)
    r1 = admin.post("/certificateimports", {"contents": c.pem}, ns=space, idem=key)
    r2 = admin.post("/certificateimports", {"contents": c.pem}, ns=space, idem=key)
    assert r1.status == r2.status == 200 and r1.data["ID"] == r2.data["ID"]


# ---- who may ------------------------------------------------------------------------------


def test_viewer_reads_and_requester_reads_certificates_only(server, admin, space):
    obj = imp(admin, space, make_cert("roles.test").pem)
    for role in ("namespace.viewer", "certificate.requester"):
        name, pw, _ = admin.mkaccount(space)
        admin.mkauthz(space, [["@auth:realm=vince", "@auth:account=" + name]],
                      ["@auth:role=" + role])
        c = server.client(server.token(name, pw))
        assert c.get("/certificates/" + obj["ID"], ns=space).status == 200
        assert c.get("/certificates/%s/contents" % obj["ID"], ns=space).status == 200
        assert c.post("/certificates", {"certificate": make_cert("x.test").pem},
                      ns=space).status == 403
        r = c.put("/certificates/" + obj["ID"], obj, ns=space)
        assert r.status == 403
        assert c.delete("/certificates/" + obj["ID"], ns=space).status == 403


def test_namespace_delete_takes_the_inventory(admin):
    ns = admin.mkns("/", "gone-" + rand(6))["name"]
    c = make_cert("gone.test")
    imp(admin, ns, c.pem)
    name = ns.rsplit("/", 1)[1]
    nsobj = admin.list("namespaces", "/", params={"q": 'name == "%s"' % ns})[0]
    admin.ok(admin.delete("/namespaces/" + nsobj["ID"], ns="/"))
    again = admin.mkns("/", name)["name"]
    assert count(admin, again) == 0
    obj = imp(admin, again, c.pem)  # the same fingerprint in the new namespace
    assert obj["namespace"] == again


def test_validity_dates_are_the_certificates(admin, space):
    start = now() - datetime.timedelta(days=3)
    c = make_cert("dates.test", start=start, days=5)
    obj = imp(admin, space, c.pem)
    assert obj["validityStart"] == start.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def test_a_bundle_links_leaves_to_a_root_without_the_ca_flag(admin):
    """A bundle's leaves are stored together, after its issuers: a self-signed root
    without basicConstraints (as X.509 v1 roots are) counts as an issuer, whatever its
    place in the bundle, so the leaves after it link to it; duplicates in the bundle
    are counted once."""
    ns = admin.mkns("/", "noflag-" + rand(6))["name"]
    key = new_key("EC_P256")
    subject = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "Flagless Root")])
    start = now() - datetime.timedelta(days=1)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(start + datetime.timedelta(days=3650))
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(key, hashes.SHA256()))
    root = Cert(cert, key)
    leaves = [make_cert("leaf%d.noflag.test" % k, issuer=root) for k in range(5)]
    body = "".join(c.pem for c in leaves) + root.pem + leaves[0].pem
    r = admin.ok(admin.post("/certificateimports", {"contents": body}, ns=ns))
    assert (r["imported"], r["duplicates"]) == (6, 1), r
    ids = r["certificateIDs"]
    assert ids[6] == ids[0] and len(set(ids)) == 6
    for k in range(5):
        got = admin.ok(admin.get("/certificates/" + ids[k], ns=ns))
        assert got["issuerCertificateID"] == ids[5], k


def test_a_renamed_ca_is_found_among_others_of_its_name_and_key(admin):
    """A leaf names its issuer by key and name. The key is also another CA's (the CA
    renamed), and the name also another key's (the renamed name rolled over to a new
    key), both stored a second earlier (IDs begin with their second, so each look-up by
    key or by name alone finds the wrong one first): the leaf still links to the one CA
    of both, in a later request and in a bundle of its own."""
    ns = admin.mkns("/", "renamed-" + rand(6))["name"]
    shared = new_key("EC_P256")
    first_name = make_cert("Before Rename CA", ca=True, key=shared, days=3650)
    other_key = make_cert("After Rename CA", ca=True, days=3650)
    issuer = make_cert("After Rename CA", ca=True, key=shared, days=3650)
    leaf = make_cert("leaf.renamed.test", issuer=issuer)
    admin.ok(admin.post("/certificateimports",
                        {"contents": first_name.pem + other_key.pem}, ns=ns))
    time.sleep(1.1)
    want = imp(admin, ns, issuer.pem)["ID"]
    assert imp(admin, ns, leaf.pem)["issuerCertificateID"] == want
    space = admin.mkns(ns, "bundle")["name"]
    admin.ok(admin.post("/certificateimports",
                        {"contents": first_name.pem + other_key.pem}, ns=space))
    time.sleep(1.1)
    r = admin.ok(admin.post("/certificateimports", {"contents": issuer.pem + leaf.pem},
                            ns=space))
    got = admin.ok(admin.get("/certificates/" + r["certificateIDs"][1], ns=space))
    assert got["issuerCertificateID"] == r["certificateIDs"][0]


def test_bundle_leaves_link_to_their_own_issuer_among_look_alikes(admin):
    """A bundle's issuers are looked up once each and kept for the rest of the bundle, by
    key identifier and name together: two CAs of one name with different keys (a key
    roll-over), two CAs of one key with different names (a renamed CA), and an expired
    CA; each leaf links to the CA that signed it, interleaved, and EXPIRED_ISSUER
    follows its own issuer only."""
    ns = admin.mkns("/", "look-" + rand(6))["name"]
    shared = new_key("EC_P256")
    old = make_cert("Acme Issuing CA", ca=True, days=3650)
    new = make_cert("Acme Issuing CA", ca=True, days=3650)
    renamed_a = make_cert("Renamed CA A", ca=True, key=shared, days=3650)
    renamed_b = make_cert("Renamed CA B", ca=True, key=shared, days=3650)
    gone = make_cert("Expired CA", ca=True, start=now() - datetime.timedelta(days=20),
                     end=now() - datetime.timedelta(days=1))
    cas = [old, new, renamed_a, renamed_b, gone]
    leaves = [(make_cert("leaf%d.look.test" % k, issuer=cas[k % 5]), cas[k % 5])
              for k in range(20)]
    body = "".join(c.pem for c in cas) + "".join(leaf.pem for leaf, _ in leaves)
    r = admin.post("/certificateimports", {"contents": body}, ns=ns)
    assert r.status == 200 and r.data["imported"] == 25, r
    ids = r.data["certificateIDs"]
    by_fp = {admin.ok(admin.get("/certificates/" + i, ns=ns))["fingerprint"]: i for i in ids}
    for k, (leaf, issuer) in enumerate(leaves):
        got = admin.ok(admin.get("/certificates/" + ids[5 + k], ns=ns))
        assert got["issuerCertificateID"] == by_fp[issuer.fingerprint], k
        assert ("EXPIRED_ISSUER" in got["weaknesses"]) == (issuer is gone), k


def test_filters_take_hex_and_addresses_as_openssl_and_people_write_them(admin):
    """What a user copies from `openssl x509 -serial`, `-fingerprint` and the SKI line
    (uppercase, colons), and an IPv6 address written uncompressed or in capitals, finds the
    certificate stored in lowercase hex and RFC 5952 form; a regex is left as written."""
    ns = admin.mkns("/", "hx-" + rand(8))["name"]
    leaf = make_cert("hex.example.com", ips=["2001:db8::1", "10.9.8.7"], serial=0xABCDEF0123)
    cid = imp(admin, ns, leaf.pem)["ID"]
    out = subprocess.run(["openssl", "x509", "-noout", "-serial", "-fingerprint", "-sha256",
                          "-ext", "subjectKeyIdentifier"], input=leaf.pem, text=True,
                         capture_output=True, check=True).stdout.splitlines()
    serial = out[0].split("=", 1)[1]  # 'serial=ABCDEF0123'
    fp = out[1].split("=", 1)[1]  # 'sha256 Fingerprint=AB:CD:...'
    ski = out[-1].strip()  # 'X509v3 Subject Key Identifier:' then '    7A:...'
    assert ":" in fp and ":" in ski and serial == "ABCDEF0123", out
    for q in ('serialNumber == "%s"' % serial, 'fingerprint == "%s"' % fp,
              'subjectKeyIdentifier == "%s"' % ski, 'fingerprint in ["00", "%s"]' % fp,
              'ipAddresses == "2001:DB8:0:0:0:0:0:1"', 'ipAddresses contains "2001:0db8::0001"',
              'ipAddresses in ["2001:db8::2", "2001:DB8::1"]', 'ipAddresses == "10.9.8.7"'):
        assert ids_of(admin, ns, q) == {cid}, q
    assert ids_of(admin, ns, 'serialNumber matches "^ABCDEF"') == set()  # a regex as written
    assert ids_of(admin, ns, 'serialNumber matches "^abcdef"') == {cid}
    assert ids_of(admin, ns, 'ipAddresses == "2001:db8::2"') == set()
    # nothing but separators is no hex to read: as written, it matches nothing (emptied, it
    # would have matched every certificate: a code review)
    assert ids_of(admin, ns, 'fingerprint contains ":"') == set()


def test_a_bad_contents_parameter_is_named_in_data_attribute(admin, space):
    ns = space
    url = "/certificates/%s/contents" % imp(admin, ns, make_cert("params.example").pem)["ID"]
    for params, attribute in ((("format", "TXT"),), "format"), ((("chain", "yes"),), "chain"), \
            ((("format", "DER"), ("chain", "true")), "format"):
        r = admin.get(url, ns=ns, params=list(params))
        assert assert_error(r, 400).get("data") == {"attribute": attribute}, (params, r)
