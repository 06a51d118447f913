/* webhook.c - the HTTPS POST of one delivery (see webhook.h), with libcurl.
 *
 * What a delivery may reach is decided on the socket libcurl is about to
 * open (CURLOPT_OPENSOCKETFUNCTION), so after name resolution and for every
 * address it tries: a name that resolves to a refused address (or starts to,
 * DNS rebinding) never gets a packet sent to that address. */
#include "webhook.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>

#include "../core/digest.h"
#include "../core/log.h"
#include "../core/net.h"
#include "../core/version.h"
#include "netcheck.h"

#define SYSTEM_CA_FILE "/etc/ssl/certs/ca-certificates.crt" /* Debian's bundle, by path */

/* One attempt's state, seen by libcurl's callbacks. */
struct attempt {
    const struct webhook_post *post;
    size_t                     received;
    bool                       capped;  /* the answer's body passed the cap */
    bool                       refused; /* an address was outside the allowed networks */
    bool                       opened;  /* a socket was opened to an allowed address */
    char                       refused_addr[IP_TEXT_MAX];
};

int
webhook_global_init(struct errbuf *eb)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return errbuf_set(eb, E_INTERNAL, "libcurl cannot start");
    return E_OK;
}

void
webhook_global_cleanup(void)
{
    curl_global_cleanup();
}

/* The 16-byte form of an IPv4 or IPv6 socket address (IPv4 as IPv4-mapped). */
static bool
sockaddr_ip(const struct curl_sockaddr *sa, unsigned char ip[16])
{
    if (sa->family == AF_INET && sa->addrlen >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)&sa->addr;
        memset(ip, 0, 10);
        ip[10] = ip[11] = 0xff;
        memcpy(ip + 12, &in->sin_addr, 4);
        return true;
    }
    if (sa->family == AF_INET6 && sa->addrlen >= sizeof(struct sockaddr_in6)) {
        memcpy(ip, &((const struct sockaddr_in6 *)&sa->addr)->sin6_addr, 16);
        return true;
    }
    return false;
}

static curl_socket_t
open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *sa)
{
    struct attempt *at = arg;
    unsigned char   ip[16] = { 0 };

    if (purpose != CURLSOCKTYPE_IPCXN || !sockaddr_ip(sa, ip) || !webhook_address_allowed(ip)) {
        at->refused = true;
        ip_format(ip, at->refused_addr);
        return CURL_SOCKET_BAD;
    }
    at->opened = true;
    return socket(sa->family, sa->socktype | SOCK_CLOEXEC, sa->protocol);
}

/* The answer's body is not kept: read up to the cap, then the transfer stops. */
static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
    struct attempt *at = arg;

    KW_UNUSED(p);
    at->received += size * n;
    if (at->received > WEBHOOK_RESPONSE_MAX) {
        at->capped = true;
        return 0;
    }
    return size * n;
}

static int
on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
            curl_off_t ulnow)
{
    const struct attempt *at = arg;

    KW_UNUSED(dltotal);
    KW_UNUSED(dlnow);
    KW_UNUSED(ultotal);
    KW_UNUSED(ulnow);
    return at->post->canceled != NULL && at->post->canceled(at->post->arg);
}

/* The receiver's certificate is checked against caCertificate alone when it
 * is given, else against the system's bundle (by path: neither the
 * environment nor a compiled-in default decides what is trusted). */
static bool
set_trust(CURL *c, struct str ca_pem)
{
    struct curl_blob ca = { (void *)ca_pem.p, ca_pem.len, CURL_BLOB_COPY };

    if (curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_CAPATH, NULL) != CURLE_OK)
        return false;
    if (ca_pem.len == 0)
        return curl_easy_setopt(c, CURLOPT_CAINFO, SYSTEM_CA_FILE) == CURLE_OK;
    return curl_easy_setopt(c, CURLOPT_CAINFO, NULL) == CURLE_OK &&
           curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &ca) == CURLE_OK;
}

/* Where and how: https only, no redirect, no proxy (whatever the
 * environment says), bounded in time, every connection checked. */
