"""Where keys live (docs/architecture.md, "Secrets"): CA keys sealed in the store, no
private key in clear in the data directory (but this server's own TLS key) nor in the
store (read with keyward store-dump); an upgrade from a data directory of the previous
version; token signing key rotation (signing_key_rotation) and the JWKS."""
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from kwtest import (KEYWARD_BIN, REPO, STORE, Server, blob_bytes, free_port, jwt_parts, rand,
                    store_bytes, store_dump)

PEM_KEY = b"PRIVATE KEY-----"


def private_key_files(data):
    """Files under `data` holding a PEM private key, as paths relative to it. (Every
    file, whatever it is: with SQLite the store's files are among them, with another
    store they are not; what the store holds is checked through store_bytes().)"""
    found = []
    for root, _, files in os.walk(data):
        for f in files:
            p = Path(root) / f
            if PEM_KEY in p.read_bytes():
                found.append(str(p.relative_to(data)))
    return sorted(found)


def meta(data, key):
    """The value of meta entry `key` as stored (text), read with `keyward store-dump`."""
    rows = [r["row"] for r in store_dump(data, "meta") if r["row"]["key"] == key]
    if not rows:
        return None
    return blob_bytes(rows[0]["value"]).decode()


def jwks_kids(server):
    r = server.session().get(server.url + "/.well-known/jwks.json", timeout=30)
    assert r.status_code == 200, r.text
    return [k["kid"] for k in r.json()["keys"]]


def kid_of(token):
    return jwt_parts(token)[0]["kid"]


def mkac(client, ns):
    r = client.post("/appcredentials", {"name": "ac-" + rand(8),
                                        "roles": ["@auth:role=namespace.viewer"]}, ns=ns)
    assert r.status == 200, r
    return r.data["credentials"]


def cert_login(server, tmp_path, cred):
    tag = rand(6)
    crt, key = tmp_path / ("c-%s.pem" % tag), tmp_path / ("k-%s.pem" % tag)
    crt.write_text(cred["certificate"])
    key.write_text(cred["privateKey"])
    key.chmod(0o600)
    s = server.session()
    s.cert = (str(crt), str(key))
    try:
        return s.post(server.url + "/issue", json={"realm": "Certificate"}, timeout=60)
    finally:
        s.close()


def openssl_verify(ca_file, cert_pem, tmp_path):
    p = tmp_path / ("v-%s.pem" % rand(6))
    p.write_text(cert_pem)
    return subprocess.run(["openssl", "verify", "-CAfile", str(ca_file), str(p)],
                          capture_output=True, text=True)


# -- who signs ------------------------------------------------------------------------

SIGN_CALLS = ("X509_sign", "X509_sign_ctx", "X509_CRL_sign", "X509_REQ_sign", "OCSP_basic_sign",
              "EVP_DigestSign", "EVP_PKEY_sign", "EVP_SignFinal")


def test_only_the_signer_uses_ca_keys():
    """OpenSSL signing calls appear in pki/signer.c (CA keys) and auth/jwt.c (token
    signing keys, never a CA's) only."""
    found = []
    for p in sorted((REPO / "src").rglob("*.c")):
        rel = str(p.relative_to(REPO / "src"))
        if rel in ("pki/signer.c", "auth/jwt.c"):
            continue
        text = p.read_text()
        found += ["%s: %s" % (rel, c) for c in SIGN_CALLS
                  if re.search(r"\b%s\w*\s*\(" % c, text)]
    assert found == []


# -- at rest --------------------------------------------------------------------------

def test_no_private_key_in_clear(start_server):
    s = start_server()
    assert private_key_files(s.data) == ["tls/server.key"]
    assert PEM_KEY not in store_bytes(s.data)
    for name in ("tls", "client"):
        assert meta(s.data, "ca.%s.key" % name).startswith("kw1:"), name
        assert "BEGIN CERTIFICATE" in meta(s.data, "ca.%s.crt" % name)
    assert (s.data / "tls" / "ca.pem").read_text() == meta(s.data, "ca.tls.crt")
    assert (s.data / "tls" / "client-ca.pem").read_text() == meta(s.data, "ca.client.crt")
    ring = meta(s.data, "jwt_keys")
    assert len(ring.splitlines()) == 1 and ring.split(" ")[3].startswith("kw1:")
    # After a restart still nothing, and the same CAs.
    ca = (s.data / "tls" / "ca.pem").read_bytes()
    s.stop(check=True)
    s.start()
    assert private_key_files(s.data) == ["tls/server.key"]
    assert (s.data / "tls" / "ca.pem").read_bytes() == ca


