"""The LDAP realm (API.md section 3) and its `ldapproviders` (docs/api-decisions.md,
"LDAP realm"), against a real slapd started for this module (tests/api/ldapserver.py)."""

import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from kwtest import Client, assert_error, free_port, jwt_parts, rand
import ldapserver
from ldapserver import PEOPLE, READER_DN, READER_PW, USERS

pytestmark = pytest.mark.skipif(not ldapserver.available(),
                                reason="slapd/ldap-utils missing (scripts/deps.sh test)")

ALICE_PW = USERS["alice"][0]
BOB_PW = USERS["bob"][0]
WEIRD = "we(ir)d*"
WEIRD_PW = USERS[WEIRD][0]
INVALID = "Invalid credentials"


@pytest.fixture(scope="module")
def slapd(tmp_path_factory):
    s = ldapserver.Slapd(tmp_path_factory.mktemp("slapd"))
    s.start()
    yield s
    s.stop()


def provider_body(slapd, proto="None", **kw):
    body = {"name": "p-" + rand(8), "address": slapd.address, "connSecurityProtocol": proto,
            "bindDN": READER_DN, "bindPassword": READER_PW, "baseDN": PEOPLE}
    if proto == "TLS":
        body["address"] = slapd.ldaps_address
    if proto != "None":
        body["certificateAuthority"] = slapd.ca_pem()
    body.update(kw)
    return body


def mkprovider(admin, ns, slapd, proto="None", **kw):
    return admin.ok(admin.post("/ldapproviders", provider_body(slapd, proto, **kw), ns=ns))


def issue(server, ns, provider, username, password, **extra):
    md = {"username": username, "password": password, "namespace": ns}
    if provider is not None:
        md["provider"] = provider
    md.update(extra)
    return Client(server).post("/issue", {"realm": "LDAP", "metadata": md}, ns=None,
                               token=None)


def token_of(server, ns, provider, username, password):
    r = issue(server, ns, provider, username, password)
    assert r.status == 200, r
    assert "metadata" not in r.data
    return r.data["token"]


@pytest.fixture(scope="module")
def plain(admin, ns, slapd):
    return mkprovider(admin, ns, slapd, "None")


# -- the resource ---------------------------------------------------------------------

def test_create_never_returns_bind_password(admin, ns, slapd):
    body = provider_body(slapd, "TLS", description="corporate directory")
    r = admin.post("/ldapproviders", body, ns=ns)
    obj = admin.ok(r)
    assert READER_PW.encode() not in r.content
    assert "bindPassword" not in obj
    assert obj["object"] == "ldapprovider"
    assert obj["namespace"] == ns
    assert obj["connSecurityProtocol"] == "TLS"
    assert obj["bindSearchFilter"] == "uid={USERNAME}"
    assert obj["subjectKey"] == "uid"
    assert obj["default"] is False
    assert obj["ignoredKeys"] == []
    g = admin.get("/ldapproviders/" + obj["ID"], ns=ns)
    assert "bindPassword" not in admin.ok(g) and READER_PW.encode() not in g.content
    lst = admin.get("/ldapproviders", ns=ns, params={"q": 'name == "%s"' % obj["name"]})
    items = admin.ok(lst)
    assert [o["name"] for o in items] == [obj["name"]]
    assert "bindPassword" not in items[0] and READER_PW.encode() not in lst.content


def test_bind_password_sealed_at_rest(server, admin, ns, slapd):
    secret = "sealed-" + rand(16)
    obj = mkprovider(admin, ns, slapd, bindPassword=secret)
    assert secret.encode() not in server.store_bytes()
    rows = [r["doc"] for r in server.store_rows("ldapproviders")
            if r["doc"]["name"] == obj["name"]]
    assert len(rows) == 1
    doc = rows[0]  # the stored document, as written: nothing is decrypted by the dump
    assert doc["bindPassword"] and doc["bindPassword"] != secret
    assert doc["bindPassword"].startswith("kw1:")  # sealed (core/seal.h)


