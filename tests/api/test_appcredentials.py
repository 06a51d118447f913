"""App credentials and the Certificate realm (API.md section 3), with real certificates:
the console's own, and good, expired, not-yet-valid, revoked, foreign, self-signed and
server-only ones made here with the console's client CA key or keys of our own."""
import base64
import datetime
import http.client
import json
import ssl
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kwtest import assert_error, jwt_parts, rand

VIEWER = "@auth:role=namespace.viewer"
UTC = datetime.timezone.utc


# -- fixtures and helpers --------------------------------------------------------------

@pytest.fixture(scope="module")
def tenant(admin, ns):
    return admin.mkns(ns, "apps")["name"]


@pytest.fixture(scope="module")
def client_ca(server):
    tls = server.data / "tls"
    cert = x509.load_pem_x509_certificate((tls / "client-ca.pem").read_bytes())
    key = serialization.load_pem_private_key((tls / "client-ca.key").read_bytes(), None)
    return cert, key


def mkac(admin, ns, roles=(VIEWER,), **kw):
    body = {"name": "ac-" + rand(8), "roles": list(roles)}
    body.update(kw)
    return admin.ok(admin.post("/appcredentials", body, ns=ns))


def pem_key(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def make_csr(key, cn="ignored-by-the-console"):
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    return x509.CertificateSigningRequestBuilder().subject_name(name).sign(
        key, None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    ).public_bytes(serialization.Encoding.PEM).decode()


class Files:
    """A certificate and its key as files, for requests' cert= and ssl contexts."""

    def __init__(self, tmp_path, cert_pem, key_pem):
        tag = rand(8)
        self.cert = tmp_path / ("c-%s.pem" % tag)
        self.key = tmp_path / ("k-%s.pem" % tag)
        self.cert.write_text(cert_pem if isinstance(cert_pem, str) else cert_pem.decode())
        self.key.write_text(key_pem)
        self.key.chmod(0o600)

    @property
    def pair(self):
        return (str(self.cert), str(self.key))


def issue_with(server, files, body=None):
    """POST /issue realm Certificate on a fresh connection presenting `files` (or none)."""
    s = server.session()
    if files is not None:
        s.cert = files.pair
    try:
        r = s.post(server.url + "/issue", json=body or {"realm": "Certificate"}, timeout=60)
    finally:
        s.close()
    return r


def token_with(server, files):
    r = issue_with(server, files)
    assert r.status_code == 200, r.text
    return r.json()["token"]


def assert_refused(server, files):
    r = issue_with(server, files)
    assert r.status_code == 401, r.text
    body = r.json()
    assert body[0]["code"] == 401 and body[0]["description"] == "Invalid credentials", body


def forge(subject_of, signer_cert, signer_key, key, *, not_before=None, not_after=None,
          eku=(ExtendedKeyUsageOID.CLIENT_AUTH,), serial=None, units=()):
    """A client certificate copying the subject (plus organizational `units`) and serial
    of `subject_of`, signed by `signer_key` (issuer name from `signer_cert`, or
    self-issued when it is None)."""
    now = datetime.datetime.now(UTC)
    subject = x509.Name(list(subject_of.subject) + [
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, u) for u in units])
    issuer = signer_cert.subject if signer_cert is not None else subject
    b = (x509.CertificateBuilder()
         .subject_name(subject).issuer_name(issuer)
         .public_key(key.public_key())
         .serial_number(serial if serial is not None else subject_of.serial_number)
         .not_valid_before(not_before or now - datetime.timedelta(hours=1))
         .not_valid_after(not_after or now + datetime.timedelta(days=30))
         .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
         .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False,
                                      False), critical=True)
         .add_extension(x509.ExtendedKeyUsage(list(eku)), critical=False)
         .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                        critical=False))
    signer_pub = signer_cert.public_key() if signer_cert is not None else key.public_key()
    b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(signer_pub),
                        critical=False)
    return b.sign(signer_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope="module")
def live(server, admin, tenant, tmp_path_factory):
    """A credential with a generated key: its answer, certificate and files."""
    ac = mkac(admin, tenant)
    cred = ac["credentials"]
    files = Files(tmp_path_factory.mktemp("live"), cred["certificate"], cred["privateKey"])
    cert = x509.load_pem_x509_certificate(cred["certificate"].encode())
    return {"ac": ac, "files": files, "cert": cert}


# -- creation ----------------------------------------------------------------------------

