/* test_targets.c - a discovery's targets, excludes and ports (discovery/targets.c):
 * host names, addresses and ranges, ports, the limits at and one past them, the
 * exact pair count with excludes, and the cursor's order and resumption checked
 * against a brute-force enumeration. Many small table-driven cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/base.h"
#include "core/net.h"
#include "discovery/targets.h"

#define DEFAULT_MAX UINT64_C(1048576)

/* A list of C strings, as a test writes them: L("a", "b"). */
struct list {
    const char *const *v;
    size_t             n;
};

#define L(...)                                                                                 \
    ((struct list){ (const char *const[]){ __VA_ARGS__ },                                      \
                    ARRAY_LEN(((const char *const[]){ __VA_ARGS__ })) })
#define NONE ((struct list){ NULL, 0 })

static struct str *
strs(struct arena *a, struct list l)
{
    struct str *v = arena_calloc(a, l.n, sizeof *v);

    for (size_t i = 0; i < l.n; i++)
        v[i] = str_c(l.v[i]);
    return v;
}

static int
build(struct arena *a, struct list t, struct list e, struct list p, uint64_t max,
      struct target_set *s, struct errbuf *eb)
{
    return target_set_build(a, strs(a, t), t.n, strs(a, e), e.n, strs(a, p), p.n, max, s, eb);
}

static void
ip(const char *text, unsigned char out[16])
{
    assert_int_equal(ip_parse(str_c(text), out), E_OK);
}

/* A string of n copies of c. */
static char *
repeat(struct arena *a, char c, size_t n)
{
    char *s = arena_alloc(a, n + 1);

    memset(s, c, n);
    s[n] = '\0';
    return s;
}

/* "aaa...a.bbb...b.c..." labels of `label` characters up to `total` characters. */
static char *
long_name(struct arena *a, size_t label, size_t total)
{
    char *s = arena_alloc(a, total + 1);

    for (size_t i = 0; i < total; i++)
        s[i] = (i + 1) % (label + 1) == 0 ? '.' : (char)('a' + (i / (label + 1)) % 26);
    s[total] = '\0';
    if (total > 0 && s[total - 1] == '.')
        s[total - 1] = 'z';
    return s;
}

/* ---- host names -------------------------------------------------------- */

static void
test_names_valid(void **state)
{
    static const struct {
        const char *in, *name;
    } cases[] = {
        { "example.com", "example.com" },
        { "Example.COM", "example.com" },
        { "example.com.", "example.com" },
        { "localhost", "localhost" },
        { "a", "a" },
        { "xn--bcher-kva.example", "xn--bcher-kva.example" },
        { "a-b.c-d.e", "a-b.c-d.e" },
        { "123.example", "123.example" },
        { "host1.example.org2", "host1.example.org2" },
        { "1e3", "1e3" },
        { "0x7f", "0x7f" },
        { "a.b.c.d.e.f.g", "a.b.c.d.e.f.g" },
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct target t;
        struct errbuf eb = { 0 };
        assert_int_equal(target_parse(str_c(cases[i].in), &t, &eb), E_OK);
        assert_true(t.is_name);
        assert_string_equal(t.name, cases[i].name);
    }
}

static void
test_names_invalid(void **state)
{
    static const char *const cases[] = {
        "999.1.1.1", "1.2.3",   "1.2.3.4.5", "256.1.1.1", "010.1.1.1",    "0x7f.0.0.1",
        "1",         "a.123",   "a..b",      "-a.com",    "a-.com",       "a.-b.com",
        ".a",        "a.com..", ".",         "..",        "a_b.com",      "a b",
        " a",        "a.com ",  "a\tb",      "a\nb",      "\xc3\xa9.com", "a*.com",
        "*.example", "a!",      "a@b",       "http://a",  "a.com:443",    "%2e",
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct target t;
        struct errbuf eb = { 0 };
        assert_int_equal(target_parse(str_c(cases[i]), &t, &eb), E_VALIDATION);
        assert_int_equal(eb.code, E_VALIDATION);
        assert_true(eb.msg[0] != '\0');
        assert_string_equal(eb.attr, "");
    }
}

static void
test_name_lengths(void **state)
{
    struct arena *a = arena_new(4096);
    struct target t;
    struct errbuf eb = { 0 };
    char         *s;
    (void)state;

    /* A label of 63 is a label; of 64 it is not. */
    assert_int_equal(target_parse(str_c(repeat(a, 'a', 63)), &t, &eb), E_OK);
    assert_int_equal(strlen(t.name), 63);
    assert_int_equal(target_parse(str_c(repeat(a, 'a', 64)), &t, &eb), E_VALIDATION);
    assert_non_null(strstr(eb.msg, "63"));
    s = arena_printf(a, "%s.example", repeat(a, 'b', 64));
    assert_int_equal(target_parse(str_c(s), &t, &eb), E_VALIDATION);

    /* 253 characters is a name, 254 is not, 253 and a trailing dot is. */
    s = long_name(a, 63, 253);
    assert_int_equal(strlen(s), 253);
    assert_int_equal(target_parse(str_c(s), &t, &eb), E_OK);
    assert_string_equal(t.name, s);
    assert_int_equal(target_parse(str_c(long_name(a, 63, 254)), &t, &eb), E_VALIDATION);
    assert_non_null(strstr(eb.msg, "253"));
    s = arena_printf(a, "%s.", long_name(a, 63, 253));
    assert_int_equal(target_parse(str_c(s), &t, &eb), E_OK);
    assert_int_equal(strlen(t.name), 253);
    s = arena_printf(a, "%s.", long_name(a, 63, 254));
    assert_int_equal(target_parse(str_c(s), &t, &eb), E_VALIDATION);
    arena_free(a);
}

