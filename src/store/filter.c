/* filter.c - the q= filter language's compiler: from the tree filter_parse.c
 * makes to a SQL boolean expression with bound parameters.
 *
 * Values never reach the SQL text: each becomes a placeholder plus a
 * `struct sqlparam`. The only identifiers written into the SQL are attribute
 * names taken from the spec (never the filter's spelling), checked to be ASCII
 * letters and digits, so a hostile filter can only change which rows match, and
 * only through the operators below.
 */
#include "filter.h"

#include <assert.h>
#include <ctype.h>
#include <regex.h>

#include "../core/net.h"
#include "../core/regex.h"
#include "../core/timeutil.h"
#include "filter_local.h"

/* ---------------------------------------------------------------- compiler */

void
sqlparams_add(struct arena *a, struct sqlparams *ps, struct sqlparam p)
{
    if (ps->n == ps->cap) {
        size_t cap = ps->cap ? ps->cap * 2 : 8;
        ps->v = arena_realloc(a, ps->v, ps->cap * sizeof *ps->v, cap * sizeof *ps->v);
        ps->cap = cap;
    }
    ps->v[ps->n++] = p;
}

/* SQL shapes, per dialect. %c is the quoted column, %p the next parameter, %l
 * all of the comparison's parameters separated by commas, %t the attribute's
 * side table, %s the side scope (filter_side), %f the attribute's trigram table
 * and %r the spec's table's rowid. Negations on nullable
 * columns say IS NULL explicitly, so `x != 1` also matches rows without an x. */
enum tpl {
    TP_EQ,
    TP_NE,
    TP_LT,
    TP_LE,
    TP_GT,
    TP_GE,
    TP_IN,
    TP_NOT_IN,
    TP_FALSE,
    TP_TRUE,
    TP_CONTAINS,
    TP_NOT_CONTAINS,
    TP_MATCHES,
    TP_EXISTS,
    TP_NOT_EXISTS,
    TP_L_HAS,
    TP_L_HAS_NOT,
    TP_L_ANY,
    TP_L_NONE,
    TP_L_MATCHES,
    TP_L_EXISTS,
    TP_L_NOT_EXISTS,
    TP_S_HAS,
    TP_S_HAS_NOT,
    TP_S_ANY,
    TP_S_NONE,
    TP_S_MATCHES,
    TP_S_EXISTS,
    TP_S_NOT_EXISTS,
    TP_F_CONTAINS,
    TP__COUNT
};

/* Side tables (filter_compile_side, SQLite only): %t is the side table, %s the
 * scope condition on its rows. The first four are one lookup in the (v,
 * namespace) index, done once per query; the last three are correlated on the
 * object's ID and cost one probe of the oid index per candidate object. */
#define S_IDS "SELECT oid FROM %t WHERE v"
#define S_OF  "SELECT 1 FROM %t WHERE oid = \"ID\""

/* A substring index (filter_compile_side, SQLite only): %f is the attribute's
 * trigram table, %r the row's rowid (its entries' rowid). The first parameter is
 * the value as one FTS5 phrase (fts_phrase), the second the value itself: the
 * index finds the candidates, instr() keeps contains' exact semantics on them. */
#define F_IDS "%r IN (SELECT rowid FROM %f WHERE %f MATCH %p)"

#define SQ_EACH "SELECT 1 FROM json_each(%c) AS j WHERE j.value"
#define PG_EACH "SELECT 1 FROM jsonb_array_elements_text(%c) AS e(v) WHERE e.v"

/* `matches` tests values of at most REGEX_TEXT_MAX bytes (core/regex.h):
 * SQLite's REGEXP function checks it, PostgreSQL's text says it. */
#define REGEX_TEXT_MAX_S "2048"
_Static_assert(REGEX_TEXT_MAX == 2048, "REGEX_TEXT_MAX_S is REGEX_TEXT_MAX");

