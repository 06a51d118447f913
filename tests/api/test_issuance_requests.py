"""Issuance, templates and certificate requests (API.md 7.4): the template's policy (regexes
matched on the whole value, an absent list forbids, key types, validity), CSRs of every key
type made by `openssl req`, server-generated keys answered once, what the issued
certificate holds (checked with openssl and python3-cryptography), idempotency, refusals
that are kept as FAILED, input that is not kept at all, the caps of every list, roles,
the certificate.issued webhook, and a real nginx serving an issued chain to curl."""

import datetime
import ipaddress
import time

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from certmaker import make_cert
from kwtest import HEX24, assert_error, rand
from pkitest import (KEY_TYPES, SAN_OID, aia_urls, count, crl_urls, issue, list_caps, load,
                     make_csr, mk_ca, mk_template, nginx_curl, not_before_after, pubkey_of_cert,
                     pubkey_of_csr, pubkey_of_key, raw_csr, refused, refused_and_kept,
                     request, san_value, sha256_pem, split_pem, tamper, template_body,
                     utcnow, verify)
from webhookreceiver import Receiver
from webhooktest import delivery_config, wait_delivery, webhook_body

HOUR = 3600


@pytest.fixture(scope="module")
def space(admin):
    return admin.mkns("/", "irq-" + rand(8))["name"]


@pytest.fixture(scope="module")
def pki(admin, space):
    """A root, an intermediate under it, and an open template on the intermediate."""
    root = mk_ca(admin, space, subject="CN=Requests Root,O=Keyward Tests")
    inter = mk_ca(admin, space, subject="CN=Requests Issuing CA,O=Keyward Tests",
                  parentID=root["ID"])
    tpl = mk_template(admin, space, inter["ID"], subjectCNRegexes=[".*"],
                      subjectORegexes=[".*"], subjectOURegexes=[".*"], subjectLRegexes=[".*"],
                      subjectSTRegexes=[".*"], subjectCValues=["US", "FR"],
                      sanDNSNameRegexes=[".*"], sanIPAddressRegexes=[".*"],
                      sanURIRegexes=[".*"], sanEmailRegexes=[".*"],
                      keyUsages=["digitalSignature", "keyEncipherment"],
                      extendedKeyUsages=["serverAuth", "clientAuth"])
    return {"root": root, "inter": inter, "tpl": tpl}


def fresh(admin, space):
    return admin.mkns(space, "n" + rand(8))["name"]


def leaf_of(req):
    return split_pem(req["certificateChain"])[0]


def attr_of(r):
    e = assert_error(r, 422)
    return (e.get("data") or {}).get("attribute")


def subject_set(cert):
    """The subject's attributes as a set of (short name, value): as asked, in any order."""
    return {tuple(rdn.rfc4514_string().split("=", 1)) for rdn in cert.subject.rdns}


def hours(pem):
    nb, na = not_before_after(pem)
    return (na - nb).total_seconds() / HOUR


# ---- templates ---------------------------------------------------------------------------


def test_template_defaults_and_fields(admin, space, pki):
    body = {"name": "min-" + rand(6), "certificateAuthorityID": pki["inter"]["ID"]}
    t = admin.ok(admin.post("/issuingtemplates", body, ns=space))
    assert t["object"] == "issuingtemplate" and HEX24.match(t["ID"])
    assert t["csrUploadAllowed"] is True and t["serverKeyGenerationAllowed"] is False
    assert t["certificateAuthorityID"] == pki["inter"]["ID"]
    got = admin.ok(admin.get("/issuingtemplates/" + t["ID"], ns=space))
    assert got["name"] == body["name"]
    assert_error(admin.post("/issuingtemplates", body, ns=space), 422, "Duplicate Key")


REGEX_LISTS = ["subjectCNRegexes", "subjectORegexes", "subjectOURegexes", "subjectLRegexes",
               "subjectSTRegexes", "sanDNSNameRegexes", "sanIPAddressRegexes",
               "sanURIRegexes", "sanEmailRegexes"]


@pytest.mark.parametrize("attribute", REGEX_LISTS)
@pytest.mark.parametrize("bad", ["(", "[a-", "a{2,1}", "[[:nope:]]"])
def test_an_invalid_regex_is_refused_at_creation(admin, space, pki, attribute, bad):
    n = admin.get("/issuingtemplates", ns=space).headers["X-Count-Total"]
    r = admin.post("/issuingtemplates", template_body(pki["inter"]["ID"],
                                                      **{attribute: [".*", bad]}), ns=space)
    assert attr_of(r) == attribute, r
    assert admin.get("/issuingtemplates", ns=space).headers["X-Count-Total"] == n


@pytest.mark.parametrize("bad", [
    "a{1,1000}{1,1000}{1,1000}",  # glibc grew to 23 GB compiling it: the server was killed
    "a{1,250}{1,250}",            # compiles, then a 1,000-character name took 27 s
    "(.*)(.*)\\2\\1x",            # a backreference: 200 characters took 19 s
    "(a?)*{0,20}$",               # an empty match repeated
])
def test_a_regex_too_costly_to_run_is_refused_at_creation(admin, space, pki, bad):
    # A template is written by a namespace editor and its patterns run in the HTTP workers
    # for every request it judges: one editor must not be able to take the console down.
    # The filter language's guard (size, nesting, anchors, empty repeats, backreferences)
    # bounds them too; a realistic bounded pattern stays accepted.
    for attribute in ("subjectCNRegexes", "sanDNSNameRegexes"):
        r = admin.post("/issuingtemplates", template_body(
            pki["inter"]["ID"], **{attribute: [".*", bad]}), ns=space)
        assert attr_of(r) == attribute and "too complex" in r.data[0]["description"], r
    ok = ["[a-z0-9-]{1,63}[.]example[.]com", "([a-z0-9-]+[.])*example[.]com"]
    r = admin.post("/issuingtemplates", template_body(
        pki["inter"]["ID"], sanDNSNameRegexes=ok), ns=space)
    assert r.status == 200, r
    assert admin.get("/health").status == 200


def test_a_templates_patterns_together_have_a_budget(admin, space, pki):
    # Each pattern is compiled when a request is judged: 250 patterns each just under the
    # single-pattern limit would cost seconds of a worker per request. Together they may
    # weigh about 2,048 compiled nodes (docs/issuance.md); "[a-z]{1,200}" weighs 400.
    five, six = ["[a-z]{1,200}x%d" % i for i in range(5)], ["[a-z]{1,200}y%d" % i for i in range(6)]
    r = admin.post("/issuingtemplates", template_body(
        pki["inter"]["ID"], subjectCNRegexes=[], sanDNSNameRegexes=five), ns=space)
    assert r.status == 200, r
    r = admin.post("/issuingtemplates", template_body(
        pki["inter"]["ID"], subjectCNRegexes=five[:3], sanDNSNameRegexes=six[:3]), ns=space)
    # named by the list that passes the budget, counting the SAN lists first
    assert attr_of(r) == "subjectCNRegexes" and "together" in r.data[0]["description"], r


def test_a_name_refused_in_the_san_and_the_cn_is_told_by_its_san(admin, space):
    """A CSR naming www.evil.test in its CN and DNS SAN, refused by the template and by the
    CA's permittedDNSDomains: 422 on csr.dnsNames, the name clients check (API.md 7.4's
    example); it said csr.commonName (an acceptance check)."""
    ns = admin.mkns(space, "san" + rand(6))["name"]
    ca = mk_ca(admin, ns, permittedDNSDomains=["acme.test"])
    evil = make_csr(cn="www.evil.test", dns=["www.evil.test"])[0]
    by_template = mk_template(admin, ns, ca["ID"], subjectCNRegexes=[r".*\.acme\.test"],
                              sanDNSNameRegexes=[r".*\.acme\.test"])
    by_ca = mk_template(admin, ns, ca["ID"])
    for tpl in (by_template, by_ca):
        r = request(admin, ns, tpl["ID"], csr=evil)
        assert attr_of(r) == "csr.dnsNames", r


