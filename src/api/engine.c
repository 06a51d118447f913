/* engine.c - one generic engine serves every resource spec (API.md section 6).
 *
 * Reads run on the request's thread. Writes are validated here, then queued to
 * the store's writer as a job: the request is suspended, the job runs inside the
 * group transaction (where it sees the current stored object, so update checks
 * and uniqueness are serialised), and the request resumes after the commit.
 */
#include "engine.h"

#include <stdio.h>

#include "../auth/accounts.h"
#include "../auth/authn.h"
#include "../auth/authz.h"
#include "../core/config.h"
#include "../core/digest.h"
#include "../core/log.h"
#include "../core/pool.h"
#include "../core/rnd.h"
#include "../core/timeutil.h"
#include "../model/secrets.h"
#include "../model/specs.h"
#include "../model/validate.h"
#include "../store/store.h"
#include "audit.h"
#include "csv.h"
#include "list.h"
#include "router.h"

#define IDEM_KEY_MAX 255

enum wop { W_CREATE, W_UPDATE, W_DELETE, W_ACTION };

/* What the request's thread checked before queueing a write, for the writer to
 * check again inside the transaction: the namespace's ID tells it from one
 * created later under the same path, and the authorization generation tells
 * whether a namespace delete (whose cascade removed policies) committed since. */
struct checked {
    struct str ns_id; /* empty for "/", which always exists */
    uint64_t   gen;   /* authz_generation() before the authorization */
    unsigned   verb;
};

/* A write in flight: everything the writer thread needs, in the request arena. */
struct wreq {
    struct wjob        job;
    struct req        *r;
    const struct spec *s;
    enum wop           op;
    struct checked     ck;
    struct val         body; /* W_UPDATE: the client's object */
    struct val         obj;  /* W_CREATE: the object to insert */
    bool               override;
    struct str         idem_key, idem_fp; /* hex SHA-256, empty without the header */
    struct val         once_only;         /* keys of r->once the stored object lacks */
    struct errbuf      eb;
};

/* ---- small helpers ----------------------------------------------------- */

/* API authorizations judge the request's principal, namespace and address. */
static int
authorize(const struct req *r, const struct spec *s, unsigned verb, struct errbuf *eb)
{
    struct authz_query q = { r->a, r->who, r->ns, r->client_ip };

    return authz_check(&q, s, verb, eb);
}

/* hook_ctx.may: the request's principal judged on another spec and namespace. */
static int
hook_may(const struct hook_ctx *ctx, const struct spec *s, unsigned verb, struct str ns,
         struct errbuf *eb)
{
    const struct req  *r = (const struct req *)((const char *)ctx - offsetof(struct req, hook));
    struct authz_query q = { r->a, r->who, ns, r->client_ip };

    return authz_check(&q, s, verb, eb);
}

/* hook_ctx.holds: the same, judged for a whole network. */
static int
hook_holds(const struct hook_ctx *ctx, const struct spec *s, unsigned verb, struct str ns,
           const struct cidr *from, struct errbuf *eb)
{
    const struct req  *r = (const struct req *)((const char *)ctx - offsetof(struct req, hook));
    struct authz_query q = { r->a, r->who, ns, r->client_ip, from };

    return authz_check(&q, s, verb, eb);
}

static struct str
sha256_hex(struct arena *a, const struct str *parts, size_t n)
{
    unsigned char md[SHA256_LEN];
    char         *hex = arena_alloc(a, 65);

    digest_sha256_parts(parts, n, md);
    hex_encode(md, sizeof md, hex);
    return (struct str){ hex, 64 };
}

static struct str
now_str(struct arena *a, int64_t ms)
{
    return val_time(a, ms).s;
}

static void
answer(struct req *r, int status, struct val v, bool list)
{
    r->status = status;
    r->resp = v;
    r->has_resp = true;
    r->list_resp = list;
}

/* ---- reads ------------------------------------------------------------- */

/* pageSize=0 ("all") in text/csv is every match, not capped by page_size_max
 * (API.md 7.3): the rows are streamed, never held. Its only page is the first. */
static int
serve_csv(struct req *r, const struct spec *s, struct listq *q, struct errbuf *eb)
{
    struct str size = req_param(r, "pageSize");
    int64_t    n;

    if (size.p == NULL)
        size = req_param(r, "pagesize");
    if (size.p != NULL && str_to_i64(size, &n) == E_OK && n == 0) {
        q->limit = q->offset == 0 ? -1 : 0; /* list_query made it page_size_max */
        q->offset = 0;
    }
    return csv_stream(r, s, q, eb);
}

/* The object `after` names must be one of this list's scope: the page goes on
 * from its place in the order, which a deleted object no longer has (and one
 * of another namespace must not reveal). A 400 tells the client that its walk
 * broke, where an empty page would say it had ended. */
static int
cursor_check(struct req *r, const struct spec *s, const struct listq *q, struct errbuf *eb)
{
    struct val obj;
    int        rc;

    if (q->after.len == 0)
        return E_OK;
    rc = kw_store->ops->find(kw_store, s, &q->scope, "ID", q->after, r->a, &obj, eb);
    if (rc == E_NOTFOUND)
        return errbuf_attr(eb, E_BADREQ, "after",
                           "Query parameter 'after' names no object of this list (deleted, or "
                           "in another namespace): list again without 'after'");
    return rc;
}

