/* server.c - HTTPS/1.1 over OpenSSL (and plain HTTP/1.1 for the public PKI
 * routes): the listeners, the worker loops, the deadlines that cut slow
 * clients off, and the hand-over to the API.
 *
 * Each worker thread owns an epoll loop and its connections; the listening
 * socket is in every loop (EPOLLEXCLUSIVE wakes one), and the woken worker
 * hands each new connection to the workers in turn (an inbox and a wake-up),
 * so a handler that blocks stalls few connections. A connection lives on one
 * thread from then to close, so its state needs no lock; the other crossing
 * is a request whose write the store's writer thread completes: resume() puts
 * it on its worker's ready list and wakes the loop.
 *
 * A connection is in one state at a time, and every state but "pending" (a
 * complete request waiting for the store) has a deadline, checked four times
 * a second: the TLS handshake and a request's head within header_timeout, a
 * body at body_min_rate once header_timeout has passed, an idle keep-alive
 * connection within connection_timeout, and an answer the client does not
 * read within connection_timeout (restarted by each partial write, as
 * nginx's send_timeout). When max_connections are open, the accepting
 * worker's connection that has waited longest without a complete request
 * makes room for the new one, so a flood of slow or idle clients cannot lock
 * others out. Framing errors are answered with the error list and close the
 * connection (parse.c); nothing is answered that is not in API.md section 2.
 *
 * A second listening socket, plain HTTP on pki_listen when that is set, serves
 * the public PKI routes to relying parties (CRLs and OCSP over http://, RFC
 * 5280 4.2.1.13; API.md 7.4). It is in the same worker loops, and its
 * connections share everything above: the parser, the states and deadlines,
 * max_connections and its eviction, keep-alive. Only the transport differs:
 * a connection reads and writes through its listener's ops (struct transport:
 * OpenSSL, or read() and send() on the socket, where the handshake is
 * nothing), and its requests are marked plain (struct req), so that
 * routes_match offers them only the rows flagged for it: every other path is
 * 404 there.
 */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "../api/req.h"
#include "../core/config.h"
#include "../core/log.h"
#include "../core/rnd.h"
#include "../core/timeutil.h"
#include "addrcount.h"
#include "parse.h"
#include "peer.h"

#define FIELDS_MAX   64  /* X-Fields entries */
#define PARAMS_MAX   256 /* query parameters; more is 400 */
#define READ_CHUNK   (16 * 1024)
#define TICK_MS      250 /* how often deadlines are checked */
#define EVENTS_MAX   64
#define ACCEPT_BURST 1    /* one per wake-up: the next pending one wakes another worker */
#define OVERSHOOT    64   /* connections past max_connections while others make room */
#define LINGER_MS    5000 /* reading what a refused client still sends, at most */

/* C_CLOSED: to be closed; C_DEAD: closed, on the worker's dead list until the
 * current batch of events (which may still name it) is done. */
enum cstate {
    C_HANDSHAKE,
    C_HEAD,
    C_BODY,
    C_PENDING,
    C_WRITE,
    C_IDLE,
    C_LINGER,
    C_CLOSED,
    C_DEAD
};

struct worker;
struct conn;

/* What a transport's read or write did when it moved no bytes. */
enum { IO_AGAIN = -1, IO_GONE = -2 };

/* How a connection's bytes travel: tls_io (the API) or plain_io (the public
 * PKI routes). Everything above it (the parser, the states and deadlines,
 * eviction, keep-alive) is the same for each. */
struct transport {
    bool plain; /* its requests reach only the routes flagged plain (routes.h) */
    /* E_OK, or the connection cannot be set up (dropped at once) */
    int (*open)(struct conn *c);
    /* 1 once the connection is ready for requests, else IO_AGAIN or IO_GONE */
    int (*handshake)(struct conn *c);
    /* bytes moved (> 0), IO_AGAIN when the socket must be waited for,
     * IO_GONE when the connection is over (closed by the peer, or broken) */
    ssize_t (*read)(struct conn *c, void *p, size_t n);
    ssize_t (*write)(struct conn *c, const void *p, size_t n);
    /* no more writes: the first half of a lingering close; errors ignored */
    void (*shutdown)(struct conn *c);
    /* free what open made (also after a failed open) */
    void (*release)(struct conn *c);
};

/* One request: everything hangs off its arena (api/req.h). */
struct hreq {
    struct req   r;
    struct conn *c;
    int64_t      started;
};

struct conn {
    struct worker          *w;
    struct conn            *prev, *next; /* the worker's connections */
    struct conn            *ready_next;  /* the worker's ready list (resumed requests) */
    int                     fd;
    const struct transport *io;
    SSL                    *ssl; /* tls_io only */
    enum cstate             st;
    int64_t                 since; /* when the state's deadline started (ms) */
    uint64_t                seq;   /* accept order: breaks ties of since */
    struct sockaddr_storage addr;
    char                    ip[INET6_ADDRSTRLEN];
    char                   *in; /* received bytes; [in_off, in_len) not yet consumed */
    size_t                  in_off, in_len, in_cap;
    struct buf              out; /* the answer being written, from out_off on */
    size_t                  out_off;
    struct hreq            *h;
    bool                    chunked, close_after, peer_checked;
    bool                    http10;    /* the current request is HTTP/1.0 */
    bool                    streaming; /* the answer's body comes from h->r.stream */
    bool                    turn;      /* a piece was produced in this turn of events */
    bool                    in_again;  /* on the worker's again list */
    struct conn            *again_next;
    uint64_t                streamed; /* body bytes a stream has produced */
    struct http_chunked     ck;
    uint64_t                body_left; /* Content-Length bytes still to come */
    uint64_t                body_got;
    const struct peer_cert *peer;
    struct arena           *peer_a;
};

/* A connection accepted by one worker for another (round robin). */
/* An accepted connection on its way to a worker. `at` and `seq` are when and
 * in which order it was accepted: the age eviction goes by, whichever worker
 * adopts it and however long that worker's inbox waited. */
struct handoff {
    int                     fd;
    struct sockaddr_storage ss;
    const struct transport *io;
    int64_t                 at;
    uint64_t                seq;
    struct handoff         *next;
};

/* A listening socket, and the transport of the connections it accepts. */
struct listener {
    int                     fd;
    const struct transport *io;
};

struct worker {
    pthread_t       th;
    int             ep, wake;
    pthread_mutex_t mu;
    struct conn    *ready;     /* under mu */
    struct handoff *inbox;     /* under mu: accepted by another worker for this one */
    size_t          evictions; /* atomic: connections other workers asked it to close */
    struct conn    *conns;
    struct conn    *dead;  /* closed in this batch of events: freed after it */
    struct conn    *again; /* streams whose socket took their last piece */
    size_t          nconns;
    bool            listening;
    char            date[40];
    time_t          date_sec;
};