static void
test_name_messages(void **state)
{
    static const struct {
        const char *in, *says;
    } cases[] = {
        { "999.1.1.1", "last label" }, { "a..b", "empty label" }, { "-a.com", "'-'" },
        { "a_b", "letters" },          { "[::1]", "brackets" },   { "::g", "IP address" },
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct target t;
        struct errbuf eb = { 0 };
        assert_int_equal(target_parse(str_c(cases[i].in), &t, &eb), E_VALIDATION);
        assert_non_null(strstr(eb.msg, cases[i].says));
        assert_non_null(strstr(eb.msg, cases[i].in));
    }
}

/* ---- addresses and ranges --------------------------------------------- */

static void
test_addresses_and_ranges(void **state)
{
    static const struct {
        const char *in, *addr;
        unsigned    bits;
    } cases[] = {
        { "10.0.0.1", "10.0.0.1", 128 },
        { "0.0.0.0", "0.0.0.0", 128 },
        { "255.255.255.255", "255.255.255.255", 128 },
        { "::ffff:10.0.0.1", "10.0.0.1", 128 },
        { "2001:db8::1", "2001:db8::1", 128 },
        { "::1", "::1", 128 },
        { "::", "::", 128 },
        { "2001:DB8::A", "2001:db8::a", 128 },
        { "10.0.0.0/8", "10.0.0.0", 104 },
        { "10.0.0.5/32", "10.0.0.5", 128 },
        { "0.0.0.0/0", "0.0.0.0", 96 },
        { "192.168.1.128/25", "192.168.1.128", 121 },
        { "2001:db8::/32", "2001:db8::", 32 },
        { "2001:db8::1/128", "2001:db8::1", 128 },
        { "::/0", "::", 0 },
        { "::ffff:10.0.0.0/104", "10.0.0.0", 104 },
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct target t;
        struct errbuf eb = { 0 };
        unsigned char want[16];
        assert_int_equal(target_parse(str_c(cases[i].in), &t, &eb), E_OK);
        assert_false(t.is_name);
        ip(cases[i].addr, want);
        assert_memory_equal(t.range.addr, want, 16);
        assert_int_equal(t.range.bits, cases[i].bits);
    }
}

static void
test_ranges_invalid(void **state)
{
    static const char *const cases[] = {
        "10.0.0.0/33",
        "10.0.0.0/-0",
        "10.0.0.0/+8",
        "10.0.0.0/",
        "10.0.0.0/08",
        "10.0.0.0/8 ",
        "10.0.0.0/8/8",
        "::/129",
        "::/1280",
        "/8",
        "10.0.0.5/24",
        "10.0.0.1/0",
        "2001:db8::1/64",
        "::1/0",
        "example.com/24",
        "[::1]",
        "[::1]/128",
        "fe80::1%eth0",
        "1::2::3",
        "12345::",
        "::ffff:10.0.0.1/104",
        "10.0.0.0/ 8",
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct target t;
        struct cidr   c;
        struct errbuf eb = { 0 };
        assert_int_equal(target_parse(str_c(cases[i]), &t, &eb), E_VALIDATION);
        assert_int_equal(exclude_parse(str_c(cases[i]), &c, &eb), E_VALIDATION);
    }
}

static void
test_host_bits_hint(void **state)
{
    static const struct {
        const char *in, *range;
    } cases[] = {
        { "10.0.0.5/24", "10.0.0.0/24" },
        { "10.1.2.3/8", "10.0.0.0/8" },
        { "2001:db8::1/64", "2001:db8::/64" },
        { "::ffff:10.0.0.1/120", "10.0.0.0/24" },
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct target t;
        struct errbuf eb = { 0 };
        assert_int_equal(target_parse(str_c(cases[i].in), &t, &eb), E_VALIDATION);
        assert_non_null(strstr(eb.msg, "host bits"));
        assert_non_null(strstr(eb.msg, cases[i].range));
    }
}

static void
test_excludes_parse(void **state)
{
    struct cidr   c;
    struct errbuf eb = { 0 };
    unsigned char want[16];
    (void)state;

    assert_int_equal(exclude_parse(STR("10.0.0.0/8"), &c, &eb), E_OK);
    assert_int_equal(c.bits, 104);
    assert_int_equal(exclude_parse(STR("10.0.0.7"), &c, &eb), E_OK);
    ip("10.0.0.7", want);
    assert_memory_equal(c.addr, want, 16);
    assert_int_equal(c.bits, 128);
    assert_int_equal(exclude_parse(STR("fe80::/10"), &c, &eb), E_OK);
    assert_int_equal(c.bits, 10);
    /* Excludes are ranges only: no host names, nothing empty. */
    assert_int_equal(exclude_parse(STR("example.com"), &c, &eb), E_VALIDATION);
    assert_int_equal(exclude_parse(STR(""), &c, &eb), E_VALIDATION);
    assert_int_equal(target_parse(STR(""), &(struct target){ 0 }, &eb), E_VALIDATION);
    /* A NUL inside the slice does not end it. */
    assert_int_equal(exclude_parse(STR("10.0.0.1\0x"), &c, &eb), E_VALIDATION);
    assert_int_equal(exclude_parse(STR("10.0.0.0/8\0"), &c, &eb), E_VALIDATION);
    assert_int_equal(exclude_parse(STR("::1\0"), &c, &eb), E_VALIDATION);
    assert_int_equal(target_parse(STR("10.0.0.1\0x"), &(struct target){ 0 }, &eb),
                     E_VALIDATION);
    assert_int_equal(target_parse(STR("10.0.0.1\0"), &(struct target){ 0 }, &eb), E_VALIDATION);
    assert_int_equal(target_parse(STR("a.example\0"), &(struct target){ 0 }, &eb),
                     E_VALIDATION);
}

