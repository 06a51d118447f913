"""The audit log: every write and every token request, allowed or not."""
import csv
import io
import time

from kwtest import Client, assert_error, rand


def entries(admin, ns, q=None, recursive=True):
    params = {"order": "-createTime", "pageSize": "0"}
    if recursive:
        params["recursive"] = "true"
    if q:
        params["q"] = q
    for _ in range(50):  # failures are recorded just after the answer
        r = admin.get("/auditlogs", ns=ns, params=params)
        assert r.status == 200, r
        if r.data:
            return r.data
        time.sleep(0.05)
    return []


def test_write_is_recorded_with_trace_and_principal(admin, ns):
    r = admin.post("/namespaces", {"name": "a" + rand(6)}, ns=ns)
    assert r.status == 200
    trace = r.headers["X-Trace-Id"]
    e = entries(admin, ns, 'trace == "%s"' % trace)
    assert len(e) == 1, e
    e = e[0]
    assert e["object"] == "auditlog"
    assert (e["operation"], e["identity"], e["status"]) == ("create", "namespace", 200)
    assert e["objectID"] == r.data["ID"] and e["namespace"] == ns
    assert "@auth:account=admin" in e["principal"]
    assert e["clientIP"] == "127.0.0.1"


def test_failed_and_denied_writes_are_recorded(server, admin, ns):
    r = admin.post("/namespaces", {"name": "bad name"}, ns=ns)
    assert r.status == 422
    e = entries(admin, ns, 'trace == "%s"' % r.headers["X-Trace-Id"])
    assert e and e[0]["status"] == 422 and e[0]["error"]
    name, pw, _ = admin.mkaccount(ns)
    c = server.client(server.token(name, pw))
    r = c.delete("/namespaces/" + "0" * 24, ns=ns)
    assert_error(r, 403)
    e = entries(admin, ns, 'trace == "%s"' % r.headers["X-Trace-Id"])
    assert e and e[0]["status"] == 403 and "@auth:account=" + name in e[0]["principal"]


def test_token_requests_are_recorded_without_secrets(server, admin):
    bad = server.issue(password="wrong-" + rand(6))
    assert bad.status == 401
    e = entries(admin, "/", 'trace == "%s"' % bad.headers["X-Trace-Id"])
    assert e and (e[0]["operation"], e[0]["status"]) == ("issue", 401)
    assert e[0]["principal"] == ["@auth:account=admin"]
    assert "wrong-" not in str(e[0])
    good = server.issue()
    e = entries(admin, "/", 'trace == "%s"' % good.headers["X-Trace-Id"])
    assert e and e[0]["status"] == 200 and good.data["token"] not in str(e[0])


def test_a_token_realm_request_records_whose_token_it_was(server, admin):
    """A narrower copy of a token (realm Token) is recorded with the claims of the token
    presented, as the other realms record who they claimed to be (a new user's review: the
    entry had "principal": [])."""
    tok = server.token()
    c = Client(server)
    r = c.post("/issue", {"realm": "Token", "metadata": {"token": tok}, "validity": "5m",
                          "restrictedPermissions": ["namespace,get"]}, ns=None, token=None)
    assert r.status == 200, r
    e = entries(admin, "/", 'trace == "%s"' % r.headers["X-Trace-Id"])
    assert e and (e[0]["operation"], e[0]["status"]) == ("issue", 200), e
    assert "@auth:account=admin" in e[0]["principal"], e
    assert "@auth:realm=vince" in e[0]["principal"], e
    assert tok not in str(e[0]) and r.data["token"] not in str(e[0])
    bad = c.post("/issue", {"realm": "Token", "metadata": {"token": tok[:-4] + "AAAA"}},
                 ns=None, token=None)
    assert bad.status == 401
    e = entries(admin, "/", 'trace == "%s"' % bad.headers["X-Trace-Id"])
    assert e and e[0]["status"] == 401 and e[0]["principal"] == [], e


