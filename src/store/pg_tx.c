/* pg_tx.c - the PostgreSQL store's writer: the transaction's operations
 * (store.h struct tx_ops, on the writer connection) and the writer thread,
 * which runs every job queued so far in one transaction under the write lock,
 * each job in a savepoint, and commits before calling back (pg.c). Work items'
 * operations are in pg_jobs.c.
 */
#include <stdlib.h>
#include <string.h>

#include "../core/buf.h"
#include "../core/codec.h"
#include "../core/log.h"
#include "../core/timeutil.h"
#include "pg_local.h"

/* At most this many jobs share a transaction: each savepoint that writes
 * takes a subtransaction ID, and a backend caches 64 of them; past that every
 * snapshot of every session looks into pg_subtrans while it is open. */
#define BATCH_MAX 60
/* The advisory lock every write transaction takes (docs/postgres.md 2):
 * shared by a transaction of independent jobs only (struct wjob), which
 * then runs beside those of the other servers; whole by every other. */
#define WRITE_LOCK        "SELECT pg_advisory_xact_lock(7022514356401)"
#define WRITE_LOCK_SHARED "SELECT pg_advisory_xact_lock_shared(7022514356401)"

/* ---- the transaction's operations (writer thread only) ------------------ */

static bool
is_namespaces(const struct spec *s)
{
    return strcmp(s->rest, SQL_NAMESPACE_TABLE) == 0;
}

static void
ns_forget(struct tx *base)
{
    struct pg_tx *tx = (struct pg_tx *)base;

    arena_free(tx->seen_a);
    tx->seen_a = NULL;
    tx->nseen = 0;
}

/* After a change of rows of `s` (NULL: a subtree of namespaces deleted); an
 * insert changes no row found before, and a job that fails forgets anyway. */
static void
ns_wrote(struct tx *tx, const struct spec *s)
{
    if (s == NULL || is_namespaces(s))
        ns_forget(tx);
}

static void
ns_keep(struct pg_tx *tx, struct str name, const struct val *doc)
{
    if (tx->nseen == NS_SEEN_MAX)
        return;
    if (tx->seen_a == NULL)
        tx->seen_a = arena_new(4096);
    tx->seen_name[tx->nseen] = arena_str(tx->seen_a, name);
    tx->seen_doc[tx->nseen++] = val_clone(tx->seen_a, doc);
}

static int
tx_find(struct tx *base, const struct spec *s, const struct scope *sc, const char *attr,
        struct str value, struct arena *a, struct val *out)
{
    struct pg_tx *tx = (struct pg_tx *)base;
    bool          by_name = is_namespaces(s) && sc == NULL && strcmp(attr, "name") == 0;
    int           rc;

    for (size_t i = 0; by_name && i < tx->nseen; i++)
        if (str_eq(tx->seen_name[i], value)) {
            *out = val_clone(a, &tx->seen_doc[i]);
            return E_OK;
        }
    rc = pg_run_find(txc(base), s, sc, attr, value, a, out);
    if (rc == E_OK && by_name)
        ns_keep(tx, value, out);
    return rc;
}

static int
tx_list(struct tx *tx, const struct spec *s, const struct listq *q, struct arena *a,
        struct val *items)
{
    struct errbuf eb = { 0 };

    return pg_list_on(txc(tx), s, q, a, items, NULL, &eb);
}

static Oid
attr_oid(const struct attr *at)
{
    switch (at->type) {
    case T_BOOL:
        return OID_BOOL;
    case T_INT:
    case T_TIME:
        return OID_INT8;
    case T_FLOAT:
        return OID_FLOAT8;
    case T_STRING:
        return OID_TEXT;
    default:
        return OID_JSONB;
    }
}

/* One column's value as a typed parameter (lists and maps as JSON text). */
static int
arg_val(struct pargs *p, const struct attr *at, const struct val *v)
{
    Oid        t = attr_oid(at);
    int64_t    ms;
    struct buf b;

    if (v == NULL || v->t == V_NULL)
        return pg_arg_null(p, t), E_OK;
    switch (at->type) {
    case T_BOOL:
        pg_arg_bool(p, v->t == V_BOOL && v->b);
        return E_OK;
    case T_INT:
        pg_arg_int(p, v->t == V_INT ? v->i : 0, t);
        return E_OK;
    case T_FLOAT:
        pg_arg_add(p, t, 0, arena_printf(p->a, "%.17g", v->t == V_FLOAT ? v->f : (double)v->i),
                   0);
        return E_OK;
    case T_TIME:
        if (v->t != V_STR || time_parse(v->s, &ms) != E_OK)
            return pg_arg_null(p, t), E_OK;
        pg_arg_int(p, ms, t);
        return E_OK;
    case T_STRING:
        if (v->t != V_STR)
            return pg_arg_null(p, t), E_OK;
        pg_arg_str(p, v->s, t);
        return E_OK;
    default: /* bounded by what was accepted (body size, parser caps), as the doc */
        buf_init(&b, SIZE_MAX / 2);
        int rc = json_encode(v, &b);
        if (rc == E_OK)
            pg_arg_str(p, (struct str){ b.p, b.len }, t);
        buf_free(&b);
        return rc;
    }
}