def test_update_keeps_sealed_password(server, admin, ns, slapd):
    obj = mkprovider(admin, ns, slapd)
    obj["description"] = "edited"
    admin.ok(admin.put("/ldapproviders/" + obj["ID"], obj, ns=ns))
    token_of(server, ns, obj["name"], "alice", ALICE_PW)


@pytest.mark.parametrize("field,value", [
    ("address", "127.0.0.1:1"), ("connSecurityProtocol", "None"), ("bindDN", "cn=x,dc=t"),
    ("certificateAuthority", "")])
def test_the_password_must_come_again_with_a_change_of_where_it_goes(
        server, admin, ns, slapd, field, value):
    # Whoever may edit a provider (an editor) must not point the stored bind password at a
    # host of theirs and receive it at the next login (a black-box review did, then logged
    # in as an administrator of the directory it served). Without the password such a
    # change is 422 on bindPassword and changes nothing; with it, it is made.
    obj = mkprovider(admin, ns, slapd)
    if field == "certificateAuthority" and not obj.get(field):
        field, value = "address", "127.0.0.2:1"
    if field == "connSecurityProtocol" and obj[field] == value:
        value = "InbandTLS"
    r = admin.put("/ldapproviders/" + obj["ID"], dict(obj, **{field: value}), ns=ns)
    e = assert_error(r, 422)
    assert e["data"]["attribute"] == "bindPassword" and field in e["description"], e
    token_of(server, ns, obj["name"], "alice", ALICE_PW)  # unchanged
    r = admin.put("/ldapproviders/" + obj["ID"], dict(obj, bindPassword="other-" + rand(6),
                                                       **{field: value}), ns=ns)
    assert r.status == 200 and r.data[field] == value, r


def test_update_leaving_out_the_filter_gets_the_default(server, admin, ns, slapd):
    obj = mkprovider(admin, ns, slapd)
    body = {k: v for k, v in obj.items() if k != "bindSearchFilter"}
    got = admin.ok(admin.put("/ldapproviders/" + obj["ID"], body, ns=ns))
    assert got["bindSearchFilter"] == "uid={USERNAME}"
    token_of(server, ns, obj["name"], "alice", ALICE_PW)
    e = assert_error(admin.put("/ldapproviders/" + obj["ID"],
                               dict(got, bindSearchFilter="(uid=x)"), ns=ns), 422)
    assert e["data"]["attribute"] == "bindSearchFilter"


@pytest.mark.parametrize("attrs, attribute", [
    ({"address": "127.0.0.1"}, "address"),
    ({"address": "127.0.0.1:0"}, "address"),
    ({"address": "127.0.0.1:70000"}, "address"),
    ({"address": "ldap://127.0.0.1:389"}, "address"),
    ({"connSecurityProtocol": "SSL"}, "connSecurityProtocol"),
    ({"bindSearchFilter": "(uid=alice)"}, "bindSearchFilter"),
    ({"certificateAuthority": "not a certificate"}, "certificateAuthority"),
    ({"bindPassword": ""}, "bindPassword"),
    ({"baseDN": ""}, "baseDN"),
    ({"subjectKey": "uid)(x"}, "subjectKey"),
])
def test_validation(admin, ns, slapd, attrs, attribute):
    r = admin.post("/ldapproviders", provider_body(slapd, **attrs), ns=ns)
    e = assert_error(r, 422, "Validation Error")
    assert e["data"]["attribute"] == attribute


def test_ca_with_a_private_key_is_refused(admin, ns, slapd):
    key = (slapd.dir / "wrong-ca.key").read_text()
    r = admin.post("/ldapproviders",
                   provider_body(slapd, "TLS", certificateAuthority=slapd.ca_pem() + key), ns=ns)
    e = assert_error(r, 422, "Validation Error")
    assert e["data"]["attribute"] == "certificateAuthority"
    assert "PRIVATE KEY" not in r.content.decode()


