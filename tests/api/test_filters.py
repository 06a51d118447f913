"""The q= filter language (API.md section 6) on namespaces."""

import pytest
import requests

from kwtest import assert_error, rand

DATA = {
    "alpha": dict(description="Hello world", metadata=["Env=Prod"],
                  associatedTags=["color=red", "size=l"]),
    "beta": dict(description="hello there", metadata=["Env=Dev"],
                 associatedTags=["color=blue"]),
    "gamma": dict(description="Goodbye", associatedTags=["color=red"], protected=True),
    "delta": dict(),
    "epsilon": dict(description='say "hi"'),
}
ALL = set(DATA)


@pytest.fixture(scope="module")
def F(admin, ns):
    box = admin.mkns(ns, "f" + rand(8))["name"]
    objs = {}
    for name, attrs in DATA.items():
        objs[name] = admin.mkns(box, name, **attrs)
    # A grandchild that only recursive queries see.
    admin.mkns(box + "/alpha", "inner", description="Hello inner")
    return {"box": box, "objs": objs}


def q(admin, F, *filters, expect=200, **extra):
    params = [("q", f) for f in filters] + [("pageSize", "0")] + list(extra.items())
    r = admin.get("/namespaces", ns=F["box"], params=params)
    if expect != 200:
        e = assert_error(r, expect)
        text = r.content.decode("utf-8", "replace").lower()
        for leak in ("select ", "sqlite", " from ", "where ", "syntax error near"):
            assert leak not in text, "error leaks SQL: %r" % e
        return r
    assert r.status == 200, r
    names = [o["name"].rsplit("/", 1)[1] for o in r.data]
    assert r.headers.get("X-Count-Total") == str(len(names))
    return set(names)


def full(F, short):
    return F["box"] + "/" + short


# -- operators -----------------------------------------------------------------------

def test_eq(admin, F):
    assert q(admin, F, 'name == "%s"' % full(F, "alpha")) == {"alpha"}
    assert q(admin, F, 'description == "Goodbye"') == {"gamma"}
    assert q(admin, F, 'description == "goodbye"') == set()


def test_ne(admin, F):
    assert q(admin, F, 'name != "%s"' % full(F, "alpha")) == ALL - {"alpha"}


def test_lt_le_gt_ge_strings(admin, F):
    assert q(admin, F, 'name < "%s"' % full(F, "c")) == {"alpha", "beta"}
    assert q(admin, F, 'name <= "%s"' % full(F, "beta")) == {"alpha", "beta"}
    assert q(admin, F, 'name > "%s"' % full(F, "beta")) == {"delta", "epsilon", "gamma"}
    assert q(admin, F, 'name >= "%s"' % full(F, "delta")) == {"delta", "epsilon", "gamma"}


def test_contains_on_string(admin, F):
    assert q(admin, F, 'description contains "ello"') == {"alpha", "beta"}
    assert q(admin, F, 'description contains "Hello"') == {"alpha"}  # case-sensitive


def test_not_contains_on_string(admin, F):
    assert q(admin, F, 'description not contains "ello"') == {"gamma", "delta", "epsilon"}


def test_in_and_not_in(admin, F):
    lst = '["%s", "%s"]' % (full(F, "alpha"), full(F, "gamma"))
    assert q(admin, F, "name in " + lst) == {"alpha", "gamma"}
    assert q(admin, F, "name not in " + lst) == {"beta", "delta", "epsilon"}
    assert q(admin, F, 'name in ["%s"]' % full(F, "beta")) == {"beta"}
    assert q(admin, F, 'name in ["nothing"]') == set()


def test_matches(admin, F):
    assert q(admin, F, 'description matches "^[Hh]ello"') == {"alpha", "beta"}
    assert q(admin, F, 'name matches "/(al|ga)[a-z]+$"') == {"alpha", "gamma"}
    assert q(admin, F, 'description matches "^$"') == {"delta"}


def test_exists_and_not_exists(admin, F):
    assert q(admin, F, "name exists") == ALL
    assert q(admin, F, "name not exists") == set()
    assert q(admin, F, "ID exists") == ALL


def test_bool(admin, F):
    assert q(admin, F, "protected == true") == {"gamma"}
    assert q(admin, F, "protected == false") == ALL - {"gamma"}
    assert q(admin, F, "protected != true") == ALL - {"gamma"}


