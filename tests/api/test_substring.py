"""`subjectCN contains "..."` (API.md section 6: on a string, a substring test), answered
from the store's trigram index for values of 3 characters or more and by a scan for
shorter ones: exactly the certificates whose subjectCN holds the value, case-sensitive,
every character literal (quotes and the index's own query syntax included), following
updates and deletes, inside the request's namespaces, combined with other conditions."""

import pytest

from certmaker import make_cert
from kwtest import rand

# subjectCN values: overlapping substrings, case, quotes, FTS5 syntax, UTF-8, short.
CNS = [
    "www.example.com",
    "api.example.com",
    "Example Corp Root",
    "mail.EXAMPLE.org",
    'say "hi" there',
    'a*b (c) AND NEAR(x y) OR "z"',
    "col:umn - ^start {v}: +x",
    "h\u00e9t\u00e9ro.example.fr",
    "ab",
    "exa",
]

NEEDLES = [
    # start, middle, end, whole, absent
    "www.", "api.ex", "example", "xampl", ".com", "le.com", "www.example.com", "Root",
    "www.example.com.", "nowhere",
    # case-sensitive
    "Example", "EXAMPLE", "eXample", "example.org",
    # quotes
    'say "hi"', '"hi"', '"hi" there', '"z"', '""', '" OR "',
    # the index's query syntax, literal
    "a*b", "*", "(c)", "(c", "AND", "AND NEAR", "NEAR(x y)", "NEAR(", "OR", "OR \"z",
    "col:umn", "col:", "- ^", "^start", "{v}:", "{v}", "+x", ":", "-",
    # UTF-8: three characters in six bytes, two in four
    "\u00e9t\u00e9", "\u00e9t", "t\u00e9ro",
    # one and two characters (scanned)
    "x", "e", "ab", "a", "E", "\u00e9", '"',
    # three exactly
    "exa", "xa", "w.e",
]