def test_name_unique_per_namespace(admin, ns, slapd, plain):
    r = admin.post("/ldapproviders", provider_body(slapd, name=plain["name"]), ns=ns)
    assert_error(r, 422, "Duplicate Key")
    other = admin.mkns(ns)["name"]
    admin.ok(admin.post("/ldapproviders", provider_body(slapd, name=plain["name"]), ns=other))


# -- /issue over every transport --------------------------------------------------------

@pytest.mark.parametrize("proto", ["None", "InbandTLS", "TLS"])
def test_issue_over(server, admin, ns, slapd, proto):
    p = mkprovider(admin, ns, slapd, proto)
    r = issue(server, ns, p["name"], "alice", ALICE_PW)
    assert r.status == 200, r
    assert r.data["realm"] == "LDAP" and r.data["token"]
    assert "metadata" not in r.data and ALICE_PW.encode() not in r.content


@pytest.mark.parametrize("proto", ["InbandTLS", "TLS"])
def test_wrong_ca_is_503(server, admin, ns, slapd, proto):
    # The directory's certificate does not verify: the console cannot talk to it safely,
    # which is the directory (configuration) being unavailable, not bad user credentials.
    p = mkprovider(admin, ns, slapd, proto, certificateAuthority=slapd.wrong_ca_pem())
    e = assert_error(issue(server, ns, p["name"], "alice", ALICE_PW), 503)
    assert "certificate" not in e["description"].lower()


def test_system_trust_does_not_know_the_test_ca(server, admin, ns, slapd):
    p = mkprovider(admin, ns, slapd, "TLS", certificateAuthority="")
    assert_error(issue(server, ns, p["name"], "alice", ALICE_PW), 503)


def test_plain_ldaps_port_mismatch_is_503(server, admin, ns, slapd):
    # ldaps:// to the plain port: the TLS handshake fails.
    p = mkprovider(admin, ns, slapd, "TLS", address=slapd.address)
    assert_error(issue(server, ns, p["name"], "alice", ALICE_PW), 503)


# -- claims -------------------------------------------------------------------------------

def test_claims_from_the_entry(server, admin, ns, slapd, plain):
    tok = token_of(server, ns, plain["name"], "bob", BOB_PW)
    _, payload, _ = jwt_parts(tok)
    data = payload["data"]
    assert payload["sub"] == "bob"
    assert data["realm"] == "ldap"
    assert data["uid"] == "bob"
    assert sorted(data["ou"]) == ["Engineering", "Ops"]
    assert data["mail"] == "bob@example.com"
    assert data["employeenumber"] == "42"
    assert data["namespace"] == ns
    assert data["provider"] == plain["name"]
    assert "userpassword" not in data and "userPassword" not in data
    assert all(k == k.lower() for k in data)
    r = Client(server, tok).post("/authn", {"token": tok}, ns=None, token=None)
    claims = admin.ok(r)["authClaims"]
    for c in ("@auth:realm=ldap", "@auth:subject=bob", "@auth:ou=Engineering", "@auth:ou=Ops",
              "@auth:namespace=" + ns, "@auth:provider=" + plain["name"]):
        assert c in claims, claims


def test_a_token_goes_with_its_provider(server, admin, ns, slapd):
    # A token names the provider that vouched for it (@auth:providerid); once the provider
    # is deleted - or its namespace, and one is made again at the path with a provider of the
    # same name and the same policy - the token is refused at the next request, as a deleted
    # account's (a black-box review used such a token for 720 h, and in the new namespace).
    top = admin.mkns(ns, "lp-" + rand(6))["name"]
    sub = admin.mkns(top, "t")
    p = mkprovider(admin, sub["name"], slapd, name="corp")
    subject = [["@auth:realm=ldap", "@auth:provider=corp", "@auth:namespace=" + sub["name"]]]
    admin.mkauthz(sub["name"], subject, ["@auth:role=namespace.viewer"])
    tok = token_of(server, sub["name"], "corp", "bob", BOB_PW)
    assert jwt_parts(tok)[1]["data"]["providerid"] == p["ID"]
    c = Client(server, tok)
    assert c.get("/certificates", ns=sub["name"]).status == 200
    admin.ok(admin.delete("/namespaces/" + sub["ID"], ns=top))
    again = admin.mkns(top, "t")["name"]
    mkprovider(admin, again, slapd, name="corp")
    admin.mkauthz(again, subject, ["@auth:role=namespace.viewer"])
    assert_error(c.get("/certificates", ns=again), 401)
    assert Client(server).post("/authn", {"token": tok}, ns=None, token=None).status == 401
    fresh = token_of(server, again, "corp", "bob", BOB_PW)
    assert Client(server, fresh).get("/certificates", ns=again).status == 200
    q = [o for o in admin.list("ldapproviders", again) if o["name"] == "corp"][0]
    admin.ok(admin.delete("/ldapproviders/" + q["ID"], ns=again))
    assert_error(Client(server, fresh).get("/certificates", ns=again), 401)