/* ---- ports ------------------------------------------------------------- */

static void
test_ports(void **state)
{
    static const struct {
        const char *in;
        int         rc;
        unsigned    lo, hi;
    } cases[] = {
        { "443", E_OK, 443, 443 },       { "1", E_OK, 1, 1 },
        { "65535", E_OK, 65535, 65535 }, { "8443-8450", E_OK, 8443, 8450 },
        { "1-65535", E_OK, 1, 65535 },   { "5-5", E_OK, 5, 5 },
        { "0", E_VALIDATION },           { "0-10", E_VALIDATION },
        { "65536", E_VALIDATION },       { "1-65536", E_VALIDATION },
        { "99999", E_VALIDATION },       { "100000", E_VALIDATION },
        { "10-5", E_VALIDATION },        { "+1", E_VALIDATION },
        { " 1", E_VALIDATION },          { "1 ", E_VALIDATION },
        { "1-", E_VALIDATION },          { "-1", E_VALIDATION },
        { "-", E_VALIDATION },           { "", E_VALIDATION },
        { "0443", E_VALIDATION },        { "00", E_VALIDATION },
        { "1-2-3", E_VALIDATION },       { "1--2", E_VALIDATION },
        { "1 - 2", E_VALIDATION },       { "https", E_VALIDATION },
        { "443/tcp", E_VALIDATION },     { "4e2", E_VALIDATION },
        { "1,2", E_VALIDATION },
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct port_range p = { 0, 0 };
        struct errbuf     eb = { 0 };
        assert_int_equal(port_parse(str_c(cases[i].in), &p, &eb), cases[i].rc);
        if (cases[i].rc == E_OK) {
            assert_int_equal(p.lo, cases[i].lo);
            assert_int_equal(p.hi, cases[i].hi);
        } else {
            assert_true(eb.msg[0] != '\0');
        }
    }
}

static void
test_ports_merged(void **state)
{
    struct arena     *a = arena_new(4096);
    struct target_set s;
    struct errbuf     eb = { 0 };
    (void)state;

    assert_int_equal(build(a, L("10.0.0.1"), NONE,
                           L("8443", "443", "443", "440-450", "451", "8443-8444", "1"),
                           DEFAULT_MAX, &s, &eb),
                     E_OK);
    assert_int_equal(s.nports, 3);
    assert_int_equal(s.ports[0].lo, 1);
    assert_int_equal(s.ports[0].hi, 1);
    assert_int_equal(s.ports[1].lo, 440);
    assert_int_equal(s.ports[1].hi, 451);
    assert_int_equal(s.ports[2].lo, 8443);
    assert_int_equal(s.ports[2].hi, 8444);
    assert_int_equal(s.nports_total, 15);
    assert_int_equal(target_set_pairs(&s), 15);

    assert_int_equal(
        build(a, L("10.0.0.1"), NONE, L("1-65535", "443", "65535"), DEFAULT_MAX, &s, &eb),
        E_OK);
    assert_int_equal(s.nports, 1);
    assert_int_equal(s.nports_total, 65535);
    arena_free(a);
}

/* ---- building: errors and limits --------------------------------------- */

static void
test_build_errors(void **state)
{
    static const struct {
        const char *attr, *says;
    } want[] = {
        { "targets", "at least one" }, { "ports", "at least one" },
        { "targets", "targets[2]" },   { "excludes", "excludes[1]" },
        { "ports", "ports[1]" },       { "excludes", "'example.com'" },
    };
    struct arena     *a = arena_new(4096);
    struct target_set s;
    struct errbuf     eb[ARRAY_LEN(want)] = { 0 };
    int               rc[ARRAY_LEN(want)];
    (void)state;

    rc[0] = build(a, NONE, NONE, L("443"), DEFAULT_MAX, &s, &eb[0]);
    rc[1] = build(a, L("10.0.0.1"), NONE, NONE, DEFAULT_MAX, &s, &eb[1]);
    rc[2] = build(a, L("a.example", "10.0.0.1", "999.1.1.1"), NONE, L("443"), DEFAULT_MAX, &s,
                  &eb[2]);
    rc[3] = build(a, L("10.0.0.1"), L("10.0.0.0/8", "10.0.0.1/8"), L("443"), DEFAULT_MAX, &s,
                  &eb[3]);
    rc[4] = build(a, L("10.0.0.1"), NONE, L("443", "0"), DEFAULT_MAX, &s, &eb[4]);
    rc[5] = build(a, L("10.0.0.1"), L("example.com"), L("443"), DEFAULT_MAX, &s, &eb[5]);
    for (size_t i = 0; i < ARRAY_LEN(want); i++) {
        assert_int_equal(rc[i], E_VALIDATION);
        assert_int_equal(eb[i].code, E_VALIDATION);
        assert_string_equal(eb[i].attr, want[i].attr);
        assert_non_null(strstr(eb[i].msg, want[i].says));
    }
    /* The value is in the message. */
    assert_non_null(strstr(eb[2].msg, "'999.1.1.1'"));
    assert_non_null(strstr(eb[3].msg, "10.0.0.1/8"));
    arena_free(a);
}

