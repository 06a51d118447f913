/* test_pg_dump.c - store_dump_pg (store/pg_dump.c): each value as the SQLite
 * dump gives it, key order, one snapshot, a stop on the callback's word, and
 * never a URL's password in an error. The dumps run against a throw-away
 * PostgreSQL 15 (tests/pg/pgctl.sh) and are skipped when it is not installed;
 * the error cases need no server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <libpq-fe.h>
#include <sys/socket.h>

#include "core/buf.h"
#include "model/specs.h"
#include "store/store.h"

int store_dump_pg(const char *url, const char *const *tables, size_t ntables, dump_row_fn fn,
                  void *arg, struct errbuf *eb);

#define PGCTL "tests/pg/pgctl.sh"

static char dir[] = "/tmp/kw-test-pgdump-XXXXXX";
static char url[256]; /* empty: no PostgreSQL here, the dumps are skipped */
static bool made;     /* dir holds a cluster to destroy */

/* What the callback saw: one line a row, "table col=value ...". */
struct seen {
    struct buf b;
    int        rows, stop_at;
    bool       insert_late; /* commit a row to meta at the first row */
};

static void
sql(const char *text)
{
    PGconn   *pg = PQconnectdb(url);
    PGresult *r = PQexec(pg, text);

    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        fail_msg("%s: %s", text, PQerrorMessage(pg));
    PQclear(r);
    PQfinish(pg);
}

static int
collect(void *arg, const char *table, const struct dump_cell *c, size_t n)
{
    struct seen *s = arg;

    if (s->insert_late && s->rows == 0)
        sql("INSERT INTO meta VALUES ('late', '\\x00')");
    buf_puts(&s->b, table);
    for (size_t i = 0; i < n; i++) {
        buf_printf(&s->b, " %s=", c[i].name);
        switch (c[i].t) {
        case DUMP_NULL:
            buf_puts(&s->b, "null");
            break;
        case DUMP_INT:
            buf_printf(&s->b, "%lld", (long long)c[i].i);
            break;
        case DUMP_FLOAT:
            buf_printf(&s->b, "%.17g", c[i].f);
            break;
        case DUMP_TEXT:
            buf_printf(&s->b, "'%.*s'", (int)c[i].bytes.len, c[i].bytes.p);
            break;
        case DUMP_BLOB:
            buf_puts(&s->b, c[i].doc ? "doc:x" : "x");
            for (size_t j = 0; j < c[i].bytes.len; j++)
                buf_printf(&s->b, "%02x", (unsigned char)c[i].bytes.p[j]);
            break;
        }
    }
    buf_putc(&s->b, '\n');
    return ++s->rows == s->stop_at ? 7 : 0;
}

static int
dump(const char *u, const char *const *tables, size_t n, struct seen *s, struct errbuf *eb)
{
    buf_init(&s->b, 1 << 20);
    return store_dump_pg(u, tables, n, collect, s, eb);
}

static void
test_values_as_sqlite_gives_them(void **state)
{
    const char   *tables[] = { "namespaces", "meta", "ephemeral", "idempotency" };
    struct seen   s = { 0 };
    struct errbuf eb = { 0 };

    (void)state;
    if (url[0] == '\0')
        skip();
    /* Inserted out of key order: rows come in key order ("ID", else the first
     * column); ephemeral does not exist, so has no rows. */
    assert_int_equal(dump(url, tables, ARRAY_LEN(tables), &s, &eb), E_OK);
    assert_string_equal(
        buf_cstr(&s.b),
        "namespaces ID='a1' name='/' protected=1 createTime=1700000000000"
        " score=0.10000000000000001 labels='[\"x\", \"y\"]' doc=doc:x81a46e616d65a12f\n"
        "namespaces ID='b2' name='/t' protected=0 createTime=-9223372036854775808"
        " score=1.0000000000000001e+300 labels='{\"a\": [1, 2], \"k\": \"v\"}'"
        " doc=doc:x82a46e616d65a22f74a16e01\n"
        "namespaces ID='c3' name='\xc3\xa9\xe2\x98\x83' protected=null"
        " createTime=9223372036854775807 score=null labels=null doc=doc:x\n"
        "meta key='ca.tls.key' value=x6b77313a41414141\n"
        "meta key='z.bin' value=x00ff0102\n"
        "meta key='zz.empty' value=x\n"
        "idempotency key='k1' fingerprint='' status=-5 body=x7b7d expires=42\n");
    buf_free(&s.b);
}

