/* netcheck.c - see netcheck.h. */
#include "netcheck.h"

#include "../core/config.h"
#include "../core/net.h"

#define HOST_MAX 253 /* a DNS name's longest text form */
#define PORT_MAX 65535

/* What an empty webhook_allowed_networks refuses: link-local addresses, where
 * clouds answer their metadata services (169.254.169.254). */
#define LINK_LOCAL "169.254.0.0/16, fe80::/10"

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

/* "host" or "host:port": *literal when the host is an IPv4 address. */
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
    *literal = ip_parse(host, ip) == E_OK;
    return true;
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
    struct cidr nets[CONFIG_CIDRS_MAX];
    size_t      n = 0;
    bool        by_default = cfg.webhook_allowed_networks[0] == '\0';
    struct str  text = str_c(by_default ? LINK_LOCAL : cfg.webhook_allowed_networks);

    /* The setting was checked when it was read: a failure here allows nothing. */
    if (cidr_text_parse(text, nets, ARRAY_LEN(nets), &n) != E_OK)
        return false;
    for (size_t i = 0; i < n; i++)
        if (cidr_contains(&nets[i], ip))
            return !by_default;
    return by_default;
}
