"""X-Count-Total of `status` and `validityEnd` filters (API.md 6, 7.1) at any bound.

Those counts are read from the counts the store keeps per stored status and day of
validityEnd and expiringTime, plus the rows of the bounds' own days (docs/inventory.md,
"Counting"): every count here must equal the number of rows the same list returns,
and what the certificates' dates say, at day boundaries, a second around them, over
namespace trees, after deletes and as time passes without a write."""

import datetime
import sqlite3
import time

import pytest

from certmaker import make_cert, new_key
from kwtest import rand

DAY = datetime.timedelta(days=1)
SEC = datetime.timedelta(seconds=1)


def imp(c, ns, pem):
    r = c.post("/certificates", {"certificate": pem}, ns=ns)
    assert r.status == 200, r
    return r.data


def count(c, ns, q, **params):
    r = c.head("/certificates", ns=ns, params={"q": q, **params})
    assert r.status == 204, r
    return int(r.headers["X-Count-Total"])


def listed(c, ns, q, **params):
    r = c.get("/certificates", ns=ns, params={"q": q, "pageSize": 1000, **params})
    assert r.status == 200, r
    assert int(r.headers["X-Count-Total"]) == len(r.data), (q, r.headers["X-Count-Total"])
    return {x["ID"] for x in r.data}


def stamp(t):
    return 'date("%s")' % t.strftime("%Y-%m-%dT%H:%M:%SZ")


def midnight(days):
    today = datetime.datetime.now(datetime.timezone.utc).replace(hour=0, minute=0, second=0,
                                                               microsecond=0)
    return today + days * DAY


# Ends around the midnight D, 200 days on (the certificates stay ACTIVE), and far ones.
OFFSETS = [-DAY, -SEC, 0 * SEC, SEC, DAY / 2, DAY - SEC, DAY, DAY + SEC, 3 * DAY + 5 * SEC,
           400 * DAY]


@pytest.fixture(scope="module")
def dated(admin):
    ns = admin.mkns("/", "cnt-" + rand(8))["name"]
    d = midnight(200)
    start = d - 300 * DAY
    ends = {}
    for k, off in enumerate(OFFSETS):
        end = d + off
        got = imp(admin, ns, make_cert("c%d.count.test" % k, start=start, end=end).pem)
        ends[got["ID"]] = end
    return ns, d, ends


BOUNDS = [-DAY, -SEC, 0 * SEC, SEC, DAY - SEC, DAY, DAY + SEC, 2 * DAY, 400 * DAY, 401 * DAY]
OPS = {"<": lambda e, b: e < b, "<=": lambda e, b: e <= b, ">": lambda e, b: e > b,
       ">=": lambda e, b: e >= b}


@pytest.mark.parametrize("op", sorted(OPS))
def test_one_sided_validity_end_counts_at_every_bound(admin, dated, op):
    ns, d, ends = dated
    for off in BOUNDS:
        b = d + off
        q = "validityEnd %s %s" % (op, stamp(b))
        want = {i for i, e in ends.items() if OPS[op](e, b)}
        assert listed(admin, ns, q) == want, q
        assert count(admin, ns, q) == len(want), q
        # ordered by validityEnd, as the lists of what expires soon are read
        assert count(admin, ns, q, order="validityEnd") == len(want), q


def test_ranges_within_a_day_across_days_and_empty(admin, dated):
    ns, d, ends = dated
    pairs = [(0 * SEC, SEC), (-SEC, DAY), (SEC, DAY - SEC), (-DAY, 3 * DAY), (DAY, 0 * SEC),
             (DAY / 2, DAY / 2), (-SEC, 500 * DAY)]
    for lo, hi in pairs:
        for lop, hop in ((">=", "<"), (">", "<="), (">=", "<=")):
            q = "validityEnd %s %s and validityEnd %s %s" % (lop, stamp(d + lo), hop,
                                                             stamp(d + hi))
            want = {i for i, e in ends.items() if OPS[lop](e, d + lo) and OPS[hop](e, d + hi)}
            assert count(admin, ns, q) == len(want), q
            assert listed(admin, ns, q) == want, q


def test_status_with_a_validity_bound_and_other_terms(admin, dated):
    ns, d, ends = dated
    for q in ('status == "ACTIVE" and validityEnd < %s' % stamp(d + DAY),
              'status == "EXPIRED" or validityEnd < %s' % stamp(d),
              'validityEnd < %s and subjectCN == "c3.count.test"' % stamp(d + DAY),
              'validityEnd < %s or subjectCN == "c9.count.test"' % stamp(d)):
        assert count(admin, ns, q) == len(listed(admin, ns, q)), q
    assert count(admin, ns, 'status == "ACTIVE"') == len(ends)
    assert count(admin, ns, 'status in ["ACTIVE", "EXPIRED"]') == len(ends)
    assert count(admin, ns, 'status != "ACTIVE"') == 0