static const char *const tpl_sql[TP__COUNT][2] = {
    [TP_EQ] = { "(%c = %p)", "(%c = %p)" },
    [TP_NE] = { "(%c IS NULL OR %c <> %p)", "(%c IS NULL OR %c <> %p)" },
    [TP_LT] = { "(%c < %p)", "(%c < %p)" },
    [TP_LE] = { "(%c <= %p)", "(%c <= %p)" },
    [TP_GT] = { "(%c > %p)", "(%c > %p)" },
    [TP_GE] = { "(%c >= %p)", "(%c >= %p)" },
    [TP_IN] = { "(%c IN (%l))", "(%c IN (%l))" },
    [TP_NOT_IN] = { "(%c IS NULL OR %c NOT IN (%l))", "(%c IS NULL OR %c NOT IN (%l))" },
    [TP_FALSE] = { "(1 = 0)", "(1 = 0)" },
    [TP_TRUE] = { "(1 = 1)", "(1 = 1)" },
    [TP_CONTAINS] = { "(instr(%c, %p) > 0)", "(strpos(%c, %p) > 0)" },
    [TP_NOT_CONTAINS] = { "(%c IS NULL OR instr(%c, %p) = 0)",
                          "(%c IS NULL OR strpos(%c, %p) = 0)" },
    [TP_MATCHES] = { "(%c REGEXP %p)",
                     "(octet_length(%c) <= " REGEX_TEXT_MAX_S " AND %c ~ %p)" },
    [TP_EXISTS] = { "(%c IS NOT NULL)", "(%c IS NOT NULL)" },
    [TP_NOT_EXISTS] = { "(%c IS NULL)", "(%c IS NULL)" },
    [TP_L_HAS] = { "(EXISTS (" SQ_EACH " = %p))", "(%c @> jsonb_build_array(%p::text))" },
    [TP_L_HAS_NOT] = { "(NOT EXISTS (" SQ_EACH " = %p))",
                       "(%c IS NULL OR NOT (%c @> jsonb_build_array(%p::text)))" },
    [TP_L_ANY] = { "(EXISTS (" SQ_EACH " IN (%l)))", "(EXISTS (" PG_EACH " IN (%l)))" },
    [TP_L_NONE] = { "(NOT EXISTS (" SQ_EACH " IN (%l)))",
                    "(NOT EXISTS (" PG_EACH " IN (%l)))" },
    [TP_L_MATCHES] = { "(EXISTS (" SQ_EACH " REGEXP %p))",
                       "(EXISTS (" PG_EACH " ~ %p AND octet_length(e.v) <= " REGEX_TEXT_MAX_S
                       "))" },
    [TP_L_EXISTS] = { "(json_array_length(%c) > 0)", "(jsonb_array_length(%c) > 0)" },
    [TP_L_NOT_EXISTS] = { "(%c IS NULL OR json_array_length(%c) = 0)",
                          "(%c IS NULL OR jsonb_array_length(%c) = 0)" },
    [TP_S_HAS] = { "(\"ID\" IN (" S_IDS " = %p%s))", NULL },
    [TP_S_HAS_NOT] = { "(\"ID\" NOT IN (" S_IDS " = %p%s))", NULL },
    [TP_S_ANY] = { "(\"ID\" IN (" S_IDS " IN (%l)%s))", NULL },
    [TP_S_NONE] = { "(\"ID\" NOT IN (" S_IDS " IN (%l)%s))", NULL },
    [TP_S_MATCHES] = { "(EXISTS (" S_OF " AND v REGEXP %p))", NULL },
    [TP_S_EXISTS] = { "(EXISTS (" S_OF "))", NULL },
    [TP_S_NOT_EXISTS] = { "(NOT EXISTS (" S_OF "))", NULL },
    /* PostgreSQL: a pg_trgm GIN index on the column finds the candidates of
     * LIKE (its one parameter the value with %, _ and \ escaped, between %),
     * and LIKE itself keeps contains' exact, case-sensitive meaning. */
    [TP_F_CONTAINS] = { "(" F_IDS " AND instr(%c, %p) > 0)", "(%c LIKE %p)" },
};

static const char *const op_names[] = {
    [F_AND] = "and",
    [F_OR] = "or",
    [F_EQ] = "==",
    [F_NE] = "!=",
    [F_LT] = "<",
    [F_LE] = "<=",
    [F_GT] = ">",
    [F_GE] = ">=",
    [F_CONTAINS] = "contains",
    [F_NOT_CONTAINS] = "not contains",
    [F_IN] = "in",
    [F_NOT_IN] = "not in",
    [F_MATCHES] = "matches",
    [F_EXISTS] = "exists",
    [F_NOT_EXISTS] = "not exists",
};

