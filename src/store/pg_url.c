/* pg_url.c - the store URL's secrets kept out of every message.
 *
 * config_url_redacted masks a well-formed URL's password. libpq's own messages
 * may carry it too, whole or in part, when the URL is not what its writer
 * meant: an '@' or '%' left unencoded in a password makes libpq read part of
 * it as the host ("could not translate host name "sekrit@db""), and its parse
 * errors quote the URL. So: a URL libpq cannot parse is refused with a message
 * of our own, and every libpq message is scrubbed of the password as libpq read
 * it, the password as the writer wrote it, and the pieces of that between
 * '@', ':' and '/' (what libpq may have read as a host or a port).
 */
#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>

#include "../core/config.h"
#include "pg_local.h"

#define PIECE_MIN 3 /* shorter pieces of a password are too common to scrub */

static void
keep(struct pg_secrets *sec, const char *s, size_t n)
{
    if (n < PIECE_MIN || sec->n == PG_SECRETS_MAX)
        return;
    for (size_t i = 0; i < sec->n; i++)
        if (strlen(sec->v[i]) == n && memcmp(sec->v[i], s, n) == 0)
            return;
    if ((sec->v[sec->n] = strndup(s, n)) == NULL)
        abort();
    sec->n++;
}

/* The password as written: between the user's ':' and the '@' that ends
 * the user information (config_url_at), and its pieces; all of the user
 * information when it is no plain user name (a mistyped ':'). */
static void
keep_written(struct pg_secrets *sec, const char *url)
{
    const char *auth = strstr(url, "://"), *at = NULL, *colon;

    if (auth == NULL)
        return;
    auth += 3;
    if ((at = config_url_at(auth)) == NULL)
        return;
    if ((colon = memchr(auth, ':', (size_t)(at - auth))) == NULL) {
        struct str user = { auth, (size_t)(at - auth) };
        if (config_url_plain_user(user))
            return;
        colon = auth - 1; /* a mistyped separator: all of it may be the password */
    }
    keep(sec, colon + 1, (size_t)(at - colon - 1));
    for (const char *p = colon + 1, *q; p < at; p = q + 1) {
        q = p + strcspn(p, "@:/?#");
        if (q > at)
            q = at;
        keep(sec, p, (size_t)(q - p));
    }
}

/* Whether the user information holds a character RFC 3986 wants
 * percent-encoded there: libpq would read part of the password as the host
 * or the path, and quote it in its messages ("could not translate host name
 * "ss""). */
static bool
user_info_unencoded(const char *url)
{
    const char *auth = strstr(url, "://"), *at;

    if (auth == NULL || (at = config_url_at(auth + 3)) == NULL)
        return false;
    for (const char *p = auth + 3; p < at; p++)
        if (strchr("@/?#", *p) != NULL)
            return true;
    return false;
}

int
pg_url_secrets(struct pg_secrets *sec, const char *url, const char *shown, struct errbuf *eb)
{
    char             *err = NULL;
    PQconninfoOption *opts = user_info_unencoded(url) ? NULL : PQconninfoParse(url, &err);

    if (opts == NULL) {
        PQfreemem(err); /* it quotes the URL */
        return errbuf_set(eb, E_UNAVAILABLE,
                          "store %s: libpq cannot read this URL: every query parameter "
                          "must be one libpq knows (sslmode, connect_timeout, ...), a user "
                          "name or password holding '@', ':', '/', '?', '#' or '%%' must be "
                          "percent-encoded, an IPv6 host bracketed",
                          shown);
    }
    for (PQconninfoOption *o = opts; o->keyword != NULL; o++)
        if (o->val != NULL &&
            (strcmp(o->keyword, "password") == 0 || strcmp(o->keyword, "sslpassword") == 0))
            keep(sec, o->val, strlen(o->val));
    PQconninfoFree(opts);
    keep_written(sec, url);
    return E_OK;
}

void
pg_url_scrub(const struct pg_secrets *sec, char *msg)
{
    for (size_t i = 0; i < sec->n; i++) {
        size_t n = strlen(sec->v[i]);
        for (char *p = strstr(msg, sec->v[i]); p != NULL; p = strstr(p + 3, sec->v[i])) {
            memcpy(p, "***", 3);
            memmove(p + 3, p + n, strlen(p + n) + 1);
        }
    }
}

void
pg_url_forget(struct pg_secrets *sec)
{
    for (size_t i = 0; i < sec->n; i++) {
        explicit_bzero(sec->v[i], strlen(sec->v[i]));
        free(sec->v[i]);
    }
    sec->n = 0;
}
