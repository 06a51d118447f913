"""Reads by ID under concurrency: every answer is the request's own.

On PostgreSQL a worker thread reads the objects of the GETs by ID that came in one round of
its events together, in one round trip, after one look at the other servers' writes
(docs/postgres.md). Many clients asking at once for objects of several kinds, in several
namespaces, with and without recursive=true, and for what they may not see or what does not
exist, must each get exactly what one request alone would: the object asked for, a 404, a
400, never another request's object. On SQLite the same requests are read one by one."""

import random
import threading

from kwtest import assert_error, rand

THREADS = 16
READS = 120  # per thread


def make_world(admin):
    """A tenant with three sub-namespaces, each holding service accounts and API
    authorizations: [(namespace, kind, object)]."""
    root = admin.mkns("/", "br-" + rand(8))["name"]
    objs = []
    for i in range(3):
        ns = admin.mkns(root, "n%d" % i)["name"]
        for j in range(4):
            sa = admin.ok(admin.post("/serviceaccounts", {"name": "sa%d" % j}, ns=ns))
            objs.append((ns, "serviceaccounts", sa))
            az = admin.ok(admin.post("/apiauthorizations", {
                "name": "az%d" % j, "subject": [["@auth:realm=vince", "@auth:account=x%d" % j]],
                "authorizedNamespace": ns,
                "authorizedIdentities": ["@auth:role=namespace.viewer"]}, ns=ns))
            objs.append((ns, "apiauthorizations", az))
    return root, objs


def one_read(c, rng, root, objs):
    """A random read and what it must answer: (response, expected status, expected ID)."""
    ns, kind, obj = rng.choice(objs)
    other = rng.choice([o for o in objs if o[0] != ns])[0]
    path = "/%s/%s" % (kind, obj["ID"])
    pick = rng.randrange(7)
    if pick == 0:
        return c.get(path, ns=ns), 200, obj["ID"]
    if pick == 1:  # from the tenant's root, the whole subtree
        return c.get(path + "?recursive=true", ns=root), 200, obj["ID"]
    if pick == 2:  # another namespace does not hold it
        return c.get(path, ns=other), 404, None
    if pick == 3:  # nor does the root without recursive
        return c.get(path, ns=root), 404, None
    if pick == 4:
        return c.head(path, ns=ns), 204, None
    if pick == 5:
        return c.get("/%s/%s" % (kind, "f" * 24), ns=ns), 404, None
    return c.get(path + "?recursive=maybe", ns=ns), 400, None


def reader(server, token, seed, root, objs, barrier, bad):
    c = server.client(token)  # its own connection
    rng = random.Random(seed)
    barrier.wait()
    for _ in range(READS):
        r, status, want_id = one_read(c, rng, root, objs)
        if r.status != status or (want_id is not None and r.data.get("ID") != want_id):
            bad.append((r.method, r.path, r.status, status, r.content[:200]))
            return


def test_concurrent_reads_by_id_each_answer_their_own(server, admin):
    root, objs = make_world(admin)
    token = server.token()
    barrier = threading.Barrier(THREADS)
    bad = []
    threads = [threading.Thread(target=reader,
                                args=(server, token, i, root, objs, barrier, bad))
               for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert bad == []


def test_a_batch_of_reads_sees_a_write_answered_before_it(server, admin):
    """A reader that learns of an update (its answer came) and then reads the object, among
    other readers, sees the update: each read of a batch is made after its request came."""
    root, objs = make_world(admin)
    token = server.token()
    ns, _, az = next(o for o in objs if o[1] == "apiauthorizations")
    stop = threading.Event()

    def noise(seed):
        c = server.client(token)
        rng = random.Random(seed)
        while not stop.is_set():
            one_read(c, rng, root, objs)

    threads = [threading.Thread(target=noise, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    try:
        c = server.client(token)
        obj = az
        for i in range(40):
            obj = c.ok(c.put("/apiauthorizations/" + obj["ID"],
                             dict(obj, description="v%d" % i), ns=ns))
            got = c.get("/apiauthorizations/" + obj["ID"], ns=ns)
            assert got.status == 200 and got.data["description"] == "v%d" % i, got
    finally:
        stop.set()
        for t in threads:
            t.join()


def test_reads_by_id_in_a_namespace_that_does_not_exist_are_404(server, admin):
    root, objs = make_world(admin)
    _, kind, obj = objs[0]
    assert_error(admin.get("/%s/%s" % (kind, obj["ID"]), ns=root + "/nope"), 404)
