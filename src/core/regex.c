/* regex.c - see regex.h. */
#include "regex.h"

#include <string.h>

static bool
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Regex cost guards, for glibc's regcomp (the store runs the same regexes). It
 * copies what {m,n} and + repeat, so nested repetitions multiply
 * (`((a{200}){200}){200}` is 8 million nodes and seconds of CPU; `a` followed by
 * twenty '+' took 2.4 s); its epsilon closures grow quadratically with optional
 * nodes (`a?{2048}` took 100 ms) and exponentially when something that can match
 * the empty string is repeated next to an anchor, or with the number of anchors.
 * So patterns are capped at an estimated 512 nodes, 32 nested groups and 4
 * anchors, and may not repeat an empty match; the worst that passes, found by a
 * timing fuzzer, compiles in about 25 ms. A useful filter regex weighs tens of
 * nodes to a couple of hundred and has at most two anchors. */
#define REGEX_MAX_WEIGHT  512
#define REGEX_MAX_NEST    32
#define REGEX_MAX_ANCHORS 4

/* The ']' closing the bracket expression that opens at p ('['), classes like
 * [:alpha:] included; when it is not closed (regcomp then refuses the pattern),
 * the last byte of the string. Never the terminating NUL, so callers may step on. */
static const char *
bracket_end(const char *p)
{
    const char *last = p + strlen(p) - 1;

    p++;
    if (*p == '^')
        p++;
    if (*p == ']')
        p++;
    for (; *p && *p != ']'; p++) {
        if (*p == '[' && (p[1] == ':' || p[1] == '.' || p[1] == '=')) {
            const char *q = p + 2;
            while (*q && !(q[0] == p[1] && q[1] == ']'))
                q++;
            if (*q == '\0')
                return last;
            p = q + 1;
        }
    }
    return *p ? p : last;
}

/* {m}, {m,} or {m,n} at p, moved onto the '}': the counts as given (an absent m is
 * 0, an absent n is m). Overlong numbers saturate above the weight cap. */
static void
bound_of(const char **pp, unsigned long *min, unsigned long *max)
{
    unsigned long n = 0;
    const char   *p = *pp + 1;
    bool          comma = false;

    *min = 0;
    for (; *p && *p != '}'; p++) {
        if (is_digit(*p) && n <= REGEX_MAX_WEIGHT)
            n = n * 10 + (unsigned long)(*p - '0');
        else if (*p == ',' && !comma) {
            *min = n;
            n = 0;
            comma = true;
        }
    }
    if (!comma)
        *min = n;
    *max = n > *min ? n : *min;
    *pp = *p ? p : p - 1;
}

/* The regex scan: per group level, the estimated node count and whether the
 * current branch (or an earlier one) can match the empty string. */
struct rx_level {
    unsigned long sum;
    bool          branch_empty, any_empty;
};

struct rx {
    struct rx_level lv[REGEX_MAX_NEST + 1];
    size_t          depth;
    unsigned long   last;         /* weight a quantifier would repeat; 0: nothing */
    unsigned        anchors;      /* zero-width assertions so far */
    bool            last_empty;   /* that element can match the empty string */
    bool            before_empty; /* the branch could, before that element */
};

static void
rx_element(struct rx *r, unsigned long weight, bool empty)
{
    struct rx_level *l = &r->lv[r->depth];

    r->before_empty = l->branch_empty;
    r->last = weight;
    r->last_empty = empty;
    l->sum += weight;
    l->branch_empty = l->branch_empty && empty;
}

static bool
rx_open(struct rx *r)
{
    if (r->depth == REGEX_MAX_NEST)
        return false;
    r->lv[++r->depth] = (struct rx_level){ .branch_empty = true };
    r->last = 0;
    return true;
}

/* A group weighs its contents plus its two subexpression nodes. */
static void
rx_close(struct rx *r)
{
    struct rx_level *l = &r->lv[r->depth--];

    rx_element(r, l->sum + 2, l->any_empty || l->branch_empty);
}

static void
rx_alt(struct rx *r)
{
    struct rx_level *l = &r->lv[r->depth];

    l->any_empty = l->any_empty || l->branch_empty;
    l->branch_empty = true;
    l->sum += 1;
    r->last = 0;
}

/* Repeat the last element: `copies` copies of it remain, plus `extra` nodes (the
 * alternatives that make copies optional). Repeating what can match the empty
 * string (a?*, (b?)*{0,20}, ^*) is refused: glibc's epsilon closures over such
 * loops grow exponentially, `x$(b?)*{0,20}` ran for seconds. */
static bool
rx_repeat(struct rx *r, unsigned long copies, unsigned long extra, bool optional)
{
    struct rx_level *l = &r->lv[r->depth];

    if (r->last_empty)
        return false;
    l->sum += r->last * (copies - 1) + extra;
    r->last = r->last * copies + extra;
    r->last_empty = optional;
    l->branch_empty = r->before_empty && optional;
    return true;
}