static int
serve_list(struct req *r, const struct spec *s, struct errbuf *eb)
{
    static const char *const allowed[] = { "page",  "pageSize",  "pagesize", "limit", "after",
                                           "order", "recursive", "q",        NULL };
    struct listq             q;
    struct val               items;
    int64_t                  total = -1;
    int                      rc;

    if ((rc = req_params_check(r, allowed, eb)) != E_OK)
        return rc;
    if ((rc = list_query(r, s, &q, eb)) != E_OK || (rc = cursor_check(r, s, &q, eb)) != E_OK)
        return rc;
    if (r->csv) {
        const struct str *cols;
        size_t            ncols;
        csv_columns(r, s, &cols, &ncols);
        list_project(r, s, &q, cols, ncols);
    } else if (r->nfields > 0)
        list_project(r, s, &q, r->fields, r->nfields);
    q.want_total = true;
    if (r->method == M_HEAD)
        q.limit = 0;
    else if (r->csv && req_param(r, "limit").p == NULL)
        return serve_csv(r, s, &q, eb);
    rc = kw_store->ops->list(kw_store, s, &q, r->a, &items, &total, eb);
    if (rc != E_OK)
        return rc;
    r->count_total = total;
    if (r->method != M_HEAD)
        list_next_cursor(r, &q, &items);
    for (size_t i = 0; i < items.a.n; i++)
        object_present(r->a, s, &items.a.v[i]);
    if (r->method == M_HEAD)
        r->status = 204;
    else if (r->csv)
        return csv_reply(r, s, &items, eb); /* a cursor page: X-Next is known now */
    else
        answer(r, 200, items, true);
    return E_OK;
}

/* A GET of one object by ID that waits to be read with the others of its
 * thread (API_LATER, engine_batch): one round trip of the store for all,
 * with one look at the other servers' writes, taken after each came. */
struct later {
    bool           in_batch; /* engine_batch read `f` for it (else it is served as usual) */
    bool           used;     /* serve_get took `f` */
    enum others    others;   /* what the batch's look found */
    struct find_id f;
};

/* The object engine_batch read for this request when it read what would be
 * asked now; else the store is asked. */
static int
find_by_id(struct req *r, const struct spec *s, const struct scope *sc, struct val *obj,
           struct errbuf *eb)
{
    struct later *l = r->later;

    if (l == NULL || !l->in_batch || !l->f.read || l->used || l->f.s != s ||
        !str_eq(l->f.sc.ns, sc->ns) || l->f.sc.recursive != sc->recursive ||
        !str_eq(l->f.id, r->route.id))
        return kw_store->ops->find(kw_store, s, sc, "ID", r->route.id, r->a, obj, eb);
    l->used = true;
    if (l->f.rc == E_NOTFOUND)
        return errbuf_set(eb, E_NOTFOUND, "Could not find the object");
    if (l->f.rc != E_OK)
        return errbuf_set(eb, l->f.rc, "store error");
    *obj = l->f.out;
    return E_OK;
}

static int
get_scope(const struct req *r, struct scope *sc, struct errbuf *eb)
{
    *sc = (struct scope){ r->ns, false };
    return req_param_bool(r, "recursive", &sc->recursive, eb);
}

static int
serve_get(struct req *r, const struct spec *s, struct errbuf *eb)
{
    static const char *const allowed[] = { "recursive", NULL };
    struct scope             sc;
    struct val               obj;
    int                      rc;

    if ((rc = req_params_check(r, allowed, eb)) != E_OK || (rc = get_scope(r, &sc, eb)) != E_OK)
        return rc;
    rc = find_by_id(r, s, &sc, &obj, eb);
    if (rc != E_OK)
        return rc;
    object_present(r->a, s, &obj);
    if (r->method == M_HEAD)
        r->status = 204;
    else
        answer(r, 200, obj, false);
    return E_OK;
}

/* ---- writes (writer thread) -------------------------------------------- */

static int
idem_replay(struct tx *tx, struct wreq *w, bool *found)
{
    struct str fp, body;
    int        status;
    int        rc = tx->ops->idem_get(tx, w->idem_key, w->r->a, &fp, &status, &body);

    *found = false;
    if (rc == E_NOTFOUND)
        return E_OK;
    if (rc != E_OK)
        return errbuf_set(&w->eb, rc, "store error");
    if (!str_eq(fp, w->idem_fp))
        return errbuf_set(&w->eb, E_IDEMPOTENCY,
                          "The Idempotency-Key was already used for a different request");
    struct val v;
    if (msgpack_decode(w->r->a, body.p, body.len, 64, &v, &w->eb) != E_OK)
        return errbuf_set(&w->eb, E_INTERNAL, "stored answer undecodable");
    for (size_t i = 0; status >= 400 && v.t == V_ARR && i < v.a.n; i++)
        if (v.a.v[i].t == V_MAP) /* an error names this answer's X-Trace-Id (API.md 2) */
            val_set(w->r->a, &v.a.v[i], "trace",
                    val_cstr(arena_strndup(w->r->a, w->r->trace, strlen(w->r->trace))));
    answer(w->r, status, v, false);
    *found = true;
    return E_OK;
}

/* The answer to keep for replays, without the answer-only fields (secrets). */
static struct val
idem_answer(struct wreq *w)
{
    struct val v;

    if (w->once_only.a.n == 0 || w->r->resp.t != V_MAP)
        return w->r->resp;
    v = val_clone(w->r->a, &w->r->resp);
    for (size_t i = 0; i < w->once_only.a.n; i++) {
        struct str k = w->once_only.a.v[i].s;
        val_del(&v, arena_strndup(w->r->a, k.p, k.len));
    }
    return v;
}

static int
idem_keep(struct tx *tx, struct wreq *w)
{
    struct val kept = idem_answer(w);
    struct buf b;
    int        rc;

    buf_init(&b, SIZE_MAX / 2);
    rc = msgpack_encode(&kept, &b);
    if (rc == E_OK)
        rc = tx->ops->idem_put(tx, w->idem_key, w->idem_fp, w->r->status, buf_str(&b),
                               time_now_ms() + cfg.idempotency_ttl);
    buf_free(&b);
    return rc == E_OK ? E_OK : errbuf_set(&w->eb, rc, "store error");
}