/* Every column of `obj` in spec order, then its document. */
static int
args_row(struct pargs *p, const struct spec *s, const struct val *obj)
{
    struct buf doc;
    int        rc = E_OK;

    for (size_t i = 0; i < spec_ncolumns(s) && rc == E_OK; i++) {
        const struct attr *at = spec_column(s, i);
        rc = arg_val(p, at, val_get(obj, at->name));
    }
    if (rc != E_OK)
        return rc;
    buf_init(&doc, SIZE_MAX / 2);
    if ((rc = msgpack_encode(obj, &doc)) == E_OK) {
        void *copy = arena_alloc(p->a, doc.len + 1);
        memcpy(copy, doc.p, doc.len);
        pg_arg_bytes(p, copy, doc.len);
    }
    buf_free(&doc);
    return rc;
}

/* The conditions of struct write_cond: the expected updateTime (ms, NULL for
 * any) and whether protected objects may be changed. */
static void
args_cond(struct pargs *p, const struct write_cond *wc)
{
    struct str t = wc != NULL ? wc->update_time : STR_NULL;
    int64_t    ms;

    if (t.len == 0)
        pg_arg_null(p, OID_INT8);
    else
        pg_arg_int(p, time_parse(t, &ms) == E_OK ? ms : INT64_MIN, OID_INT8);
    pg_arg_bool(p, wc == NULL || wc->override);
}

/* Whether the namespace `ns` exists (or is the root): why an insert that
 * wrote nothing did not. */
static int
namespace_exists(struct pconn *c, struct str ns, struct arena *a)
{
    struct pargs p = { .a = a };
    PGresult    *r;
    int          rc;

    if (str_eq_c(ns, "/"))
        return E_OK;
    pg_arg_str(&p, ns, OID_TEXT);
    rc = pq_rows(c, "SELECT 1 FROM \"" SQL_NAMESPACE_TABLE "\" WHERE \"name\" = $1", &p,
                 "namespace", &r);
    if (rc != E_OK)
        return rc;
    rc = PQntuples(r) > 0 ? E_OK : E_NOTFOUND;
    PQclear(r);
    return rc;
}

/* The parameters of sql_insert (or sql_update) for obj; `nsid` (not NULL:
 * an insert in a namespace the transaction knows, ns_known) the ID its
 * unguarded insert takes in place of the namespace's name. */
static int
row_args(struct pargs *p, const struct spec *s, const struct val *obj, bool insert,
         const struct write_cond *wc, const struct str *nsid)
{
    const struct val *ns = val_get(obj, "namespace"), *id = val_get(obj, "ID");
    int               rc;

    if (ns == NULL || ns->t != V_STR || id == NULL || id->t != V_STR)
        return E_INTERNAL;
    rc = args_row(p, s, obj);
    if (!insert)
        pg_arg_str(p, id->s, OID_TEXT);
    if (nsid == NULL)
        pg_arg_str(p, ns->s, OID_TEXT);
    else if (s->bulk)
        pg_arg_str(p, *nsid, OID_TEXT);
    if (!insert)
        args_cond(p, wc);
    return rc;
}

/* Whether this transaction found namespace `name` (or it is the root), and
 * its ID: an insert in it needs no guard of its own, since no other
 * transaction can delete it before this one commits (the write lock) and
 * this one forgets what it changes (ns_wrote). */
static bool
ns_known(struct tx *base, struct str name, struct str *id)
{
    struct pg_tx *tx = (struct pg_tx *)base;

    if (str_eq_c(name, "/")) {
        *id = STR("/");
        return true;
    }
    for (size_t i = 0; i < tx->nseen; i++)
        if (str_eq(tx->seen_name[i], name)) {
            *id = val_get_str(&tx->seen_doc[i], "ID");
            return id->len > 0;
        }
    return false;
}

/* An insert's SQL and parameters for obj, unguarded when its namespace is
 * known (ns_known). */
static int
insert_args(struct tx *tx, struct buf *sql, struct pargs *p, const struct spec *s,
            const struct val *obj)
{
    struct str nsid;
    bool       known = ns_known(tx, val_get_str(obj, "namespace"), &nsid);

    sql_insert(sql, s, SQL_POSTGRES, known);
    return row_args(p, s, obj, true, NULL, known ? &nsid : NULL);
}

/* An insert that wrote nothing: a taken unique key, or its namespace is gone. */
static int
not_inserted(struct pconn *c, const struct val *obj, struct arena *a)
{
    return namespace_exists(c, val_get_str(obj, "namespace"), a) == E_OK ? E_DUPLICATE
                                                                         : E_NOTFOUND;
}

static int
write_row(struct tx *tx, const struct spec *s, const struct val *obj, bool insert,
          const struct write_cond *wc)
{
    struct pconn *c = txc(tx);
    struct arena *a = arena_new(4096);
    struct pargs  p = { .a = a };
    struct buf    sql;
    int64_t       changed = 0;
    int           rc;

    buf_init(&sql, SQL_MAX);
    if (insert)
        rc = insert_args(tx, &sql, &p, s, obj);
    else {
        sql_update(&sql, s, SQL_POSTGRES);
        rc = row_args(&p, s, obj, false, wc, NULL);
    }
    if (rc == E_OK) {
        if (insert) /* an update by ID with its conditions is planned each time */
            pq_generic(c);
        rc = pq_do(c, buf_cstr(&sql), &p, insert ? "insert" : "update", &changed);
    }
    buf_free(&sql);
    /* Nothing written: no such object (update), or as not_inserted says. */
    if (rc == E_OK && changed == 0)
        rc = insert ? not_inserted(c, obj, a) : E_NOTFOUND;
    arena_free(a);
    return rc;
}

