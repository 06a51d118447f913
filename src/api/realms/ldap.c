/* ldap.c - the LDAP realm: a user name and password proved by binding to the
 * directory of an `ldapprovider` (API.md section 3).
 *
 * One login is one short session: connect (ldaps://, StartTLS or plain), bind
 * as the provider's service account, search the user with the provider's filter,
 * bind as the entry found with the user's password, and turn the entry's
 * attributes into the token's claims. The calls block the HTTP worker; every
 * step is bounded by LDAP_TIMEOUT_S.
 *
 * Answers: bad credentials of any kind (unknown namespace, provider or user,
 * several matches, wrong or empty password) are one 401; a directory that cannot
 * be reached, refuses the service account or cannot be trusted is a 503 whose
 * description says nothing more (the reason goes to the log).
 */
#include <ldap.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <unistd.h>

#include "../../core/fileio.h"
#include "../../core/log.h"
#include "../../core/nspath.h"
#include "../../model/secrets.h"
#include "../../model/specs.h"
#include "../../store/store.h"
#include "issue.h"
#include "throttle.h"

#define LDAP_TIMEOUT_S 5
#define USERNAME_MAX   256
#define PASSWORD_MAX   1024
#define PROVIDER_MAX   256
#define FILTER_MAX     (128 * 1024) /* 1 KiB template, {USERNAME} escaped up to 3x */
#define VALUE_MAX      1024         /* longer values (photos, certificates) are no claims */
#define VALUES_MAX     64           /* per attribute */
/* Bytes of JSON the entry's attributes may add to the token: authn refuses
 * tokens over 8 KiB, and base64url adds a third. */
#define CLAIMS_BUDGET 4096
#define CA_TEMPLATE   "/tmp/keyward-ldapca-XXXXXX"

/* What the caller sent in metadata. */
struct login {
    struct str user, pw, ns, provider;
};

/* The provider's settings, NUL-terminated for libldap (in the request arena). */
struct provider {
    const struct val *obj;
    const char       *name, *address, *proto, *bind_dn, *base_dn, *filter, *subject_key;
    struct str        ca;
    const struct val *ignored;
};

/* Attributes that never become claims, whatever the provider says: password
 * hashes a permissive directory may show the service account, and the keys the
 * realm sets itself. */
static const char *const never_claims[] = {
    "userPassword",    "authPassword",    "unicodePwd", "sambaNTPassword",
    "sambaLMPassword", "krbPrincipalKey", "realm",      "namespace",
    "provider",        "providerid",      "subject",    NULL,
};

/* libldap initialises its TLS library on first use without a lock, and its
 * first ldap_initialize reads the global configuration: session set-up is
 * serialised (it does no network I/O). */
static pthread_mutex_t setup_lock = PTHREAD_MUTEX_INITIALIZER;

static int
invalid(struct errbuf *eb)
{
    return errbuf_set(eb, E_UNAUTH, "Invalid credentials");
}

/* The directory's diagnostic text, made safe for one log line: it comes from
 * the server, which may put anything in it. */
static void
diagnostic(LDAP *ld, char *out, size_t size)
{
    char  *diag = NULL;
    size_t n = 0;

    if (ld != NULL &&
        ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag) == LDAP_OPT_SUCCESS &&
        diag != NULL)
        for (; diag[n] != '\0' && n + 1 < size; n++)
            out[n] = diag[n] >= 0x20 && diag[n] < 0x7f ? diag[n] : '?';
    out[n] = '\0';
    ldap_memfree(diag);
}

/* The reason goes to the log with the trace id, never to the client. */
static int
unavailable(struct req *r, LDAP *ld, const struct provider *p, const char *step, int lrc,
            struct errbuf *eb)
{
    char diag[200];

    diagnostic(ld, diag, sizeof diag);
    log_warn("trace=%s ldapprovider '%s': %s failed: %s%s%s", r->trace, p->name, step,
             ldap_err2string(lrc), diag[0] != '\0' ? ": " : "", diag);
    return errbuf_set(eb, E_UNAVAILABLE, "The directory is unavailable");
}