def test_create_with_generated_key_shows_the_credentials_once(server, admin, tenant,
                                                              client_ca):
    ac = mkac(admin, tenant)
    assert ac["object"] == "appcredential"
    cred = ac["credentials"]
    assert set(cred) == {"certificate", "privateKey", "certificateAuthority", "APIURL",
                         "namespace"}
    assert cred["APIURL"] == server.url
    assert cred["namespace"] == tenant
    assert cred["certificateAuthority"] == (server.data / "tls" / "client-ca.pem").read_text()
    assert "csr" not in ac and "privateKey" not in ac
    assert ac["certificate"] == cred["certificate"]
    cert = x509.load_pem_x509_certificate(cred["certificate"].encode())
    key = serialization.load_pem_private_key(cred["privateKey"].encode(), None)
    assert cert.public_key().public_numbers() == key.public_key().public_numbers()
    assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1"
    got = admin.ok(admin.get("/appcredentials/" + ac["ID"], ns=tenant))
    for hidden in ("credentials", "privateKey", "csr"):
        assert hidden not in got
    assert got["certificate"] == cred["certificate"]
    listed = admin.list("appcredentials", tenant)
    assert listed and all("credentials" not in o and "csr" not in o for o in listed)
    assert ac["ID"] in [o["ID"] for o in listed]


def test_certificate_profile(server, admin, tenant, client_ca):
    ca_cert, _ = client_ca
    ac = mkac(admin, tenant)
    cert = x509.load_pem_x509_certificate(ac["certificate"].encode())
    cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert cn == "app:credential:%s:%s" % (ac["ID"], ac["name"])
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == tenant
    assert ac["serialNumber"] == format(cert.serial_number, "x")
    assert len(ac["serialNumber"]) == 32  # 16 random bytes
    assert cert.issuer == ca_cert.subject
    ca_cert.public_key().verify(cert.signature, cert.tbs_certificate_bytes,
                                ec.ECDSA(cert.signature_hash_algorithm))
    days = (cert.not_valid_after - cert.not_valid_before).days
    assert 365 <= days <= 366
    assert ac["expiryTime"].startswith(cert.not_valid_after.strftime("%Y-%m-%dT%H:%M:%S"))
    bc = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical and bc.value.ca is False
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert ku.critical and ku.value.digital_signature and not ku.value.key_cert_sign
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ca_ski.digest and ski.digest
    ca_bc = ca_cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert ca_bc.ca and ca_bc.path_length == 0
    assert (ca_cert.not_valid_after - ca_cert.not_valid_before).days >= 3650


def test_private_key_is_never_stored(server, admin, tenant):
    ac = mkac(admin, tenant)
    key_pem = ac["credentials"]["privateKey"]
    body = "".join(key_pem.strip().splitlines()[1:-1]).encode()
    key = serialization.load_pem_private_key(key_pem.encode(), None)
    scalar = key.private_numbers().private_value.to_bytes(32, "big")
    raw = server.store_bytes()  # every table's values, blobs decoded
    assert body[:40] not in raw and scalar not in raw


def test_idempotent_replay_does_not_keep_the_key(server, admin, tenant):
    key = "idem-" + rand(12)
    body = {"name": "ac-" + rand(8), "roles": [VIEWER]}
    first = admin.ok(admin.post("/appcredentials", body, ns=tenant, idem=key))
    again = admin.ok(admin.post("/appcredentials", body, ns=tenant, idem=key))
    assert "privateKey" in first["credentials"]
    assert "credentials" not in again
    assert again == {k: v for k, v in first.items() if k != "credentials"}
    pem = first["credentials"]["privateKey"]
    needle = "".join(pem.strip().splitlines()[1:-1]).encode()[:40]
    assert needle not in server.store_bytes()


def test_idempotent_replays_keep_no_answer_only_secret(server, admin, tenant):
    """The same holds for every answer-only field, e.g. a service account's secret."""
    key = "idem-" + rand(12)
    body = {"name": "sa-" + rand(8)}
    first = admin.ok(admin.post("/serviceaccounts", body, ns=tenant, idem=key))
    again = admin.ok(admin.post("/serviceaccounts", body, ns=tenant, idem=key))
    assert "clientSecret" in first and "clientSecret" not in again
    assert again["clientID"] == first["clientID"] == first["ID"]
    assert first["clientSecret"].encode() not in server.store_bytes()