static void
test_build_message_printable(void **state)
{
    struct arena     *a = arena_new(4096);
    struct target_set s;
    struct errbuf     eb = { 0 };
    char             *longbad = arena_printf(a, "%s!", repeat(a, 'x', 300));
    (void)state;

    assert_int_equal(build(a, L("a\x01\x7f\xff"), NONE, L("443"), DEFAULT_MAX, &s, &eb),
                     E_VALIDATION);
    assert_non_null(strstr(eb.msg, "'a?\?\?'"));
    for (const char *p = eb.msg; *p != '\0'; p++)
        assert_true(*p >= 0x20 && *p < 0x7f);

    assert_int_equal(build(a, (struct list){ (const char *const[]){ longbad }, 1 }, NONE,
                           L("443"), DEFAULT_MAX, &s, &eb),
                     E_VALIDATION);
    assert_non_null(strstr(eb.msg, "xxx...'"));
    assert_true(strlen(eb.msg) < sizeof eb.msg - 1);
    arena_free(a);
}

/* A list of n strings made by fmt(i). */
static struct list
numbered(struct arena *a, size_t n, const char *(*fmt)(struct arena *, size_t))
{
    const char **v = arena_calloc(a, n, sizeof *v);

    for (size_t i = 0; i < n; i++)
        v[i] = fmt(a, i);
    return (struct list){ v, n };
}

static const char *
port_n(struct arena *a, size_t i)
{
    return arena_printf(a, "%zu", i % 65535 + 1);
}

static const char *
host_n(struct arena *a, size_t i)
{
    return arena_printf(a, "10.%zu.%zu.0/24", i / 256, i % 256);
}

static void
test_limits(void **state)
{
    struct arena     *a = arena_new(1 << 16);
    struct target_set s;
    struct errbuf     eb = { 0 };
    (void)state;

    /* Ports: 1,024 entries, and one past; 10,000. */
    assert_int_equal(
        build(a, L("10.0.0.1"), NONE, numbered(a, PORTS_MAX, port_n), DEFAULT_MAX, &s, &eb),
        E_OK);
    assert_int_equal(s.nports_total, PORTS_MAX);
    assert_int_equal(
        build(a, L("10.0.0.1"), NONE, numbered(a, PORTS_MAX + 1, port_n), DEFAULT_MAX, &s, &eb),
        E_VALIDATION);
    assert_string_equal(eb.attr, "ports");
    assert_int_equal(
        build(a, L("10.0.0.1"), NONE, numbered(a, 10000, port_n), DEFAULT_MAX, &s, &eb),
        E_VALIDATION);
    assert_string_equal(eb.attr, "ports");
    assert_non_null(strstr(eb.msg, "10000"));

    /* Targets: 4,096 and one past (4,096 /24s x 1 port is exactly 1,048,576). */
    assert_int_equal(
        build(a, numbered(a, TARGETS_MAX, host_n), NONE, L("443"), DEFAULT_MAX, &s, &eb), E_OK);
    assert_int_equal(target_set_pairs(&s), DEFAULT_MAX);
    assert_int_equal(
        build(a, numbered(a, TARGETS_MAX + 1, host_n), NONE, L("443"), UINT64_MAX, &s, &eb),
        E_VALIDATION);
    assert_string_equal(eb.attr, "targets");

    /* Excludes: 4,096 and one past. */
    assert_int_equal(build(a, L("10.0.0.0/8"), numbered(a, EXCLUDES_MAX, host_n), L("443"),
                           UINT64_MAX, &s, &eb),
                     E_OK);
    assert_int_equal(target_set_pairs(&s), (1u << 24) - (uint64_t)EXCLUDES_MAX * 256);
    assert_int_equal(build(a, L("10.0.0.0/8"), numbered(a, EXCLUDES_MAX + 1, host_n), L("443"),
                           UINT64_MAX, &s, &eb),
                     E_VALIDATION);
    assert_string_equal(eb.attr, "excludes");
    arena_free(a);
}