/* Errors that are the directory's (or the network's) fault, not the user's:
 * libldap's own codes are negative. */
static bool
backend_fault(int lrc)
{
    return lrc < 0 || lrc == LDAP_BUSY || lrc == LDAP_UNAVAILABLE ||
           lrc == LDAP_TIMELIMIT_EXCEEDED || lrc == LDAP_ADMINLIMIT_EXCEEDED ||
           lrc == LDAP_OTHER;
}

/* metadata.<k>: absent or null is empty; any other type is a client error. */
static int
md_str(const struct val *md, const char *k, struct str *out, struct errbuf *eb)
{
    const struct val *v = val_get(md, k);
    char              name[48];

    *out = v != NULL && v->t == V_STR ? v->s : STR_NULL;
    if (v == NULL || v->t == V_NULL || v->t == V_STR)
        return E_OK;
    snprintf(name, sizeof name, "metadata.%s", k);
    return errbuf_attr(eb, E_VALIDATION, name, "Attribute '%s' must be a string", name);
}

/* An empty password must be refused here: a simple bind with a DN and no
 * password is an "unauthenticated bind" (RFC 4513 5.1.2) that many servers
 * answer with success. */
static int
login_parse(const struct val *md, struct login *l, struct errbuf *eb)
{
    int rc;

    if ((rc = md_str(md, "username", &l->user, eb)) != E_OK ||
        (rc = md_str(md, "password", &l->pw, eb)) != E_OK ||
        (rc = md_str(md, "namespace", &l->ns, eb)) != E_OK ||
        (rc = md_str(md, "provider", &l->provider, eb)) != E_OK)
        return rc;
    if (!nspath_valid(l->ns))
        return errbuf_attr(eb, E_VALIDATION, "metadata.namespace",
                           "Attribute 'metadata.namespace' must be a namespace path");
    if (l->user.len == 0 || l->user.len > USERNAME_MAX || l->pw.len == 0 ||
        l->pw.len > PASSWORD_MAX || l->provider.len > PROVIDER_MAX)
        return invalid(eb);
    return E_OK;
}

/* The namespace's default provider: the first by name with default == true. */
static int
provider_default(struct req *r, const struct scope *sc, struct val *out, struct errbuf *eb)
{
    struct order_key by_name = { spec_attr(&spec_ldapprovider, STR("name")), false };
    struct listq     q = { .scope = *sc, .order = &by_name, .norder = 1, .limit = 1 };
    struct val       items = val_arr();
    struct fnode    *f = NULL;
    int              rc;

    if ((rc = filter_parse(r->a, STR("default == true"), 0, &f, eb)) != E_OK)
        return rc;
    q.filter = f;
    if ((rc = kw_store->ops->list(kw_store, &spec_ldapprovider, &q, r->a, &items, NULL, eb)) !=
        E_OK)
        return rc;
    if (items.a.n == 0)
        return E_NOTFOUND;
    *out = items.a.v[0];
    return E_OK;
}

/* An unknown namespace or provider is "Invalid credentials" like an unknown
 * user: /issue is unauthenticated, so it must not tell which exist. */
static int
provider_find(struct req *r, const struct login *l, struct val *out, struct errbuf *eb)
{
    struct scope  sc = { l->ns, false };
    struct errbuf feb = { 0 };
    int           rc;

    if (l->provider.len > 0)
        rc = kw_store->ops->find(kw_store, &spec_ldapprovider, &sc, "name", l->provider, r->a,
                                 out, &feb);
    else
        rc = provider_default(r, &sc, out, &feb);
    if (rc == E_UNAVAILABLE || feb.code == E_UNAVAILABLE)
        return errbuf_set(eb, E_UNAVAILABLE, "The store is unavailable");
    return rc == E_OK ? E_OK : invalid(eb);
}