def test_every_template_list_has_a_cap(admin, space, pki):
    """Every list of a template: its published cap is accepted, one more is 422 on it."""
    caps = list_caps(admin, "issuingtemplate")
    items = {k: "x%d" for k in REGEX_LISTS}
    items["subjectCValues"] = None  # two-letter codes, below
    items["extendedKeyUsages"] = "1.3.6.1.4.1.99999.%d"
    codes = ["%s%s" % (a, b) for a in "ABCDEFGHIJ" for b in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"]
    for attribute, item in items.items():
        cap = caps.get(attribute)
        assert isinstance(cap, int) and 0 < cap <= 250, (attribute, cap)
        values = (lambda n: codes[:n]) if item is None else \
            (lambda n, item=item: [item % i for i in range(n)])
        t = admin.post("/issuingtemplates", template_body(pki["inter"]["ID"], **{
            attribute: values(cap)}), ns=space)
        assert t.status == 200 and len(t.data[attribute]) == cap, (attribute, t)
        r = admin.post("/issuingtemplates", template_body(pki["inter"]["ID"], **{
            attribute: values(cap + 1)}), ns=space)
        assert attr_of(r) == attribute, (attribute, r)
        r = admin.put("/issuingtemplates/" + t.data["ID"], dict(t.data, **{
            attribute: values(cap + 1)}), ns=space)
        assert attr_of(r) == attribute, (attribute, r)
    # the enumerated lists (keyTypes, keyUsages) are bounded by their values
    for attribute in ("keyTypes", "keyUsages"):
        assert isinstance(caps.get(attribute), int), (attribute, caps)


def test_template_validation(admin, space, pki):
    ca = pki["inter"]["ID"]

    def make(**kw):
        return admin.post("/issuingtemplates", template_body(ca, **kw), ns=space)
    assert attr_of(make(keyTypes=["RSA_1024"])) == "keyTypes"
    assert attr_of(make(keyTypes="EC_P256")) == "keyTypes"
    assert attr_of(make(subjectCValues=["USA"])) == "subjectCValues"
    for k in ("maxValidity", "defaultValidity"):
        for bad in ("abc", "-1h", "10"):
            assert attr_of(make(**{k: bad})) == k, (k, bad)
    assert attr_of(make(maxValidity="24h", defaultValidity="48h")) == "defaultValidity"
    # a template that only caps the validity is whole: its default follows the cap
    # (a conformance review: 422 on a defaultValidity nobody sent)
    for cap, default in (("100h", "100h"), ("2160h", "2160h"), ("8760h", "2160h")):
        body = template_body(ca, maxValidity=cap)
        del body["defaultValidity"]
        r = admin.post("/issuingtemplates", body, ns=space)
        assert r.status == 200 and r.data["defaultValidity"] == default, (cap, r)
    assert attr_of(make(keyUsages=["signEverything"])) == "keyUsages"
    assert attr_of(make(extendedKeyUsages=["notAUsage"])) == "extendedKeyUsages"
    assert attr_of(make(certificateAuthorityID="0" * 24)) == "certificateAuthorityID"
    assert attr_of(make(certificateAuthorityID="")) == "certificateAuthorityID"
    body = template_body(ca)
    del body["certificateAuthorityID"]
    assert attr_of(admin.post("/issuingtemplates", body, ns=space)) == "certificateAuthorityID"
    other = mk_ca(admin, fresh(admin, space), usableInSubNamespaces=True)
    assert attr_of(make(certificateAuthorityID=other["ID"])) == "certificateAuthorityID"


@pytest.mark.parametrize("eku", ["OCSPSigning", "1.3.6.1.5.5.7.3.9", "2.5.29.37.0",
                                 # the same two spelt with leading zeros (a black-box review)
                                 "1.3.6.1.5.5.7.3.09", "1.3.6.1.5.5.7.3.0009", "2.5.29.37.00",
                                 "2.5.29.037.0"])
def test_a_template_cannot_make_ocsp_responders(admin, space, pki, eku):
    # A leaf the CA signs with OCSP signing is a delegated responder for every certificate
    # of that CA (RFC 6960 4.2.2.2): an editor of a sub-namespace, templating on a parent's
    # CA, could answer "good" for a certificate the parent revoked (a black-box review did,
    # with openssl ocsp). anyExtendedKeyUsage is every purpose. Neither is issued; other
    # dotted OIDs are.
    n = admin.get("/issuingtemplates", ns=space).headers["X-Count-Total"]
    r = admin.post("/issuingtemplates", template_body(
        pki["inter"]["ID"], extendedKeyUsages=["serverAuth", eku]), ns=space)
    assert attr_of(r) == "extendedKeyUsages", r
    assert admin.get("/issuingtemplates", ns=space).headers["X-Count-Total"] == n
    t = mk_template(admin, space, pki["inter"]["ID"],
                    extendedKeyUsages=["serverAuth", "1.3.6.1.4.1.99999.1"])
    r = admin.put("/issuingtemplates/" + t["ID"], dict(t, extendedKeyUsages=[eku]), ns=space)
    assert attr_of(r) == "extendedKeyUsages", r
    req = issue(admin, space, t["ID"], csr=make_csr(dns=["eku.test.example"])[0])
    leaf = load(split_pem(req["certificateChain"])[0])
    usages = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.OCSP_SIGNING not in usages
    assert ExtendedKeyUsageOID.SERVER_AUTH in usages


def test_a_certificate_that_names_nobody_is_refused(admin, space, pki):
    # RFC 5280 4.1.2.6: a certificate names its subject, in the subject or in the SANs. A
    # template that forbids every name field issued one with neither to csrAttributes {},
    # and to a CSR with an empty subject (a black-box review; openssl verify -x509_strict
    # refuses such a leaf). Both are refused and kept FAILED; nothing enters the inventory.
    t = mk_template(admin, space, pki["inter"]["ID"], subjectCNRegexes=[],
                    sanDNSNameRegexes=[], serverKeyGenerationAllowed=True)
    n = count(admin, "certificates", space)
    refused_and_kept(admin, space, request(admin, space, t["ID"], attrs={}),
                     "csrAttributes.commonName")
    refused_and_kept(admin, space, request(admin, space, t["ID"],
                                           csr=make_csr(cn=None)[0]), "csr.commonName")
    assert count(admin, "certificates", space) == n


@pytest.mark.parametrize("field,value", [
    ("organization", "Acme\u0000Evil Corp"), ("commonName", "w.test.example\u0000.evil"),
    ("emails", ["x@evil.example\u0000.test.example"])])
def test_a_nul_in_csr_attributes_is_refused(admin, space, pki, field, value):
    # A NUL cut the name short in the certificate ("Acme") while the request kept it whole:
    # what is stored must be what was issued, so it is refused, as in `validity`.
    t = mk_template(admin, space, pki["inter"]["ID"], subjectORegexes=["Acme.*"],
                    sanEmailRegexes=[".*"], serverKeyGenerationAllowed=True)
    attrs = {"commonName": "w.test.example", "keyType": "EC_P256", field: value}
    n = count(admin, "certificates", space)
    r = request(admin, space, t["ID"], attrs=attrs)
    assert r.status == 422 and "U+0000" in r.data[0]["description"], r
    assert count(admin, "certificates", space) == n


# ---- CSRs of every key type --------------------------------------------------------------


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_csr_of_every_key_type(admin, space, pki, key_type):
    csr, key = make_csr(key_type, cn="kt-%s.test.example" % key_type.lower(),
                        dns=["kt.test.example"])
    req = issue(admin, space, pki["tpl"]["ID"], csr=csr)
    leaf = leaf_of(req)
    assert pubkey_of_cert(leaf) == pubkey_of_csr(csr) == pubkey_of_key(key)
    verify(pki["root"]["certificate"], leaf, [pki["inter"]["certificate"]], purpose="sslserver")
    assert "privateKey" not in req, "no key is answered for an uploaded CSR"
    ku = load(leaf).extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.digital_signature
    # the template asks keyEncipherment too: only an RSA key can do it (RFC 8813)
    assert ku.key_encipherment == key_type.startswith("RSA"), key_type


def test_template_key_types_bound_csrs(admin, space, pki):
    ns = fresh(admin, space)
    tpl = mk_template(admin, ns, mk_ca(admin, ns)["ID"], keyTypes=["EC_P256"])
    issue(admin, ns, tpl["ID"], csr=make_csr("EC_P256", dns=["p256.test.example"])[0])
    for kt in ("RSA_2048", "EC_P384", "ED25519"):
        r = request(admin, ns, tpl["ID"], csr=make_csr(kt, dns=["x.test.example"])[0])
        refused_and_kept(admin, ns, r, prefix="csr")
    r = request(admin, ns, tpl["ID"], attrs={"commonName": "g.test.example",
                                             "dnsNames": ["g.test.example"],
                                             "keyType": "RSA_2048"})
    refused_and_kept(admin, ns, r, "csrAttributes.keyType")


def test_a_key_of_no_supported_type_is_refused(admin, space, pki):
    r = request(admin, space, pki["tpl"]["ID"], csr=make_csr("RSA_1024",
                                                             dns=["weak.test.example"])[0])
    refused(r, prefix="csr")


# ---- what an issued certificate holds ----------------------------------------------------


def test_issued_certificate_follows_rfc5280(server, admin, space, pki):
    dns = ["www.test.example", "test.example"]
    csr, key = make_csr("EC_P256", subj="/C=US/ST=Oregon/L=Portland/O=Acme/OU=Web/"
                        "CN=www.test.example", dns=dns, ips=["192.0.2.10", "2001:db8::10"],
                        uris=["spiffe://test.example/web"], emails=["ops@test.example"])
    t0 = utcnow()
    req = issue(admin, space, pki["tpl"]["ID"], csr=csr)
    assert req["object"] == "certificaterequest" and HEX24.match(req["ID"])
    assert HEX24.match(req["certificateID"]) and not req.get("failureReason")
    chain = split_pem(req["certificateChain"])
    assert [sha256_pem(p) for p in chain[1:]] == [pki["inter"]["fingerprint"],
                                                 pki["root"]["fingerprint"]]
    leaf = chain[0]
    verify(pki["root"]["certificate"], leaf, [pki["inter"]["certificate"]], purpose="sslserver")
    c = load(leaf)
    assert c.version == x509.Version.v3
    assert c.serial_number > 0 and c.serial_number.bit_length() >= 64, c.serial_number
    assert subject_set(c) == {("CN", "www.test.example"), ("OU", "Web"), ("O", "Acme"),
                              ("L", "Portland"), ("ST", "Oregon"), ("C", "US")}
    assert c.issuer == load(pki["inter"]["certificate"]).subject
    bc = c.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical and bc.value.ca is False
    ski = c.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    aki = c.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert ski.digest and aki.key_identifier == load(pki["inter"]["certificate"]).extensions\
        .get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    san = c.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == dns
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("192.0.2.10"),
                                                       ipaddress.ip_address("2001:db8::10")]
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == \
        ["spiffe://test.example/web"]
    assert san.get_values_for_type(x509.RFC822Name) == ["ops@test.example"]
    ku = c.extensions.get_extension_for_class(x509.KeyUsage)
    assert ku.critical and ku.value.digital_signature and not ku.value.key_cert_sign
    # keyEncipherment is asked by the template, but an EC key cannot encipher (RFC 8813)
    assert not ku.value.key_encipherment
    eku = c.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(eku) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    ocsp, issuers = aia_urls(leaf)
    inter = pki["inter"]
    assert ocsp == [inter["ocspURL"]] and issuers == [inter["caIssuersURL"]]
    assert crl_urls(leaf) == [inter["crlURL"]]
    for u in ocsp + issuers + crl_urls(leaf):
        assert u.startswith("%s/pki/%s/" % (server.url, inter["ID"])), u
    nb, na = not_before_after(leaf)
    assert nb <= t0 + datetime.timedelta(seconds=5)
    # The template's defaultValidity (720h), counted from now, not from a backdated start.
    assert abs((na - t0).total_seconds() / HOUR - 720) < 0.2, (nb, na)
    assert na <= not_before_after(inter["certificate"])[1]
    # Serials are random: another request, another serial.
    other = load(leaf_of(issue(admin, space, pki["tpl"]["ID"], csr=csr)))
    assert other.serial_number != c.serial_number


