/* scan.c - the TLS scanner (scan.h): one epoll loop on the caller's thread,
 * a slot per pair in flight, the pairs in flight in one list by deadline.
 *
 * A slot is free, idle (it holds a target but no socket: just taken from
 * `next`, or waiting for a descriptor after EMFILE), connecting, ready
 * (connected, waiting for its turn to shake hands), or in the handshake.
 * Slots are indices (epoll's data is the index), linked into the free stack,
 * the deadline list or the ready queue through prev/next.
 *
 * Handshakes cost this thread's CPU (about half a millisecond each here):
 * a thousand started at once would queue for half a second behind each
 * other, and a short time-out would blame servers that answered at once. So
 * the handshakes under way are capped to what the thread can finish in half
 * the time-out, from the measured cost of one; a connected pair waits ready
 * for its turn, and the time it waits for us is not counted against the
 * server. Events are read before deadlines are checked, for the same reason.
 */
#include "scan.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "../core/config.h"
#include "../core/net.h"
#include "../core/timeutil.h"

#define NONE            UINT32_MAX
#define TICK_MS         100 /* the longest sleep: how often `canceled` is asked at least */
#define RETRY_MS        10 /* the sleep while a target waits for a descriptor, none in flight */
#define CAP_RESTORE_MS  1000 /* how long the lower cap after EMFILE holds */
#define EVENTS_MAX      256
#define NOFILE_FALLBACK ((rlim_t)1 << 20) /* Linux's default fs.nr_open */

#define HS_COST_US 1000 /* a handshake's CPU cost before one was measured */
#define HS_MIN     8    /* handshakes allowed under way whatever the cost */

enum phase { P_FREE, P_IDLE, P_CONNECT, P_READY, P_HANDSHAKE };

struct slot {
    struct scan_target t;
    SSL               *ssl;
    int                fd;
    enum phase         phase;
    int64_t            start;      /* the socket's creation (idle: when `next` gave it) */
    int64_t            used;       /* ready: ms of its time-out the connect used */
    int64_t            cost_ns;    /* the handshake's time in OpenSSL so far */
    uint32_t           prev, next; /* in flight: the deadline list; ready: the ready
                                      queue; free: the free stack */
    char sni[SCAN_SNI_MAX + 1];
};

struct scan {
    bool (*next)(void *arg, struct scan_target *t);
    void (*done)(void *arg, const struct scan_result *r);
    bool (*canceled)(void *arg);
    void        *arg;
    SSL_CTX     *ctx;
    int          ep;
    int64_t      timeout;
    struct slot *slots;
    uint32_t     nslots;
    uint32_t     free;       /* the free slots, a stack */
    uint32_t     head, tail; /* in flight, oldest (nearest deadline) first */
    uint32_t     waiting;    /* the slot waiting for a descriptor, or NONE */
    uint32_t     inflight;
    uint32_t     ready_head, ready_tail; /* connected, waiting for a handshake turn */
    uint32_t     handshaking;            /* slots in P_HANDSHAKE */
    uint32_t     hs_max;                 /* in P_HANDSHAKE at most, for memory (0: any) */
    int64_t      hs_cost_us;             /* moving average of one handshake's cost */
    uint32_t     cap;       /* in flight at most for now: nslots, less after EMFILE */
    int64_t      cap_at;    /* when EMFILE last lowered it */
    bool         exhausted; /* `next` said there are no more */
    /* The chain of the result being reported, reused from pair to pair. */
    unsigned char        *derbuf;
    size_t                derbuf_cap;
    const unsigned char **der;
    size_t               *der_len;
    size_t                chain_cap;
    char                  msg[128]; /* an error text made for one result */
};

static pthread_once_t nofile_once = PTHREAD_ONCE_INIT;

const char *
scan_outcome_name(enum scan_outcome o)
{
    static const char *const names[] = {
        [SCAN_TLS] = "TLS",
        [SCAN_REFUSED] = "REFUSED",
        [SCAN_TIMEOUT] = "TIMEOUT",
        [SCAN_UNREACHABLE] = "UNREACHABLE",
        [SCAN_HANDSHAKE] = "HANDSHAKE",
        [SCAN_ERROR] = "ERROR",
    };

    return (unsigned)o < ARRAY_LEN(names) ? names[o] : "?";
}

/* ---- process-wide: descriptors and SIGPIPE ----------------------------- */

