/* audit.c - see audit.h. */
#include "audit.h"

#include <stdatomic.h>
#include <stdlib.h>

#include "../auth/authn.h"
#include "../core/log.h"
#include "../core/timeutil.h"
#include "../model/specs.h"
#include "../model/validate.h"
#include "routes.h"

bool
audit_wanted(const struct req *r)
{
    if (r->route.def != NULL && r->route.def->audit_op != NULL)
        return true;
    return r->method == M_POST || r->method == M_PUT || r->method == M_DELETE;
}

static const char *
operation_of(const struct req *r)
{
    if (r->route.def != NULL && r->route.def->audit_op != NULL)
        return r->route.def->audit_op;
    if (r->route.action != NULL)
        return r->route.action->name;
    return r->method == M_POST ? "create" : r->method == M_PUT ? "update" : "delete";
}

/* A copy of request text for the log; bytes that are not UTF-8 (the HTTP
 * layer refuses them in paths, but an entry must never be unreadable) and
 * NULs become '?', so the log always decodes and every store takes it. */
static struct str
text(struct arena *a, struct str s)
{
    struct str c = arena_str(a, s);
    char      *p = (char *)c.p;

    for (size_t i = 0; i < c.len;) {
        unsigned char b = (unsigned char)p[i];
        size_t n = b < 0x80 ? 1 : b >> 5 == 6 ? 2 : b >> 4 == 14 ? 3 : b >> 3 == 30 ? 4 : 0;
        if (n > 0 && b != 0 && n <= c.len - i && utf8_valid(p + i, n)) {
            i += n;
            continue;
        }
        p[i++] = '?';
    }
    return c;
}

void
audit_claimed(struct req *r, const struct str *claims, size_t n)
{
    r->audit_claims = arena_calloc(r->a, n > 0 ? n : 1, sizeof *r->audit_claims);
    for (size_t i = 0; i < n; i++)
        r->audit_claims[i] = arena_str(r->a, claims[i]);
    r->naudit_claims = n;
}

static struct val
principal_claims(struct arena *a, const struct req *r)
{
    struct val l = val_arr();

    for (size_t i = 0; r->who != NULL && i < r->who->nclaims; i++)
        val_push(a, &l, val_str(text(a, r->who->claims[i])));
    for (size_t i = 0; r->who == NULL && i < r->naudit_claims; i++) /* audit_claimed */
        val_push(a, &l, val_str(text(a, r->audit_claims[i])));
    return l;
}

static int
build(struct arena *a, const struct req *r, const char *operation, struct str id, int status,
      struct str error, struct val *obj)
{
    struct val    in = val_map();
    struct errbuf eb;
    struct str    ns = r->ns.len > 0 ? r->ns : STR("/");
    const char   *identity = r->route.spec != NULL ? r->route.spec->identity : "token";

    val_set(a, &in, "operation", val_cstr(operation));
    val_set(a, &in, "identity", val_cstr(identity));
    val_set(a, &in, "objectID", val_str(text(a, id)));
    val_set(a, &in, "method", val_cstr(method_name(r->method)));
    val_set(a, &in, "path", val_str(text(a, r->path)));
    val_set(a, &in, "principal", principal_claims(a, r));
    val_set(a, &in, "clientIP", val_str(arena_str(a, r->client_ip)));
    val_set(a, &in, "status", val_int(status));
    val_set(a, &in, "trace", val_cstr(arena_strndup(a, r->trace, strlen(r->trace))));
    val_set(a, &in, "error", val_str(text(a, error)));
    val_set(a, &in, "requestNamespace", val_str(arena_str(a, ns)));
    /* The fields are read-only for clients: build the object directly. */
    struct val none = val_map();
    if (object_new(a, &spec_auditlog, arena_str(a, ns), &none, obj, &eb) != E_OK)
        return eb.code;
    for (size_t i = 0; i < in.m.n; i++)
        val_set_s(a, obj, in.m.kv[i].k, in.m.kv[i].v);
    tags_normalize(a, &spec_auditlog, obj);
    return E_OK;
}