/* The seed's words (API.md 2), and the unique attribute that is taken in the
 * error's data, where it is one attribute ({"attribute": "name"}). */
static int
duplicate(struct wreq *w)
{
    const char *u = w->s->unique;

    if (u == NULL || strchr(u, ',') != NULL)
        return errbuf_set(&w->eb, E_DUPLICATE, "Another object exists with the same key");
    return errbuf_attr(&w->eb, E_DUPLICATE, u, "Another object exists with the same key");
}

static int
write_error(struct wreq *w, int rc)
{
    if (rc == E_DUPLICATE)
        return duplicate(w);
    if (rc == E_NOTFOUND)
        return errbuf_set(&w->eb, E_NOTFOUND, "Could not find the object");
    if (rc == E_CONFLICT)
        return errbuf_set(&w->eb, E_CONFLICT,
                          "The object was updated in the meantime: "
                          "read it again and resend it");
    if (rc == E_PROTECTED)
        return errbuf_set(&w->eb, E_PROTECTED,
                          "The object is protected: use ?override=true to change it");
    return errbuf_set(&w->eb, rc, "store error");
}

/* Fields shown once (generated secrets, new credentials) join the answer of a
 * create or an update. Those the stored object lacks are answer-only: the
 * answer kept for Idempotency-Key replays goes without them, so a secret is
 * never stored in clear nor shown twice. */
static void
add_once(struct wreq *w, struct val *out, const struct val *stored)
{
    struct req *r = w->r;

    w->once_only = val_arr();
    for (size_t i = 0; r->hook.once.t == V_MAP && i < r->hook.once.m.n; i++) {
        const struct kv *kv = &r->hook.once.m.kv[i];
        val_set_s(r->a, out, kv->k, kv->v);
        if (val_get_s(stored, kv->k) == NULL)
            val_push(r->a, &w->once_only, val_str(kv->k));
    }
}

static int
ns_gone(struct wreq *w)
{
    return errbuf_set(&w->eb, E_NOTFOUND, "Namespace '%.*s' does not exist", STR_FMT(w->r->ns));
}

/* Inside the transaction: the namespace the request was authorized on is still
 * there, and is still the same one. If a namespace delete committed since the
 * authorization, the policies it was judged by may be gone: judge it again. */
static int
recheck(struct tx *tx, struct wreq *w)
{
    struct req *r = w->r;
    struct val  ns, *id;
    int         rc;

    if (r->ns.len > 1) {
        rc = tx->ops->find(tx, &spec_namespace, NULL, "name", r->ns, r->a, &ns);
        if (rc != E_OK && rc != E_NOTFOUND)
            return errbuf_set(&w->eb, rc, "store error");
        id = rc == E_OK ? val_get(&ns, "ID") : NULL;
        if (id == NULL || id->t != V_STR || !str_eq(id->s, w->ck.ns_id))
            return ns_gone(w);
    }
    if (w->ck.gen != authz_generation())
        return authorize(r, w->s, w->ck.verb, &w->eb);
    return E_OK;
}

/* A create that prepare refused but whose object is kept: the answer is the
 * refusal, and its data names the object (refusal_key: "certificateRequestID"). */
static void
refuse(struct req *r, struct str id)
{
    api_error(r, &r->hook.refusal);
    struct val *e = &r->resp.a.v[0], *d = val_get(e, "data");
    if (d == NULL) {
        val_set(r->a, e, "data", val_map());
        d = val_get(e, "data");
    }
    val_set(r->a, d, r->hook.refusal_key, val_str(id));
}

static int
run_create(struct tx *tx, struct wreq *w)
{
    const struct spec *s = w->s;
    int                rc = E_OK;

    if (s->hooks.before_write != NULL)
        rc = s->hooks.before_write(&w->r->hook, s, tx, &w->obj, NULL, &w->eb);
    if (rc == E_OK && w->r->hook.found.t == V_MAP) { /* a duplicate: the stored one */
        struct val out = w->r->hook.found;
        object_present(w->r->a, s, &out);
        answer(w->r, 200, out, false);
        return E_OK;
    }
    if (rc == E_OK && (rc = tx->ops->insert(tx, s, &w->obj)) != E_OK)
        return rc == E_NOTFOUND ? ns_gone(w) : write_error(w, rc);
    if (rc != E_OK)
        return rc;
    if (w->r->hook.refusal.code != E_OK) {
        refuse(w->r, val_get_str(&w->obj, "ID"));
        return E_OK;
    }
    struct val out = val_clone(w->r->a, &w->obj);
    object_present(w->r->a, s, &out);
    add_once(w, &out, &w->obj);
    answer(w->r, 200, out, false);
    return E_OK;
}

static int
find_stored(struct tx *tx, struct wreq *w, struct val *old)
{
    struct scope sc = { w->r->ns, false };
    int          rc = tx->ops->find(tx, w->s, &sc, "ID", w->r->route.id, w->r->a, old);

    if (rc != E_OK)
        return write_error(w, rc);
    struct val *p = val_get(old, "protected");
    if (p != NULL && p->t == V_BOOL && p->b && !w->override)
        return errbuf_set(&w->eb, E_PROTECTED,
                          "The object is protected: use ?override=true to change it");
    return E_OK;
}

/* updateTime moves strictly forward, even if the clock does not. */
static void
bump_update_time(struct arena *a, struct val *obj, const struct val *old)
{
    int64_t     now = time_now_ms(), prev = 0;
    struct val *u = val_get(old, "updateTime");

    if (u != NULL && u->t == V_STR && time_parse(u->s, &prev) == E_OK && now <= prev)
        now = prev + 1;
    val_set(a, obj, "updateTime", val_str(now_str(a, now)));
}