/* Descriptors all scans of the process may hold at once: the limit less what
 * the API keeps (max_connections, and as much again for the store, webhooks,
 * files and the listeners, at least SCAN_FD_RESERVE_MIN). Without it two
 * runs of 10,000 pairs each used the process's last descriptor and the API
 * could accept nothing for the probes' timeout (a black-box review: /health
 * took 39 s). A pair that finds the budget spent waits as after EMFILE. */
#define SCAN_FD_RESERVE_MIN 2048
static int64_t fds_left; /* atomic */

static void
budget_init(void)
{
    struct rlimit rl = { .rlim_cur = 1024 };
    int64_t       reserve = 2 * cfg.max_connections, limit;

    if (reserve < SCAN_FD_RESERVE_MIN)
        reserve = SCAN_FD_RESERVE_MIN;
    (void)getrlimit(RLIMIT_NOFILE, &rl);
    limit = rl.rlim_cur == RLIM_INFINITY ? (int64_t)NOFILE_FALLBACK : (int64_t)rl.rlim_cur;
    /* a small limit still scans, a few pairs at a time */
    __atomic_store_n(&fds_left, limit - reserve > 64 ? limit - reserve : 64, __ATOMIC_RELAXED);
}

static bool
budget_take(void)
{
    if (__atomic_sub_fetch(&fds_left, 1, __ATOMIC_ACQ_REL) >= 0)
        return true;
    __atomic_add_fetch(&fds_left, 1, __ATOMIC_ACQ_REL);
    return false;
}

static void
budget_give(void)
{
    __atomic_add_fetch(&fds_left, 1, __ATOMIC_ACQ_REL);
}

/* The soft limit up to the hard one (RLIM_INFINITY is not allowed for
 * descriptors: then up to Linux's default fs.nr_open). A failure leaves the
 * limit as it was; EMFILE is handled anyway. */
static void
raise_nofile(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0 && rl.rlim_max > NOFILE_FALLBACK) {
            rl.rlim_cur = NOFILE_FALLBACK;
            (void)setrlimit(RLIMIT_NOFILE, &rl);
        }
    }
    budget_init();
}

static void
sigpipe_block(sigset_t *old)
{
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, old);
}

/* Consume a SIGPIPE the scan raised (it is thread-directed, so pending here)
 * and restore the mask; one that was blocked before is left as it was. */
static void
sigpipe_restore(const sigset_t *old)
{
    static const struct timespec zero = { 0, 0 };
    sigset_t                     set, pending;

    if (sigismember(old, SIGPIPE))
        return;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    if (sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE))
        while (sigtimedwait(&set, NULL, &zero) < 0 && errno == EINTR)
            ;
    pthread_sigmask(SIG_SETMASK, old, NULL);
}

/* ---- TLS --------------------------------------------------------------- */

/* Whatever the server presents is recorded; validation is done elsewhere.
 * Replacing the verification also spares building the chain per pair. */
static int
accept_chain(X509_STORE_CTX *x, void *arg)
{
    KW_UNUSED(x);
    KW_UNUSED(arg);
    return 1;
}

static SSL_CTX *
ctx_new(void)
{
    SSL_CTX *ctx = NULL;

    if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL)
        goto fail;
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_cert_verify_callback(ctx, accept_chain, NULL);
    SSL_CTX_set_security_level(ctx, 0);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_LEGACY_SERVER_CONNECT);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    /* A server that announced a 100 KB certificate list and went silent held
     * 150 KB of this process for the probe's time-out (a black-box review). */
    SSL_CTX_set_max_cert_list(ctx, SCAN_CERT_LIST_MAX);
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION) != 1 ||
        SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1 ||
        SSL_CTX_set_cipher_list(ctx, "ALL:@SECLEVEL=0") != 1)
        goto fail;
    return ctx;
fail:
    SSL_CTX_free(ctx);
    ERR_clear_error();
    return NULL;
}

/* ---- slots ------------------------------------------------------------- */

static void
list_append(struct scan *s, uint32_t i)
{
    s->slots[i].prev = s->tail;
    s->slots[i].next = NONE;
    if (s->tail != NONE)
        s->slots[s->tail].next = i;
    else
        s->head = i;
    s->tail = i;
}

/* Insert slot i by its deadline, walking back from the tail: a slot that
 * waited for its handshake turn is behind the newest ones by at most its
 * connect time, so the walk is short and expire() still meets every slot
 * in deadline order. */