/* Compile state. The first error sticks in rc and turns later output into
 * no-ops, so emitters need not be checked one by one. */
struct cc {
    struct arena             *a;
    const struct spec        *s;
    enum sql_dialect          d;
    struct buf               *sql;
    struct sqlparams         *ps;
    struct errbuf            *eb;
    const struct filter_side *side; /* NULL: lists from their JSON column */
    int                       rc;
};

/* A comparison's attribute and its values, converted to parameters. */
struct cmp {
    const struct attr *at;
    struct sqlparam   *pv;
    size_t             pn;
};

static void
emit(struct cc *c, const char *text, size_t n)
{
    if (c->rc == E_OK && buf_append(c->sql, text, n) != E_OK)
        c->rc = errbuf_attr(c->eb, E_BADREQ, "q", "invalid filter: too complex");
}

static void
emit_param(struct cc *c, const struct sqlparam *p)
{
    if (c->rc != E_OK)
        return;
    sqlparams_add(c->a, c->ps, *p);
    if (c->d == SQL_SQLITE)
        emit(c, "?", 1);
    else if (buf_printf(c->sql, "$%zu", c->ps->n) != E_OK)
        c->rc = errbuf_attr(c->eb, E_BADREQ, "q", "invalid filter: too complex");
}

void
filter_side_table(struct buf *sql, const struct spec *s, const struct attr *at)
{
    buf_printf(sql, "\"%s__%s\"", s->rest, at->name);
}

void
filter_fts_table(struct buf *sql, const struct spec *s, const struct attr *at)
{
    buf_printf(sql, "\"%s__%s_fts\"", s->rest, at->name);
}

/* A table name from the spec (buf_printf), emitted whole. */
static void
emit_name(struct cc *c, void (*name)(struct buf *, const struct spec *, const struct attr *),
          const struct attr *at)
{
    struct buf b;

    buf_init(&b, 256);
    name(&b, c->s, at);
    emit(c, buf_cstr(&b), b.len);
    buf_free(&b);
}

static void
table_rowid(struct buf *sql, const struct spec *s, const struct attr *at)
{
    KW_UNUSED(at);
    buf_printf(sql, "\"%s\".rowid", s->rest);
}

/* The side scope's SQL, written apart so a full buffer is caught by emit(). */
static void
emit_side_scope(struct cc *c)
{
    struct buf b;

    if (c->side->scope == NULL || c->rc != E_OK)
        return;
    buf_init(&b, 4096);
    buf_puts(&b, " AND ");
    c->side->scope(c->side->ctx, &b, c->ps);
    emit(c, buf_cstr(&b), b.len);
    buf_free(&b);
}

static void
emit_tpl(struct cc *c, enum tpl t, const struct cmp *m)
{
    const char *s = tpl_sql[t][c->d == SQL_POSTGRES];
    size_t      next = 0;

    for (const char *pct; (pct = strchr(s, '%')) != NULL; s = pct + 2) {
        emit(c, s, (size_t)(pct - s));
        if (pct[1] == 'c') {
            emit(c, "\"", 1);
            emit(c, m->at->name, strlen(m->at->name));
            emit(c, "\"", 1);
        } else if (pct[1] == 't') {
            emit_name(c, filter_side_table, m->at);
        } else if (pct[1] == 'f') {
            emit_name(c, filter_fts_table, m->at);
        } else if (pct[1] == 'r') {
            emit_name(c, table_rowid, m->at);
        } else if (pct[1] == 's') {
            emit_side_scope(c);
        } else if (pct[1] == 'p') {
            assert(next < m->pn);
            emit_param(c, &m->pv[next++]);
        } else {
            for (size_t i = 0; i < m->pn; i++) {
                if (i > 0)
                    emit(c, ", ", 2);
                emit_param(c, &m->pv[i]);
            }
        }
    }
    emit(c, s, strlen(s));
}