static bool
set_transport(CURL *c, struct attempt *at, char *err)
{
    const struct webhook_post *p = at->post;

    return curl_easy_setopt(c, CURLOPT_URL, p->url) == CURLE_OK &&
           curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https") == CURLE_OK &&
           curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https") == CURLE_OK &&
           curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK &&
           curl_easy_setopt(c, CURLOPT_PROXY, "") == CURLE_OK &&
           curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
           curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)p->timeout_ms) == CURLE_OK &&
           curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)p->timeout_ms) == CURLE_OK &&
           curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2) == CURLE_OK &&
           curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, open_socket) == CURLE_OK &&
           curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, at) == CURLE_OK &&
           curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body) == CURLE_OK &&
           curl_easy_setopt(c, CURLOPT_WRITEDATA, at) == CURLE_OK &&
           curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L) == CURLE_OK &&
           curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress) == CURLE_OK &&
           curl_easy_setopt(c, CURLOPT_XFERINFODATA, at) == CURLE_OK &&
           curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err) == CURLE_OK && set_trust(c, p->ca_pem);
}

/* The request: the body and its headers. "Expect:" keeps libcurl from
 * waiting for a 100 Continue that many receivers never send. */
static struct curl_slist *
headers_new(const struct webhook_post *p)
{
    char               sig[2 * SHA256_LEN + 1], own[3][160];
    const char        *lines[] = { "Content-Type: application/json", "Expect:", own[0], own[1],
                                   own[2] };
    struct curl_slist *h = NULL, *next;

    digest_hmac_sha256_hex(p->secret, p->body.p, p->body.len, sig);
    snprintf(own[0], sizeof own[0], "X-Keyward-Signature: sha256=%s", sig);
    snprintf(own[1], sizeof own[1], "X-Keyward-Event: %s", p->event);
    snprintf(own[2], sizeof own[2], "X-Keyward-Delivery: %s", p->delivery);
    for (size_t i = 0; i < ARRAY_LEN(lines); i++) {
        if ((next = curl_slist_append(h, lines[i])) == NULL) {
            curl_slist_free_all(h);
            return NULL;
        }
        h = next;
    }
    return h;
}

/* The outcome of a transfer that ended with `cc`. */
static int
outcome(CURL *c, CURLcode cc, const struct attempt *at, const char *err,
        struct webhook_result *res)
{
    if (cc == CURLE_OK || (cc == CURLE_WRITE_ERROR && at->capped))
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &res->code);
    res->canceled = cc == CURLE_ABORTED_BY_CALLBACK;
    if (res->code >= 200 && res->code <= 299)
        return E_OK;
    if (res->code != 0)
        snprintf(res->error, sizeof res->error, "the receiver answered HTTP %ld", res->code);
    else if (at->refused && !at->opened && cc == CURLE_COULDNT_CONNECT) {
        /* The address goes to the operator's log only: in lastError a webhook
         * editor could resolve internal names through the console. */
        log_warn("webhook delivery: address %s is outside webhook_allowed_networks: not "
                 "connected",
                 at->refused_addr); /* not the URL: it often holds a credential */
        snprintf(res->error, sizeof res->error,
                 "the host's address is outside webhook_allowed_networks: not connected");
    } else if (res->canceled)
        snprintf(res->error, sizeof res->error, "stopped: the server is shutting down");
    else
        snprintf(res->error, sizeof res->error, "%s", err[0] ? err : curl_easy_strerror(cc));
    return E_UNAVAILABLE;
}

int
webhook_post(const struct webhook_post *post, struct webhook_result *res)
{
    struct attempt     at = { .post = post };
    char               err[CURL_ERROR_SIZE] = "";
    struct curl_slist *h = headers_new(post);
    CURL              *c = curl_easy_init();
    CURLcode           cc = CURLE_FAILED_INIT;

    *res = (struct webhook_result){ 0 };
    if (c != NULL && h != NULL && set_transport(c, &at, err) &&
        curl_easy_setopt(c, CURLOPT_USERAGENT, "keyward/" KW_VERSION) == CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h) == CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)post->body.len) ==
            CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, post->body.p) == CURLE_OK)
        cc = curl_easy_perform(c);
    int rc = outcome(c, cc, &at, err, res);
    curl_easy_cleanup(c);
    curl_slist_free_all(h);
    return rc;
}
