/* targets.c - a discovery's targets, excludes and ports: parsing, counting, walking.
 *
 * Ranges are handled as inclusive 128-bit intervals [first, last]; both ends fit
 * in 128 bits even for "::/0", whose size (2^128) does not, so sizes are only
 * ever computed as saturated 64-bit counts (u128_span).
 */
#include "targets.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- 128-bit addresses ------------------------------------------------ */

static struct target_u128
u128_get(const unsigned char b[16])
{
    struct target_u128 v = { 0, 0 };

    for (int i = 0; i < 8; i++) {
        v.hi = v.hi << 8 | b[i];
        v.lo = v.lo << 8 | b[8 + i];
    }
    return v;
}

static void
u128_put(struct target_u128 v, unsigned char b[16])
{
    for (int i = 7; i >= 0; i--) {
        b[i] = (unsigned char)(v.hi & 0xff);
        b[8 + i] = (unsigned char)(v.lo & 0xff);
        v.hi >>= 8;
        v.lo >>= 8;
    }
}

static int
u128_cmp(struct target_u128 a, struct target_u128 b)
{
    if (a.hi != b.hi)
        return a.hi < b.hi ? -1 : 1;
    if (a.lo != b.lo)
        return a.lo < b.lo ? -1 : 1;
    return 0;
}

/* v + 1; the callers never pass the last address. */
static struct target_u128
u128_inc(struct target_u128 v)
{
    if (++v.lo == 0)
        v.hi++;
    return v;
}

/* v - 1; the callers never pass address 0. */
static struct target_u128
u128_dec(struct target_u128 v)
{
    if (v.lo-- == 0)
        v.hi--;
    return v;
}

/* v + k; the callers stay inside a range, so this does not wrap. */
static struct target_u128
u128_add64(struct target_u128 v, uint64_t k)
{
    uint64_t lo = v.lo + k;

    if (lo < v.lo)
        v.hi++;
    v.lo = lo;
    return v;
}

/* The size of [a, b] (a <= b), or UINT64_MAX when that is 2^64 or more. */
static uint64_t
u128_span(struct target_u128 a, struct target_u128 b)
{
    uint64_t hi = b.hi - a.hi - (b.lo < a.lo ? 1 : 0);
    uint64_t lo = b.lo - a.lo;

    return hi != 0 || lo == UINT64_MAX ? UINT64_MAX : lo + 1;
}

static uint64_t
sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t
sat_mul(uint64_t a, uint64_t b)
{
    return a != 0 && b > UINT64_MAX / a ? UINT64_MAX : a * b;
}

/* Ones in the 128 - bits host bits of a prefix. */
static struct target_u128
host_mask(unsigned bits)
{
    unsigned           h = bits >= 128 ? 0 : 128 - bits;
    struct target_u128 m;

    m.lo = h >= 64 ? UINT64_MAX : h == 0 ? 0 : UINT64_MAX >> (64 - h);
    m.hi = h <= 64 ? 0 : h == 128 ? UINT64_MAX : UINT64_MAX >> (128 - h);
    return m;
}

/* The first and last addresses of a range. */
static void
range_bounds(const struct cidr *c, struct target_u128 *first, struct target_u128 *last)
{
    struct target_u128 a = u128_get(c->addr), m = host_mask(c->bits);

    first->hi = a.hi & ~m.hi;
    first->lo = a.lo & ~m.lo;
    last->hi = a.hi | m.hi;
    last->lo = a.lo | m.lo;
}

/* ---- messages ---------------------------------------------------------- */

#define SHOW_MAX 48

/* A value as a message quotes it: printable ASCII ('?' for other bytes), at
 * most SHOW_MAX bytes, "..." when cut. */
struct shown {
    char s[SHOW_MAX + 4];
};

static struct shown
show(struct str v)
{
    struct shown out;
    size_t       n = v.len > SHOW_MAX ? SHOW_MAX : v.len;

    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)v.p[i];
        out.s[i] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
    }
    memcpy(out.s + n, v.len > n ? "..." : "", v.len > n ? 4 : 1);
    return out;
}

/* "10.0.0.0/24" or "2001:db8::/32": IPv4-mapped ranges are shown as IPv4. */
static void
range_format(const struct cidr *c, char out[INET6_ADDRSTRLEN + 8])
{
    bool   v4 = c->bits >= 96 && ip_is_v4(c->addr);
    size_t n;

    if (inet_ntop(v4 ? AF_INET : AF_INET6, v4 ? c->addr + 12 : c->addr, out,
                  INET6_ADDRSTRLEN) == NULL) {
        out[0] = '\0';
        return;
    }
    n = strlen(out);
    snprintf(out + n, INET6_ADDRSTRLEN + 8 - n, "/%u", c->bits - (v4 ? 96 : 0));
}