static bool
rx_quantifier(struct rx *r, const char **pp)
{
    unsigned long min, max;

    if (**pp == '?' || **pp == '*') /* counted double: optional nodes cost most */
        return rx_repeat(r, 1, 2, true);
    if (**pp == '+') /* X+ is compiled as XX* */
        return rx_repeat(r, 2, 1, false);
    bound_of(pp, &min, &max);
    return rx_repeat(r, max ? max : 1, max ? max : 1, min == 0);
}

/* Anchors are zero-width: they match the empty string, under a constraint that
 * glibc carries through every epsilon path after it, so each one multiplies the
 * cost of what follows (`($|^)` 64 times took 24 s). */
static bool
rx_anchor(struct rx *r)
{
    rx_element(r, 1, true);
    return ++r->anchors <= REGEX_MAX_ANCHORS;
}

/* Zero-width GNU escapes: word boundaries and buffer anchors. */
static bool
is_anchor_escape(char c)
{
    return c == 'b' || c == 'B' || c == '<' || c == '>' || c == '`' || c == '\'';
}

/* Whether glibc's regcomp and regexec stay cheap on pattern p, estimated in
 * compiled nodes: an atom or '|' weighs 1, a group its contents plus 2, '?' and
 * '*' add two, '+' doubles what it repeats and {m,n} copies it max(m,n) times.
 * Backreferences are refused: they make matching exponential. */
int
regex_weight(const char *p)
{
    struct rx     r = { .lv[0] = { .branch_empty = true } };
    unsigned long w = 0;

    for (; *p; p++) {
        bool ok = true;
        if (*p == '(')
            ok = rx_open(&r);
        else if (*p == ')' && r.depth > 0)
            rx_close(&r);
        else if (*p == '|')
            rx_alt(&r);
        else if (*p == '^' || *p == '$')
            ok = rx_anchor(&r);
        else if (r.last > 0 && (*p == '?' || *p == '*' || *p == '+' || *p == '{'))
            ok = rx_quantifier(&r, &p);
        else if (*p == '\\' && is_digit(p[1]))
            ok = false;
        else if (*p == '\\' && is_anchor_escape(p[1])) {
            p++;
            ok = rx_anchor(&r);
        } else if (*p == '\\' && p[1]) {
            p++;
            rx_element(&r, 1, false);
        } else {
            if (*p == '[')
                p = bracket_end(p);
            rx_element(&r, 1, false);
        }
        if (!ok || r.lv[r.depth].sum > REGEX_MAX_WEIGHT || r.last > REGEX_MAX_WEIGHT)
            return -1;
    }
    for (size_t i = 0; i <= r.depth; i++)
        w += r.lv[i].sum;
    return (int)w;
}

bool
regex_cheap(const char *p)
{
    return regex_weight(p) >= 0;
}

static bool
is_alnum(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* A bound {m}, {m,} or {m,n} at p ('{'), m given; *end onto its '}'. */
static bool
bound_ok(const char *p, const char **end)
{
    const char *q = p + 1;

    if (!is_digit(*q))
        return false;
    while (is_digit(*q))
        q++;
    if (*q == ',')
        for (q++; is_digit(*q); q++)
            ;
    *end = q;
    return *q == '}';
}

const char *
regex_portable(const char *p)
{
    int  open = 0;
    bool operand = false, quantified = false; /* what the last item was */

    for (; *p; p++) {
        bool quant = *p == '*' || *p == '+' || *p == '?' || *p == '{';
        if (quant && (!operand || quantified))
            return quantified ? "a quantifier on a quantifier"
                              : "a quantifier with nothing "
                                "to repeat";
        if (*p == '{' && !bound_ok(p, &p))
            return "a bound that is not {m}, {m,} or {m,n}";
        if (quant) {
            quantified = true;
            continue;
        }
        quantified = false;
        operand = true;
        if (*p == '\\' && (p[1] == '\0' || is_alnum(p[1]) || strchr("<>`'", p[1]) != NULL))
            return "a backslash before a letter or digit, or a GNU word anchor (write "
                   "[0-9], [[:space:]], ...)";
        if (*p == '\\') {
            p++;
        } else if (*p == '[') {
            const char *end = bracket_end(p);
            if (memchr(p, '\\', (size_t)(end - p)) != NULL)
                return "a backslash inside brackets";
            p = end;
        } else if (*p == '(') {
            open++;
            operand = false;
        } else if (*p == ')') {
            if (open-- == 0)
                return "a ')' without its '('";
        } else if (*p == '|') {
            operand = false;
        } else if (*p == '^') {
            operand = false;
        }
    }
    return NULL;
}