def test_large_entry_still_gives_a_usable_token(server, admin, ns, plain):
    # Binary values are not claims; attributes beyond the token's budget are left out
    # rather than producing a token the console itself would refuse (8 KiB).
    tok = token_of(server, ns, plain["name"], "dave", USERS["dave"][0])
    assert len(tok) < 8192
    data = jwt_parts(tok)[1]["data"]
    assert "jpegphoto" not in data and "description" not in data
    assert data["cn"] == "Dave Large" and data["ou"] == "Archive"
    r = Client(server).post("/authn", {"token": tok}, ns=None, token=None)
    assert "@auth:ou=Archive" in admin.ok(r)["authClaims"]


def test_ignored_keys_and_subject_key(server, admin, ns, slapd):
    p = mkprovider(admin, ns, slapd, ignoredKeys=["mail", "OBJECTCLASS"], subjectKey="mail")
    _, payload, _ = jwt_parts(token_of(server, ns, p["name"], "alice", ALICE_PW))
    assert payload["sub"] == "alice@example.com"
    assert "mail" not in payload["data"] and "objectclass" not in payload["data"]
    assert payload["data"]["ou"] == "Engineering"


def test_authorization_on_an_ldap_claim(server, admin, ns, slapd, plain):
    child = admin.mkns(ns)["name"]
    admin.mkauthz(ns, [["@auth:realm=ldap", "@auth:ou=Ops", "@auth:provider=" + plain["name"]]],
                  ["@auth:role=namespace.viewer"], authorized_ns=child)
    bob = Client(server, token_of(server, ns, plain["name"], "bob", BOB_PW))
    r = bob.get("/namespaces", ns=child)
    assert r.status == 200, r
    alice = Client(server, token_of(server, ns, plain["name"], "alice", ALICE_PW))
    assert_error(alice.get("/namespaces", ns=child), 403)


def test_a_providers_users_are_confined_to_its_namespace(server, admin, ns, slapd, plain):
    """A tenant's administrator can make a provider named like an ancestor's and point it at
    a directory of its own: a grant above the tenant that names the provider and a user must
    not reach that directory's users (a hostile review: a tenant administrator logged in as
    its own "alice" and was administrator of the whole console). A provider's tokens are
    restricted to its namespace."""
    tenant = admin.mkns(ns)["name"]
    admin.mkauthz(ns, [["@auth:realm=ldap", "@auth:provider=" + plain["name"],
                        "@auth:uid=alice"]], ["@auth:role=namespace.administrator"])
    real = token_of(server, ns, plain["name"], "alice", ALICE_PW)
    assert jwt_parts(real)[1]["restrictions"].get("namespace") == ns
    assert Client(server, real).get("/apiauthorizations", ns=ns).status == 200
    mkprovider(admin, tenant, slapd, name=plain["name"])  # the look-alike
    tok = token_of(server, tenant, plain["name"], "alice", ALICE_PW)
    assert jwt_parts(tok)[1]["restrictions"] == {"namespace": tenant}
    fake = Client(server, tok)
    assert_error(fake.get("/apiauthorizations", ns=ns), 403)
    assert_error(fake.post("/namespaces", {"name": "pwned-" + rand(6)}, ns=ns), 403)
    assert_error(fake.get("/namespaces", ns=ns, params={"recursive": "true"}), 403)
    # what the tenant's administrators could grant it anyway, it has
    assert fake.get("/apiauthorizations", ns=tenant).status == 200
    # a narrower restriction may be asked for; a wider one is refused
    md = {"username": "alice", "password": ALICE_PW, "namespace": tenant,
          "provider": plain["name"]}
    for wider in (ns, "/"):
        r = Client(server).post("/issue", {"realm": "LDAP", "metadata": md,
                                           "restrictedNamespace": wider}, ns=None, token=None)
        assert assert_error(r, 422)["data"] == {"attribute": "restrictedNamespace"}, r
    inner = admin.mkns(tenant)["name"]
    r = Client(server).post("/issue", {"realm": "LDAP", "metadata": md,
                                       "restrictedNamespace": inner}, ns=None, token=None)
    assert r.status == 200, r
    assert jwt_parts(r.data["token"])[1]["restrictions"] == {"namespace": inner}