def test_issued_certificate_is_in_the_inventory(admin, space, pki):
    ns = fresh(admin, space)
    ca = mk_ca(admin, ns)
    # longer than the 30 days of the default expiry threshold: ACTIVE, not EXPIRING
    tpl = mk_template(admin, ns, ca["ID"], defaultValidity="1440h")
    n = count(admin, "certificates", ns)
    req = issue(admin, ns, tpl["ID"], csr=make_csr(dns=["inv.test.example"])[0])
    leaf = leaf_of(req)
    # the validity that applied, not "" (a conformance review)
    assert req["validity"] == "1440h", req
    assert admin.ok(admin.get("/certificaterequests/" + req["ID"], ns=ns))["validity"] == "1440h"
    assert count(admin, "certificates", ns) == n + 1
    obj = admin.ok(admin.get("/certificates/" + req["certificateID"], ns=ns))
    assert obj["source"] == "ISSUED" and obj["certificateAuthorityID"] == ca["ID"], obj
    assert obj["fingerprint"] == sha256_pem(leaf) and obj["status"] == "ACTIVE"
    assert int(obj["serialNumber"], 16) == load(leaf).serial_number
    assert obj["issuerCertificateID"] == ca["certificateID"]
    assert obj["dnsNames"] == ["inv.test.example"]
    got = admin.list("certificates", ns, params={
        "q": 'certificateAuthorityID == "%s" and source == "ISSUED"' % ca["ID"]})
    assert req["certificateID"] in [x["ID"] for x in got]
    r = admin.get("/certificates/%s/contents" % req["certificateID"], ns=ns,
                  params={"chain": "true"})
    assert r.status == 200 and split_pem(r.content.decode())[0] == leaf
    # The request record stays readable, without any key.
    rec = admin.ok(admin.get("/certificaterequests/" + req["ID"], ns=ns))
    assert rec["status"] == "ISSUED" and rec["certificateID"] == req["certificateID"]
    assert rec["issuingTemplateID"] == tpl["ID"]


def test_the_templates_usages_are_the_certificates(admin, space):
    """A client-certificate template: clientAuth only, digitalSignature only, even for an
    RSA key; openssl accepts the leaf for TLS clients and refuses it for TLS servers."""
    ns = fresh(admin, space)
    ca = mk_ca(admin, ns)
    tpl = mk_template(admin, ns, ca["ID"], keyUsages=["digitalSignature"],
                      extendedKeyUsages=["clientAuth"], sanDNSNameRegexes=[],
                      sanEmailRegexes=[r"[a-z]+@test\.example"])
    req = issue(admin, ns, tpl["ID"], csr=make_csr("RSA_2048", cn="alice",
                                                  emails=["alice@test.example"])[0])
    leaf = leaf_of(req)
    c = load(leaf)
    eku = c.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    ku = c.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.digital_signature and not ku.key_encipherment and not ku.key_agreement
    verify(ca["certificate"], leaf, purpose="sslclient")
    from pkitest import openssl, tmpdir, write
    d = tmpdir()
    r = openssl("verify", "-purpose", "sslserver", "-CAfile",
                write(d, "ca.pem", ca["certificate"]), write(d, "leaf.pem", leaf), check=False)
    assert r.returncode != 0, r


ALL_KEY_USAGES = ["digitalSignature", "nonRepudiation", "keyEncipherment", "dataEncipherment",
                  "keyAgreement", "encipherOnly", "decipherOnly"]


def key_usages_of(leaf):
    """The key usages of a leaf, as RFC 5280 names (None: no keyUsage extension)."""
    e = load(leaf).extensions
    try:
        ku = e.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return None
    names = {"digitalSignature": ku.digital_signature,
             "nonRepudiation": ku.content_commitment,
             "keyEncipherment": ku.key_encipherment,
             "dataEncipherment": ku.data_encipherment, "keyAgreement": ku.key_agreement,
             "keyCertSign": ku.key_cert_sign, "cRLSign": ku.crl_sign}
    if ku.key_agreement:
        names.update(encipherOnly=ku.encipher_only, decipherOnly=ku.decipher_only)
    return {k for k, v in names.items() if v}


@pytest.mark.parametrize("key_type,usages", [
    ("RSA_2048", {"digitalSignature", "nonRepudiation", "keyEncipherment",
                  "dataEncipherment"}),
    ("EC_P256", {"digitalSignature", "nonRepudiation", "keyAgreement", "encipherOnly",
                 "decipherOnly"}),
    ("ED25519", {"digitalSignature", "nonRepudiation"})])
