"""Odd certificates (API.md 7.1): "a 100,000-entry SAN list, negative or 40-byte serials,
unknown critical extensions, non-UTF-8 or empty names, a validity ending before it starts
are stored as they are (the inventory records what is out there)".

Each is assembled byte for byte (oddcert.py) and goes the whole way: import, GET it back
(JSON and MessagePack, every string valid UTF-8), find it with a filter, find it in the
CSV export, get the exact DER and PEM back from contents, and send it back with PUT as
read. What OpenSSL itself refuses to parse (a UTF8String that is not UTF-8) is a 422 on
`certificate` that stores nothing, never a 5xx (docs/inventory.md)."""

import base64
import csv
import datetime
import io

import pytest

import oddcert as oc
from kwtest import MSGPACK_CT, assert_error, rand

ABSENT = object()
CSV = "text/csv"
csv.field_size_limit(1 << 24)  # a cell of 10,000 joined names is ~140 KB


@pytest.fixture(scope="module")
def space(admin):
    return admin.mkns("/", "odd-" + rand(8))["name"]


def all_strings(v):
    if isinstance(v, str):
        yield v
    elif isinstance(v, dict):
        for k, x in v.items():
            yield k
            yield from all_strings(x)
    elif isinstance(v, list):
        for x in v:
            yield from all_strings(x)


def assert_utf8(v):
    """Every string of a decoded answer is valid Unicode text (no lone surrogates, which
    is what a JSON \\ud800 escape or a bad byte would leave)."""
    for s in all_strings(v):
        s.encode("utf-8")


def csv_rows(r):
    assert r.status == 200 and r.ctype.startswith(CSV), r
    text = r.content.decode("utf-8")  # strict: the export is UTF-8
    table = list(csv.reader(io.StringIO(text, newline="")))
    return [dict(zip(table[0], row)) for row in table[1:]]


def import_one(admin, ns, der, via):
    fp = oc.fingerprint(der)
    if via == "json":
        r = admin.post("/certificates", {"certificate": oc.pem(der)}, ns=ns)
    elif via == "der":
        r = admin.request("POST", "/certificates", ns=ns, data=der,
                          content_type="application/pkix-cert")
    else:  # a bundle, as a raw PEM body (no 1 MiB body limit there)
        r = admin.request("POST", "/certificateimports", ns=ns, data=oc.pem(der).encode(),
                          content_type="application/pem-certificate-chain", timeout=120)
        assert r.status == 200, r
        assert (r.data["total"], r.data["failed"]) == (1, 0), r
        assert r.data["imported"] + r.data["duplicates"] == 1, r
        r = admin.get("/certificates/" + r.data["certificateIDs"][0], ns=ns)
    assert r.status == 200, r
    assert r.data["fingerprint"] == fp
    return r.data


def stored_as_is(admin, ns, der, via="json", q=None, **expect):
    """Import `der` and follow it through every read; `expect` holds field values
    (ABSENT: not in the object). Returns the object as read."""
    obj = import_one(admin, ns, der, via)
    assert_utf8(obj)
    url = "/certificates/" + obj["ID"]
    got = admin.ok(admin.get(url, ns=ns))
    assert got == obj
    m = admin.get(url, ns=ns, accept=MSGPACK_CT)
    assert m.status == 200 and m.data == got
    for k, v in expect.items():
        if v is ABSENT:
            assert k not in got, (k, got.get(k))
        else:
            assert got.get(k) == v, (k, got.get(k), v)
    # filters: by fingerprint, and by whatever is odd about it
    for cond in ['fingerprint == "%s"' % oc.fingerprint(der)] + ([q] if q else []):
        r = admin.get("/certificates", ns=ns, params={"q": cond}, fields=["ID"])
        assert r.status == 200, (cond, r)
        assert obj["ID"] in [x["ID"] for x in r.data], cond
    # the CSV export holds its row, as UTF-8
    rows = csv_rows(admin.get("/certificates", ns=ns, accept=CSV,
                              params={"q": 'ID == "%s"' % obj["ID"]}))
    assert [row["ID"] for row in rows] == [obj["ID"]]
    assert rows[0]["fingerprint"] == obj["fingerprint"]
    every = csv_rows(admin.get("/certificates", ns=ns, accept=CSV, params={"pageSize": 0}))
    assert obj["ID"] in [row["ID"] for row in every]
    # contents: the very bytes
    r = admin.get(url + "/contents", ns=ns, params={"format": "DER"})
    assert r.status == 200 and r.content == der, r
    r = admin.get(url + "/contents", ns=ns)
    assert r.status == 200 and r.content.decode() == oc.pem(der), r
    # a client's read-modify-write of what it read works
    got["description"] = "odd, kept " + rand(4)
    put = admin.put(url, got, ns=ns)
    assert put.status == 200, put
    assert {k: v for k, v in put.data.items() if k not in ("description", "updateTime")} == \
        {k: v for k, v in got.items() if k not in ("description", "updateTime")}
    return admin.ok(admin.get(url, ns=ns))


