/* conn.c - a connection's life, once a worker has it: the handshake, reading
 * requests (parse.c frames them) into struct req, the hand-over to the API,
 * the answer (whole, or streamed a piece per turn) and its writing, keep-alive
 * or the lingering close, and the close itself. One thread drives a
 * connection, its worker's (server.c), which also keeps its deadlines.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "../core/config.h"
#include "../core/log.h"
#include "../core/rnd.h"
#include "../core/timeutil.h"
#include "addrcount.h"
#include "local.h"

/* Pipelined requests answered in one turn of events at most: a client that
 * keeps its pipe full of cheap requests (/health) would otherwise keep its
 * worker in conn_run, and the worker's other clients waited seconds (a
 * review). Then it waits on the again list, as a stream between pieces. */
#define PIPELINE_TURN 16
#define FIELDS_MAX    64  /* X-Fields entries */
#define PARAMS_MAX    256 /* query parameters; more is 400 */
#define READ_CHUNK    (16 * 1024)

/* One request: everything hangs off its arena (api/req.h). */
struct hreq {
    struct req   r;
    struct conn *c;
    int64_t      started;
};

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

/* ---- the request: from a parsed head to struct req --------------------- */

/* A refusal past FIELDS_MAX names: leaving the rest out would answer other
 * fields than those asked for (a review: the 65th vanished, silently). */
static const char *
add_fields(struct req *r, struct str v)
{
    struct str item, rest = v;

    if (r->fields == NULL)
        r->fields = arena_calloc(r->a, FIELDS_MAX, sizeof *r->fields);
    while (rest.p != NULL) {
        rest = str_cut(rest, ',', &item);
        item = str_trim(item);
        if (item.len == 0)
            continue;
        if (r->nfields == FIELDS_MAX)
            return "X-Fields names more than 64 fields";
        r->fields[r->nfields++] = item;
    }
    return NULL;
}

/* One header field; a refusal (400) when it may come once and came again. */
static const char *
take_header(struct req *r, struct str k, struct str v)
{
    static const char *const once[] = { "Authorization", "X-Namespace", "Content-Type",
                                        "Idempotency-Key" };
    struct str *slot[] = { &r->authorization, &r->x_namespace, &r->content_type, &r->idem_key };

    for (size_t i = 0; i < ARRAY_LEN(once); i++) {
        if (!str_eq_nocase(k, once[i]))
            continue;
        /* twice: which one counts would be a guess, and a proxy in front may
         * have judged the other (RFC 9110 5.3) */
        if (slot[i]->p != NULL)
            return arena_printf(r->a, "The %s header is given more than once", once[i]);
        *slot[i] = v;
        return NULL;
    }
    if (str_eq_nocase(k, "Accept")) /* a list: several fields are one (RFC 9110 5.3) */
        r->accept =
            r->accept.p == NULL
                ? v
                : str_c(arena_printf(r->a, "%.*s, %.*s", STR_FMT(r->accept), STR_FMT(v)));
    else if (str_eq_nocase(k, "X-Fields"))
        return add_fields(r, v);
    return NULL;
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
        if (!pct_decode(&k, true) || !pct_decode(&v, true))
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
    if (r->path.len == 0 || r->path.p[0] != '/' || !pct_decode(&r->path, false))
        return "The URL path is malformed";
    /* An encoded '/' would make another path than the one a proxy in front
     * judged; only an OCSP GET's base64 (under /pki/) may hold one. */
    if (!str_starts(r->path, str_c("/pki/")) &&
        (memmem(r->raw_path.p, r->raw_path.len, "%2F", 3) != NULL ||
         memmem(r->raw_path.p, r->raw_path.len, "%2f", 3) != NULL))
        return "The URL path holds an encoded '/' (%2F)";
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
    h->r.can_later = true; /* run_later */
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
    log_info("trace=%s client=%.*s %s %.*s %d %lldms", h->r.trace, STR_FMT(h->r.client_ip),
             method_name(h->r.method), STR_FMT(h->r.path), h->r.status,
             (long long)(time_mono_ms() - h->started));
}

