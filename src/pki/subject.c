/* subject.c - RFC 4514 strings ("CN=Acme Issuing CA,O=Acme") into X509_NAMEs
 * (pki_subject_parse, issue.h).
 *
 * Strict on what matters (escapes, specials, UTF-8, known attribute types),
 * lenient where users are: spaces after a comma or plus and around '=' are
 * skipped, as are unescaped spaces at either end of a value (RFC 4514 wants
 * those escaped, so they cannot be part of a value). "#" hex values (BER) are
 * not taken. Values go through OpenSSL's string table, which picks each
 * attribute's string type (PrintableString for C, IA5String for DC and
 * emailAddress, UTF8String otherwise) and enforces RFC 5280's upper bounds. */
#include "issue.h"

#include <stdlib.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/objects.h>

#define DN_LEN_MAX   4096
#define DN_ATTRS_MAX 64

static const struct {
    const char *name;
    int         nid;
} TYPES[] = {
    { "CN", NID_commonName },
    { "O", NID_organizationName },
    { "OU", NID_organizationalUnitName },
    { "L", NID_localityName },
    { "ST", NID_stateOrProvinceName },
    { "C", NID_countryName },
    { "DC", NID_domainComponent },
    { "STREET", NID_streetAddress },
    { "UID", NID_userId },
    { "emailAddress", NID_pkcs9_emailAddress },
    { "serialNumber", NID_serialNumber },
};

/* One attributeTypeAndValue; `value` points into the parser's buffer. */
struct ava {
    ASN1_OBJECT *type;
    size_t       value, len; /* offset and length in struct dn.values */
    bool         first;      /* begins an RDN */
};

struct dn {
    const char *s, *end; /* what is left to read */
    const char *attr;    /* for errors */
    struct ava  avas[DN_ATTRS_MAX];
    size_t      n;
    char        values[DN_LEN_MAX]; /* unescaped values: never longer than the input */
    size_t      used;
};

static int
bad(const struct dn *d, const char *why, struct errbuf *eb)
{
    ERR_clear_error();
    return errbuf_attr(eb, E_VALIDATION, d->attr, "Attribute '%s' %s", d->attr, why);
}

static void
skip_spaces(struct dn *d)
{
    while (d->s < d->end && *d->s == ' ')
        d->s++;
}

/* The object a type names: short name of TYPES (any case) or a dotted OID. */
static ASN1_OBJECT *
type_object(const char *p, size_t n)
{
    char oid[128];

    for (size_t i = 0; i < ARRAY_LEN(TYPES); i++)
        if (strlen(TYPES[i].name) == n && strncasecmp(p, TYPES[i].name, n) == 0)
            return OBJ_nid2obj(TYPES[i].nid);
    if (!pki_oid_valid(p, n) || n >= sizeof(oid))
        return NULL;
    memcpy(oid, p, n);
    oid[n] = '\0';
    return OBJ_txt2obj(oid, 1);
}

static int
type_read(struct dn *d, struct ava *v, struct errbuf *eb)
{
    const char *start, *stop;

    skip_spaces(d);
    start = d->s;
    while (d->s < d->end && *d->s != '=' && *d->s != ' ')
        d->s++;
    stop = d->s;
    skip_spaces(d);
    if (start == stop || d->s == d->end || *d->s != '=')
        return bad(d, "is not an RFC 4514 name (TYPE=value, separated by commas)", eb);
    d->s++;
    if ((v->type = type_object(start, (size_t)(stop - start))) == NULL)
        return bad(d,
                   "has an unknown attribute type (known: CN, O, OU, L, ST, C, DC, STREET, "
                   "UID, emailAddress, serialNumber, or a dotted OID)",
                   eb);
    return E_OK;
}

static int
hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* After a backslash: a special character, or two hex digits (one byte). */
static int
escape_read(struct dn *d, char *out, struct errbuf *eb)
{
    int hi, lo;

    if (d->s < d->end && strchr(" \"#+,;<=>\\", *d->s) != NULL) {
        *out = *d->s++;
        return E_OK;
    }
    if (d->end - d->s >= 2 && (hi = hex_digit(d->s[0])) >= 0 &&
        (lo = hex_digit(d->s[1])) >= 0) {
        *out = (char)(hi << 4 | lo);
        d->s += 2;
        return E_OK;
    }
    return bad(d,
               "has a bad escape (a backslash goes before one of \" + , ; < > = # \\ space, "
               "or before two hex digits)",
               eb);
}

