/* webhook.h - webhooks (API.md 7.2): the signed HTTPS POST of one delivery
 * (webhook.c), and webhook_emit, through which the resources that have events
 * (certificates, discovery runs) record the deliveries of an event (emit.c).
 * The deliveries are sent in the background by notify/deliver.h.
 *
 * A webhook of namespace /acme hears the events of /acme and of every
 * namespace below it (/acme/prod): a tenant configures its notifications once,
 * at the top of its tree, as API authorizations of /acme also reach below.
 */
#ifndef KW_WEBHOOK_H
#define KW_WEBHOOK_H

#include "../core/arena.h"
#include "../core/val.h"

#define WEBHOOK_BODY_MAX     (1024 * 1024) /* an event's JSON body */
#define WEBHOOK_ERROR_MAX    256           /* lastError, with its NUL */
#define WEBHOOK_RESPONSE_MAX (64 * 1024)   /* bytes of an answer read, then discarded */

/* Once in main, before any thread starts (curl_global_init is not
 * thread-safe); E_INTERNAL when libcurl cannot start. _cleanup at exit. */
int  webhook_global_init(struct errbuf *eb);
void webhook_global_cleanup(void);

/* One delivery to send. Strings are borrowed for the call. */
struct webhook_post {
    const char *url;      /* checked by webhook_url_check; libcurl allows https only */
    struct str  body;     /* JSON */
    struct str  secret;   /* HMAC-SHA256 key of X-Keyward-Signature */
    struct str  ca_pem;   /* trusted instead of the system's store when not empty */
    const char *event;    /* X-Keyward-Event */
    const char *delivery; /* X-Keyward-Delivery: the delivery's ID, for receivers
                             to drop a repeat */
    int64_t timeout_ms;   /* the whole attempt */
    /* Asked about once a second while the attempt runs: true aborts it. */
    bool (*canceled)(void *arg);
    void *arg;
};

/* What an attempt got. */
struct webhook_result {
    long code;                     /* the HTTP status; 0 when no answer came */
    bool canceled;                 /* aborted by post->canceled */
    char error[WEBHOOK_ERROR_MAX]; /* why the attempt failed; "" for a 2xx answer */
};

/* POST post->body to post->url, signed, and wait for the answer (at most
 * post->timeout_ms): E_OK for a 2xx answer; otherwise E_UNAVAILABLE with the
 * reason in res->error (the status for other answers; the transport's error;
 * "the host's address is outside webhook_allowed_networks" (the address is
 * logged, not shown) when the only addresses
 * the host resolved to were refused: the check is made on the address each
 * connection is opened to, after resolution). Only https, no redirect
 * followed, no proxy, the peer's certificate and host name verified. The
 * answer's body is read up to WEBHOOK_RESPONSE_MAX and dropped. Thread-safe
 * (a libcurl handle per call). */
int webhook_post(const struct webhook_post *post, struct webhook_result *res);

struct tx;

/* Inside a writer transaction: record one delivery of `event` (one of
 * webhook_events) for every enabled webhook of namespace `ns` or of one of
 * its ancestors whose `events` has it, each a PENDING webhookdelivery of the
 * webhook's namespace, with its delivery job (webhook.deliver) queued in the
 * same transaction: they commit with the change that caused the event, or not
 * at all. The body sent is
 *   {"event": event, "time": now, "namespace": ns, <payload_key>: payload}
 * where payload is `payload_obj` as the API answers it (write-only
 * attributes dropped, "object" added, when payload_key names a resource:
 * "certificate", "discoveryRun"). A delivery's certificateID is
 * payload_obj's "ID" when payload_key is "certificate". Delivery workers are
 * woken after the commit (jobs_enqueue_tx): the caller has nothing to do
 * after it. Without a delivery runtime (tools) nothing is recorded. A body larger than
 * WEBHOOK_BODY_MAX is not sent: its deliveries are recorded FAILED at once. Allocations in `a`.
 * E_OK when no webhook listens; E_INTERNAL for an unknown event; a store error otherwise (the
 * caller's job then fails as a whole). */
int webhook_emit(struct tx *tx, struct arena *a, struct str ns, const char *event,
                 const struct val *payload_obj, const char *payload_key, struct errbuf *eb);

#endif