# -- refusals -------------------------------------------------------------------------------

@pytest.mark.parametrize("username, password", [
    ("alice", "wrong-password"),          # wrong password
    ("alice", BOB_PW),                    # another user's password
    ("nobody", ALICE_PW),                 # unknown user
    ("alice", ""),                        # empty: would be an unauthenticated bind
    ("", ALICE_PW),                       # no user
    ("carol", "anything"),                # an entry without a password
    ("*)(uid=*", ALICE_PW),               # filter injection
    ("*", ALICE_PW),                      # would match every user unescaped
    ("al*", ALICE_PW),                    # would match alice alone unescaped
    ("alice)(uid=alice", ALICE_PW),
    ("alice\u0000", ALICE_PW),
    ("x" * 257, ALICE_PW),
])
def test_invalid_credentials(server, ns, plain, username, password):
    assert_error(issue(server, ns, plain["name"], username, password), 401, description=INVALID)


def test_escaped_name_still_logs_in(server, ns, plain):
    # The escaping is real: a name full of filter syntax finds its own entry.
    _, payload, _ = jwt_parts(token_of(server, ns, plain["name"], WEIRD, WEIRD_PW))
    assert payload["sub"] == WEIRD


def test_filter_matching_several_users_is_401(server, admin, ns, slapd):
    p = mkprovider(admin, ns, slapd, bindSearchFilter="(ou={USERNAME})")
    # ou=Engineering holds alice and bob: ambiguous, never "the first one".
    assert_error(issue(server, ns, p["name"], "Engineering", ALICE_PW), 401, description=INVALID)
    # ou=Sales holds carol alone (no password): still a refusal.
    assert_error(issue(server, ns, p["name"], "Sales", "x"), 401, description=INVALID)
    # ou=Research holds only the weird user: the filter template is honoured.
    assert issue(server, ns, p["name"], "Research", WEIRD_PW).status == 200


def test_unknown_provider_or_namespace_is_401(server, ns, plain):
    assert_error(issue(server, ns, "no-such-" + rand(6), "alice", ALICE_PW), 401,
                 description=INVALID)
    assert_error(issue(server, "/no-such-" + rand(6), plain["name"], "alice", ALICE_PW), 401,
                 description=INVALID)
    # Providers live in one namespace: the parent does not see its children's.
    assert_error(issue(server, "/", plain["name"], "alice", ALICE_PW), 401, description=INVALID)


def test_namespace_is_required(server):
    r = Client(server).post("/issue", {"realm": "LDAP", "metadata": {
        "username": "alice", "password": ALICE_PW}}, ns=None, token=None)
    e = assert_error(r, 422, "Validation Error")
    assert e["data"]["attribute"] == "metadata.namespace"


