/* net.c - CIDR parsing and matching. */
#include "net.h"

#include "val.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

int
ip_parse_family(struct str s, unsigned char out[16], bool *v4)
{
    char          tmp[INET6_ADDRSTRLEN + 1];
    unsigned char a4[4];

    /* inet_pton reads a C string: a NUL inside the text would hide what
     * follows it ("10.0.0.1\0junk"). */
    if (s.len == 0 || s.len >= sizeof tmp || memchr(s.p, '\0', s.len) != NULL)
        return E_BADREQ;
    memcpy(tmp, s.p, s.len);
    tmp[s.len] = '\0';
    if ((*v4 = inet_pton(AF_INET, tmp, a4) == 1)) {
        memset(out, 0, 10);
        out[10] = out[11] = 0xff;
        memcpy(out + 12, a4, 4);
        return E_OK;
    }
    return inet_pton(AF_INET6, tmp, out) == 1 ? E_OK : E_BADREQ;
}

int
ip_parse(struct str s, unsigned char out[16])
{
    bool v4;

    return ip_parse_family(s, out, &v4);
}

bool
ip_canonical(struct str s, bool mapped_as_v4, char out[IP_TEXT_MAX])
{
    unsigned char ip[16];
    bool          v4;

    if (ip_parse_family(s, ip, &v4) != E_OK)
        return false;
    v4 = v4 || (mapped_as_v4 && ip_is_v4(ip));
    return inet_ntop(v4 ? AF_INET : AF_INET6, v4 ? ip + 12 : ip, out, IP_TEXT_MAX) != NULL;
}

bool
ip_is_v4(const unsigned char ip[16])
{
    static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

    return memcmp(ip, mapped, sizeof mapped) == 0;
}

void
ip_format(const unsigned char ip[16], char out[IP_TEXT_MAX])
{
    if (inet_ntop(ip_is_v4(ip) ? AF_INET : AF_INET6, ip_is_v4(ip) ? ip + 12 : ip, out,
                  IP_TEXT_MAX) == NULL)
        out[0] = '\0';
}

int
cidr_parse(struct str s, struct cidr *out)
{
    struct str addr, bits = str_cut(s, '/', &addr);
    int64_t    n;

    if (ip_parse_family(addr, out->addr, &out->v4) != E_OK)
        return E_BADREQ;
    out->bits = 128;
    if (bits.p == NULL)
        return E_OK;
    if (bits.len == 0 || bits.p[0] < '0' || bits.p[0] > '9' || str_to_i64(bits, &n) != E_OK ||
        n > (out->v4 ? 32 : 128) || (bits.len > 1 && bits.p[0] == '0'))
        return E_BADREQ;
    out->bits = (unsigned)n + (out->v4 ? 96 : 0);
    return E_OK;
}

bool
cidr_contains(const struct cidr *c, const unsigned char ip[16])
{
    unsigned full = c->bits / 8, rest = c->bits % 8;

    if (memcmp(c->addr, ip, full) != 0)
        return false;
    if (rest == 0)
        return true;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (c->addr[full] & mask) == (ip[full] & mask);
}

bool
cidr_holds(const struct cidr *c, const unsigned char ip[16], bool v4)
{
    return c->v4 == v4 && cidr_contains(c, ip);
}

/* The address of `c` with the bits past its prefix cleared. */
static void
cidr_network(const struct cidr *c, unsigned char out[16])
{
    for (unsigned i = 0; i < 16; i++) {
        unsigned keep = c->bits > 8 * i ? c->bits - 8 * i : 0;
        out[i] = keep >= 8 ? c->addr[i] : c->addr[i] & (unsigned char)(0xff00 >> keep);
    }
}

bool
cidr_is_network(const struct cidr *c)
{
    unsigned char net[16];

    cidr_network(c, net);
    return memcmp(net, c->addr, sizeof net) == 0;
}