@pytest.mark.parametrize("kind", ["p256", "p384", "rsa2048"])
def test_create_with_a_csr(server, admin, tenant, tmp_path, kind):
    key = {"p256": lambda: ec.generate_private_key(ec.SECP256R1()),
           "p384": lambda: ec.generate_private_key(ec.SECP384R1()),
           "rsa2048": lambda: rsa.generate_private_key(65537, 2048)}[kind]()
    ac = mkac(admin, tenant, csr=make_csr(key, cn="app:credential:%s:evil" % ("0" * 24)))
    assert "privateKey" not in ac["credentials"] and "csr" not in ac
    cert = x509.load_pem_x509_certificate(ac["certificate"].encode())
    assert cert.public_key().public_numbers() == key.public_key().public_numbers()
    cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert cn == "app:credential:%s:%s" % (ac["ID"], ac["name"])  # the CSR's is ignored
    files = Files(tmp_path, ac["certificate"], pem_key(key))
    assert issue_with(server, files).status_code == 200


def test_unusable_csrs_are_refused(admin, tenant):
    bad = {
        "garbage": "not a CSR",
        "rsa1024": make_csr(rsa.generate_private_key(65537, 1024)),
        "ed25519": make_csr(ed25519.Ed25519PrivateKey.generate()),
        "p521": make_csr(ec.generate_private_key(ec.SECP521R1())),
    }
    good = make_csr(ec.generate_private_key(ec.SECP256R1()))
    der = x509.load_pem_x509_csr(good.encode()).public_bytes(serialization.Encoding.DER)
    tampered = bytearray(der)
    tampered[-5] ^= 0x01  # inside the signature
    bad["bad signature"] = ("-----BEGIN CERTIFICATE REQUEST-----\n%s\n"
                            "-----END CERTIFICATE REQUEST-----\n"
                            % base64.encodebytes(bytes(tampered)).decode().strip())
    for why, csr in bad.items():
        r = admin.post("/appcredentials", {"name": "ac-" + rand(8), "csr": csr}, ns=tenant)
        e = assert_error(r, 422, "Validation Error")
        assert e["data"]["attribute"] == "csr", (why, r)
    names = [o["name"] for o in admin.list("appcredentials", tenant)]
    assert len(names) == len(set(names))


def test_names_are_unique_and_fixed(admin, tenant):
    ac = mkac(admin, tenant)
    assert_error(admin.post("/appcredentials", {"name": ac["name"]}, ns=tenant), 422,
                 "Duplicate Key")
    got = admin.ok(admin.get("/appcredentials/" + ac["ID"], ns=tenant))
    got["name"] = "other-" + rand(4)
    assert_error(admin.put("/appcredentials/" + ac["ID"], got, ns=tenant), 422,
                 "Creation Only Error")
    assert_error(admin.post("/appcredentials", {"name": "x", "serialNumber": "00"},
                            ns=tenant), 422, "Read Only Error")


def test_roles_and_subnets_become_a_linked_authorization(admin, tenant):
    ac = mkac(admin, tenant, authorizedSubnets=["10.0.0.0/8", "2001:db8::/32"])
    pol = admin.ok(admin.get("/apiauthorizations/" + ac["authorizationID"], ns=tenant))
    cn = "app:credential:%s:%s" % (ac["ID"], ac["name"])
    assert pol["subject"] == [["@auth:realm=certificate", "@auth:commonname=" + cn]]
    assert pol["authorizedIdentities"] == [VIEWER]
    assert pol["authorizedNamespace"] == tenant
    assert pol["authorizedSubnets"] == ["10.0.0.0/8", "2001:db8::/32"]
    assert pol["protected"] is True
    e = assert_error(admin.post("/appcredentials", {"name": "ac-" + rand(8), "roles": [VIEWER],
                                                    "authorizedSubnets": ["10.0.0.0/33"]},
                                ns=tenant), 422)
    assert e["data"]["attribute"] == "authorizedSubnets"
    # What follows a NUL byte is not hidden from the check; nor is a sign before the prefix.
    for bad in ("10.0.0.1\u0000, 0.0.0.0/0", "10.0.0.0/-0"):
        e = assert_error(admin.post("/appcredentials", {
            "name": "ac-" + rand(8), "roles": [VIEWER],
            "authorizedSubnets": [bad.encode().decode("unicode_escape")]}, ns=tenant), 422)
        assert e["data"]["attribute"] == "authorizedSubnets"