static void
log_change(struct tx *tx, const struct spec *s, struct str id, const struct val *obj,
           bool created)
{
    changelog_add(
        &((struct pg_tx *)tx)->log,
        &(struct change){
            .s = s, .id = id, .obj = obj != NULL ? *obj : val_null(), .created = created });
}

/* obj's insert held back: pq_later's, or pq_hope's when `hoped`, which
 * may find no room: then *held is false, and the caller writes it. */
static int
insert_held(struct tx *tx, const struct spec *s, const struct val *obj, bool hoped, bool *held)
{
    struct pargs p = { .a = arena_new(4096) };
    struct buf   sql;
    int          rc;

    *held = false;
    buf_init(&sql, SQL_MAX);
    rc = insert_args(tx, &sql, &p, s, obj);
    if (rc != E_OK) {
        arena_free(p.a);
    } else { /* either takes p.a */
        pq_generic(txc(tx));
        if (hoped)
            *held = pq_hope(txc(tx), buf_cstr(&sql), &p);
        else if ((rc = pq_later(txc(tx), buf_cstr(&sql), &p)) == E_OK)
            *held = true;
    }
    buf_free(&sql);
    if (*held)
        log_change(tx, s, val_get_str(obj, "ID"), obj, true);
    return rc;
}

/* In a hopeful transaction (run_batch) the insert is held back too: should
 * it write nothing, the transaction is refused and its jobs run again. */
static int
tx_insert(struct tx *tx, const struct spec *s, const struct val *obj)
{
    bool held = false;
    int  rc = ((struct pg_tx *)tx)->hopeful ? insert_held(tx, s, obj, true, &held) : E_OK;

    if (rc == E_OK && !held && (rc = write_row(tx, s, obj, true, NULL)) == E_OK)
        log_change(tx, s, val_get_str(obj, "ID"), obj, true); /* changes no row found */
    return rc;
}

/* Held back until the next statement (pq_later): its failure, or a row not
 * written, fails the whole transaction. */
static int
tx_insert_later(struct tx *tx, const struct spec *s, const struct val *obj)
{
    bool held;

    return insert_held(tx, s, obj, false, &held);
}

/* Inserts sent PIPE_MAX to a round trip (pq_do_each): a bundle of 2,000
 * certificates in 16, where one insert after another took 2,000. */
static int
tx_insert_each(struct tx *tx, const struct spec *s, const struct val *objs, size_t n, int *rcs)
{
    struct pconn *c = txc(tx);
    struct buf    sql;
    struct str    ns = n > 0 ? val_get_str(&objs[0], "namespace") : STR_NULL, nsid;
    bool          known = n > 0 && ns_known(tx, ns, &nsid);
    int           rc = E_OK;

    for (size_t i = 1; i < n && known; i++) /* one statement serves them all */
        known = str_eq(val_get_str(&objs[i], "namespace"), ns);
    buf_init(&sql, SQL_MAX);
    sql_insert(&sql, s, SQL_POSTGRES, known);
    for (size_t at = 0; at < n && rc == E_OK; at += PIPE_MAX) {
        size_t        k = n - at < PIPE_MAX ? n - at : PIPE_MAX;
        struct arena *a = arena_new(64 * 1024);
        struct pargs  p[PIPE_MAX];
        int64_t       changed[PIPE_MAX];
        for (size_t i = 0; i < k && rc == E_OK; i++) {
            p[i] = (struct pargs){ .a = a };
            rc = row_args(&p[i], s, &objs[at + i], true, NULL, known ? &nsid : NULL);
        }
        if (rc == E_OK) {
            pq_generic(c);
            rc = pq_do_each(c, buf_cstr(&sql), p, k, "insert", changed);
        }
        for (size_t i = 0; i < k && rc == E_OK; i++) {
            rcs[at + i] = changed[i] > 0 ? E_OK : not_inserted(c, &objs[at + i], a);
            if (changed[i] > 0)
                log_change(tx, s, val_get_str(&objs[at + i], "ID"), &objs[at + i], true);
        }
        arena_free(a);
    }
    buf_free(&sql);
    return rc;
}

/* An update that may take a unique key fails with an error, which aborts the
 * transaction: it runs in a savepoint of its own, so that the job sees only
 * E_DUPLICATE, as on SQLite, and may go on. The savepoint and its release go
 * with the statements around it (pq_defer): no round trip of their own. */
static int
tx_update(struct tx *tx, const struct spec *s, const struct val *obj,
          const struct write_cond *wc)
{
    struct pconn *c = txc(tx);
    bool          guard = s->unique != NULL;
    int           rc;

    if (guard && (rc = pq_defer(c, "SAVEPOINT kw_update")) != E_OK)
        return rc;
    rc = write_row(tx, s, obj, false, wc);
    ns_wrote(tx, s);
    if (guard && (rc == E_OK || rc == E_NOTFOUND)) /* no error: nothing to undo */
        pq_defer(c, "RELEASE kw_update");
    else if (guard)
        pq_exec(c, "ROLLBACK TO kw_update");
    if (rc == E_OK)
        log_change(tx, s, val_get_str(obj, "ID"), obj, false);
    else if (rc == E_NOTFOUND)
        rc = store_why_unchanged(tx, s, val_get_str(obj, "ID"), wc);
    return rc;
}