/* ---- host names -------------------------------------------------------- */

static bool
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool
is_ldh(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
}

/* Why p[0..n) is not a label of a host name, or NULL when it is one. */
static const char *
label_check(const char *p, size_t n)
{
    if (n == 0)
        return "a host name has no empty label";
    if (n > 63)
        return "a label of a host name has at most 63 characters";
    if (p[0] == '-' || p[n - 1] == '-')
        return "a label of a host name does not start or end with '-'";
    for (size_t i = 0; i < n; i++)
        if (!is_ldh(p[i]))
            return "a host name has only letters, digits, '-' and '.'";
    return NULL;
}

const char *
target_name_check(struct str s)
{
    size_t      start = 0;
    const char *why;

    if (s.len > TARGET_NAME_MAX)
        return "a host name has at most 253 characters";
    for (size_t i = 0; i <= s.len; i++) {
        if (i < s.len && s.p[i] != '.')
            continue;
        if ((why = label_check(s.p + start, i - start)) != NULL)
            return why;
        if (i < s.len)
            start = i + 1;
    }
    for (size_t i = start; i < s.len; i++)
        if (!is_digit(s.p[i]))
            return NULL;
    return "the last label of a host name cannot be all digits";
}

static int
name_parse(struct str s, struct target *out, struct errbuf *eb)
{
    struct str  name = s;
    const char *why;

    if (name.len > 0 && name.p[name.len - 1] == '.')
        name.len--;
    if ((why = target_name_check(name)) != NULL)
        return errbuf_set(eb, E_VALIDATION,
                          "'%s' is not an IP address, a CIDR range or a host name (%s)",
                          show(s).s, why);
    out->is_name = true;
    for (size_t i = 0; i < name.len; i++) {
        char ch = name.p[i];
        out->name[i] = ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
    }
    out->name[name.len] = '\0';
    return E_OK;
}

/* ---- addresses and ranges --------------------------------------------- */

/* An address or CIDR range, host bits clear; `what` names what was expected. */
static int
range_parse(struct str s, const char *what, struct cidr *out, struct errbuf *eb)
{
    struct target_u128 first, last;
    char               net[INET6_ADDRSTRLEN + 8];

    if (cidr_parse(s, out) != E_OK) /* strict: no NUL inside, digits-only prefix */
        return errbuf_set(eb, E_VALIDATION, "'%s' is not %s%s", show(s).s, what,
                          s.p[0] == '[' ? " (IPv6 is written without brackets)" : "");
    range_bounds(out, &first, &last);
    if (u128_cmp(first, u128_get(out->addr)) != 0) {
        u128_put(first, out->addr);
        range_format(out, net);
        return errbuf_set(eb, E_VALIDATION, "'%s' has host bits set (the range is %s)",
                          show(s).s, net);
    }
    return E_OK;
}

int
target_parse(struct str s, struct target *out, struct errbuf *eb)
{
    memset(out, 0, sizeof *out);
    if (s.len == 0)
        return errbuf_set(eb, E_VALIDATION, "a target cannot be empty");
    if (memchr(s.p, '/', s.len) != NULL || memchr(s.p, ':', s.len) != NULL || s.p[0] == '[')
        return range_parse(s, "an IP address or a CIDR range", &out->range, eb);
    if (memchr(s.p, '\0', s.len) == NULL && ip_parse(s, out->range.addr) == E_OK) {
        out->range.bits = 128;
        return E_OK;
    }
    return name_parse(s, out, eb);
}

int
exclude_parse(struct str s, struct cidr *out, struct errbuf *eb)
{
    memset(out, 0, sizeof *out);
    if (s.len == 0)
        return errbuf_set(eb, E_VALIDATION, "an exclude cannot be empty");
    return range_parse(s, "a CIDR range or an IP address", out, eb);
}

/* ---- ports ------------------------------------------------------------- */

/* 1 to 5 digits, no leading zero. */
static bool
port_number(struct str s, uint32_t *out)
{
    uint32_t v = 0;

    if (s.len == 0 || s.len > 5 || (s.p[0] == '0' && s.len > 1))
        return false;
    for (size_t i = 0; i < s.len; i++) {
        if (!is_digit(s.p[i]))
            return false;
        v = v * 10 + (uint32_t)(s.p[i] - '0');
    }
    *out = v;
    return true;
}