static const char *
obj_cstr(struct arena *a, const struct val *obj, const char *k)
{
    const struct val *v = val_get(obj, k);

    return v != NULL && v->t == V_STR ? arena_strndup(a, v->s.p, v->s.len) : "";
}

static void
provider_load(struct arena *a, const struct val *obj, struct provider *p)
{
    const struct val *ca = val_get(obj, "certificateAuthority");

    p->obj = obj;
    p->name = obj_cstr(a, obj, "name");
    p->address = obj_cstr(a, obj, "address");
    p->proto = obj_cstr(a, obj, "connSecurityProtocol");
    p->bind_dn = obj_cstr(a, obj, "bindDN");
    p->base_dn = obj_cstr(a, obj, "baseDN");
    p->filter = obj_cstr(a, obj, "bindSearchFilter");
    p->subject_key = obj_cstr(a, obj, "subjectKey");
    p->ca = ca != NULL && ca->t == V_STR ? ca->s : STR_NULL;
    p->ignored = val_get(obj, "ignoredKeys");
}

static int
set_common(LDAP *ld)
{
    int            v3 = LDAP_VERSION3, limit = LDAP_TIMEOUT_S;
    struct timeval tv = { LDAP_TIMEOUT_S, 0 };

    /* Referrals off: chasing one would send the service account's password to
     * whatever server the directory names. */
    if (ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v3) != LDAP_OPT_SUCCESS ||
        ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv) != LDAP_OPT_SUCCESS ||
        ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv) != LDAP_OPT_SUCCESS ||
        ldap_set_option(ld, LDAP_OPT_TIMELIMIT, &limit) != LDAP_OPT_SUCCESS ||
        ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF) != LDAP_OPT_SUCCESS)
        return LDAP_LOCAL_ERROR;
    return LDAP_SUCCESS;
}

/* libldap (GnuTLS on Debian) reads trust anchors only from files: the PEM goes
 * to a private temporary file for as long as the TLS context takes to load it. */
static int
ca_file(struct str pem, char *path)
{
    int fd = mkstemp(path), rc;

    if (fd < 0)
        return -1;
    rc = fd_write_all(fd, pem.p, pem.len);
    if (close(fd) != 0)
        rc = -1;
    if (rc != 0)
        unlink(path);
    return rc;
}

/* The session's own TLS context: the certificate is always verified (name and
 * chain), against the provider's CA only when it has one, else the system's. */
static int
set_tls(LDAP *ld, struct str ca)
{
    char path[] = CA_TEMPLATE;
    int  demand = LDAP_OPT_X_TLS_DEMAND, min = LDAP_OPT_X_TLS_PROTOCOL_TLS1_2, client = 0;
    int  rc = LDAP_SUCCESS;

    if (ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand) != LDAP_OPT_SUCCESS ||
        ldap_set_option(ld, LDAP_OPT_X_TLS_PROTOCOL_MIN, &min) != LDAP_OPT_SUCCESS)
        return LDAP_LOCAL_ERROR;
    if (ca.len > 0) {
        if (ca_file(ca, path) != 0)
            return LDAP_LOCAL_ERROR;
        if (ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, path) != LDAP_OPT_SUCCESS ||
            ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTDIR, NULL) != LDAP_OPT_SUCCESS)
            rc = LDAP_LOCAL_ERROR;
    }
    if (rc == LDAP_SUCCESS &&
        ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &client) != LDAP_OPT_SUCCESS)
        rc = LDAP_LOCAL_ERROR;
    if (ca.len > 0)
        unlink(path);
    return rc;
}

/* Anything but "None" and "InbandTLS" is ldaps://: a value that slipped past
 * validation must never mean plain text. */
