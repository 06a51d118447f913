/* net.c - CIDR parsing and matching. */
#include "net.h"

#include <arpa/inet.h>

int
ip_parse(struct str s, unsigned char out[16])
{
    char          tmp[INET6_ADDRSTRLEN + 1];
    unsigned char v4[4];

    if (s.len == 0 || s.len >= sizeof tmp)
        return E_BADREQ;
    memcpy(tmp, s.p, s.len);
    tmp[s.len] = '\0';
    if (inet_pton(AF_INET, tmp, v4) == 1) {
        memset(out, 0, 10);
        out[10] = out[11] = 0xff;
        memcpy(out + 12, v4, 4);
        return E_OK;
    }
    return inet_pton(AF_INET6, tmp, out) == 1 ? E_OK : E_BADREQ;
}

int
cidr_parse(struct str s, struct cidr *out)
{
    struct str addr, bits = str_cut(s, '/', &addr);
    int64_t    n;
    bool       v4 = memchr(addr.p, ':', addr.len) == NULL;

    if (ip_parse(addr, out->addr) != E_OK)
        return E_BADREQ;
    out->bits = 128;
    if (bits.p == NULL)
        return E_OK;
    if (str_to_i64(bits, &n) != E_OK || n < 0 || n > (v4 ? 32 : 128) ||
        (bits.len > 1 && bits.p[0] == '0'))
        return E_BADREQ;
    out->bits = (unsigned)n + (v4 ? 96 : 0);
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
