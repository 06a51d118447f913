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
 *
 * The files: this one has the workers, accepting and handing over, the
 * deadlines, eviction, the listening sockets, start and stop; conn.c a
 * connection's requests and answers; transport.c the transports and the TLS
 * context; local.h what they share.
 */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../core/config.h"
#include "../core/log.h"
#include "../core/timeutil.h"
#include "addrcount.h"
#include "local.h"
#include "peer.h"

#define TICK_MS 250 /* how often deadlines are checked */
/* Workers by default: a request holds its worker while its reads run (a
 * costly filter for seconds, within store_timeout), so with one worker per
 * core two such requests of one tenant held every other tenant's requests
 * for as long (a review: 43 s). With four per core the kernel shares the
 * cores among them, and others' requests are answered meanwhile. */
#define THREADS_PER_CORE 4
#define THREADS_DEFAULT_MAX                                                                    \
    16 /* each reads through its own store connection: on                                      \
          PostgreSQL, several servers of many cores would pass                                 \
          its default max_connections (100) */
#define EVENTS_MAX   64
#define ACCEPT_BURST 1    /* one per wake-up: the next pending one wakes another worker */
#define OVERSHOOT    64   /* connections past max_connections while others make room */
#define LINGER_MS    5000 /* reading what a refused client still sends, at most */

/* A connection accepted by one worker for another (round robin). */
/* An accepted connection on its way to a worker. `seq` is the order in which
 * it was accepted (eviction's tie-break); its deadlines run from its
 * adoption. */
struct handoff {
    int                     fd;
    struct sockaddr_storage ss;
    const struct transport *io;
    uint64_t                seq;
    struct handoff         *next;
};

/* A listening socket, and the transport of the connections it accepts. */
struct listener {
    int                     fd;
    const struct transport *io;
};

static struct listener         listeners[2]; /* listen (TLS), then pki_listen (plain) if set */
static size_t                  nlisteners;
static struct worker          *workers;
static size_t                  nworkers;
static int                     stopping;    /* atomic: http_stop was called */
static size_t                  next_worker; /* atomic: round robin of accepted connections */
static uint64_t                accept_seq;  /* atomic: order of accepted connections */
static __thread struct worker *self;        /* the worker this thread runs */
size_t                         open_conns;  /* atomic: connections of all workers */
static int64_t                 stop_deadline;
static char                    tag_wake; /* epoll data of the eventfd; a listener's is itself */

/* ---- the workers: deadlines, eviction, accepting ------------------------- */

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

/* Every state but a request in the store's hands. An answer being written
 * counts from its last progress: a client that pipelines large answers and
 * never reads them (the kernel's send buffer full) held its slot for
 * connection_timeout, and max_connections of them locked every new client
 * out without a token (a review: /openapi.json, 495 KB, twelve a connection). */
static bool
evictable(const struct conn *c)
{
    return c->st == C_HANDSHAKE || c->st == C_HEAD || c->st == C_BODY || c->st == C_IDLE ||
           c->st == C_LINGER || c->st == C_WRITE;
}

/* Judged at `polled`, the moment the worker last looked at its sockets, not
 * at the clock: a request that held this thread (a slow store) kept the
 * others' bytes unread, and a client whose request arrived meanwhile must
 * not be cut off as idle before the worker has looked. Each pass of the loop
 * polls again, so a stream of slow requests cannot put the deadlines off. */
static void
check_deadlines(struct worker *w, int64_t polled)
{
    for (struct conn *c = w->conns, *next; c != NULL; c = next) {
        next = c->next;
        if (overdue(c, polled) || (stopping && c->st == C_IDLE))
            conn_kill(c);
    }
}

static bool
older(const struct conn *a, const struct conn *b)
{
    return a->since < b->since || (a->since == b->since && a->seq < b->seq);
}

/* Make room: close the connection that has waited longest without a
 * complete request or without reading its answer. False when every
 * connection holds a request the store is serving. */
static bool
evict_one(struct worker *w)
{
    struct conn *old = NULL;

    /* answers being written last: a live download that moved a moment ago is
     * older than a flood's fresh handshakes, and must not go before them */
    for (int pass = 0; pass < 2 && old == NULL; pass++)
        for (struct conn *c = w->conns; c != NULL; c = c->next)
            if (evictable(c) && (c->st == C_WRITE) == (pass == 1) &&
                (old == NULL || older(c, old)))
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
    /* Its deadlines run from now: while it waited in the inbox of a worker
     * held by a slow request, nothing could read it (a review: such
     * connections were reset at once, past header_timeout, with no answer). */
    c->since = time_mono_ms();
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

void
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
        int     n = epoll_wait(w->ep, ev, EVENTS_MAX,
                           w->again != NULL || w->later != NULL ? 0 : TICK_MS);
        int64_t polled = time_mono_ms();

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
        run_later(w);
        /* A full batch may have left ready sockets unreported: poll again
         * before judging them, for up to a few ticks. */
        int64_t since_tick = time_mono_ms() - last_tick;
        if (since_tick >= TICK_MS && (n < EVENTS_MAX || since_tick >= 4 * TICK_MS)) {
            last_tick = time_mono_ms();
            check_deadlines(w, polled);
        }
        reap(w);
        if (__atomic_load_n(&stopping, __ATOMIC_ACQUIRE) && wind_down(w)) {
            run_later(w); /* none is left parked: a pipelined request read last */
            break;
        }
    }
    return NULL;
}

/* ---- the listening socket -------------------------------------------------- */

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

int
http_listen(struct errbuf *eb)
{
    struct sockaddr_storage api, pki;
    int                     rc = parse_listen("--listen", cfg.listen, &api, eb);

    if (rc != E_OK)
        return rc;
    if (cfg.pki_listen[0] == '\0')
        return open_listeners(eb);
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
    return open_listeners(eb);
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
    long   cores = sysconf(_SC_NPROCESSORS_ONLN);
    size_t per_core = THREADS_PER_CORE * (size_t)(cores > 0 ? cores : 1);
    size_t n = cfg.threads > 0
                   ? (size_t)cfg.threads
                   : (per_core < THREADS_DEFAULT_MAX ? per_core : THREADS_DEFAULT_MAX);
    int    rc;

    if ((rc = peer_init(buf_cstr(&tls->client_ca_pem), eb)) != E_OK ||
        (rc = tls_init(tls, eb)) != E_OK)
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
    tls_fini();
    addrcount_fini();
    peer_fini();
}