@pytest.mark.parametrize("key", ["username", "password", "provider", "namespace"])
def test_metadata_must_be_strings(server, ns, plain, key):
    md = {"username": "alice", "password": ALICE_PW, "namespace": ns, "provider": plain["name"]}
    md[key] = 42
    r = Client(server).post("/issue", {"realm": "LDAP", "metadata": md}, ns=None, token=None)
    e = assert_error(r, 422, "Validation Error")
    assert e["data"]["attribute"] == "metadata." + key


def test_concurrent_logins(server, admin, ns, slapd):
    # Each login builds its own TLS context; several at once must not trip libldap.
    provs = [mkprovider(admin, ns, slapd, proto)["name"] for proto in ("TLS", "InbandTLS")]

    def one(i):
        user, pw = ("alice", ALICE_PW) if i % 2 else ("bob", BOB_PW)
        return issue(server, ns, provs[i % 2], user, pw).status

    with ThreadPoolExecutor(8) as ex:
        assert list(ex.map(one, range(32))) == [200] * 32


def test_default_provider(server, admin, ns, slapd):
    child = admin.mkns(ns)["name"]
    assert_error(issue(server, child, None, "alice", ALICE_PW), 401, description=INVALID)
    mkprovider(admin, child, slapd, name="b-default", default=True, subjectKey="cn")
    mkprovider(admin, child, slapd, name="a-other", default=False)
    mkprovider(admin, child, slapd, name="c-default", default=True)
    _, payload, _ = jwt_parts(token_of(server, child, None, "alice", ALICE_PW))
    assert payload["data"]["provider"] == "b-default"
    assert payload["sub"] == "Alice Liddell"


def test_lockout_counts_the_directory_entry_whatever_the_spelling(start_server, slapd):
    """The directory matches "alice", " alice", "alice\u00a0", "ALICE" and a fullwidth
    "\uff41lice" to one entry (RFC 4518): each spelling, or leaving out the default provider's name, had a count of its
    own, so a locked account still logged in and guessing never ended (a hostile review).
    Failures count against the entry the name finds; a name that finds none, against
    itself, so that a missing user locks as a present one does."""
    s = start_server({"login_failures_max": 3, "login_failures_per_address_max": 1000,
                      "login_failure_window": "1h", "login_lockout": "60s"})
    admin = s.admin()
    ns = admin.mkns("/", "lk-" + rand(6))["name"]
    p = mkprovider(admin, ns, slapd, default=True)
    for _ in range(3):
        assert_error(issue(s, ns, p["name"], "alice", "wrong-" + rand(6)), 401)
    for spelling, provider in (("alice", p["name"]), ("alice ", p["name"]),
                               (" alice", p["name"]), ("alice\u00a0", p["name"]),
                               ("ALICE", p["name"]), ("\uff41lice", p["name"]),  # fullwidth a
                               ("alice", None), (" Alice ", None)):
        r = issue(s, ns, provider, spelling, ALICE_PW)
        assert r.status == 429, (spelling, provider, r)
        assert "token" not in r.content.decode()
    assert issue(s, ns, p["name"], "bob", BOB_PW).status == 200  # another entry
    # A missing user, and an unknown provider or namespace, lock the same way, in every
    # spelling, so that the lock tells nothing of which exist (a code review: " ghost" was
    # 401 where " alice" was 429, and an unknown provider never locked).
    for who, provider, where in (("ghost", p["name"], ns), ("alice", "nosuch", ns),
                                 ("alice", p["name"], ns + "/nosuch")):
        for _ in range(3):
            assert_error(issue(s, where, provider, who, "wrong"), 401, description=INVALID)
        for spelling in (who, " " + who.upper(), who + "\u00a0",
                         chr(ord(who[0]) + 0xFEE0) + who[1:]):  # its fullwidth first letter
            r = issue(s, where, provider, spelling, "wrong")
            assert r.status == 429, (who, provider, where, spelling, r)
    # another provider's "alice" (another directory, as far as the console knows) is another
    # user
    q = mkprovider(admin, ns, slapd)
    assert issue(s, ns, q["name"], "alice", ALICE_PW).status == 200


# -- the directory down ------------------------------------------------------------------------