/* The value up to the next unescaped ',' or '+', unescaped, into d->values. */
static int
value_read(struct dn *d, struct ava *v, struct errbuf *eb)
{
    size_t keep = 0; /* length without trailing unescaped spaces */
    int    rc;

    skip_spaces(d);
    if (d->s < d->end && *d->s == '#')
        return bad(d, "has a #hex value, which is not supported: write the value as text", eb);
    v->value = d->used;
    for (; d->s < d->end && *d->s != ',' && *d->s != '+'; d->used++) {
        char c = *d->s++;
        if (c == '\\') {
            if ((rc = escape_read(d, &d->values[d->used], eb)) != E_OK)
                return rc;
            keep = d->used + 1 - v->value;
            continue;
        }
        if (c == '"' || c == ';' || c == '<' || c == '>' || c == '\0')
            return bad(d, "has a special character (\" ; < >) that must be escaped with \\",
                       eb);
        d->values[d->used] = c;
        if (c != ' ')
            keep = d->used + 1 - v->value;
    }
    d->used = v->value + keep;
    v->len = keep;
    if (v->len == 0)
        return bad(d, "has an empty value", eb);
    if (!utf8_valid(&d->values[v->value], v->len) || memchr(&d->values[v->value], 0, v->len))
        return bad(d, "has a value that is not UTF-8 text", eb);
    return E_OK;
}

static int
avas_read(struct dn *d, struct errbuf *eb)
{
    bool first = true;
    int  rc;

    for (;;) {
        if (d->n == DN_ATTRS_MAX)
            return bad(d, "has too many attributes", eb);
        struct ava *v = &d->avas[d->n++];
        v->first = first;
        if ((rc = type_read(d, v, eb)) != E_OK || (rc = value_read(d, v, eb)) != E_OK)
            return rc;
        if (d->s == d->end)
            return E_OK;
        first = *d->s++ == ',';
    }
}

/* RDNs from the last written to the first; an RDN's values in their order. */
static int
name_build(struct dn *d, X509_NAME *name, struct errbuf *eb)
{
    size_t end = d->n;

    while (end > 0) {
        size_t start = end - 1;
        while (!d->avas[start].first)
            start--;
        for (size_t i = start; i < end; i++) {
            const struct ava *v = &d->avas[i];
            if (X509_NAME_add_entry_by_OBJ(name, v->type, MBSTRING_UTF8,
                                           (const unsigned char *)&d->values[v->value],
                                           (int)v->len, -1, i == start ? 0 : -1) != 1)
                return bad(d,
                           "has a value its attribute does not allow (too long, or a "
                           "country (C) that is not two letters)",
                           eb);
        }
        end = start;
    }
    return E_OK;
}

int
pki_subject_parse(const char *rfc4514, const char *attr, X509_NAME **out, struct errbuf *eb)
{
    struct dn  *d = calloc(1, sizeof(*d));
    const char *s = rfc4514 != NULL ? rfc4514 : "";
    int         rc;

    *out = NULL;
    if (d == NULL)
        return errbuf_set(eb, E_INTERNAL, "subject: out of memory");
    d->attr = attr;
    d->s = s;
    d->end = s + strlen(s);
    skip_spaces(d);
    if (d->end - s > DN_LEN_MAX)
        rc = bad(d, "is too long", eb);
    else if (d->s == d->end)
        rc = bad(d, "must not be empty", eb);
    else if ((rc = avas_read(d, eb)) == E_OK) {
        if ((*out = X509_NAME_new()) == NULL)
            rc = errbuf_set(eb, E_INTERNAL, "subject: out of memory");
        else if ((rc = name_build(d, *out, eb)) != E_OK) {
            X509_NAME_free(*out);
            *out = NULL;
        }
    }
    for (size_t i = 0; i < d->n; i++)
        ASN1_OBJECT_free(d->avas[i].type);
    free(d);
    return rc;
}
