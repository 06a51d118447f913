/* filter_parse.c - the q= filter language's parser: recursive descent from
 * the text of q to a tree of struct fnode (filter.h), which filter.c compiles
 * to SQL; the limits of API.md section 6 are checked on the way.
 *
 * Error positions are 1-based byte offsets into q, the first byte being 1.
 */
#include "filter.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "../core/timeutil.h"
#include "filter_local.h"

/* API.md section 6 limits; each is tested at the cap and one past it. */
#define FILTER_MAX_LEN   4096
#define FILTER_MAX_CMP   64
#define FILTER_MAX_DEPTH 16
#define FILTER_MAX_ITEMS 256

/* ------------------------------------------------------------------ parser */

struct parser {
    struct arena  *a;
    const char    *p;
    size_t         len, pos;
    int64_t        now_ms;
    int            ncmp, depth;
    struct errbuf *eb;
};

static int
syntax(struct parser *ps, size_t at, const char *what)
{
    return errbuf_set(ps->eb, E_BADREQ, "invalid filter at position %zu: %s", at + 1, what);
}

static bool
is_word_start(char c)
{
    return is_alpha(c) || c == '_';
}

static bool
is_word(char c)
{
    return is_word_start(c) || is_digit(c) || c == '.';
}

static void
skip_ws(struct parser *ps)
{
    while (ps->pos < ps->len) {
        char c = ps->p[ps->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        ps->pos++;
    }
}

/* The byte at the cursor after blanks, or NUL at the end (q holds no NUL). */
static char
peek(struct parser *ps)
{
    skip_ws(ps);
    return ps->pos < ps->len ? ps->p[ps->pos] : '\0';
}

/* The word ([A-Za-z_][A-Za-z0-9_.]*) at the cursor, not consumed; empty if none. */
static struct str
peek_word(struct parser *ps)
{
    size_t i;

    if (!is_word_start(peek(ps)))
        return (struct str){ ps->p + ps->pos, 0 };
    for (i = ps->pos + 1; i < ps->len && is_word(ps->p[i]); i++)
        ;
    return (struct str){ ps->p + ps->pos, i - ps->pos };
}

static bool
accept_kw(struct parser *ps, const char *kw)
{
    struct str w = peek_word(ps);

    if (w.len == 0 || !str_eq_nocase(w, kw))
        return false;
    ps->pos += w.len;
    return true;
}

static bool
accept_ch(struct parser *ps, char c)
{
    if (peek(ps) != c || c == '\0')
        return false;
    ps->pos++;
    return true;
}

static bool
escapable(char c)
{
    return c == '"' || c == '\'' || c == '\\';
}

/* A quoted string, the cursor on its opening quote. \" \' and \\ stand for the
 * character; any other backslash is kept, so regexes like "a\.b" read naturally.
 * The first pass measures so the copy is allocated exactly once. */
static int
parse_string(struct parser *ps, struct str *out)
{
    size_t at = ps->pos, i, n = 0;
    char   q = ps->p[at], *dst;

    for (i = at + 1; i < ps->len && ps->p[i] != q; i++, n++)
        if (ps->p[i] == '\\' && i + 1 < ps->len && escapable(ps->p[i + 1]))
            i++;
    if (i >= ps->len)
        return syntax(ps, at, "unterminated string");
    dst = arena_alloc(ps->a, n + 1);
    n = 0;
    for (i = at + 1; ps->p[i] != q; i++) {
        if (ps->p[i] == '\\' && escapable(ps->p[i + 1]))
            i++;
        dst[n++] = ps->p[i];
    }
    dst[n] = '\0';
    ps->pos = i + 1;
    *out = (struct str){ dst, n };
    return E_OK;
}

/* Digits from i; returns the index after them. */
static size_t
digits(struct parser *ps, size_t i)
{
    while (i < ps->len && is_digit(ps->p[i]))
        i++;
    return i;
}

/* strtod needs a NUL-terminated copy; out-of-range and non-finite are refused
 * rather than silently rounded to 0 or infinity. */
static int
parse_float(struct parser *ps, struct str tok, size_t at, struct fval *v)
{
    char  *copy = arena_strndup(ps->a, tok.p, tok.len), *end;
    double d;

    errno = 0;
    d = strtod(copy, &end);
    if (end != copy + tok.len || errno == ERANGE || !isfinite(d))
        return syntax(ps, at, "number out of range");
    v->t = FV_FLOAT;
    v->f = d;
    return E_OK;
}

/* -?digits(.digits)?([eE][+-]?digits)? ; an integer unless it has '.' or 'e'. */
static int
parse_number(struct parser *ps, struct fval *v)
{
    size_t at = ps->pos, i = at, d;
    bool   frac = false;

    if (ps->p[i] == '-')
        i++;
    d = i;
    if ((i = digits(ps, i)) == d)
        return syntax(ps, at, "invalid number");
    if (i < ps->len && ps->p[i] == '.') {
        d = ++i;
        if ((i = digits(ps, i)) == d)
            return syntax(ps, at, "invalid number");
        frac = true;
    }
    if (i < ps->len && (ps->p[i] == 'e' || ps->p[i] == 'E')) {
        if (++i < ps->len && (ps->p[i] == '+' || ps->p[i] == '-'))
            i++;
        d = i;
        if ((i = digits(ps, i)) == d)
            return syntax(ps, at, "invalid number");
        frac = true;
    }
    if (i < ps->len && is_word(ps->p[i]))
        return syntax(ps, at, "invalid number");
    ps->pos = i;
    struct str tok = { ps->p + at, i - at };
    if (frac)
        return parse_float(ps, tok, at, v);
    if (str_to_i64(tok, &v->i) != E_OK)
        return syntax(ps, at, "number out of range");
    v->t = FV_INT;
    return E_OK;
}

/* `name(` ["string"] `)` for date() and now(); the cursor is on the name.
 * *argpos is where the argument (or the closing parenthesis) starts. */
static int
parse_call(struct parser *ps, bool optional, struct str *arg, size_t *argpos)
{
    ps->pos += peek_word(ps).len;
    if (!accept_ch(ps, '('))
        return syntax(ps, ps->pos, "expected '('");
    char c = peek(ps);
    *argpos = ps->pos;
    *arg = STR_NULL;
    if (c == '"' || c == '\'') {
        int rc = parse_string(ps, arg);
        if (rc != E_OK)
            return rc;
    } else if (!optional)
        return syntax(ps, ps->pos, "expected a quoted date");
    if (!accept_ch(ps, ')'))
        return syntax(ps, ps->pos, "expected ')'");
    return E_OK;
}

static int
parse_date(struct parser *ps, struct fval *v)
{
    struct str arg;
    size_t     at;
    int        rc = parse_call(ps, false, &arg, &at);

    if (rc != E_OK)
        return rc;
    if (time_parse_ms(arg, &v->i) != E_OK)
        return syntax(ps, at,
                      "invalid date (expected 2026-01-02 or RFC 3339, to the millisecond)");
    v->t = FV_TIME;
    return E_OK;
}

/* now() is the request's clock; now("-720h") offsets it by a Go duration. */
static int
parse_now(struct parser *ps, struct fval *v)
{
    struct str arg;
    size_t     at;
    int64_t    off = 0;
    int        rc = parse_call(ps, true, &arg, &at);

    if (rc != E_OK)
        return rc;
    if (arg.p != NULL && duration_parse(arg, &off) != E_OK)
        return syntax(ps, at, "invalid duration (expected e.g. \"-720h\")");
    if (__builtin_add_overflow(ps->now_ms, off, &v->i))
        return syntax(ps, at, "duration out of range");
    v->t = FV_TIME;
    return E_OK;
}

static int parse_value(struct parser *ps, struct fval *v, bool top);

/* [value, ...]; items are scalars: nested lists mean nothing in SQL. */
static int
parse_list(struct parser *ps, struct fval *v)
{
    size_t cap = 0;

    ps->pos++;
    *v = (struct fval){ .t = FV_LIST };
    if (accept_ch(ps, ']'))
        return E_OK;
    for (;;) {
        if (v->n == FILTER_MAX_ITEMS)
            return syntax(ps, ps->pos, "more than 256 items in a list");
        if (v->n == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            v->items =
                arena_realloc(ps->a, v->items, cap * sizeof *v->items, ncap * sizeof *v->items);
            cap = ncap;
        }
        int rc = parse_value(ps, &v->items[v->n], false);
        if (rc != E_OK)
            return rc;
        v->n++;
        if (accept_ch(ps, ']'))
            return E_OK;
        if (!accept_ch(ps, ','))
            return syntax(ps, ps->pos, "expected ',' or ']'");
    }
}

static int
parse_value(struct parser *ps, struct fval *v, bool top)
{
    char       c = peek(ps);
    struct str w;

    *v = (struct fval){ .t = FV_NONE };
    if (c == '"' || c == '\'') {
        v->t = FV_STR;
        return parse_string(ps, &v->s);
    }
    if (c == '[')
        return top ? parse_list(ps, v) : syntax(ps, ps->pos, "lists cannot be nested");
    if (c == '-' || is_digit(c))
        return parse_number(ps, v);
    w = peek_word(ps);
    if (w.len && (str_eq_nocase(w, "true") || str_eq_nocase(w, "false"))) {
        ps->pos += w.len;
        v->t = FV_BOOL;
        v->i = str_eq_nocase(w, "true");
        return E_OK;
    }
    if (w.len && str_eq_nocase(w, "date"))
        return parse_date(ps, v);
    if (w.len && str_eq_nocase(w, "now"))
        return parse_now(ps, v);
    return syntax(ps, ps->pos, "expected a value");
}

/* Word operators, with the operator they make after `not` (F_AND: none). */
static const struct {
    const char *kw;
    enum fop    op, negated;
} word_ops[] = {
    { "contains", F_CONTAINS, F_NOT_CONTAINS },
    { "in", F_IN, F_NOT_IN },
    { "exists", F_EXISTS, F_NOT_EXISTS },
    { "matches", F_MATCHES, F_AND },
};

static const struct {
    const char *sym;
    enum fop    op;
} sym_ops[] = {
    /* two-byte symbols first, so "<=" is not read as "<" */
    { "==", F_EQ }, { "!=", F_NE }, { "<=", F_LE },
    { ">=", F_GE }, { "<", F_LT },  { ">", F_GT },
};

static int
parse_word_op(struct parser *ps, enum fop *op)
{
    bool   neg = accept_kw(ps, "not");
    size_t at;

    skip_ws(ps);
    at = ps->pos;
    for (size_t i = 0; i < ARRAY_LEN(word_ops); i++) {
        if (accept_kw(ps, word_ops[i].kw)) {
            *op = neg ? word_ops[i].negated : word_ops[i].op;
            if (*op != F_AND)
                return E_OK;
            break;
        }
    }
    return syntax(ps, at,
                  neg ? "expected 'contains', 'in' or 'exists' after 'not'"
                      : "expected an operator");
}

static int
parse_op(struct parser *ps, enum fop *op)
{
    skip_ws(ps);
    for (size_t i = 0; i < ARRAY_LEN(sym_ops); i++) {
        size_t n = strlen(sym_ops[i].sym);
        if (ps->len - ps->pos >= n && memcmp(ps->p + ps->pos, sym_ops[i].sym, n) == 0) {
            ps->pos += n;
            *op = sym_ops[i].op;
            return E_OK;
        }
    }
    return parse_word_op(ps, op);
}

static int
parse_cmp(struct parser *ps, struct fnode **out)
{
    struct fnode *n;
    struct str    field = peek_word(ps);
    size_t        at = ps->pos;
    int           rc;

    if (field.len == 0)
        return syntax(ps, at, "expected a field name or '('");
    if (++ps->ncmp > FILTER_MAX_CMP)
        return syntax(ps, at, "more than 64 comparisons");
    ps->pos += field.len;
    n = arena_calloc(ps->a, 1, sizeof *n);
    n->field = arena_str(ps->a, field);
    n->v.t = FV_NONE;
    if ((rc = parse_op(ps, &n->op)) != E_OK)
        return rc;
    if (n->op != F_EXISTS && n->op != F_NOT_EXISTS && (rc = parse_value(ps, &n->v, true)))
        return rc;
    *out = n;
    return E_OK;
}

static int parse_or(struct parser *ps, struct fnode **out);

static int
parse_unary(struct parser *ps, struct fnode **out)
{
    size_t at;
    int    rc;

    skip_ws(ps);
    at = ps->pos;
    if (!accept_ch(ps, '('))
        return parse_cmp(ps, out);
    if (++ps->depth > FILTER_MAX_DEPTH)
        return syntax(ps, at, "more than 16 levels of parentheses");
    rc = parse_or(ps, out);
    if (rc == E_OK && !accept_ch(ps, ')'))
        rc = syntax(ps, ps->pos, "expected ')'");
    ps->depth--;
    return rc;
}

static struct fnode *
bool_node(struct parser *ps, enum fop op, struct fnode *l, struct fnode *r)
{
    struct fnode *n = arena_calloc(ps->a, 1, sizeof *n);

    n->op = op;
    n->l = l;
    n->r = r;
    n->v.t = FV_NONE;
    return n;
}

/* and := unary ('and' unary)*  -- left-associative */
static int
parse_and(struct parser *ps, struct fnode **out)
{
    struct fnode *l = NULL, *r = NULL;
    int           rc = parse_unary(ps, &l);

    while (rc == E_OK && accept_kw(ps, "and"))
        if ((rc = parse_unary(ps, &r)) == E_OK)
            l = bool_node(ps, F_AND, l, r);
    *out = l;
    return rc;
}

/* expr := and ('or' and)*  -- so `and` binds tighter than `or` */
static int
parse_or(struct parser *ps, struct fnode **out)
{
    struct fnode *l = NULL, *r = NULL;
    int           rc = parse_and(ps, &l);

    while (rc == E_OK && accept_kw(ps, "or"))
        if ((rc = parse_and(ps, &r)) == E_OK)
            l = bool_node(ps, F_OR, l, r);
    *out = l;
    return rc;
}

int
filter_parse(struct arena *a, struct str q, int64_t now_ms, struct fnode **out,
             struct errbuf *eb)
{
    struct parser ps = { .a = a, .p = q.p, .len = q.len, .now_ms = now_ms, .eb = eb };
    struct fnode *root = NULL;
    const char   *nul = q.len ? memchr(q.p, '\0', q.len) : NULL;
    int           rc;

    *out = NULL;
    if (q.len > FILTER_MAX_LEN)
        return errbuf_set(eb, E_BADREQ, "invalid filter: longer than %d bytes", FILTER_MAX_LEN);
    /* NUL cannot travel to PostgreSQL as text, and peek() uses it as the end. */
    if (nul != NULL)
        return syntax(&ps, (size_t)(nul - q.p), "NUL byte");
    if (!utf8_valid(q.p, q.len))
        return errbuf_set(eb, E_BADREQ, "invalid filter: not valid UTF-8");
    if ((rc = parse_or(&ps, &root)) != E_OK)
        return rc;
    if (peek(&ps) != '\0')
        return syntax(&ps, ps.pos, "expected 'and', 'or' or the end of the filter");
    *out = root;
    return E_OK;
}