def test_closed_port_is_503(server, admin, ns, slapd):
    p = mkprovider(admin, ns, slapd, address="127.0.0.1:%d" % free_port())
    e = assert_error(issue(server, ns, p["name"], "alice", ALICE_PW), 503)
    assert e["description"] == "The directory is unavailable"


def test_stopped_directory_is_503(server, admin, ns, tmp_path):
    s = ldapserver.Slapd(tmp_path / "slapd2")
    s.start()
    try:
        p = mkprovider(admin, ns, s, "InbandTLS")
        token_of(server, ns, p["name"], "alice", ALICE_PW)
    finally:
        s.stop()
    assert_error(issue(server, ns, p["name"], "alice", ALICE_PW), 503)
    s.start()  # and back: nothing was cached
    try:
        token_of(server, ns, p["name"], "alice", ALICE_PW)
    finally:
        s.stop()


def test_silent_directory_times_out_503(server, admin, ns, slapd):
    # Accepts connections (the kernel's backlog) but never answers.
    with socket.socket() as hole:
        hole.bind(("127.0.0.1", 0))
        hole.listen(8)
        p = mkprovider(admin, ns, slapd, address="127.0.0.1:%d" % hole.getsockname()[1])
        t0 = time.monotonic()
        assert_error(issue(server, ns, p["name"], "alice", ALICE_PW), 503)
        assert time.monotonic() - t0 < 30


def test_refused_service_account_is_503(server, admin, ns, slapd):
    p = mkprovider(admin, ns, slapd, bindPassword="not-the-reader-password")
    assert_error(issue(server, ns, p["name"], "alice", ALICE_PW), 503)


# -- who may see providers ------------------------------------------------------------------------

def test_only_administrators_read_or_change_providers(server, admin, ns, slapd, plain):
    # A provider decides which identities the authorizations an administrator wrote will
    # trust: an editor able to point one at a directory of its own (sending a bind password
    # of its own) logged in as that directory's "boss" and was administrator (a black-box
    # review). Identity providers are administrator business, as API authorizations and
    # service accounts are; viewers and editors neither read nor change them.
    for role in ("viewer", "editor"):
        name, pw, _ = admin.mkaccount(ns)
        admin.mkauthz(ns, [["@auth:realm=vince", "@auth:account=" + name]],
                      ["@auth:role=namespace." + role])
        c = Client(server, server.token(name, pw))
        assert_error(c.get("/ldapproviders", ns=ns), 403)
        assert_error(c.get("/ldapproviders/" + plain["ID"], ns=ns), 403)
        body = dict(plain, address="127.0.0.1:1", bindPassword="mine-" + rand(6))
        assert_error(c.put("/ldapproviders/" + plain["ID"], body, ns=ns), 403)
        assert_error(c.post("/ldapproviders", provider_body(slapd, "None"), ns=ns), 403)
    r = admin.get("/ldapproviders", ns=ns)
    items = admin.ok(r)
    assert plain["name"] in [o["name"] for o in items]
    assert all("bindPassword" not in o for o in items) and READER_PW.encode() not in r.content


def test_an_idempotency_key_is_each_directorys_users_own(server, admin, ns, slapd):
    """Two providers' "alice" are two principals: one's Idempotency-Key is not replayed to,
    nor refused for, the other (a review got the other directory's jdoe's answer)."""
    top = admin.mkns(ns, "idem-" + rand(6))["name"]
    one, two = mkprovider(admin, top, slapd), mkprovider(admin, top, slapd)
    admin.mkauthz(top, [["@auth:realm=ldap", "@auth:namespace=" + top]],
                  ["@auth:role=namespace.editor"])
    key = "deploy-" + rand(6)
    made = []
    for p in (one, two):
        c = Client(server, token_of(server, top, p["name"], "alice", ALICE_PW))
        r = c.post("/namespaces", {"name": "from-" + p["name"]}, ns=top, idem=key)
        assert r.status == 200, r
        made.append(r.data["name"])
    assert made == [top + "/from-" + one["name"], top + "/from-" + two["name"]]