def test_counts_follow_deletes_retirement_and_namespace_trees(admin):
    top = admin.mkns("/", "cnt-" + rand(8))["name"]
    sub = admin.mkns(top, "team")["name"]
    d = midnight(100)
    mk = lambda cn, end: make_cert(cn, start=d - 200 * DAY, end=end).pem  # noqa: E731
    a = imp(admin, top, mk("a.count.test", d + SEC))
    imp(admin, top, mk("b.count.test", d + 2 * DAY))
    c = imp(admin, sub, mk("c.count.test", d + SEC))
    imp(admin, sub, mk("d.count.test", d - 5 * DAY))
    q = "validityEnd < %s" % stamp(d + DAY)
    assert count(admin, top, q) == 1
    assert count(admin, top, q, recursive="true") == 3
    assert count(admin, top, 'status == "ACTIVE"', recursive="true") == 4
    a["retired"] = True
    assert admin.put("/certificates/" + a["ID"], a, ns=top).status == 200
    assert count(admin, top, 'status == "RETIRED"') == 1
    assert count(admin, top, 'status == "ACTIVE"', recursive="true") == 3
    assert count(admin, top, q, recursive="true") == 3  # retired, still in its range
    assert admin.delete("/certificates/" + c["ID"], ns=sub).status == 200
    assert count(admin, top, q, recursive="true") == 2
    ns_id = admin.ok(admin.get("/namespaces", ns=top, params={"q": 'name == "%s"' % sub}))[0]["ID"]
    assert admin.delete("/namespaces/" + ns_id, ns=top).status == 200
    assert count(admin, top, q, recursive="true") == 1
    assert count(admin, top, 'status == "ACTIVE"', recursive="true") == 1


def test_status_counts_move_with_the_clock_without_a_write(start_server):
    """The sweep runs once an hour here: the stored states are stale, the counts are not."""
    s = start_server(config={"monitor_interval": "1h"})
    c = s.admin()
    ns = c.mkns("/", "cnt-" + rand(6))["name"]
    end = (datetime.datetime.now(datetime.timezone.utc) + 3 * SEC).replace(microsecond=0)
    soon = imp(c, ns, make_cert("soon.count.test", start=end - 10 * DAY, end=end).pem)
    imp(c, ns, make_cert("later.count.test", days=365).pem)
    assert soon["status"] == "EXPIRING"
    assert count(c, ns, 'status == "EXPIRING"') == 1
    time.sleep(4.5)
    assert count(c, ns, 'status == "EXPIRING"') == 0
    assert count(c, ns, 'status == "EXPIRED"') == 1
    assert count(c, ns, 'status in ["EXPIRED", "ACTIVE"]') == 2
    assert count(c, ns, 'validityEnd <= now()') == 1
    assert count(c, ns, 'status == "EXPIRED" and validityEnd > now("-1h")') == 1


@pytest.mark.sqlite_only
def test_a_store_from_before_the_day_counts_gets_them_at_start(start_server):
    """A store written before the counts per day existed (their rows removed here, the
    server stopped) has them filled from its rows at the next start."""
    s = start_server()
    c = s.admin()
    ns = c.mkns("/", "cnt-" + rand(6))["name"]
    d = midnight(50)
    for k in range(5):
        imp(c, ns, make_cert("o%d.count.test" % k, start=d - 100 * DAY, end=d + k * DAY).pem)
    s.stop()
    db = sqlite3.connect(str(s.data / "keyward.db"))
    with db:
        gone = db.execute("DELETE FROM certificates__counts WHERE dim LIKE '%/day'").rowcount
    db.close()
    assert gone > 0
    s.start()
    c = s.admin()
    ro = sqlite3.connect("file:%s?mode=ro" % (s.data / "keyward.db"), uri=True)
    dims = {r[0] for r in ro.execute("SELECT DISTINCT dim FROM certificates__counts")}
    ro.close()
    assert {"status,validityEnd/day", "status,expiringTime/day"} <= dims
    assert count(c, ns, "validityEnd < %s" % stamp(d + 2 * DAY + SEC)) == 3
    assert count(c, ns, 'status == "ACTIVE"') == 5