def test_a_leaf_carries_the_key_usages_its_algorithm_allows(admin, space, key_type, usages):
    """Of a template asking every key usage, each leaf gets those its key's algorithm may
    carry: RSA signs and enciphers (RFC 3279 2.3.1), EC signs and agrees on keys (RFC 5480
    3, RFC 8813), Ed25519 only signs (RFC 8410 5). A review had keyAgreement and
    decipherOnly in an Ed25519 leaf, keyAgreement in an RSA one."""
    ns = fresh(admin, space)
    tpl = mk_template(admin, ns, mk_ca(admin, ns)["ID"], keyUsages=ALL_KEY_USAGES)
    for kw in ({"csr": make_csr(key_type, dns=["ku.test.example"])[0]},
               {"attrs": {"commonName": "ku.test.example", "keyType": key_type}}):
        assert key_usages_of(leaf_of(issue(admin, ns, tpl["ID"], **kw))) == usages, kw


def test_a_template_whose_key_usages_leave_none_for_the_key_refuses_and_keeps(admin, space):
    """keyEncipherment alone cannot go into an EC or Ed25519 leaf (RFC 8813), and a leaf
    without keyUsage may be used for anything (a review had one issued): a policy refusal
    on the request's keyType, kept FAILED. An RSA key takes it."""
    ns = fresh(admin, space)
    ca = mk_ca(admin, ns)
    tpl = mk_template(admin, ns, ca["ID"], keyUsages=["keyEncipherment"])
    for kt in ("EC_P256", "ED25519"):
        r = request(admin, ns, tpl["ID"], csr=make_csr(kt, dns=["ke.test.example"])[0])
        e, _ = refused_and_kept(admin, ns, r, "csr.keyType")
        assert "keyUsages" in e["description"] and kt in e["description"], e
    r = request(admin, ns, tpl["ID"], attrs={"commonName": "ke.test.example",
                                             "keyType": "ED25519"})
    refused_and_kept(admin, ns, r, "csrAttributes.keyType")
    req = issue(admin, ns, tpl["ID"], csr=make_csr("RSA_2048", dns=["ke.test.example"])[0])
    assert key_usages_of(leaf_of(req)) == {"keyEncipherment"}
    agree = mk_template(admin, ns, ca["ID"], keyUsages=["keyAgreement", "decipherOnly"])
    r = request(admin, ns, agree["ID"], csr=make_csr("ED25519", dns=["ka.test.example"])[0])
    refused_and_kept(admin, ns, r, "csr.keyType")
    req = issue(admin, ns, agree["ID"], csr=make_csr("EC_P384", dns=["ka.test.example"])[0])
    assert key_usages_of(leaf_of(req)) == {"keyAgreement", "decipherOnly"}


def test_template_usage_lists_must_say_something(admin, space, pki):
    """An empty keyUsages or extendedKeyUsages would issue leaves without the extension,
    usable for anything; encipherOnly and decipherOnly mean nothing without keyAgreement
    (RFC 5280 4.2.1.3): 422 on the list when the template is written."""
    ca = pki["inter"]["ID"]
    t = admin.ok(admin.post("/issuingtemplates", template_body(ca), ns=space))
    for attribute, bad in (("keyUsages", []), ("extendedKeyUsages", []),
                           ("keyUsages", ["encipherOnly"]),
                           ("keyUsages", ["digitalSignature", "decipherOnly"]),
                           ("keyUsages", ["encipherOnly", "decipherOnly"])):
        r = admin.post("/issuingtemplates", template_body(ca, **{attribute: bad}), ns=space)
        assert attr_of(r) == attribute, (attribute, bad, r)
        r = admin.put("/issuingtemplates/" + t["ID"], dict(t, **{attribute: bad}), ns=space)
        assert attr_of(r) == attribute, (attribute, bad, r)
    ok = admin.ok(admin.post("/issuingtemplates", template_body(
        ca, keyUsages=["keyAgreement", "encipherOnly"]), ns=space))
    assert ok["keyUsages"] == ["keyAgreement", "encipherOnly"]


# ---- validity ----------------------------------------------------------------------------


def test_validity(admin, space):
    ns = fresh(admin, space)
    ca = mk_ca(admin, ns, validity="1000h")
    tpl = mk_template(admin, ns, ca["ID"], maxValidity="500h", defaultValidity="100h")
    csr = make_csr(dns=["val.test.example"])[0]
    assert abs(hours(leaf_of(issue(admin, ns, tpl["ID"], csr=csr))) - 100) < 1
    assert abs(hours(leaf_of(issue(admin, ns, tpl["ID"], csr=csr, validity="36h"))) - 36) < 1
    assert abs(hours(leaf_of(issue(admin, ns, tpl["ID"], csr=csr, validity="500h"))) - 500) < 1
    assert abs(hours(leaf_of(issue(admin, ns, tpl["ID"], csr=csr, validity="1h30m"))) - 1.5) < 1
    r = request(admin, ns, tpl["ID"], csr=csr, validity="501h")
    refused_and_kept(admin, ns, r, "validity")
    # Malformed is bad input: 422 on validity, and nothing kept (a new user's review: "1 year"
    # was kept as a FAILED request, unlike every other malformed input).
    before = len(admin.list("certificaterequests", ns))
    for bad in ("-1h", "abc", "-720h", "1d", "1 year", "0s", "90000000h"):
        r = request(admin, ns, tpl["ID"], csr=csr, validity=bad)
        assert attr_of(r) == "validity" and "2562047h" in r.data[0]["description"], bad
        assert "certificateRequestID" not in (r.data[0].get("data") or {}), (bad, r)
    assert len(admin.list("certificaterequests", ns)) == before
    # A template allowing more than the CA has left: never past the CA's own end.
    long_tpl = mk_template(admin, ns, ca["ID"], maxValidity="8760h", defaultValidity="8760h")
    leaf = leaf_of(issue(admin, ns, long_tpl["ID"], csr=csr))
    assert not_before_after(leaf)[1] <= not_before_after(ca["certificate"])[1]
    r = request(admin, ns, long_tpl["ID"], csr=csr, validity="2000h")
    refused_and_kept(admin, ns, r, "validity")


def test_lifetime_never_exceeds_the_validity_asked(admin, space):
    """Leaves start one minute back, but their lifetime (notAfter - notBefore, read by
    python3-cryptography) is never more than the validity asked, nor than maxValidity:
    explicit, default, and generated-key requests alike."""
    ns = fresh(admin, space)
    ca = mk_ca(admin, ns, validity="1000h")
    tpl = mk_template(admin, ns, ca["ID"], maxValidity="100h", defaultValidity="100h")
    csr = make_csr(dns=["life.test.example"])[0]
    attrs = {"commonName": "x", "dnsNames": ["life.test.example"], "keyType": "EC_P256"}
    for kw in ({"csr": csr, "validity": "100h"}, {"csr": csr},
               {"attrs": attrs, "validity": "100h"}, {"csr": csr, "validity": "36h"}):
        leaf = load(leaf_of(issue(admin, ns, tpl["ID"], **kw)))
        want = datetime.timedelta(hours=36 if kw.get("validity") == "36h" else 100)
        life = leaf.not_valid_after - leaf.not_valid_before
        assert want - datetime.timedelta(minutes=2) <= life <= want, (kw, life)
        # still backdated: it starts before now
        assert leaf.not_valid_before.replace(tzinfo=datetime.timezone.utc) < utcnow(), kw


def test_a_validity_shorter_than_the_backdate_is_issued_valid_now(admin, space):
    """A 20 s or 60 s certificate is backdated by at most half its validity: issued, valid
    right now, its lifetime the validity (it was refused as 'CA expired', born expired)."""
    ns = fresh(admin, space)
    tpl = mk_template(admin, ns, mk_ca(admin, ns)["ID"], maxValidity="1h", defaultValidity="1h")
    csr = make_csr(dns=["short.test.example"])[0]
    for secs in (2, 20, 60, 119):
        asked = utcnow()
        leaf = load(leaf_of(issue(admin, ns, tpl["ID"], csr=csr, validity="%ds" % secs)))
        answered = utcnow()
        start = leaf.not_valid_before.replace(tzinfo=datetime.timezone.utc)
        end = leaf.not_valid_after.replace(tzinfo=datetime.timezone.utc)
        assert end - start <= datetime.timedelta(seconds=secs), secs
        # valid when it was signed, some instant between asking and the answer (a 2 s
        # certificate may well have expired by the time a slow machine reads it)
        assert start <= answered and asked < end, (secs, asked, answered, start, end)


# ---- the template's policy ---------------------------------------------------------------