# ---- serials -----------------------------------------------------------------------------


def test_negative_serial(admin, space):
    obj = stored_as_is(admin, space, oc.build(serial=-12345), serialNumber="-3039",
                       q='serialNumber == "-3039"')
    rows = csv_rows(admin.get("/certificates", ns=space, accept=CSV, fields=["ID", "serialNumber"],
                              params={"q": 'ID == "%s"' % obj["ID"]}))
    assert rows == [{"ID": obj["ID"], "serialNumber": "'-3039"}], \
        "a text cell starting with '-' is guarded (docs/api-decisions.md, CSV)"


def test_forty_byte_serials(admin, space):
    magnitude = bytes([0x5A]) + bytes(range(0xA0, 0xA0 + 39))  # 40 bytes, encoded as is
    hexs = magnitude.hex()
    assert len(hexs) == 80
    stored_as_is(admin, space, oc.build(serial=magnitude), serialNumber=hexs,
                 q='serialNumber == "%s"' % hexs)
    # the same magnitude negative (41 content bytes in two's complement)
    neg = -int.from_bytes(magnitude, "big")
    stored_as_is(admin, space, oc.build(serial=neg), serialNumber="-" + hexs,
                 q='serialNumber == "-%s"' % hexs)
    # 40 bytes with the high bit set: encoded in 41, with a leading zero
    high = bytes(range(0xC0, 0xC0 + 40))
    stored_as_is(admin, space, oc.build(serial=int.from_bytes(high, "big")),
                 serialNumber=high.hex())


def test_zero_serial(admin, space):
    stored_as_is(admin, space, oc.build(serial=0), serialNumber="00", q='serialNumber == "00"')


# ---- extensions ----------------------------------------------------------------------------


def test_unknown_critical_extension(admin, space):
    der = oc.build(extensions=[oc.ext("1.3.6.1.4.1.99999.1", b"\x05\x00", critical=True),
                               oc.san_dns(["critical.odd.test"])])
    stored_as_is(admin, space, der, dnsNames=["critical.odd.test"], subjectCN="odd.test",
                 keyAlgorithm="EC", keyCurve="P256", signatureAlgorithm="ecdsa-with-SHA256",
                 q='dnsNames == "critical.odd.test"')


def test_malformed_extension_leaves_its_fields_out(admin, space):
    """A SAN that is not a GeneralNames: the certificate is stored, without SANs."""
    der = oc.build(subject=oc.name((oc.CN, oc.UTF8, "badsan.odd.test")),
                   extensions=[oc.ext(oc.SAN, b"\x01\x02\x03")])
    stored_as_is(admin, space, der, subjectCN="badsan.odd.test", dnsNames=ABSENT,
                 q='subjectCN == "badsan.odd.test"')


# ---- names ---------------------------------------------------------------------------------