# -- the Certificate realm ---------------------------------------------------------------

def test_issue_with_the_certificate(server, live, tenant):
    ac, cert = live["ac"], live["cert"]
    r = issue_with(server, live["files"], {"realm": "Certificate", "validity": "1h"})
    assert r.status_code == 200, r.text
    assert r.json()["realm"] == "Certificate" and r.json()["validity"] == "1h"
    _, payload, _ = jwt_parts(r.json()["token"])
    cn = "app:credential:%s:%s" % (ac["ID"], ac["name"])
    assert payload["sub"] == cn
    assert payload["data"] == {"realm": "certificate", "commonname": cn,
                               "organization": tenant,
                               "serialnumber": format(cert.serial_number, "x")}
    c = server.client()
    claims = c.ok(c.post("/authn", {"token": r.json()["token"]}, ns=None))["authClaims"]
    assert set(claims) >= {"@auth:realm=certificate", "@auth:commonname=" + cn,
                           "@auth:organization=" + tenant, "@auth:subject=" + cn,
                           "@auth:serialnumber=" + ac["serialNumber"]}


def test_the_token_works_under_the_roles(server, admin, live, tenant):
    c = server.client(token_with(server, live["files"]))
    assert c.get("/namespaces", ns=tenant).status == 200
    assert c.get("/appcredentials", ns=tenant).status == 403  # viewers: no credentials
    assert_error(c.post("/namespaces", {"name": "x" + rand(4)}, ns=tenant), 403)
    assert_error(c.get("/namespaces", ns="/"), 403)


def test_no_certificate_is_refused(server):
    assert_refused(server, None)


def test_expired_certificate(server, live, client_ca, tmp_path):
    ca_cert, ca_key = client_ca
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(UTC)
    pem = forge(live["cert"], ca_cert, ca_key, key, not_before=now - datetime.timedelta(days=10),
                not_after=now - datetime.timedelta(days=1))
    assert_refused(server, Files(tmp_path, pem, pem_key(key)))


def test_not_yet_valid_certificate(server, live, client_ca, tmp_path):
    ca_cert, ca_key = client_ca
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(UTC)
    pem = forge(live["cert"], ca_cert, ca_key, key, not_before=now + datetime.timedelta(days=1),
                not_after=now + datetime.timedelta(days=2))
    assert_refused(server, Files(tmp_path, pem, pem_key(key)))


def test_control_forged_with_the_client_ca_passes(server, live, client_ca, tmp_path):
    """The forgeries below differ from this one in one respect each: the test of each
    is meaningful only if this one gets a token."""
    ca_cert, ca_key = client_ca
    key = ec.generate_private_key(ec.SECP256R1())
    pem = forge(live["cert"], ca_cert, ca_key, key)
    assert issue_with(server, Files(tmp_path, pem, pem_key(key))).status_code == 200


@pytest.mark.parametrize("units", [["ops"], ["ops", "payments"]])
def test_organizational_units_become_claims(server, live, client_ca, tmp_path, units):
    ca_cert, ca_key = client_ca
    key = ec.generate_private_key(ec.SECP256R1())
    pem = forge(live["cert"], ca_cert, ca_key, key, units=units)
    token = token_with(server, Files(tmp_path, pem, pem_key(key)))
    _, payload, _ = jwt_parts(token)
    want = units[0] if len(units) == 1 else units
    assert payload["data"]["organizationalunit"] == want
    c = server.client()
    claims = c.ok(c.post("/authn", {"token": token}, ns=None))["authClaims"]
    assert {"@auth:organizationalunit=" + u for u in units} <= set(claims)


def test_server_only_certificate(server, live, client_ca, tmp_path):
    ca_cert, ca_key = client_ca
    key = ec.generate_private_key(ec.SECP256R1())
    pem = forge(live["cert"], ca_cert, ca_key, key, eku=(ExtendedKeyUsageOID.SERVER_AUTH,))
    assert_refused(server, Files(tmp_path, pem, pem_key(key)))