@pytest.fixture(scope="module")
def strict(admin, space):
    ns = fresh(admin, space)
    ca = mk_ca(admin, ns)
    tpl = mk_template(admin, ns, ca["ID"], subjectCNRegexes=[r"www\.test\.example"],
                      sanDNSNameRegexes=[r"www\.test\.example", r"[a-z]+\.api\.test\.example"],
                      keyTypes=["EC_P256", "ED25519"])
    # no subjectO..., IP, URI or email lists: those fields are forbidden
    return ns, tpl


def test_strict_template_issues_what_it_allows(admin, strict):
    ns, tpl = strict
    issue(admin, ns, tpl["ID"], csr=make_csr(cn="www.test.example",
                                            dns=["www.test.example", "v.api.test.example"])[0])
    req = issue(admin, ns, tpl["ID"], attrs={"commonName": "www.test.example",
                                            "dnsNames": ["abc.api.test.example"],
                                            "keyType": "ED25519"})
    assert req["privateKey"].startswith("-----BEGIN PRIVATE KEY-----")


@pytest.mark.parametrize("kw,attribute", [
    ({"dns": ["www.test.example.evil.org"]}, "csr.dnsNames"),   # whole value, not a prefix
    ({"dns": ["xwww.test.example"]}, "csr.dnsNames"),           # nor a suffix
    ({"dns": ["wwwxtest.example"]}, "csr.dnsNames"),            # dots are literal
    ({"dns": ["www.test.example", "evil.org"]}, "csr.dnsNames"),
    ({"dns": ["www.test.example"], "ips": ["192.0.2.1"]}, "csr.ipAddresses"),
    ({"dns": ["www.test.example"], "uris": ["https://x.test/"]}, "csr.uris"),
    ({"dns": ["www.test.example"], "emails": ["a@test.example"]}, "csr.emails"),
    ({"subj": "/CN=www.test.example/O=Acme", "dns": ["www.test.example"]}, "csr.organization"),
    ({"subj": "/CN=www.test.example/C=US", "dns": ["www.test.example"]}, "csr.country"),
    ({"cn": "evil.org", "dns": ["www.test.example"]}, "csr.commonName"),
    ({"cn": "www.test.example x", "dns": ["www.test.example"]}, "csr.commonName"),
])
def test_strict_template_refuses_and_keeps_the_request(admin, strict, kw, attribute):
    ns, tpl = strict
    kw.setdefault("cn", "www.test.example")
    n = count(admin, "certificates", ns)
    nreq = count(admin, "certificaterequests", ns)
    r = request(admin, ns, tpl["ID"], csr=make_csr("EC_P256", **kw)[0])
    refused_and_kept(admin, ns, r, attribute)
    assert count(admin, "certificates", ns) == n
    assert count(admin, "certificaterequests", ns) == nreq + 1
    failed = admin.list("certificaterequests", ns, params={"q": 'status == "FAILED"'})
    assert r.data[0]["data"]["certificateRequestID"] in [x["ID"] for x in failed]


@pytest.mark.parametrize("attrs,attribute", [
    ({"commonName": "evil.org"}, "csrAttributes.commonName"),
    ({"dnsNames": ["evil.org"]}, "csrAttributes.dnsNames"),
    ({"ipAddresses": ["192.0.2.1"]}, "csrAttributes.ipAddresses"),
    ({"uris": ["https://x.test/"]}, "csrAttributes.uris"),
    ({"emails": ["a@test.example"]}, "csrAttributes.emails"),
    ({"organization": "Acme"}, "csrAttributes.organization"),
    ({"organizationalUnit": "Web"}, "csrAttributes.organizationalUnit"),
    ({"locality": "Paris"}, "csrAttributes.locality"),
    ({"state": "Oregon"}, "csrAttributes.state"),
    ({"country": "US"}, "csrAttributes.country"),
    ({"keyType": "RSA_2048"}, "csrAttributes.keyType"),
])
def test_strict_template_refuses_generated_keys_too(admin, strict, attrs, attribute):
    ns, tpl = strict
    body = {"commonName": "www.test.example", "dnsNames": ["www.test.example"],
            "keyType": "EC_P256"}
    body.update(attrs)
    r = request(admin, ns, tpl["ID"], attrs=body)
    refused_and_kept(admin, ns, r, attribute)
    assert b"PRIVATE KEY" not in r.content


def test_csr_upload_and_key_generation_switches(admin, space):
    ns = fresh(admin, space)
    ca = mk_ca(admin, ns)
    no_csr = mk_template(admin, ns, ca["ID"], csrUploadAllowed=False)
    no_gen = mk_template(admin, ns, ca["ID"], serverKeyGenerationAllowed=False)
    csr = make_csr(dns=["sw.test.example"])[0]
    attrs = {"commonName": "sw.test.example", "dnsNames": ["sw.test.example"],
             "keyType": "EC_P256"}
    refused_and_kept(admin, ns, request(admin, ns, no_csr["ID"], csr=csr), "csr")
    issue(admin, ns, no_csr["ID"], attrs=attrs)
    refused_and_kept(admin, ns, request(admin, ns, no_gen["ID"], attrs=attrs), "csrAttributes")
    issue(admin, ns, no_gen["ID"], csr=csr)
    # one of the two, not both, not neither
    assert_error(request(admin, ns, no_gen["ID"], csr=csr, attrs=attrs), 422)
    assert_error(request(admin, ns, no_gen["ID"]), 422)


def test_template_of_another_namespace(admin, space, pki):
    """A template of a sibling namespace (or none at all) is not one this request sees."""
    ns = admin.mkns("/", "sib-" + rand(8))["name"]
    csr = make_csr(dns=["other.test.example"])[0]
    assert attr_of(request(admin, ns, pki["tpl"]["ID"], csr=csr)) == "issuingTemplateID"
    assert attr_of(request(admin, ns, "0" * 24, csr=csr)) == "issuingTemplateID"
    assert attr_of(admin.post("/certificaterequests", {"csr": csr}, ns=ns)) == \
        "issuingTemplateID"


def test_an_absent_subject_list_forbids_that_attribute(admin, space):
    """A SAN-only template (no subjectCNRegexes): a CSR with an empty subject issues, one
    with a common name is refused."""
    ns = fresh(admin, space)
    tpl = admin.ok(admin.post("/issuingtemplates", {
        "name": "san-only", "certificateAuthorityID": mk_ca(admin, ns)["ID"],
        "sanDNSNameRegexes": [r".*\.test\.example"], "keyTypes": ["EC_P256"]}, ns=ns))
    req = issue(admin, ns, tpl["ID"], csr=make_csr(cn=None, dns=["s.test.example"])[0])
    assert subject_set(load(leaf_of(req))) == set()
    refused_and_kept(admin, ns, request(admin, ns, tpl["ID"], csr=make_csr(
        cn="s.test.example", dns=["s.test.example"])[0]), "csr.commonName")
    # and a template naming no SAN list issues no SAN
    bare = admin.ok(admin.post("/issuingtemplates", {
        "name": "cn-only", "certificateAuthorityID": tpl["certificateAuthorityID"],
        "subjectCNRegexes": ["client-[0-9]+"], "keyTypes": ["EC_P256"]}, ns=ns))
    issue(admin, ns, bare["ID"], csr=make_csr(cn="client-42")[0])
    refused_and_kept(admin, ns, request(admin, ns, bare["ID"], csr=make_csr(
        cn="client-42", dns=["s.test.example"])[0]), "csr.dnsNames")


def test_concurrent_requests(admin, space):
    """Twenty requests at once: twenty certificates, twenty serials, all valid; and five
    at once with one Idempotency-Key: one certificate."""
    from concurrent.futures import ThreadPoolExecutor
    ns = fresh(admin, space)
    ca = mk_ca(admin, ns)
    tpl = mk_template(admin, ns, ca["ID"])
    csrs = [make_csr(dns=["c%d.test.example" % i])[0] for i in range(20)]

    def one(csr, idem=None):
        c = admin.server.client(admin.token)
        return request(c, ns, tpl["ID"], csr=csr, idem=idem)
    with ThreadPoolExecutor(10) as pool:
        got = list(pool.map(one, csrs))
    assert all(r.status == 200 and r.data["status"] == "ISSUED" for r in got), got
    leaves = [leaf_of(r.data) for r in got]
    assert len({load(p).serial_number for p in leaves}) == 20
    assert len({r.data["certificateID"] for r in got}) == 20
    for p in leaves[:3]:
        verify(ca["certificate"], p)
    n = count(admin, "certificates", ns)
    key = "race-" + rand(10)
    with ThreadPoolExecutor(5) as pool:
        same = list(pool.map(lambda _: one(csrs[0], key), range(5)))
    ok = [r for r in same if r.status == 200]
    assert ok and len({r.data["certificateID"] for r in ok}) == 1, same
    assert all(r.status in (200, 409, 422, 429) for r in same), same
    assert count(admin, "certificates", ns) == n + 1