static void
test_one_snapshot(void **state)
{
    const char   *tables[] = { "namespaces", "meta" };
    struct seen   s = { .insert_late = true };
    struct errbuf eb = { 0 };

    (void)state;
    if (url[0] == '\0')
        skip();
    assert_int_equal(dump(url, tables, 2, &s, &eb), E_OK);
    assert_int_equal(s.rows, 6); /* committed while namespaces was read: not seen */
    assert_null(strstr(buf_cstr(&s.b), "late"));
    buf_free(&s.b);
    sql("DELETE FROM meta WHERE key = 'late'");
}

static void
test_batches_and_stop(void **state)
{
    const char   *tables[] = { "token_uses" };
    struct seen   s = { 0 };
    struct errbuf eb = { 0 };

    (void)state;
    if (url[0] == '\0')
        skip();
    /* 2,500 rows: three FETCHes, in key order. */
    assert_int_equal(dump(url, tables, 1, &s, &eb), E_OK);
    assert_int_equal(s.rows, 2500);
    assert_non_null(strstr(buf_cstr(&s.b), "token_uses jti='j0001' used=1 expires=2\n"));
    assert_non_null(strstr(buf_cstr(&s.b), "expires=2\ntoken_uses jti='j2500' used=2500"));
    buf_free(&s.b);
    s = (struct seen){ .stop_at = 1500 };
    assert_int_equal(dump(url, tables, 1, &s, &eb), 7);
    assert_int_equal(s.rows, 1500);
    buf_free(&s.b);
}

static void
test_not_a_store_and_bad_password(void **state)
{
    const char   *tables[] = { "meta" };
    struct seen   s = { 0 };
    struct errbuf eb = { 0 };
    char          u[320], *pw;

    (void)state;
    if (url[0] == '\0')
        skip();
    /* A schema without meta: some other database. */
    snprintf(u, sizeof u, "%s&options=-csearch_path%%3Dnowhere", url);
    assert_int_equal(dump(u, tables, 1, &s, &eb), E_UNAVAILABLE);
    assert_non_null(strstr(eb.msg, "not a Keyward store"));
    buf_free(&s.b);
    /* postgres://keyward:PASSWORD@...: a wrong one of the same length */
    snprintf(u, sizeof u, "%s", url);
    pw = strchr(u + strlen("postgres://"), ':') + 1;
    memset(pw, 'z', strcspn(pw, "@"));
    assert_int_equal(dump(u, tables, 1, &s, &eb), E_UNAVAILABLE);
    assert_non_null(strstr(eb.msg, "keyward:***@127.0.0.1"));
    assert_null(strstr(eb.msg, "zzzz"));
    assert_int_equal(s.rows, 0);
    buf_free(&s.b);
}

static void
test_errors_hide_the_password(void **state)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t          alen = sizeof a;
    int                fd = socket(AF_INET, SOCK_STREAM, 0);
    const char        *bad[] = {
               "postgres://u:s3cr3tpw%zz@127.0.0.1:5432/db", /* libpq quotes the password */
               "postgres://u:s3cr3tpw@[::1:5432/db",         /* ... or the whole URL */
    };
    struct seen   s = { 0 };
    struct errbuf eb = { 0 };
    char          u[128];

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        assert_int_equal(dump(bad[i], NULL, 0, &s, &eb), E_UNAVAILABLE);
        assert_non_null(strstr(eb.msg, "u:***@"));
        assert_null(strstr(eb.msg, "s3cr3t"));
        buf_free(&s.b);
    }
    /* A port nobody listens on (bound, not listening): refused. */
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    snprintf(u, sizeof u, "postgresql://u:s3cr3tpw@127.0.0.1:%u/db", ntohs(a.sin_port));
    assert_int_equal(dump(u, NULL, 0, &s, &eb), E_UNAVAILABLE);
    assert_non_null(strstr(eb.msg, "cannot connect"));
    assert_null(strstr(eb.msg, "s3cr3t"));
    buf_free(&s.b);
    close(fd);
}

