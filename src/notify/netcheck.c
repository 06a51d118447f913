/* netcheck.c - see netcheck.h. */
#include "netcheck.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netdb.h>
#include <string.h>

#include "../core/config.h"
#include "../core/net.h"

#define HOST_MAX 253 /* a DNS name's longest text form */
#define PORT_MAX 65535

static const struct str https = STR("https://");

static int
bad_url(struct errbuf *eb, const char *attr, const char *why)
{
    return errbuf_attr(eb, E_VALIDATION, attr, "Attribute '%s' must be an https URL: %s", attr,
                       why);
}

/* Printable ASCII but the space; a fragment ('#') is never sent, so it is
 * refused rather than silently dropped. */
static bool
is_url_char(char c)
{
    return c > 0x20 && c < 0x7f && c != '#';
}

static bool
is_host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '-' || c == '_';
}

static bool
port_valid(struct str port)
{
    int64_t n = 0;

    if (port.len == 0 || port.len > 5)
        return false;
    for (size_t i = 0; i < port.len; i++)
        if (port.p[i] < '0' || port.p[i] > '9')
            return false;
    return str_to_i64(port, &n) == E_OK && n >= 1 && n <= PORT_MAX;
}

/* "[v6]" or "[v6]:port": the address into ip, the port (STR_NULL if none). */
static bool
split_bracketed(struct str auth, unsigned char ip[16], struct str *port)
{
    const char *close = memchr(auth.p, ']', auth.len);
    struct str  host, after;

    if (close == NULL)
        return false;
    host = (struct str){ auth.p + 1, (size_t)(close - auth.p) - 1 };
    after = (struct str){ close + 1, auth.len - (size_t)(close - auth.p) - 1 };
    *port = after.len > 0 ? (struct str){ after.p + 1, after.len - 1 } : STR_NULL;
    if (after.len > 0 && after.p[0] != ':')
        return false;
    return memchr(host.p, ':', host.len) != NULL && ip_parse(host, ip) == E_OK;
}

/* The labels of a DNS name: 1 to 63 characters each, none starting or
 * ending with '-'. */
static bool
labels_valid(struct str host)
{
    size_t start = 0;

    for (size_t i = 0; i <= host.len; i++) {
        if (i < host.len && host.p[i] != '.')
            continue;
        if (i == start || i - start > 63 || host.p[start] == '-' || host.p[i - 1] == '-')
            return false;
        start = i + 1;
    }
    return true;
}

/* Whether the last label is a number (decimal, or 0x hex): then the host is
 * an IPv4 address in one of the forms the resolver and curl take
 * (2852039166, 0xa9fea9fe, 0251.0376.0251.0376, 169.254.43518) or nothing
 * valid (RFC 1123 2.1: a host name never ends so). */
static bool
numeric_last_label(struct str host)
{
    const char *dot = memrchr(host.p, '.', host.len);
    const char *p = dot != NULL ? dot + 1 : host.p, *end = host.p + host.len;
    bool        hex = end - p > 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X');

    if (hex)
        p += 2;
    if (p == end)
        return false;
    for (; p < end; p++)
        if (!(hex ? isxdigit((unsigned char)*p) : *p >= '0' && *p <= '9'))
            return false;
    return true;
}

/* As the resolver reads a numeric host (inet_aton) into ip. */
static bool
ipv4_numeric(struct str host, unsigned char ip[16])
{
    char           text[HOST_MAX + 1];
    struct in_addr a;

    memcpy(text, host.p, host.len);
    text[host.len] = '\0';
    if (inet_aton(text, &a) == 0)
        return false;
    memset(ip, 0, 10);
    ip[10] = ip[11] = 0xff;
    memcpy(ip + 12, &a.s_addr, 4);
    return true;
}

/* "host" or "host:port": *literal when the host is an IPv4 address, in any
 * of the numeric forms a resolver takes. */