static void
list_insert(struct scan *s, uint32_t i)
{
    uint32_t p = s->tail;

    while (p != NONE && s->slots[p].start > s->slots[i].start)
        p = s->slots[p].prev;
    if (p == s->tail) {
        list_append(s, i);
        return;
    }
    uint32_t n = p == NONE ? s->head : s->slots[p].next;
    s->slots[i].prev = p;
    s->slots[i].next = n;
    s->slots[n].prev = i;
    if (p == NONE)
        s->head = i;
    else
        s->slots[p].next = i;
}

static void
list_remove(struct scan *s, uint32_t i)
{
    struct slot *sl = &s->slots[i];

    if (sl->prev != NONE)
        s->slots[sl->prev].next = sl->next;
    else
        s->head = sl->next;
    if (sl->next != NONE)
        s->slots[sl->next].prev = sl->prev;
    else
        s->tail = sl->prev;
}

/* Close the connection (reset once connected: scan.h says why) and free the
 * slot. Events of the current batch cannot name it: its descriptor is closed,
 * and it is reused only after the batch. */
static void
release(struct scan *s, uint32_t i)
{
    struct slot *sl = &s->slots[i];

    if (sl->phase == P_CONNECT || sl->phase == P_HANDSHAKE)
        list_remove(s, i);
    if (sl->phase == P_HANDSHAKE)
        s->handshaking--;
    if (sl->phase == P_CONNECT || sl->phase == P_HANDSHAKE || sl->phase == P_READY)
        s->inflight--; /* a ready slot leaves only through abandon(), which empties the queue */
    SSL_free(sl->ssl);
    sl->ssl = NULL;
    if (sl->fd >= 0) {
        if (sl->phase == P_HANDSHAKE) {
            struct linger l = { .l_onoff = 1, .l_linger = 0 };
            (void)setsockopt(sl->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
        }
        close(sl->fd);
        sl->fd = -1;
        budget_give();
    }
    ERR_clear_error(); /* nothing of this pair's is left for the next one */
    sl->phase = P_FREE;
    sl->next = s->free;
    s->free = i;
}

static void
report(struct scan *s, uint32_t i, struct scan_result *r)
{
    r->target = &s->slots[i].t;
    r->elapsed_ms = time_mono_ms() - s->slots[i].start;
    s->done(s->arg, r);
}

/* Report an outcome other than SCAN_TLS and free the slot. */
static void
fail(struct scan *s, uint32_t i, enum scan_outcome o, const char *why)
{
    struct scan_result r = { .outcome = o, .error = why };

    report(s, i, &r);
    release(s, i);
}

/* ---- what went wrong --------------------------------------------------- */

static enum scan_outcome
outcome_of_errno(int e)
{
    switch (e) {
    case ECONNREFUSED:
        return SCAN_REFUSED;
    case ETIMEDOUT:
        return SCAN_TIMEOUT;
    case ECONNRESET: /* connected, then reset before the handshake began */
    case EPIPE:
        return SCAN_HANDSHAKE;
    case ENOMEM:
    case ENOBUFS:
    case EMFILE:
    case ENFILE:
    case EBADF:
    case EINVAL:
        return SCAN_ERROR;
    default: /* EHOSTUNREACH, ENETUNREACH, EHOSTDOWN, ENETDOWN, EACCES, ... */
        return SCAN_UNREACHABLE;
    }
}

static const char *
errno_text(struct scan *s, int e)
{
    switch (e) {
    case ECONNREFUSED:
        return "connection refused";
    case ETIMEDOUT:
        return "timed out connecting";
    case EHOSTUNREACH:
        return "host unreachable";
    case ENETUNREACH:
        return "network unreachable";
    case EAFNOSUPPORT:
        return "address family not supported";
    case ECONNRESET:
    case EPIPE:
        return "connection reset during the handshake";
    default:
        return strerror_r(e, s->msg, sizeof(s->msg)); /* GNU's: may return a constant */
    }
}

/* Why SSL_do_handshake failed with SSL_get_error `e`: OpenSSL's reason for
 * the first error queued, or what the socket said. */
static const char *
handshake_failure(struct scan *s, int e, int sys)
{
    unsigned long err = ERR_peek_error();
    const char   *why;

    if (err != 0 && ERR_GET_LIB(err) == ERR_LIB_SYS) {
        sys = ERR_GET_REASON(err);
        err = 0;
    }
    if (err != 0) {
        if (ERR_GET_LIB(err) == ERR_LIB_SSL &&
            ERR_GET_REASON(err) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
            return "connection closed during the handshake";
        why = ERR_reason_error_string(err);
        return why != NULL ? why : "TLS handshake failed";
    }
    if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && sys == 0))
        return "connection closed during the handshake";
    if (e == SSL_ERROR_SYSCALL)
        return errno_text(s, sys);
    return "TLS handshake failed";
}