# (string tag, bytes of the CN) -> (subjectCN, subject): what OpenSSL converts is kept as
# converted; bytes that are not UTF-8 after that, and NUL, become U+FFFD.
NAMES = {
    "T61String Latin-1": (oc.T61, b"\xe9t\xe9", "\u00e9t\u00e9", "CN=\\C3\\A9t\\C3\\A9"),
    "BMPString": (oc.BMP, "\u65e5\u672c".encode("utf-16-be"), "\u65e5\u672c",
                  "CN=\\E6\\97\\A5\\E6\\9C\\AC"),
    "UniversalString": (oc.UNIVERSAL, "\U0001f600".encode("utf-32-be"), "\U0001f600",
                        "CN=\\F0\\9F\\98\\80"),
    "IA5String high byte": (oc.IA5, b"a\xff", "a\u00ff", "CN=a\\C3\\BF"),
    "PrintableString high byte": (oc.PRINTABLE, b"a\xff", "a\u00ff", "CN=a\\C3\\BF"),
    "UTF8String with NUL": (oc.UTF8, b"x\x00y", "x\ufffdy", "CN=x\\00y"),
    "empty UTF8String": (oc.UTF8, b"", "", "CN="),
}


@pytest.mark.parametrize("kind", list(NAMES))
def test_odd_name_encodings(admin, space, kind):
    tag, raw, cn, subject = NAMES[kind]
    der = oc.build(subject=oc.name((oc.CN, tag, raw), (oc.O, oc.UTF8, "Odd Names")),
                   extensions=[oc.san_dns(["names.odd.test"])])
    obj = stored_as_is(admin, space, der, subjectCN=cn, subjectO="Odd Names",
                       issuerCN=cn, subject="O=Odd Names," + subject, selfSigned=True,
                       q='subjectCN == "%s"' % cn.replace("\x00", ""))
    rows = csv_rows(admin.get("/certificates", ns=space, accept=CSV,
                              params={"q": 'ID == "%s"' % obj["ID"]}))
    assert rows[0]["subjectCN"] == cn


def test_empty_subject_with_san(admin, space):
    """No RDN at all (RFC 5280 4.2.1.6: then the SAN is critical): subject and issuer are
    "", no subjectCN; the SAN identifies it."""
    der = oc.build(subject=oc.name(), extensions=[oc.san_dns(["empty.odd.test"], True)])
    stored_as_is(admin, space, der, subject="", issuer="", subjectCN=ABSENT, issuerCN=ABSENT,
                 dnsNames=["empty.odd.test"], selfSigned=True,
                 q='dnsNames == "empty.odd.test" and subjectCN not exists')


def test_non_utf8_san_is_converted(admin, space):
    """An IA5String dNSName with a high byte: read as Latin-1 by OpenSSL, kept as UTF-8."""
    der = oc.build(extensions=[oc.san_dns([b"caf\xe9.odd.test", "plain.odd.test"])])
    stored_as_is(admin, space, der, dnsNames=["caf\u00e9.odd.test", "plain.odd.test"],
                 q='dnsNames == "caf\u00e9.odd.test"')


# OpenSSL 3 canonicalises names while decoding and refuses these: they are not
# certificates it parses, so they are refused like any non-certificate.
UNPARSEABLE = {
    "Latin-1 in a UTF8String": (oc.UTF8, b"caf\xe9"),
    "BMPString of odd length": (oc.BMP, b"\x00a\x00"),
    "BMPString lone surrogate": (oc.BMP, b"\xd8\x00\x00a"),
}


