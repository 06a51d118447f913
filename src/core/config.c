/* config.c - the table of settings and its parser. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "log.h"
#include "net.h"
#include "timeutil.h"

struct config cfg;

/* C_CIDRS: a C_STR of CIDRs; C_URL: a C_STR, empty or an http(s) URL (its
 * trailing slashes dropped). */
enum ctype { C_STR, C_INT, C_SIZE, C_DURATION, C_LEVEL, C_CIDRS, C_URL };

struct setting {
    const char *name;
    enum ctype  type;
    size_t      off;
    size_t      len; /* C_STR: capacity */
    const char *def;
    int64_t     min, max;
    const char *doc;
    const char *choices; /* C_STR: the values allowed, '|'-separated; NULL: any */
};

#define F(field) offsetof(struct config, field)
#define S(field) sizeof(((struct config *)0)->field)

static const struct setting settings[] = {
    { "listen", C_STR, F(listen), S(listen), "127.0.0.1:8443", 0, 0, "address and port" },
    { "data_dir", C_STR, F(data_dir), S(data_dir), "./keyward-data", 0, 0, "data directory" },
    { "store", C_STR, F(store), S(store), "", 0, 0, "sqlite:PATH (default DATA/keyward.db)" },
    { "public_url", C_URL, F(public_url), S(public_url), "", 0, 0,
      "token issuer and API URL (default https://LISTEN)" },
    { "pki_listen", C_STR, F(pki_listen), S(pki_listen), "", 0, 0,
      "address and port of a plain-HTTP listener for the public PKI routes (CA certificates, "
      "CRLs, OCSP), empty = none" },
    { "pki_url", C_URL, F(pki_url), S(pki_url), "", 0, 0,
      "base URL of the PKI routes in issued certificates (default http://PKI_LISTEN, or "
      "public_url without pki_listen)" },
    { "tls_cert", C_STR, F(tls_cert), S(tls_cert), "", 0, 0,
      "the API's certificate chain (PEM file, read at start and on SIGHUP, never written), "
      "empty = the console's own, issued by its local CA" },
    { "tls_key", C_STR, F(tls_key), S(tls_key), "", 0, 0,
      "the private key of tls_cert (PEM file, not readable by every user)" },
    { "sync", C_STR, F(sync), S(sync), "full", 0, 0,
      "full: a commit survives power loss (fsync); normal: survives a crash of the process",
      "full|normal" },
    { "min_free_space", C_SIZE, F(min_free_space), 0, "67108864", 0, 1125899906842624,
      "bytes left on the file system of a SQLite store below which /health answers 503 "
      "(writes would fail), 0 = no check" },
    { "store_timeout", C_DURATION, F(store_timeout), 0, "30s", 1000, 3600000,
      "a request's reads, 503 past it (SQLite: all of them together; PostgreSQL: each "
      "statement, a write's twice it, and a database that has not answered 2 s past it is "
      "given up)" },
    { "threads", C_INT, F(threads), 0, "0", 0, 256,
      "HTTP worker threads, 0 = four per core, at most 16" },
    { "max_connections", C_INT, F(max_connections), 0, "1024", 1, 65536, "open connections" },
    { "max_connections_per_address", C_INT, F(max_connections_per_address), 0, "0", 0, 65536,
      "open connections from one client address, 0 = no limit (mind load balancers)" },
    { "connection_timeout", C_DURATION, F(connection_timeout), 0, "30s", 1000, 3600000,
      "idle keep-alive connection cut-off" },
    { "header_timeout", C_DURATION, F(header_timeout), 0, "10s", 100, 3600000,
      "time for the TLS handshake and a request's line and headers (closed past it)" },
    { "body_min_rate", C_SIZE, F(body_min_rate), 0, "1024", 1, 1073741824,
      "bytes per second a request body must keep up once header_timeout has passed" },
    { "max_url_size", C_SIZE, F(max_url_size), 0, "65536", 256, 1048576,
      "request target bytes, path and query (414 past it)" },
    { "max_body_size", C_SIZE, F(max_body_size), 0, "1048576", 1024, 1073741824,
      "request body bytes of a valid token's request (413 past it)" },
    { "max_anonymous_body_size", C_SIZE, F(max_anonymous_body_size), 0, "65536", 1024,
      1073741824,
      "request body bytes without a valid token (logins, OCSP; 413 past it, at most "
      "max_body_size)" },
    { "max_header_size", C_SIZE, F(max_header_size), 0, "16384", 2048, 1048576,
      "bytes of the header lines, the request line apart (431 past it)" },
    { "max_depth", C_INT, F(max_depth), 0, "32", 2, 512, "body nesting depth (400 past it)" },
    { "page_size_default", C_INT, F(page_size_default), 0, "100", 1, 1000000,
      "list page size" },
    { "page_size_max", C_INT, F(page_size_max), 0, "10000", 1, 1000000,
      "largest page size (pageSize=0 is capped too)" },
    { "token_max_validity", C_DURATION, F(token_max_validity), 0, "720h", 1000,
      INT64_C(315360000000), "longest token validity granted" },
    { "signing_key_rotation", C_DURATION, F(signing_key_rotation), 0, "0", 0,
      INT64_C(315360000000),
      "replace the token signing key when it is this old, 0 = never (old keys verify on)" },
    { "token_cache_entries", C_INT, F(token_cache_entries), 0, "100000", 16, 10000000,
      "verified tokens kept in memory" },
    { "idempotency_ttl", C_DURATION, F(idempotency_ttl), 0, "24h", 1000, INT64_C(2592000000),
      "how long Idempotency-Key answers are kept" },
    { "audit_retention", C_DURATION, F(audit_retention), 0, "2160h", 3600000,
      INT64_C(315360000000), "how long audit log entries are kept" },
    { "log_level", C_LEVEL, F(log_level), 0, "info", 0, 3, "debug, info, warn or error" },
    { "login_failures_max", C_INT, F(login_failures_max), 0, "10", 0, 1000000,
      "failed logins in a row that lock an account for login_lockout, 0 = no limit" },
    { "login_failures_per_address_max", C_INT, F(login_failures_per_address_max), 0, "100", 0,
      1000000, "failed logins that lock a client address (IPv6: its /64), 0 = no limit" },
    { "login_failure_window", C_DURATION, F(login_failure_window), 0, "15m", 1000,
      INT64_C(86400000), "a failure is forgiven after window / max (a leaky bucket)" },
    { "login_lockout", C_DURATION, F(login_lockout), 0, "15m", 1000, INT64_C(86400000),
      "how long a locked account or address is answered 429 without checking" },
    { "max_concurrent_hashes", C_INT, F(max_concurrent_hashes), 0, "4", 1, 256,
      "Argon2id hashes at once (19 MiB each); logins past it wait briefly, then 429" },
    { "monitor_interval", C_DURATION, F(monitor_interval), 0, "1m", 100, INT64_C(86400000),
      "how late a certificate's stored status and weaknesses may be (reads are always right)" },
    { "max_import_size", C_SIZE, F(max_import_size), 0, "33554432", 1024, 33554432,
      "body limit of POST /certificateimports (bundles); other bodies: max_body_size" },
    { "expire_interval", C_DURATION, F(expire_interval), 0, "1m", 100, INT64_C(86400000),
      "how often the expiry and audit retention jobs run" },
    { "job_workers", C_INT, F(job_workers), 0, "2", 1, 64, "background job threads" },
    { "job_lease", C_DURATION, F(job_lease), 0, "30s", 3000, INT64_C(3600000),
      "how long a server's claim on a job lasts unrenewed (renewed every third): a job of a "
      "killed server is taken by another after at most this" },
    { "job_retention", C_DURATION, F(job_retention), 0, "168h", 1000, INT64_C(315360000000),
      "how long finished background jobs stay readable" },
    { "webhook_allowed_networks", C_CIDRS, F(webhook_allowed_networks),
      S(webhook_allowed_networks), "", 0, 0,
      "CIDRs webhook deliveries may connect to (checked after name resolution); "
      "empty: every address but link-local 169.254.0.0/16 and fe80::/10, and fd00:ec2::254" },
    { "webhook_retry_delay", C_DURATION, F(webhook_retry_delay), 0, "10s", 100, 3600000,
      "first retry of a failed webhook delivery, doubled at each attempt up to 1h" },
    { "webhook_max_attempts", C_INT, F(webhook_max_attempts), 0, "10", 1, 1000,
      "attempts of a webhook delivery before it is FAILED" },
    { "webhook_timeout", C_DURATION, F(webhook_timeout), 0, "10s", 100, 600000,
      "one webhook delivery attempt: resolution, connection, TLS, request and answer" },
    { "webhook_workers", C_INT, F(webhook_workers), 0, "4", 1, 64,
      "webhook delivery threads (apart from job_workers: a slow receiver delays no other "
      "job)" },
    { "webhook_delivery_retention", C_DURATION, F(webhook_delivery_retention), 0, "720h",
      3600000, INT64_C(315360000000), "how long webhook deliveries are kept" },
    { "discovery_max_pairs", C_INT, F(discovery_max_pairs), 0, "1048576", 1,
      INT64_C(4294967296), "address-and-port pairs a discovery may cover (422 past it)" },
    { "discovery_allowed_networks", C_CIDRS, F(discovery_allowed_networks),
      S(discovery_allowed_networks), "", 0, 0,
      "CIDRs discoveries may scan (checked at creation and after name resolution); "
      "empty: every address but link-local" },
    { "discovery_workers", C_INT, F(discovery_workers), 0, "2", 1, 64,
      "discovery runs at once on this server (threads of their own)" },
    { "discovery_slice", C_DURATION, F(discovery_slice), 0, "1m", 100, INT64_C(86400000),
      "how long a run scans before it gives its worker to a run that waits (taking turns)" },
    { "discovery_handshake_memory", C_SIZE, F(discovery_handshake_memory), 0, "268435456",
      1048576, INT64_C(68719476736),
      "memory the handshakes of all the discovery runs of a server may hold at worst "
      "(discovery_workers share it)" },
    { "discovery_sweep_batch", C_INT, F(discovery_sweep_batch), 0, "512", 1, 100000,
      "instances a run marks MISSING per transaction (the store's writer serves everyone)" },
};