static void
test_max_pairs(void **state)
{
    static const struct {
        const char *target, *ports;
        uint64_t    max;
        int         rc;
        uint64_t    pairs;
    } cases[] = {
        { "0.0.0.0/0", "443", DEFAULT_MAX, E_VALIDATION, UINT64_C(1) << 32 },
        { "::/0", "443", DEFAULT_MAX, E_VALIDATION, UINT64_MAX },
        { "::/0", "443", UINT64_MAX, E_OK, UINT64_MAX },
        { "2001:db8::/64", "443", DEFAULT_MAX, E_VALIDATION, UINT64_MAX },
        { "2001:db8::/65", "443", UINT64_MAX, E_OK, UINT64_C(1) << 63 },
        { "2001:db8::/65", "1-2", UINT64_MAX, E_OK, UINT64_MAX },
        { "2001:db8::/65", "1-3", UINT64_MAX, E_OK, UINT64_MAX },
        { "10.0.0.0/20", "1-256", DEFAULT_MAX, E_OK, DEFAULT_MAX },
        { "10.0.0.0/20", "1-257", DEFAULT_MAX, E_VALIDATION, DEFAULT_MAX + 4096 },
        { "10.0.0.0/12", "443", DEFAULT_MAX, E_OK, DEFAULT_MAX },
        { "10.0.0.0/11", "443", DEFAULT_MAX, E_VALIDATION, 2 * DEFAULT_MAX },
        { "2001:db8::/108", "443", DEFAULT_MAX, E_OK, DEFAULT_MAX },
        { "2001:db8::/107", "443", DEFAULT_MAX, E_VALIDATION, 2 * DEFAULT_MAX },
        { "10.0.0.1", "443", 1, E_OK, 1 },
        { "10.0.0.1", "443", 0, E_VALIDATION, 1 },
        { "example.com", "1-65535", 65535, E_OK, 65535 },
        { "example.com", "1-65535", 65534, E_VALIDATION, 65535 },
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct arena     *a = arena_new(4096);
        struct target_set s;
        struct errbuf     eb = { 0 };
        struct list       t = { &cases[i].target, 1 }, p = { &cases[i].ports, 1 };
        assert_int_equal(build(a, t, NONE, p, cases[i].max, &s, &eb), cases[i].rc);
        if (cases[i].rc != E_OK) {
            assert_string_equal(eb.attr, "targets");
            assert_non_null(strstr(eb.msg, "discovery_max_pairs"));
        }
        /* Even refused, what was parsed counts. */
        assert_int_equal(target_set_pairs(&s), cases[i].pairs);
        arena_free(a);
    }
}

/* ---- counting with excludes ------------------------------------------- */

static void
test_pairs_with_excludes(void **state)
{
    const struct {
        struct list t, e, p;
        uint64_t    pairs;
    } cases[] = {
        { L("10.0.0.0/24"), NONE, L("443"), 256 },
        { L("10.0.0.0/24"), L("10.0.0.0/25"), L("443"), 128 },
        /* Nested excludes count once. */
        { L("10.0.0.0/24"), L("10.0.0.0/25", "10.0.0.0/26", "10.0.0.64"), L("443"), 128 },
        { L("10.0.0.0/24"), L("10.0.0.64", "10.0.0.0/26", "10.0.0.0/25"), L("443"), 128 },
        { L("10.0.0.0/24"), L("10.0.0.0/25", "10.0.0.0/25"), L("443"), 128 },
        /* Disjoint ones add up. */
        { L("10.0.0.0/24"), L("10.0.0.0/26", "10.0.0.128/26", "10.0.0.255"), L("443"), 127 },
        { L("10.0.0.0/24"), L("10.0.0.0/25", "10.0.0.128/25"), L("443"), 0 },
        /* Covering the whole target, or bigger than it. */
        { L("10.0.0.0/24"), L("10.0.0.0/24"), L("443"), 0 },
        { L("10.0.0.0/24"), L("10.0.0.0/8"), L("443"), 0 },
        { L("10.0.0.0/24"), L("::/0"), L("443"), 0 },
        /* Outside it. */
        { L("10.0.0.0/24"), L("10.0.1.0/24", "192.168.0.0/16", "2001:db8::/32"), L("443"),
          256 },
        { L("10.0.0.0/24"), L("9.255.255.255", "10.0.1.0"), L("443"), 256 },
        /* Names count as one and are not excluded here. */
        { L("example.com", "10.0.0.0/30", "10.0.0.1"), L("10.0.0.1"), L("443", "8443"), 8 },
        { L("a.example", "b.example"), L("::/0"), L("1-10"), 20 },
        /* Overlapping targets count each. */
        { L("10.0.0.0/24", "10.0.0.5", "10.0.0.0/25"), NONE, L("443"), 256 + 1 + 128 },
        { L("10.0.0.0/24", "10.0.0.5"), L("10.0.0.5"), L("443"), 255 },
        /* IPv6, and IPv4 as mapped addresses inside IPv6 ranges. */
        { L("2001:db8::/120"), L("2001:db8::/121"), L("443"), 128 },
        { L("2001:db8::/120"), L("2001:db8::ff"), L("443", "80"), 510 },
        { L("::ffff:0:0/96"), L("10.0.0.0/8", "0.0.0.0/1"), L("443"),
          (UINT64_C(1) << 32) - (UINT64_C(1) << 31) },
        { L("::ffff:0:0/96"), L("10.0.0.0/8"), L("443"), (UINT64_C(1) << 32) - (1u << 24) },
        /* Exact even when the range itself does not fit 64 bits. */
        { L("::/0"), L("::/1", "8000::/1"), L("443"), 0 },
        { L("::/0"), L("::/1"), L("443"), UINT64_MAX },
        { L("2001:db8::/64"), L("2001:db8::/65"), L("443"), UINT64_C(1) << 63 },
        { L("2001:db8::/64"), L("2001:db8::/65"), L("443", "80"), UINT64_MAX },
        { L("::/0", "10.0.0.1"), L("::/0"), L("443"), 0 },
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct arena     *a = arena_new(4096);
        struct target_set s;
        struct errbuf     eb = { 0 };
        assert_int_equal(build(a, cases[i].t, cases[i].e, cases[i].p, UINT64_MAX, &s, &eb),
                         E_OK);
        assert_int_equal(target_set_pairs(&s), cases[i].pairs);
        arena_free(a);
    }
}