static bool
split_named(struct str auth, unsigned char ip[16], bool *literal, struct str *port)
{
    struct str host;

    *port = str_cut(auth, ':', &host);
    if (host.len == 0 || host.len > HOST_MAX)
        return false;
    for (size_t i = 0; i < host.len; i++)
        if (!is_host_char(host.p[i]))
            return false;
    if ((*literal = ip_parse(host, ip) == E_OK))
        return true;
    if (numeric_last_label(host))
        return *literal = ipv4_numeric(host, ip);
    return labels_valid(host);
}

int
webhook_url_check(struct str url, const char *attr, struct errbuf *eb)
{
    unsigned char ip[16];
    struct str    rest, auth, port = STR_NULL;
    bool          literal = true, ok;
    size_t        i;

    if (url.len > WEBHOOK_URL_MAX)
        return bad_url(eb, attr, "too long");
    if (url.len < https.len || !str_eq_nocase((struct str){ url.p, https.len }, "https://"))
        return bad_url(eb, attr, "the scheme must be https://");
    for (i = 0; i < url.len; i++)
        if (!is_url_char(url.p[i]))
            return bad_url(eb, attr, "printable ASCII only, no spaces, no fragment");
    rest = (struct str){ url.p + https.len, url.len - https.len };
    for (i = 0; i < rest.len && rest.p[i] != '/' && rest.p[i] != '?'; i++)
        ;
    auth = (struct str){ rest.p, i };
    if (memchr(auth.p, '@', auth.len) != NULL)
        return bad_url(eb, attr, "no user name or password");
    if (auth.len > 0 && auth.p[0] == '[')
        ok = split_bracketed(auth, ip, &port);
    else
        ok = split_named(auth, ip, &literal, &port);
    if (!ok)
        return bad_url(eb, attr, "the host must be a DNS name or an IP address");
    if (port.p != NULL && !port_valid(port))
        return bad_url(eb, attr, "the port must be from 1 to 65535");
    if (literal && !webhook_address_allowed(ip))
        return errbuf_attr(eb, E_VALIDATION, attr,
                           "Attribute '%s': the address is outside webhook_allowed_networks",
                           attr);
    return E_OK;
}

bool
webhook_address_allowed(const unsigned char ip[16])
{
    struct netallow al;

    netallow_load(&al, cfg.webhook_allowed_networks);
    return netallow_has(&al, ip);
}

/* The host name of https URL `url` in *name (NUL-terminated, HOST_MAX + 1
 * bytes): false when its host is an address, in brackets or in a numeric
 * form a resolver reads, or is no host at all. */
static bool
url_host_name(struct str url, char name[HOST_MAX + 1])
{
    struct str    auth = { url.p + https.len, 0 }, port;
    unsigned char ip[16];
    bool          literal = true;

    if (url.len <= https.len)
        return false;
    while (auth.len < url.len - https.len && auth.p[auth.len] != '/' && auth.p[auth.len] != '?')
        auth.len++;
    if (auth.len == 0 || auth.p[0] == '[' || !split_named(auth, ip, &literal, &port) || literal)
        return false;
    size_t n = port.p != NULL ? (size_t)(port.p - auth.p) - 1 : auth.len; /* <= HOST_MAX */
    memcpy(name, auth.p, n);
    name[n] = '\0';
    return true;
}

bool
webhook_url_names_host(struct str url)
{
    char name[HOST_MAX + 1];

    return url_host_name(url, name);
}

int
webhook_url_resolves(struct str url, const char *attr, struct errbuf *eb)
{
    char            name[HOST_MAX + 1];
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res;
    int             rc;

    if (!url_host_name(url, name))
        return E_OK; /* an address: nothing to resolve (webhook_url_check judged it) */
    if ((rc = getaddrinfo(name, NULL, &hints, &res)) != 0)
        return errbuf_attr(eb, E_VALIDATION, attr,
                           "Attribute '%s': the host '%s' does not resolve (%s)", attr, name,
                           gai_strerror(rc));
    freeaddrinfo(res);
    return E_OK;
}
