"""Mutated inputs (seeded, reproducible): the server answers every one with a client error or
a success, never a 5xx, never a dropped connection, and keeps serving."""

import json
import random

import msgpack
import pytest

from kwtest import MSGPACK_CT, rand

SEED_FILTERS = [
    'name == "a" and (protected == true or description contains "x")',
    'createTime > now("-1h") or updateTime < date("2020-01-01")',
    'associatedTags in ["a=b", "c=d"] and name not in ["x"]',
    'description matches "^[a-z]+$" and ID exists',
    'metadata not contains "k=v" or normalizedTags == "$identity=namespace"',
]

SEED_BODIES = [
    {"name": "fz", "description": "d", "associatedTags": ["a=b"], "metadata": ["k=v"],
     "protected": False, "annotations": {"k": ["v"]}},
    {"name": "fz2", "serviceCertificateValidity": "2h", "zoning": 1},
]

ALPHABET = '"\'()[]{},:=<>!\\ \t\n\x00\xff*/%_aZ09.-' + "é\u2028"


def mutate(rng, text, n):
    s = list(text)
    for _ in range(n):
        op = rng.randrange(4)
        pos = rng.randrange(len(s) + 1)
        if op == 0 and s:
            del s[min(pos, len(s) - 1)]
        elif op == 1:
            s.insert(pos, rng.choice(ALPHABET))
        elif op == 2 and s:
            s[min(pos, len(s) - 1)] = rng.choice(ALPHABET)
        else:
            a = rng.randrange(len(s) + 1)
            s[a:a] = s[pos:pos + rng.randrange(1, 8)]
    return "".join(s)


@pytest.fixture(scope="module")
def box(admin, ns):
    return admin.mkns(ns, "fz" + rand(6))["name"]


def test_mutated_filters(admin, box):
    rng = random.Random(1234)
    for i in range(300):
        flt = mutate(rng, rng.choice(SEED_FILTERS), rng.randrange(1, 6))
        r = admin.get("/namespaces", ns=box, params={"q": flt})
        assert r.status in (200, 400), "q=%r -> %r" % (flt, r)
    assert admin.server.health() == 200


def test_mutated_json_bodies(admin, box):
    rng = random.Random(5678)
    for i in range(300):
        text = mutate(rng, json.dumps(rng.choice(SEED_BODIES)), rng.randrange(1, 6))
        r = admin.post("/namespaces", data=text.encode("utf-8", "surrogatepass"), ns=box,
                       content_type="application/json")
        assert r.status in (200, 400, 422), "body %r -> %r" % (text, r)
        if r.status == 200:
            assert admin.delete("/namespaces/" + r.data["ID"], ns=box).status == 200
    assert admin.server.health() == 200


def test_mutated_msgpack_bodies(admin, box):
    rng = random.Random(9012)
    for i in range(300):
        raw = bytearray(msgpack.packb(rng.choice(SEED_BODIES)))
        for _ in range(rng.randrange(1, 4)):
            op = rng.randrange(3)
            pos = rng.randrange(len(raw))
            if op == 0:
                raw[pos] = rng.randrange(256)
            elif op == 1:
                del raw[pos]
            else:
                raw.insert(pos, rng.randrange(256))
        r = admin.post("/namespaces", data=bytes(raw), ns=box, content_type=MSGPACK_CT)
        assert r.status in (200, 400, 422), "body %r -> %r" % (bytes(raw), r)
        if r.status == 200:
            assert admin.delete("/namespaces/" + r.data["ID"], ns=box).status == 200
    assert admin.server.health() == 200


def test_mutated_headers(server, admin, box):
    rng = random.Random(3456)
    seeds = {"X-Namespace": box, "Accept": "application/msgpack, application/json",
             "Content-Type": "application/json; charset=utf-8", "X-Fields": "name, ID",
             "Authorization": "Bearer " + admin.token}
    for i in range(200):
        h = dict(seeds)
        k = rng.choice(list(h))
        v = mutate(rng, h[k], rng.randrange(1, 4)).replace("\n", "").replace("\x00", "")
        h[k] = v.encode("utf-8")
        r = admin.get("/namespaces", ns=None, token=None, headers=h)
        assert r.status < 500, "%s: %r -> %r" % (k, v, r)
    assert server.health() == 200


def test_mutated_paths(admin, box):
    rng = random.Random(7890)
    seeds = ["/namespaces", "/namespaces/%s" % ("a" * 24), "/v/1/namespaces",
             "/namespaces/%s/accounts" % ("b" * 24), "/apiauthorizations", "/roles"]
    for i in range(200):
        path = mutate(rng, rng.choice(seeds), rng.randrange(1, 4))
        path = "/" + "".join(c if c.isalnum() or c in "/-_.~%" else "%%%02X" % (ord(c) & 0xFF)
                             for c in path).lstrip("/")
        for method in ("GET", "DELETE"):
            r = admin.request(method, path, ns=box)
            assert r.status < 500, "%s %r -> %r" % (method, path, r)
    assert admin.server.health() == 200