static SSL_CTX                *ctx_;
static struct listener         listeners[2]; /* listen (TLS), then pki_listen (plain) if set */
static size_t                  nlisteners;
static struct worker          *workers;
static size_t                  nworkers;
static int                     stopping;    /* atomic: http_stop was called */
static size_t                  next_worker; /* atomic: round robin of accepted connections */
static uint64_t                accept_seq;  /* atomic: order of accepted connections */
static __thread struct worker *self;        /* the worker this thread runs */
static size_t                  open_conns;  /* atomic: connections of all workers */
static int64_t                 stop_deadline;
static char                    tag_wake; /* epoll data of the eventfd; a listener's is itself */

static void conn_run(struct conn *c);
static void wake(struct worker *w);

/* ---- small helpers ------------------------------------------------------ */

static struct str
copy(struct arena *a, struct str s)
{
    return arena_str(a, s);
}

static enum method
method_of(struct str m)
{
    for (enum method i = M_GET; i < M_OTHER; i++)
        if (str_eq_c(m, method_name(i)))
            return i;
    return M_OTHER;
}

static const char *
reason_of(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 204:
        return "No Content";
    case 302:
        return "Found";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 417:
        return "Expectation Failed";
    case 422:
        return "Unprocessable Content";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return status < 500 ? "Error" : "Internal Server Error";
    }
}

static enum err
err_of_status(int status)
{
    switch (status) {
    case 413:
        return E_TOOBIG;
    case 414:
        return E_URITOOLONG;
    case 431:
        return E_HEADERS;
    case 501:
        return E_NOTIMPL;
    case 505:
        return E_VERSION;
    default:
        return E_BADREQ;
    }
}