/* Report a problem with `field`, naming it in the message and in errbuf.attr. */
static int
fail(struct cc *c, struct str field, const char *why)
{
    size_t n = field.len > 64 ? 64 : field.len;
    char  *name = arena_strndup(c->a, field.p, n);

    if (c->rc == E_OK)
        c->rc = errbuf_attr(c->eb, E_BADREQ, name, "field '%s' %s", name, why);
    return c->rc;
}

static int
fail_op(struct cc *c, struct str field, enum fop op)
{
    return fail(c, field, arena_printf(c->a, "cannot be used with '%s'", op_names[op]));
}

/* Attribute names go into the SQL text between double quotes; only ASCII letters
 * and digits keep that safe whatever a spec author writes. */
static bool
ident_ok(const char *name)
{
    if (name == NULL || *name == '\0')
        return false;
    for (; *name; name++)
        if (!is_alpha(*name) && !is_digit(*name))
            return false;
    return true;
}

static bool
type_filterable(enum atype t)
{
    return t == T_STRING || t == T_BOOL || t == T_INT || t == T_FLOAT || t == T_TIME ||
           t == T_STRLIST;
}

static bool
op_allowed(enum atype t, enum fop op)
{
    switch (op) {
    case F_LT:
    case F_LE:
    case F_GT:
    case F_GE:
        return t == T_STRING || t == T_INT || t == T_FLOAT || t == T_TIME;
    case F_CONTAINS:
    case F_NOT_CONTAINS:
    case F_MATCHES:
        return t == T_STRING || t == T_STRLIST;
    default:
        return true;
    }
}

static const char *
type_want(enum atype t)
{
    switch (t) {
    case T_BOOL:
        return "must be compared with true or false";
    case T_INT:
        return "must be compared with an integer";
    case T_FLOAT:
        return "must be compared with a number";
    case T_TIME:
        return "must be compared with a date: date(...), now(...) or an RFC 3339 string";
    default:
        return "must be compared with a string";
    }
}

/* One value as a parameter for a column of type t, or false if it does not fit. */
static bool
to_param(enum atype t, const struct fval *v, struct sqlparam *p)
{
    *p = (struct sqlparam){ .t = SQLP_INT };
    switch (t) {
    case T_STRING:
    case T_STRLIST:
        p->t = SQLP_TEXT;
        p->s = v->s;
        return v->t == FV_STR;
    case T_BOOL:
        p->i = v->i;
        return v->t == FV_BOOL;
    case T_INT:
        p->i = v->i;
        return v->t == FV_INT;
    case T_FLOAT:
        p->t = SQLP_FLOAT;
        p->f = v->t == FV_INT ? (double)v->i : v->f;
        return v->t == FV_INT || v->t == FV_FLOAT;
    case T_TIME:
        if (v->t == FV_STR)
            return time_parse_ms(v->s, &p->i) == E_OK;
        p->i = v->i;
        return v->t == FV_TIME;
    default:
        return false;
    }
}

/* The value as the store holds such values (spec.h enum aformat); a regex
 * is left as written. */
static struct str
as_stored(struct arena *a, enum aformat fmt, struct str s)
{
    char   ip[IP_TEXT_MAX], *o;
    size_t n = 0;

    if ((fmt == F_IP || fmt == F_ADDR) && ip_canonical(s, fmt == F_ADDR, ip))
        return arena_str(a, str_c(ip));
    if (fmt != F_HEX)
        return s;
    o = arena_alloc(a, s.len + 1);
    for (size_t i = 0; i < s.len; i++)
        if (s.p[i] != ':')
            o[n++] = (char)tolower((unsigned char)s.p[i]);
    /* nothing but separators ("contains ':'") stays as written: emptied, it
     * would match every value (a code review) */
    return n > 0 ? (struct str){ o, n } : s;
}