static int
run_update(struct tx *tx, struct wreq *w)
{
    const struct spec *s = w->s;
    struct val         old, obj;
    int                rc;

    if ((rc = find_stored(tx, w, &old)) != E_OK)
        return rc;
    if ((rc = validate_update(w->r->a, s, &w->body, &old, &obj, &w->eb)) != E_OK)
        return rc;
    bump_update_time(w->r->a, &obj, &old);
    tags_normalize(w->r->a, s, &obj);
    if (s->hooks.before_write != NULL &&
        (rc = s->hooks.before_write(&w->r->hook, s, tx, &obj, &old, &w->eb)) != E_OK)
        return rc;
    struct write_cond wc = { val_get_str(&old, "updateTime"), w->override };
    if ((rc = tx->ops->update(tx, s, &obj, &wc)) != E_OK)
        return write_error(w, rc);
    struct val out = val_clone(w->r->a, &obj);
    object_present(w->r->a, s, &out);
    add_once(w, &out, &obj);
    answer(w->r, 200, out, false);
    return E_OK;
}

static int
run_delete(struct tx *tx, struct wreq *w)
{
    const struct spec *s = w->s;
    struct val         old;
    int                rc;

    if ((rc = find_stored(tx, w, &old)) != E_OK)
        return rc;
    if (s->hooks.before_delete != NULL &&
        (rc = s->hooks.before_delete(&w->r->hook, s, tx, &old, &w->eb)) != E_OK)
        return rc;
    struct write_cond wc = { STR_NULL, w->override };
    if ((rc = tx->ops->del(tx, s, w->r->route.id, &wc)) != E_OK)
        return write_error(w, rc);
    if (s->hooks.after_delete != NULL &&
        (rc = s->hooks.after_delete(&w->r->hook, s, tx, &old, &w->eb)) != E_OK)
        return rc;
    object_present(w->r->a, s, &old);
    answer(w->r, 200, old, false);
    return E_OK;
}

/* What an action's answer shows once (a rotated secret: hook.once) is
 * answer-only: an action's answer is no stored object, and its replay goes
 * without it (a black-box review read a rotated clientSecret twice, and in
 * clear in the idempotency table). */
static void
once_only_of(struct wreq *w, const struct val *out)
{
    const struct val *once = &w->r->hook.once;

    w->once_only = val_arr();
    for (size_t i = 0; once->t == V_MAP && i < once->m.n; i++)
        if (val_get_s(out, once->m.kv[i].k) != NULL)
            val_push(w->r->a, &w->once_only, val_str(once->m.kv[i].k));
}

static int
run_action(struct tx *tx, struct wreq *w)
{
    struct scope sc = { w->r->ns, false };
    struct val   obj, out = val_map();
    int          rc = tx->ops->find(tx, w->s, &sc, "ID", w->r->route.id, w->r->a, &obj);

    if (rc != E_OK)
        return write_error(w, rc);
    if ((rc = w->r->route.action->run(&w->r->hook, w->s, tx, &obj, &out, &w->eb)) != E_OK)
        return rc;
    once_only_of(w, &out);
    answer(w->r, 200, out, false);
    return E_OK;
}

static int
run_write(struct tx *tx, void *arg)
{
    struct wreq *w = arg;
    bool         found = false;
    int          rc = E_OK;

    /* Afresh, should this not be its first run (may_rerun). */
    w->eb = (struct errbuf){ 0 };
    w->r->audited = false;
    if ((rc = recheck(tx, w)) != E_OK)
        return rc;
    if (w->idem_key.len > 0 && ((rc = idem_replay(tx, w, &found)) != E_OK || found))
        return rc;
    switch (w->op) {
    case W_CREATE:
        rc = run_create(tx, w);
        break;
    case W_UPDATE:
        rc = run_update(tx, w);
        break;
    case W_DELETE:
        rc = run_delete(tx, w);
        break;
    case W_ACTION:
        rc = run_action(tx, w);
        break;
    }
    if (rc == E_OK) {
        static const char *const ops[] = { "create", "update", "delete", NULL };
        struct val              *id = w->r->resp.t == V_MAP ? val_get(&w->r->resp, "ID") : NULL;
        rc = audit_in_tx(w->r, tx, w->op == W_ACTION ? w->r->route.action->name : ops[w->op],
                         id != NULL && id->t == V_STR ? id->s : w->r->route.id);
        if (rc != E_OK)
            errbuf_set(&w->eb, rc, "cannot write the audit log");
    }
    if (rc == E_OK && w->idem_key.len > 0)
        rc = idem_keep(tx, w);
    return rc;
}

static void
write_done(void *arg, int rc)
{
    struct wreq *w = arg;

    if (rc != E_OK) {
        if (w->eb.code == E_OK)
            errbuf_set(&w->eb, rc, "The store is unavailable");
        api_error(w->r, &w->eb);
        w->r->audited = false; /* its entry went with the write: record the failure */
    }
    w->r->resume(w->r);
}

/* ---- writes (request thread) ------------------------------------------- */

/* A raw body (spec.raw_types) is the resource's raw_attr: as text when it is
 * UTF-8, else in base64 (a DER file), which the attribute's reader takes too. */
static struct val
raw_body(struct req *r)
{
    const struct spec *s = r->route.spec;
    struct val         in = val_map();
    struct str         text = buf_str(&r->body);

    if (!utf8_valid(text.p, text.len)) {
        char *b64 = arena_alloc(r->a, b64_len(text.len) + 1);
        b64_encode(text.p, text.len, b64);
        text = str_c(b64);
    }
    val_set(r->a, &in, s->raw_attr, val_str(text));
    return in;
}