static const char *
http_date(struct worker *w)
{
    time_t    now = time(NULL);
    struct tm tm;

    if (now != w->date_sec && gmtime_r(&now, &tm) != NULL) {
        strftime(w->date, sizeof w->date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        w->date_sec = now;
    }
    return w->date;
}

/* ---- transports: TLS -------------------------------------------------- */

/* After an OpenSSL call that returned `n` <= 0. */
static ssize_t
tls_status(struct conn *c, int n)
{
    int e = SSL_get_error(c->ssl, n);

    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
        return IO_AGAIN;
    ERR_clear_error();
    return IO_GONE;
}

static int
tls_open(struct conn *c)
{
    if ((c->ssl = SSL_new(ctx_)) == NULL || SSL_set_fd(c->ssl, c->fd) != 1) {
        ERR_clear_error();
        return E_INTERNAL;
    }
    SSL_set_accept_state(c->ssl);
    return E_OK;
}

static void
check_peer(struct conn *c)
{
    X509          *x = SSL_get0_peer_certificate(c->ssl);
    unsigned char *der = NULL;
    int            n;

    c->peer_checked = true;
    if (x == NULL || (n = i2d_X509(x, &der)) <= 0)
        return;
    c->peer_a = arena_new(2048);
    c->peer = peer_check(c->peer_a, der, (size_t)n);
    OPENSSL_free(der);
}

static int
tls_handshake(struct conn *c)
{
    int n;

    ERR_clear_error();
    n = SSL_do_handshake(c->ssl);
    if (n != 1)
        return (int)tls_status(c, n);
    check_peer(c);
    return 1;
}

static ssize_t
tls_read(struct conn *c, void *p, size_t n)
{
    int k;

    ERR_clear_error();
    k = SSL_read(c->ssl, p, n > INT_MAX ? INT_MAX : (int)n);
    return k > 0 ? k : tls_status(c, k);
}

static ssize_t
tls_write(struct conn *c, const void *p, size_t n)
{
    int k;

    ERR_clear_error();
    k = SSL_write(c->ssl, p, n > INT_MAX ? INT_MAX : (int)n);
    return k > 0 ? k : tls_status(c, k);
}

/* close_notify */
static void
tls_shutdown(struct conn *c)
{
    ERR_clear_error();
    if (SSL_shutdown(c->ssl) < 0)
        ERR_clear_error();
}

static void
tls_release(struct conn *c)
{
    if (c->ssl == NULL)
        return;
    ERR_clear_error();
    SSL_free(c->ssl);
    c->ssl = NULL;
}

static const struct transport tls_io = {
    .plain = false,
    .open = tls_open,
    .handshake = tls_handshake,
    .read = tls_read,
    .write = tls_write,
    .shutdown = tls_shutdown,
    .release = tls_release,
};

/* ---- transports: plain TCP, for the public PKI routes ------------------- */

static ssize_t
plain_status(ssize_t n)
{
    if (n > 0)
        return n;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return IO_AGAIN;
    return IO_GONE; /* 0: the client closed; else the connection broke */
}

static int
plain_open(struct conn *c)
{
    KW_UNUSED(c);
    return E_OK;
}

/* Nothing to agree on: the first bytes are the request. */
static int
plain_handshake(struct conn *c)
{
    KW_UNUSED(c);
    return 1;
}

static ssize_t
plain_read(struct conn *c, void *p, size_t n)
{
    ssize_t k;

    do
        k = read(c->fd, p, n);
    while (k < 0 && errno == EINTR);
    return plain_status(k);
}

static ssize_t
plain_write(struct conn *c, const void *p, size_t n)
{
    ssize_t k;

    do
        k = send(c->fd, p, n, MSG_NOSIGNAL);
    while (k < 0 && errno == EINTR);
    return plain_status(k);
}

/* FIN: the client reads the answer to its end, then closes too. */
static void
plain_shutdown(struct conn *c)
{
    shutdown(c->fd, SHUT_WR);
}

static void
plain_release(struct conn *c)
{
    KW_UNUSED(c);
}

static const struct transport plain_io = {
    .plain = true,
    .open = plain_open,
    .handshake = plain_handshake,
    .read = plain_read,
    .write = plain_write,
    .shutdown = plain_shutdown,
    .release = plain_release,
};

/* ---- the request: from a parsed head to struct req --------------------- */

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

static void
take_header(struct req *r, struct str k, struct str v)
{
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
}

/* The query string into r->params, each key and value percent-decoded. */
static const char *
take_query(struct req *r, struct str q)
{
    struct str item, rest = q;

    while (rest.p != NULL) {
        struct str k, v;
        rest = str_cut(rest, '&', &item);
        if (item.len == 0)
            continue;
        if (r->nparams == PARAMS_MAX)
            return "Too many query parameters";
        v = str_cut(item, '=', &k);
        k = copy(r->a, k);
        v = v.p != NULL ? copy(r->a, v) : arena_str(r->a, str_c(""));
        if (!http_unescape(&k, true) || !http_unescape(&v, true))
            return "A query parameter has a malformed percent-escape";
        if (!utf8_valid(k.p, k.len) || !utf8_valid(v.p, v.len))
            return "A query parameter is not valid UTF-8";
        if (r->params == NULL)
            r->params = arena_calloc(r->a, PARAMS_MAX, sizeof *r->params);
        r->params[r->nparams++] = (struct qparam){ k, v };
    }
    return NULL;
}

/* The request target (origin form; absolute form tolerated): path and query. */
static const char *
take_target(struct req *r, struct str t)
{
    struct str path, query;

    if (t.len > 7 && (str_starts(t, str_c("http://")) || str_starts(t, str_c("https://")))) {
        const char *p = memchr(t.p + 8, '/', t.len - 8);
        t = p != NULL ? (struct str){ p, t.len - (size_t)(p - t.p) } : str_c("/");
    }
    query = str_cut(t, '?', &path);
    r->raw_path = copy(r->a, path);
    r->path = copy(r->a, path);
    if (r->path.len == 0 || r->path.p[0] != '/' || !http_unescape(&r->path, false))
        return "The URL path is malformed";
    /* Paths and parameters are names, IDs and filters: text. Refusing other
     * bytes here keeps them out of answers, logs and the audit log. */
    if (!utf8_valid(r->path.p, r->path.len))
        return "The URL path is not valid UTF-8";
    return query.p != NULL ? take_query(r, query) : NULL;
}

static struct hreq *
hreq_new(struct conn *c, struct str method)
{
    struct arena *a = arena_new(16 * 1024);
    struct hreq  *h = arena_calloc(a, 1, sizeof *h);
    unsigned char t[8];

    h->c = c;
    h->started = time_mono_ms();
    h->r.a = a;
    h->r.method = method_of(method);
    h->r.conn = h;
    h->r.count_total = -1;
    h->r.body_max = cfg.max_body_size;
    h->r.client_ip = copy(a, str_c(c->ip));
    h->r.peer = c->peer;
    h->r.plain = c->io->plain;
    rnd_id_bytes(t, sizeof t);
    hex_encode(t, sizeof t, h->r.trace);
    buf_init(&h->r.body, (size_t)cfg.max_body_size);
    return h;
}

/* The producer of a streamed answer releases what it holds: once. */
static void
stream_stop(struct hreq *h)
{
    void (*end)(struct req *) = h->r.stream_end;

    h->r.stream = NULL;
    h->r.stream_end = NULL;
    if (end != NULL)
        end(&h->r);
}

static void
hreq_free(struct hreq *h)
{
    if (h == NULL)
        return;
    stream_stop(h); /* whatever ended the request: the end, an error, a gone client */
    api_release(&h->r);
    buf_free(&h->r.body);
    arena_free(h->r.a);
}

/* ---- answering ----------------------------------------------------------- */

static void
put_header(struct buf *b, const char *k, struct str v)
{
    buf_printf(b, "%s: %.*s\r\n", k, STR_FMT(v));
}

static void
log_request(const struct hreq *h)
{
    log_info("trace=%s %s %.*s %d %lldms", h->r.trace, method_name(h->r.method),
             STR_FMT(h->r.path), h->r.status, (long long)(time_mono_ms() - h->started));
}

/* Encode the answer of c->h into c->out and start writing it. */
static void
answer(struct conn *c)
{
    struct req *r = &c->h->r;
    struct buf *o = &c->out;
    bool        bodyless = r->status == 204 || r->status == 304;
    char        n[32];

    api_finish(r);
    buf_reset(o);
    buf_printf(o, "HTTP/1.1 %d %s\r\nDate: %s\r\n", r->status, reason_of(r->status),
               http_date(c->w));
    put_header(o, "Content-Type", str_c(r->reply_type));
    put_header(o, "Accept", str_c("application/json, application/msgpack"));
    put_header(o, "X-Trace-Id", str_c(r->trace));
    if (r->count_total >= 0) {
        snprintf(n, sizeof n, "%lld", (long long)r->count_total);
        put_header(o, "X-Count-Total", str_c(n));
    }
    for (const struct resp_header *x = r->headers; x != NULL; x = x->next)
        put_header(o, x->k, str_c(x->v));
    if (r->location.len > 0)
        put_header(o, "Location", r->location);
    if (r->next.len > 0)
        put_header(o, "X-Next", r->next);
    c->streaming = r->stream != NULL && !bodyless;
    c->streamed = 0;
    if (c->streaming && c->http10)
        c->close_after = true; /* no chunked coding: the end of the body is the close */
    else if (c->streaming)
        buf_puts(o, "Transfer-Encoding: chunked\r\n");
    else if (!bodyless)
        buf_printf(o, "Content-Length: %zu\r\n", r->reply.len);
    if (c->close_after)
        buf_puts(o, "Connection: close\r\n");
    else if (c->http10)
        buf_puts(o, "Connection: keep-alive\r\n");
    buf_puts(o, "\r\n");
    if (!bodyless && r->method != M_HEAD && !c->streaming)
        buf_append(o, r->reply.p, r->reply.len);
    if (r->method == M_HEAD || !c->streaming) {
        c->streaming = false;
        stream_stop(c->h); /* HEAD, or a status without a body: only the head */
    }
    c->out_off = 0;
    c->turn = true; /* the head is this turn's piece */
    c->st = C_WRITE;
    c->since = time_mono_ms();
    log_request(c->h);
}

/* Refuse what the HTTP layer itself rejects with the error list; `close`
 * when where the next request would start is in doubt. */
static void
refuse(struct conn *c, struct str method, int status, const char *why, bool close)
{
    if (c->h == NULL)
        c->h = hreq_new(c, method);
    c->h->r.audited = true; /* a framing error is no operation of the API */
    c->close_after |= close;
    api_fail(&c->h->r, err_of_status(status), why);
    answer(c);
}

static void
dispatch(struct conn *c)
{
    c->st = C_PENDING; /* until api_handle says otherwise */
    if (api_handle(&c->h->r) == API_DONE)
        answer(c);
}

static void
suspend_req(struct req *r)
{
    struct hreq *h = r->conn;

    h->c->st = C_PENDING;
}

/* Called by the writer thread: hand the connection back to its worker. */
static void
resume_req(struct req *r)
{
    struct hreq   *h = r->conn;
    struct worker *w = h->c->w;

    pthread_mutex_lock(&w->mu);
    h->c->ready_next = w->ready;
    w->ready = h->c;
    pthread_mutex_unlock(&w->mu);
    wake(w);
}

/* ---- reading requests ---------------------------------------------------- */

/* After a transport call that moved no bytes (`n` is IO_AGAIN or IO_GONE):
 * false when it only waits for the socket (the next event resumes it), else
 * the connection is closed (state C_CLOSED) and true, so the caller's loop
 * moves on. */
static bool
closed_unless_waiting(struct conn *c, ssize_t n)
{
    if (n == IO_AGAIN)
        return false;
    c->st = C_CLOSED;
    return true;
}

static size_t
in_avail(const struct conn *c)
{
    return c->in_len - c->in_off;
}

static void
in_consume(struct conn *c, size_t n)
{
    c->in_off += n;
    if (c->in_off == c->in_len)
        c->in_off = c->in_len = 0;
}

/* Room for the next read: the input buffer grows up to what the longest
 * allowed head needs (the parser refuses a longer one before that). */
static bool
in_reserve(struct conn *c)
{
    size_t max = (size_t)(cfg.max_url_size + cfg.max_header_size) + 2 * READ_CHUNK, ncap;
    char  *p;

    if (c->in_off > 0 && c->in_len == c->in_cap) {
        memmove(c->in, c->in + c->in_off, in_avail(c));
        c->in_len -= c->in_off;
        c->in_off = 0;
    }
    if (c->in_cap - c->in_len >= READ_CHUNK / 4 || (c->in_cap >= max && c->in_cap > c->in_len))
        return true;
    if (c->in_cap >= max)
        return false;
    ncap = c->in_cap == 0 ? READ_CHUNK : c->in_cap * 2;
    ncap = ncap > max ? max : ncap;
    if ((p = realloc(c->in, ncap)) == NULL)
        return false;
    c->in = p;
    c->in_cap = ncap;
    return true;
}

static void
start_body(struct conn *c, const struct http_head *hd)
{
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";

    c->st = C_BODY;
    c->since = time_mono_ms();
    c->body_got = 0;
    c->chunked = hd->chunked;
    c->body_left = hd->length;
    http_chunked_init(&c->ck, (uint64_t)c->h->r.body_max);
    /* A client that waits for 100 Continue gets it only when the body is
     * wanted; a refusal was answered before. Best effort: a full socket
     * buffer here only makes the client send after its own delay. */
    if (hd->expect_continue && in_avail(c) == 0)
        c->io->write(c, cont, sizeof cont - 1);
}

static void
start_request(struct conn *c, const struct http_head *hd)
{
    struct req *r;
    const char *bad;
    bool        has_body = hd->chunked || (hd->has_length && hd->length > 0);

    c->h = hreq_new(c, hd->method);
    r = &c->h->r;
    r->suspend = suspend_req;
    r->resume = resume_req;
    c->close_after = !hd->keep_alive;
    c->http10 = hd->minor == 0;
    for (size_t i = 0; i < hd->nfields; i++)
        take_header(r, hd->fields[i].name, copy(r->a, hd->fields[i].value));
    bad = take_target(r, hd->target);
    in_consume(c, hd->len);
    if (bad == NULL)
        api_prepare(r); /* the route, and with it the body limit */
    r->body.max = (size_t)r->body_max;
    if (hd->has_length && hd->length > (uint64_t)r->body_max) {
        refuse(c, hd->method, 413, "The body is larger than the server accepts", true);
        return;
    }
    if (bad != NULL) {
        refuse(c, hd->method, 400, bad, has_body); /* an unread body: nothing may follow */
        return;
    }
    if (has_body)
        start_body(c, hd);
    else
        dispatch(c);
}

static bool
consume_head(struct conn *c)
{
    struct http_limits lim = { (size_t)cfg.max_url_size, (size_t)cfg.max_header_size };
    struct http_head  *hd = malloc(sizeof *hd);
    const char        *why = "";
    int                rc;

    if (hd == NULL) {
        c->st = C_CLOSED;
        return true;
    }
    rc = http_parse_head(c->in + c->in_off, in_avail(c), &lim, hd, &why);
    if (rc == HTTP_HEAD_OK)
        start_request(c, hd);
    else if (rc != HTTP_AGAIN)
        refuse(c, rc == 505 || hd->method.len == 0 ? str_c("") : hd->method, rc, why, true);
    free(hd);
    return rc != HTTP_AGAIN;
}

/* Move body bytes from the input buffer into the request. */
static bool
consume_body(struct conn *c)
{
    struct req *r = &c->h->r;
    size_t      n = in_avail(c), used = n;
    char       *p = c->in + c->in_off;
    bool        done;
    int         rc = 0;

    if (n == 0)
        return false;
    if (c->chunked)
        rc = http_chunked_feed(&c->ck, p, &n, &used, &done, (size_t)cfg.max_header_size);
    else {
        n = used = n < c->body_left ? n : (size_t)c->body_left;
        c->body_left -= n;
        done = c->body_left == 0;
    }
    c->body_got += used;
    if (rc == 0 && buf_append(&r->body, p, n) != E_OK)
        rc = 413;
    in_consume(c, used);
    if (rc != 0) {
        c->close_after = true;
        api_fail(r, err_of_status(rc),
                 rc == 413 ? "The body is larger than the server accepts"
                           : "The chunked body is malformed");
        r->audited = true;
        answer(c);
    } else if (done)
        dispatch(c);
    return true;
}

/* Read what the socket has into c->in. True when bytes came (or the
 * connection ended: state C_CLOSED), false when the socket has no more. */
static bool
fill(struct conn *c)
{
    ssize_t n;

    if (!in_reserve(c))
        return c->st = C_CLOSED, true;
    n = c->io->read(c, c->in + c->in_len, c->in_cap - c->in_len);
    if (n > 0) {
        c->in_len += (size_t)n;
        return true;
    }
    return closed_unless_waiting(c, n);
}

/* ---- writing answers --------------------------------------------------- */

/* After an answer that closes the connection, the client may still be
 * sending (a body refused with 413): closing at once would make the kernel
 * reset the connection and drop the answer before the client reads it. So,
 * as nginx's lingering close does, shut the writing side (TLS: close_notify),
 * then read and discard until the client closes too or LINGER_MS pass. */
static void
start_linger(struct conn *c)
{
    c->io->shutdown(c);
    c->st = C_LINGER;
    c->since = time_mono_ms();
}

static bool
drain(struct conn *c)
{
    char    sink[4096];
    ssize_t n;

    while ((n = c->io->read(c, sink, sizeof sink)) > 0)
        ;
    return closed_unless_waiting(c, n);
}

/* The request is answered: free it, then close or wait for the next one. */
static void
finish_request(struct conn *c)
{
    hreq_free(c->h);
    c->h = NULL;
    buf_reset(&c->out);
    c->out_off = 0;
    if (c->close_after) {
        start_linger(c);
        return;
    }
    c->st = in_avail(c) > 0 ? C_HEAD : C_IDLE;
    c->since = time_mono_ms();
    if (c->st == C_IDLE && c->in != NULL) {
        free(c->in); /* an idle connection holds no buffers */
        c->in = NULL;
        c->in_off = c->in_len = c->in_cap = 0;
    }
}

/* A stream whose socket took everything may go on, but after the worker's
 * other connections had their turn: the loop runs the again list once per
 * round of events (edge-triggered epoll would not report the socket again). */
static void
again(struct conn *c)
{
    if (c->in_again)
        return;
    c->in_again = true;
    c->again_next = c->w->again;
    c->w->again = c;
}

static void
again_forget(struct conn *c)
{
    for (struct conn **p = &c->w->again; c->in_again && *p != NULL; p = &(*p)->again_next)
        if (*p == c) {
            *p = c->again_next;
            break;
        }
    c->in_again = false;
}

static void
run_again(struct worker *w)
{
    struct conn *list = w->again;

    w->again = NULL;
    while (list != NULL) {
        struct conn *c = list;
        list = c->again_next;
        c->in_again = false;
        if (c->st != C_DEAD)
            conn_run(c);
    }
}

/* The next piece of a streamed answer into c->out: a chunk for HTTP/1.1 (its
 * size written in front once known, as 8 hex digits), raw bytes for HTTP/1.0;
 * the last chunk after the producer's end. A producer's error closes the
 * connection: the head is out, the client sees a body without its end. */
static void
produce(struct conn *c)
{
    struct req *r = &c->h->r;
    struct buf *o = &c->out;
    size_t      head = c->http10 ? 0 : 10, n;
    char        size[16];
    int         rc;

    buf_reset(o);
    c->out_off = 0;
    if (head > 0)
        buf_append(o, "00000000\r\n", head);
    rc = r->stream(r, o);
    n = o->len - head;
    if (rc < 0 || n > 0xffffffffu || o->len < head) {
        log_warn("trace=%s: the streamed answer failed after %s: connection closed", r->trace,
                 rc < 0 ? "an error of its producer" : "an oversized piece");
        c->streaming = false;
        stream_stop(c->h);
        c->st = C_CLOSED;
        return;
    }
    if (head > 0 && n == 0)
        buf_reset(o); /* an empty chunk would end the body */
    else if (head > 0) {
        snprintf(size, sizeof size, "%08zx", n);
        memcpy(o->p, size, 8);
        buf_append(o, "\r\n", 2);
    }
    c->streamed += n;
    if (rc == 0) {
        log_info("trace=%s streamed %llu bytes in %lldms", r->trace,
                 (unsigned long long)c->streamed, (long long)(time_mono_ms() - c->h->started));
        c->streaming = false;
        stream_stop(c->h); /* before the last bytes go: release the cursor now */
        if (head > 0)
            buf_append(o, "0\r\n\r\n", 5);
    }
}

/* Write what is left of the answer; for a stream, produce one more piece per
 * turn once the previous one is written, so a slow reader never makes the
 * server hold more than a piece. False while the socket is full, or when the
 * stream waits for its next turn. */
static bool
flush(struct conn *c)
{
    for (;;) {
        while (c->out_off < c->out.len) {
            ssize_t n = c->io->write(c, c->out.p + c->out_off, c->out.len - c->out_off);

            if (n == IO_AGAIN)
                return false;
            if (n < 0) {
                c->close_after = true;
                c->streaming = false; /* the client is gone: finish_request ends it */
                break;
            }
            c->out_off += (size_t)n;
            c->since = time_mono_ms(); /* the deadline is for progress, not for the whole */
        }
        if (!c->streaming)
            break;
        if (c->turn) {
            again(c);
            return false;
        }
        c->turn = true;
        produce(c);
        if (c->st == C_CLOSED)
            return true;
    }
    finish_request(c);
    return true;
}

/* ---- the connection ------------------------------------------------------ */

static bool
handshake(struct conn *c)
{
    int n = c->io->handshake(c);

    if (n == 1) {
        c->st = C_HEAD; /* its deadline still counts from the accept */
        return true;
    }
    return closed_unless_waiting(c, n);
}

/* Close the connection now; its memory stays until reap(), since an event
 * of the current batch may still point at it. */
static void
conn_kill(struct conn *c)
{
    struct worker *w = c->w;

    if (c->st == C_DEAD)
        return;
    again_forget(c);
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        w->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    __atomic_sub_fetch(&w->nconns, 1, __ATOMIC_RELAXED);
    __atomic_sub_fetch(&open_conns, 1, __ATOMIC_RELAXED);
    close(c->fd); /* also takes it out of the epoll set */
    addrcount_put(&c->addr);
    c->st = C_DEAD;
    c->next = w->dead;
    w->dead = c;
}

static void
conn_release(struct conn *c)
{
    hreq_free(c->h);
    c->io->release(c);
    buf_free(&c->out);
    free(c->in);
    if (c->peer_a != NULL)
        arena_free(c->peer_a);
    free(c);
}

static void
reap(struct worker *w)
{
    while (w->dead != NULL) {
        struct conn *c = w->dead;
        w->dead = c->next;
        conn_release(c);
    }
}

/* Drive the connection as far as the bytes available allow. */
static void
conn_run(struct conn *c)
{
    c->turn = false; /* a new turn: a stream may produce one piece */
    for (;;) {
        bool progress = false;

        switch (c->st) {
        case C_HANDSHAKE:
            progress = handshake(c);
            break;
        case C_IDLE:
        case C_HEAD:
            if (in_avail(c) > 0 && (c->st == C_HEAD || (c->since = time_mono_ms(), true))) {
                c->st = C_HEAD;
                progress = consume_head(c);
            }
            if (!progress)
                progress = fill(c);
            break;
        case C_BODY:
            progress = consume_body(c) || fill(c);
            break;
        case C_WRITE:
            progress = flush(c);
            break;
        case C_LINGER:
            progress = drain(c);
            break;
        case C_PENDING:
        case C_DEAD:
            return;
        case C_CLOSED:
            conn_kill(c);
            return;
        }
        if (!progress)
            return;
    }
}

/* Deadlines: which states may wait how long (see the top of the file). */
static bool
overdue(const struct conn *c, int64_t now)
{
    int64_t t = now - c->since;

    switch (c->st) {
    case C_HANDSHAKE:
    case C_HEAD:
        return t > cfg.header_timeout;
    case C_IDLE:
    case C_WRITE:
        return t > cfg.connection_timeout;
    case C_LINGER:
        return t > LINGER_MS;
    case C_BODY:
        return t > cfg.header_timeout &&
               (double)c->body_got <
                   (double)cfg.body_min_rate * (double)(t - cfg.header_timeout) / 1000.0;
    default:
        return false;
    }
}

static bool
evictable(const struct conn *c)
{
    return c->st == C_HANDSHAKE || c->st == C_HEAD || c->st == C_BODY || c->st == C_IDLE ||
           c->st == C_LINGER;
}

static void
check_deadlines(struct worker *w)
{
    int64_t now = time_mono_ms();

    for (struct conn *c = w->conns, *next; c != NULL; c = next) {
        next = c->next;
        if (overdue(c, now) || (stopping && c->st == C_IDLE))
            conn_kill(c);
    }
}

static bool
older(const struct conn *a, const struct conn *b)
{
    return a->since < b->since || (a->since == b->since && a->seq < b->seq);
}

/* Make room: close the connection that has waited longest without a
 * complete request. False when every connection holds one. */
static bool
evict_one(struct worker *w)
{
    struct conn *old = NULL;

    for (struct conn *c = w->conns; c != NULL; c = c->next)
        if (evictable(c) && (old == NULL || older(c, old)))
            old = c;
    if (old == NULL)
        return false;
    log_debug("http: connection table full: closing %s's oldest incomplete one", old->ip);
    conn_kill(old);
    return true;
}

static void
peer_ip(struct conn *c)
{
    const struct sockaddr *sa = (const struct sockaddr *)&c->addr;

    c->ip[0] = '\0';
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, c->ip, sizeof c->ip);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, c->ip, sizeof c->ip);
}