def test_list_fields_membership(admin, F):
    assert q(admin, F, 'associatedTags contains "color=red"') == {"alpha", "gamma"}
    assert q(admin, F, 'associatedTags == "color=blue"') == {"beta"}
    assert q(admin, F, 'associatedTags in ["size=l", "color=blue"]') == {"alpha", "beta"}
    assert q(admin, F, 'associatedTags not contains "color=red"') == {"beta", "delta",
                                                                     "epsilon"}
    assert q(admin, F, 'metadata contains "Env=Prod"') == {"alpha"}
    assert q(admin, F, 'metadata == "Env=Dev"') == {"beta"}


def test_normalized_tags(admin, F):
    assert q(admin, F, 'normalizedTags contains "$name=%s"' % full(F, "beta")) == {"beta"}
    assert q(admin, F, 'normalizedTags contains "color=red"') == {"alpha", "gamma"}
    assert q(admin, F, 'normalizedTags contains "env=Prod"') == {"alpha"}
    assert q(admin, F, 'normalizedTags == "$identity=namespace"') == ALL


def test_id_and_namespace(admin, F):
    a = F["objs"]["alpha"]["ID"]
    b = F["objs"]["beta"]["ID"]
    assert q(admin, F, 'ID == "%s"' % a) == {"alpha"}
    assert q(admin, F, 'ID in ["%s", "%s"]' % (a, b)) == {"alpha", "beta"}
    assert q(admin, F, 'namespace == "%s"' % F["box"]) == ALL
    assert q(admin, F, 'namespace == "/elsewhere"') == set()


def test_dates(admin, F):
    assert q(admin, F, 'createTime > date("2020-01-01")') == ALL
    assert q(admin, F, 'createTime < date("2020-01-01")') == set()
    assert q(admin, F, 'updateTime >= date("2020-01-02T03:04:05Z")') == ALL
    assert q(admin, F, 'createTime > date("2999-01-01")') == set()


@pytest.mark.parametrize("pattern", ["\\\\d", "\\\\t", "[\\\\d]", "a+?", "a++", "a{,3}", "a)",
                                     "\\\\bx", "\\\\<x"])
def test_regexes_the_stores_read_differently_are_400(admin, F, pattern):
    """SQLite (glibc) and PostgreSQL read these differently, or one refuses them (500 on
    PostgreSQL before): 400 on both, naming the field (a differential review)."""
    r = admin.get("/namespaces", ns=F["box"], params={"q": 'name matches "%s"' % pattern})
    e = assert_error(r, 400)
    assert e["data"] == {"attribute": "name"} and "differently" in e["description"], e


def test_a_regex_dot_is_one_character_of_utf8(admin):
    """`.` is a character, not a byte, on SQLite as on PostgreSQL (it was a byte)."""
    box = admin.mkns("/", "u8" + rand(6))["name"]
    for d in ("Zürich", "Zurich", "日本"):
        admin.mkns(box, description=d)

    def found(p):
        r = admin.get("/namespaces", ns=box, params={"q": 'description matches "%s"' % p})
        assert r.status == 200, r
        return sorted(o["description"] for o in r.data)
    assert found("^Z.rich$") == ["Zurich", "Zürich"]
    assert found("^Z..rich$") == []
    assert found("^.{2}$") == ["日本"]
    assert found("[ü]") == ["Zürich"]


def test_times_finer_than_the_millisecond_are_400(admin, F):
    """Times are kept to the millisecond: "...05.0004Z" compared as its millisecond would
    answer <, == and != wrongly (a review), so it is refused; zeros past it are fine."""
    for flt in ('createTime < "2030-01-02T03:04:05.0004Z"',
                'createTime != date("2030-01-02T03:04:05.123456Z")'):
        q(admin, F, flt, expect=400)
    assert q(admin, F, 'createTime < "2999-01-02T03:04:05.123000Z"') == ALL
    assert q(admin, F, 'createTime > date("2020-01-02T03:04:05.100000+00:00")') == ALL


def test_single_valued_parameters_given_twice_are_400(admin, F):
    for k in ("page", "pageSize", "limit", "recursive"):
        r = admin.get("/namespaces", ns=F["box"], params=[(k, "1"), (k, "2")])
        assert "more than once" in assert_error(r, 400)["description"], r


