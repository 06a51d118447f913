"""A namespace delete racing writes into it (API.md section 4: "Deleting a namespace deletes
everything below it, in one transaction").

Each round creates a fresh namespace, lets sixteen clients create objects in it (and update
one) as fast as they can, and deletes the namespace in the middle. Every write must either
have landed before the delete (and be gone with it) or be answered 404; nothing may be left
whose namespace does not exist; and once the namespace is created again under the same name,
nothing of the old one may apply to it: not its objects, not its API authorizations.
"""

import random
import threading
import time

from kwtest import REQ_TIMEOUT, assert_error, rand

ROUNDS = 8
THREADS = 16
CREATES_MAX = 40  # per thread and round; each thread stops at its first 404
ADMIN = "@auth:role=namespace.administrator"
KINDS = ("apiauthorizations", "serviceaccounts", "namespaces", "ldapproviders")
NAMESPACED = ("namespaces", "apiauthorizations", "serviceaccounts", "ldapproviders",
              "accounts", "appcredentials", "oidcproviders", "auditlogs")
TOKEN_URL = "/oauth2/access_token"


def body_of(kind, victim, user):
    if kind == "apiauthorizations":
        return {"name": "az-" + rand(8), "authorizedNamespace": victim,
                "subject": [["@auth:realm=vince", "@auth:account=" + user]],
                "authorizedIdentities": [ADMIN]}
    if kind == "serviceaccounts":
        return {"name": "sa-" + rand(8), "roles": [ADMIN]}
    if kind == "namespaces":
        return {"name": "c" + rand(8)}
    return {"name": "p-" + rand(8), "address": "127.0.0.1:1", "connSecurityProtocol": "None",
            "bindDN": "cn=reader", "bindPassword": "pw-" + rand(8), "baseDN": "dc=example"}


def creator(server, token, kind, victim, user, barrier, out):
    c = server.client(token)  # its own session: its own connection
    barrier.wait()
    for _ in range(CREATES_MAX):
        r = c.post("/" + kind, body_of(kind, victim, user), ns=victim)
        out.append((kind, r))
        if r.status != 200:
            return


def updater(server, token, victim, obj, barrier, out):
    c = server.client(token)
    barrier.wait()
    for i in range(CREATES_MAX):
        obj = dict(obj, description="update %d" % i)
        r = c.put("/apiauthorizations/" + obj["ID"], obj, ns=victim)
        out.append(("put", r))
        if r.status != 200:
            return
        obj = r.data


def deleter(admin_token, server, victim_id, barrier, out):
    c = server.client(admin_token)
    barrier.wait()
    time.sleep(random.uniform(0.01, 0.12))  # let the creates get going first
    out.append(c.delete("/namespaces/" + victim_id, ns="/"))


def race(server, admin, victim, victim_id, user, seed_policy):
    results, deleted = [], []
    barrier = threading.Barrier(THREADS + 1)
    threads = [threading.Thread(target=deleter,
                                args=(admin.token, server, victim_id, barrier, deleted))]
    for i in range(THREADS):
        if i == THREADS - 1:
            threads.append(threading.Thread(
                target=updater, args=(server, admin.token, victim, seed_policy, barrier,
                                      results)))
        else:
            threads.append(threading.Thread(
                target=creator, args=(server, admin.token, KINDS[i % len(KINDS)], victim, user,
                                      barrier, results)))
    for t in threads:
        t.start()
    for t in threads:
        t.join(REQ_TIMEOUT * 2)
    assert len(deleted) == 1 and deleted[0].status == 200, deleted
    return results


def everything(admin, kind):
    r = admin.get("/" + kind, ns="/", params={"recursive": "true", "pageSize": 0})
    assert r.status == 200, r
    assert r.headers["X-Count-Total"] == str(len(r.data)), "more than page_size_max"
    return r.data


def orphans(admin):
    """Every object (of every namespaced resource) whose namespace does not exist."""
    names = {"/"} | {n["name"] for n in everything(admin, "namespaces")}
    found = []
    for kind in NAMESPACED:
        for o in everything(admin, kind):
            if o["namespace"] not in names:
                found.append((kind, o["namespace"], o.get("name", o["ID"])))
    return found