@pytest.mark.parametrize("kind", list(UNPARSEABLE))
def test_names_openssl_refuses_are_422_and_fail_alone_in_bundles(admin, space, kind):
    tag, raw = UNPARSEABLE[kind]
    der = oc.build(subject=oc.name((oc.CN, tag, raw)))
    before = admin.head("/certificates", ns=space).headers["X-Count-Total"]
    r = admin.post("/certificates", {"certificate": oc.pem(der)}, ns=space)
    e = assert_error(r, 422)
    assert e["data"]["attribute"] == "certificate"
    r = admin.request("POST", "/certificates", ns=space, data=der,
                      content_type="application/pkix-cert")
    assert_error(r, 422)
    good = oc.build(subject=oc.name((oc.CN, oc.UTF8, "beside-%s.odd.test" % rand(6))))
    r = admin.post("/certificateimports", {"contents": oc.pem(good) + oc.pem(der)}, ns=space)
    assert r.status == 200, r
    assert (r.data["total"], r.data["imported"], r.data["failed"]) == (2, 1, 1)
    assert [e["index"] for e in r.data["errors"]] == [1]
    assert_utf8(r.data)
    after = admin.head("/certificates", ns=space).headers["X-Count-Total"]
    assert int(after) == int(before) + 1, "only the good one was stored"


# ---- validity -------------------------------------------------------------------------------


def test_validity_ending_before_it_starts_in_the_past(admin, space):
    start, end = oc.now() - datetime.timedelta(days=10), oc.now() - datetime.timedelta(days=20)
    der = oc.build(subject=oc.name((oc.CN, oc.UTF8, "inverted-past.odd.test")),
                   start=start, end=end)
    stored_as_is(admin, space, der, validityStart=start.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                 validityEnd=end.strftime("%Y-%m-%dT%H:%M:%S.000Z"), status="EXPIRED",
                 q='status == "EXPIRED" and subjectCN == "inverted-past.odd.test"')


def test_validity_ending_before_it_starts_in_the_future_is_expired(admin, space):
    """Never valid at any time: EXPIRED, whatever the clock says (docs/inventory.md), in
    reads and filters alike; not ACTIVE, and not EXPIRING years from now."""
    start = oc.now() + datetime.timedelta(days=400)
    end = oc.now() + datetime.timedelta(days=300)
    cn = "inverted-future.odd.test"
    der = oc.build(subject=oc.name((oc.CN, oc.UTF8, cn)), start=start, end=end)
    obj = stored_as_is(admin, space, der, status="EXPIRED",
                       validityStart=start.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                       validityEnd=end.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                       q='status == "EXPIRED" and subjectCN == "%s"' % cn)
    for st in ("ACTIVE", "EXPIRING"):
        r = admin.get("/certificates", ns=space,
                      params={"q": 'status == "%s" and subjectCN == "%s"' % (st, cn)})
        assert r.status == 200 and r.data == [], (st, r)
    # retiring and recovering it evaluates it again: still EXPIRED
    obj["retired"] = True
    obj = admin.ok(admin.put("/certificates/" + obj["ID"], obj, ns=space))
    assert obj["status"] == "RETIRED"
    obj["retired"] = False
    obj = admin.ok(admin.put("/certificates/" + obj["ID"], obj, ns=space))
    assert obj["status"] == "EXPIRED"


def test_extreme_times(admin, space):
    """UTCTime 1950 to GeneralizedTime 9999 (RFC 5280's "no expiry")."""
    start = datetime.datetime(1950, 1, 1, tzinfo=oc.UTC)
    end = datetime.datetime(9999, 12, 31, 23, 59, 59, tzinfo=oc.UTC)
    der = oc.build(subject=oc.name((oc.CN, oc.UTF8, "forever.odd.test")), start=start, end=end)
    stored_as_is(admin, space, der, validityStart="1950-01-01T00:00:00.000Z",
                 validityEnd="9999-12-31T23:59:59.000Z", status="ACTIVE",
                 weaknesses=["VALIDITY_TOO_LONG"],
                 q='validityStart < date("1951-01-01") and subjectCN == "forever.odd.test"')


# ---- 100,000 SANs ----------------------------------------------------------------------------