def test_unknown_ca_with_the_same_name(server, live, client_ca, tmp_path):
    ca_cert, _ = client_ca
    other = ec.generate_private_key(ec.SECP256R1())
    impostor = (x509.CertificateBuilder().subject_name(ca_cert.subject)
                .issuer_name(ca_cert.subject).public_key(other.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(ca_cert.not_valid_before)
                .not_valid_after(ca_cert.not_valid_after)
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .sign(other, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    pem = forge(live["cert"], impostor, other, key)
    assert_refused(server, Files(tmp_path, pem, pem_key(key)))


def test_self_signed_certificate(server, live, tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    pem = forge(live["cert"], None, key, key)
    assert_refused(server, Files(tmp_path, pem, pem_key(key)))


def test_server_certificate_of_the_console_is_not_a_client(server, tmp_path):
    key = (server.data / "tls" / "server.key").read_text()
    cert = (server.data / "tls" / "server.pem").read_text()
    assert_refused(server, Files(tmp_path, cert, key))


def test_delete_revokes_at_once(server, admin, tenant, tmp_path):
    ac = mkac(admin, tenant)
    files = Files(tmp_path, ac["credentials"]["certificate"], ac["credentials"]["privateKey"])
    c = server.client(token_with(server, files))
    assert c.get("/namespaces", ns=tenant).status == 200
    gone = admin.ok(admin.delete("/appcredentials/" + ac["ID"], ns=tenant))
    assert gone["ID"] == ac["ID"] and "credentials" not in gone
    assert_error(admin.get("/apiauthorizations/" + ac["authorizationID"], ns=tenant), 404)
    assert_refused(server, files)
    assert_error(c.get("/namespaces", ns=tenant), 401)  # tokens already issued, too


def test_renewal_with_a_new_csr(server, admin, tenant, tmp_path):
    old_key = ec.generate_private_key(ec.SECP256R1())
    ac = mkac(admin, tenant, csr=make_csr(old_key))
    old = Files(tmp_path, ac["certificate"], pem_key(old_key))
    assert issue_with(server, old).status_code == 200
    got = admin.ok(admin.get("/appcredentials/" + ac["ID"], ns=tenant))
    # An update without a csr keeps the certificate.
    got["description"] = "no renewal"
    same = admin.ok(admin.put("/appcredentials/" + ac["ID"], got, ns=tenant))
    assert same["serialNumber"] == ac["serialNumber"] and "credentials" not in same
    assert issue_with(server, old).status_code == 200
    new_key = ec.generate_private_key(ec.SECP384R1())
    same["csr"] = make_csr(new_key)
    renewed = admin.ok(admin.put("/appcredentials/" + ac["ID"], same, ns=tenant))
    assert renewed["serialNumber"] != ac["serialNumber"]
    assert "csr" not in renewed and "privateKey" not in renewed["credentials"]
    assert renewed["credentials"]["certificate"] == renewed["certificate"]
    cert = x509.load_pem_x509_certificate(renewed["certificate"].encode())
    assert cert.public_key().public_numbers() == new_key.public_key().public_numbers()
    assert format(cert.serial_number, "x") == renewed["serialNumber"]
    stored = admin.ok(admin.get("/appcredentials/" + ac["ID"], ns=tenant))
    assert stored["serialNumber"] == renewed["serialNumber"]
    assert stored["certificate"] == renewed["certificate"]
    assert_refused(server, old)
    assert issue_with(server, Files(tmp_path, renewed["certificate"],
                                    pem_key(new_key))).status_code == 200
    # The create answer sent back as is (credentials included) is accepted too.
    renewed.pop("csr", None)
    assert admin.put("/appcredentials/" + ac["ID"], renewed, ns=tenant).status == 200


def test_renewal_with_an_unusable_csr(admin, tenant):
    ac = mkac(admin, tenant)
    got = admin.ok(admin.get("/appcredentials/" + ac["ID"], ns=tenant))
    for csr, status in ((make_csr(rsa.generate_private_key(65537, 1024)), 422),
                        ("x" * (16 * 1024 + 1), 422), (["not", "a", "string"], 422)):
        e = assert_error(admin.put("/appcredentials/" + ac["ID"], dict(got, csr=csr),
                                   ns=tenant), status)
        assert e["data"]["attribute"] == "csr"
    still = admin.ok(admin.get("/appcredentials/" + ac["ID"], ns=tenant))
    assert still["serialNumber"] == ac["serialNumber"]


def test_renewal_of_an_unknown_credential(admin, tenant):
    csr = make_csr(ec.generate_private_key(ec.SECP256R1()))
    r = admin.put("/appcredentials/" + "f" * 24, {"name": "x", "csr": csr,
                                                  "updateTime": "2020-01-01T00:00:00.000Z"},
                  ns=tenant)
    assert_error(r, 404)


def test_authorized_subnets_are_enforced(server, admin, tenant, tmp_path):
    ac = mkac(admin, tenant, authorizedSubnets=["10.0.0.0/8"])
    files = Files(tmp_path, ac["credentials"]["certificate"], ac["credentials"]["privateKey"])
    c = server.client(token_with(server, files))
    assert_error(c.get("/namespaces", ns=tenant), 403)
    got = admin.ok(admin.get("/appcredentials/" + ac["ID"], ns=tenant))
    got["authorizedSubnets"] = ["127.0.0.0/8", "::1/128"]
    admin.ok(admin.put("/appcredentials/" + ac["ID"], got, ns=tenant))
    assert c.get("/namespaces", ns=tenant).status == 200


# -- transport -----------------------------------------------------------------------------

@pytest.mark.parametrize("version", ["TLSv1_2", "TLSv1_3"])
def test_keep_alive_with_a_client_certificate(server, live, tenant, version):
    ctx = server.ssl_context(getattr(ssl.TLSVersion, version))
    ctx.load_cert_chain(*live["files"].pair)
    conn = http.client.HTTPSConnection(server.host, server.port, context=ctx, timeout=60)
    try:
        conn.request("GET", "/health")
        r = conn.getresponse()
        assert r.status == 200 and r.getheader("Connection", "").lower() != "close"
        r.read()
        sock = conn.sock
        conn.request("POST", "/issue", body=json.dumps({"realm": "Certificate"}),
                     headers={"Content-Type": "application/json"})
        r = conn.getresponse()
        body = r.read()
        assert r.status == 200, body
        token = json.loads(body)["token"]
        for _ in range(3):
            conn.request("GET", "/namespaces", headers={"Authorization": "Bearer " + token,
                                                        "X-Namespace": tenant})
            r = conn.getresponse()
            r.read()
            assert r.status == 200
        assert conn.sock is sock  # one connection throughout
    finally:
        conn.close()


def test_clients_without_certificates_still_work(server):
    out = subprocess.run(["curl", "-sS", "--cacert", server.ca, server.url + "/health"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and '"ok"' in out.stdout, out.stderr
    assert server.health() == 200


def test_a_deleted_credentials_tokens_are_refused_whatever_policy_matches(
        server, admin, tenant, tmp_path):
    """A policy on every credential of a namespace (`@auth:realm=certificate` and its
    organization) honoured a deleted credential's tokens until they expired, up to
    token_max_validity, and their Token realm copies (a review). They are refused at the
    next request, as a deleted account's are."""
    admin.mkauthz(tenant, [["@auth:realm=certificate", "@auth:organization=" + tenant]],
                  [VIEWER])
    ac = mkac(admin, tenant, roles=())
    files = Files(tmp_path, ac["credentials"]["certificate"], ac["credentials"]["privateKey"])
    tok = token_with(server, files)
    c = server.client(tok)
    assert c.get("/namespaces", ns=tenant).status == 200
    copy = server.client().post("/issue", {"realm": "Token", "validity": "10m",
                                           "metadata": {"token": tok}}, ns=None, token=None)
    assert copy.status == 200, copy
    admin.ok(admin.delete("/appcredentials/" + ac["ID"], ns=tenant))
    assert_error(c.get("/namespaces", ns=tenant), 401)
    assert_error(server.client(copy.data["token"]).get("/namespaces", ns=tenant), 401)
    r = server.client().post("/issue", {"realm": "Token", "metadata": {"token": tok}},
                             ns=None, token=None)
    assert_error(r, 401)


def test_a_weakly_signed_csr_is_refused(admin, tenant):
    """A second look: app credentials took CSRs signed with MD5 or SHA-1, which prove no
    possession, when certificate requests already refused them: 422 on csr, as there."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "weak")])
    weak = x509.CertificateSigningRequestBuilder().subject_name(name).sign(
        key, hashes.SHA1()).public_bytes(serialization.Encoding.PEM).decode()
    n = len(admin.list("appcredentials", tenant))
    e = assert_error(admin.post("/appcredentials", {"name": "ac-" + rand(8), "roles": [VIEWER],
                                                    "csr": weak}, ns=tenant), 422)
    assert e["data"]["attribute"] == "csr" and "weak" in e["description"], e
    assert len(admin.list("appcredentials", tenant)) == n
    admin.ok(admin.post("/appcredentials", {"name": "ac-" + rand(8), "roles": [VIEWER],
                                            "csr": make_csr(key)}, ns=tenant))