/* The 126 ranges that, together with 2001:db8::/126, make up ::/0: excluding
 * them leaves exactly that /126 (4 addresses) of a 2^128 target. */
static void
test_pairs_complement(void **state)
{
    struct arena     *a = arena_new(1 << 14);
    const char      **ex = arena_calloc(a, 126, sizeof *ex);
    unsigned char     keep[16];
    struct target_set s;
    struct errbuf     eb = { 0 };
    (void)state;

    ip("2001:db8::", keep);
    for (unsigned bits = 1; bits <= 126; bits++) {
        unsigned char sib[16] = { 0 };
        char          text[INET6_ADDRSTRLEN];
        /* The first `bits` bits of `keep`, the last of them flipped. */
        for (unsigned b = 0; b < bits; b++) {
            unsigned bit = (keep[b / 8] >> (7 - b % 8)) & 1;
            if (b == bits - 1)
                bit ^= 1;
            sib[b / 8] |= (unsigned char)(bit << (7 - b % 8));
        }
        inet_ntop(AF_INET6, sib, text, sizeof text);
        ex[bits - 1] = arena_printf(a, "%s/%u", text, bits);
    }
    assert_int_equal(
        build(a, L("::/0"), (struct list){ ex, 126 }, L("443"), DEFAULT_MAX, &s, &eb), E_OK);
    assert_int_equal(s.nexcludes, 126);
    assert_int_equal(target_set_pairs(&s), 4);

    /* And the cursor walks exactly those four. */
    struct target_cursor c;
    size_t               ti;
    unsigned char        addr[16], want[16];
    uint16_t             port;
    target_cursor_init(&c, &s, 0);
    for (int i = 0; i < 4; i++) {
        assert_true(target_cursor_next(&c, &ti, addr, &port));
        memcpy(want, keep, 16);
        want[15] = (unsigned char)i;
        assert_memory_equal(addr, want, 16);
        assert_int_equal(port, 443);
    }
    assert_false(target_cursor_next(&c, &ti, addr, &port));
    arena_free(a);
}

static void
test_excludes_normalised(void **state)
{
    struct arena     *a = arena_new(4096);
    struct target_set s;
    struct errbuf     eb = { 0 };
    unsigned char     want[16];
    (void)state;

    assert_int_equal(build(a, L("10.0.0.1"),
                           L("192.168.1.0/24", "10.0.0.0/8", "10.1.0.0/16", "192.168.0.0/16",
                             "10.0.0.0/8", "172.16.0.1", "2001:db8::/32", "2001:db8:1::/48"),
                           L("443"), DEFAULT_MAX, &s, &eb),
                     E_OK);
    assert_int_equal(s.nexcludes, 4);
    ip("10.0.0.0", want);
    assert_memory_equal(s.excludes[0].addr, want, 16);
    assert_int_equal(s.excludes[0].bits, 104);
    ip("172.16.0.1", want);
    assert_memory_equal(s.excludes[1].addr, want, 16);
    ip("192.168.0.0", want);
    assert_memory_equal(s.excludes[2].addr, want, 16);
    assert_int_equal(s.excludes[2].bits, 112);
    ip("2001:db8::", want);
    assert_memory_equal(s.excludes[3].addr, want, 16);
    assert_int_equal(s.excludes[3].bits, 32);
    arena_free(a);
}

static void
test_excluded(void **state)
{
    static const struct {
        const char *addr;
        bool        excluded;
    } cases[] = {
        { "10.0.0.0", true },
        { "10.255.255.255", true },
        { "9.255.255.255", false },
        { "11.0.0.0", false },
        { "172.16.0.1", true },
        { "172.16.0.0", false },
        { "172.16.0.2", false },
        { "192.168.5.5", true },
        { "192.169.0.0", false },
        { "2001:db8::1", true },
        { "2001:db9::", false },
        { "::", false },
        { "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true },
        { "0.0.0.0", false },
        { "fe00::", false },
    };
    struct arena     *a = arena_new(4096);
    struct target_set s;
    struct errbuf     eb = { 0 };
    (void)state;

    assert_int_equal(
        build(a, L("10.0.0.1"),
              L("192.168.0.0/16", "10.0.0.0/8", "172.16.0.1", "2001:db8::/32", "ff00::/8"),
              L("443"), DEFAULT_MAX, &s, &eb),
        E_OK);
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        unsigned char addr[16];
        ip(cases[i].addr, addr);
        assert_int_equal(target_set_excluded(&s, addr), cases[i].excluded);
    }
    /* No excludes: nothing is excluded. */
    assert_int_equal(build(a, L("10.0.0.1"), NONE, L("443"), DEFAULT_MAX, &s, &eb), E_OK);
    unsigned char addr[16];
    ip("10.0.0.1", addr);
    assert_false(target_set_excluded(&s, addr));
    arena_free(a);
}

/* ---- the cursor -------------------------------------------------------- */

struct pair {
    size_t        ti;
    unsigned char addr[16];
    uint16_t      port;
};