static int
tx_del(struct tx *tx, const struct spec *s, struct str id, const struct write_cond *wc)
{
    struct arena *a = arena_new(1024);
    struct pargs  p = { .a = a };
    struct buf    sql;
    int64_t       changed = 0;
    int           rc;

    buf_init(&sql, SQL_MAX);
    sql_delete(&sql, s, SQL_POSTGRES);
    pg_arg_str(&p, id, OID_TEXT);
    args_cond(&p, wc);
    rc = pq_do(txc(tx), buf_cstr(&sql), &p, "delete", &changed);
    buf_free(&sql);
    arena_free(a);
    ns_wrote(tx, s);
    if (rc != E_OK)
        return rc;
    if (changed == 0)
        return store_why_unchanged(tx, s, id, wc);
    log_change(tx, s, id, NULL, false);
    return E_OK;
}

static int
exec_params(struct pconn *c, struct buf *sql, const struct sqlparams *ps, struct arena *a,
            const char *what, int64_t *changed)
{
    struct pargs p = { .a = a };
    int          rc;

    pg_args_from(&p, ps);
    rc = pq_do(c, buf_cstr(sql), &p, what, changed);
    buf_free(sql);
    return rc;
}

/* The IDs of the namespaces below `ns` (they go with it), into `gone`. */
static int
subtree_ids(struct pconn *c, struct str ns, struct arena *a, struct val *gone)
{
    struct buf       sql;
    struct sqlparams ps = { 0 };
    struct scope     sc = { ns, true };
    struct pargs     p = { .a = a };
    PGresult        *r;
    int              rc;

    buf_init(&sql, SQL_MAX);
    sql_select_namespace_ids(&sql, &sc, SQL_POSTGRES, a, &ps);
    pg_args_from(&p, &ps);
    rc = pq_rows(c, buf_cstr(&sql), &p, "delete subtree", &r);
    buf_free(&sql);
    if (rc != E_OK)
        return rc;
    for (int i = 0; i < PQntuples(r); i++)
        val_push(a, gone, val_str(pg_col_str(r, i, 0, a)));
    PQclear(r);
    return E_OK;
}

static int
tx_del_subtree(struct tx *tx, struct str ns, struct arena *ga, struct val *gone)
{
    struct pconn *c = txc(tx);
    struct arena *a = arena_new(1024);
    int           rc = subtree_ids(c, ns, ga, gone);

    ns_wrote(tx, NULL);
    /* Bulk specs' rows stay until the namespace.purge job (sqlite_tx.c). */
    for (size_t i = 0; i < spec_count && rc == E_OK; i++) {
        const struct spec *s = spec_all[i];
        struct buf         sql;
        struct sqlparams   ps = { 0 };
        struct scope       sc = { ns, true };
        if (s->not_namespaced || s->bulk)
            continue;
        buf_init(&sql, SQL_MAX);
        sql_delete_scope(&sql, s, &sc, SQL_POSTGRES, a, &ps);
        rc = exec_params(c, &sql, &ps, a, "delete subtree", NULL);
    }
    arena_free(a);
    if (rc == E_OK)
        changelog_add(&((struct pg_tx *)tx)->log, &(struct change){ .ns = ns });
    return rc;
}

static int
tx_purge_nsid(struct tx *tx, const struct spec *s, struct str nsid, int64_t limit,
              int64_t *deleted)
{
    struct arena *a = arena_new(1024);
    struct pargs  p = { .a = a };
    struct buf    sql;
    int           rc;

    buf_init(&sql, SQL_MAX);
    sql_purge_nsid(&sql, s, SQL_POSTGRES);
    pg_arg_str(&p, nsid, OID_TEXT);
    pg_arg_int(&p, limit, OID_INT8);
    rc = pq_do(txc(tx), buf_cstr(&sql), &p, "purge", deleted);
    buf_free(&sql);
    arena_free(a);
    ns_wrote(tx, s);
    return rc;
}