def test_namespace_delete_racing_creates(start_server):
    # The rounds try many deleted service accounts' secrets from one address: the
    # per-address login brake (test_ratelimit.py) is not what this test is about.
    server = start_server({"login_failures_per_address_max": 0})
    admin = server.admin()
    home = admin.mkns("/", "users")["name"]
    user, pw, _ = admin.mkaccount(home)
    problems = {"status": 0, "survivors": 0, "orphans": 0, "inherited": 0, "sa_token": 0}
    bad_rounds = {k: 0 for k in problems}
    details = []
    landed = refused = 0
    for rnd in range(ROUNDS):
        bare = "victim-%d-%s" % (rnd, rand(4))
        victim_obj = admin.mkns("/", bare)
        victim = victim_obj["name"]
        seed = admin.mkauthz(victim, [["@auth:realm=vince", "@auth:account=" + user]], [ADMIN])
        utoken = server.token(user, pw)
        u = server.client(utoken)
        assert u.get("/namespaces", ns=victim).status == 200  # the grant works before

        results = race(server, admin, victim, victim_obj["ID"], user, seed)
        count = dict.fromkeys(problems, 0)
        created = []
        for kind, r in results:
            if r.status == 200:
                landed += kind != "put"
                created.append((kind, r.data))
            elif r.status == 404:
                refused += 1
                assert_error(r, 404)
            else:
                count["status"] += 1
                details.append("round %d: %s answered %r" % (rnd, kind, r))
        for kind, obj in created:
            rest = "apiauthorizations" if kind == "put" else kind
            if admin.get("/%s/%s" % (rest, obj["ID"]), ns="/",
                         params={"recursive": "true"}).status != 404:
                count["survivors"] += 1
        time.sleep(0.2)  # the audit entries of refused requests are written after the answer
        left = [o for o in orphans(admin) if o[1] == victim or o[1].startswith(victim + "/")]
        count["orphans"] = len(left)
        details += ["round %d: orphan %r" % (rnd, o) for o in left[:5]]

        # Someone else creates the namespace again: nothing of the old one applies to it.
        again = admin.mkns("/", bare)
        assert again["name"] == victim
        for kind in NAMESPACED:
            objs = admin.list(kind, victim, params={"recursive": "true"})
            count["inherited"] += len(objs)
        for r in (u.get("/namespaces", ns=victim), u.get("/apiauthorizations", ns=victim),
                  u.post("/namespaces", {"name": "mine"}, ns=victim)):
            if r.status not in (401, 403):
                count["inherited"] += 1
                details.append("round %d: old grant applies to the new namespace: %r"
                               % (rnd, r))
        u2 = server.client(server.token(user, pw))  # a fresh token: no cached verdicts
        if u2.get("/namespaces", ns=victim).status not in (401, 403):
            count["inherited"] += 1
        for kind, obj in created:
            if kind != "serviceaccounts":
                continue
            s = server.session()
            try:
                t = s.post(server.url + TOKEN_URL, data={"grant_type": "client_credentials"},
                           auth=(obj["clientID"], obj["clientSecret"]), timeout=REQ_TIMEOUT)
            finally:
                s.close()
            if t.status_code != 401:
                count["sa_token"] += 1
                details.append("round %d: deleted service account still gets tokens: %s"
                               % (rnd, t.text[:200]))
        for k, v in count.items():
            problems[k] += v
            bad_rounds[k] += v > 0
    left = orphans(admin)  # anywhere, at the end
    problems["orphans_at_end"] = len(left)
    details += ["orphan at the end: %r" % (o,) for o in left[:5]]
    summary = "landed=%d refused=%d problems=%r bad rounds (of %d)=%r" % (
        landed, refused, problems, ROUNDS, bad_rounds)
    print(summary)
    assert refused > 0, "the delete never raced a write: " + summary
    assert not any(problems.values()), summary + "\n" + "\n".join(details[:30])


def test_refused_writes_are_audited_in_root(admin):
    """The audit entry of a write into a namespace that does not exist goes to the log of
    "/", with the path it named, never to a namespace created later under that path."""
    ghost = "/ghost-" + rand(8)
    r = admin.post("/namespaces", {"name": "x"}, ns=ghost)
    assert_error(r, 404)
    trace = r.data[0]["trace"]
    q = {"q": 'trace == "%s"' % trace}
    entries = []
    for _ in range(50):  # written by the writer just after the answer
        entries = admin.list("auditlogs", "/", params=q)
        if entries:
            break
        time.sleep(0.05)
    assert len(entries) == 1, entries
    assert entries[0]["namespace"] == "/"
    assert entries[0]["requestNamespace"] == ghost
    assert entries[0]["status"] == 404
    admin.mkns("/", ghost[1:])
    assert admin.list("auditlogs", ghost, params=q) == []
