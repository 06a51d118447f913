/* server.c - HTTPS on libmicrohttpd, feeding the API one request at a time.
 *
 * libmicrohttpd calls on_request several times per request: first with the
 * headers (we only set up; answering on that first call would make 0.9.75 close
 * keep-alive connections), then with body chunks, then once with nothing left,
 * when the API runs. A request that queued a write is suspended until the writer
 * resumes it; the next call then sends the answer.
 *
 * Every handshake asks for a client certificate (optional: TLS 1.3 cannot ask
 * later, so asking only on the routes that want one is impossible). GnuTLS
 * accepts whatever is sent; http/peer.c verifies it with OpenSSL on the
 * connection's first request and the result stays with the connection.
 */
#include "server.h"

#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../api/req.h"
#include "../core/config.h"
#include "../core/log.h"
#include "../core/rnd.h"
#include "../core/timeutil.h"
#include "peer.h"

#define FIELDS_MAX 64
#define PARAMS_MAX 256

enum hstate { H_RECEIVING, H_PENDING, H_READY };

struct hreq {
    struct req              r;
    struct MHD_Connection  *conn;
    enum hstate             state;
    size_t                  header_bytes;
    bool                    too_many_params;
    int64_t                 started;
};

/* What lives as long as a TCP connection: its client certificate, read and
 * checked on the first request (never again: the handshake does not change). */
struct conn {
    bool                    checked;
    const struct peer_cert *peer; /* NULL: none was presented */
    struct arena           *a;    /* holds *peer; only when one was presented */
};

static struct MHD_Daemon *daemon_;
static int                inflight; /* requests between first call and completion */

/* ---- collecting the request -------------------------------------------- */

static struct str
copy(struct arena *a, const char *s)
{
    return arena_str(a, str_c(s ? s : ""));
}

static void
add_fields(struct req *r, struct str v)
{
    struct str item, rest = v;

    if (r->fields == NULL)
        r->fields = arena_calloc(r->a, FIELDS_MAX, sizeof *r->fields);
    while (rest.p != NULL && r->nfields < FIELDS_MAX) {
        rest = str_cut(rest, ',', &item);
        item = str_trim(item);
        if (item.len > 0)
            r->fields[r->nfields++] = item;
    }
}

static enum MHD_Result
on_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    struct hreq *h = cls;
    struct req  *r = &h->r;
    struct str   k = str_c(key), v;

    KW_UNUSED(kind);
    h->header_bytes += k.len + (value ? strlen(value) : 0) + 4;
    v = copy(r->a, value);
    if (str_eq_nocase(k, "Authorization"))
        r->authorization = v;
    else if (str_eq_nocase(k, "X-Namespace"))
        r->x_namespace = v;
    else if (str_eq_nocase(k, "Content-Type"))
        r->content_type = v;
    else if (str_eq_nocase(k, "Accept"))
        r->accept = v;
    else if (str_eq_nocase(k, "Idempotency-Key"))
        r->idem_key = v;
    else if (str_eq_nocase(k, "X-Fields"))
        add_fields(r, v);
    return MHD_YES;
}

static enum MHD_Result
on_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    struct hreq *h = cls;
    struct req  *r = &h->r;

    KW_UNUSED(kind);
    if (r->nparams == PARAMS_MAX) {
        h->too_many_params = true;
        return MHD_NO;
    }
    if (r->params == NULL)
        r->params = arena_calloc(r->a, PARAMS_MAX, sizeof *r->params);
    r->params[r->nparams++] = (struct qparam){ copy(r->a, key), copy(r->a, value) };
    return MHD_YES;
}

static enum method
method_of(const char *m)
{
    static const char *const names[] = { "GET", "HEAD", "POST", "PUT", "DELETE" };

    for (size_t i = 0; i < ARRAY_LEN(names); i++)
        if (strcmp(m, names[i]) == 0)
            return (enum method)i;
    return M_OTHER;
}

static void
client_ip(struct hreq *h)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(h->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    char buf[INET6_ADDRSTRLEN] = "";

    if (ci != NULL && ci->client_addr != NULL) {
        const struct sockaddr *sa = ci->client_addr;
        if (sa->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf, sizeof buf);
        else if (sa->sa_family == AF_INET6)
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, buf, sizeof buf);
    }
    h->r.client_ip = copy(h->r.a, buf);
}

static void
on_connection(void *cls, struct MHD_Connection *c, void **socket_ctx,
              enum MHD_ConnectionNotificationCode code)
{
    struct conn *k = *socket_ctx;

    KW_UNUSED(cls);
    KW_UNUSED(c);
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        /* calloc may fail: the connection then simply has no certificate. */
        *socket_ctx = calloc(1, sizeof *k);
        return;
    }
    if (k != NULL && k->a != NULL)
        arena_free(k->a);
    free(k);
    *socket_ctx = NULL;
}

