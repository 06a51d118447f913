#!/usr/bin/python3
"""How long a namespace delete holds the writer.

    KEYWARD_BIN=build/keyward /usr/bin/python3 bench/nsdelete.py [OBJECTS [TABLE]]

Starts a console on a free port with a throw-away data directory, creates /big with one
LDAP provider through the API (which also writes an audit entry in /big), stops the
console and clones a row of TABLE (default auditlogs, a bulk resource: purged in the
background after the delete; ldapproviders is deleted in the delete's own transaction)
OBJECTS times (default 200000) straight into the SQLite file (loading them through the API
would take minutes and measure the creates, not the delete). Then it starts the console
again, keeps one client creating namespaces elsewhere, deletes /big, and prints how long
the DELETE took and the slowest concurrent create (the stall every other write sees),
also over the seconds after it, while a background purge runs.
"""
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "api"))
from kwtest import Server, rand  # noqa: E402


def clone(db, table, namespace, n):
    con = sqlite3.connect(db)
    cols = [r[1] for r in con.execute("SELECT * FROM pragma_table_info(?)", (table,))]
    other = [c for c in cols if c not in ("ID", "name")]
    quoted = ", ".join('"%s"' % c for c in other)
    named = "name" in cols
    con.execute("BEGIN")
    con.execute(
        'WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < ?) '
        'INSERT INTO "%s" ("ID", %s%s) SELECT printf(\'%%024x\', 1000000 + i), %s%s '
        'FROM k, (SELECT * FROM "%s" WHERE "namespace" = ? LIMIT 1)'
        % (table, '"name", ' if named else "", quoted, "'p' || i, " if named else "", quoted,
           table), (n, namespace))
    con.commit()
    con.close()


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200000
    table = sys.argv[2] if len(sys.argv) > 2 else "auditlogs"
    with tempfile.TemporaryDirectory() as tmp:
        s = Server(Path(tmp)).start()
        c = s.admin()
        big = c.mkns("/", "big")
        c.ok(c.post("/ldapproviders", {"name": "p0", "address": "127.0.0.1:1",
                                       "connSecurityProtocol": "None", "bindDN": "cn=r",
                                       "bindPassword": "pw", "baseDN": "dc=x"}, ns="/big"))
        other = c.mkns("/", "other")["name"]
        s.stop()
        t0 = time.monotonic()
        clone(str(s.data / "keyward.db"), table, "/big", n)
        print("cloned %d rows in %.1f s" % (n, time.monotonic() - t0))
        s.proc = None
        s.start()
        c = s.admin()
        stop, lat = threading.Event(), []

        def writer():
            w = s.client(c.token)
            while not stop.is_set():
                t = time.monotonic()
                w.ok(w.post("/namespaces", {"name": "n" + rand(8)}, ns=other))
                lat.append((t, time.monotonic() - t))

        th = threading.Thread(target=writer)
        th.start()
        time.sleep(1.0)
        t = time.monotonic()
        r = c.delete("/namespaces/" + big["ID"], ns="/")
        took = time.monotonic() - t
        time.sleep(n / 20000 + 2)  # the background purge: about 100k rows per 5 s
        stop.set()
        th.join()
        assert r.status == 200, r
        before = [d for (st, d) in lat if st < t]
        during = [d for (st, d) in lat if t - 0.05 <= st <= t + took]
        after = [d for (st, d) in lat if st > t + took]
        print("DELETE of a namespace holding %d %s: %.0f ms" % (n, table, took * 1000))
        print("concurrent creates: median before %.1f ms, slowest during the delete %.0f ms, "
              "slowest in the %.0f s after it (background purge) %.0f ms"
              % (sorted(before)[len(before) // 2] * 1000 if before else 0,
                 max(during) * 1000 if during else 0, n / 20000 + 2,
                 max(after) * 1000 if after else 0))
        con = sqlite3.connect("file:%s?mode=ro" % (s.data / "keyward.db"), uri=True)
        left = con.execute('SELECT count(*) FROM "%s" WHERE "namespace" = ?' % table,
                           ("/big",)).fetchone()[0]
        con.close()
        print("rows of /big left after the purge: %d" % left)
        s.stop()


if __name__ == "__main__":
    main()