/* in/not in take a list; contains on a list column may; nothing else does. */
static int
convert(struct cc *c, const struct fnode *f, struct cmp *m)
{
    bool must = f->op == F_IN || f->op == F_NOT_IN;
    bool may =
        must || (m->at->type == T_STRLIST && (f->op == F_CONTAINS || f->op == F_NOT_CONTAINS));
    const struct fval *items = f->v.t == FV_LIST ? f->v.items : &f->v;

    if (must && f->v.t != FV_LIST)
        return fail(c, f->field, arena_printf(c->a, "needs a list with '%s'", op_names[f->op]));
    if (!may && f->v.t == FV_LIST)
        return fail(c, f->field, type_want(m->at->type));
    m->pn = f->v.t == FV_LIST ? f->v.n : 1;
    m->pv = arena_calloc(c->a, m->pn ? m->pn : 1, sizeof *m->pv);
    for (size_t i = 0; i < m->pn; i++) {
        if (!to_param(m->at->type, &items[i], &m->pv[i]))
            return fail(c, f->field, type_want(m->at->type));
        if (m->pv[i].t == SQLP_TEXT && f->op != F_MATCHES)
            m->pv[i].s = as_stored(c->a, m->at->format, m->pv[i].s);
    }
    return E_OK;
}

/* The store runs the same POSIX ERE: refuse what would fail for every row. */
static int
check_regex(struct cc *c, const struct fnode *f)
{
    regex_t     re;
    const char *pat = arena_strndup(c->a, f->v.s.p, f->v.s.len), *why;

    if (!regex_cheap(pat))
        return fail(c, f->field,
                    "has a regular expression that is too complex (size, nesting, anchors, a "
                    "repeated empty match or a backreference)");
    if ((why = regex_portable(pat)) != NULL)
        return fail(c, f->field,
                    arena_printf(c->a,
                                 "has a regular expression that SQLite and "
                                 "PostgreSQL would read differently: %s",
                                 why));
    if (regcomp(&re, pat, REG_EXTENDED | REG_NOSUB) != 0)
        return fail(c, f->field, "has an invalid regular expression");
    regfree(&re);
    return E_OK;
}

bool
filter_regex_matches(struct arena *a, struct str pattern, const char *s)
{
    const char *pat = arena_strndup(a, pattern.p, pattern.len);
    regex_t     re;
    bool        yes;

    if (strlen(s) > REGEX_TEXT_MAX || !regex_cheap(pat) ||
        regcomp(&re, pat, REG_EXTENDED | REG_NOSUB) != 0)
        return false;
    yes = regexec(&re, s, 0, NULL, 0) == 0;
    regfree(&re);
    return yes;
}

static enum tpl
pick_scalar(enum fop op)
{
    static const enum tpl map[] = {
        [F_EQ] = TP_EQ,
        [F_NE] = TP_NE,
        [F_LT] = TP_LT,
        [F_LE] = TP_LE,
        [F_GT] = TP_GT,
        [F_GE] = TP_GE,
        [F_CONTAINS] = TP_CONTAINS,
        [F_NOT_CONTAINS] = TP_NOT_CONTAINS,
        [F_IN] = TP_IN,
        [F_NOT_IN] = TP_NOT_IN,
        [F_MATCHES] = TP_MATCHES,
        [F_EXISTS] = TP_EXISTS,
        [F_NOT_EXISTS] = TP_NOT_EXISTS,
    };
    return map[op];
}

/* On a list column ==/contains/in mean "has an element", their negations
 * "has no such element". */
static enum tpl
pick_list(enum fop op, bool many)
{
    switch (op) {
    case F_EQ:
    case F_CONTAINS:
        return many ? TP_L_ANY : TP_L_HAS;
    case F_NE:
    case F_NOT_CONTAINS:
        return many ? TP_L_NONE : TP_L_HAS_NOT;
    case F_IN:
        return TP_L_ANY;
    case F_NOT_IN:
        return TP_L_NONE;
    case F_MATCHES:
        return TP_L_MATCHES;
    case F_EXISTS:
        return TP_L_EXISTS;
    default:
        return TP_L_NOT_EXISTS;
    }
}

/* The same meanings over a side table. */
static enum tpl
pick_side(enum tpl list)
{
    switch (list) {
    case TP_L_HAS:
        return TP_S_HAS;
    case TP_L_HAS_NOT:
        return TP_S_HAS_NOT;
    case TP_L_ANY:
        return TP_S_ANY;
    case TP_L_NONE:
        return TP_S_NONE;
    case TP_L_MATCHES:
        return TP_S_MATCHES;
    case TP_L_EXISTS:
        return TP_S_EXISTS;
    default:
        return TP_S_NOT_EXISTS;
    }
}

