/* test_routes.c - the route table (api/routes.c) and the resource tree
 * (api/router.c): which row a method and path reach, what is captured, and
 * the errors for unknown paths and methods. Many small cases, as data. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/routes.h"
#include "core/arena.h"
#include "model/spec.h"

struct route_case {
    enum method m;
    const char *path;
    int         want; /* E_OK, E_NOTFOUND, E_METHOD */
    const char *row;  /* the row's path, NULL when no row */
    const char *spec; /* the resource reached, or NULL */
    const char *id;   /* the :id, or NULL */
};

static const struct route_case cases[] = {
    { M_POST, "/issue", E_OK, "/issue", NULL, NULL },
    { M_GET, "/issue", E_METHOD, "/issue", NULL, NULL },
    { M_POST, "/v/1/issue", E_OK, "/issue", NULL, NULL },
    { M_GET, "/health", E_OK, "/health", NULL, NULL },
    { M_HEAD, "/health", E_OK, "/health", NULL, NULL },
    { M_DELETE, "/health", E_METHOD, "/health", NULL, NULL },
    { M_OTHER, "/health", E_METHOD, "/health", NULL, NULL },
    { M_GET, "/.well-known/jwks.json", E_OK, "/.well-known/jwks.json", NULL, NULL },
    { M_POST, "/oauth2/access_token", E_OK, "/oauth2/access_token", NULL, NULL },
    { M_GET, "/namespaces", E_OK, "/*", "namespace", NULL },
    { M_POST, "/namespaces", E_OK, "/*", "namespace", NULL },
    { M_PUT, "/namespaces", E_METHOD, "/*", "namespace", NULL },
    { M_GET, "/namespaces/0123456789abcdef01234567", E_OK, "/*", "namespace",
      "0123456789abcdef01234567" },
    { M_DELETE, "/v/1/namespaces/abc", E_OK, "/*", "namespace", "abc" },
    { M_POST, "/namespaces/abc", E_METHOD, "/*", "namespace", "abc" },
    { M_GET, "/nothings", E_NOTFOUND, "/*", NULL, NULL },
    { M_GET, "/namespaces/abc/nothings", E_NOTFOUND, "/*", NULL, NULL },
    { M_GET, "/namespaces/", E_NOTFOUND, "/*", NULL, NULL },
    { M_GET, "/namespaces//x", E_NOTFOUND, "/*", NULL, NULL },
    { M_GET, "/a/b/c/d", E_NOTFOUND, "/*", NULL, NULL },
    { M_GET, "/issuex", E_NOTFOUND, "/*", NULL, NULL },
};

static void
test_routes(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct route_case *c = &cases[i];
        struct arena            *a = arena_new(4096);
        struct req               r = { 0 };
        struct errbuf            eb = { 0 };
        int                      rc;

        r.a = a;
        r.method = c->m;
        r.path = r.raw_path = str_c(c->path);
        rc = routes_match(&r, &eb);
        if (rc != c->want)
            fail_msg("%s: rc %d, want %d (%s)", c->path, rc, c->want, eb.msg);
        if (c->row == NULL ? r.route.def != NULL
                           : r.route.def == NULL || strcmp(r.route.def->path, c->row) != 0)
            fail_msg("%s: reached row %s", c->path, r.route.def ? r.route.def->path : "none");
        if (c->spec != NULL &&
            (r.route.spec == NULL || strcmp(r.route.spec->identity, c->spec)))
            fail_msg("%s: reached spec %s", c->path,
                     r.route.spec ? r.route.spec->identity : "-");
        if (c->id != NULL && !str_eq_c(r.route.id, c->id))
            fail_msg("%s: id %.*s", c->path, STR_FMT(r.route.id));
        arena_free(a);
    }
}

/* The table itself: every row has a handler, a summary, methods and a path;
 * the resource tree comes last (a prefix row would shadow the rows after it). */
static void
test_table_is_well_formed(void **state)
{
    size_t                  n;
    const struct route_def *t = routes_all(&n);

    (void)state;
    assert_true(n >= 6);
    for (size_t i = 0; i < n; i++) {
        assert_non_null(t[i].serve);
        assert_non_null(t[i].summary);
        assert_true(t[i].methods != 0);
        assert_true(t[i].path[0] == '/');
        if (i + 1 < n)
            assert_true(t[i].path[strlen(t[i].path) - 1] != '*' || t[i].resolve == NULL);
    }
    assert_string_equal(t[n - 1].path, "/*");
    assert_int_equal(t[n - 1].auth, RA_TOKEN);
}

/* The rest of a prefix row is the raw path (percent-escapes kept). */
static void
test_rest_is_raw(void **state)
{
    struct arena *a = arena_new(4096);
    struct req    r = { 0 };
    struct errbuf eb = { 0 };

    (void)state;
    r.a = a;
    r.method = M_GET;
    r.path = str_c("/nothings/a b");
    r.raw_path = str_c("/nothings/a%20b");
    assert_int_equal(routes_match(&r, &eb), E_NOTFOUND);
    assert_true(str_eq_c(r.route.rest, "nothings/a%20b"));
    arena_free(a);
}

static int
setup(void **state)
{
    (void)state;
    spec_init();
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routes),
        cmocka_unit_test(test_table_is_well_formed),
        cmocka_unit_test(test_rest_is_raw),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