static int
tx_meta_put(struct tx *tx, const char *key, struct str value)
{
    WITH_ARGS(a, p);
    pg_arg_cstr(&p, key);
    pg_arg_bytes(&p, value.p, value.len);
    int rc = pq_do(txc(tx),
                   "INSERT INTO meta (key, value) VALUES ($1, $2) "
                   "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                   &p, "meta put", NULL);
    arena_free(a);
    return rc;
}

static int
tx_idem_get(struct tx *tx, struct str key, struct arena *a, struct str *fp, int *status,
            struct str *body)
{
    struct pargs p = { .a = a };
    PGresult    *r;
    int          rc;

    pg_arg_str(&p, key, OID_TEXT);
    pg_arg_int(&p, time_now_ms(), OID_INT8);
    rc = pq_rows(txc(tx),
                 "SELECT fingerprint, status, body FROM idempotency "
                 "WHERE key = $1 AND expires > $2",
                 &p, "idempotency get", &r);
    if (rc != E_OK)
        return rc;
    rc = PQntuples(r) > 0 ? E_OK : E_NOTFOUND;
    if (rc == E_OK) {
        *fp = pg_col_str(r, 0, 0, a);
        *status = (int)pg_col_int(r, 0, 1);
        *body = pg_col_str(r, 0, 2, a);
    }
    PQclear(r);
    return rc;
}

static int
tx_idem_put(struct tx *tx, struct str key, struct str fp, int status, struct str body,
            int64_t expires)
{
    WITH_ARGS(a, p);
    pg_arg_str(&p, key, OID_TEXT);
    pg_arg_str(&p, fp, OID_TEXT);
    pg_arg_int(&p, status, OID_INT4);
    pg_arg_bytes(&p, body.p, body.len);
    pg_arg_int(&p, expires, OID_INT8);
    /* It writes its row whatever is there: its answer can wait (pq_later). */
    pq_generic(txc(tx));
    return pq_later(txc(tx),
                    "INSERT INTO idempotency (key, fingerprint, status, body, expires) "
                    "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (key) DO UPDATE SET "
                    "fingerprint = excluded.fingerprint, status = excluded.status, "
                    "body = excluded.body, expires = excluded.expires",
                    &p);
}

static int
tx_quota_spend(struct tx *tx, struct str jti, int64_t quota, int64_t expires)
{
    int64_t changed = 0;

    WITH_ARGS(a, p);
    pg_arg_str(&p, jti, OID_TEXT);
    pg_arg_int(&p, quota, OID_INT8);
    pg_arg_int(&p, expires, OID_INT8);
    int rc = pq_do(txc(tx),
                   "INSERT INTO token_uses (jti, used, expires) VALUES ($1, 1, $3) "
                   "ON CONFLICT (jti) DO UPDATE SET used = token_uses.used + 1 "
                   "WHERE token_uses.used < $2",
                   &p, "quota", &changed);
    arena_free(a);
    if (rc != E_OK)
        return rc;
    return changed == 0 ? E_QUOTA : E_OK;
}

/* The token's row, made if missing, then locked (FOR UPDATE): two takes, on
 * two servers, never both count what was left (a lock on a row that does not
 * exist yet would lock nothing). Its uses so far into *used. */
static int
quota_row_locked(struct tx *tx, struct str jti, int64_t expires, int64_t *used)
{
    PGresult *r = NULL;
    int       rc;

    {
        WITH_ARGS(a, p);
        pg_arg_str(&p, jti, OID_TEXT);
        pg_arg_int(&p, expires, OID_INT8);
        rc = pq_do(txc(tx),
                   "INSERT INTO token_uses (jti, used, expires) VALUES ($1, 0, $2) "
                   "ON CONFLICT (jti) DO NOTHING",
                   &p, "quota", NULL);
        arena_free(a);
    }
    if (rc == E_OK) {
        WITH_ARGS(a, p);
        pg_arg_str(&p, jti, OID_TEXT);
        rc = pq_rows(txc(tx), "SELECT used FROM token_uses WHERE jti = $1 FOR UPDATE", &p,
                     "quota", &r);
        arena_free(a);
    }
    if (rc != E_OK)
        return rc;
    *used = PQntuples(r) == 1 ? pg_col_int(r, 0, 0) : 0;
    PQclear(r);
    return E_OK;
}

static int
tx_quota_take(struct tx *tx, struct str jti, int64_t quota, int64_t expires, int64_t want,
              int64_t *took)
{
    int64_t used = 0, left = 0;
    int     rc = quota_row_locked(tx, jti, expires, &used);

    if (rc == E_OK && (left = quota - used) <= 0)
        rc = E_QUOTA;
    if (rc != E_OK)
        return rc;
    *took = want > 0 && want < left ? want : left;
    WITH_ARGS(a, p);
    pg_arg_str(&p, jti, OID_TEXT);
    pg_arg_int(&p, *took, OID_INT8);
    rc = pq_do(txc(tx), "UPDATE token_uses SET used = used + $2 WHERE jti = $1", &p, "quota",
               NULL);
    arena_free(a);
    return rc;
}

static int
tx_eph_put(struct tx *tx, struct str key, struct str value, int64_t expires)
{
    WITH_ARGS(a, p);
    pg_arg_str(&p, key, OID_TEXT);
    pg_arg_bytes(&p, value.p, value.len);
    pg_arg_int(&p, expires, OID_INT8);
    int rc = pq_do(txc(tx),
                   "INSERT INTO ephemeral (key, value, expires) VALUES ($1, $2, $3) "
                   "ON CONFLICT (key) DO UPDATE SET value = excluded.value, "
                   "expires = excluded.expires",
                   &p, "ephemeral put", NULL);
    arena_free(a);
    return rc;
}

static int
tx_eph_take(struct tx *tx, struct str key, struct arena *a, struct str *value)
{
    struct pargs p = { .a = a };
    PGresult    *r;
    int          rc;

    pg_arg_str(&p, key, OID_TEXT);
    pg_arg_int(&p, time_now_ms(), OID_INT8);
    rc = pq_rows(txc(tx),
                 "DELETE FROM ephemeral WHERE key = $1 AND expires > $2 RETURNING value", &p,
                 "ephemeral take", &r);
    if (rc != E_OK)
        return rc;
    rc = PQntuples(r) > 0 ? E_OK : E_NOTFOUND;
    if (rc == E_OK)
        *value = pg_col_str(r, 0, 0, a);
    PQclear(r);
    return rc;
}

static int
tx_purge(struct tx *tx, const struct spec *s, int64_t before)
{
    struct buf sql;

    WITH_ARGS(a, p);
    buf_init(&sql, SQL_MAX);
    sql_purge(&sql, s, SQL_POSTGRES);
    pg_arg_int(&p, before, OID_INT8);
    int rc = pq_do(txc(tx), buf_cstr(&sql), &p, "purge", NULL);
    buf_free(&sql);
    arena_free(a);
    ns_wrote(tx, s);
    return rc;
}

static int
tx_expire(struct tx *tx, int64_t now)
{
    const char *q[] = { "DELETE FROM idempotency WHERE expires <= $1",
                        "DELETE FROM token_uses WHERE expires <= $1",
                        "DELETE FROM ephemeral WHERE expires <= $1" };
    int         rc = E_OK;

    WITH_ARGS(a, p);
    pg_arg_int(&p, now, OID_INT8);
    for (size_t i = 0; i < ARRAY_LEN(q) && rc == E_OK; i++)
        rc = pq_do(txc(tx), q[i], &p, "expire", NULL);
    arena_free(a);
    return rc;
}

static const struct tx_ops tx_ops = {
    .find = tx_find,
    .list = tx_list,
    .insert = tx_insert,
    .insert_later = tx_insert_later,
    .insert_each = tx_insert_each,
    .update = tx_update,
    .del = tx_del,
    .del_subtree = tx_del_subtree,
    .purge_nsid = tx_purge_nsid,
    .meta_put = tx_meta_put,
    .idem_get = tx_idem_get,
    .idem_put = tx_idem_put,
    .quota_spend = tx_quota_spend,
    .quota_take = tx_quota_take,
    .eph_put = tx_eph_put,
    .eph_take = tx_eph_take,
    .purge = tx_purge,
    .expire = tx_expire,
    .job_enqueue = pg_tx_job_enqueue,
    .job_claim = pg_tx_job_claim,
    .job_renew = pg_tx_job_renew,
    .job_finish = pg_tx_job_finish,
    .job_purge = pg_tx_job_purge,
};

/* ---- the writer thread ------------------------------------------------- */

/* BEGIN, the write lock and (with `savepoint`) the first job's savepoint, on
 * a writer connection made again if it was lost or the server closed it
 * (pg_conn_alive: nothing is sent on a dead one): one round trip. A hopeful
 * transaction's (`lazy`) are held back and sent with its first statement
 * instead; should they fail, the transaction is refused (pq_commit). */
static bool
begin_write(struct pg_store *st, bool savepoint, bool lazy, bool shared)
{
    static const char *const begins[2][2] = {
        { "BEGIN; " WRITE_LOCK, "BEGIN; " WRITE_LOCK "; SAVEPOINT job" },
        { "BEGIN; " WRITE_LOCK_SHARED, "BEGIN; " WRITE_LOCK_SHARED "; SAVEPOINT job" },
    };
    struct pconn *c = &st->writer;
    const char   *lock = shared ? WRITE_LOCK_SHARED : WRITE_LOCK;
    struct errbuf eb;

    c->later_failed = c->held_error = false;
    c->job = c->failed_job = -1;
    c->lazy_sp = lazy;
    if (!pg_conn_alive(c)) {
        if (c->failed_at != 0 && time_now_ms() - c->failed_at < RECONNECT_MS)
            return false;
        if (pg_conn_open(c, st, true, &eb) != E_OK) {
            log_error("%s", eb.msg);
            return false;
        }
    }
    if (lazy)
        return pq_defer(c, "BEGIN") == E_OK && pq_defer(c, lock) == E_OK;
    if (pq_exec(c, begins[shared][savepoint]) == E_OK)
        return true;
    if (PQstatus(c->pg) == CONNECTION_OK)
        pq_exec(c, "ROLLBACK");
    return false;
}

/* The end of a job of a hopeful transaction that opened no savepoint
 * (nothing of it was sent, or only reads): nothing to release; should it
 * have failed, what it held back is dropped - unless a statement failed,
 * which aborted the transaction: then it is refused, and all its jobs run
 * again in a careful one, each in its savepoint (pg_tx.c run_batch). */
static void
end_unsaved(struct pconn *c, int rc, bool aborted, int n)
{
    if (rc == E_OK)
        return;
    if (!aborted) {
        pq_job_drop(c);
        return;
    }
    if (!c->later_failed)
        c->failed_job = n;
    c->later_failed = c->held_error = true;
}

/* One job in the savepoint "job", which it leaves released (and, when `more`,
 * the next job's opened; in a hopeful transaction the next job opens its own
 * when it needs one, job_savepoint). A job that went on after a failed
 * statement (the transaction is then aborted) failed, whatever it answers.
 * The release of a job that did not fail is sent with the next statement,
 * the next job's first or the COMMIT (pq_defer): no round trip of its own;
 * should it fail, the whole transaction fails (c->later_failed), as when a
 * held-back write of the job fails (tx_insert_later). */
static int
run_job(struct pg_tx *tx, struct wjob *j, int n, bool more)
{
    struct pconn *c = &tx->st->writer;
    size_t        mark = tx->log.n;
    int           rc, end = E_OK;

    c->job = n; /* what it holds back is its own (held_failed) */
    c->job_mark = c->ndeferred;
    c->sp_open = !c->lazy_sp;
    rc = j->run(&tx->base, j->arg);

    bool aborted = PQtransactionStatus(c->pg) == PQTRANS_INERROR;
    if (rc == E_OK && aborted)
        rc = E_INTERNAL;
    if (rc != E_OK) {
        changelog_truncate(&tx->log, mark);
        ns_forget(&tx->base); /* what it found may be rolled back */
    }
    more = more && !c->lazy_sp;
    if (!c->sp_open)
        end_unsaved(c, rc, aborted, n);
    else if (rc == E_OK) {
        end = pq_defer(c, "RELEASE job");
        if (more && end == E_OK)
            end = pq_defer(c, "SAVEPOINT job");
    } else
        end = pq_exec(c, more ? "ROLLBACK TO job; RELEASE job; SAVEPOINT job"
                              : "ROLLBACK TO job; RELEASE job");
    c->job = -1;
    if (end != E_OK && rc == E_OK) {
        changelog_truncate(&tx->log, mark);
        rc = end;
    }
    return rc;
}

/* Whether the transaction's changes are to announce (spec.announced). */
static bool
touches_announced(const struct changelog *l)
{
    for (size_t i = 0; i < l->n; i++) {
        const struct change *c = &l->v[i];
        if (!c->job &&
            (c->s == NULL || (c->s->announced && !(c->created && c->s->creates_unannounced))))
            return true;
    }
    return false;
}

/* Move the generation of announced writes (store_ops.others_wrote) with the
 * transaction;
 * 0 when it did not, else its new value. */
static int64_t
bump_announced(struct pg_store *st, const struct changelog *l)
{
    PGresult *r;
    int64_t   n = 0;

    if (!touches_announced(l) ||
        pq_rows(&st->writer,
                "UPDATE kw_generation SET n = n + 1 WHERE topic = 'announced' RETURNING n",
                NULL, "generation", &r) != E_OK)
        return 0;
    if (PQntuples(r) == 1)
        n = pg_col_int(r, 0, 0);
    PQclear(r);
    return n;
}

/* Our own commit moved the generation from n - 1 to n: the observers saw it
 * already, nothing to rebuild (unless another server's came between). */
static void
own_announced(struct pg_store *st, int64_t n)
{
    if (n <= 0)
        return;
    pthread_mutex_lock(&st->announced_mu);
    if (st->announced_seen == n - 1)
        __atomic_store_n(&st->announced_seen, n, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&st->announced_mu);
}

/* True when the generation read is past what the observers follow: they are
 * reset (by the first thread that sees it) before any thread that read it
 * goes on, so that none judges by a snapshot the move made stale. */
static bool
generation_moved(struct pg_store *st, int64_t n)
{
    bool moved;

    if (n <= __atomic_load_n(&st->announced_seen, __ATOMIC_ACQUIRE))
        return false;
    pthread_mutex_lock(&st->announced_mu);
    if ((moved = n > st->announced_seen)) {
        store_observers_reset();
        __atomic_store_n(&st->announced_seen, n, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&st->announced_mu);
    return moved;
}

/* Unknown when the generation cannot be read (the row locked past the
 * statement timeout, the connection lost): the request's own reads may well
 * succeed, and must not be judged by a snapshot that may be stale. */
enum others
pg_st_others_wrote(struct store *base)
{
    struct pg_store *st = (struct pg_store *)base;
    struct pconn    *c = pg_reader(st);
    PGresult        *r;
    int64_t          n;

    if (c == NULL || pq_rows(c, GENERATION_SQL, NULL, "generation", &r) != E_OK)
        return OTHERS_UNKNOWN;
    n = PQntuples(r) == 1 ? pg_col_int(r, 0, 0) : 0;
    PQclear(r);
    return generation_moved(st, n) ? OTHERS_WROTE : OTHERS_NONE;
}

void
pg_st_follow_later(struct store *base)
{
    struct pconn *c = pg_reader((struct pg_store *)base);

    if (c != NULL) {
        c->follow = FOLLOW_ARMED;
        c->follow_base =
            __atomic_load_n(&((struct pg_store *)base)->announced_seen, __ATOMIC_ACQUIRE);
    }
}

/* From the read that took the generation with it; without one (the request
 * read nothing, or the connection broke), as others_wrote. Moved since it
 * was armed - by this thread's read or another's - is OTHERS_WROTE: what was
 * judged in between may have used the snapshot before the reset. */
enum others
pg_st_follow_settle(struct store *base)
{
    struct pg_store *st = (struct pg_store *)base;
    struct pconn    *c = pthread_getspecific(st->reader_key);
    enum follow      f = c != NULL ? c->follow : FOLLOW_OFF;
    enum others      o;

    if (c != NULL)
        c->follow = FOLLOW_OFF;
    if (f != FOLLOW_READ)
        o = pg_st_others_wrote(base);
    else
        o = generation_moved(st, c->follow_n) ? OTHERS_WROTE : OTHERS_NONE;
    if (o == OTHERS_NONE && c != NULL &&
        __atomic_load_n(&st->announced_seen, __ATOMIC_ACQUIRE) != c->follow_base)
        o = OTHERS_WROTE;
    return o;
}

/* Whether j may join the transaction that `first` began, n jobs in. Its
 * write lock is taken for all its jobs: shared when `first` is independent
 * (struct wjob), then only independent jobs join; else whole, which any job
 * may run under (an independent one too: the audit entries of refused
 * requests among creates that are not independent cost no commits of their
 * own). */
static bool
joins(const struct wjob *first, const struct wjob *j, size_t n)
{
    return j != NULL && n < BATCH_MAX && (!first->independent || j->independent);
}

/* Whether the transaction about to run jobs j... may be hopeful: each of
 * them may run again (wjob.rerun). Then their inserts are held back like
 * every other write of theirs, and the whole transaction goes in a few
 * round trips instead of one a job. */
static bool
all_rerun(const struct wjob *first)
{
    size_t n = 0;

    for (const struct wjob *j = first; joins(first, j, n); j = j->next, n++)
        if (!j->rerun)
            return false;
    return true;
}

/* Run jobs j... in one transaction (at most BATCH_MAX of one kind, joins;
 * fewer when a held-back write fails); *rcs their results, *n how many ran.
 * True when it was refused for a held-back write (pq_commit): surely not
 * committed. */
static bool
run_tx(struct pg_tx *tx, struct wjob *j, int *rcs, size_t *n)
{
    struct pg_store   *st = tx->st;
    struct pconn      *c = &st->writer;
    const struct wjob *first = j;
    bool began = begin_write(st, true, tx->hopeful, first->independent), refused = false;

    ns_forget(&tx->base); /* a new transaction: what another wrote counts */
    /* A held-back write that failed ends the transaction (pq_commit refuses
     * it); the jobs after it run in the next. */
    for (*n = 0; joins(first, j, *n) && !c->later_failed; j = j->next, (*n)++)
        rcs[*n] =
            began ? run_job(tx, j, (int)*n, joins(first, j->next, *n + 1)) : E_UNAVAILABLE;
    int64_t gen = began ? bump_announced(st, &tx->log) : 0;
    /* A lost connection during COMMIT leaves the outcome unknown: the jobs
     * answer 503, honestly "unknown". */
    if (began && pq_commit(c) != E_OK) {
        refused = c->later_failed;
        pq_exec(c, "ROLLBACK");
        for (size_t i = 0; i < *n; i++)
            rcs[i] = E_UNAVAILABLE;
        changelog_truncate(&tx->log, 0);
    } else
        own_announced(st, gen);
    changelog_publish(&tx->log);
    return refused;
}

/* The writer's queue, in transactions. One refused for a held-back write
 * (surely not committed) is not the end of its jobs: after a hopeful one
 * (an insert that wrote nothing: a taken name, a namespace gone), every job
 * runs again in a careful transaction, where each waits for its inserts and
 * is told; after a careful one, the job whose write failed answers 503 and
 * the others that may (wjob.rerun) run again, first in the next. A hopeful
 * refusal is always followed by a careful transaction, and each careful
 * refusal answers a job, so the queue moves on; once a held-back write has
 * failed with an error (the database refusing, a lock held past the
 * statement timeout), the rest of the batch goes carefully: no whole hopeful
 * transaction is run again for each job such a failure costs. */
static void
run_batch(struct pg_store *st, struct wjob *batch)
{
    struct pg_tx  tx = { { &tx_ops }, st, { 0 } };
    struct pconn *c = &st->writer;
    int           rcs[BATCH_MAX];
    struct wjob  *j = batch, *next;
    bool          careful = false, failing = false;

    while (j != NULL) {
        struct wjob *first = j;
        size_t       n;
        tx.hopeful = !careful && !failing && all_rerun(j);
        bool refused = run_tx(&tx, j, rcs, &n);
        int  culprit = tx.hopeful ? -1 : c->failed_job;
        if (!tx.hopeful && culprit < 0)
            refused = false; /* no job to blame: each is told (never seen) */
        for (size_t i = 0; i < n; i++)
            j = j->next; /* the jobs not run */
        struct wjob *rest = j, *again = NULL, **tail = &again;
        j = first;
        for (size_t i = 0; i < n; i++, j = next) {
            next = j->next;
            if (refused && j->rerun && (int)i != culprit) {
                *tail = j;
                tail = &j->next;
            } else
                j->done(j->arg, rcs[i]);
        }
        *tail = rest;
        j = again;
        careful = refused && tx.hopeful;
        failing = failing || (refused && c->held_error);
    }
    changelog_free(&tx.log);
    ns_forget(&tx.base);
}

/* The count changes the triggers appended (sql.h sql_counts_fold) folded into
 * the counts, at most once a second after writes, in a transaction of their
 * own: the appended rows stay few, whatever the rate of writes. Under the
 * write lock shared: the fold deletes appended rows and adds them up, right
 * beside the inserts of others' appended rows and beside another server's
 * fold (a row it deletes is skipped by the other's DELETE once gone); taken
 * whole, it would wait for every other server's transaction of creates,
 * and hold this server's writes back meanwhile. */
#define FOLD_EVERY_MS 1000

static void
fold_counts(struct pg_store *st, int64_t *last_ms)
{
    int64_t now = time_now_ms();
    int     rc = E_OK;

    if (now - *last_ms < FOLD_EVERY_MS || !begin_write(st, false, false, true))
        return;
    *last_ms = now;
    for (size_t i = 0; i < spec_count && rc == E_OK; i++) {
        struct buf sql;
        if (spec_all[i]->counted == NULL || spec_all[i]->not_namespaced)
            continue;
        buf_init(&sql, SQL_MAX);
        sql_counts_fold(&sql, spec_all[i]);
        rc = pq_do(&st->writer, buf_cstr(&sql), NULL, "fold counts", NULL);
        buf_free(&sql);
    }
    pq_exec(&st->writer, rc == E_OK ? "COMMIT" : "ROLLBACK");
}

void *
pg_writer_main(void *arg)
{
    struct pg_store *st = arg;
    struct wjob     *batch;
    int64_t          folded_ms = 0;

    while ((batch = wqueue_take(&st->q)) != NULL) {
        run_batch(st, batch);
        fold_counts(st, &folded_ms);
    }
    return NULL;
}

void
pg_st_submit(struct store *base, struct wjob *job)
{
    wqueue_push(&((struct pg_store *)base)->q, job);
}

void
pg_st_close(struct store *base)
{
    struct pg_store *st = (struct pg_store *)base;

    wqueue_stop(&st->q);
    pthread_join(st->thread, NULL);
    for (struct pconn *c = st->readers, *next; c != NULL; c = next) {
        next = c->next;
        pg_conn_close(c);
        free(c);
    }
    pthread_key_delete(st->reader_key);
    pg_conn_close(&st->writer);
    pg_watch_free(st->watch);
    pg_url_forget(&st->secrets);
    free(st->url);
    free(st);
}