def test_csv_export_says_who_did_what(admin, ns):
    """The audit log's CSV names when, who, what, from where and how it ended without
    X-Fields (a new user's review: it gave ID, namespace and times only)."""
    admin.mkns(ns, "csv-" + rand(6))
    r = admin.get("/auditlogs", ns=ns, accept="text/csv")
    assert r.status == 200 and r.headers["Content-Type"].startswith("text/csv"), r
    rows = list(csv.reader(io.StringIO(r.content.decode())))
    assert rows[0] == ["createTime", "principal", "operation", "identity", "objectID",
                       "method", "path", "status", "clientIP", "requestNamespace", "trace",
                       "error"], rows[0]
    made = [row for row in rows[1:] if row[2] == "create" and row[3] == "namespace"]
    assert made and "@auth:account=admin" in made[-1][1] and made[-1][7] == "200", rows


def test_reads_are_not_recorded(admin, ns):
    r = admin.get("/namespaces", ns=ns)
    time.sleep(0.2)
    assert admin.get("/auditlogs", ns=ns, params={
        "recursive": "true", "q": 'trace == "%s"' % r.headers["X-Trace-Id"]}).data == []


def test_audit_log_is_read_only_and_filterable(admin, ns):
    assert_error(admin.post("/auditlogs", {}, ns=ns), 405)
    e = entries(admin, ns)[0]
    assert_error(admin.put("/auditlogs/" + e["ID"], e, ns=e["namespace"]), 405)
    assert_error(admin.delete("/auditlogs/" + e["ID"], ns=e["namespace"]), 405)
    assert_error(admin.get("/auditlogs", ns=ns, params={"q": "bogus == 1"}), 400)
    got = entries(admin, ns, 'operation == "create" and status == 200')
    assert got and all(x["operation"] == "create" for x in got)


def test_viewer_reads_the_audit_log_a_requester_needs_the_permission(server, admin, ns):
    # API.md 5: viewers get everything but secrets, and nothing secret is logged.
    name, pw, _ = admin.mkaccount(ns)
    admin.mkauthz(ns, [["@auth:realm=vince", "@auth:account=" + name]],
                  ["@auth:role=namespace.viewer"])
    assert server.client(server.token(name, pw)).get("/auditlogs", ns=ns).status == 200
    name, pw, _ = admin.mkaccount(ns)
    admin.mkauthz(ns, [["@auth:realm=vince", "@auth:account=" + name]],
                  ["@auth:role=certificate.requester"])
    c = server.client(server.token(name, pw))
    assert_error(c.get("/auditlogs", ns=ns), 403)
    admin.mkauthz(ns, [["@auth:realm=vince", "@auth:account=" + name]], ["auditlog,get"])
    assert c.get("/auditlogs", ns=ns).status == 200


def test_retention_setting_is_validated(start_server):
    s = start_server(config={"audit_retention": "1m"}, wait=False)
    assert s.wait_exit() != 0
    assert "audit_retention" in s.stderr()


def count(admin, ns, q=None):
    params = {"recursive": "true"}
    if q:
        params["q"] = q
    r = admin.head("/auditlogs", ns=ns, params=params)
    assert r.status == 204, r
    return int(r.headers["X-Count-Total"])


def test_deleted_namespaces_entries_vanish_and_stay_out_of_a_new_one(admin):
    """Audit entries are a bulk resource: a namespace delete does not wait for them
    (they are purged in the background), yet none is visible once the delete is
    answered, and a namespace created again under the same path inherits none."""
    name = "gone-" + rand(6)
    tenant = admin.mkns("/", name)
    path = tenant["name"]
    for i in range(5):
        admin.ok(admin.post("/namespaces", {"name": "c%d" % i}, ns=path))
        admin.ok(admin.post("/namespaces", {"name": "d%d" % i}, ns=path + "/c%d" % i))
    q = 'namespace == "%s" or namespace == "%s/c0"' % (path, path)
    assert len(entries(admin, "/", q)) >= 6
    one = entries(admin, path)[0]
    admin.ok(admin.delete("/namespaces/" + tenant["ID"], ns="/"))
    assert count(admin, "/", q) == 0
    assert_error(admin.get("/auditlogs/" + one["ID"], ns=path), 404)
    again = admin.mkns("/", name)
    assert count(admin, path) == 0
    assert_error(admin.get("/auditlogs/" + one["ID"], ns=path), 404)
    admin.ok(admin.post("/namespaces", {"name": "fresh"}, ns=path))
    fresh = entries(admin, path)
    assert len(fresh) == 1 and fresh[0]["namespace"] == path
    assert admin.get("/auditlogs/" + fresh[0]["ID"], ns=path).status == 200
    admin.ok(admin.delete("/namespaces/" + again["ID"], ns="/"))