/* The pairs of a small set in the documented order, by brute force: every
 * address of every range tried against every raw exclude, ports from a table. */
static size_t
enumerate(struct arena *a, struct list t, struct list e, struct list p, struct pair **out)
{
    static bool   port_on[65536];
    size_t        n = 0, cap = 1024;
    struct pair  *v = arena_alloc(a, cap * sizeof *v);
    struct errbuf eb = { 0 };

    memset(port_on, 0, sizeof port_on);
    for (size_t i = 0; i < p.n; i++) {
        struct port_range r;
        assert_int_equal(port_parse(str_c(p.v[i]), &r, &eb), E_OK);
        for (unsigned q = r.lo; q <= r.hi; q++)
            port_on[q] = true;
    }
    for (size_t ti = 0; ti < t.n; ti++) {
        struct target tg;
        assert_int_equal(target_parse(str_c(t.v[ti]), &tg, &eb), E_OK);
        uint64_t      count = tg.is_name ? 1 : UINT64_C(1) << (128 - tg.range.bits);
        unsigned char addr[16] = { 0 };
        if (!tg.is_name)
            memcpy(addr, tg.range.addr, 16);
        for (uint64_t k = 0; k < count; k++) {
            bool excluded = false;
            for (size_t j = 0; j < e.n && !tg.is_name; j++) {
                struct cidr c;
                assert_int_equal(exclude_parse(str_c(e.v[j]), &c, &eb), E_OK);
                excluded = excluded || cidr_contains(&c, addr);
            }
            for (unsigned q = 1; q <= 65535 && !excluded; q++) {
                if (!port_on[q])
                    continue;
                if (n == cap) {
                    v = arena_realloc(a, v, cap * sizeof *v, 2 * cap * sizeof *v);
                    cap *= 2;
                }
                v[n].ti = ti;
                memcpy(v[n].addr, addr, 16);
                v[n].port = (uint16_t)q;
                n++;
            }
            for (int b = 15; b >= 0 && ++addr[b] == 0; b--)
                ;
        }
    }
    *out = v;
    return n;
}

/* From every position k (and a little past the end), the cursor yields exactly
 * the tail of the brute-force sequence. */
static void
check_cursor(struct list t, struct list e, struct list p)
{
    struct arena     *a = arena_new(1 << 14);
    struct target_set s;
    struct errbuf     eb = { 0 };
    struct pair      *want;
    size_t            n = enumerate(a, t, e, p, &want);

    assert_int_equal(build(a, t, e, p, UINT64_MAX, &s, &eb), E_OK);
    assert_int_equal(target_set_pairs(&s), n);
    for (uint64_t k = 0; k <= n + 2; k++) {
        struct target_cursor c;
        size_t               ti, i = k;
        unsigned char        addr[16];
        uint16_t             port;
        target_cursor_init(&c, &s, k);
        while (target_cursor_next(&c, &ti, addr, &port)) {
            assert_true(i < n);
            assert_int_equal(ti, want[i].ti);
            assert_memory_equal(addr, want[i].addr, 16);
            assert_int_equal(port, want[i].port);
            assert_int_equal(c.pos, i + 1);
            i++;
        }
        assert_int_equal(i, k < n ? n : k);
        /* Once done, it stays done. */
        assert_false(target_cursor_next(&c, &ti, addr, &port));
    }
    arena_free(a);
}