/* An entry whose namespace does not exist (it never did, or a delete committed
 * first) goes to the log of "/" instead: neither lost, nor found later in the log
 * of another namespace created under the same path. requestNamespace keeps
 * the path the request named. The namespace is looked up first (in this
 * transaction, under its write lock): the insert then always writes its row,
 * and never turns a PostgreSQL hopeful transaction back (docs/postgres.md),
 * which requests naming namespaces that do not exist could otherwise do at
 * will. */
static int
insert_entry(struct tx *tx, struct arena *a, struct val *obj)
{
    struct str ns = val_get_str(obj, "namespace");
    struct val found;
    int        rc = str_eq_c(ns, "/")
                        ? E_OK
                        : tx->ops->find(tx, &spec_namespace, NULL, "name", ns, a, &found);

    if (rc == E_NOTFOUND) {
        val_set(a, obj, "namespace", val_cstr("/"));
        tags_normalize(a, &spec_auditlog, obj);
    } else if (rc != E_OK)
        return rc;
    return tx->ops->insert(tx, &spec_auditlog, obj);
}

/* The entry of a write, in the write's transaction. Its namespace exists
 * there (the write found it again: engine.c recheck), and an entry takes no
 * unique key: its insert cannot fail unless the transaction does, so its
 * answer need not be waited for (store_insert_later). */
int
audit_in_tx(struct req *r, struct tx *tx, const char *operation, struct str id)
{
    struct val obj;
    int        rc = build(r->a, r, operation, id, 200, STR_NULL, &obj);

    if (rc == E_OK && (rc = store_insert_later(tx, &spec_auditlog, &obj)) == E_OK)
        r->audited = true;
    return rc;
}

struct audit_job {
    struct wjob   job;
    struct arena *a;
    struct val    obj;
};

static int
audit_run(struct tx *tx, void *arg)
{
    struct audit_job *j = arg;

    return insert_entry(tx, j->a, &j->obj);
}

/* While the store is away every request fails to record its entry: one line
 * a second, with the trace of one of them and how many went untold (an
 * operator's review: 592 lines in 30 s of a PostgreSQL outage). */
static _Atomic int64_t  unrecorded_told;
static _Atomic uint64_t unrecorded_quiet;

static void
audit_done(void *arg, int rc)
{
    struct audit_job *j = arg;
    int64_t           now = time_mono_ms(), told = atomic_load(&unrecorded_told);

    if (rc != E_OK && now - told >= 1000 &&
        atomic_compare_exchange_strong(&unrecorded_told, &told, now))
        log_error("audit: cannot record the entry of trace=%.*s (%d; %llu more since the last "
                  "such line)",
                  STR_FMT(val_get_str(&j->obj, "trace")), rc,
                  (unsigned long long)atomic_exchange(&unrecorded_quiet, 0));
    else if (rc != E_OK)
        atomic_fetch_add(&unrecorded_quiet, 1);
    arena_free(j->a);
}

/* The error's description, from the answer's error list. */
static struct str
error_of(const struct req *r)
{
    const struct val *e =
        r->status >= 400 && r->resp.t == V_ARR && r->resp.a.n > 0 ? &r->resp.a.v[0] : NULL;
    const struct val *d = e != NULL ? val_get(e, "description") : NULL;

    if (d == NULL && r->status >= 400 && r->resp.t == V_MAP)
        d = val_get(&r->resp, "error"); /* RFC 6749 errors */
    return d != NULL && d->t == V_STR ? d->s : STR_NULL;
}

void
audit_after(struct req *r)
{
    struct arena     *a;
    struct audit_job *j;
    const struct val *id;

    if (r->audited || !audit_wanted(r) || r->status == 0)
        return;
    a = arena_new(4096);
    j = arena_calloc(a, 1, sizeof *j);
    j->a = a;
    id = r->resp.t == V_MAP ? val_get(&r->resp, "ID") : NULL;
    if (build(a, r, operation_of(r), id != NULL && id->t == V_STR ? id->s : r->route.id,
              r->status, error_of(r), &j->obj) != E_OK) {
        arena_free(a);
        return;
    }
    j->job = (struct wjob){ .run = audit_run,
                            .done = audit_done,
                            .arg = j,
                            .rerun = true,
                            .independent = true,
                            .small = true };
    kw_store->ops->submit(kw_store, &j->job);
}