void
cidr_format(const struct cidr *c, char out[CIDR_TEXT_MAX])
{
    unsigned char net[16];
    size_t        n;

    cidr_network(c, net);
    if (inet_ntop(c->v4 ? AF_INET : AF_INET6, c->v4 ? net + 12 : net, out, IP_TEXT_MAX) ==
        NULL) {
        out[0] = '\0';
        return;
    }
    n = strlen(out);
    snprintf(out + n, CIDR_TEXT_MAX - n, "/%u", c->bits - (c->v4 ? 96 : 0));
}

int
cidr_list_check(const struct val *v, const char *attr, struct errbuf *eb)
{
    struct cidr c;

    if (v == NULL || v->t == V_NULL)
        return E_OK;
    if (v->t != V_ARR)
        return errbuf_attr(eb, E_VALIDATION, attr, "Attribute '%s' must be a list of CIDRs",
                           attr);
    for (size_t i = 0; i < v->a.n; i++) {
        struct str s = v->a.v[i].t == V_STR ? v->a.v[i].s : STR_NULL;
        if (s.p == NULL || cidr_parse(s, &c) != E_OK)
            return errbuf_attr(eb, E_VALIDATION, attr, "'%.*s' is not a CIDR",
                               (int)(s.len > 64 ? 64 : s.len), s.p != NULL ? s.p : "");
    }
    return E_OK;
}

static bool
is_cidr_sep(char c)
{
    return c == ',' || c == ' ' || c == '\t';
}

int
cidr_text_parse(struct str text, struct cidr *out, size_t max, size_t *n)
{
    size_t i = 0;

    *n = 0;
    while (i < text.len) {
        size_t start = i;
        while (i < text.len && !is_cidr_sep(text.p[i]))
            i++;
        if (i > start) {
            if (*n == max)
                return E_TOOBIG;
            if (cidr_parse((struct str){ text.p + start, i - start }, &out[*n]) != E_OK)
                return E_BADREQ;
            (*n)++;
        }
        while (i < text.len && is_cidr_sep(text.p[i]))
            i++;
    }
    return E_OK;
}

/* NET_NEVER, read once. */
static struct cidr    never[8];
static size_t         nnever;
static pthread_once_t never_once = PTHREAD_ONCE_INIT;

static void
never_read(void)
{
    if (cidr_text_parse(str_c(NET_NEVER), never, ARRAY_LEN(never), &nnever) != E_OK)
        abort(); /* a constant */
}

void
netallow_load(struct netallow *al, const char *setting)
{
    pthread_once(&never_once, never_read);
    al->all = setting[0] == '\0';
    if (cidr_text_parse(str_c(al->all ? NET_LINK_LOCAL : setting), al->nets,
                        ARRAY_LEN(al->nets), &al->n) != E_OK) {
        al->n = 0;
        al->all = false;
    }
}

/* Whether allow-list network `c` holds `ip` by the family the connection
 * goes by (netallow_has). */
static bool
cidr_allows(const struct cidr *c, const unsigned char ip[16])
{
    if (ip_is_v4(ip) && !c->v4 && !(c->bits >= 96 && ip_is_v4(c->addr)))
        return false;
    return cidr_contains(c, ip);
}

bool
netallow_has_range(const struct netallow *al, const struct cidr *r)
{
    for (size_t i = 0; i < nnever; i++)
        if (never[i].bits <= r->bits && cidr_contains(&never[i], r->addr))
            return false;
    for (size_t i = 0; i < al->n; i++)
        if (al->nets[i].bits <= r->bits && cidr_allows(&al->nets[i], r->addr))
            return !al->all;
    return al->all;
}

bool
netallow_has(const struct netallow *al, const unsigned char ip[16])
{
    struct cidr one = { .bits = 128 }; /* an address is the range of itself */

    memcpy(one.addr, ip, sizeof one.addr);
    return netallow_has_range(al, &one);
}