static int
decode_body(struct req *r, struct val *in, struct errbuf *eb)
{
    if (r->body.len == 0)
        return errbuf_set(eb, E_BADREQ, "The request has no body");
    if (r->raw_body) {
        *in = raw_body(r);
        return E_OK;
    }
    return codec_decode(r->in, r->a, r->body.p, r->body.len, (int)cfg.max_depth, in, eb);
}

/* A write whose body is this large (a bundle of certificates) writes many rows:
 * the store may give it a transaction of its own (struct wjob.alone). */
#define WRITE_ALONE_BODY (64 * 1024)

/* What makes two bodies "the same request" for an Idempotency-Key: the value
 * they decode to (JSON or MessagePack, whatever the spacing or the order of
 * keys); a raw body (a PEM file) or one that does not decode: its bytes. */
static struct str
body_identity(struct req *r)
{
    struct val    v;
    struct buf    b;
    struct errbuf eb = { 0 };
    struct str    out;

    if (r->raw_body || r->body.len == 0 ||
        codec_decode(r->in, r->a, r->body.p, r->body.len, (int)cfg.max_depth, &v, &eb) != E_OK)
        return buf_str(&r->body);
    buf_init(&b, SIZE_MAX / 2);
    out = val_canonical(&b, &v) == E_OK ? arena_str(r->a, buf_str(&b)) : buf_str(&r->body);
    buf_free(&b);
    return out;
}

static int
idem_prepare(struct req *r, struct wreq *w, struct errbuf *eb)
{
    if (r->idem_key.p == NULL)
        return E_OK;
    if (r->idem_key.len == 0 || r->idem_key.len > IDEM_KEY_MAX)
        return errbuf_set(eb, E_BADREQ, "Idempotency-Key must be 1 to %d characters",
                          IDEM_KEY_MAX);
    /* The principal is its account, provider, service account or credential
     * (what vouched for its token), not a name a new one may take; the
     * namespace is this one, not one created later at its path. */
    struct str key[] = {
        r->ns, w->ck.ns_id, r->who->realm, r->who->sub, accounts_source(r->who), r->idem_key
    };
    struct str fp[] = { str_c(method_name(r->method)), r->path, body_identity(r) };
    w->idem_key = sha256_hex(r->a, key, ARRAY_LEN(key));
    w->idem_fp = sha256_hex(r->a, fp, ARRAY_LEN(fp));
    return E_OK;
}

/* Whether run_write may run this write a second time, in a new transaction
 * when the first was rolled back (struct wjob.rerun): a create whose run
 * depends on nothing but what it reads (no before_write hook, which may
 * keep what it found) and leaves nothing behind but its answer, which the
 * second run writes anew (run_write starts it afresh). */
static bool
may_rerun(const struct wreq *w)
{
    return w->op == W_CREATE && w->s->hooks.before_write == NULL &&
           w->r->hook.refusal.code == E_OK;
}

/* Whether the write is right whatever other servers write meanwhile
 * (struct wjob.independent): a create such as may_rerun allows, whose insert
 * the store's unique keys and namespace guard settle; not one under an
 * Idempotency-Key (it looks for an answer kept, then keeps its own). */
static bool
independent(const struct wreq *w)
{
    return may_rerun(w) && w->idem_key.len == 0;
}

static int
queue_write(struct req *r, struct wreq *w, struct errbuf *eb)
{
    int rc = idem_prepare(r, w, eb);

    if (rc != E_OK)
        return rc;
    w->job = (struct wjob){ .run = run_write,
                            .done = write_done,
                            .arg = w,
                            .alone = r->body.len >= WRITE_ALONE_BODY,
                            .small = w->op == W_CREATE && w->s->bulk,
                            .rerun = may_rerun(w),
                            .independent = independent(w) };
    /* Suspend first: the writer may finish and resume before we return. (A
     * create whose prepare ran on the work pool is suspended already.) */
    if (!r->pending) {
        r->pending = true;
        r->suspend(r);
    }
    kw_store->ops->submit(kw_store, &w->job);
    return E_OK;
}

static struct wreq *
wreq_new(struct req *r, const struct spec *s, enum wop op, const struct checked *ck)
{
    struct wreq *w = arena_calloc(r->a, 1, sizeof *w);

    w->r = r;
    w->s = s;
    w->op = op;
    w->ck = *ck;
    return w;
}

/* The rest of a create once the object is checked: the resource's prepare,
 * sealing, tags, and the write. */
static int
create_rest(struct req *r, const struct spec *s, struct wreq *w, struct errbuf *eb)
{
    int rc;

    if (s->hooks.prepare != NULL &&
        (rc = s->hooks.prepare(&r->hook, s, &w->obj, true, eb)) != E_OK)
        return rc;
    if ((rc = secrets_seal(r->a, s, &w->obj, val_get(&w->obj, "ID")->s, eb)) != E_OK)
        return rc;
    tags_normalize(r->a, s, &w->obj);
    return queue_write(r, w, eb);
}

/* On the work pool: the rest of a slow create; an error resumes the request
 * here, a write when it commits. */
static void
create_slowly(void *arg)
{
    struct wreq *w = arg;

    if (create_rest(w->r, w->s, w, &w->eb) != E_OK) {
        api_error(w->r, &w->eb);
        w->r->resume(w->r);
    }
}