/* ---- the result of a completed handshake --------------------------------- */

/* A capacity of at least `need`, doubling from `cap` (or from 4). */
static size_t
cap_for(size_t cap, size_t need)
{
    size_t n = cap != 0 ? cap : 4;

    while (n < need)
        n *= 2;
    return n;
}

/* Room for `n` certificates' pointers and lengths. */
static int
reserve_chain(struct scan *s, size_t n)
{
    size_t                cap = cap_for(s->chain_cap, n);
    const unsigned char **der;
    size_t               *len;

    if (n <= s->chain_cap)
        return E_OK;
    if ((der = realloc(s->der, cap * sizeof(*der))) == NULL)
        return E_INTERNAL;
    s->der = der;
    if ((len = realloc(s->der_len, cap * sizeof(*len))) == NULL)
        return E_INTERNAL;
    s->der_len = len;
    s->chain_cap = cap;
    return E_OK;
}

static int
reserve_bytes(struct scan *s, size_t total)
{
    size_t         cap = cap_for(s->derbuf_cap, total);
    unsigned char *buf;

    if (total <= s->derbuf_cap)
        return E_OK;
    if ((buf = realloc(s->derbuf, cap)) == NULL)
        return E_INTERNAL;
    s->derbuf = buf;
    s->derbuf_cap = cap;
    return E_OK;
}

static X509 *
chain_at(STACK_OF(X509) * sk, X509 *leaf, size_t k)
{
    return leaf != NULL ? leaf : sk_X509_value(sk, (int)k);
}

/* The DER of each certificate into s->derbuf, one after the other: the chain
 * `sk` or, when that is empty, the single `leaf`. */
static int
chain_copy(struct scan *s, STACK_OF(X509) * sk, X509 *leaf, struct scan_result *r)
{
    size_t         n = leaf != NULL ? 1 : sk != NULL ? (size_t)sk_X509_num(sk) : 0;
    size_t         total = 0;
    unsigned char *p;

    if (n == 0)
        return E_OK;
    if (reserve_chain(s, n) != E_OK)
        return E_INTERNAL;
    for (size_t k = 0; k < n; k++) {
        int len = i2d_X509(chain_at(sk, leaf, k), NULL);

        if (len <= 0)
            return E_INTERNAL;
        s->der_len[k] = (size_t)len;
        total += (size_t)len;
    }
    if (reserve_bytes(s, total) != E_OK)
        return E_INTERNAL;
    p = s->derbuf;
    for (size_t k = 0; k < n; k++) {
        s->der[k] = p;
        if (i2d_X509(chain_at(sk, leaf, k), &p) != (int)s->der_len[k])
            return E_INTERNAL;
    }
    r->nchain = n;
    r->der = s->der;
    r->der_len = s->der_len;
    return E_OK;
}

static void
tls_done(struct scan *s, uint32_t i)
{
    SSL *ssl = s->slots[i].ssl;
    STACK_OF(X509) *sk = SSL_get_peer_cert_chain(ssl); /* client side: with the leaf */
    X509              *leaf = NULL;
    const SSL_CIPHER  *c = SSL_get_current_cipher(ssl);
    struct scan_result r = { .outcome = SCAN_TLS };

    if (sk == NULL || sk_X509_num(sk) <= 0)
        leaf = SSL_get1_peer_certificate(ssl);
    if (chain_copy(s, sk, leaf, &r) != E_OK) {
        X509_free(leaf);
        fail(s, i, SCAN_ERROR, "out of memory");
        return;
    }
    r.tls_version = SSL_get_version(ssl);
    r.cipher = c != NULL ? SSL_CIPHER_standard_name(c) : NULL;
    s->hs_cost_us += (s->slots[i].cost_ns / 1000 - s->hs_cost_us) / 8;
    report(s, i, &r);
    X509_free(leaf);
    release(s, i);
}

/* ---- a pair's steps ---------------------------------------------------- */