static void
test_cursor_order_and_resume(void **state)
{
    (void)state;
    check_cursor(L("10.0.0.1"), NONE, L("443"));
    check_cursor(L("10.0.0.0/29", "host.example", "10.0.0.6", "2001:db8::/126"),
                 L("10.0.0.2", "10.0.0.4/31", "2001:db8::1"), L("443", "80-81", "443"));
    /* A target all excluded between others; excludes at both ends of a range. */
    check_cursor(L("10.1.0.0/30", "10.2.0.0/30", "a.example", "10.1.0.1"), L("10.1.0.0/24"),
                 L("1"));
    check_cursor(L("10.0.0.0/28"), L("10.0.0.0/30", "10.0.0.12/30", "10.0.0.7"),
                 L("22", "443", "8443-8444"));
    check_cursor(L("10.0.0.0/28"), L("10.0.0.0/29", "10.0.0.8/29"), L("22"));
    check_cursor(L("10.0.0.0/28"), L("10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.5"), L("22"));
    /* Adjacent excludes and an exclude bigger than the target. */
    check_cursor(L("10.0.0.0/27", "10.0.1.0/29"),
                 L("10.0.0.8/29", "10.0.0.16/29", "10.0.1.0/24"), L("7-9"));
    /* Only names; the first and last addresses of the space. */
    check_cursor(L("a.example", "B.example", "c"), NONE, L("443", "8443"));
    check_cursor(L("::/126", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fff0/124"),
                 L("::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), L("65535", "1"));
    check_cursor(L("255.255.255.248/29", "0.0.0.0/30"), L("255.255.255.255"), L("443"));
    /* Overlapping targets each walked. */
    check_cursor(L("10.0.0.0/30", "10.0.0.2", "10.0.0.0/31"), L("10.0.0.0"), L("443"));
}

static void
test_cursor_deep_resume(void **state)
{
    struct arena        *a = arena_new(4096);
    struct target_set    s;
    struct errbuf        eb = { 0 };
    struct target_cursor c;
    size_t               ti;
    unsigned char        addr[16], want[16];
    uint16_t             port;
    uint64_t             pairs;
    (void)state;

    /* A /8 with its last /24 excluded, two ports: three pairs from the end. */
    assert_int_equal(build(a, L("192.0.2.1", "10.0.0.0/8"), L("10.255.255.0/24"),
                           L("443", "8443"), UINT64_MAX, &s, &eb),
                     E_OK);
    pairs = target_set_pairs(&s);
    assert_int_equal(pairs, 2 + 2 * ((UINT64_C(1) << 24) - 256));
    target_cursor_init(&c, &s, pairs - 3);
    assert_int_equal(c.pos, pairs - 3);
    assert_true(target_cursor_next(&c, &ti, addr, &port));
    assert_int_equal(ti, 1);
    ip("10.255.254.254", want);
    assert_memory_equal(addr, want, 16);
    assert_int_equal(port, 8443);
    assert_true(target_cursor_next(&c, &ti, addr, &port));
    ip("10.255.254.255", want);
    assert_memory_equal(addr, want, 16);
    assert_int_equal(port, 443);
    assert_true(target_cursor_next(&c, &ti, addr, &port));
    assert_int_equal(port, 8443);
    assert_false(target_cursor_next(&c, &ti, addr, &port));

    /* The middle of a /8 cut by many excluded blocks. */
    assert_int_equal(build(a, L("10.0.0.0/8"), L("10.0.0.0/16", "10.2.0.0/16", "10.4.0.0/15"),
                           L("443"), UINT64_MAX, &s, &eb),
                     E_OK);
    /* 10.1.0.0/16 (65,536), then 10.3.0.0/16, then 10.6.0.0 onwards. */
    target_cursor_init(&c, &s, 2 * 65536 + 5);
    assert_true(target_cursor_next(&c, &ti, addr, &port));
    ip("10.6.0.5", want);
    assert_memory_equal(addr, want, 16);

    /* Deep into an IPv6 /64, where only skipping can get. */
    assert_int_equal(
        build(a, L("2001:db8::/64"), L("2001:db8::/66"), L("443"), UINT64_MAX, &s, &eb), E_OK);
    target_cursor_init(&c, &s, 0);
    assert_true(target_cursor_next(&c, &ti, addr, &port));
    ip("2001:db8::4000:0:0:0", want);
    assert_memory_equal(addr, want, 16);
    target_cursor_init(&c, &s, (UINT64_C(3) << 62) - 1);
    assert_true(target_cursor_next(&c, &ti, addr, &port));
    ip("2001:db8::ffff:ffff:ffff:ffff", want);
    assert_memory_equal(addr, want, 16);
    assert_false(target_cursor_next(&c, &ti, addr, &port));
    target_cursor_init(&c, &s, UINT64_C(3) << 62);
    assert_false(target_cursor_next(&c, &ti, addr, &port));
    arena_free(a);
}

static void
test_cursor_names(void **state)
{
    struct arena        *a = arena_new(4096);
    struct target_set    s;
    struct errbuf        eb = { 0 };
    struct target_cursor c;
    size_t               ti;
    unsigned char        addr[16], zero[16] = { 0 };
    uint16_t             port;
    (void)state;

    assert_int_equal(build(a, L("10.0.0.1", "WWW.Example.com.", "10.0.0.2"), L("10.0.0.2"),
                           L("443", "80"), DEFAULT_MAX, &s, &eb),
                     E_OK);
    assert_true(s.targets[1].is_name);
    assert_string_equal(s.targets[1].name, "www.example.com");
    target_cursor_init(&c, &s, 2);
    assert_true(target_cursor_next(&c, &ti, addr, &port));
    assert_int_equal(ti, 1);
    assert_memory_equal(addr, zero, 16);
    assert_int_equal(port, 80);
    assert_true(target_cursor_next(&c, &ti, addr, &port));
    assert_int_equal(ti, 1);
    assert_int_equal(port, 443);
    /* 10.0.0.2 is excluded: the end. */
    assert_false(target_cursor_next(&c, &ti, addr, &port));
    assert_int_equal(target_set_target_pairs(&s, 0), 2);
    assert_int_equal(target_set_target_pairs(&s, 1), 2);
    assert_int_equal(target_set_target_pairs(&s, 2), 0);
    arena_free(a);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_valid),
        cmocka_unit_test(test_names_invalid),
        cmocka_unit_test(test_name_lengths),
        cmocka_unit_test(test_name_messages),
        cmocka_unit_test(test_addresses_and_ranges),
        cmocka_unit_test(test_ranges_invalid),
        cmocka_unit_test(test_host_bits_hint),
        cmocka_unit_test(test_excludes_parse),
        cmocka_unit_test(test_ports),
        cmocka_unit_test(test_ports_merged),
        cmocka_unit_test(test_build_errors),
        cmocka_unit_test(test_build_message_printable),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_max_pairs),
        cmocka_unit_test(test_pairs_with_excludes),
        cmocka_unit_test(test_pairs_complement),
        cmocka_unit_test(test_excludes_normalised),
        cmocka_unit_test(test_excluded),
        cmocka_unit_test(test_cursor_order_and_resume),
        cmocka_unit_test(test_cursor_deep_resume),
        cmocka_unit_test(test_cursor_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