static int
serve_create(struct req *r, const struct spec *s, const struct checked *ck, struct errbuf *eb)
{
    static const char *const allowed[] = { NULL };
    struct wreq             *w = wreq_new(r, s, W_CREATE, ck);
    struct val               in;
    int                      rc;

    if ((rc = req_params_check(r, allowed, eb)) != E_OK)
        return rc;
    /* POST /parents/:id/<things> names what it creates in its URL: a body is
     * optional there (a discovery run, a revocation's reason aside). */
    if (r->route.link_attr != NULL && r->body.len == 0)
        in = val_map();
    else if ((rc = decode_body(r, &in, eb)) != E_OK)
        return rc;
    if (r->route.link_attr != NULL && in.t == V_MAP) { /* POST /parents/:id/<things> */
        const struct val *sent = val_get(&in, r->route.link_attr);
        if (sent != NULL && (sent->t != V_STR || !str_eq(sent->s, r->route.link_id)))
            return errbuf_attr(eb, E_READONLY, r->route.link_attr,
                               "Attribute '%s' is the URL's here: it names another object",
                               r->route.link_attr);
        val_set(r->a, &in, r->route.link_attr, val_str(r->route.link_id));
    }
    if ((rc = object_new(r->a, s, r->ns, &in, &w->obj, eb)) != E_OK)
        return rc;
    if (s->hooks.slow == NULL || !s->hooks.slow(s, &w->obj))
        return create_rest(r, s, w, eb);
    r->pending = true; /* before the pool may resume it */
    r->suspend(r);
    if (pool_submit(create_slowly, w) != E_OK) {
        r->pending = false; /* answered now, on this thread */
        return errbuf_set(eb, E_UNAVAILABLE, "Too much slow work is queued: try again later");
    }
    return E_OK;
}

static int
serve_update(struct req *r, const struct spec *s, const struct checked *ck, struct errbuf *eb)
{
    static const char *const allowed[] = { "override", NULL };
    struct wreq             *w = wreq_new(r, s, W_UPDATE, ck);
    int                      rc;

    if ((rc = req_params_check(r, allowed, eb)) != E_OK ||
        (rc = decode_body(r, &w->body, eb)) != E_OK)
        return rc;
    if (w->body.t != V_MAP)
        return errbuf_set(eb, E_BADREQ, "The body must be an object");
    if (req_param_bool(r, "override", &w->override, eb) != E_OK)
        return eb->code;
    r->hook.override = w->override;
    if (s->hooks.prepare != NULL &&
        (rc = s->hooks.prepare(&r->hook, s, &w->body, false, eb)) != E_OK)
        return rc;
    if ((rc = secrets_seal(r->a, s, &w->body, r->route.id, eb)) != E_OK)
        return rc;
    return queue_write(r, w, eb);
}

/* A read action: on this thread, on the object as read, not audited. */
static int
serve_read_action(struct req *r, const struct spec *s, struct errbuf *eb)
{
    const struct spec_action *act = r->route.action;
    struct scope              sc = { r->ns, false };
    struct val                obj, out = val_map();
    size_t                    n = 0;
    int                       rc;

    while (act->params != NULL && act->params[n] != NULL)
        n++;
    const char **allowed = arena_calloc(r->a, n + 2, sizeof *allowed);
    for (size_t i = 0; i < n; i++)
        allowed[i] = act->params[i];
    allowed[n] = "recursive"; /* a read, like GET /things/:id */
    if ((rc = req_params_check(r, allowed, eb)) != E_OK)
        return rc;
    if (req_param_bool(r, "recursive", &sc.recursive, eb) != E_OK)
        return eb->code;
    r->hook.params = val_map();
    r->hook.accepted = r->accepted;
    for (size_t i = 0; i < r->nparams; i++)
        val_set_s(r->a, &r->hook.params, r->params[i].k, val_str(r->params[i].v));
    rc = kw_store->ops->find(kw_store, s, &sc, "ID", r->route.id, r->a, &obj, eb);
    if (rc != E_OK || (rc = act->read(&r->hook, s, &obj, &out, eb)) != E_OK)
        return rc;
    r->status = r->method == M_HEAD ? 204 : 200;
    if (r->hook.body_type != NULL) {
        buf_init(&r->reply, SIZE_MAX / 2);
        if (r->method != M_HEAD &&
            buf_append(&r->reply, r->hook.body.p, r->hook.body.len) != E_OK)
            return errbuf_set(eb, E_INTERNAL, "out of memory");
        r->raw_reply = true;
        r->reply_type = r->hook.body_type;
    } else if (r->method != M_HEAD)
        answer(r, 200, out, false);
    return E_OK;
}

static int
serve_action(struct req *r, const struct spec *s, const struct checked *ck, struct errbuf *eb)
{
    static const char *const allowed[] = { NULL };
    int                      rc;

    if (r->route.action->read != NULL)
        return serve_read_action(r, s, eb);
    if ((rc = req_params_check(r, allowed, eb)) != E_OK)
        return rc;
    return queue_write(r, wreq_new(r, s, W_ACTION, ck), eb);
}

static int
serve_delete(struct req *r, const struct spec *s, const struct checked *ck, struct errbuf *eb)
{
    static const char *const allowed[] = { "override", NULL };
    struct wreq             *w = wreq_new(r, s, W_DELETE, ck);
    int                      rc;

    if ((rc = req_params_check(r, allowed, eb)) != E_OK)
        return rc;
    if (req_param_bool(r, "override", &w->override, eb) != E_OK)
        return eb->code;
    r->hook.override = w->override;
    return queue_write(r, w, eb);
}

/* ---- resources that are not stored ------------------------------------- */