static socklen_t
sockaddr_of(const struct scan_target *t, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    if (ip_is_v4(t->addr)) {
        struct sockaddr_in *in = (struct sockaddr_in *)ss;

        in->sin_family = AF_INET;
        in->sin_port = htons(t->port);
        memcpy(&in->sin_addr, t->addr + 12, 4);
        return sizeof(*in);
    }
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(t->port);
    memcpy(&in6->sin6_addr, t->addr, 16);
    return sizeof(*in6);
}

/* socket() failed with `e`. Out of descriptors, the slot waits (the target is
 * not to blame) and fewer pairs are let in flight for a while; false then,
 * so that no more pairs start now. */
static bool
no_socket(struct scan *s, uint32_t i, int e, int64_t now)
{
    if (e != EMFILE && e != ENFILE) {
        fail(s, i, e == EAFNOSUPPORT ? SCAN_UNREACHABLE : SCAN_ERROR, errno_text(s, e));
        return true;
    }
    if (now - s->slots[i].start >= s->timeout) {
        fail(s, i, SCAN_ERROR, "too many open files");
        return true;
    }
    s->waiting = i;
    s->cap = s->inflight;
    s->cap_at = now;
    return false;
}

/* Open the socket and start connecting; the EPOLLOUT that ends the connect
 * comes as an event (also for a connect that completed at once). */
static bool
start(struct scan *s, uint32_t i, int64_t now)
{
    struct slot            *sl = &s->slots[i];
    struct sockaddr_storage ss;
    socklen_t               len = sockaddr_of(&sl->t, &ss);
    struct epoll_event      ev = { .events = EPOLLIN | EPOLLOUT | EPOLLET, .data.u32 = i };
    int                     e;

    if (!budget_take())
        return no_socket(s, i, EMFILE, now);
    if ((sl->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
        e = errno;
        budget_give();
        return no_socket(s, i, e, now);
    }
    sl->start = now;
    if (connect(sl->fd, (struct sockaddr *)&ss, len) != 0 && errno != EINPROGRESS &&
        errno != EINTR) {
        e = errno;
        fail(s, i, outcome_of_errno(e), errno_text(s, e));
        return true;
    }
    if (epoll_ctl(s->ep, EPOLL_CTL_ADD, sl->fd, &ev) != 0) {
        e = errno;
        fail(s, i, SCAN_ERROR, errno_text(s, e));
        return true;
    }
    sl->phase = P_CONNECT;
    list_append(s, i);
    s->inflight++;
    return true;
}

/* The connect ended: on success, the TLS object for the handshake. */
static bool
connected(struct scan *s, uint32_t i)
{
    struct slot *sl = &s->slots[i];
    int          e = 0;
    socklen_t    n = sizeof(e);

    if (getsockopt(sl->fd, SOL_SOCKET, SO_ERROR, &e, &n) != 0)
        e = errno;
    if (e != 0) {
        fail(s, i, outcome_of_errno(e), errno_text(s, e));
        return false;
    }
    if ((sl->ssl = SSL_new(s->ctx)) == NULL || SSL_set_fd(sl->ssl, sl->fd) != 1 ||
        (sl->t.sni != NULL && sl->t.sni[0] != '\0' &&
         SSL_set_tlsext_host_name(sl->ssl, sl->t.sni) != 1)) {
        fail(s, i, SCAN_ERROR, "cannot set up TLS");
        return false;
    }
    SSL_set_connect_state(sl->ssl);
    list_remove(s, i);
    sl->used = time_mono_ms() - sl->start;
    sl->cost_ns = 0;
    sl->phase = P_READY;
    sl->next = NONE;
    if (s->ready_tail != NONE)
        s->slots[s->ready_tail].next = i;
    else
        s->ready_head = i;
    s->ready_tail = i;
    return true;
}

/* How many handshakes may be under way: what this thread finishes in half
 * the time-out at the measured cost of one, and no more than the memory
 * budget allows (hs_max: each may hold SCAN_HANDSHAKE_MEMORY). */
static uint32_t
hs_cap(const struct scan *s)
{
    int64_t cost = s->hs_cost_us > 0 ? s->hs_cost_us : 1;
    int64_t n = s->timeout * 1000 / 2 / cost;

    if (s->hs_max > 0 && n > s->hs_max)
        n = s->hs_max;
    return n < HS_MIN ? HS_MIN : n > (int64_t)s->nslots ? s->nslots : (uint32_t)n;
}

static void
handshake(struct scan *s, uint32_t i)
{
    SSL *ssl = s->slots[i].ssl;
    int  n, e, sys;

    struct timespec t0, t1;

    ERR_clear_error();
    errno = 0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    n = SSL_do_handshake(ssl);
    sys = errno;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    s->slots[i].cost_ns += (t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec);
    if (n == 1) {
        tls_done(s, i);
        return;
    }
    e = SSL_get_error(ssl, n);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
        return; /* it read or wrote until EAGAIN: the next edge comes */
    fail(s, i, SCAN_HANDSHAKE, handshake_failure(s, e, sys));
}

static void
on_event(struct scan *s, uint32_t i, uint32_t events)
{
    struct slot *sl = &s->slots[i];

    if (sl->phase == P_CONNECT) {
        if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) == 0)
            return;
        connected(s, i); /* ready: its handshake starts in its turn (promote) */
        return;
    }
    if (sl->phase == P_HANDSHAKE)
        handshake(s, i);
}