static const char *const level_names[] = { "debug", "info", "warn", "error" };

static int
parse_int(const struct setting *s, const char *v, int64_t *out, struct errbuf *eb)
{
    int rc = E_OK;

    if (s->type == C_DURATION)
        rc = duration_parse(str_c(v), out);
    else if (s->type == C_LEVEL) {
        rc = E_BADREQ;
        for (size_t i = 0; i < ARRAY_LEN(level_names); i++)
            if (strcmp(v, level_names[i]) == 0) {
                *out = (int64_t)i;
                rc = E_OK;
            }
    } else
        rc = str_to_i64(str_c(v), out);
    if (rc != E_OK)
        return errbuf_set(eb, E_BADREQ, "config: %s: invalid value '%s'", s->name, v);
    if (*out < s->min || *out > s->max)
        return errbuf_set(eb, E_BADREQ, "config: %s: %s is out of range", s->name, v);
    return E_OK;
}

_Static_assert(CONFIG_CIDRS_MAX <= NET_ALLOW_MAX, "an allow-list setting fits struct netallow");

static int
check_cidrs(const struct setting *s, const char *v, struct errbuf *eb)
{
    struct cidr c[CONFIG_CIDRS_MAX];
    size_t      n;

    if (cidr_text_parse(str_c(v), c, ARRAY_LEN(c), &n) != E_OK)
        return errbuf_set(eb, E_BADREQ, "config: %s: '%s' is not a list of at most %d CIDRs",
                          s->name, v, CONFIG_CIDRS_MAX);
    return E_OK;
}

