/* fuzz_filter.c - libFuzzer target for the q= filter language.
 *
 * Arbitrary bytes are parsed as a filter; what parses is compiled for both SQL
 * dialects against a small spec covering every filterable type. Beyond the
 * sanitizers, it checks the compiler's promise that values never reach the SQL
 * text: the text is plain ASCII and holds exactly one placeholder per bound
 * parameter.
 *
 *   make fuzz        (builds build/fuzz/fuzz_filter, and every other target)
 *   build/fuzz/fuzz_filter -max_len=4200 corpus/
 */
#include <stdio.h>
#include <stdlib.h>

#include "core/arena.h"
#include "core/buf.h"
#include "store/filter.h"

static const struct attr fuzz_attrs[] = {
    { "name", T_STRING, A_QUERY },  { "count", T_INT, A_QUERY },
    { "score", T_FLOAT, A_QUERY },  { "expires", T_TIME, A_QUERY },
    { "tags", T_STRLIST, A_QUERY }, { "enabled", T_BOOL, A_QUERY },
    { "secret", T_STRING, 0 },      { "labels", T_STRMAP, A_QUERY },
};

static const struct spec fuzz_spec = {
    .identity = "thing",
    .rest = "things",
    .attrs = fuzz_attrs,
    .nattrs = ARRAY_LEN(fuzz_attrs),
};

static void
check(bool ok, const char *what, const struct buf *sql)
{
    if (!ok) {
        fprintf(stderr, "fuzz_filter: %s\n%s\n", what, buf_cstr(sql));
        abort();
    }
}

static void
compile_one(struct arena *a, const struct fnode *f, enum sql_dialect d)
{
    struct buf       sql;
    struct sqlparams ps = { 0 };
    struct errbuf    eb = { 0 };
    size_t           marks = 0;
    char             mark = d == SQL_SQLITE ? '?' : '$';

    buf_init(&sql, 1 << 20);
    if (filter_compile(a, f, &fuzz_spec, d, &sql, &ps, &eb) == E_OK) {
        for (size_t i = 0; i < sql.len; i++) {
            check(sql.p[i] >= 0x20 && sql.p[i] < 0x7f, "non-ASCII byte in SQL", &sql);
            marks += sql.p[i] == mark;
        }
        check(sql.len > 0 && marks == ps.n, "placeholders and parameters differ", &sql);
    } else {
        check(eb.code == E_BADREQ && eb.msg[0] != '\0', "error without detail", &sql);
        check(sql.len == 0 && ps.n == 0, "failed compile left output", &sql);
    }
    buf_free(&sql);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct arena *a;
    struct fnode        *f = NULL;
    struct errbuf        eb = { 0 };

    if (a == NULL)
        a = arena_new(0);
    if (filter_parse(a, (struct str){ (const char *)data, size }, 1767312000000LL, &f, &eb) ==
        E_OK) {
        compile_one(a, f, SQL_SQLITE);
        compile_one(a, f, SQL_POSTGRES);
    } else if (eb.code != E_BADREQ || f != NULL) {
        abort();
    }
    arena_reset(a);
    return 0;
}