/* The leaf certificate GnuTLS received in the handshake, or NULL. */
static const gnutls_datum_t *
leaf_der(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    const gnutls_datum_t *certs;
    unsigned              n = 0;

    if (ci == NULL || ci->tls_session == NULL ||
        gnutls_certificate_type_get2(ci->tls_session, GNUTLS_CTYPE_PEERS) != GNUTLS_CRT_X509)
        return NULL;
    certs = gnutls_certificate_get_peers(ci->tls_session, &n);
    return certs != NULL && n > 0 ? &certs[0] : NULL;
}

/* Checked once per connection; later requests only read the flag. */
static const struct peer_cert *
conn_peer(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    struct conn          *k = ci != NULL ? ci->socket_context : NULL;
    const gnutls_datum_t *der;

    if (k == NULL || k->checked)
        return k != NULL ? k->peer : NULL;
    k->checked = true;
    if ((der = leaf_der(c)) == NULL)
        return NULL;
    k->a = arena_new(2048);
    k->peer = peer_check(k->a, der->data, der->size);
    return k->peer;
}

static void suspend_req(struct req *r);
static void resume_req(struct req *r);

static struct hreq *
hreq_new(struct MHD_Connection *c, const char *url, const char *method)
{
    struct arena *a = arena_new(16 * 1024);
    struct hreq  *h = arena_calloc(a, 1, sizeof *h);
    unsigned char t[8];

    h->conn = c;
    h->started = time_mono_ms();
    h->r.a = a;
    h->r.method = method_of(method);
    h->r.path = copy(a, url);
    h->r.suspend = suspend_req;
    h->r.resume = resume_req;
    h->r.conn = h;
    rnd_id_bytes(t, sizeof t);
    hex_encode(t, sizeof t, h->r.trace);
    buf_init(&h->r.body, (size_t)cfg.max_body_size);
    MHD_get_connection_values(c, MHD_HEADER_KIND, on_header, h);
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, on_arg, h);
    client_ip(h);
    h->r.peer = conn_peer(c);
    __atomic_add_fetch(&inflight, 1, __ATOMIC_RELAXED);
    return h;
}

static void
suspend_req(struct req *r)
{
    struct hreq *h = r->conn;

    h->state = H_PENDING;
    MHD_suspend_connection(h->conn);
}

static void
resume_req(struct req *r)
{
    struct hreq *h = r->conn;

    h->state = H_READY;
    MHD_resume_connection(h->conn);
}

/* ---- answering --------------------------------------------------------- */

static void
add_header(struct MHD_Response *resp, const char *k, const char *v)
{
    if (MHD_add_response_header(resp, k, v) != MHD_YES)
        log_warn("http: cannot add header %s", k);
}

static enum MHD_Result
send_answer(struct hreq *h)
{
    struct req          *r = &h->r;
    struct MHD_Response *resp;
    char                 n[32];
    enum MHD_Result      ret;

    api_finish(r);
    resp = MHD_create_response_from_buffer(r->reply.len, r->reply.p, MHD_RESPMEM_PERSISTENT);
    if (resp == NULL)
        return MHD_NO;
    add_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->reply_type);
    add_header(resp, "Accept", "application/json, application/msgpack");
    add_header(resp, "X-Trace-Id", r->trace);
    if (r->count_total >= 0) {
        snprintf(n, sizeof n, "%lld", (long long)r->count_total);
        add_header(resp, "X-Count-Total", n);
    }
    for (size_t i = 0; i < r->nheaders; i++)
        add_header(resp, r->headers[i].k, r->headers[i].v);
    if (r->location.len > 0)
        add_header(resp, MHD_HTTP_HEADER_LOCATION,
                   arena_strndup(r->a, r->location.p, r->location.len));
    if (r->next.len > 0)
        add_header(resp, "X-Next", arena_strndup(r->a, r->next.p, r->next.len));
    ret = MHD_queue_response(h->conn, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    log_info("trace=%s %s %.*s %d %lldms", r->trace, r->method == M_OTHER ? "?" : 
             (const char *[]){ "GET", "HEAD", "POST", "PUT", "DELETE" }[r->method],
             STR_FMT(r->path), r->status, (long long)(time_mono_ms() - h->started));
    return ret;
}