static int
session_open(struct req *r, const struct provider *p, LDAP **out, struct errbuf *eb)
{
    bool  plain = strcmp(p->proto, "None") == 0, starttls = strcmp(p->proto, "InbandTLS") == 0;
    char *uri = arena_printf(r->a, "%s://%s", plain || starttls ? "ldap" : "ldaps", p->address);
    LDAP *ld = NULL;
    int   lrc;

    pthread_mutex_lock(&setup_lock);
    lrc = ldap_initialize(&ld, uri);
    if (lrc == LDAP_SUCCESS)
        lrc = set_common(ld);
    if (lrc == LDAP_SUCCESS && !plain)
        lrc = set_tls(ld, p->ca);
    pthread_mutex_unlock(&setup_lock);
    if (lrc == LDAP_SUCCESS && starttls)
        lrc = ldap_start_tls_s(ld, NULL, NULL);
    if (lrc != LDAP_SUCCESS) {
        int rc = unavailable(r, ld, p, starttls ? "StartTLS" : "session set-up", lrc, eb);
        if (ld != NULL)
            ldap_unbind_ext_s(ld, NULL, NULL);
        return rc;
    }
    *out = ld;
    return E_OK;
}

/* Any refusal of the service account is the provider's problem (wrong
 * password, account locked), not the user's: 503. */