/* The length of a C_URL value without its trailing slashes (paths are
 * appended to it). */
static size_t
url_len(const char *v)
{
    size_t n = strlen(v);

    while (n > 0 && v[n - 1] == '/')
        n--;
    return n;
}

/* Empty, or an http(s) URL with a host, in printable ASCII without spaces: it
 * is written into certificates (IA5String). */
static int
check_url(const struct setting *s, const char *v, struct errbuf *eb)
{
    size_t n = url_len(v);
    size_t scheme = strncmp(v, "http://", 7) == 0 ? 7 : strncmp(v, "https://", 8) == 0 ? 8 : 0;
    bool   ok = v[0] == '\0' || (scheme > 0 && n > scheme);

    for (size_t i = 0; ok && i < n; i++)
        ok = (unsigned char)v[i] > ' ' && (unsigned char)v[i] < 0x7f;
    if (!ok)
        return errbuf_set(eb, E_BADREQ, "config: %s: '%s' is not an http:// or https:// URL",
                          s->name, v);
    return E_OK;
}

static int
check_choice(const struct setting *s, const char *v, struct errbuf *eb)
{
    size_t n = strlen(v);

    for (const char *c = s->choices; *c != '\0'; c += strcspn(c, "|"), c += *c == '|')
        if (strncmp(c, v, n) == 0 && (c[n] == '|' || c[n] == '\0'))
            return E_OK;
    return errbuf_set(eb, E_BADREQ, "config: %s: '%s' is not one of %s", s->name, v,
                      s->choices);
}

static bool
is_text(enum ctype t)
{
    return t == C_STR || t == C_CIDRS || t == C_URL;
}