int
port_parse(struct str s, struct port_range *out, struct errbuf *eb)
{
    struct str lo, hi = str_cut(s, '-', &lo);
    uint32_t   a = 0, b = 0;

    if (s.len == 0)
        return errbuf_set(eb, E_VALIDATION, "a port cannot be empty");
    if (!port_number(lo, &a) || (hi.p != NULL && !port_number(hi, &b)))
        return errbuf_set(eb, E_VALIDATION,
                          "'%s' is not a port (like 443) or a range of ports (like 8443-8450)",
                          show(s).s);
    if (hi.p == NULL)
        b = a;
    if (a == 0 || a > 65535 || b > 65535)
        return errbuf_set(eb, E_VALIDATION, "'%s': a port is 1 to 65535", show(s).s);
    if (a > b)
        return errbuf_set(eb, E_VALIDATION, "'%s': a range of ports goes from low to high",
                          show(s).s);
    out->lo = (uint16_t)a;
    out->hi = (uint16_t)b;
    return E_OK;
}

/* ---- building a set ---------------------------------------------------- */

static int
build_targets(struct arena *a, const struct str *v, size_t n, struct target_set *out,
              struct errbuf *eb)
{
    if (n == 0)
        return errbuf_attr(eb, E_VALIDATION, "targets",
                           "Attribute 'targets' must list at least one target");
    if (n > TARGETS_MAX)
        return errbuf_attr(eb, E_VALIDATION, "targets",
                           "Attribute 'targets' has %zu items, at most %d are allowed", n,
                           TARGETS_MAX);
    out->targets = arena_calloc(a, n, sizeof *out->targets);
    for (size_t i = 0; i < n; i++) {
        struct errbuf item = { 0 };
        if (target_parse(v[i], &out->targets[i], &item) != E_OK)
            return errbuf_attr(eb, E_VALIDATION, "targets", "targets[%zu]: %s", i, item.msg);
    }
    out->ntargets = n;
    return E_OK;
}

static int
cidr_order(const void *pa, const void *pb)
{
    const struct cidr *a = pa, *b = pb;
    int                c = memcmp(a->addr, b->addr, 16);

    if (c != 0)
        return c;
    return a->bits < b->bits ? -1 : a->bits > b->bits;
}

/* Sorted by address, shorter prefix first, then each range inside the one kept
 * before it is dropped: CIDR ranges nest or are disjoint, so a range inside any
 * kept one is inside the last kept one, and what is kept is disjoint. */
static size_t
excludes_normalise(struct cidr *v, size_t n)
{
    size_t kept = 0;

    qsort(v, n, sizeof *v, cidr_order);
    for (size_t i = 0; i < n; i++) {
        if (kept > 0 && v[kept - 1].bits <= v[i].bits && cidr_contains(&v[kept - 1], v[i].addr))
            continue;
        v[kept++] = v[i];
    }
    return kept;
}

static int
build_excludes(struct arena *a, const struct str *v, size_t n, struct target_set *out,
               struct errbuf *eb)
{
    if (n > EXCLUDES_MAX)
        return errbuf_attr(eb, E_VALIDATION, "excludes",
                           "Attribute 'excludes' has %zu items, at most %d are allowed", n,
                           EXCLUDES_MAX);
    out->excludes = arena_calloc(a, n, sizeof *out->excludes);
    for (size_t i = 0; i < n; i++) {
        struct errbuf item = { 0 };
        if (exclude_parse(v[i], &out->excludes[i], &item) != E_OK)
            return errbuf_attr(eb, E_VALIDATION, "excludes", "excludes[%zu]: %s", i, item.msg);
    }
    out->nexcludes = excludes_normalise(out->excludes, n);
    return E_OK;
}

static int
port_order(const void *pa, const void *pb)
{
    const struct port_range *a = pa, *b = pb;

    if (a->lo != b->lo)
        return a->lo < b->lo ? -1 : 1;
    return a->hi < b->hi ? -1 : a->hi > b->hi;
}

/* Sorted, then overlapping and adjacent ranges merged; the distinct ports counted. */
static void
ports_normalise(struct target_set *s)
{
    size_t kept = 0;

    qsort(s->ports, s->nports, sizeof *s->ports, port_order);
    for (size_t i = 0; i < s->nports; i++) {
        struct port_range *last = kept > 0 ? &s->ports[kept - 1] : NULL;
        if (last != NULL && (uint32_t)s->ports[i].lo <= (uint32_t)last->hi + 1) {
            if (s->ports[i].hi > last->hi)
                last->hi = s->ports[i].hi;
            continue;
        }
        s->ports[kept++] = s->ports[i];
    }
    s->nports = kept;
    s->nports_total = 0;
    for (size_t i = 0; i < kept; i++)
        s->nports_total += (uint64_t)s->ports[i].hi - s->ports[i].lo + 1;
}