/* A trigram needs 3 characters: FTS5's trigram tokenizer makes no token of a
 * shorter phrase, so shorter values are searched with instr() alone. */
#define SUBSTRING_MIN 3

static size_t
utf8_chars(struct str s)
{
    size_t n = 0;

    for (size_t i = 0; i < s.len; i++)
        n += ((unsigned char)s.p[i] & 0xC0) != 0x80;
    return n;
}

/* True when `f`, a contains on `at`, is answered from its substring index. */
static bool
substring_indexed(const struct attr *at, const struct fnode *f)
{
    return f->op == F_CONTAINS && !f->scan && attr_is_substring(at) && f->v.t == FV_STR &&
           utf8_chars(f->v.s) >= SUBSTRING_MIN;
}

bool
filter_substring_indexed(const struct fnode *cmp, const struct spec *s)
{
    const struct attr *at;

    if (cmp->op == F_AND || cmp->op == F_OR || (at = spec_attr(s, cmp->field)) == NULL)
        return false;
    return substring_indexed(at, cmp);
}

/* The value as one FTS5 phrase: between double quotes, each '"' doubled, so that
 * nothing in it is read as FTS5 syntax (AND, NEAR, *, parentheses, columns). */
struct str
filter_fts_phrase(struct arena *a, struct str v)
{
    size_t n = v.len + 2;
    char  *p, *q;

    for (size_t i = 0; i < v.len; i++)
        n += v.p[i] == '"';
    p = q = arena_alloc(a, n + 1);
    *q++ = '"';
    for (size_t i = 0; i < v.len; i++) {
        if (v.p[i] == '"')
            *q++ = '"';
        *q++ = v.p[i];
    }
    *q++ = '"';
    *q = '\0';
    return (struct str){ p, n };
}

/* The value as a LIKE pattern that matches it anywhere: %value%, with the
 * value's %, _ and \ (LIKE's escape) escaped. */
static struct str
like_anywhere(struct arena *a, struct str v)
{
    char *p = arena_alloc(a, 2 * v.len + 3), *q = p;

    *q++ = '%';
    for (size_t i = 0; i < v.len; i++) {
        if (v.p[i] == '%' || v.p[i] == '_' || v.p[i] == '\\')
            *q++ = '\\';
        *q++ = v.p[i];
    }
    *q++ = '%';
    *q = '\0';
    return (struct str){ p, (size_t)(q - p) };
}

/* TP_F_CONTAINS takes the phrase, then the value (SQLite); the pattern
 * (PostgreSQL). */
static void
substring_params(struct cc *c, struct cmp *m)
{
    struct sqlparam *pv = arena_calloc(c->a, 2, sizeof *pv);

    if (c->d == SQL_POSTGRES) {
        pv[0] = (struct sqlparam){ .t = SQLP_TEXT, .s = like_anywhere(c->a, m->pv[0].s) };
        m->pv = pv;
        m->pn = 1;
        return;
    }
    pv[0] = (struct sqlparam){ .t = SQLP_TEXT, .s = filter_fts_phrase(c->a, m->pv[0].s) };
    pv[1] = m->pv[0];
    m->pv = pv;
    m->pn = 2;
}

/* An empty list matches nothing (in, contains) or everything (their negations);
 * `IN ()` is not valid SQL everywhere, so it is spelled as a constant. */
static enum tpl
pick(const struct cc *c, const struct fnode *f, const struct cmp *m)
{
    enum fop op = f->op;
    bool     many = f->v.t == FV_LIST;

    if (many && m->pn == 0)
        return (op == F_IN || op == F_CONTAINS) ? TP_FALSE : TP_TRUE;
    if (substring_indexed(m->at, f) && (c->d == SQL_POSTGRES || c->side != NULL))
        return TP_F_CONTAINS;
    if (m->at->type != T_STRLIST)
        return pick_scalar(op);
    if (c->side != NULL && c->d == SQL_SQLITE && attr_is_indexed_list(m->at))
        return pick_side(pick_list(op, many));
    return pick_list(op, many);
}