static void
add_conn(struct worker *w, const struct handoff *a)
{
    struct conn       *c = calloc(1, sizeof *c);
    struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET };
    int                one = 1;

    if (c != NULL) {
        c->fd = a->fd;
        c->io = a->io;
    }
    if (c == NULL || c->io->open(c) != E_OK) {
        if (c != NULL)
            c->io->release(c);
        free(c);
        addrcount_put(&a->ss);
        close(a->fd);
        return;
    }
    setsockopt(a->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->w = w;
    c->addr = a->ss;
    peer_ip(c);
    buf_init(&c->out, SIZE_MAX / 2);
    c->st = C_HANDSHAKE;
    c->since = a->at;
    c->seq = a->seq;
    c->next = w->conns;
    if (w->conns != NULL)
        w->conns->prev = c;
    w->conns = c;
    __atomic_add_fetch(&w->nconns, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&open_conns, 1, __ATOMIC_RELAXED);
    ev.data.ptr = c;
    if (epoll_ctl(w->ep, EPOLL_CTL_ADD, a->fd, &ev) != 0)
        conn_kill(c);
}

static void
wake(struct worker *w)
{
    uint64_t one = 1;

    if (write(w->wake, &one, sizeof one) < 0 && errno != EAGAIN)
        log_warn("http: cannot wake a worker: %s", strerror(errno));
}

