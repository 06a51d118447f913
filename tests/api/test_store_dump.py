"""`keyward store-dump` (docs/tools.md): every stored row as one JSON line, read-only,
with documents decoded and nothing decrypted; beside a running server; exit 1 with one
line on a store it cannot read; and it never changes the store."""
import json
import os
import threading

from kwtest import Client, blob_bytes, rand, run_store_dump, store_dump

LDAP_BODY = {"address": "127.0.0.1:1", "connSecurityProtocol": "None",
             "bindDN": "cn=reader,dc=example,dc=org", "baseDN": "ou=people,dc=example,dc=org"}


def rows(dump, table):
    return [line["row"] for line in dump if line["table"] == table]


def test_lists_a_namespace_and_sealed_secrets_as_stored(start_server):
    s = start_server()
    admin = Client(s, s.token())
    ns = admin.mkns("/", "d-" + rand(8))
    secret = "bind-" + rand(16)
    lp = admin.ok(admin.post("/ldapproviders", dict(LDAP_BODY, name="p-" + rand(6),
                                                    bindPassword=secret), ns=ns["name"]))
    sa = admin.ok(admin.post("/serviceaccounts", {"name": "sa-" + rand(6)}, ns=ns["name"]))

    dump = s.store_dump()  # the server is running
    assert all(set(line) == {"table", "row"} for line in dump)
    tables = {line["table"] for line in dump}
    assert {"namespaces", "accounts", "meta", "jobs", "schema_migrations"} <= tables
    # The namespace's row: its columns, and its document decoded from MessagePack.
    mine = [r for r in rows(dump, "namespaces") if r["ID"] == ns["ID"]]
    assert len(mine) == 1
    assert mine[0]["doc"]["name"] == ns["name"] and mine[0]["doc"]["ID"] == ns["ID"]
    assert mine[0]["namespace"] == "/"
    # The LDAP bind password as stored: sealed, not the secret (nothing is decrypted).
    (doc,) = [r["doc"] for r in rows(dump, "ldapproviders") if r["ID"] == lp["ID"]]
    assert doc["bindPassword"].startswith("kw1:") and secret not in doc["bindPassword"]
    # The service account's secret: only its hash is stored.
    (doc,) = [r["doc"] for r in rows(dump, "serviceaccounts") if r["ID"] == sa["ID"]]
    assert doc["secretHash"] and sa["clientSecret"] not in json.dumps(doc)
    # Neither secret anywhere at rest, blobs included.
    raw = s.store_bytes()
    assert secret.encode() not in raw and sa["clientSecret"].encode() not in raw
    # Blobs are base64; a meta entry is there as written.
    meta = {r["key"]: r["value"] for r in rows(dump, "meta")}
    assert blob_bytes(meta["ca.tls.crt"]).decode() == (s.data / "tls" / "ca.pem").read_text()
    assert blob_bytes(meta["ca.tls.key"]).startswith(b"kw1:")


def test_named_tables_only(start_server):
    s = start_server()
    dump = s.store_dump("meta", "schema_migrations")
    assert {line["table"] for line in dump} == {"meta", "schema_migrations"}
    versions = [r["version"] for r in rows(dump, "schema_migrations")]
    assert versions == sorted(versions) and versions[0] == 1
    r = run_store_dump(s.data, "no_such_table", check=False)
    assert r.returncode == 1 and r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1 and "no_such_table" in r.stderr


def test_reads_while_the_server_writes(start_server):
    s = start_server()
    admin = Client(s, s.token())
    stop = threading.Event()
    made = []

    def writer():
        while not stop.is_set():
            made.append(admin.mkns("/", "w-" + rand(8))["name"])

    t = threading.Thread(target=writer)
    t.start()
    try:
        for _ in range(5):
            dump = s.store_dump("namespaces")
            assert all(line["table"] == "namespaces" for line in dump)
    finally:
        stop.set()
        t.join(60)
    assert made and s.health() == 200
    names = {r["doc"]["name"] for r in s.store_rows("namespaces")}
    assert set(made) <= names


def test_refuses_a_bad_store(tmp_path):
    cases = {"missing": None, "empty": b"", "garbage": os.urandom(8192),
             "text": b"this is not a database\n" * 512}
    for name, content in cases.items():
        data = tmp_path / name
        data.mkdir()
        if content is not None:
            (data / "keyward.db").write_bytes(content)
        r = run_store_dump(data, check=False)
        assert r.returncode == 1, (name, r)
        assert r.stdout == "", name
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("keyward: "), (name, r.stderr)
        assert "keyward.db" in lines[0], (name, r.stderr)
        if content is None:
            assert not (data / "keyward.db").exists()  # not created
    r = run_store_dump(tmp_path, store="mysql://u:pw@nowhere/db", check=False)
    assert r.returncode == 1 and "unsupported store" in r.stderr
    assert "pw" not in r.stderr and "mysql://u:***@nowhere/db" in r.stderr, r.stderr
    r = run_store_dump(tmp_path, store="postgres://u:s3cret@nowhere.invalid/db", check=False)
    assert r.returncode == 1 and r.stdout == "", r
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "postgres://u:***@nowhere.invalid/db" in lines[0], r.stderr
    assert "s3cret" not in r.stderr


def test_never_changes_the_store(start_server):
    s = start_server()
    admin = Client(s, s.token())
    admin.mkns("/", "n-" + rand(8))
    s.stop(check=True)  # no server: nothing else writes
    before = run_store_dump(s.data).stdout
    assert before
    for tables in ((), ("meta",), ("namespaces", "jobs"), ("no_such_table",)):
        run_store_dump(s.data, *tables, check=False)
    assert run_store_dump(s.data).stdout == before
    # And the server starts on it as before.
    s.start()
    assert Client(s, s.token()).get("/namespaces", ns="/").status == 200
    s.stop(check=True)
    after = store_dump(s.data, "namespaces")
    assert after == [json.loads(line) for line in before.splitlines()
                     if json.loads(line)["table"] == "namespaces"]