static int
build_ports(struct arena *a, const struct str *v, size_t n, struct target_set *out,
            struct errbuf *eb)
{
    if (n == 0)
        return errbuf_attr(eb, E_VALIDATION, "ports",
                           "Attribute 'ports' must list at least one port");
    if (n > PORTS_MAX)
        return errbuf_attr(eb, E_VALIDATION, "ports",
                           "Attribute 'ports' has %zu items, at most %d are allowed", n,
                           PORTS_MAX);
    out->ports = arena_calloc(a, n, sizeof *out->ports);
    for (size_t i = 0; i < n; i++) {
        struct errbuf item = { 0 };
        if (port_parse(v[i], &out->ports[i], &item) != E_OK)
            return errbuf_attr(eb, E_VALIDATION, "ports", "ports[%zu]: %s", i, item.msg);
    }
    out->nports = n;
    ports_normalise(out);
    return E_OK;
}

int
target_set_build(struct arena *a, const struct str *targets, size_t nt,
                 const struct str *excludes, size_t ne, const struct str *ports, size_t np,
                 uint64_t max_pairs, struct target_set *out, struct errbuf *eb)
{
    int      rc;
    uint64_t pairs;

    memset(out, 0, sizeof *out);
    if ((rc = build_targets(a, targets, nt, out, eb)) != E_OK ||
        (rc = build_excludes(a, excludes, ne, out, eb)) != E_OK ||
        (rc = build_ports(a, ports, np, out, eb)) != E_OK)
        return rc;
    pairs = target_set_pairs(out);
    if (pairs == UINT64_MAX && max_pairs < UINT64_MAX)
        return errbuf_attr(eb, E_VALIDATION, "targets",
                           "The targets and ports make 2^64 or more address-and-port pairs, "
                           "more than discovery_max_pairs (%" PRIu64 ")",
                           max_pairs);
    if (pairs > max_pairs)
        return errbuf_attr(eb, E_VALIDATION, "targets",
                           "The targets and ports make %" PRIu64 " address-and-port pairs, "
                           "more than discovery_max_pairs (%" PRIu64 ")",
                           pairs, max_pairs);
    return E_OK;
}

/* ---- counting ---------------------------------------------------------- */

/* The first exclude that ends at or after `at` (excludes are disjoint and
 * sorted, so their ends are sorted too). */