/* ---- the loop ---------------------------------------------------------- */

/* A slot with the next target, or NONE when none is free or there are no
 * more targets. Its server name is copied (a too long one fails at once). */
static uint32_t
take(struct scan *s, int64_t now)
{
    for (;;) {
        uint32_t     i = s->free;
        struct slot *sl;
        size_t       n;

        if (s->exhausted || i == NONE)
            return NONE;
        sl = &s->slots[i];
        memset(&sl->t, 0, sizeof(sl->t));
        if (!s->next(s->arg, &sl->t)) {
            s->exhausted = true;
            return NONE;
        }
        s->free = sl->next;
        sl->phase = P_IDLE;
        sl->start = now;
        if (sl->t.sni == NULL)
            return i;
        n = strnlen(sl->t.sni, SCAN_SNI_MAX + 1);
        memcpy(sl->sni, sl->t.sni, n > SCAN_SNI_MAX ? SCAN_SNI_MAX : n);
        sl->sni[n > SCAN_SNI_MAX ? SCAN_SNI_MAX : n] = '\0';
        sl->t.sni = sl->sni;
        if (n <= SCAN_SNI_MAX)
            return i;
        fail(s, i, SCAN_ERROR, "server name too long");
    }
}

/* May one more pair start? Always when none is in flight, so that a target
 * waiting for a descriptor is retried. */
static bool
room(struct scan *s, int64_t now)
{
    if (s->cap < s->nslots && now - s->cap_at >= CAP_RESTORE_MS)
        s->cap = s->nslots;
    return s->inflight < s->cap || s->inflight == 0;
}

static void
fill(struct scan *s, int64_t now)
{
    while (room(s, now)) {
        uint32_t i = s->waiting;

        if (i != NONE)
            s->waiting = NONE;
        else if ((i = take(s, now)) == NONE)
            return;
        if (!start(s, i, now))
            return;
    }
}

static void
expire(struct scan *s, int64_t now)
{
    while (s->head != NONE && now - s->slots[s->head].start >= s->timeout) {
        uint32_t i = s->head;

        fail(s, i, SCAN_TIMEOUT,
             s->slots[i].phase == P_CONNECT ? "timed out connecting"
                                            : "timed out in the TLS handshake");
    }
}

/* Ready pairs start their handshakes while there is room; each gets what the
 * connect left of its time-out, counted from now. */
static void
promote(struct scan *s, int64_t now)
{
    while (s->ready_head != NONE && s->handshaking < hs_cap(s)) {
        uint32_t     i = s->ready_head;
        struct slot *sl = &s->slots[i];

        s->ready_head = sl->next;
        if (s->ready_head == NONE)
            s->ready_tail = NONE;
        sl->start = now - sl->used;
        sl->phase = P_HANDSHAKE;
        s->handshaking++;
        list_insert(s, i);
        handshake(s, i);
    }
}

/* Until the nearest deadline, at most TICK_MS. */
static int
wait_ms(const struct scan *s, int64_t now)
{
    int64_t t = s->waiting != NONE && s->inflight == 0 ? RETRY_MS : TICK_MS;

    if (s->head != NONE) {
        int64_t d = s->slots[s->head].start + s->timeout - now;

        if (d < t)
            t = d > 0 ? d : 0;
    }
    return (int)t;
}