def test_a_hundred_thousand_sans(admin, space):
    """Stored with the first 10,000 names and `truncated: true` (INV_LIST_MAX,
    docs/inventory.md); the DER is kept whole. Too big for POST /certificates (1 MiB
    body): it goes through /certificateimports."""
    der = oc.build(subject=oc.name((oc.CN, oc.UTF8, "san100k.odd.test")),
                   extensions=[oc.san_dns(["h%d.example" % i for i in range(100000)])])
    assert len(der) > 1 << 20
    r = admin.request("POST", "/certificates", ns=space, data=der,
                      content_type="application/pkix-cert")
    assert_error(r, 413)
    obj = stored_as_is(admin, space, der, via="bundle", truncated=True,
                       q='dnsNames == "h9999.example"')
    assert len(obj["dnsNames"]) == 10000
    assert obj["dnsNames"][0] == "h0.example" and obj["dnsNames"][-1] == "h9999.example"
    r = admin.get("/certificates", ns=space, params={"q": 'dnsNames == "h10000.example"'})
    assert r.status == 200 and r.data == [], "names past the cap are not kept"
    # importing it again is a duplicate, not a second object
    r = admin.request("POST", "/certificateimports", ns=space, data=oc.pem(der).encode(),
                      content_type="application/pem-certificate-chain", timeout=120)
    assert r.status == 200 and r.data["duplicates"] == 1 and \
        r.data["certificateIDs"] == [obj["ID"]], r


def test_ten_thousand_sans_are_not_truncated(admin, space):
    der = oc.build(subject=oc.name((oc.CN, oc.UTF8, "san10k.odd.test")),
                   extensions=[oc.san_dns(["k%d.example" % i for i in range(10000)])])
    obj = stored_as_is(admin, space, der, truncated=ABSENT, q='dnsNames == "k9999.example"')
    assert len(obj["dnsNames"]) == 10000
    der = oc.build(subject=oc.name((oc.CN, oc.UTF8, "san10k1.odd.test")),
                   extensions=[oc.san_dns(["j%d.example" % i for i in range(10001)])])
    obj = stored_as_is(admin, space, der, via="bundle", truncated=True)
    assert len(obj["dnsNames"]) == 10000 and obj["dnsNames"][-1] == "j9999.example"


# ---- all of them at once -------------------------------------------------------------------


def test_a_bundle_of_odd_certificates(admin):
    """Every odd kind in one bundle, in a fresh namespace: each stored, none failing."""
    ns = admin.mkns("/", "oddb-" + rand(6))["name"]
    ders = [oc.build(serial=-1), oc.build(serial=bytes([0x11] * 40)),
            oc.build(extensions=[oc.ext("1.2.3.4.5", b"\x04\x00", True)]),
            oc.build(subject=oc.name()),
            oc.build(subject=oc.name((oc.CN, oc.T61, b"\xfc"))),
            oc.build(start=oc.now(), end=oc.now() - datetime.timedelta(days=1))]
    body = "".join(oc.pem(d) for d in ders)
    r = admin.post("/certificateimports", {"contents": body}, ns=ns)
    assert r.status == 200, r
    assert (r.data["total"], r.data["imported"], r.data["failed"]) == (len(ders), len(ders), 0)
    got = admin.ok(admin.get("/certificates", ns=ns, params={"order": "fingerprint"}))
    assert sorted(c["fingerprint"] for c in got) == sorted(oc.fingerprint(d) for d in ders)
    assert_utf8(got)
    p7 = base64.b64encode(oc.seq(oc.oid("1.2.840.113549.1.7.2"), oc.tlv(0xA0, oc.seq(
        oc.integer(1), oc.set_of(), oc.seq(oc.oid("1.2.840.113549.1.7.1")),
        oc.tlv(0xA0, b"".join(ders)), oc.set_of())))).decode()
    r = admin.post("/certificateimports", {"contents": p7}, ns=ns)
    assert r.status == 200, r
    assert (r.data["total"], r.data["duplicates"], r.data["failed"]) == (len(ders),
                                                                         len(ders), 0), r