static int
compile_cmp(struct cc *c, const struct fnode *f)
{
    struct cmp m = { .at = spec_attr(c->s, f->field) };

    bool usable =
        m.at != NULL && (f->trusted ? attr_is_column(m.at)
                                    : (m.at->flags & A_QUERY) && !(m.at->flags & A_COMPUTED));
    if (!usable || !type_filterable(m.at->type))
        return fail(c, f->field, "cannot be used in a filter");
    if (!ident_ok(m.at->name) || (c->side != NULL && !ident_ok(c->s->rest))) {
        assert(!"attribute names are ASCII letters and digits");
        return c->rc = errbuf_set(c->eb, E_INTERNAL, "filter: bad attribute name in spec");
    }
    if (!op_allowed(m.at->type, f->op))
        return fail_op(c, f->field, f->op);
    if (f->op != F_EXISTS && f->op != F_NOT_EXISTS && convert(c, f, &m) != E_OK)
        return c->rc;
    if (f->op == F_MATCHES && check_regex(c, f) != E_OK)
        return c->rc;
    enum tpl t = pick(c, f, &m);
    if (t == TP_F_CONTAINS)
        substring_params(c, &m);
    emit_tpl(c, t, &m);
    return c->rc;
}

static int compile_node(struct cc *c, const struct fnode *f);

#define RUN_CHUNK 64

/* The terms of a run of one operator, left to right, into v (NULL: count). */
static size_t
run_terms(const struct fnode *f, enum fop op, const struct fnode **v, size_t n)
{
    if (f->op != op) {
        if (v != NULL)
            v[n] = f;
        return n + 1;
    }
    return run_terms(f->r, op, v, run_terms(f->l, op, v, n));
}

/* A run of one operator side by side, `a OR b OR c`, not `((a OR b) OR c)`
 * (both are associative): SQLite's parser has a stack of about a hundred
 * entries, which a left-nested chain of 64 terms (one q, or q parameters
 * OR-ed) overflowed (500). Its expression trees are at most 1,000 deep, and
 * a flat run of n terms is n deep: runs longer than RUN_CHUNK go in
 * parenthesised chunks of RUN_CHUNK. */
static int
compile_run(struct cc *c, const struct fnode *f)
{
    size_t               n = run_terms(f, f->op, NULL, 0);
    const struct fnode **v = arena_alloc(c->a, n * sizeof *v);
    const char          *sep = f->op == F_AND ? " AND " : " OR ";

    run_terms(f, f->op, v, 0);
    emit(c, "(", 1);
    for (size_t i = 0; i < n && c->rc == E_OK; i++) {
        if (i > 0)
            emit(c, sep, strlen(sep));
        if (n > RUN_CHUNK && i % RUN_CHUNK == 0)
            emit(c, "(", 1);
        compile_node(c, v[i]);
        if (n > RUN_CHUNK && (i % RUN_CHUNK == RUN_CHUNK - 1 || i == n - 1))
            emit(c, ")", 1);
    }
    emit(c, ")", 1);
    return c->rc;
}

static int
compile_node(struct cc *c, const struct fnode *f)
{
    return f->op == F_AND || f->op == F_OR ? compile_run(c, f) : compile_cmp(c, f);
}

size_t
filter_terms(const struct fnode *f)
{
    if (f == NULL)
        return 0;
    return f->op == F_AND || f->op == F_OR ? filter_terms(f->l) + filter_terms(f->r) : 1;
}

struct fnode *
filter_cmp(struct arena *a, const char *field, enum fop op, struct fval v)
{
    struct fnode *n = arena_calloc(a, 1, sizeof *n);

    n->op = op;
    n->field = str_c(field);
    n->v = v;
    n->trusted = true;
    return n;
}

struct fnode *
filter_bool(struct arena *a, enum fop op, struct fnode *l, struct fnode *r)
{
    struct fnode *n = arena_calloc(a, 1, sizeof *n);

    n->op = op;
    n->l = l;
    n->r = r;
    return n;
}

static bool
enum_has(const char *const *enums, struct str v)
{
    for (; *enums != NULL; enums++)
        if (str_eq_c(v, *enums))
            return true;
    return false;
}

/* A value compared with an enumerated attribute must be one of its names
 * (`status == "ACTVE"` is a typo, not an empty answer): 400 otherwise. A
 * string's `contains` and `matches` test parts of names, and are left. */