static size_t
first_exclude(const struct target_set *s, struct target_u128 at)
{
    size_t             lo = 0, hi = s->nexcludes;
    struct target_u128 first, last;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        range_bounds(&s->excludes[mid], &first, &last);
        if (u128_cmp(last, at) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The block of allowed addresses that starts at or after *at and ends at or
 * before `last`: *at moves to its first address, *end gets its last, *ei moves
 * past the excludes behind it. False when all of *at..last is excluded. */
static bool
next_block(const struct target_set *s, size_t *ei, struct target_u128 *at,
           struct target_u128 last, struct target_u128 *end)
{
    struct target_u128 lo, hi;

    for (; *ei < s->nexcludes; (*ei)++) {
        range_bounds(&s->excludes[*ei], &lo, &hi);
        if (u128_cmp(hi, *at) < 0)
            continue; /* behind */
        if (u128_cmp(lo, *at) > 0)
            break; /* ahead: *at is allowed */
        if (u128_cmp(hi, last) >= 0)
            return false; /* covers the rest */
        *at = u128_inc(hi);
    }
    *end = last;
    if (*ei < s->nexcludes) {
        range_bounds(&s->excludes[*ei], &lo, &hi);
        if (u128_cmp(lo, last) <= 0)
            *end = u128_dec(lo);
    }
    return true;
}

/* The addresses of target i that are not excluded (saturated). */
static uint64_t
target_addresses(const struct target_set *s, size_t i)
{
    struct target_u128 at, last, end;
    size_t             ei;
    uint64_t           n = 0;

    if (s->targets[i].is_name)
        return 1;
    range_bounds(&s->targets[i].range, &at, &last);
    ei = first_exclude(s, at);
    while (next_block(s, &ei, &at, last, &end)) {
        n = sat_add(n, u128_span(at, end));
        if (u128_cmp(end, last) == 0)
            break;
        at = u128_inc(end);
    }
    return n;
}

uint64_t
target_set_target_pairs(const struct target_set *s, size_t i)
{
    return sat_mul(target_addresses(s, i), s->nports_total);
}

uint64_t
target_set_pairs(const struct target_set *s)
{
    uint64_t n = 0;

    for (size_t i = 0; i < s->ntargets; i++)
        n = sat_add(n, target_set_target_pairs(s, i));
    return n;
}

bool
target_set_excluded(const struct target_set *s, const unsigned char addr[16])
{
    size_t i = first_exclude(s, u128_get(addr));

    return i < s->nexcludes && cidr_contains(&s->excludes[i], addr);
}

/* ---- walking ----------------------------------------------------------- */

/* The cursor on the first pair of the first target from `ti` on that has one. */
static void
enter_target(struct target_cursor *c, size_t ti)
{
    const struct target_set *s = c->set;
    struct target_u128       last;

    for (; ti < s->ntargets; ti++) {
        c->ti = ti;
        if (s->targets[ti].is_name) {
            c->addr = c->end = (struct target_u128){ 0, 0 };
            return;
        }
        range_bounds(&s->targets[ti].range, &c->addr, &last);
        c->ei = first_exclude(s, c->addr);
        if (next_block(s, &c->ei, &c->addr, last, &c->end))
            return;
    }
    c->done = true;
}

/* The cursor on the next address: in its block, the next block, the next target. */
static void
next_address(struct target_cursor *c)
{
    const struct target *t = &c->set->targets[c->ti];
    struct target_u128   first, last;

    if (!t->is_name) {
        if (u128_cmp(c->addr, c->end) < 0) {
            c->addr = u128_inc(c->addr);
            return;
        }
        range_bounds(&t->range, &first, &last);
        if (u128_cmp(c->end, last) < 0) {
            c->addr = u128_inc(c->end);
            if (next_block(c->set, &c->ei, &c->addr, last, &c->end))
                return;
        }
    }
    enter_target(c, c->ti + 1);
}

/* The port at index k (< nports_total) of the merged ranges. */
static void
seek_port(struct target_cursor *c, uint64_t k)
{
    const struct target_set *s = c->set;

    for (c->pi = 0; c->pi < s->nports; c->pi++) {
        uint64_t n = (uint64_t)s->ports[c->pi].hi - s->ports[c->pi].lo + 1;
        if (k < n) {
            c->port = (uint16_t)(s->ports[c->pi].lo + k);
            return;
        }
        k -= n;
    }
}

/* Within target c->ti, which has more than k pairs: the k-th, skipping whole
 * allowed blocks by their size. */
static void
seek_in_target(struct target_cursor *c, uint64_t k)
{
    uint64_t           a = k / c->set->nports_total;
    struct target_u128 first, last;

    seek_port(c, k % c->set->nports_total);
    enter_target(c, c->ti);
    if (c->set->targets[c->ti].is_name)
        return;
    range_bounds(&c->set->targets[c->ti].range, &first, &last);
    for (;;) {
        uint64_t n = u128_span(c->addr, c->end);
        if (a < n)
            break;
        a -= n;
        c->addr = u128_inc(c->end);
        next_block(c->set, &c->ei, &c->addr, last, &c->end);
    }
    c->addr = u128_add64(c->addr, a);
}

void
target_cursor_init(struct target_cursor *c, const struct target_set *s, uint64_t skip)
{
    memset(c, 0, sizeof *c);
    c->set = s;
    c->pos = skip;
    if (s->nports == 0 || s->nports_total == 0) {
        c->done = true;
        return;
    }
    for (c->ti = 0; c->ti < s->ntargets; c->ti++) {
        uint64_t n = target_set_target_pairs(s, c->ti);
        if (skip < n) {
            seek_in_target(c, skip);
            return;
        }
        skip -= n;
    }
    c->done = true;
}

bool
target_cursor_next(struct target_cursor *c, size_t *ti, unsigned char addr[16], uint16_t *port)
{
    const struct target_set *s = c->set;

    if (c->done)
        return false;
    *ti = c->ti;
    u128_put(c->addr, addr);
    *port = c->port;
    c->pos++;
    if (c->port < s->ports[c->pi].hi) {
        c->port++;
    } else if (c->pi + 1 < s->nports) {
        c->port = s->ports[++c->pi].lo;
    } else {
        c->pi = 0;
        c->port = s->ports[0].lo;
        next_address(c);
    }
    return true;
}