static void
early_error(struct hreq *h)
{
    if (h->header_bytes > (size_t)cfg.max_header_size)
        api_fail(&h->r, E_HEADERS, "The request headers are too large");
    else if (h->too_many_params)
        api_fail(&h->r, E_BADREQ, "Too many query parameters");
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
           const char *version, const char *upload, size_t *upload_size, void **ctx)
{
    struct hreq *h = *ctx;

    KW_UNUSED(cls);
    KW_UNUSED(version);
    if (h == NULL) {
        *ctx = hreq_new(c, url, method);
        return MHD_YES;
    }
    if (*upload_size > 0) {
        if (!h->r.body_too_big && buf_append(&h->r.body, upload, *upload_size) != E_OK)
            h->r.body_too_big = true;
        *upload_size = 0;
        return MHD_YES;
    }
    if (h->state == H_PENDING)
        return MHD_YES; /* woken while suspended: nothing to do yet */
    if (h->state == H_RECEIVING) {
        early_error(h);
        if (!h->r.has_resp && api_handle(&h->r) == API_PENDING)
            return MHD_YES;
    }
    return send_answer(h);
}

static void
on_completed(void *cls, struct MHD_Connection *c, void **ctx,
             enum MHD_RequestTerminationCode code)
{
    struct hreq *h = *ctx;

    KW_UNUSED(cls);
    KW_UNUSED(c);
    KW_UNUSED(code);
    if (h == NULL)
        return;
    *ctx = NULL;
    api_release(&h->r);
    buf_free(&h->r.body);
    arena_free(h->r.a);
    __atomic_sub_fetch(&inflight, 1, __ATOMIC_RELEASE);
}

static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];

    KW_UNUSED(cls);
    vsnprintf(msg, sizeof msg, fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    log_debug("http: %s", msg);
}

/* ---- life cycle -------------------------------------------------------- */

static int
parse_listen(const char *listen, struct sockaddr_storage *ss, struct errbuf *eb)
{
    char        host[256];
    const char *colon = strrchr(listen, ':');
    int64_t     port;

    memset(ss, 0, sizeof *ss);
    if (colon == NULL || (size_t)(colon - listen) >= sizeof host ||
        str_to_i64(str_c(colon + 1), &port) != E_OK || port < 0 || port > 65535)
        return errbuf_set(eb, E_BADREQ, "--listen %s: expected ADDR:PORT", listen);
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    if (host[0] == '[' && host[strlen(host) - 1] == ']') {
        memmove(host, host + 1, strlen(host));
        host[strlen(host) - 1] = '\0';
    }
    struct sockaddr_in  *s4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
    } else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
    } else
        return errbuf_set(eb, E_BADREQ, "--listen %s: ADDR must be an IP address", listen);
    return E_OK;
}

int
http_check_listen(const char *listen, struct errbuf *eb)
{
    struct sockaddr_storage ss;

    return parse_listen(listen, &ss, eb);
}

int
http_start(const struct tls_files *tls, struct errbuf *eb)
{
    struct sockaddr_storage ss;
    unsigned                threads = (unsigned)cfg.threads;
    unsigned                flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_TLS |
                     MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG | MHD_USE_TURBO;
    int                     rc;

    if ((rc = parse_listen(cfg.listen, &ss, eb)) != E_OK)
        return rc;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if (threads == 0)
        threads = (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
    if ((rc = peer_init(buf_cstr(&tls->client_ca_pem), eb)) != E_OK)
        return rc;
    daemon_ = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, NULL,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_THREAD_POOL_SIZE, threads,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg.max_connections,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)((cfg.connection_timeout + 999) / 1000),
        /* The pool holds the request line and headers plus I/O buffers; it is
         * cleared between requests, so it must not be larger than needed. */
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(cfg.max_header_size + 16 * 1024),
        MHD_OPTION_HTTPS_MEM_KEY, buf_cstr(&tls->key_pem),
        MHD_OPTION_HTTPS_MEM_CERT, buf_cstr(&tls->cert_pem),
        /* Makes GnuTLS request (never require) a client certificate. */
        MHD_OPTION_HTTPS_MEM_TRUST, buf_cstr(&tls->client_ca_pem),
        MHD_OPTION_HTTPS_PRIORITIES, "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2",
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, NULL,
        MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
        MHD_OPTION_END);
    if (daemon_ == NULL) {
        peer_fini();
        return errbuf_set(eb, E_UNAVAILABLE,
                          "cannot listen on %s: address in use or not available", cfg.listen);
    }
    return E_OK;
}

void
http_stop(int64_t grace_ms)
{
    int64_t deadline = time_mono_ms() + grace_ms;

    if (daemon_ == NULL)
        return;
    MHD_quiesce_daemon(daemon_);
    while (__atomic_load_n(&inflight, __ATOMIC_ACQUIRE) > 0 && time_mono_ms() < deadline)
        usleep(10 * 1000);
    MHD_stop_daemon(daemon_);
    daemon_ = NULL;
    peer_fini();
}