/* Room for one more connection: below max_connections, or this worker closes
 * its oldest incomplete one, or (when it has none: accepts need not spread
 * evenly) the fullest other worker is asked to, and the new one is taken
 * meanwhile, up to OVERSHOOT past the limit. */
static bool
make_room(struct worker *w)
{
    size_t         open = __atomic_load_n(&open_conns, __ATOMIC_RELAXED);
    struct worker *full = NULL;

    if (open < (size_t)cfg.max_connections || evict_one(w))
        return true;
    if (open >= (size_t)cfg.max_connections + OVERSHOOT)
        return false;
    for (size_t i = 0; i < nworkers; i++)
        if (&workers[i] != w &&
            (full == NULL || __atomic_load_n(&workers[i].nconns, __ATOMIC_RELAXED) >
                                 __atomic_load_n(&full->nconns, __ATOMIC_RELAXED)))
            full = &workers[i];
    if (full == NULL)
        return false;
    __atomic_add_fetch(&full->evictions, 1, __ATOMIC_RELAXED);
    wake(full);
    return true;
}

/* Connections go to the workers in turn, whichever one the kernel woke: a
 * handler that blocks (an Argon2id hash, an LDAP bind) then stalls only its
 * own worker's few connections, not a bunch that happened to land together. */
static struct worker *
pick_worker(void)
{
    return &workers[__atomic_fetch_add(&next_worker, 1, __ATOMIC_RELAXED) % nworkers];
}