static int
apply(struct config *c, const struct setting *s, const char *v, struct errbuf *eb)
{
    char *field = (char *)c + s->off;
    int   rc;

    if (is_text(s->type)) {
        size_t n = strlen(v);
        if (n >= s->len)
            return errbuf_set(eb, E_BADREQ, "config: %s: value too long", s->name);
        if (s->type == C_CIDRS && (rc = check_cidrs(s, v, eb)) != E_OK)
            return rc;
        if (s->type == C_URL && (rc = check_url(s, v, eb)) != E_OK)
            return rc;
        if (s->choices != NULL && (rc = check_choice(s, v, eb)) != E_OK)
            return rc;
        n = s->type == C_URL ? url_len(v) : n;
        memcpy(field, v, n);
        field[n] = '\0';
        return E_OK;
    }
    int64_t x = 0;
    rc = parse_int(s, v, &x, eb);
    if (rc == E_OK)
        memcpy(field, &x, sizeof x);
    return rc;
}

void
config_defaults(struct config *c)
{
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < ARRAY_LEN(settings); i++)
        if (apply(c, &settings[i], settings[i].def, NULL) != E_OK)
            abort(); /* a default outside its own bounds is a programming error */
}

static const struct setting *
setting_named(const char *key)
{
    for (size_t i = 0; i < ARRAY_LEN(settings); i++)
        if (strcmp(settings[i].name, key) == 0)
            return &settings[i];
    return NULL;
}

int
config_set(struct config *c, const char *key, const char *value, struct errbuf *eb)
{
    const struct setting *s = setting_named(key);

    return s != NULL ? apply(c, s, value, eb)
                     : errbuf_set(eb, E_BADREQ, "config: unknown setting '%s'", key);
}

/* A setting given twice in one file is refused: which one counts would be a
 * guess (an operator's review: the last won, silently). `seen` has a flag per
 * setting. */
static int
parse_line(struct config *c, char *line, const char *path, int lineno, bool *seen,
           struct errbuf *eb)
{
    struct str s = str_trim(str_c(line)), key, rest;

    if (s.len == 0 || s.p[0] == '#')
        return E_OK;
    rest = str_cut(s, '=', &key);
    if (rest.p == NULL)
        return errbuf_set(eb, E_BADREQ, "%s:%d: expected 'key = value'", path, lineno);
    key = str_trim(key);
    rest = str_trim(rest);
    char k[64], v[1100];
    if (key.len >= sizeof k || rest.len >= sizeof v)
        return errbuf_set(eb, E_BADREQ, "%s:%d: line too long", path, lineno);
    memcpy(k, key.p, key.len);
    k[key.len] = '\0';
    memcpy(v, rest.p, rest.len);
    v[rest.len] = '\0';
    const struct setting *st = setting_named(k);
    if (st != NULL && seen[st - settings])
        return errbuf_set(eb, E_BADREQ, "%s:%d: '%s' is set twice in this file", path, lineno,
                          k);
    if (st != NULL)
        seen[st - settings] = true;
    return config_set(c, k, v, eb);
}

int
config_load_file(struct config *c, const char *path, bool must_exist, struct errbuf *eb)
{
    FILE *f = fopen(path, "r");
    char  line[2048];
    int   lineno = 0, rc = E_OK;
    bool  seen[ARRAY_LEN(settings)] = { false };

    struct stat st;

    if (f == NULL) {
        if ((errno == ENOENT || errno == ENOTDIR) && !must_exist)
            return E_OK;
        return errbuf_set(eb, E_BADREQ, "%s: %s", path, strerror(errno));
    }
    if (fstat(fileno(f), &st) != 0 || file_trusted(path, &st, eb) != E_OK) {
        fclose(f);
        return E_FORBIDDEN;
    }
    while (rc == E_OK && fgets(line, sizeof line, f) != NULL) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        rc = parse_line(c, line, path, lineno, seen, eb);
    }
    fclose(f);
    return rc;
}

void
config_dump(const struct config *c, int fd)
{
    for (size_t i = 0; i < ARRAY_LEN(settings); i++) {
        const struct setting *s = &settings[i];
        const char           *field = (const char *)c + s->off;
        int64_t               x;
        char                  dur[32];

        dprintf(fd, "# %s\n", s->doc);
        if (is_text(s->type)) {
            char shown[2048];
            config_url_redacted(field, shown, sizeof shown);
            dprintf(fd, "%s = %s\n", s->name, shown);
            if (field == c->pki_url && field[0] == '\0') /* what certificates name then */
                dprintf(fd, "#   (empty: issued certificates name %s/pki/...: public_url's)\n",
                        c->public_url[0] != '\0' ? c->public_url : "https://LISTEN");
            continue;
        }
        memcpy(&x, field, sizeof x);
        if (s->type == C_DURATION) {
            duration_format(x, dur);
            dprintf(fd, "%s = %s\n", s->name, dur);
        } else if (s->type == C_LEVEL)
            dprintf(fd, "%s = %s\n", s->name, level_names[x]);
        else
            dprintf(fd, "%s = %lld\n", s->name, (long long)x);
    }
}