# ---- server-generated keys: answered once ------------------------------------------------


@pytest.mark.parametrize("key_type", ["EC_P384", "RSA_2048"])
def test_msgpack_requests_name_key_types_and_reasons(admin, space, pki, key_type):
    """MessagePack strings are not NUL-terminated: a key type (and a revocation reason)
    read from a MessagePack body must be exactly what was sent, the slow path (RSA) too."""
    body = {"issuingTemplateID": pki["tpl"]["ID"],
            "csrAttributes": {"commonName": "mp.test.example", "dnsNames": ["mp.test.example"],
                              "keyType": key_type}}
    r = admin.post("/certificaterequests", body, ns=space, fmt="msgpack")
    assert r.status == 200, r
    size = {"EC_P384": 384, "RSA_2048": 2048}[key_type]
    assert load(leaf_of(r.data)).public_key().key_size == size
    r = admin.post("/certificates/%s/revocations" % r.data["certificateID"],
                   {"reason": "superseded"}, ns=space, fmt="msgpack")
    assert r.status == 200, r
    assert r.data["reason"] == "superseded"
    r = admin.post("/certificaterequests", dict(body, csrAttributes=dict(
        body["csrAttributes"], keyType="EC_P25")), ns=space, fmt="msgpack")
    assert_error(r, 422)


@pytest.mark.parametrize("key_type", ["EC_P256", "EC_P384", "ED25519", "RSA_2048"])
def test_generated_key(admin, space, pki, key_type):
    attrs = {"commonName": "gen.test.example", "organization": "Acme", "country": "FR",
             "dnsNames": ["gen.test.example"], "ipAddresses": ["192.0.2.44"],
             "keyType": key_type}
    r = request(admin, space, pki["tpl"]["ID"], attrs=attrs)
    assert r.status == 200, r
    req = r.data
    key = req["privateKey"]
    assert key.startswith("-----BEGIN PRIVATE KEY-----\n"), "PKCS#8 PEM: %r" % key[:40]
    leaf = leaf_of(req)
    assert pubkey_of_key(key) == pubkey_of_cert(leaf)
    c = load(leaf)
    assert subject_set(c) == {("CN", "gen.test.example"), ("O", "Acme"), ("C", "FR")}
    san = c.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["gen.test.example"]
    verify(pki["root"]["certificate"], leaf, [pki["inter"]["certificate"]])
    # In this answer only.
    for a in (admin.get("/certificaterequests/" + req["ID"], ns=space),
              admin.get("/certificaterequests", ns=space),
              admin.get("/certificaterequests", ns=space, accept="text/csv"),
              admin.get("/certificates/" + req["certificateID"], ns=space),
              admin.get("/auditlogs", ns=space, params={"pageSize": "0"})):
        assert a.status == 200, a
        assert b"PRIVATE KEY" not in a.content and b"privateKey" not in a.content, a
        assert key.splitlines()[1].encode() not in a.content


def test_idempotent_replay_issues_nothing_and_shows_no_key(admin, space, pki):
    ns = fresh(admin, space)
    tpl = mk_template(admin, ns, mk_ca(admin, ns)["ID"])
    attrs = {"commonName": "idem.test.example", "dnsNames": ["idem.test.example"],
             "keyType": "EC_P256"}
    key = "idem-" + rand(12)
    first = request(admin, ns, tpl["ID"], attrs=attrs, idem=key)
    assert first.status == 200 and first.data["privateKey"], first
    n, nreq = count(admin, "certificates", ns), count(admin, "certificaterequests", ns)
    again = request(admin, ns, tpl["ID"], attrs=attrs, idem=key)
    assert again.status == 200, again
    assert again.data["certificateID"] == first.data["certificateID"]
    assert again.data["ID"] == first.data["ID"]
    assert b"PRIVATE KEY" not in again.content and "privateKey" not in again.data
    assert count(admin, "certificates", ns) == n
    assert count(admin, "certificaterequests", ns) == nreq
    # the same key with another body is refused
    assert_error(request(admin, ns, tpl["ID"], attrs=dict(attrs, commonName="x"), idem=key),
                 422)
    csr = make_csr(dns=["idem2.test.example"])[0]
    k2 = "idem-" + rand(12)
    a = issue(admin, ns, tpl["ID"], csr=csr, idem=k2)
    b = issue(admin, ns, tpl["ID"], csr=csr, idem=k2)
    assert a["certificateID"] == b["certificateID"] and a["certificateChain"] == \
        b["certificateChain"]


def test_a_replayed_refusal_names_its_own_trace(admin, space):
    """A refusal kept FAILED is replayed for its Idempotency-Key as it was, but its error
    names the replay's X-Trace-Id, as every error does (API.md 2; a CI review: it named the
    first request's)."""
    ns = fresh(admin, space)
    tpl = mk_template(admin, ns, mk_ca(admin, ns)["ID"], sanDNSNameRegexes=[r".*\.ok\.test"])
    csr = make_csr(cn="a.ok.test", dns=["bad.example.org"])[0]
    key = "idem-" + rand(12)
    first = request(admin, ns, tpl["ID"], csr=csr, idem=key)
    again = request(admin, ns, tpl["ID"], csr=csr, idem=key)
    for r in (first, again):
        e = assert_error(r, 422)
        assert e["trace"] == r.headers["X-Trace-Id"], (e, r.headers)
    assert first.headers["X-Trace-Id"] != again.headers["X-Trace-Id"]
    assert again.data[0]["data"] == first.data[0]["data"]  # the same kept request


def test_generated_keys_are_not_kept_at_rest(start_server):
    s = start_server(config={"login_failures_per_address_max": 0})
    c = s.admin()
    ca = mk_ca(c, "/")
    tpl = mk_template(c, "/", ca["ID"])
    req = issue(c, "/", tpl["ID"], attrs={"commonName": "rest.test.example",
                                          "dnsNames": ["rest.test.example"],
                                          "keyType": "EC_P256"}, idem="rest-" + rand(8))
    from cryptography.hazmat.primitives import serialization
    k = serialization.load_pem_private_key(req["privateKey"].encode(), None)
    scalar = k.private_numbers().private_value.to_bytes(32, "big")
    at_rest = s.store_bytes()
    assert scalar not in at_rest
    assert req["privateKey"].splitlines()[1].encode() not in at_rest


# ---- input that is not a request: 422 on csr, nothing kept -------------------------------