def test_a_long_unknown_name_is_cut_at_a_character(admin, F):
    """The name is quoted in the error, cut to 63 bytes: never inside a character, or the
    answer is not UTF-8 (a code review: 40 x "\u00e9" made it so). Parameters and body
    attributes alike."""
    name = "\u00e9" * 40  # 80 bytes
    r = admin.get("/namespaces", ns=F["box"], params={name: "1"})
    e = assert_error(r, 400)
    r.content.decode("utf-8")  # strict
    assert e["data"]["attribute"] == "\u00e9" * 31, e  # 62 bytes: 63 would split one
    assert "\u00e9" * 31 in e["description"], e
    r = admin.post("/namespaces", {"name": "n" + rand(6), name: 1}, ns=F["box"])
    e = assert_error(r, 422)
    r.content.decode("utf-8")
    assert e["data"]["attribute"] == "\u00e9" * 31, e


@pytest.mark.parametrize("params,attribute", [
    ([("pageSize", "x")], "pageSize"),
    ([("page", "0")], "page"),
    ([("limit", "1"), ("limit", "2")], "limit"),
    ([("recursive", "yes")], "recursive"),
    ([("pageSize", "1"), ("pagesize", "1")], "pagesize"),
    ([("limit", "1"), ("page", "1")], "limit"),
    ([("after", "x")], "after"),
    ([("limit", "1"), ("after", "x")], "after"),
    ([("order", "nosuchfield")], "order"),
    ([("q", 'name == "a" and')], "q"),
    ([("q", 'name == "a')], "q"),
    ([("q", 'name == "a"')] * 17, "q"),
    ([("q", 'nosuchfield == "a"')], "nosuchfield"),
    ([("colour", "red")], "colour"),
])
def test_a_bad_query_parameter_is_named_in_data_attribute(admin, F, params, attribute):
    """API.md 2: data.attribute names what was wrong, for query parameters as for a body's
    attributes, so that a script can tell which of its parameters to fix."""
    r = admin.get("/namespaces", ns=F["box"], params=params)
    assert assert_error(r, 400).get("data") == {"attribute": attribute}, r


def test_now(admin, F):
    assert q(admin, F, 'createTime > now("-1h")') == ALL
    assert q(admin, F, 'createTime < now("-1h")') == set()
    assert q(admin, F, 'updateTime <= now("1h")') == ALL
    assert q(admin, F, 'createTime > now("1h")') == set()
    assert q(admin, F, 'createTime > now("-720h") and createTime < now("0s")') == ALL


def test_string_escapes(admin, F):
    assert q(admin, F, 'description == "say \\"hi\\""') == {"epsilon"}
    assert q(admin, F, 'description contains "\\"hi"') == {"epsilon"}


# -- combinations --------------------------------------------------------------------

def test_and(admin, F):
    assert q(admin, F, 'associatedTags contains "color=red" and protected == false') == {
        "alpha"}


def test_or(admin, F):
    assert q(admin, F, 'description == "Goodbye" or description == "hello there"') == {
        "gamma", "beta"}


def test_and_binds_tighter_than_or(admin, F):
    A, B, G = full(F, "alpha"), full(F, "beta"), full(F, "gamma")
    assert q(admin, F, 'name == "%s" or name == "%s" and protected == true' % (A, B)) == {
        "alpha"}
    assert q(admin, F, 'protected == true and name == "%s" or name == "%s"' % (G, B)) == {
        "gamma", "beta"}
    assert q(admin, F, 'name == "%s" and protected == false or name == "%s"' % (A, G)) == {
        "alpha", "gamma"}


def test_parentheses(admin, F):
    A, B, G = full(F, "alpha"), full(F, "beta"), full(F, "gamma")
    assert q(admin, F, '(name == "%s" or name == "%s") and protected == true' % (A, B)) == set()
    assert q(admin, F, '(name == "%s" or name == "%s") and protected == true' % (A, G)) == {
        "gamma"}
    assert q(admin, F, '((name == "%s") or (name == "%s" and (protected == false)))'
             % (A, B)) == {"alpha", "beta"}


def test_repeated_q_are_ored(admin, F):
    assert q(admin, F, 'name == "%s"' % full(F, "alpha"),
             'name == "%s"' % full(F, "beta")) == {"alpha", "beta"}
    assert q(admin, F, 'protected == true', 'description contains "ello"') == {
        "alpha", "beta", "gamma"}


def test_filter_with_recursive(admin, F):
    got = q(admin, F, 'description contains "Hello"', recursive="true")
    assert got == {"alpha", "inner"}