/* Every pair still open is dropped without a result. */
static void
abandon(struct scan *s)
{
    for (uint32_t i = 0; i < s->nslots; i++)
        if (s->slots[i].phase != P_FREE)
            release(s, i);
    s->waiting = s->ready_head = s->ready_tail = NONE;
}

static int
loop(struct scan *s, struct errbuf *eb)
{
    struct epoll_event ev[EVENTS_MAX];

    for (;;) {
        int64_t now = time_mono_ms();
        int     n, e;

        if (s->canceled != NULL && s->canceled(s->arg)) {
            abandon(s);
            return E_OK;
        }
        fill(s, now);
        promote(s, now);
        if (s->exhausted && s->inflight == 0 && s->waiting == NONE)
            return E_OK;
        int wait = s->ready_head != NONE && s->handshaking < hs_cap(s)
                       ? 0
                       : wait_ms(s, time_mono_ms());
        /* Every event waiting is read before a deadline is judged: a refusal or
         * an answer that came in time is not a time-out for being read late
         * (for at most TICK_MS, so that a cancel is still heard). */
        int64_t drain_end = time_mono_ms() + TICK_MS;
        do {
            n = epoll_wait(s->ep, ev, EVENTS_MAX, wait);
            if (n < 0 && (e = errno) != EINTR) {
                abandon(s);
                return errbuf_set(eb, E_INTERNAL, "scan: epoll_wait: %s", errno_text(s, e));
            }
            for (int k = 0; k < n; k++)
                on_event(s, ev[k].data.u32, ev[k].events);
            wait = 0;
        } while (n == EVENTS_MAX && time_mono_ms() < drain_end);
        expire(s, time_mono_ms());
    }
}

/* ---- setting up -------------------------------------------------------- */

static int
scan_init(struct scan *s, const struct scan_opts *o, struct errbuf *eb)
{
    unsigned conc = o != NULL ? o->concurrency : 0;
    int64_t  timeout = o != NULL ? o->timeout_ms : 0;

    if (conc > SCAN_CONCURRENCY_MAX || timeout < 0)
        return errbuf_set(eb, E_BADREQ, "scan: concurrency must be 0..%d, timeout_ms >= 0",
                          SCAN_CONCURRENCY_MAX);
    s->nslots = s->cap = conc != 0 ? conc : SCAN_CONCURRENCY_DEFAULT;
    s->timeout = timeout != 0 ? timeout : SCAN_TIMEOUT_DEFAULT;
    s->free = s->head = s->tail = s->waiting = s->ready_head = s->ready_tail = NONE;
    s->hs_cost_us = HS_COST_US;
    s->hs_max = o != NULL ? o->handshakes_max : 0;
    if ((s->slots = calloc(s->nslots, sizeof(*s->slots))) == NULL)
        return errbuf_set(eb, E_INTERNAL, "scan: out of memory for %u slots", s->nslots);
    for (uint32_t i = s->nslots; i-- > 0;) {
        s->slots[i].fd = -1;
        s->slots[i].next = s->free;
        s->free = i;
    }
    if ((s->ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
        return errbuf_set(eb, E_INTERNAL, "scan: epoll_create1: %s", errno_text(s, errno));
    if ((s->ctx = ctx_new()) == NULL)
        return errbuf_set(eb, E_INTERNAL, "scan: cannot make the TLS context");
    return E_OK;
}

static void
scan_fini(struct scan *s)
{
    if (s->ep >= 0)
        close(s->ep);
    SSL_CTX_free(s->ctx);
    free(s->slots);
    free(s->derbuf);
    free(s->der);
    free(s->der_len);
}

int
scan_run(const struct scan_opts *o, bool (*next)(void *arg, struct scan_target *t),
         void (*done)(void *arg, const struct scan_result *r), bool (*canceled)(void *arg),
         void *arg, struct errbuf *eb)
{
    struct scan s = { .next = next, .done = done, .canceled = canceled, .arg = arg, .ep = -1 };
    sigset_t    old;
    int         rc;

    if (next == NULL || done == NULL)
        return errbuf_set(eb, E_BADREQ, "scan: next and done are required");
    pthread_once(&nofile_once, raise_nofile);
    if ((rc = scan_init(&s, o, eb)) == E_OK) {
        sigpipe_block(&old);
        rc = loop(&s, eb);
        sigpipe_restore(&old);
    }
    scan_fini(&s);
    return rc;
}