/* The page of a static list that page/pageSize ask for. */
static int
static_page(struct req *r, struct val *items, struct errbuf *eb)
{
    static const char *const allowed[] = { "page", "pageSize", "pagesize", NULL };
    struct listq             q = { 0 };
    int                      rc;

    if ((rc = req_params_check(r, allowed, eb)) != E_OK ||
        (rc = list_paging(r, &q, eb)) != E_OK)
        return rc;
    size_t n = items->a.n;
    size_t from = (uint64_t)q.offset < n ? (size_t)q.offset : n;
    size_t to = q.limit >= 0 && (uint64_t)q.limit < n - from ? from + (size_t)q.limit : n;
    r->count_total = (int64_t)n;
    items->a.v += from;
    items->a.n = to - from;
    return E_OK;
}

/* Lists, and reads one (by ID or name), over a static set; any valid token may
 * read, in any namespace (X-Namespace is still required, as everywhere). */
int
engine_static(struct req *r, const struct spec *s, struct errbuf *eb)
{
    static const char *const none[] = { NULL };
    struct val               items;
    int                      rc;

    if ((rc = namespace_header(r, eb)) != E_OK || (rc = accounts_check(r->who, eb)) != E_OK)
        return rc;
    s->hooks.list_static(r->a, &items);
    if (r->route.id.len == 0) {
        if ((rc = static_page(r, &items, eb)) != E_OK)
            return rc;
        if (r->method == M_HEAD)
            r->status = 204;
        else if (r->csv)
            return csv_reply(r, s, &items, eb);
        else
            answer(r, 200, items, true);
        return E_OK;
    }
    if ((rc = req_params_check(r, none, eb)) != E_OK)
        return rc;
    for (size_t i = 0; i < items.a.n; i++) {
        struct val *name = val_get(&items.a.v[i], "name");
        if (name != NULL && str_eq(name->s, r->route.id)) {
            if (r->method == M_HEAD)
                r->status = 204;
            else
                answer(r, 200, items.a.v[i], false);
            return E_OK;
        }
    }
    return errbuf_set(eb, E_NOTFOUND, "Could not find the object");
}

/* ---- dispatch ---------------------------------------------------------- */

static unsigned
verb_of(enum method m)
{
    switch (m) {
    case M_POST:
        return VERB_POST;
    case M_PUT:
        return VERB_PUT;
    case M_DELETE:
        return VERB_DELETE;
    default:
        return VERB_GET;
    }
}

/* /namespaces/:id/<things>: the things living in that namespace, which must be
 * visible from X-Namespace. The request then targets that namespace.
 * /webhooks/:id/<things>: the things of X-Namespace whose "webhookID" is that
 * webhook's ID (spec.h, children); listed only: a create there is 405. */
static int
enter_parent(struct req *r, struct errbuf *eb)
{
    const struct spec *p = r->route.parent;
    struct scope       sc = { r->ns, false };
    struct val         parent;
    int                rc;

    /* a read with recursive=true finds the parent in the subtree too, as its
     * children's list does */
    if (r->method != M_POST && req_param_bool(r, "recursive", &sc.recursive, eb) != E_OK)
        return eb->code;

    /* Creating a child is its own permission (revocation,post: revoking is not
     * reading); else the parent must be readable, or, for a parent that only
     * selects its children (a webhook's deliveries, a certificate's instances,
     * a discovery's runs), the children, which the list judges again: viewers
     * read every delivery at /webhookdeliveries, so /webhooks/:id/... lists
     * theirs too (a review: 403). Judged before the parent is looked up, so
     * that a 404 tells only those allowed. */
    bool creates = r->method == M_POST && r->route.spec->child_create && !p->parent_of_all;
    struct errbuf child = { 0 };
    if (creates)
        rc = authorize(r, r->route.spec, VERB_POST, eb);
    else if (p->parent_of_all || authorize(r, r->route.spec, VERB_GET, &child) != E_OK)
        rc = authorize(r, p, VERB_GET, eb);
    else
        rc = E_OK;
    if (rc != E_OK)
        return rc;
    rc = kw_store->ops->find(kw_store, p, &sc, "ID", r->route.id, r->a, &parent, eb);
    if (rc != E_OK)
        return rc;
    r->route.id = STR_NULL;
    if (!p->parent_of_all) {
        if (r->method == M_POST && !r->route.spec->child_create)
            return api_not_allowed(r, 1u << M_GET | 1u << M_HEAD, eb);
        r->route.link_attr = arena_printf(r->a, "%sID", p->identity);
        r->route.link_id = val_get_str(&parent, "ID");
        return E_OK;
    }
    struct val *name = val_get(&parent, "name");
    if (name == NULL || name->t != V_STR)
        return errbuf_set(eb, E_INTERNAL, "parent has no name");
    r->ns = name->s;
    return E_OK;
}

/* Namespaces known to exist, per thread, valid while no namespace or policy
 * write has happened since (authz_generation). Saves a read transaction on
 * almost every request. */
#define NS_CACHE     64
#define NS_CACHE_LEN 128

struct ns_seen {
    uint64_t gen;
    size_t   len;
    char     ns[NS_CACHE_LEN];
    char     id[ID_LEN];
};

static _Thread_local struct ns_seen ns_cache[NS_CACHE];

static struct ns_seen *
ns_slot(struct str ns)
{
    return &ns_cache[hash_fnv1a(ns.p, ns.len, 0) % NS_CACHE];
}

/* The namespace a request names must exist (checked after authorization, so
 * only those allowed there learn whether it does); *id is its ID, which a write
 * checks again in the writer. */