/* Whether the parameter name k..eq is "password" or "sslpassword", also
 * percent-encoded as libpq decodes it (%70assword). */
static bool
names_password(const char *k, const char *eq)
{
    char   name[16];
    size_t n = 0;

    for (const char *p = k; p < eq; p++) {
        unsigned c = (unsigned char)*p;
        if (c == '%' && eq - p > 2 && isxdigit((unsigned char)p[1]) &&
            isxdigit((unsigned char)p[2])) {
            char hex[3] = { p[1], p[2], 0 };
            c = (unsigned)strtoul(hex, NULL, 16);
            p += 2;
        }
        if (n + 1 >= sizeof name)
            return false;
        name[n++] = (char)c;
    }
    name[n] = '\0';
    return strcmp(name, "password") == 0 || strcmp(name, "sslpassword") == 0;
}

/* The value of each password parameter, of a URL (...?sslmode=x&password=y)
 * or of a key=value string (host=h password='y z'), as ***. */
static void
redact_params(char *out, size_t n)
{
    for (char *eq = strchr(out, '='); eq != NULL; eq = strchr(eq + 1, '=')) {
        char *k = eq;
        while (k > out && strchr("?& \t", k[-1]) == NULL)
            k--;
        if (!names_password(k, eq))
            continue;
        char *v = eq + 1, *end;
        if (*v == '\'') {
            for (end = v + 1; *end != '\0' && *end != '\''; end += 1 + (*end == '\\' && end[1]))
                ;
            end += *end == '\'';
        } else
            end = v + strcspn(v, "&# \t");
        size_t tail = strlen(end) + 1;
        if (v + 3 + tail > out + n) { /* no room for the rest: cut it off */
            *k = '\0';
            return;
        }
        memmove(v + 3, end, tail);
        memcpy(v, "***", 3);
    }
}

const char *
config_url_at(const char *auth)
{
    /* the user's part ends at its last '@': before the first '/' as libpq
     * reads it, or before the first '?' or '#' as a writer who left a '/' in
     * the password meant it; the later of the two hides both */
    const char *at1 = memrchr(auth, '@', strcspn(auth, "/"));
    const char *at2 = memrchr(auth, '@', strcspn(auth, "?#"));
    const char *at = at1 == NULL ? at2 : at2 == NULL || at1 > at2 ? at1 : at2;

    /* another '@' after it, with no query parameter (a '?' then a '=')
     * before it: a password holding '/' and '#' or '?' too, hidden up to
     * that '@' (an acceptance check read "wo#rd123" of "Pa@ss/wo#rd123");
     * not an '@' in a query value (?application_name=kw@node1) */
    for (const char *next; at != NULL && (next = strchr(at + 1, '@')) != NULL; at = next) {
        const char *q = memchr(at + 1, '?', (size_t)(next - at - 1));
        if (q != NULL && memchr(q, '=', (size_t)(next - q)) != NULL)
            break;
    }
    return at;
}

void
config_url_redacted(const char *url, char *out, size_t n)
{
    const char *scheme = strstr(url, "://");
    const char *auth = scheme != NULL ? scheme + 3 : NULL;
    const char *at = auth != NULL ? config_url_at(auth) : NULL;
    const char *colon = at != NULL ? memchr(auth, ':', (size_t)(at - auth)) : NULL;

    if (colon != NULL)
        snprintf(out, n, "%.*s***%s", (int)(colon + 1 - url), url, at);
    else if (at != NULL && !config_url_plain_user((struct str){ auth, (size_t)(at - auth) }))
        snprintf(out, n, "%.*s***%s", (int)(auth - url), url, at); /* a mistyped ':' */
    else
        snprintf(out, n, "%s", url);
    redact_params(out, n);
}

bool
config_url_plain_user(struct str user)
{
    for (size_t i = 0; i < user.len; i++)
        if (!isalnum((unsigned char)user.p[i]) && !strchr("-._~%", user.p[i]))
            return false;
    return true;
}

const char *
cfg_pki_base(void)
{
    return cfg.pki_url[0] != '\0' ? cfg.pki_url : cfg.public_url;
}