/* Encode the answer of c->h into c->out and start writing it. */
void
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
    switch (api_handle(&c->h->r)) {
    case API_DONE:
        answer(c);
        break;
    case API_LATER: /* served with the others of this round (run_later) */
        c->later_next = c->w->later;
        c->w->later = c;
        break;
    case API_PENDING:
        break;
    }
}

/* The requests of this round of events that wait to be served together
 * (API_LATER): their reads in one round trip of the store, then each is
 * answered and its connection goes on. Requests a connection reads meanwhile
 * (pipelined) wait for the next round. */
void
run_later(struct worker *w)
{
    struct conn *list = NULL, *cs[API_BATCH_MAX];
    struct req  *rs[API_BATCH_MAX];

    while (w->later != NULL) { /* in the order they came */
        struct conn *c = w->later;
        w->later = c->later_next;
        c->later_next = list;
        list = c;
    }
    while (list != NULL) {
        size_t n = 0;

        for (; list != NULL && n < API_BATCH_MAX; list = list->later_next, n++) {
            cs[n] = list;
            rs[n] = &list->h->r;
        }
        api_batch(rs, n);
        for (size_t i = 0; i < n; i++)
            if (cs[i]->st == C_PENDING && api_handle_later(rs[i]) == API_DONE) {
                answer(cs[i]);
                conn_run(cs[i]);
            }
    }
}

static void
suspend_req(struct req *r)
{
    struct hreq *h = r->conn;

    h->c->st = C_PENDING;
}

/* Called by the writer thread: hand the connection back to its worker. Only
 * the first of a list wakes it: the worker reads its wake-up before it takes
 * the list (run_ready), so a list found non-empty will be taken with the
 * wake-up its first brought - one write(2) a worker per commit, not one a
 * request. */
static void
resume_req(struct req *r)
{
    struct hreq   *h = r->conn;
    struct worker *w = h->c->w;
    bool           first;

    pthread_mutex_lock(&w->mu);
    first = w->ready == NULL;
    h->c->ready_next = w->ready;
    w->ready = h->c;
    pthread_mutex_unlock(&w->mu);
    if (first)
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

/* The body's length as the head announces it: -1 when it does not say
 * (chunked) or says more than any limit. */
static int64_t
announced_body(const struct http_head *hd)
{
    if (hd->chunked || (hd->has_length && hd->length > INT64_MAX))
        return -1;
    return hd->has_length ? (int64_t)hd->length : 0;
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
    bad = NULL;
    for (size_t i = 0; i < hd->nfields && bad == NULL; i++)
        bad = take_header(r, hd->fields[i].name, copy(r->a, hd->fields[i].value));
    if (bad == NULL)
        bad = take_target(r, hd->target);
    else
        take_target(r, hd->target); /* for the log line */
    in_consume(c, hd->len);
    if (bad == NULL) /* the route, and with it the body limit */
        api_prepare(r, announced_body(hd));
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
    c->answered++;
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

void
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
        c->st = C_HEAD; /* its deadline still counts from its adoption */
        return true;
    }
    return closed_unless_waiting(c, n);
}

/* Close the connection now; its memory stays until reap(), since an event
 * of the current batch may still point at it. */
void
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

void
reap(struct worker *w)
{
    while (w->dead != NULL) {
        struct conn *c = w->dead;
        w->dead = c->next;
        conn_release(c);
    }
}

/* Drive the connection as far as the bytes available allow. */
void
conn_run(struct conn *c)
{
    c->turn = false; /* a new turn: a stream may produce one piece */
    c->answered = 0;
    for (;;) {
        bool progress = false;

        switch (c->st) {
        case C_HANDSHAKE:
            progress = handshake(c);
            break;
        case C_IDLE:
        case C_HEAD:
            if (c->answered >= PIPELINE_TURN) { /* the others' turn first */
                again(c);
                return;
            }
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
