/* req.h - one API request, from the HTTP layer's parse to the encoded answer.
 *
 * The HTTP layer (http/conn.c) fills the input half, calls api_handle(), and
 * sends what api_finish() encoded into reply. Everything hangs off the request's arena. A
 * request that queued a write is suspended; the writer thread completes it and
 * calls resume(). Only one thread touches a request at a time.
 */
#ifndef KW_REQ_H
#define KW_REQ_H

#include "../core/buf.h"
#include "../core/codec.h"
#include "../core/val.h"
#include "../model/spec.h"

enum method { M_GET, M_HEAD, M_POST, M_PUT, M_DELETE, M_OTHER };

/* "GET" ... "DELETE", and "?" for M_OTHER: the one table of method names. */
static inline const char *
method_name(enum method m)
{
    static const char *const names[] = { "GET", "HEAD", "POST", "PUT", "DELETE", "?" };

    return (unsigned)m < M_OTHER ? names[m] : names[M_OTHER];
}

struct qparam {
    struct str k, v; /* percent-decoded */
};

struct principal;
struct spec;

#define PEER_OU_MAX 8

/* The TLS client certificate of the request's connection, checked once per
 * connection by the HTTP layer (http/peer.c), which knows nothing of realms:
 * it only verifies the chain and reads the names. Lives as long as the
 * connection. */
struct peer_cert {
    bool verified;      /* chains to the client CA, within its validity period,
                           for TLS clients (extendedKeyUsage clientAuth) */
    const char *reason; /* why not verified: static text for the log */
    const char *cn, *o; /* first CN and O, UTF-8, "" when absent */
    const char *ou[PEER_OU_MAX];
    size_t      nou;
    char        serial[65]; /* lowercase hex of the serial (pki_serial_hex) */
    int64_t     not_after_ms;
};

struct route_def;
struct spec_action;

/* Where a URL points (api/routes.h). */
struct route {
    const struct route_def   *def;    /* the table's row; NULL: unknown path */
    const struct spec_action *action; /* /things/:id/<action> */
    const struct spec        *spec;   /* the resource, or the child resource */
    const struct spec        *parent; /* for /things/:id/children */
    struct str                id;     /* :id, empty for collections */
    const char *link_attr; /* the children of an object (not a namespace): the child's
                              attribute that holds its parent's ID ("webhookID") */
    struct str link_id;    /* that parent's ID */
    struct str rest;       /* what a "/ *" row's pattern left of the raw path */
};

/* A response header beyond the ones every answer has (static strings or arena). */
struct resp_header {
    const char         *k, *v;
    struct resp_header *next;
};

struct req {
    struct arena *a;

    /* input (HTTP layer) */
    enum method             method;
    struct str              path;     /* percent-decoded, without the query */
    struct str              raw_path; /* as sent, without the query */
    struct qparam          *params;
    size_t                  nparams;
    struct str              authorization, x_namespace, content_type, accept, idem_key;
    struct str             *fields; /* X-Fields, split at commas, trimmed */
    size_t                  nfields;
    struct str              client_ip;
    const struct peer_cert *peer;  /* NULL when no client certificate was presented */
    bool                    plain; /* via pki_listen: only rows flagged plain serve it */
    struct buf              body;
    int64_t                 body_max;  /* the route's body limit (api_prepare) */
    struct errbuf           route_err; /* why routing failed (answered once the body is read) */
    char                    trace[17];

    /* resolved by the API */
    enum codec        in, out;
    bool              raw_body; /* the body is the resource's spec.raw_attr, as sent */
    struct route      route;
    struct principal *who;
    struct str        ns;