/* A new connection for this thread's worker. */
static void
adopt(struct worker *w, const struct handoff *a)
{
    if (!make_room(w)) {
        addrcount_put(&a->ss);
        close(a->fd);
        return;
    }
    add_conn(w, a);
}

/* Give a new connection to `w`: at once if it is this thread's, else through
 * its inbox and a wake-up. */
static void
take(struct worker *w, const struct handoff *a)
{
    struct handoff *h;

    if (w == self) {
        adopt(w, a);
        return;
    }
    if ((h = malloc(sizeof *h)) == NULL) {
        addrcount_put(&a->ss);
        close(a->fd);
        return;
    }
    *h = *a;
    pthread_mutex_lock(&w->mu);
    h->next = w->inbox;
    w->inbox = h;
    pthread_mutex_unlock(&w->mu);
    wake(w);
}

static void
accept_some(const struct listener *l)
{
    for (int i = 0; i < ACCEPT_BURST; i++) {
        struct handoff a = { .io = l->io };
        socklen_t      sl = sizeof a.ss;

        a.fd = accept4(l->fd, (struct sockaddr *)&a.ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (a.fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                log_debug("http: accept: %s", strerror(errno));
            return;
        }
        if (!addrcount_get(&a.ss)) {
            close(a.fd); /* this address holds its share of connections already */
            continue;
        }
        a.at = time_mono_ms();
        a.seq = __atomic_fetch_add(&accept_seq, 1, __ATOMIC_RELAXED);
        take(pick_worker(), &a);
    }
}

/* The inbox is a stack: adopt in the order of arrival. */
static struct handoff *
reversed(struct handoff *h)
{
    struct handoff *r = NULL;

    while (h != NULL) {
        struct handoff *next = h->next;
        h->next = r;
        r = h;
        h = next;
    }
    return r;
}

/* Connections whose store write completed: answer them. */
static void
run_ready(struct worker *w)
{
    struct conn    *list;
    struct handoff *in;
    uint64_t        n;
    size_t          ev = __atomic_exchange_n(&w->evictions, 0, __ATOMIC_RELAXED);

    if (read(w->wake, &n, sizeof n) < 0 && errno != EAGAIN)
        log_debug("http: wake: %s", strerror(errno));
    while (ev-- > 0 && evict_one(w))
        ;
    pthread_mutex_lock(&w->mu);
    list = w->ready;
    w->ready = NULL;
    in = w->inbox;
    w->inbox = NULL;
    pthread_mutex_unlock(&w->mu);
    for (in = reversed(in); in != NULL;) {
        struct handoff *h = in;
        in = h->next;
        adopt(w, h);
        free(h);
    }
    while (list != NULL) {
        struct conn *c = list;
        list = c->ready_next;
        if (c->st == C_PENDING && c->h != NULL) {
            answer(c);
            conn_run(c);
        }
    }
}

static bool
busy(const struct worker *w)
{
    for (const struct conn *c = w->conns; c != NULL; c = c->next)
        if (c->st != C_IDLE && c->st != C_HANDSHAKE && c->st != C_LINGER)
            return true;
    return false;
}

/* Stop accepting; true once nothing of this worker is in flight. */
static bool
wind_down(struct worker *w)
{
    for (size_t i = 0; w->listening && i < nlisteners; i++)
        epoll_ctl(w->ep, EPOLL_CTL_DEL, listeners[i].fd, NULL);
    w->listening = false;
    return !busy(w) || time_mono_ms() > stop_deadline;
}

/* The listener an epoll event names, or NULL for a connection or the eventfd. */
static const struct listener *
listener_of(const void *p)
{
    for (size_t i = 0; i < nlisteners; i++)
        if (p == &listeners[i])
            return &listeners[i];
    return NULL;
}

static void *
worker_main(void *arg)
{
    struct worker     *w = arg;
    struct epoll_event ev[EVENTS_MAX];
    int64_t            last_tick = time_mono_ms();

    self = w;
    for (;;) {
        int n = epoll_wait(w->ep, ev, EVENTS_MAX, w->again != NULL ? 0 : TICK_MS);

        for (int i = 0; i < n; i++) {
            const struct listener *l = listener_of(ev[i].data.ptr);

            if (l != NULL)
                accept_some(l);
            else if (ev[i].data.ptr == &tag_wake)
                run_ready(w);
            else
                conn_run(ev[i].data.ptr);
        }
        run_again(w);
        if (time_mono_ms() - last_tick >= TICK_MS) {
            last_tick = time_mono_ms();
            check_deadlines(w);
        }
        reap(w);
        if (__atomic_load_n(&stopping, __ATOMIC_ACQUIRE) && wind_down(w))
            break;
    }
    return NULL;
}

/* ---- TLS and the listening socket ---------------------------------------- */

/* Any client certificate is accepted in the handshake: peer.c decides what it
 * proves, per connection, and routes that want none ignore it. */
static int
accept_any_cert(int ok, X509_STORE_CTX *x)
{
    KW_UNUSED(ok);
    KW_UNUSED(x);
    return 1;
}

static int
load_chain(SSL_CTX *ctx, const char *pem)
{
    BIO  *bio = BIO_new_mem_buf(pem, -1);
    X509 *x = NULL;
    int   n = 0, ok = 1;

    while (bio != NULL && ok && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        ok = n++ == 0 ? SSL_CTX_use_certificate(ctx, x) == 1
                      : SSL_CTX_add1_chain_cert(ctx, x) == 1;
        X509_free(x);
    }
    BIO_free(bio);
    ERR_clear_error();
    return ok && n > 0;
}

static int
load_key_and_client_cas(SSL_CTX *ctx, const struct tls_files *tls)
{
    BIO      *bio = BIO_new_mem_buf(buf_cstr(&tls->key_pem), -1);
    EVP_PKEY *key = bio != NULL ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    X509     *x = NULL;
    int       ok = key != NULL && SSL_CTX_use_PrivateKey(ctx, key) == 1 &&
             SSL_CTX_check_private_key(ctx) == 1;

    EVP_PKEY_free(key);
    BIO_free(bio);
    bio = BIO_new_mem_buf(buf_cstr(&tls->client_ca_pem), -1);
    while (ok && bio != NULL && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        ok = SSL_CTX_add_client_CA(ctx, x) == 1;
        X509_free(x);
    }
    BIO_free(bio);
    ERR_clear_error();
    return ok;
}

static int
tls_init(const struct tls_files *tls, struct errbuf *eb)
{
    static const unsigned char sid[] = "keyward";

    ctx_ = SSL_CTX_new(TLS_server_method());
    if (ctx_ == NULL || SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION) != 1 ||
        SSL_CTX_set_max_proto_version(ctx_, TLS1_3_VERSION) != 1 ||
        SSL_CTX_set_cipher_list(ctx_, "ECDHE+AESGCM:ECDHE+CHACHA20") != 1 ||
        !load_chain(ctx_, buf_cstr(&tls->cert_pem)) || !load_key_and_client_cas(ctx_, tls) ||
        SSL_CTX_set_session_id_context(ctx_, sid, sizeof sid - 1) != 1) {
        ERR_clear_error();
        SSL_CTX_free(ctx_);
        ctx_ = NULL;
        return errbuf_set(eb, E_INTERNAL, "tls: the server certificate or key cannot be used");
    }
    SSL_CTX_set_options(ctx_, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                  SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_mode(ctx_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_RELEASE_BUFFERS |
                               SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, accept_any_cert);
    return E_OK;
}

/* ADDR:PORT (an IPv6 address in brackets) into *ss; `name` is the setting,
 * for the message. */
static int
parse_listen(const char *name, const char *listen, struct sockaddr_storage *ss,
             struct errbuf *eb)
{
    char        host[256];
    const char *colon = strrchr(listen, ':');
    int64_t     port;

    memset(ss, 0, sizeof *ss);
    if (colon == NULL || (size_t)(colon - listen) >= sizeof host ||
        str_to_i64(str_c(colon + 1), &port) != E_OK || port < 0 || port > 65535)
        return errbuf_set(eb, E_BADREQ, "%s %s: expected ADDR:PORT", name, listen);
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
        return errbuf_set(eb, E_BADREQ, "%s %s: ADDR must be an IP address", name, listen);
    return E_OK;
}

static uint16_t
port_of(const struct sockaddr_storage *ss)
{
    return ntohs(ss->ss_family == AF_INET ? ((const struct sockaddr_in *)ss)->sin_port
                                          : ((const struct sockaddr_in6 *)ss)->sin6_port);
}

/* 0.0.0.0 or [::]: every address of the host, none to give relying parties. */
static bool
any_address(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == htonl(INADDR_ANY);
    return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

int
http_check_listeners(struct errbuf *eb)
{
    struct sockaddr_storage api, pki;
    int                     rc = parse_listen("--listen", cfg.listen, &api, eb);

    if (rc != E_OK || cfg.pki_listen[0] == '\0')
        return rc;
    if ((rc = parse_listen("pki_listen", cfg.pki_listen, &pki, eb)) != E_OK)
        return rc;
    if (port_of(&pki) == port_of(&api))
        return errbuf_set(eb, E_BADREQ,
                          "pki_listen %s: the port of --listen %s; plain HTTP needs its own",
                          cfg.pki_listen, cfg.listen);
    if (any_address(&pki) && cfg.pki_url[0] == '\0')
        return errbuf_set(eb, E_BADREQ,
                          "pki_listen %s is every address: set pki_url, the URL that "
                          "issued certificates give relying parties",
                          cfg.pki_listen);
    return E_OK;
}

/* The next listener: `addr` (the setting `name`), its connections on `io`. */
static int
open_listener(const char *name, const char *addr, const struct transport *io, struct errbuf *eb)
{
    struct listener        *l = &listeners[nlisteners];
    struct sockaddr_storage ss;
    int                     one = 1, rc, e;

    if (nlisteners == ARRAY_LEN(listeners))
        return errbuf_set(eb, E_INTERNAL, "http: too many listeners");
    if ((rc = parse_listen(name, addr, &ss, eb)) != E_OK)
        return rc;
    l->io = io;
    l->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (l->fd < 0 || setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(l->fd, (struct sockaddr *)&ss,
             ss.ss_family == AF_INET ? sizeof(struct sockaddr_in)
                                     : sizeof(struct sockaddr_in6)) != 0 ||
        listen(l->fd, 1024) != 0) {
        e = errno;
        if (l->fd >= 0)
            close(l->fd);
        return errbuf_set(eb, E_UNAVAILABLE, "cannot listen on %s (%s): %s", addr, name,
                          strerror(e));
    }
    nlisteners++;
    return E_OK;
}

/* The API's listener (TLS), and the public PKI routes' (plain) when set. */
static int
open_listeners(struct errbuf *eb)
{
    int rc = open_listener("--listen", cfg.listen, &tls_io, eb);

    if (rc == E_OK && cfg.pki_listen[0] != '\0')
        rc = open_listener("pki_listen", cfg.pki_listen, &plain_io, eb);
    return rc;
}

static int
worker_init(struct worker *w)
{
    struct epoll_event k = { .events = EPOLLIN, .data.ptr = &tag_wake };

    w->ep = epoll_create1(EPOLL_CLOEXEC);
    w->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    pthread_mutex_init(&w->mu, NULL);
    if (w->ep < 0 || w->wake < 0 || epoll_ctl(w->ep, EPOLL_CTL_ADD, w->wake, &k) != 0)
        return E_INTERNAL;
    for (size_t i = 0; i < nlisteners; i++) {
        struct epoll_event l = { .events = EPOLLIN | EPOLLEXCLUSIVE,
                                 .data.ptr = &listeners[i] };

        if (epoll_ctl(w->ep, EPOLL_CTL_ADD, listeners[i].fd, &l) != 0)
            return E_INTERNAL;
    }
    w->listening = true;
    return E_OK;
}

int
http_start(const struct tls_files *tls, struct errbuf *eb)
{
    size_t n = cfg.threads > 0 ? (size_t)cfg.threads : (size_t)sysconf(_SC_NPROCESSORS_ONLN);
    int    rc;

    n = n == 0 ? 1 : n;
    if ((rc = peer_init(buf_cstr(&tls->client_ca_pem), eb)) != E_OK ||
        (rc = tls_init(tls, eb)) != E_OK || (rc = open_listeners(eb)) != E_OK)
        return rc;
    if (addrcount_init((size_t)cfg.max_connections, (size_t)cfg.max_connections_per_address) !=
        E_OK)
        return errbuf_set(eb, E_INTERNAL, "http: out of memory");
    workers = calloc(n, sizeof *workers);
    if (workers == NULL)
        return errbuf_set(eb, E_INTERNAL, "http: out of memory");
    for (size_t i = 0; i < n; i++)
        if (worker_init(&workers[i]) != E_OK)
            return errbuf_set(eb, E_INTERNAL, "http: cannot start worker threads");
    /* Every worker exists before the first thread runs: the first connection
     * may be accepted at once, and handed to any of them (pick_worker). */
    nworkers = n;
    for (size_t i = 0; i < n; i++)
        if (pthread_create(&workers[i].th, NULL, worker_main, &workers[i]) != 0)
            return errbuf_set(eb, E_INTERNAL, "http: cannot start worker threads");
    return E_OK;
}

/* False when a request is still with the store's writer past the grace
 * period: its connection and worker stay allocated for resume() until exit. */
static bool
worker_fini(struct worker *w)
{
    while (w->inbox != NULL) { /* handed over after this worker stopped */
        struct handoff *h = w->inbox;
        w->inbox = h->next;
        addrcount_put(&h->ss);
        close(h->fd);
        free(h);
    }
    for (struct conn *c = w->conns, *next; c != NULL; c = next) {
        next = c->next;
        if (c->st != C_PENDING)
            conn_kill(c);
    }
    reap(w);
    if (w->conns != NULL)
        return false;
    close(w->ep);
    close(w->wake);
    pthread_mutex_destroy(&w->mu);
    return true;
}

void
http_stop(int64_t grace_ms)
{
    if (workers == NULL)
        return;
    stop_deadline = time_mono_ms() + grace_ms;
    __atomic_store_n(&stopping, 1, __ATOMIC_RELEASE);
    for (size_t i = 0; i < nworkers; i++)
        pthread_join(workers[i].th, NULL);
    bool all = true;
    for (size_t i = 0; i < nworkers; i++)
        all &= worker_fini(&workers[i]);
    if (all)
        free(workers);
    workers = NULL;
    nworkers = 0;
    for (size_t i = 0; i < nlisteners; i++)
        close(listeners[i].fd);
    nlisteners = 0;
    SSL_CTX_free(ctx_);
    ctx_ = NULL;
    addrcount_fini();
    peer_fini();
}
