"""Authentication (API.md section 3, docs/api-decisions.md "Tokens"): /issue with the Vince
realm, JWT shape and signature, every way a token can be bad, quota, /authn."""

import hashlib
import hmac
import json
import threading
import time

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (decode_dss_signature,
                                                             encode_dss_signature)

from kwtest import (ADMIN_ACCOUNT, CFG_MAX_VALIDITY, HEX24, assert_error, b64u_decode,
                    b64u_encode, go_duration, jwt_parts, rand, strip_traces)

BAD_TOKEN = "Invalid or expired token"


@pytest.fixture(scope="module")
def jwks(server):
    r = server.client().get("/.well-known/jwks.json", ns=None, token=None)
    assert r.status == 200
    return r.data["keys"]


@pytest.fixture(scope="module")
def user(admin, ns):
    """An ordinary enabled account in this module's namespace."""
    name, password, obj = admin.mkaccount(ns, email="user@example.com")
    return {"name": name, "password": password, "obj": obj}


def pubkey_of(jwk):
    x = int.from_bytes(b64u_decode(jwk["x"]), "big")
    y = int.from_bytes(b64u_decode(jwk["y"]), "big")
    return ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()


def sign_es256(key, header, payload):
    signing_input = (b64u_encode(json.dumps(header).encode()) + "." +
                     b64u_encode(json.dumps(payload).encode()))
    der = key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    return signing_input + "." + b64u_encode(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def token_works(client, token, ns="/"):
    return client.get("/namespaces", ns=ns, token=token)


# -- /issue --------------------------------------------------------------------------

def test_issue_vince_default(server):
    r = server.issue()
    assert r.status == 200, r
    d = r.data
    assert d["realm"] == "Vince"
    assert d["validity"] == "24h"
    assert d["quota"] == 0
    assert isinstance(d["token"], str) and d["token"].count(".") == 2
    assert "metadata" not in d
    assert server.admin_password not in r.content.decode()
    _, payload, _ = jwt_parts(d["token"])
    assert payload["exp"] - payload["iat"] == 24 * 3600


def test_issue_msgpack(server):
    c = server.client()
    r = c.post("/issue", {"realm": "Vince", "metadata": {
        "vinceAccount": ADMIN_ACCOUNT, "vincePassword": server.admin_password}},
        ns=None, token=None, fmt="msgpack")
    assert r.status == 200, r
    assert r.headers["Content-Type"].startswith("application/msgpack")
    assert r.data["token"].count(".") == 2


def test_issued_token_works(server, admin):
    r = token_works(admin, server.token())
    assert r.status == 200, r


@pytest.mark.parametrize("validity,seconds", [("90s", 90), ("1h30m", 5400), ("10s", 10),
                                              ("6h", 21600), ("0", 86400), ("1m", 60),
                                              ("1.5h", 5400), ("3600000ms", 3600)])
def test_validity_honoured(server, validity, seconds):
    r = server.issue(validity=validity)
    assert r.status == 200, r
    _, p, _ = jwt_parts(r.data["token"])
    assert p["exp"] - p["iat"] == seconds
    assert go_duration(r.data["validity"]) == seconds


def test_validity_absent_is_24h(server):
    r = server.issue()
    assert r.status == 200
    _, p, _ = jwt_parts(r.data["token"])
    assert p["exp"] - p["iat"] == 86400


def test_validity_capped_by_default(server):
    r = server.issue(validity="1000000h")
    assert r.status == 200, r
    _, p, _ = jwt_parts(r.data["token"])
    granted = p["exp"] - p["iat"]
    assert 0 < granted < 1000000 * 3600
    assert go_duration(r.data["validity"]) == granted


def test_validity_capped_by_config(start_server):
    s = start_server({CFG_MAX_VALIDITY: "1h"})
    r = s.issue(validity="24h")
    assert r.status == 200, r
    _, p, _ = jwt_parts(r.data["token"])
    assert p["exp"] - p["iat"] == 3600
    assert go_duration(r.data["validity"]) == 3600
    r = s.issue()  # the default (24h) is capped as well
    assert r.status == 200
    _, p, _ = jwt_parts(r.data["token"])
    assert p["exp"] - p["iat"] == 3600
    r = s.issue(validity="30m")
    _, p, _ = jwt_parts(r.data["token"])
    assert p["exp"] - p["iat"] == 1800


@pytest.mark.parametrize("validity", ["1d", "abc", "-5m", "10", "h", "1h-", "1x", "1h 30m",
                                      "1us", "1ns", "999us"])
def test_invalid_validity(server, validity):
    r = server.issue(validity=validity)
    assert r.status in (400, 422), r
    assert_error(r, r.status)


@pytest.mark.parametrize("validity", [3600, True, ["1h"]])
def test_validity_wrong_type(server, validity):
    r = server.issue(validity=validity)
    assert r.status in (400, 422), r
    assert_error(r, r.status)


def test_quota_echoed(server):
    r = server.issue(quota=5)
    assert r.status == 200
    assert r.data["quota"] == 5
    # API.md 1: every top-level object says what it is (a conformance review)
    assert r.data["object"] == "issue"
    s = server.session()
    try:
        health = s.get(server.url + "/health", timeout=5).json()
    finally:
        s.close()
    assert health == {"object": "health", "status": "ok"}, health
    _, p, _ = jwt_parts(r.data["token"])
    assert p["quota"] == 5


@pytest.mark.parametrize("body", [
    {"metadata": {"vinceAccount": "admin", "vincePassword": "x"}},        # no realm
    {"realm": "NoSuchRealm", "metadata": {}},
    {"realm": "Vince"},                                                   # no metadata
    {"realm": "Vince", "metadata": {"vinceAccount": "admin"}},            # no password
    {"realm": "Vince", "metadata": "admin"},
])
def test_issue_bad_requests(server, body):
    r = server.client().post("/issue", body, ns=None, token=None)
    assert r.status in (400, 401, 422), r
    assert_error(r, r.status)
    assert "eyJ" not in r.content.decode()


def test_issue_negative_quota(server):
    r = server.issue(quota=-1)
    assert r.status in (400, 422), r


# -- bad credentials -----------------------------------------------------------------

def test_bad_credentials_identical_answers(server, admin, ns, user):
    dname, dpass, _ = admin.mkaccount(ns, disabled=True)
    answers = [
        server.issue(user["name"], "wrong-" + user["password"]),
        server.issue("nosuchaccount-" + rand(8), "whatever-password"),
        server.issue(dname, dpass),
        server.issue(ADMIN_ACCOUNT, server.admin_password + "x"),
    ]
    first = answers[0]
    e = assert_error(first, 401)
    assert e["description"] == "Invalid credentials"
    for r in answers:
        assert_error(r, 401)
        assert strip_traces(r.data) == strip_traces(first.data), r
        assert r.headers["Content-Type"] == first.headers["Content-Type"]


def test_disabled_account_cannot_issue_and_reenabled_can(server, admin, ns):
    name, password, obj = admin.mkaccount(ns, disabled=True)
    assert_error(server.issue(name, password), 401)
    obj2 = dict(obj)
    obj2["disabled"] = False
    r = admin.put("/accounts/" + obj["ID"], obj2, ns=ns)
    assert r.status == 200, r
    assert server.issue(name, password).status == 200


def test_disabling_account_after_issue(server, admin, ns):
    """A disabled account cannot get new tokens."""
    name, password, obj = admin.mkaccount(ns)
    assert server.issue(name, password).status == 200
    obj2 = dict(obj)
    obj2["disabled"] = True
    assert admin.put("/accounts/" + obj["ID"], obj2, ns=ns).status == 200
    assert_error(server.issue(name, password), 401)


def viewer(admin, ns, **attrs):
    """An account that may read ns, and a client with its token."""
    name, password, obj = admin.mkaccount(ns, **attrs)
    admin.mkauthz(ns, [["@auth:realm=vince", "@auth:account=" + name]],
                  ["@auth:role=namespace.viewer"], ns)
    return name, password, obj


def test_a_disabled_accounts_tokens_are_refused_at_the_next_request(server, admin, ns):
    name, password, obj = viewer(admin, ns)
    tok = server.token(name, password)
    c = server.client(tok)
    assert c.get("/namespaces", ns=ns).status == 200
    obj = admin.ok(admin.put("/accounts/" + obj["ID"], dict(obj, disabled=True), ns=ns))
    assert_error(c.get("/namespaces", ns=ns), 401)
    assert_error(c.get("/namespaces/" + "0" * 24, ns=ns), 401)
    r = server.client().post("/issue", {"realm": "Token", "metadata": {"token": tok}},
                             ns=None, token=None)
    assert_error(r, 401)  # nor can it be copied
    admin.ok(admin.put("/accounts/" + obj["ID"], dict(obj, disabled=False), ns=ns))
    assert c.get("/namespaces", ns=ns).status == 200  # enabled again: honoured again


def test_a_deleted_accounts_tokens_are_refused_even_under_a_new_account_of_its_name(
        server, admin, ns):
    name, password, obj = viewer(admin, ns)
    c = server.client(server.token(name, password))
    assert c.get("/namespaces", ns=ns).status == 200
    admin.ok(admin.delete("/accounts/" + obj["ID"], ns=ns))
    assert_error(c.get("/namespaces", ns=ns), 401)
    admin.mkaccount(ns, name=name, password=password)  # same name, same grants: another ID
    assert_error(c.get("/namespaces", ns=ns), 401)
    assert server.client(server.token(name, password)).get("/namespaces", ns=ns).status == 200


def test_accounts_deleted_with_their_namespace_lose_their_tokens(server, admin, ns):
    gone = admin.mkns(ns, "gone")
    name, password, _ = admin.mkaccount(gone["name"])
    admin.mkauthz(ns, [["@auth:realm=vince", "@auth:account=" + name]],
                  ["@auth:role=namespace.viewer"], ns)
    c = server.client(server.token(name, password))
    assert c.get("/namespaces", ns=ns).status == 200
    admin.ok(admin.delete("/namespaces/" + gone["ID"], ns=ns))
    assert_error(c.get("/namespaces", ns=ns), 401)


def test_password_is_case_sensitive(server, admin, ns):
    name, password, _ = admin.mkaccount(ns, password="CaseSensitive-Pw")
    assert server.issue(name, "casesensitive-pw").status == 401
    assert server.issue(name, "CaseSensitive-Pw").status == 200


# -- bad tokens ----------------------------------------------------------------------

def test_no_token_is_401(server, ns):
    r = server.client().get("/namespaces", ns=ns, token=None)
    assert_error(r, 401, description="Missing Authorization header")


@pytest.mark.parametrize("value", ["Bearer", "Bearer ", "Bearer garbage", "Bearer a.b.c",
                                   "Basic YWRtaW46cGFzcw==", "Bearer eyJhbGciOiJFUzI1NiJ9",
                                   "Bearer ....", "Bearer " + "A" * 5000])
def test_garbage_authorization_is_401(server, ns, value):
    r = server.client().get("/namespaces", ns=ns, token=None,
                            headers={"Authorization": value})
    e = assert_error(r, 401)
    assert e["description"] in (BAD_TOKEN, "Missing Authorization header"), r
    tok = value.split(" ", 1)[-1]
    if len(tok) > 8:
        assert tok.encode() not in r.content, "the token is echoed back"


def test_token_without_bearer_prefix_is_401(server, admin, ns):
    r = server.client().get("/namespaces", ns=ns, token=None,
                            headers={"Authorization": admin.token})
    assert_error(r, 401)


def test_alg_none_is_401(server, admin, ns):
    h, p, _ = jwt_parts(admin.token)
    for alg in ("none", "None", "NONE"):
        hdr = dict(h, alg=alg)
        for sig in ("", b64u_encode(b"x")):
            tok = (b64u_encode(json.dumps(hdr).encode()) + "." +
                   b64u_encode(json.dumps(p).encode()) + "." + sig)
            assert_error(token_works(admin, tok, ns), 401, description=BAD_TOKEN)


def test_hs256_with_public_key_is_401(server, admin, ns, jwks):
    h, p, _ = jwt_parts(admin.token)
    jwk = [k for k in jwks if k["kid"] == h["kid"]][0]
    pub = pubkey_of(jwk)
    secrets_ = [
        pub.public_bytes(serialization.Encoding.PEM,
                         serialization.PublicFormat.SubjectPublicKeyInfo),
        pub.public_bytes(serialization.Encoding.DER,
                         serialization.PublicFormat.SubjectPublicKeyInfo),
        pub.public_bytes(serialization.Encoding.X962,
                         serialization.PublicFormat.UncompressedPoint),
        json.dumps(jwk).encode(),
        b"",
    ]
    for alg, fn in (("HS256", hashlib.sha256), ("HS384", hashlib.sha384),
                    ("HS512", hashlib.sha512)):
        hdr = dict(h, alg=alg)
        si = b64u_encode(json.dumps(hdr).encode()) + "." + b64u_encode(json.dumps(p).encode())
        for key in secrets_:
            sig = hmac.new(key, si.encode(), fn).digest()
            assert_error(token_works(admin, si + "." + b64u_encode(sig), ns), 401)


def test_other_ec_key_is_401(server, admin, ns):
    h, p, _ = jwt_parts(admin.token)
    other = ec.generate_private_key(ec.SECP256R1())
    assert_error(token_works(admin, sign_es256(other, h, p), ns), 401)
    hdr = dict(h, kid="other-" + rand(6))
    assert_error(token_works(admin, sign_es256(other, hdr, p), ns), 401)
    hdr = {k: v for k, v in h.items() if k != "kid"}
    assert_error(token_works(admin, sign_es256(other, hdr, p), ns), 401)


def test_other_curve_key_is_401(server, admin, ns):
    h, p, _ = jwt_parts(admin.token)
    other = ec.generate_private_key(ec.SECP384R1())
    hdr = dict(h, alg="ES384")
    si = b64u_encode(json.dumps(hdr).encode()) + "." + b64u_encode(json.dumps(p).encode())
    der = other.sign(si.encode(), ec.ECDSA(hashes.SHA384()))
    r, s = decode_dss_signature(der)
    tok = si + "." + b64u_encode(r.to_bytes(48, "big") + s.to_bytes(48, "big"))
    assert_error(token_works(admin, tok, ns), 401)


def test_expired_token_is_401(server, admin, ns):
    r = server.issue(validity="1s")
    assert r.status == 200, r
    tok = r.data["token"]
    _, p, _ = jwt_parts(tok)
    assert p["exp"] - p["iat"] == 1
    # Used once while valid (this also puts it in any verified-token cache).
    first = token_works(admin, tok, ns)
    now = time.time()
    if now < p["exp"]:
        assert first.status == 200, first
    time.sleep(max(0.0, p["exp"] + 1.05 - time.time()))
    assert_error(token_works(admin, tok, ns), 401, description=BAD_TOKEN)


def test_tampered_payload_is_401(server, admin, ns, user):
    tok = server.token(user["name"], user["password"])
    h, p, sig = jwt_parts(tok)
    hb, pb, sb = tok.split(".")
    variants = []
    p2 = json.loads(json.dumps(p))
    p2["data"]["account"] = ADMIN_ACCOUNT
    variants.append(dict(p2))
    variants.append(dict(p, exp=p["exp"] + 3600))
    variants.append(dict(p, sub=ADMIN_ACCOUNT))
    variants.append(dict(p, quota=0, extra="x"))
    for v in variants:
        t = hb + "." + b64u_encode(json.dumps(v).encode()) + "." + sb
        assert_error(token_works(admin, t, ns), 401)
    # Flipped signature bits, truncated signature, swapped header.
    bad_sig = bytearray(sig)
    bad_sig[5] ^= 1
    assert_error(token_works(admin, hb + "." + pb + "." + b64u_encode(bytes(bad_sig)), ns), 401)
    assert_error(token_works(admin, hb + "." + pb + "." + b64u_encode(sig[:32]), ns), 401)
    assert_error(token_works(admin, hb + "." + pb + ".", ns), 401)
    assert_error(token_works(admin, tok + "x", ns), 401)
    # Unchanged, it authenticates (403: the user has no grant here), so the 401s above are
    # about the tampering.
    assert_error(token_works(admin, tok, ns), 403)


def test_signature_high_s_or_der_is_401(server, admin, ns):
    """Only the raw 64-byte R||S form is a JWS ES256 signature."""
    tok = server.token()
    hb, pb, sb = tok.split(".")
    raw = b64u_decode(sb)
    r = int.from_bytes(raw[:32], "big")
    s = int.from_bytes(raw[32:], "big")
    der = encode_dss_signature(r, s)
    assert_error(token_works(admin, hb + "." + pb + "." + b64u_encode(der), ns), 401)


def test_deleted_account_cannot_issue(server, admin, ns):
    name, password, obj = admin.mkaccount(ns)
    assert server.issue(name, password).status == 200
    r = admin.delete("/accounts/" + obj["ID"], ns=ns)
    assert r.status == 200, r
    assert_error(server.issue(name, password), 401)


# -- JWT shape -----------------------------------------------------------------------

def test_jwt_header_and_signature(server, admin, jwks):
    tok = admin.token
    h, p, sig = jwt_parts(tok)
    assert h["alg"] == "ES256"
    assert h.get("kid") in [k["kid"] for k in jwks]
    jwk = [k for k in jwks if k["kid"] == h["kid"]][0]
    assert jwk["kty"] == "EC" and jwk["crv"] == "P-256"
    assert len(sig) == 64
    r = int.from_bytes(sig[:32], "big")
    s = int.from_bytes(sig[32:], "big")
    signing_input = tok.rsplit(".", 1)[0].encode()
    pub = pubkey_of(jwk)
    pub.verify(encode_dss_signature(r, s), signing_input, ec.ECDSA(hashes.SHA256()))
    with pytest.raises(InvalidSignature):
        pub.verify(encode_dss_signature(r, s), signing_input + b"x", ec.ECDSA(hashes.SHA256()))


def test_jwt_payload_claims(server, admin, ns, user):
    tok = server.token(user["name"], user["password"])
    _, p, _ = jwt_parts(tok)
    for k in ("realm", "data", "exp", "iat", "iss", "jti", "sub"):
        assert k in p, "JWT payload lacks %r: %s" % (k, p)
    assert p["realm"] == "Vince"
    assert p["sub"] == user["name"]
    assert p["data"]["realm"] == "vince"
    assert p["data"]["account"] == user["name"]
    assert p["data"]["organization"] == ns
    assert p["data"]["email"] == "user@example.com"
    assert HEX24.match(p["data"]["id"]) and p["data"]["id"] == user["obj"]["ID"]
    assert all(k == k.lower() for k in p["data"])
    assert abs(p["iat"] - time.time()) < 120
    other = server.token(user["name"], user["password"])
    assert jwt_parts(other)[1]["jti"] != p["jti"]


# -- quota ---------------------------------------------------------------------------

def test_quota_three_uses(server, admin, ns):
    r = server.issue(quota=3)
    assert r.status == 200
    tok = r.data["token"]
    c = server.client(tok)
    for i in range(3):
        assert c.get("/namespaces", ns=ns).status == 200, "use %d" % (i + 1)
    assert_error(c.get("/namespaces", ns=ns), 417)
    assert_error(c.get("/namespaces", ns=ns), 417)


def test_quota_spent_by_failed_requests_too(server, ns):
    tok = server.token(quota=2)
    c = server.client(tok)
    assert c.get("/namespaces/" + "0" * 24, ns=ns).status == 404
    assert c.get("/namespaces", ns=ns).status == 200
    assert_error(c.get("/namespaces", ns=ns), 417)


def test_quota_under_concurrency(server, ns):
    tok = server.token(quota=20)
    results = []
    lock = threading.Lock()
    barrier = threading.Barrier(40)

    def worker():
        c = server.client(tok)
        barrier.wait()
        r = c.get("/namespaces", ns=ns)
        with lock:
            results.append(r.status)

    threads = [threading.Thread(target=worker) for _ in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(results) == 40
    assert results.count(200) == 20, sorted(results)
    assert results.count(417) == 20, sorted(results)


def test_unlimited_quota(server, admin, ns):
    c = server.client(server.token(quota=0))
    for _ in range(10):
        assert c.get("/namespaces", ns=ns).status == 200


# -- /authn --------------------------------------------------------------------------

def test_authn_with_body(server, admin, ns, user):
    tok = server.token(user["name"], user["password"])
    r = admin.post("/authn", {"token": tok})
    assert r.status == 200, r
    d = r.data
    assert d["object"] == "authn"
    assert d["claims"] == jwt_parts(tok)[1]
    claims = set(d["authClaims"])
    assert {"@auth:realm=vince", "@auth:account=" + user["name"],
            "@auth:email=user@example.com", "@auth:id=" + user["obj"]["ID"],
            "@auth:organization=" + ns, "@auth:subject=" + user["name"]} <= claims


def test_authn_with_header_only(server, user):
    tok = server.token(user["name"], user["password"])
    r = server.client(tok).post("/authn")
    assert r.status == 200, r
    assert r.data["claims"]["sub"] == user["name"]
    assert "@auth:account=" + user["name"] in r.data["authClaims"]


def test_authn_refuses_the_token_of_a_disabled_or_deleted_account(server, admin, ns):
    # /authn judges a token as every request does: a disabled or deleted account's token is
    # 401 there too (it answered 200 with the claims: black-box review), and counts again
    # once the account is enabled again.
    name, password, obj = viewer(admin, ns)
    tok = server.token(name, password)
    assert admin.post("/authn", {"token": tok}).status == 200
    obj = admin.ok(admin.put("/accounts/" + obj["ID"], dict(obj, disabled=True), ns=ns))
    assert_error(admin.post("/authn", {"token": tok}), 401)
    assert_error(server.client(tok).post("/authn"), 401)
    admin.ok(admin.put("/accounts/" + obj["ID"], dict(obj, disabled=False), ns=ns))
    assert admin.post("/authn", {"token": tok}).status == 200
    admin.ok(admin.delete("/accounts/" + obj["ID"], ns=ns))
    assert_error(admin.post("/authn", {"token": tok}), 401)


def test_authn_invalid_token(server, admin):
    h, p, _ = jwt_parts(admin.token)
    forged = admin.token.rsplit(".", 1)[0] + "." + b64u_encode(b"\x00" * 64)
    for bad in ("garbage", forged):
        r = admin.post("/authn", {"token": bad})
        assert_error(r, 401)
    r = server.client().post("/authn", token=None,
                             headers={"Authorization": "Bearer " + forged})
    assert_error(r, 401)


# -- restrictions, audience, opaque --------------------------------------------------

@pytest.fixture(scope="module")
def tree(admin, ns):
    top = admin.mkns(ns, "tree")["name"]
    admin.mkns(top, "a")
    admin.mkns(top, "b")
    return top


def test_restricted_namespace(server, tree):
    r = server.issue(restrictedNamespace=tree + "/a")
    assert r.status == 200, r
    assert r.data["restrictedNamespace"] == tree + "/a"
    _, p, _ = jwt_parts(r.data["token"])
    assert p["restrictions"]["namespace"] == tree + "/a"
    c = server.client(r.data["token"])
    assert c.get("/namespaces", ns=tree + "/a").status == 200
    assert c.post("/namespaces", {"name": "inside"}, ns=tree + "/a").status == 200
    assert_error(c.get("/namespaces", ns=tree + "/b"), 403)
    assert_error(c.get("/namespaces", ns=tree), 403)
    assert_error(c.post("/namespaces", {"name": "outside"}, ns=tree), 403)


def test_restricted_permissions(server, admin, tree):
    r = server.issue(restrictedPermissions=["namespace,get"])
    assert r.status == 200, r
    c = server.client(r.data["token"])
    assert c.get("/namespaces", ns=tree).status == 200
    assert_error(c.post("/namespaces", {"name": "nope"}, ns=tree), 403)
    assert_error(c.get("/accounts", ns=tree), 403)
    assert "nope" not in json.dumps(admin.list("namespaces", tree))


def test_restricted_networks(server, tree):
    r = server.issue(restrictedNetworks=["10.0.0.0/8"])
    assert r.status == 200, r
    assert_error(server.client(r.data["token"]).get("/namespaces", ns=tree), 403)
    r = server.issue(restrictedNetworks=["127.0.0.0/8"])
    assert server.client(r.data["token"]).get("/namespaces", ns=tree).status == 200


@pytest.mark.parametrize("extra", [{"restrictedNamespace": "relative"},
                                   {"restrictedNamespace": "/a/../b"},
                                   {"restrictedPermissions": ["namespace,fly"]},
                                   {"restrictedPermissions": "namespace,get"},
                                   {"restrictedNetworks": ["not-a-cidr"]},
                                   {"audience": 5}, {"opaque": "x"}])
def test_bad_restrictions(server, extra):
    r = server.issue(**extra)
    assert r.status in (400, 422), r
    assert_error(r, r.status)


def test_audience(server, tree):
    r = server.issue(audience="https://somewhere-else.example")
    assert r.status == 200, r
    assert jwt_parts(r.data["token"])[1]["aud"] == "https://somewhere-else.example"
    assert_error(server.client(r.data["token"]).get("/namespaces", ns=tree), 401)
    r = server.issue(audience=server.url)
    assert r.status == 200, r
    assert server.client(r.data["token"]).get("/namespaces", ns=tree).status == 200


def test_opaque_echoed_in_token(server):
    r = server.issue(opaque={"ticket": "T-1"})
    assert r.status == 200, r
    assert jwt_parts(r.data["token"])[1]["opaque"] == {"ticket": "T-1"}


# -- the Token realm -----------------------------------------------------------------

def test_token_realm_narrower_copy(server, tree):
    parent = server.token(validity="1h")
    c = server.client()
    r = c.post("/issue", {"realm": "Token", "metadata": {"token": parent},
                          "restrictedNamespace": tree + "/a", "validity": "24h"},
               ns=None, token=None)
    assert r.status == 200, r
    child = r.data["token"]
    _, pp, _ = jwt_parts(parent)
    _, cp, _ = jwt_parts(child)
    assert cp["exp"] <= pp["exp"], "the copy outlives the original"
    assert cp["data"] == pp["data"]
    cc = server.client(child)
    assert cc.get("/namespaces", ns=tree + "/a").status == 200
    assert_error(cc.get("/namespaces", ns=tree + "/b"), 403)
    # Restrictions only shrink: a copy of the copy cannot widen the namespace.
    r = c.post("/issue", {"realm": "Token", "metadata": {"token": child},
                          "restrictedNamespace": tree}, ns=None, token=None)
    if r.status == 200:
        assert_error(server.client(r.data["token"]).get("/namespaces", ns=tree + "/b"), 403)
    else:
        assert r.status in (400, 401, 403, 422), r


def copy_of(server, token, **kw):
    body = {"realm": "Token", "metadata": {"token": token}}
    body.update(kw)
    return server.client().post("/issue", body, ns=None, token=None)


@pytest.mark.parametrize("field,value,claim", [
    ("restrictedPermissions", ["namespace,get"], "perms"),
    ("restrictedNetworks", ["10.0.0.0/8"], "networks")])
def test_an_empty_restriction_list_keeps_the_originals(server, tree, field, value, claim):
    # An empty list asks for no restriction: from a restricted token it keeps the original's,
    # as an absent one does. It took the restriction away (black-box review): a token pinned
    # to reading, or to a network, could be copied into one that writes from anywhere.
    first = server.token(**{field: value})
    assert_error(server.client(first).post("/namespaces", {"name": "w" + rand(6)}, ns=tree),
                 403)
    r = copy_of(server, first, **{field: []})
    assert r.status == 200, r
    assert jwt_parts(r.data["token"])[1]["restrictions"][claim] == value
    assert_error(server.client(r.data["token"]).post("/namespaces", {"name": "w" + rand(6)},
                                                     ns=tree), 403)


@pytest.mark.parametrize("original,copy,within", [
    (["namespace,get", "namespace,post"], ["namespace,get,post"], True),
    (["*,get"], ["apiauthorization,get"], True),
    (["@auth:role=namespace.editor"], ["certificate,*"], True),
    (["namespace,get"], ["namespace,get,post"], False),
    (["*,get"], ["*,get,put"], False),
    (["@auth:role=namespace.viewer"], ["certificate,post"], False),
])
def test_a_copy_may_narrow_permissions_however_they_are_written(
        server, tree, original, copy, within):
    # API.md 3: restrictions can only shrink. A copy's permissions are judged by what they
    # allow on every resource, not by their spelling (a black-box review had narrowings such
    # as ["namespace,get,post"] from ["namespace,get", "namespace,post"] refused). A widening,
    # however written, stays refused.
    first = server.token(restrictedPermissions=original)
    r = copy_of(server, first, restrictedPermissions=copy)
    if within:
        assert r.status == 200, r
        assert jwt_parts(r.data["token"])[1]["restrictions"]["perms"] == copy
    else:
        assert_error(r, 422)


def uses(server, token, ns, n):
    """The statuses of n requests made with token."""
    c = server.client(token)
    return [c.get("/namespaces", ns=ns).status for _ in range(n)]


@pytest.mark.parametrize("asked", [0, 2, 100])
def test_token_realm_copy_takes_its_quota_from_the_original(server, ns, asked):
    """Original and copies together never make more requests than the original's quota."""
    orig = server.token(quota=5)
    assert uses(server, orig, ns, 1) == [200]
    r = copy_of(server, orig, quota=asked)
    assert r.status == 200, r
    took = 4 if asked in (0, 100) else asked
    assert r.data["quota"] == took and jwt_parts(r.data["token"])[1]["quota"] == took
    assert uses(server, r.data["token"], ns, took + 1) == [200] * took + [417]
    left = 4 - took
    assert uses(server, orig, ns, left + 1) == [200] * left + [417]


def test_token_realm_refuses_a_used_up_original(server, ns):
    orig = server.token(quota=1)
    assert uses(server, orig, ns, 2) == [200, 417]
    assert_error(copy_of(server, orig), 417)
    assert_error(copy_of(server, orig, quota=3), 417)


def test_token_realm_copy_of_an_unlimited_token_keeps_the_quota_asked(server, ns):
    r = copy_of(server, server.token(), quota=2)
    assert r.status == 200, r
    assert uses(server, r.data["token"], ns, 3) == [200, 200, 417]


def test_token_realm_bad_token(server):
    r = server.client().post("/issue", {"realm": "Token", "metadata": {"token": "garbage"}},
                             ns=None, token=None)
    assert_error(r, 401)