static int
bind_service(struct req *r, LDAP *ld, const struct provider *p, struct errbuf *eb)
{
    struct buf    pw;
    struct errbuf seb = { 0 };
    struct berval cred;
    int           lrc;

    buf_init(&pw, PASSWORD_MAX + 1);
    if (secrets_open(&spec_ldapprovider, p->obj, "bindPassword", &pw, &seb) != E_OK) {
        buf_wipe(&pw);
        log_error("trace=%s ldapprovider '%s': %s", r->trace, p->name, seb.msg);
        return errbuf_set(eb, E_INTERNAL, "The provider's bind password cannot be opened");
    }
    cred.bv_val = pw.p;
    cred.bv_len = pw.len;
    lrc = ldap_sasl_bind_s(ld, p->bind_dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
    buf_wipe(&pw);
    return lrc == LDAP_SUCCESS ? E_OK : unavailable(r, ld, p, "service bind", lrc, eb);
}

/* RFC 4515 section 3: the user name is a value, never filter syntax. */
static int
put_escaped(struct buf *b, struct str v)
{
    int rc = E_OK;

    for (size_t i = 0; i < v.len && rc == E_OK; i++) {
        unsigned char ch = (unsigned char)v.p[i];
        if (ch == '*' || ch == '(' || ch == ')' || ch == '\\' || ch == '\0')
            rc = buf_printf(b, "\\%02x", ch);
        else
            rc = buf_putc(b, (char)ch);
    }
    return rc;
}

/* The provider's filter with every {USERNAME} replaced by the escaped name. */
static int
filter_build(struct arena *a, const char *tmpl, struct str user, char **out)
{
    static const struct str key = STR("{USERNAME}");
    struct str              t = str_c(tmpl);
    struct buf              b;
    int                     rc = E_OK;

    buf_init(&b, FILTER_MAX);
    for (size_t i = 0; i < t.len && rc == E_OK;) {
        if (t.len - i >= key.len && memcmp(t.p + i, key.p, key.len) == 0) {
            rc = put_escaped(&b, user);
            i += key.len;
        } else
            rc = buf_putc(&b, t.p[i++]);
    }
    if (rc == E_OK)
        *out = arena_strndup(a, buf_cstr(&b), b.len);
    buf_free(&b);
    return rc;
}

/* Exactly one entry, or the credentials are invalid: a size limit of 2 is
 * enough to tell "several" (a filter matching many users) from "one". */
static int
search_user(struct req *r, LDAP *ld, const struct provider *p, struct str user,
            LDAPMessage **res, struct errbuf *eb)
{
    struct timeval tv = { LDAP_TIMEOUT_S, 0 };
    char          *filter = NULL;
    int            lrc;

    if (filter_build(r->a, p->filter, user, &filter) != E_OK)
        return invalid(eb);
    lrc = ldap_search_ext_s(ld, p->base_dn, LDAP_SCOPE_SUBTREE, filter, NULL, 0, NULL, NULL,
                            &tv, 2, res);
    if (lrc == LDAP_SIZELIMIT_EXCEEDED)
        return invalid(eb);
    if (lrc != LDAP_SUCCESS)
        return unavailable(r, ld, p, "user search", lrc, eb);
    return ldap_count_entries(ld, *res) == 1 ? E_OK : invalid(eb);
}

static int
bind_user(struct req *r, LDAP *ld, const struct provider *p, const char *dn, struct str pw,
          struct errbuf *eb)
{
    struct berval cred = { .bv_len = pw.len, .bv_val = (char *)pw.p };
    int           lrc;

    /* An empty DN would be an anonymous bind, whatever the password. */
    if (dn[0] == '\0')
        return invalid(eb);
    lrc = ldap_sasl_bind_s(ld, dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
    if (lrc == LDAP_SUCCESS)
        return E_OK;
    return backend_fault(lrc) ? unavailable(r, ld, p, "user bind", lrc, eb) : invalid(eb);
}

/* `attr` is an attribute description: a name, maybe followed by ";options". */
static bool
name_is(const char *attr, size_t n, struct str name)
{
    return n == name.len && strncasecmp(attr, name.p, n) == 0;
}

/* ignoredKeys name attributes ("ou", all its options) or one description
 * ("cn;lang-en"); case does not matter in LDAP attribute names. */
static bool
ignored(const struct provider *p, const char *attr)
{
    const struct val *keys = p->ignored;
    size_t            n = strcspn(attr, ";");

    for (const char *const *k = never_claims; *k != NULL; k++)
        if (name_is(attr, n, str_c(*k)))
            return true;
    for (size_t i = 0; keys != NULL && keys->t == V_ARR && i < keys->a.n; i++) {
        const struct val *k = &keys->a.v[i];
        if (k->t == V_STR && (name_is(attr, n, k->s) || str_eq_nocase(k->s, attr)))
            return true;
    }
    return false;
}

/* What a string adds to the token's JSON, counting escapes at their worst. */
static size_t
json_cost(const char *p, size_t n)
{
    size_t c = n + 4;

    for (size_t i = 0; i < n; i++)
        if ((unsigned char)p[i] < 0x20 || p[i] == '"' || p[i] == '\\')
            c += 5;
    return c;
}

/* The entry's values of `attr`: one string, or a list when there are several.
 * Values that are not UTF-8 text or are too long are left out. */
static bool
attr_value(struct arena *a, LDAP *ld, LDAPMessage *e, const char *attr, struct val *out,
           size_t *cost)
{
    struct berval **vals = ldap_get_values_len(ld, e, attr);
    struct val      list = val_arr();

    for (size_t i = 0; vals != NULL && vals[i] != NULL && list.a.n < VALUES_MAX; i++) {
        const struct berval *v = vals[i];
        if (v->bv_len == 0 || v->bv_len > VALUE_MAX || !utf8_valid(v->bv_val, v->bv_len))
            continue;
        val_push(a, &list, val_str(arena_str(a, (struct str){ v->bv_val, v->bv_len })));
        *cost += json_cost(v->bv_val, v->bv_len);
    }
    ldap_value_free_len(vals);
    if (list.a.n == 0)
        return false;
    *out = list.a.n == 1 ? list.a.v[0] : list;
    return true;
}

static const char *
lowercase(struct arena *a, const char *s)
{
    size_t n = strlen(s);
    char  *l = arena_strndup(a, s, n);

    for (size_t i = 0; i < n; i++)
        if (l[i] >= 'A' && l[i] <= 'Z')
            l[i] = (char)(l[i] - 'A' + 'a');
    return l;
}

/* Every readable attribute of the entry into `data`, lower-cased, within the
 * token's budget; what does not fit is dropped (and logged), not fatal. */
static void
add_attributes(struct req *r, LDAP *ld, LDAPMessage *e, const struct provider *p,
               struct val *data)
{
    BerElement *ber = NULL;
    size_t      cost = 0, dropped = 0;

    for (char *at = ldap_first_attribute(ld, e, &ber); at != NULL;
         at = ldap_next_attribute(ld, e, ber)) {
        size_t     add = json_cost(at, strlen(at));
        struct val v;
        if (!ignored(p, at) && attr_value(r->a, ld, e, at, &v, &add)) {
            if (cost + add <= CLAIMS_BUDGET) {
                val_set(r->a, data, lowercase(r->a, at), v);
                cost += add;
            } else
                dropped++;
        }
        ldap_memfree(at);
    }
    ber_free(ber, 0);
    if (dropped > 0)
        log_warn("trace=%s ldapprovider '%s': %zu attributes left out of the token (too large)",
                 r->trace, p->name, dropped);
}

/* The subject: the first value of subjectKey, or the DN when the entry has none. */
static struct str
subject_of(struct arena *a, LDAP *ld, LDAPMessage *e, const struct provider *p, const char *dn)
{
    struct berval **vals = ldap_get_values_len(ld, e, p->subject_key);
    struct str      s = str_c(arena_strndup(a, dn, strlen(dn)));

    if (vals != NULL && vals[0] != NULL && vals[0]->bv_len > 0 &&
        vals[0]->bv_len <= VALUE_MAX && utf8_valid(vals[0]->bv_val, vals[0]->bv_len))
        s = arena_str(a, (struct str){ vals[0]->bv_val, vals[0]->bv_len });
    ldap_value_free_len(vals);
    return s;
}

static void
identity_fill(struct req *r, LDAP *ld, LDAPMessage *e, const struct provider *p,
              const struct login *l, const char *dn, struct identity *id)
{
    id->data = val_map();
    val_set(r->a, &id->data, "realm", val_cstr("ldap"));
    add_attributes(r, ld, e, p, &id->data);
    val_set(r->a, &id->data, "namespace", val_str(l->ns));
    val_set(r->a, &id->data, "provider", val_cstr(p->name));
    val_set(r->a, &id->data, "providerid", *val_get(p->obj, "ID"));
    id->sub = subject_of(r->a, ld, e, p, dn);
    id->home = l->ns;
}

/* A Unicode space or control: one insignificant space to the directory
 * (RFC 4518 2.2, 2.6.1). */
static bool
is_space(uint32_t c)
{
    return c <= 0x20 || (c >= 0x7F && c <= 0xA0) || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
           c == 0x205F || c == 0x3000;
}

/* Mapped to nothing (RFC 4518 2.2): soft hyphens, joiners, variation selectors. */
static bool
is_ignored(uint32_t c)
{
    return c == 0xAD || c == 0x34F || c == 0x1806 || (c >= 0x180B && c <= 0x180E) ||
           (c >= 0x200B && c <= 0x200F) || c == 0x2060 || (c >= 0xFE00 && c <= 0xFE0F) ||
           c == 0xFEFF || c == 0xFFFC;
}

/* The name as a directory compares it, near enough to count its failures:
 * spaces insignificant (none at the ends, a run is one), what is mapped to
 * nothing dropped, the fullwidth forms of ASCII read as ASCII (NFKC), ASCII
 * case folded. Bytes that are not UTF-8 are kept as they are. */
static struct str
fold_name(struct arena *a, struct str s)
{
    char  *out = arena_alloc(a, s.len + 1);
    size_t n = 0, k;
    bool   space = false;

    for (size_t i = 0; i < s.len; i += k) {
        uint32_t c;
        if ((k = utf8_decode(s.p + i, s.len - i, &c)) == 0)
            c = 0x110000, k = 1; /* not a character: kept as it is */
        if (is_space(c) || is_ignored(c)) {
            space |= is_space(c) && n > 0;
            continue;
        }
        if (space)
            out[n++] = ' ', space = false;
        if (c >= 0xFF01 && c <= 0xFF5E)
            c -= 0xFEE0;
        if (c >= 'A' && c <= 'Z')
            c += 'a' - 'A';
        if (c < 0x80)
            out[n++] = (char)c;
        else
            memcpy(out + n, s.p + i, k), n += k;
    }
    return (struct str){ out, n };
}

/* The keys an attempt's failures count against (login_failures_max):
 * - before the directory is asked, the name folded as the directory compares
 *   it, under the provider it resolves to (an omitted name is the default
 *   provider's) or, unknown, under the namespace and name sent - so that an
 *   unknown provider or user locks as a known one does and the lock tells
 *   nothing of which exist;
 * - once the directory has answered, the entry the name found (its DN), so
 *   that a spelling the folding misses but the directory matches (NFKC beyond
 *   fullwidth, a custom filter's other attribute) counts as that user too.
 * Each spelling of a user got a count of its own before (a review). */
static struct str
name_key(struct arena *a, const struct login *l, const struct val *provider)
{
    struct str user = fold_name(a, l->user);

    if (provider != NULL)
        return str_c(arena_printf(a, "ldap:%.*s:name:%.*s",
                                  STR_FMT(val_get_str(provider, "ID")), STR_FMT(user)));
    return str_c(arena_printf(a, "ldap:%.*s:%.*s:name:%.*s", STR_FMT(l->ns),
                              STR_FMT(fold_name(a, l->provider)), STR_FMT(user)));
}

static struct str
entry_key(struct arena *a, const struct provider *p, const char *dn)
{
    return str_c(lowercase(
        a, arena_printf(a, "ldap:%.*s:dn:%s", STR_FMT(val_get_str(p->obj, "ID")), dn)));
}

/* The search's verdict `rc` (E_OK: one entry in `res`) becomes the login's: an
 * entry found is counted against too and, unless it is locked out, the
 * password is bound. */
static int
authenticate(struct req *r, LDAP *ld, LDAPMessage *res, const struct provider *p,
             const struct login *l, struct throttle *t, int rc, struct identity *id,
             struct errbuf *eb)
{
    LDAPMessage *e = rc == E_OK ? ldap_first_entry(ld, res) : NULL;
    char        *dn = e != NULL ? ldap_get_dn(ld, e) : NULL;

    if (dn == NULL)
        return rc == E_OK ? invalid(eb) : rc;
    if ((rc = throttle_entry(r, t, entry_key(r->a, p, dn), eb)) == E_OK &&
        (rc = bind_user(r, ld, p, dn, l->pw, eb)) == E_OK)
        identity_fill(r, ld, e, p, l, dn, id);
    ldap_memfree(dn);
    return rc;
}

static int
login(struct req *r, const struct login *l, const struct val *obj, struct throttle *t,
      struct identity *id, struct errbuf *eb)
{
    struct provider p;
    LDAP           *ld = NULL;
    LDAPMessage    *res = NULL;
    int             rc;

    provider_load(r->a, obj, &p);
    if ((rc = session_open(r, &p, &ld, eb)) == E_OK &&
        (rc = bind_service(r, ld, &p, eb)) == E_OK) {
        rc = search_user(r, ld, &p, l->user, &res, eb);
        rc = authenticate(r, ld, res, &p, l, t, rc, id, eb);
    }
    ldap_msgfree(res);
    if (ld != NULL)
        ldap_unbind_ext_s(ld, NULL, NULL);
    return rc;
}

int
realm_ldap(struct req *r, const struct val *md, struct identity *id, struct errbuf *eb)
{
    struct login    l;
    struct throttle t;
    struct val      obj;
    int             rc, found;

    if ((rc = login_parse(md, &l, eb)) != E_OK)
        return rc;
    if ((found = provider_find(r, &l, &obj, eb)) == E_UNAVAILABLE)
        return found;
    if ((rc = throttle_begin(r, name_key(r->a, &l, found == E_OK ? &obj : NULL), &t, eb)) !=
        E_OK)
        return rc;
    rc = found == E_OK ? login(r, &l, &obj, &t, id, eb) : invalid(eb);
    throttle_end(r, &t, rc);
    return rc;
}