def test_filter_with_paging_and_count(admin, F):
    r = admin.get("/namespaces", ns=F["box"], params={"q": 'description contains "ello"',
                                                      "pageSize": 1})
    assert r.status == 200
    assert r.headers["X-Count-Total"] == "2"
    assert len(r.data) == 1


def test_filter_with_order(admin, F):
    r = admin.get("/namespaces", ns=F["box"], params=[
        ("q", 'associatedTags contains "color=red"'), ("order", "-name")])
    assert [o["name"] for o in r.data] == [full(F, "gamma"), full(F, "alpha")]


def test_filter_on_head(admin, F):
    r = admin.head("/namespaces", ns=F["box"], params={"q": "protected == true"})
    assert r.status == 204
    assert r.headers["X-Count-Total"] == "1"


# -- bad filters ---------------------------------------------------------------------

@pytest.mark.parametrize("flt", ['nosuchfield == "x"', 'annotations == "x"',
                                 'SSHCA == ""', 'localCA == ""', 'password == "x"',
                                 "nosuchfield exists", 'object == "namespace"'])
def test_unknown_or_not_queryable_field_is_400(admin, F, flt):
    q(admin, F, flt, expect=400)


@pytest.mark.parametrize("flt", [
    'name ==', 'name === "a"', '(name == "a"', 'name == "a")', 'name == "a" and',
    'name == "unterminated', '== "a"', 'name "a"', 'name == [', 'name in ["a",',
    'name == date("notadate")', 'createTime > now("bogus")', 'name == bareword',
    'and', 'name == "a" or or name == "b"', 'name in "a"', 'name == "a" "b"',
    'name matches "("', 'name contains', 'name not "a"', 'name exists "a"', ")(",
])
def test_bad_syntax_is_400(admin, F, flt):
    q(admin, F, flt, expect=400)


@pytest.mark.parametrize("flt", [
    " or ".join('name == "%d"' % i for i in range(500)),
    "(" * 40 + 'name == "a"' + ")" * 40,
    "(" * 3000 + 'name == "a"' + ")" * 3000,
    "(" * 3000,
    'name in [' + ", ".join('"%d"' % i for i in range(2000)) + "]",
])
def test_big_filters_answered_cleanly(admin, F, flt):
    """Big or deep filters get an answer (a result or 400), never a crash or a hang."""
    r = admin.get("/namespaces", ns=F["box"], params={"q": flt})
    assert r.status in (200, 400), r
    if r.status == 400:
        assert_error(r, 400)
    else:
        assert r.data == []
    assert admin.server.health() == 200


@pytest.mark.parametrize("flt", [
    'name == "x\\" or 1=1 --"',
    "name == \"x' OR '1'='1\"",
    'description == "\'); DROP TABLE namespaces; --"',
    'name == "%" ',
    'description contains "%"',
    'description contains "_"',
    'name matches "x\' OR 1=1 --"',
])
def test_injection_returns_nothing(admin, F, flt):
    assert q(admin, F, flt) == set()
    assert q(admin, F, "name exists") == ALL


@pytest.mark.parametrize("flt", ['name == "a" or 1 == 1', 'name == "a"; DROP TABLE namespaces',
                                 "name == \"a\" or \"1\" == \"1\"", "1 == 1",
                                 'name == "a" -- comment'])
def test_injection_syntax_is_400(admin, F, flt):
    q(admin, F, flt, expect=400)
    assert q(admin, F, "name exists") == ALL


def test_pathological_regex_does_not_hang(start_server):
    """A short `matches` pattern must not pin a worker: glibc's regcomp is exponential on
    nested quantifiers ((a*)* repeated). Answer it (a result or 400) in bounded time. Runs
    on its own server so a hung worker cannot spoil the other tests."""
    s = start_server()
    c = s.admin()
    c.mkns("/", "victim")
    flt = 'name matches "^' + "(a*)*" * 30 + 'z$"'
    try:
        r = c.get("/namespaces", ns="/", params={"q": flt}, timeout=20)
    except requests.exceptions.Timeout:
        raise AssertionError("GET /namespaces?q=%s got no answer in 20 s" % flt)
    assert r.status in (200, 400), r
    if r.status == 200:
        assert r.data == []
    assert s.health() == 200


def test_everything_still_there(admin, F):
    assert q(admin, F) == ALL