def test_app_credentials_verify_with_openssl(start_server, tmp_path):
    s = start_server()
    admin = s.admin()
    cred = mkac(admin, "/")
    r = openssl_verify(s.data / "tls" / "client-ca.pem", cred["certificate"], tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert cred["certificateAuthority"] == (s.data / "tls" / "client-ca.pem").read_text()
    r = openssl_verify(s.data / "tls" / "ca.pem", cred["certificate"], tmp_path)
    assert r.returncode != 0, "the TLS CA must not vouch for clients"
    assert cert_login(s, tmp_path, cred).status_code == 200


def first_to_exit(servers, timeout=60):
    end = time.time() + timeout
    while time.time() < end:
        for srv in servers:
            if srv.proc.poll() is not None:
                srv.rc = srv.proc.returncode
                srv._stopped_checked = True
                return srv
        time.sleep(0.05)
    raise AssertionError("neither server exited")


def test_two_servers_at_once_make_one_ca(tmp_path):
    """Two processes start at the same moment on one data directory. On PostgreSQL both
    serve: one creates the CAs and the signing key, the other uses them. A SQLite store
    serves one server at a time (each keeps its authorization snapshot and OCSP answers
    in memory and follows its own commits only): the second says so and exits, the store
    stays whole, and it starts once the first has stopped."""
    data = tmp_path / "data"
    conf = {"public_url": "https://keyward.test"}  # one console: one issuer (API.md §8)
    a = Server(tmp_path / "a", data=data, config=conf)
    b = Server(tmp_path / "b", data=data, config=conf)
    a.spawn()
    b.spawn()
    try:
        if STORE == "sqlite":
            loser = first_to_exit((a, b))
            a, b = (b, loser) if loser is a else (a, loser)
            assert loser.rc != 0, loser.stderr()
            assert "in use by another keyward server" in loser.stderr(), loser.stderr()
        a.wait_ready()
        ta = a.token()
        if STORE == "sqlite":
            a.stop(check=True)
            b.start()
        else:
            b.wait_ready()
        tb = b.token()
        for srv in (a, b) if STORE != "sqlite" else (b,):
            assert srv.health() == 200
        assert kid_of(ta) == kid_of(tb)
        assert b.client(ta).get("/namespaces").status == 200
        if STORE != "sqlite":
            assert a.client(tb).get("/namespaces").status == 200
        # Both serve certificates of the one TLS CA in the store.
        with open(a.ca) as f:
            assert f.read() == meta(data, "ca.tls.crt")
        cred = mkac(b.admin(), "/")
        assert cert_login(b, tmp_path, cred).status_code == 200
        assert private_key_files(data) == ["tls/server.key"]
    finally:
        a.stop(check=True)
        b.stop(check=True)


@pytest.mark.sqlite_only
def test_a_sqlite_store_is_one_servers_whatever_path_names_it(tmp_path):
    """The lock is the database file's, not its path's: a second server through a symlink
    or a hard link to the same file exits too (a review ran one through each: it served
    grants the first had deleted, and through the hard link wiped the first's data)."""
    a = Server(tmp_path / "a").start()
    db = a.data / "keyward.db"
    (tmp_path / "sym.db").symlink_to(db)
    os.link(db, tmp_path / "hard.db")
    try:
        for alias in ("sym.db", "hard.db"):
            data = tmp_path / ("d-" + alias)
            data.mkdir(mode=0o700)
            shutil.copy(a.data / "master.key", data / "master.key")
            r = subprocess.run([str(KEYWARD_BIN), "server", "--data", str(data), "--store",
                                "sqlite:" + str(tmp_path / alias), "--listen",
                                "127.0.0.1:%d" % free_port()],
                               capture_output=True, text=True, stdin=subprocess.DEVNULL,
                               timeout=60)
            assert r.returncode != 0 and "in use by another keyward server" in r.stderr, r
        assert a.health() == 200
    finally:
        a.stop(check=True)


# -- rotation -------------------------------------------------------------------------

def wait_for(pred, timeout, what):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.25)
    raise AssertionError("timed out waiting for " + what)


def test_signing_key_rotation(start_server):
    s = start_server(config={"signing_key_rotation": "3s", "token_max_validity": "8s"})
    t1 = s.token()
    k1 = kid_of(t1)
    assert jwks_kids(s) == [k1]
    # A rotation: the new key is published first, signs a few seconds later (so that
    # every server knows it before a token names it), both are published, old tokens
    # still work.
    wait_for(lambda: len(jwks_kids(s)) >= 2, 10, "a rotation")
    k2 = jwks_kids(s)[0]  # newest first
    assert k2 != k1
    assert kid_of(s.token()) == k1  # published, not signing yet
    wait_for(lambda: kid_of(s.token()) == k2, 10, "the new key to sign")
    t2 = s.token()
    kids = jwks_kids(s)
    assert k1 in kids and k2 in kids
    assert s.client(t1).get("/namespaces").status == 200
    assert s.client(t2).get("/namespaces").status == 200
    # token_max_validity after its retirement the old key is gone; t1 has expired.
    wait_for(lambda: k1 not in jwks_kids(s), 20, "the first key to leave the JWKS")
    assert s.client(t1).get("/namespaces").status == 401
    # A restart keeps the ring.
    kids = jwks_kids(s)
    s.stop(check=True)
    s.start()
    assert set(kids[:1]) <= set(jwks_kids(s))


def test_no_rotation_by_default(start_server):
    s = start_server()
    k1 = kid_of(s.token())
    time.sleep(2.5)
    assert jwks_kids(s) == [k1]
    assert kid_of(s.token()) == k1


def test_a_rotation_too_frequent_for_the_ring_is_refused_at_start(start_server):
    """32 keys are kept: with signing_key_rotation 1s and token_max_validity 1h, a one-hour
    token was refused after about 40 s (a second look). Such settings stop the start, saying
    how often one may rotate; the tightest that fits starts."""
    s = start_server(config={"signing_key_rotation": "1s", "token_max_validity": "1h"},
                     wait=False)
    assert s.wait_exit() != 0
    assert "signing_key_rotation 1s is too short for token_max_validity 3600s" in s.stderr()
    assert "rotate every 117s or less often" in s.stderr()
    s = start_server(config={"signing_key_rotation": "117s", "token_max_validity": "1h"})
    assert s.health() == 200