static int
setup(void **state)
{
    const char *bin = getenv("PGBIN") ? getenv("PGBIN") : "/usr/lib/postgresql/15/bin";
    char        cmd[512];
    FILE       *p;

    (void)state;
    spec_init();
    snprintf(cmd, sizeof cmd, "%s/initdb", bin);
    if (access(cmd, X_OK) != 0 || access(PGCTL, R_OK) != 0) {
        fprintf(stderr, "test_pg_dump: no PostgreSQL 15 (or not run from the repository):"
                        " its dumps are skipped\n");
        return 0;
    }
    if (mkdtemp(dir) == NULL)
        return -1;
    made = true;
    snprintf(cmd, sizeof cmd, "bash " PGCTL " start '%s/pg'", dir);
    if ((p = popen(cmd, "r")) == NULL)
        return -1;
    if (fgets(url, sizeof url, p) == NULL)
        url[0] = '\0';
    if (pclose(p) != 0 || strncmp(url, "postgres://", 11) != 0)
        return -1;
    url[strcspn(url, "\n")] = '\0';
    /* The driver's shapes (pg.c's migrations, sql.c's spec tables). */
    sql("CREATE TABLE meta (key TEXT COLLATE \"C\" PRIMARY KEY, value BYTEA NOT NULL);"
        "CREATE TABLE idempotency (key TEXT COLLATE \"C\" PRIMARY KEY, fingerprint TEXT NOT"
        " NULL, status INTEGER NOT NULL, body BYTEA NOT NULL, expires BIGINT NOT NULL);"
        "CREATE TABLE token_uses (jti TEXT COLLATE \"C\" PRIMARY KEY, used BIGINT NOT NULL,"
        " expires BIGINT NOT NULL);"
        "CREATE TABLE namespaces (\"ID\" TEXT COLLATE \"C\" NOT NULL UNIQUE, \"name\" TEXT,"
        " \"protected\" BOOLEAN, \"createTime\" BIGINT, \"score\" DOUBLE PRECISION,"
        " \"labels\" JSONB, doc BYTEA NOT NULL);"
        "INSERT INTO meta VALUES ('zz.empty', ''), ('ca.tls.key', convert_to('kw1:AAAA',"
        " 'UTF8')), ('z.bin', '\\x00ff0102');"
        "INSERT INTO idempotency VALUES ('k1', '', -5, '\\x7b7d', 42);"
        "INSERT INTO token_uses SELECT 'j' || lpad(g::text, 4, '0'), g, 2"
        " FROM generate_series(2500, 1, -1) g;"
        "INSERT INTO namespaces VALUES"
        " ('b2', '/t', false, -9223372036854775808, 1e300, '{\"k\":\"v\",\"a\":[1,2]}',"
        "  '\\x82a46e616d65a22f74a16e01'),"
        " ('c3', '\xc3\xa9\xe2\x98\x83', NULL, 9223372036854775807, NULL, NULL, ''),"
        " ('a1', '/', true, 1700000000000, 0.1, '[\"x\",\"y\"]', '\\x81a46e616d65a12f')");
    return 0;
}

static int
teardown(void **state)
{
    char cmd[256];

    (void)state;
    if (!made)
        return 0;
    snprintf(cmd, sizeof cmd, "bash " PGCTL " destroy '%s/pg' && rm -rf '%s'", dir, dir);
    return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_as_sqlite_gives_them),
        cmocka_unit_test(test_one_snapshot),
        cmocka_unit_test(test_batches_and_stop),
        cmocka_unit_test(test_not_a_store_and_bad_password),
        cmocka_unit_test(test_errors_hide_the_password),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
