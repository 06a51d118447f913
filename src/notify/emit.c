/* emit.c - webhook_emit (see webhook.h): the deliveries of one event,
 * recorded in the transaction of the change that caused it. */
#include "webhook.h"

#include "../core/codec.h"
#include "../core/timeutil.h"
#include "../model/specs.h"
#include "../model/validate.h"
#include "../store/store.h"
#include "deliver.h"

/* What an event tells: the same body for every webhook that hears it. */
struct event {
    const char *name;
    struct str  ns;      /* where it happened */
    struct str  cert_id; /* certificate.* events */
    struct buf  body;    /* JSON */
    bool        too_big; /* past WEBHOOK_BODY_MAX: recorded FAILED, not sent */
    int64_t     now;
};

static bool
event_known(const char *name)
{
    for (const char *const *e = webhook_events; *e != NULL; e++)
        if (strcmp(*e, name) == 0)
            return true;
    return false;
}

/* The resource `key` names ("certificate", "discoveryRun"), or NULL. */
static const struct spec *
payload_spec(const char *key)
{
    for (size_t i = 0; i < spec_count; i++)
        if (str_eq_nocase(str_c(spec_all[i]->identity), key))
            return spec_all[i];
    return NULL;
}

/* {"event", "time", "namespace", <key>: the payload as the API answers it}. */
static int
body_encode(struct arena *a, struct event *ev, const struct val *payload, const char *key)
{
    const struct spec *s = payload_spec(key);
    struct val         body = val_map(), p = val_clone(a, payload);
    int                rc;

    if (s != NULL && p.t == V_MAP)
        object_present(a, s, &p);
    val_set(a, &body, "event", val_cstr(ev->name));
    val_set(a, &body, "time", val_time(a, ev->now));
    val_set(a, &body, "namespace", val_str(ev->ns));
    val_set(a, &body, key, p);
    buf_init(&ev->body, WEBHOOK_BODY_MAX);
    rc = json_encode(&body, &ev->body);
    ev->too_big = rc == E_TOOBIG;
    return rc == E_TOOBIG ? E_OK : rc;
}

static bool
hears(const struct val *hook, const char *event)
{
    const struct val *off = val_get(hook, "disabled"), *events = val_get(hook, "events");

    if ((off != NULL && off->t == V_BOOL && off->b) || events == NULL || events->t != V_ARR)
        return false;
    for (size_t i = 0; i < events->a.n; i++)
        if (events->a.v[i].t == V_STR && str_eq_c(events->a.v[i].s, event))
            return true;
    return false;
}

/* A new delivery of `ev` for webhook `hook`, in the webhook's namespace. */
static int
delivery_new(struct arena *a, const struct val *hook, const struct event *ev, int64_t due,
             struct val *d, struct errbuf *eb)
{
    struct val none = val_map();
    int rc = object_new(a, &spec_webhookdelivery, val_get_str(hook, "namespace"), &none, d, eb);

    if (rc != E_OK)
        return rc;
    val_set(a, d, "webhookID", val_str(val_get_str(hook, "ID")));
    val_set(a, d, "event", val_cstr(ev->name));
    if (ev->cert_id.len > 0)
        val_set(a, d, "certificateID", val_str(ev->cert_id));
    val_set(a, d, "attempts", val_int(0));
    val_set(a, d, "status", val_cstr(ev->too_big ? "FAILED" : "PENDING"));
    if (ev->too_big)
        val_set(a, d, "lastError", val_cstr("the event's body is larger than 1 MiB: not sent"));
    else
        val_set(a, d, "nextAttemptTime", val_time(a, due));
    tags_normalize(a, &spec_webhookdelivery, d);
    return E_OK;
}

/* Record the delivery for one webhook and queue its job, in `tx`. */
static int
deliver_to(struct tx *tx, struct arena *a, const struct val *hook, const struct event *ev,
           struct errbuf *eb)
{
    int64_t    due = delivery_due(val_get_str(hook, "namespace"), ev->now);
    struct val d;
    int        rc = delivery_new(a, hook, ev, due, &d, eb);

    if (rc == E_OK && (rc = tx->ops->insert(tx, &spec_webhookdelivery, &d)) != E_OK)
        return errbuf_set(eb, rc, "cannot record a webhook delivery (%d)", rc);
    if (rc != E_OK || ev->too_big)
        return rc;
    rc = jobs_enqueue_tx(webhook_runtime(), tx, WEBHOOK_DELIVER_JOB, val_get_str(&d, "ID"),
                         buf_str(&ev->body), due, NULL);
    return rc == E_OK ? E_OK : errbuf_set(eb, rc, "cannot queue a webhook delivery (%d)", rc);
}

/* The webhooks of namespace `ns` itself that hear the event, pushed on `out`. */
static int
listeners_in(struct tx *tx, struct arena *a, struct str ns, const char *event, struct val *out,
             struct errbuf *eb)
{
    struct listq q = { .scope = { ns, false }, .limit = -1 };
    struct val   hooks;
    int          rc = tx->ops->list(tx, &spec_webhook, &q, a, &hooks);

    if (rc != E_OK)
        return errbuf_set(eb, rc, "cannot list the webhooks of '%.*s' (%d)", STR_FMT(ns), rc);
    for (size_t i = 0; i < hooks.a.n; i++)
        if (hears(&hooks.a.v[i], event))
            val_push(a, out, hooks.a.v[i]);
    return E_OK;
}

/* "/a/b" -> "/a" -> "/"; false after "/". */
static bool
parent_of(struct str *ns)
{
    size_t i = ns->len;

    if (ns->len <= 1)
        return false;
    while (i > 0 && ns->p[i - 1] != '/')
        i--;
    ns->len = i > 1 ? i - 1 : 1;
    return true;
}

int
webhook_emit(struct tx *tx, struct arena *a, struct str ns, const char *event,
             const struct val *payload_obj, const char *payload_key, struct errbuf *eb)
{
    struct event ev = { .name = event, .ns = ns, .now = time_now_ms() };
    struct val   hooks = val_arr();
    struct str   at = ns;
    int          rc;

    if (event == NULL || !event_known(event) || payload_key == NULL || payload_obj == NULL)
        return errbuf_set(eb, E_INTERNAL, "webhook_emit: unknown event or no payload");
    if (webhook_runtime() == NULL)
        return E_OK; /* no delivery runtime (tools, tests): nothing would send them */
    do
        rc = listeners_in(tx, a, at, event, &hooks, eb);
    while (rc == E_OK && parent_of(&at));
    if (rc != E_OK || hooks.a.n == 0) /* most events: nobody listens, nothing to encode */
        return rc;
    if (strcmp(payload_key, "certificate") == 0)
        ev.cert_id = val_get_str(payload_obj, "ID");
    if ((rc = body_encode(a, &ev, payload_obj, payload_key)) != E_OK)
        rc = errbuf_set(eb, rc, "cannot encode the '%s' event", event);
    for (size_t i = 0; i < hooks.a.n && rc == E_OK; i++)
        rc = deliver_to(tx, a, &hooks.a.v[i], &ev, eb);
    buf_free(&ev.body);
    return rc;
}