@pytest.mark.sqlite_only
def test_the_planners_statistics_follow_a_store_that_grows_fast(start_server):
    """SQLite plans on the statistics ANALYZE keeps (sqlite_stat1), renewed at most once a
    minute - and at once when the changes since the last run outnumber those before it: an
    import into a new store was planned on the statistics of its first thousand rows for a
    whole minute, and slowed from 5,400 to 1,200 certificates a second before they caught
    up. Six bundles of 1,000 in a few seconds: the statistics count at least half."""
    s = start_server()
    c = s.admin()
    ns = c.mkns("/", "stat-" + rand(6))["name"]
    key = new_key()
    for b in range(6):
        pems = "".join(make_cert("h%d-%d.stat.test" % (b, i), key=key).pem
                       for i in range(1000))
        r = c.post("/certificateimports", {"contents": pems}, ns=ns)
        assert r.status == 200 and r.data["imported"] == 1000, r
    ro = sqlite3.connect("file:%s?mode=ro" % (s.data / "keyward.db"), uri=True)
    rows = [int(stat.split()[0]) for (stat,) in ro.execute(
        "SELECT stat FROM sqlite_stat1 WHERE tbl = 'certificates'")]
    ro.close()
    assert rows and max(rows) >= 3000, rows


def test_pages_of_a_status_merge_stored_and_caught_up_rows_in_every_order(start_server):
    """`status == "EXPIRING"` is the rows stored EXPIRING and the rows stored ACTIVE the clock
    has moved on (the sweep runs once an hour here); each is read apart and merged: every
    page in every order is the slice of the whole list."""
    s = start_server(config={"monitor_interval": "1h"})
    c = s.admin()
    ns = c.mkns("/", "pg-" + rand(6))["name"]
    t0 = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    made = []
    for k in range(5):  # stored EXPIRING: within the default 30 days
        made.append(imp(c, ns, make_cert("e%d.page.test" % k, start=t0 - 9 * DAY,
                                         end=t0 + (k + 2) * DAY).pem))
    for k in range(4):  # stored ACTIVE, EXPIRING 3 s from now
        made.append(imp(c, ns, make_cert("a%d.page.test" % k, start=t0 - 9 * DAY,
                                         end=t0 + 30 * DAY + 3 * SEC + k * SEC).pem))
    imp(c, ns, make_cert("later.page.test", days=365).pem)
    assert [m["status"] for m in made] == ["EXPIRING"] * 5 + ["ACTIVE"] * 4
    time.sleep(7.5)
    q = 'status == "EXPIRING"'
    for order in (None, "validityEnd", "-validityEnd", "subjectCN", "-subjectCN"):
        extra = {"order": order} if order else {}
        whole = c.get("/certificates", ns=ns, params={"q": q, "pageSize": 100, **extra})
        assert whole.status == 200 and len(whole.data) == 9, (order, whole)
        got = [x["ID"] for x in whole.data]
        assert set(got) == {m["ID"] for m in made}
        key = {None: lambda x: x["ID"], "validityEnd": lambda x: (x["validityEnd"], x["ID"]),
               "subjectCN": lambda x: (x["subjectCN"], x["ID"])}[order and order.lstrip("-")]
        want = sorted(whole.data, key=key, reverse=bool(order and order.startswith("-")))
        if order is None or not order.startswith("-"):
            assert got == [x["ID"] for x in want], order
        else:  # descending on the key, the ID ascending among equals
            assert [key(x)[0] for x in whole.data] == [key(x)[0] for x in want], order
        for size in (1, 2, 4):
            paged = []
            for page in range(1, 11):
                r = c.get("/certificates", ns=ns,
                          params={"q": q, "pageSize": size, "page": page, **extra})
                assert r.status == 200 and int(r.headers["X-Count-Total"]) == 9, r
                paged += [x["ID"] for x in r.data]
            assert paged == got, (order, size)


def test_branches_that_share_rows_are_neither_summed_nor_merged_twice(admin):
    """`==` on a list is "has this element", and one time has many spellings: such ORs
    may share rows, so their counts and pages are those of the rows, each once."""
    ns = admin.mkns("/", "cnt-" + rand(8))["name"]
    end = midnight(300)
    made = [imp(admin, ns, make_cert("s%d.share.test" % k, dns=dns, start=end - 100 * DAY,
                                     end=end).pem) for k, dns in
            enumerate((["a.share.test", "b.share.test"], ["a.share.test"], ["b.share.test"]))]
    t = end.strftime("%Y-%m-%dT%H:%M:%S")
    for q in ('dnsNames == "a.share.test" or dnsNames == "b.share.test"',
              'status == "REVOKED" or (status == "ACTIVE" and dnsNames == "a.share.test")'
              ' or (status == "ACTIVE" and dnsNames == "b.share.test")',
              '(status == "ACTIVE" and validityEnd == "%sZ") or (status == "ACTIVE" and'
              ' validityEnd == "%s.000Z") or status == "REVOKED"' % (t, t)):
        assert count(admin, ns, q) == 3, q
        paged = []
        for page in range(1, 6):
            r = admin.get("/certificates", ns=ns, params={"q": q, "pageSize": 1, "page": page})
            assert r.status == 200, r
            paged += [x["ID"] for x in r.data]
        assert sorted(paged) == sorted(m["ID"] for m in made), q
