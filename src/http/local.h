/* local.h - what the files of http/ share, and nothing outside uses: a
 * connection and its states (conn.c), the worker that owns it (server.c), and
 * the transport its bytes travel through (transport.c). */
#ifndef KW_HTTP_LOCAL_H
#define KW_HTTP_LOCAL_H

#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

#include <openssl/ssl.h>

#include "../api/req.h"
#include "parse.h"
#include "server.h"

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
    unsigned                answered;  /* requests answered in this turn of events */
    bool                    in_again;  /* on the worker's again list */
    struct conn            *again_next;
    struct conn            *later_next; /* on the worker's later list (run_later) */
    uint64_t                streamed;   /* body bytes a stream has produced */
    struct http_chunked     ck;
    uint64_t                body_left; /* Content-Length bytes still to come */
    uint64_t                body_got;
    const struct peer_cert *peer;
    struct arena           *peer_a;
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
    struct conn    *later; /* requests to serve in one batch (API_LATER) */
    size_t          nconns;
    bool            listening;
    char            date[40];
    time_t          date_sec;
};

/* atomic: connections of all workers (server.c) */
extern size_t open_conns;

/* ---- server.c */

/* Wake worker `w`'s loop: its ready list or its inbox has something. Any
 * thread. */
void wake(struct worker *w);

/* ---- conn.c */

/* Drive the connection as far as the bytes available allow. */
void conn_run(struct conn *c);
/* Close the connection now; its memory stays until reap(). */
void conn_kill(struct conn *c);
/* Free the connections closed in this batch of events. */
void reap(struct worker *w);
/* Encode the answer of c->h into c->out and start writing it. */
void answer(struct conn *c);
/* Go on with the streams of the worker's again list (once per round). */
void run_again(struct worker *w);
/* Serve the requests of this round that asked to be batched (API_LATER). */
void run_later(struct worker *w);

/* ---- transport.c */

extern const struct transport tls_io;   /* the API: TLS (OpenSSL) */
extern const struct transport plain_io; /* the public PKI routes: plain TCP */

/* The TLS context of tls_io: the console's certificate and key, the client
 * CAs to ask for; E_INTERNAL when they cannot be used. */
int tls_init(const struct tls_files *tls, struct errbuf *eb);
/* Free the TLS context (at stop). */
void tls_fini(void);

#endif