static int
namespace_exists(struct req *r, struct str *id, struct errbuf *eb)
{
    struct ns_seen *seen = ns_slot(r->ns);
    uint64_t        gen = authz_generation();
    struct val      ns, *v;

    *id = STR_NULL;
    if (r->ns.len == 1)
        return E_OK;
    if (seen->gen == gen && seen->len == r->ns.len &&
        memcmp(seen->ns, r->ns.p, r->ns.len) == 0) {
        *id = arena_str(r->a, (struct str){ seen->id, ID_LEN });
        return E_OK;
    }
    int rc = kw_store->ops->find(kw_store, &spec_namespace, NULL, "name", r->ns, r->a, &ns, eb);
    if (rc == E_NOTFOUND)
        return errbuf_set(eb, E_NOTFOUND, "Namespace '%.*s' does not exist", STR_FMT(r->ns));
    if (rc != E_OK)
        return rc;
    if ((v = val_get(&ns, "ID")) == NULL || v->t != V_STR || v->s.len != ID_LEN)
        return errbuf_set(eb, E_INTERNAL, "namespace without an ID");
    *id = v->s;
    if (r->ns.len <= NS_CACHE_LEN) {
        seen->gen = gen;
        seen->len = r->ns.len;
        memcpy(seen->ns, r->ns.p, r->ns.len);
        memcpy(seen->id, v->s.p, ID_LEN);
    }
    return E_OK;
}

static int
serve_op(struct req *r, const struct spec *s, const struct checked *ck, struct errbuf *eb)
{
    bool collection = r->route.id.len == 0;

    switch (r->method) {
    case M_GET:
    case M_HEAD:
        return collection ? serve_list(r, s, eb) : serve_get(r, s, eb);
    case M_POST:
        return serve_create(r, s, ck, eb);
    case M_PUT:
        return serve_update(r, s, ck, eb);
    case M_DELETE:
        return serve_delete(r, s, ck, eb);
    default:
        return errbuf_set(eb, E_METHOD, "Method not allowed on this URL");
    }
}

static enum api_result
serve_judged(struct req *r, struct errbuf *eb)
{
    const struct spec *s = r->route.spec;
    struct checked     ck = { .gen = authz_generation() }; /* before any authorization */
    int                rc;

    if (s->not_namespaced) {
        rc = engine_static(r, s, eb);
        return rc == E_OK ? API_DONE : (api_error(r, eb), API_DONE);
    }
    if ((rc = namespace_header(r, eb)) != E_OK)
        goto fail;
    if (r->route.parent != NULL && (rc = enter_parent(r, eb)) != E_OK)
        goto fail;
    ck.verb = r->route.action != NULL ? r->route.action->verb : verb_of(r->method);
    if ((rc = authorize(r, s, ck.verb, eb)) != E_OK ||
        (rc = namespace_exists(r, &ck.ns_id, eb)) != E_OK)
        goto fail;
    r->hook.a = r->a;
    r->hook.ns = r->ns;
    r->hook.id = r->route.id;
    r->hook.may = hook_may;
    r->hook.holds = hook_holds;
    rc = r->route.action != NULL ? serve_action(r, s, &ck, eb) : serve_op(r, s, &ck, eb);
    if (rc != E_OK)
        goto fail;
    return r->pending ? API_PENDING : API_DONE;
fail:
    api_error(r, eb);
    return API_DONE;
}

void
engine_batch(struct req **rs, size_t n)
{
    struct find_id f[FIND_IDS_MAX];
    struct later  *in[FIND_IDS_MAX];
    size_t         k = 0;

    for (size_t i = 0; i < n; i++) {
        struct req   *r = rs[i];
        struct later *l = r->later;
        struct errbuf eb = { 0 };
        struct scope  sc;

        if (k == FIND_IDS_MAX || namespace_header(r, &eb) != E_OK ||
            get_scope(r, &sc, &eb) != E_OK)
            continue; /* served as usual, which answers the error */
        f[k] = (struct find_id){ .s = r->route.spec, .sc = sc, .id = r->route.id, .a = r->a };
        in[k++] = l;
    }
    if (k == 0)
        return;
    enum others o = store_find_ids(kw_store, f, k);
    for (size_t j = 0; j < k; j++) {
        in[j]->in_batch = true;
        in[j]->others = o;
        in[j]->f = f[j];
    }
}

/* Whether another server changed an authorization could not be learned: what
 * this server knows may be stale, so nothing is answered from it. */
static enum api_result
stale_refused(struct req *r)
{
    api_fail(r, E_UNAVAILABLE,
             "The store is unavailable: whether authorizations changed cannot be checked");
    return API_DONE;
}

/* Another server's policy or namespace write counts from the next request on:
 * the store is asked before the request is judged. A GET of one object asks
 * with its read of the object, in one round trip, and is judged again (from
 * the request as it came) in the rare case that the answer says others wrote. */
enum api_result
engine_serve(struct req *r, struct errbuf *eb)
{
    bool one_read = (r->method == M_GET || r->method == M_HEAD) && r->route.id.len > 0 &&
                    r->route.action == NULL && !r->csv;
    struct later *l = r->later;

    if (l != NULL && l->in_batch) /* the batch looked at the others' writes */
        return l->others == OTHERS_UNKNOWN ? stale_refused(r) : serve_judged(r, eb);
    if (one_read && l == NULL && r->can_later && r->route.parent == NULL &&
        !r->route.spec->not_namespaced && kw_store->ops->find_ids != NULL) {
        r->later = arena_calloc(r->a, 1, sizeof *l);
        return API_LATER;
    }
    if (one_read && store_follow_later(kw_store)) {
        struct req      as_came = *r;
        enum api_result res = serve_judged(r, eb);
        enum others     o = store_follow_settle(kw_store);
        if (o == OTHERS_NONE || res == API_PENDING)
            return res;
        *r = as_came;
        *eb = (struct errbuf){ 0 };
        if (o == OTHERS_UNKNOWN)
            return stale_refused(r);
    } else if (store_follow(kw_store) != E_OK)
        return stale_refused(r);
    return serve_judged(r, eb);
}