def bad_csrs():
    good, _ = make_csr(dns=["bad.test.example"])
    return {
        "garbage": "hello",
        "empty": "",
        "a certificate": make_cert("c.test.example").pem,
        "a private key": make_cert("k.test.example").key_pem(),
        "signature flipped": tamper(good, "signature"),
        "subject changed after signing": tamper(good, "subject"),
        "two CSRs": good + make_csr(dns=["two.test.example"])[0],
        "trailing garbage": good + "and more\n",
        "truncated": good[:len(good) // 2],
        "duplicate extensions": raw_csr([(SAN_OID, False, san_value("a.test.example")),
                                         (SAN_OID, False, san_value("b.test.example"))]),
        "101 DNS names": make_csr(dns=["d%d.test.example" % i for i in range(101)])[0],
        "101 IP addresses": make_csr(ips=["10.0.%d.%d" % (i // 200, i % 200 + 1)
                                          for i in range(101)])[0],
        "101 URIs": make_csr(uris=["https://u%d.test.example/" % i for i in range(101)])[0],
        "101 emails": make_csr(emails=["m%d@test.example" % i for i in range(101)])[0],
        "two common names": make_csr(subj="/CN=a.test.example/CN=b.test.example",
                                     dns=["a.test.example"])[0],
        "a registeredID name": make_csr(extra=[
            "-addext", "subjectAltName=DNS:r.test.example,RID:1.2.3.4"])[0],
        # proof of possession with a digest whose collisions can be made (a review)
        "signed with MD5": make_csr("RSA_2048", dns=["md5.test.example"], extra=["-md5"])[0],
        "signed with SHA-1": make_csr("RSA_2048", dns=["s1.test.example"],
                                      extra=["-sha1"])[0],
        "ECDSA with SHA-1": make_csr(dns=["e1.test.example"], extra=["-sha1"])[0],
        "RSA-PSS with SHA-1": make_csr("RSA_2048", dns=["p1.test.example"], extra=[
            "-sigopt", "rsa_padding_mode:pss", "-sha1"])[0],
        # RFC 2986: version 0 only
        "version 1": raw_csr([], cn="v1.test.example", version=1),
        "version 7": raw_csr([], cn="v7.test.example", version=7),
        "version -1": raw_csr([], cn="vm.test.example", version=-1),
    }


BAD_CSRS = ["garbage", "empty", "a certificate", "a private key", "signature flipped",
            "subject changed after signing", "two CSRs", "trailing garbage", "truncated",
            "duplicate extensions", "101 DNS names", "101 IP addresses", "101 URIs",
            "101 emails", "two common names", "a registeredID name", "signed with MD5",
            "signed with SHA-1", "ECDSA with SHA-1", "RSA-PSS with SHA-1", "version 1",
            "version 7", "version -1"]


@pytest.fixture(scope="module")
def bad(admin, space):
    ns = fresh(admin, space)
    ca = mk_ca(admin, ns)
    tpl = mk_template(admin, ns, ca["ID"], sanIPAddressRegexes=[".*"], sanURIRegexes=[".*"],
                      sanEmailRegexes=[".*"])
    return ns, tpl, bad_csrs()


@pytest.mark.parametrize("what", BAD_CSRS)
def test_bad_csr_is_422_on_csr_and_nothing_is_kept(admin, bad, what):
    ns, tpl, csrs = bad
    nreq, n = count(admin, "certificaterequests", ns), count(admin, "certificates", ns)
    r = request(admin, ns, tpl["ID"], csr=csrs[what])
    e = assert_error(r, 422)
    assert e["data"]["attribute"] == "csr", e
    assert "certificateRequestID" not in e["data"], e
    assert b"PRIVATE KEY" not in r.content
    assert count(admin, "certificaterequests", ns) == nreq
    assert count(admin, "certificates", ns) == n


def test_csrs_signed_with_sha2_issue(admin, bad):
    """What the weak-digest refusal leaves: SHA-256 to SHA-512, RSA-PSS with SHA-256,
    Ed25519 (no digest), and a version 0 request built by hand."""
    ns, tpl, _ = bad
    for kt, extra in (("RSA_2048", ["-sha384"]), ("EC_P256", ["-sha512"]),
                      ("RSA_2048", ["-sigopt", "rsa_padding_mode:pss", "-sha256"]),
                      ("ED25519", [])):
        issue(admin, ns, tpl["ID"], csr=make_csr(kt, dns=["ok.test.example"], extra=extra)[0])
    issue(admin, ns, tpl["ID"], csr=raw_csr([], cn="v0.test.example"))


@pytest.mark.parametrize("kind", ["dns", "ips", "uris", "emails"])
def test_one_hundred_names_of_a_type_is_the_cap(admin, bad, kind):
    ns, tpl, _ = bad
    names = {"dns": ["d%d.test.example" % i for i in range(100)],
             "ips": ["10.1.%d.%d" % (i // 200, i % 200 + 1) for i in range(100)],
             "uris": ["https://u%d.test.example/" % i for i in range(100)],
             "emails": ["m%d@test.example" % i for i in range(100)]}[kind]
    req = issue(admin, ns, tpl["ID"], csr=make_csr(**{kind: names})[0])
    san = load(leaf_of(req)).extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert len(list(san.value)) == 100


@pytest.mark.parametrize("field", ["dnsNames", "ipAddresses", "uris", "emails"])
def test_generated_key_requests_have_the_same_cap(admin, bad, field):
    ns, tpl, _ = bad
    make = {"dnsNames": lambda i: "d%d.test.example" % i,
            "ipAddresses": lambda i: "10.2.%d.%d" % (i // 200, i % 200 + 1),
            "uris": lambda i: "https://u%d.test.example/" % i,
            "emails": lambda i: "m%d@test.example" % i}[field]
    base = {"commonName": "cap.test.example", "keyType": "EC_P256"}
    issue(admin, ns, tpl["ID"], attrs=dict(base, **{field: [make(i) for i in range(100)]}))
    r = request(admin, ns, tpl["ID"], attrs=dict(base, **{field: [make(i) for i in range(101)]}))
    assert attr_of(r) == "csrAttributes." + field, r


def test_csr_attributes_are_validated(admin, bad):
    ns, tpl, _ = bad
    base = {"commonName": "v.test.example", "keyType": "EC_P256"}
    wrong = []
    for field, value in (("ipAddresses", ["300.1.1.1"]), ("ipAddresses", ["host"]),
                         ("emails", ["not an email"]), ("uris", ["not a uri"]),
                         ("dnsNames", ["bad name.test.example"]), ("dnsNames", [""]),
                         ("country", "USA"), ("keyType", "RSA_1024"), ("keyType", ""),
                         ("dnsNames", "one.test.example"), ("commonName", ""),
                         ("organization", "x" * 65), ("emails", [7]), ("uris", "x"),
                         ("state", 5)):
        r = request(admin, ns, tpl["ID"], attrs=dict(base, **{field: value}))
        # named as what was sent: the field of csrAttributes, never csr (a black-box
        # review found the bare "csrAttributes" for a malformed or too long field)
        if r.status != 422 or (r.data[0].get("data") or {}).get("attribute") != \
                "csrAttributes." + field:
            wrong.append((field, value, r))
    r = request(admin, ns, tpl["ID"], attrs=dict(base, foo="bar"))
    assert attr_of(r) == "csrAttributes.foo", r
    r = request(admin, ns, tpl["ID"], attrs=dict(base, **{"a b": "c"}))
    assert attr_of(r) == "csrAttributes", r
    assert not wrong, "\n".join(map(repr, wrong))


@pytest.mark.parametrize("kw", [
    {"dns": ["bad name.test.example"]}, {"dns": ["-lead.test.example"]},
    {"dns": ["a..test.example"]}, {"dns": ["x" * 64 + ".test.example"]},
    {"emails": ["not an email"]}, {"uris": ["not a uri"]},
], ids=["space in a DNS name", "leading hyphen", "empty label", "64-octet label",
        "email without @", "URI without scheme"])
def test_names_must_be_well_formed_even_when_the_template_allows_anything(admin, bad, kw):
    """RFC 5280 4.2.1.6: a dNSName is in the preferred name syntax, an rfc822Name is a
    mailbox, a URI has a scheme. A template of ".*" does not make a malformed name
    issuable: 422 naming the CSR (or the name in it)."""
    ns, tpl, _ = bad
    n = count(admin, "certificates", ns)
    r = request(admin, ns, tpl["ID"], csr=make_csr(cn="ok.test.example", **kw)[0])
    e = assert_error(r, 422)
    assert str(e["data"].get("attribute", "")).startswith("csr"), e
    assert count(admin, "certificates", ns) == n


def test_wildcards_and_idn_a_labels_issue(admin, bad):
    ns, tpl, _ = bad
    names = ["*.test.example", "xn--bcher-kva.test.example", "a-b.test.example", "1.test.example"]
    csr = make_csr(cn="*.test.example", dns=names, emails=["first.last+tag@test.example"],
                   uris=["urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66"])[0]
    req = issue(admin, ns, tpl["ID"], csr=csr)
    san = load(leaf_of(req)).extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert san.value.get_values_for_type(x509.DNSName) == names


# ---- roles -------------------------------------------------------------------------------


def test_roles(server, admin, space):
    ns = fresh(admin, space)
    callers = {}
    for role in ("certificate.requester", "namespace.editor", "namespace.viewer"):
        name, pw, _ = admin.mkaccount(ns)
        admin.mkauthz(ns, [["@auth:realm=vince", "@auth:account=" + name]],
                      ["@auth:role=" + role])
        callers[role] = server.client(server.token(name, pw))
    req_c, editor, viewer = (callers["certificate.requester"], callers["namespace.editor"],
                             callers["namespace.viewer"])
    ca = mk_ca(admin, ns)
    # only the administrator manages CAs
    for c in (req_c, editor, viewer):
        assert_error(c.post("/certificateauthorities", {"name": "x" + rand(4),
                                                        "keyType": "EC_P256",
                                                        "subject": "CN=x"}, ns=ns), 403)
        assert_error(c.put("/certificateauthorities/" + ca["ID"], dict(ca, disabled=True),
                           ns=ns), 403)
        assert_error(c.delete("/certificateauthorities/" + ca["ID"], ns=ns), 403)
    # editors manage templates; requesters and viewers read them
    tpl = editor.ok(editor.post("/issuingtemplates", {
        "name": "ed-" + rand(4), "certificateAuthorityID": ca["ID"],
        "subjectCNRegexes": [".*"], "sanDNSNameRegexes": [".*"], "keyTypes": ["EC_P256"],
        "serverKeyGenerationAllowed": True}, ns=ns))
    assert editor.put("/issuingtemplates/" + tpl["ID"], dict(
        tpl, subjectCNRegexes=[".*", "x"]), ns=ns).status == 200
    for c in (req_c, viewer):
        assert_error(c.post("/issuingtemplates", {"name": "x" + rand(4),
                                                  "certificateAuthorityID": ca["ID"]}, ns=ns),
                     403)
        assert c.get("/issuingtemplates/" + tpl["ID"], ns=ns).status == 200
        assert tpl["ID"] in [x["ID"] for x in c.list("issuingtemplates", ns)]
    assert_error(req_c.put("/issuingtemplates/" + tpl["ID"], tpl, ns=ns), 403)
    assert_error(req_c.delete("/issuingtemplates/" + tpl["ID"], ns=ns), 403)
    # requesters request and read what they got
    req = issue(req_c, ns, tpl["ID"], csr=make_csr(dns=["role.test.example"])[0])
    assert req_c.get("/certificaterequests/" + req["ID"], ns=ns).status == 200
    assert req_c.get("/certificates/" + req["certificateID"], ns=ns).status == 200
    assert viewer.get("/certificaterequests/" + req["ID"], ns=ns).status == 200
    assert_error(request(viewer, ns, tpl["ID"], csr=make_csr(dns=["v.test.example"])[0]), 403)
    assert_error(req_c.post("/certificates/%s/revocations" % req["certificateID"],
                            {"reason": "keyCompromise"}, ns=ns), 403)
    assert_error(viewer.post("/certificates/%s/revocations" % req["certificateID"],
                             {"reason": "keyCompromise"}, ns=ns), 403)
    assert admin.get("/certificates/" + req["certificateID"], ns=ns).data["status"] != "REVOKED"


# ---- the certificate.issued event ----------------------------------------------------------


def test_certificate_issued_webhook(start_server):
    s = start_server(config=delivery_config())
    c = s.admin()
    rcv = Receiver().start()
    try:
        ns = c.mkns("/", "wh" + rand(6))["name"]
        c.ok(c.post("/webhooks", webhook_body(rcv.url(), events=["certificate.issued"],
                                              caCertificate=rcv.ca_pem, secret=rcv.secret),
                    ns=ns))
        tpl = mk_template(c, ns, mk_ca(c, ns)["ID"])
        req = issue(c, ns, tpl["ID"], csr=make_csr(dns=["hook.test.example"])[0])
        got = rcv.wait_for(1)
        d = got[0]
        assert d.signature_ok and d.json["event"] == "certificate.issued", d
        assert d.json["namespace"] == ns
        cert = d.json["certificate"]
        assert cert["ID"] == req["certificateID"] and cert["source"] == "ISSUED"
        assert cert["fingerprint"] == sha256_pem(leaf_of(req))
        rec = wait_delivery(c, ns, lambda x: x["status"] == "DELIVERED")
        assert rec["event"] == "certificate.issued" and rec["certificateID"] == cert["ID"]
        # A refused request issues nothing and tells nobody.
        strict = mk_template(c, ns, tpl["certificateAuthorityID"],
                             sanDNSNameRegexes=[r"only\.test\.example"])
        assert request(c, ns, strict["ID"], csr=make_csr(dns=["no.test.example"])[0]
                       ).status == 422
        time.sleep(3)
        assert len(rcv.received()) == 1, rcv.received()
    finally:
        rcv.close()


# ---- a real TLS server ---------------------------------------------------------------------


def test_nginx_serves_an_issued_chain_to_curl(admin, space, pki):
    req = issue(admin, space, pki["tpl"]["ID"], attrs={
        "commonName": "www.test.example", "dnsNames": ["www.test.example"],
        "keyType": "EC_P256"})
    ok, bad = nginx_curl(req["certificateChain"], req["privateKey"],
                         pki["root"]["certificate"], "www.test.example")
    assert ok.returncode == 0 and ok.stdout == "issued by keyward\n", ok
    assert bad.returncode == 60, "the chain is not valid for another name: %r" % (bad,)


def test_subject_attributes_are_bounded_as_rfc5280_says(admin, space, pki):
    """ub-common-name and ub-organization-name are 64 characters, ub-locality-name 128 (RFC
    5280 Appendix A), for a leaf's subject as for a CA's: a review had a 300-character CN
    and O from csrAttributes and a 5,010-character CN from a CSR issued. The limit counts
    characters, not bytes; one past it is 422 on the field, nothing kept."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    t = mk_template(admin, space, pki["inter"]["ID"], subjectCNRegexes=[".*"],
                    subjectORegexes=[".*"], subjectLRegexes=[".*"],
                    serverKeyGenerationAllowed=True)
    n = count(admin, "certificaterequests", space)
    base = {"keyType": "EC_P256"}
    issue(admin, space, t["ID"], attrs=dict(base, commonName="é" * 64, organization="o" * 64,
                                            locality="l" * 128))
    for field, value in (("commonName", "c" * 65), ("organization", "ö" * 65),
                         ("locality", "l" * 129), ("commonName", "a" * 300)):
        r = request(admin, space, t["ID"], attrs=dict(base, **{field: value}))
        e = assert_error(r, 422)
        assert e["data"]["attribute"] == "csrAttributes." + field, e
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "w" * 5010, _validate=False)])
    csr = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())
    r = request(admin, space, t["ID"], csr=csr.public_bytes(serialization.Encoding.PEM).decode())
    e = assert_error(r, 422)
    assert e["data"]["attribute"] == "csr.commonName", e
    assert count(admin, "certificaterequests", space) == n + 1


def san_dns(pem):
    cert = x509.load_pem_x509_certificate(pem.encode())
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None
    return ext.get_values_for_type(x509.DNSName)


def test_a_host_named_in_the_common_name_alone_becomes_its_dns_san(admin, space):
    """TLS clients read no host name from a common name any more (browsers, Go): a request
    naming a host in its CN and no SAN at all gets that name as its DNS SAN too, as Vault and
    step-ca do (two reviews' pipelines got certificates no client accepted). Only where the
    template allows it as a SAN; a CN that is no host name, or a request with a SAN of its
    own, stays as asked."""
    ns = fresh(admin, space)
    ca = mk_ca(admin, ns)
    tpl = mk_template(admin, ns, ca["ID"], sanDNSNameRegexes=[r".*\.cn\.test"])
    csr = make_csr(cn="svc.cn.test")[0]
    assert san_dns(leaf_of(issue(admin, ns, tpl["ID"], csr=csr))) == ["svc.cn.test"]
    got = issue(admin, ns, tpl["ID"], attrs={"commonName": "*.cn.test", "keyType": "EC_P256"})
    assert san_dns(leaf_of(got)) == ["*.cn.test"]
    # the template does not allow it as a SAN: issued as asked, without one
    assert san_dns(leaf_of(issue(admin, ns, tpl["ID"],
                                 csr=make_csr(cn="other.example.org")[0]))) is None
    none = mk_template(admin, ns, ca["ID"], sanDNSNameRegexes=[])
    assert san_dns(leaf_of(issue(admin, ns, none["ID"], csr=csr))) is None
    # no host name, or a SAN of its own: as asked
    assert san_dns(leaf_of(issue(admin, ns, tpl["ID"], csr=make_csr(cn="My Service")[0]))) \
        is None
    own = make_csr(cn="svc.cn.test", dns=["api.cn.test"])[0]
    assert san_dns(leaf_of(issue(admin, ns, tpl["ID"], csr=own))) == ["api.cn.test"]