def quote(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def imp(admin, ns, cn):
    r = admin.post("/certificates", {"certificate": make_cert(cn).pem}, ns=ns)
    assert r.status == 200, r
    assert r.data["subjectCN"] == cn
    return r.data


def ids(admin, ns, *filters, recursive=False):
    params = [("q", f) for f in filters] + [("pageSize", "0")]
    if recursive:
        params.append(("recursive", "true"))
    r = admin.get("/certificates", ns=ns, params=params)
    assert r.status == 200, r
    assert r.headers.get("X-Count-Total") == str(len(r.data))
    h = admin.head("/certificates", ns=ns, params=params)
    assert h.status == 204 and h.headers.get("X-Count-Total") == str(len(r.data)), h
    return {o["ID"] for o in r.data}


def contains(needle):
    return "subjectCN contains " + quote(needle)


@pytest.fixture(scope="module")
def box(admin):
    """A namespace with one certificate per CNS value: {ID: subjectCN}."""
    ns = admin.mkns("/", "s-" + rand(8))["name"]
    return ns, {imp(admin, ns, cn)["ID"]: cn for cn in CNS}


def test_contains_is_an_exact_case_sensitive_substring_test(admin, box):
    ns, certs = box
    for needle in NEEDLES:
        want = {i for i, cn in certs.items() if needle in cn}
        assert ids(admin, ns, contains(needle)) == want, needle
        nots = {i for i, cn in certs.items() if needle not in cn}
        assert ids(admin, ns, "subjectCN not contains " + quote(needle)) == nots, needle


def test_examples(admin, box):
    ns, certs = box
    by = {cn: i for i, cn in certs.items()}
    assert ids(admin, ns, contains("example")) == {
        by["www.example.com"], by["api.example.com"], by["h\u00e9t\u00e9ro.example.fr"]}
    assert ids(admin, ns, contains("Example")) == {by["Example Corp Root"]}
    assert ids(admin, ns, contains("EXAMPLE")) == {by["mail.EXAMPLE.org"]}
    assert ids(admin, ns, contains('"hi"')) == {by['say "hi" there']}
    assert ids(admin, ns, contains("NEAR(x y)")) == {by['a*b (c) AND NEAR(x y) OR "z"']}
    assert ids(admin, ns, contains("ab")) == {by["ab"]}


def test_combined_with_other_conditions_and_or(admin, box):
    ns, certs = box
    by = {cn: i for i, cn in certs.items()}
    www, api = by["www.example.com"], by["api.example.com"]
    corp = by["Example Corp Root"]
    assert ids(admin, ns, contains("example") + " and " + contains("www")) == {www}
    assert ids(admin, ns, contains("example") + ' and subjectCN != "www.example.com"') == {
        api, by["h\u00e9t\u00e9ro.example.fr"]}
    assert ids(admin, ns, contains("www.") + " or " + contains("Corp")) == {www, corp}
    assert ids(admin, ns, contains("www.") + " or " + contains("ab")) == {www, by["ab"]}
    assert ids(admin, ns, contains("www.") + ' or subjectCN == "exa"') == {www, by["exa"]}
    assert ids(admin, ns, "(" + contains("example") + " or " + contains("Corp") + ")"
               " and dnsNames exists") == set()
    assert ids(admin, ns, contains("example") + ' and status == "ACTIVE"'
               ' and selfSigned == true') == {www, api, by["h\u00e9t\u00e9ro.example.fr"]}
    # several q= are OR-ed
    assert ids(admin, ns, contains("api."), contains("Root")) == {api, corp}
    # a page of them, in ID order, with the total of all
    r = admin.get("/certificates", ns=ns, params={"q": contains("e"), "pageSize": 2})
    want = sorted(i for i, cn in certs.items() if "e" in cn)
    assert r.status == 200 and [o["ID"] for o in r.data] == want[:2]
    assert r.headers["X-Count-Total"] == str(len(want))
    r = admin.get("/certificates", ns=ns, params={"q": contains("xampl"), "pageSize": 1,
                                                  "order": "-subjectCN"})
    assert [o["subjectCN"] for o in r.data] == ["www.example.com"]
    assert r.headers["X-Count-Total"] == str(sum("xampl" in cn for cn in certs.values()))


def test_cursor_pages_csv_and_reports(admin, box):
    ns, certs = box
    want = sorted(i for i, cn in certs.items() if "xampl" in cn)
    # cursor paging: limit and after
    got, after = [], None
    while True:
        params = {"q": contains("xampl"), "limit": 1}
        if after:
            params["after"] = after
        r = admin.get("/certificates", ns=ns, params=params)
        assert r.status == 200, r
        got += [o["ID"] for o in r.data]
        after = r.headers.get("X-Next")
        if not after:
            break
    assert got == want
    # every match, streamed as CSV
    r = admin.get("/certificates", ns=ns, accept="text/csv",
                  params={"q": contains("xampl"), "pageSize": 0}, fields=["ID", "subjectCN"])
    assert r.status == 200, r
    lines = r.content.decode().split("\r\n")
    assert lines[0] == "ID,subjectCN" and sorted(x.split(",")[0] for x in lines[1:] if x) == want
    # a report over the matches
    r = admin.post("/certificatereports", {"q": contains("xampl")}, ns=ns)
    assert r.status == 200, r
    assert r.data["total"] == len(want)
    r = admin.post("/certificatereports", {"q": contains("xampl") + " or " + contains("ab")},
                   ns=ns)
    assert r.status == 200 and r.data["total"] == len(want) + 1, r


def test_the_index_follows_updates_and_deletes(admin):
    ns = admin.mkns("/", "u-" + rand(8))["name"]
    cert = make_cert("upd.follow.example")
    a = imp(admin, ns, "upd.follow.example")
    r = admin.post("/certificates", {"certificate": cert.pem}, ns=ns)
    b = r.data
    assert ids(admin, ns, contains("follow")) == {a["ID"], b["ID"]}

    # An update (of what a client may write) leaves the value, and the entry.
    got = admin.ok(admin.get("/certificates/" + a["ID"], ns=ns))
    got["description"] = "still here"
    admin.ok(admin.put("/certificates/" + a["ID"], got, ns=ns))
    assert ids(admin, ns, contains("follow")) == {a["ID"], b["ID"]}
    assert ids(admin, ns, contains("follow") + ' and description contains "still"') == {a["ID"]}

    # A delete takes it out; importing it again brings a new object back.
    assert admin.delete("/certificates/" + a["ID"], ns=ns).status == 200
    assert ids(admin, ns, contains("follow")) == {b["ID"]}
    assert ids(admin, ns, contains("fo")) == {b["ID"]}
    assert admin.delete("/certificates/" + b["ID"], ns=ns).status == 200
    assert ids(admin, ns, contains("follow")) == set()
    c = admin.ok(admin.post("/certificates", {"certificate": cert.pem}, ns=ns))
    assert c["ID"] != b["ID"]
    assert ids(admin, ns, contains("follow")) == {c["ID"]}


def test_namespaces_stay_apart(admin):
    top = admin.mkns("/", "n-" + rand(8))["name"]
    left = admin.mkns(top, "left")["name"]
    right = admin.mkns(top, "right")["name"]
    cn = "shared-%s.example.net" % rand(6)
    a = imp(admin, left, cn)["ID"]
    b = imp(admin, right, cn)["ID"]
    c = imp(admin, top, "other-" + cn)["ID"]
    mark = cn.split(".")[0]

    assert ids(admin, left, contains(mark)) == {a}
    assert ids(admin, right, contains(mark)) == {b}
    assert ids(admin, top, contains(mark)) == {c}
    assert ids(admin, top, contains(mark), recursive=True) == {a, b, c}
    assert ids(admin, left, contains(mark), recursive=True) == {a}
    assert ids(admin, top, contains("shared-"), recursive=True) >= {a, b}
    assert ids(admin, "/", contains(mark), recursive=True) == {a, b, c}
    assert ids(admin, "/", contains(mark)) == set()

    # A deleted namespace's certificates are gone from every answer at once, and a
    # namespace created again under the same path starts empty.
    assert admin.delete("/namespaces/" + admin.ok(admin.get("/namespaces", ns=top, params={
        "q": 'name == "%s"' % left}))[0]["ID"], ns=top).status == 200
    assert ids(admin, top, contains(mark), recursive=True) == {b, c}
    again = admin.mkns(top, "left")["name"]
    assert ids(admin, again, contains(mark)) == set()
    d = imp(admin, again, cn)["ID"]
    assert ids(admin, top, contains(mark), recursive=True) == {b, c, d}


def test_bad_filters_are_still_400(admin, box):
    ns, _ = box
    r = admin.get("/certificates", ns=ns, params={"q": 'subjectCN contains ["abc"]'})
    assert r.status == 400, r
    r = admin.get("/certificates", ns=ns, params={"q": "subjectCN contains 123"})
    assert r.status == 400, r