static int
enum_values_check(const struct attr *at, const struct fnode *n, struct errbuf *eb)
{
    bool whole = n->op == F_EQ || n->op == F_NE || n->op == F_IN || n->op == F_NOT_IN ||
                 (at->type == T_STRLIST && (n->op == F_CONTAINS || n->op == F_NOT_CONTAINS));
    const struct fval *v = n->v.t == FV_LIST ? n->v.items : &n->v;
    size_t             count = n->v.t == FV_LIST ? n->v.n : 1;

    for (size_t i = 0; whole && at->enums != NULL && i < count; i++)
        if (v[i].t == FV_STR && !enum_has(at->enums, v[i].s))
            return errbuf_attr(eb, E_BADREQ, at->name,
                               "'%.*s' is not a value of '%s' (GET /openapi.json lists them)",
                               (int)(v[i].s.len > 64 ? 64 : v[i].s.len), v[i].s.p, at->name);
    return E_OK;
}

int
filter_rewrite(struct arena *a, struct fnode **f, const struct spec *s, int64_t now_ms,
               struct errbuf *eb)
{
    struct fnode      *n = *f;
    const struct attr *at;
    int                rc;

    if (n->op == F_AND || n->op == F_OR) {
        if ((rc = filter_rewrite(a, &n->l, s, now_ms, eb)) != E_OK)
            return rc;
        return filter_rewrite(a, &n->r, s, now_ms, eb);
    }
    at = n->trusted ? NULL : spec_attr(s, n->field);
    if (at != NULL && (at->flags & A_QUERY) && (rc = enum_values_check(at, n, eb)) != E_OK)
        return rc;
    if (at == NULL || !(at->flags & A_COMPUTED) || !(at->flags & A_QUERY))
        return E_OK;
    if (s->hooks.rewrite == NULL)
        return errbuf_attr(eb, E_BADREQ, at->name, "field '%s' cannot be used in a filter",
                           at->name);
    return s->hooks.rewrite(a, s, n, now_ms, f, eb);
}

bool
filter_side_drives(const struct fnode *f, const struct spec *s)
{
    const struct attr *at;

    if (f->op == F_AND)
        return filter_side_drives(f->l, s) || filter_side_drives(f->r, s);
    if (f->op == F_OR) /* SQLite unions the two lookups (MULTI-INDEX OR) */
        return filter_side_drives(f->l, s) && filter_side_drives(f->r, s);
    if (f->op != F_EQ && f->op != F_CONTAINS && f->op != F_IN)
        return false;
    at = spec_attr(s, f->field);
    if (at != NULL && substring_indexed(at, f))
        return true;
    if (at == NULL || !attr_is_indexed_list(at))
        return false;
    return f->v.t == FV_STR || (f->v.t == FV_LIST && f->v.n > 0);
}

bool
filter_fts_drives(const struct fnode *f, const struct spec *s)
{
    if (f->op == F_AND)
        return filter_fts_drives(f->l, s) || filter_fts_drives(f->r, s);
    if (f->op == F_OR)
        return filter_fts_drives(f->l, s) && filter_fts_drives(f->r, s);
    return filter_substring_indexed(f, s);
}

int
filter_compile(struct arena *a, const struct fnode *f, const struct spec *s, enum sql_dialect d,
               struct buf *sql, struct sqlparams *ps, struct errbuf *eb)
{
    return filter_compile_side(a, f, s, d, NULL, sql, ps, eb);
}

int
filter_compile_side(struct arena *a, const struct fnode *f, const struct spec *s,
                    enum sql_dialect d, const struct filter_side *side, struct buf *sql,
                    struct sqlparams *ps, struct errbuf *eb)
{
    struct cc c = { .a = a, .s = s, .d = d, .sql = sql, .ps = ps, .eb = eb, .side = side };
    size_t    len0 = sql->len, n0 = ps->n;

    assert(f != NULL);
    compile_node(&c, f);
    if (c.rc != E_OK) {
        /* Leave the caller's buffers as they were, not half-written. */
        sql->len = len0;
        if (sql->p != NULL)
            sql->p[len0] = '\0';
        ps->n = n0;
    }
    return c.rc;
}