    /* output */
    int                  status;
    struct val           resp;
    bool                 has_resp;
    bool                 list_resp;   /* resp is a list: X-Fields apply to each item */
    int64_t              count_total; /* X-Count-Total when >= 0 */
    struct str           next;        /* X-Next */
    struct str           location;    /* Location (redirects) */
    struct resp_header  *headers;     /* more response headers, in order: api_header() */
    struct resp_header **headers_tail;
    bool            raw_reply; /* reply and reply_type were set by the handler: no encoding */
    struct hook_ctx hook;      /* what the resource's hooks see: the arena, namespace and
                                  ID, answer-only fields and a secret shown once */
    bool        audited;       /* the audit entry is written (api/audit.c) */
    struct str *audit_claims;  /* token requests: who the caller claims to be */
    size_t      naudit_claims; /* (audit_claimed) */
    struct buf  reply;         /* the encoded body */
    const char *reply_type;    /* its Content-Type */
    bool        csv;           /* Accept chose text/csv (list GETs only); errors stay JSON */
    const char *accepted;      /* Accept chose this body type of a read action's own
                                  (spec_action.produces); errors stay JSON. NULL: none */

    /* A streamed answer: instead of reply, the handler sets reply_type, status
     * and `stream`, which the HTTP layer calls on the request's worker thread
     * each time the connection's output has drained, to append the next piece
     * of the body to `out` (at most STREAM_PIECE bytes, as a rule). It returns
     * 1 when more follows, 0 at the end, < 0 on an error (the head is sent by
     * then: the connection is closed without the end of the body). The HTTP
     * layer frames the pieces (chunked for HTTP/1.1), sends only the head to
     * HEAD, and calls stream_end exactly once (at the end, on an error, or when
     * the connection goes for any reason), which releases what stream_arg
     * holds. */
    int (*stream)(struct req *r, struct buf *out);
    void (*stream_end)(struct req *r);
    void *stream_arg;

    /* suspension: the engine calls suspend() (on the request's thread) before it
     * queues a write, whose completion calls resume() from the writer thread */
    bool pending;
    void (*suspend)(struct req *r);
    void (*resume)(struct req *r);
    void *conn;
    /* batching: the caller may take API_LATER (can_later); the engine's
     * state of a request that did (engine.c: struct later) */
    bool  can_later;
    void *later;
};

/* API_LATER: a read the caller may batch with others of its thread (only
 * when r->can_later): it calls api_batch with every request so answered
 * (at most API_BATCH_MAX at once), then api_handle_later for each. */
enum api_result { API_DONE, API_PENDING, API_LATER };
#define API_BATCH_MAX 64

/* What a stream producer should append per call, at most (a little more is
 * fine: one row past the mark). */
#define STREAM_PIECE (64 * 1024)

/* Route a request whose head is read (method, path, raw_path, headers): sets
 * r->route and r->body_max, the limit the HTTP layer applies to the body,
 * judged with the head for a body of body_len bytes (-1: chunked, unknown;
 * 0: none). A routing error is kept and answered by api_handle. */
void api_prepare(struct req *r, int64_t body_len);
/* Serve a fully received request. API_PENDING means a write was queued and
 * r->resume() will be called (from another thread) once the answer is ready. */
enum api_result api_handle(struct req *r);
/* The reads of requests answered API_LATER, in one round trip of the store. */
void api_batch(struct req **rs, size_t n);
/* Serve a request answered API_LATER once api_batch has run: API_DONE, or
 * API_PENDING as api_handle. */
enum api_result api_handle_later(struct req *r);
/* Encode the answer (r->out, r->out_type) from status/resp; call once, on the
 * thread that will send it. */
void api_finish(struct req *r);
/* Release what the request holds (principal); the HTTP layer calls it once the
 * answer is sent or the connection dropped. */
void api_release(struct req *r);
/* Set the answer to the error list for `eb` (logged once, with the trace id). */
void api_error(struct req *r, const struct errbuf *eb);
/* Convenience: api_error from a code and a message. */
void api_fail(struct req *r, enum err code, const char *msg);
/* Add a response header (name and value: static strings or in the request's
 * arena; the value must not hold CR or LF). E_INTERNAL, logged, when more
 * than RESP_HEADERS_MAX were added or the value is unsafe: the header is
 * dropped. */
#define RESP_HEADERS_MAX 32
int api_header(struct req *r, const char *k, const char *v);
/* E_METHOD, with the Allow header naming `methods` (bits 1u << enum method),
 * as RFC 9110 15.5.6 wants of a 405. */
int api_not_allowed(struct req *r, unsigned methods, struct errbuf *eb);

#endif
