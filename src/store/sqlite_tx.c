/* sqlite_tx.c - the SQLite store's transaction operations (store.h tx_ops):
 * the writes of rows with their side tables and substring indexes, the
 * deletes and purges, meta, idempotency keys, token quotas and ephemeral
 * values. They run on the writer thread only, in its batch's transaction
 * (sqlite.c run_batch); the work items' operations are in sqlite_jobs.c.
 */
#include <stdlib.h>
#include <string.h>

#include "../core/buf.h"
#include "../core/codec.h"
#include "../core/timeutil.h"
#include "sqlite_local.h"

/* ---- the transaction's operations (writer thread only) ------------------ */

static int
tx_find(struct tx *tx, const struct spec *s, const struct scope *sc, const char *attr,
        struct str value, struct arena *a, struct val *out)
{
    return sqlite_run_find(txc(tx), s, sc, attr, value, a, out);
}

static int
tx_list(struct tx *tx, const struct spec *s, const struct listq *q, struct arena *a,
        struct val *items)
{
    struct buf       sql;
    struct sqlparams ps = { 0 };
    struct errbuf    eb;
    int              rc;

    buf_init(&sql, SQL_MAX);
    rc = sql_select(&sql, s, q, SQL_SQLITE, a, &ps, &eb);
    if (rc == E_OK)
        rc = sqlite_fetch_rows(txc(tx), buf_cstr(&sql), &ps, q, a, items);
    buf_free(&sql);
    return rc;
}

/* Bind every column of `obj` in spec order, then its document. Returns the next
 * parameter index, or -1 on error. */
static int
bind_row(sqlite3_stmt *stmt, const struct spec *s, const struct val *obj)
{
    struct buf doc;
    int        idx = 1;

    for (size_t i = 0; i < spec_ncolumns(s); i++) {
        const struct attr *at = spec_column(s, i);
        if (sqlite_bind_val(stmt, idx++, at, val_get(obj, at->name)) != SQLITE_OK)
            return -1;
    }
    buf_init(&doc, SIZE_MAX / 2);
    if (msgpack_encode(obj, &doc) != E_OK ||
        sqlite3_bind_blob(stmt, idx++, doc.p, (int)doc.len, SQLITE_TRANSIENT) != SQLITE_OK)
        idx = -1;
    buf_free(&doc);
    return idx;
}

typedef void side_sql_fn(struct buf *, const struct spec *, const struct attr *,
                         enum sql_dialect);

/* Run once the statement `gen` makes for attribute `at` of `s`, with `ps`. */
static int
run_generated(struct conn *c, side_sql_fn *gen, const struct spec *s, const struct attr *at,
              const struct sqlparams *ps, const char *what)
{
    struct buf    sql;
    sqlite3_stmt *stmt;

    buf_init(&sql, SQL_MAX);
    gen(&sql, s, at, SQL_SQLITE);
    stmt = sqlite_conn_stmt(c, buf_cstr(&sql));
    buf_free(&sql);
    if (stmt == NULL)
        return E_INTERNAL;
    if (sqlite_bind_params(stmt, 1, ps) != SQLITE_OK) {
        sqlite3_reset(stmt);
        return E_INTERNAL;
    }
    return sqlite_step_done(c, stmt, what);
}

/* Run the side-table statement `gen` makes for each queryable list attribute of
 * `s`, with the parameters `ps`. */
static int
side_each(struct conn *c, const struct spec *s, side_sql_fn *gen, const struct sqlparams *ps,
          const struct val *obj)
{
    for (size_t i = 0; i < spec_ncolumns(s); i++) {
        const struct attr *at = spec_column(s, i);
        int                rc;
        if (!attr_is_indexed_list(at))
            continue;
        if (obj != NULL) { /* inserting `obj`'s elements: none, nothing to do */
            const struct val *l = val_get(obj, at->name);
            if (l == NULL || l->t != V_ARR || l->a.n == 0)
                continue;
        }
        if ((rc = run_generated(c, gen, s, at, ps, "list attribute")) != E_OK)
            return rc;
    }
    return E_OK;
}

static int
side_by_id(struct conn *c, const struct spec *s, struct str id, side_sql_fn *gen,
           const struct val *obj)
{
    struct sqlparam p = { .t = SQLP_TEXT, .s = id };

    return side_each(c, s, gen, &(struct sqlparams){ &p, 1, 1 }, obj);
}

/* The elements of one list attribute of `obj`, one prepared insert each: no
 * JSON parsing and no join (reading them back from the row just written made
 * a create three times slower). */
static int
side_insert_list(struct conn *c, const struct spec *s, const struct attr *at,
                 const struct val *obj)
{
    const struct val *l = val_get(obj, at->name);
    struct str        ns = val_get_str(obj, "namespace"), id = val_get_str(obj, "ID");
    struct buf        sql;
    sqlite3_stmt     *stmt;
    int               rc = E_OK;

    if (l == NULL || l->t != V_ARR || l->a.n == 0)
        return E_OK;
    buf_init(&sql, SQL_MAX);
    sql_side_insert_one(&sql, s, at, SQL_SQLITE);
    stmt = sqlite_conn_stmt(c, buf_cstr(&sql));
    buf_free(&sql);
    if (stmt == NULL)
        return E_INTERNAL;
    for (size_t i = 0; i < l->a.n && rc == E_OK; i++) {
        if (l->a.v[i].t != V_STR)
            continue;
        sqlite3_bind_text(stmt, 1, l->a.v[i].s.p, (int)l->a.v[i].s.len, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, ns.p, (int)ns.len, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 3, id.p, (int)id.len, SQLITE_STATIC);
        rc = sqlite_step_done(c, stmt, "list attribute");
    }
    return rc;
}

/* The side rows follow the row just written: an update first drops the old
 * elements, then both insert the object's elements. */
static int
write_side(struct conn *c, const struct spec *s, const struct val *obj, bool insert)
{
    struct str id = val_get_str(obj, "ID");
    int        rc = E_OK;

    if (!insert)
        rc = side_by_id(c, s, id, sql_side_delete, NULL);
    for (size_t i = 0; i < spec_ncolumns(s) && rc == E_OK; i++)
        if (attr_is_indexed_list(spec_column(s, i)))
            rc = side_insert_list(c, s, spec_column(s, i), obj);
    return rc;
}

/* ---- substring indexes (sql.h sql_fts_*) --------------------------------- */

/* Run the statement `gen` makes for each substring index of `s`, with `ps`. */
static int
fts_each(struct conn *c, const struct spec *s, side_sql_fn *gen, const struct sqlparams *ps)
{
    for (size_t i = 0; i < spec_ncolumns(s); i++) {
        int rc;
        if (!attr_is_substring(spec_column(s, i)))
            continue;
        if ((rc = run_generated(c, gen, s, spec_column(s, i), ps, "substring index")) != E_OK)
            return rc;
    }
    return E_OK;
}

/* The rowid of the row whose ID is `id` (its entries' rowid): E_NOTFOUND when
 * there is none. */
static int
rowid_of(struct conn *c, const struct spec *s, struct str id, int64_t *rowid)
{
    struct buf    sql;
    sqlite3_stmt *stmt;
    int           rc;

    buf_init(&sql, SQL_MAX);
    sql_rowid_by_id(&sql, s, SQL_SQLITE);
    stmt = sqlite_conn_stmt(c, buf_cstr(&sql));
    buf_free(&sql);
    if (stmt == NULL)
        return E_INTERNAL;
    sqlite3_bind_text(stmt, 1, id.p, (int)id.len, SQLITE_STATIC);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        *rowid = sqlite3_column_int64(stmt, 0);
    sqlite3_reset(stmt);
    return rc == SQLITE_ROW    ? E_OK
           : rc == SQLITE_DONE ? E_NOTFOUND
                               : sqlite_err(c, rc, "rowid");
}

/* The statement `gen` makes for `at`, with the rowid bound as ?1. */
static sqlite3_stmt *
fts_stmt(struct conn *c, const struct spec *s, const struct attr *at, side_sql_fn *gen,
         int64_t rowid)
{
    struct buf    sql;
    sqlite3_stmt *stmt;

    buf_init(&sql, SQL_MAX);
    gen(&sql, s, at, SQL_SQLITE);
    stmt = sqlite_conn_stmt(c, buf_cstr(&sql));
    buf_free(&sql);
    if (stmt != NULL)
        sqlite3_bind_int64(stmt, 1, rowid);
    return stmt;
}

/* True (1) when `at` has an entry for `rowid`, 0 when not, or -(the error). */
static int
fts_has(struct conn *c, const struct spec *s, const struct attr *at, int64_t rowid)
{
    sqlite3_stmt *stmt = fts_stmt(c, s, at, sql_fts_has, rowid);
    int           rc;

    if (stmt == NULL)
        return -E_INTERNAL;
    rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -sqlite_err(c, rc, "substring index");
}

/* The row's value of `at` (a copy to free), or NULL when it has none (or is gone). */
static int
fts_value(struct conn *c, const struct spec *s, const struct attr *at, int64_t rowid,
          char **out, int *len)
{
    sqlite3_stmt *stmt = fts_stmt(c, s, at, sql_fts_value, rowid);
    int           rc;

    *out = NULL;
    if (stmt == NULL)
        return E_INTERNAL;
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW && sqlite3_column_type(stmt, 0) == SQLITE_TEXT) {
        *len = sqlite3_column_bytes(stmt, 0);
        if ((*out = malloc((size_t)*len + 1)) == NULL)
            abort();
        memcpy(*out, sqlite3_column_text(stmt, 0), (size_t)*len + 1);
    }
    sqlite3_reset(stmt);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? E_OK : sqlite_err(c, rc, "substring index");
}

/* The entry of `at` for the row `rowid` made to hold the row's value: a stale one
 * dropped, a missing one added (a `fresh` row has none yet). */
static int
fts_row(struct conn *c, const struct spec *s, const struct attr *at, int64_t rowid, bool fresh)
{
    sqlite3_stmt *stmt;
    char         *v;
    int           rc, len = 0;

    if (!fresh) {
        if ((stmt = fts_stmt(c, s, at, sql_fts_drop_stale, rowid)) == NULL)
            return E_INTERNAL;
        if ((rc = sqlite_step_done(c, stmt, "substring index")) != E_OK)
            return rc;
        if ((rc = fts_has(c, s, at, rowid)) != 0)
            return rc > 0 ? E_OK : -rc; /* it holds the value already */
    }
    if ((rc = fts_value(c, s, at, rowid, &v, &len)) != E_OK || v == NULL)
        return rc;
    if ((stmt = fts_stmt(c, s, at, sql_fts_insert, rowid)) == NULL)
        rc = E_INTERNAL;
    else {
        sqlite3_bind_text(stmt, 2, v, len, SQLITE_STATIC);
        rc = sqlite_step_done(c, stmt, "substring index");
    }
    free(v);
    return rc;
}

/* A row written or deleted by the running job: its entries follow it when the
 * job ends (sqlite_fts_apply). Not at once: in SQLite 3.40, FTS5 writes its pending
 * entries out at every statement savepoint, which the row inserts open, so
 * entries written one by one between them became a segment each (an import
 * spent a tenth of its time there); written together, they are one. */
static void
fts_later(struct tx *tx, const struct spec *s, int64_t rowid, bool fresh)
{
    struct sqlite_tx *t = (struct sqlite_tx *)tx;

    if (t->nfts == t->capfts) {
        t->capfts = t->capfts ? t->capfts * 2 : 64;
        if ((t->fts = realloc(t->fts, t->capfts * sizeof *t->fts)) == NULL)
            abort();
    }
    t->fts[t->nfts++] = (struct fts_todo){ s, rowid, fresh };
}

static int
cmp_todo(const void *x, const void *y)
{
    const struct fts_todo *a = x, *b = y;

    if (a->s != b->s)
        return a->s->rt->index < b->s->rt->index ? -1 : 1;
    return a->rowid < b->rowid ? -1 : a->rowid > b->rowid;
}

/* The end of a job: each row it touched gets the entries its final state needs
 * (a row the job only inserted, just added; any other made to agree). */
int
sqlite_fts_apply(struct sqlite_tx *t)
{
    struct conn *c = &t->st->writer;
    int          rc = E_OK;

    qsort(t->fts, t->nfts, sizeof *t->fts, cmp_todo);
    for (size_t i = 0, k; i < t->nfts && rc == E_OK; i = k) {
        const struct spec *s = t->fts[i].s;
        bool               fresh = t->fts[i].fresh;
        for (k = i + 1; k < t->nfts && cmp_todo(&t->fts[i], &t->fts[k]) == 0; k++)
            fresh = false;
        for (size_t a = 0; a < spec_ncolumns(s) && rc == E_OK; a++)
            if (attr_is_substring(spec_column(s, a)))
                rc = fts_row(c, s, spec_column(s, a), t->fts[i].rowid, fresh);
    }
    t->nfts = 0;
    return rc;
}

static void
bind_cond(sqlite3_stmt *stmt, int idx, const struct write_cond *wc)
{
    struct str t = wc != NULL ? wc->update_time : STR_NULL;
    int64_t    ms;

    /* Time columns hold milliseconds; an unparsable time matches nothing. */
    if (t.len == 0)
        sqlite3_bind_null(stmt, idx);
    else
        sqlite3_bind_int64(stmt, idx, time_parse(t, &ms) == E_OK ? ms : INT64_MIN);
    sqlite3_bind_int(stmt, idx + 1, wc == NULL || wc->override);
}

static int
write_row(struct tx *tx, const struct spec *s, const struct val *obj, bool insert,
          const struct write_cond *wc)
{
    struct conn  *c = txc(tx);
    struct buf    sql;
    sqlite3_stmt *stmt;
    int           idx, rc;

    buf_init(&sql, SQL_MAX);
    if (insert)
        sql_insert(&sql, s, SQL_SQLITE, false);
    else
        sql_update(&sql, s, SQL_SQLITE);
    stmt = sqlite_conn_stmt(c, buf_cstr(&sql));
    buf_free(&sql);
    if (stmt == NULL)
        return E_INTERNAL;
    idx = bind_row(stmt, s, obj);
    if (idx < 0)
        return E_INTERNAL;
    if (!insert) {
        const struct val *id = val_get(obj, "ID");
        if (id == NULL || id->t != V_STR)
            return E_INTERNAL;
        sqlite3_bind_text(stmt, idx++, id->s.p, (int)id->s.len, SQLITE_STATIC);
    }
    const struct val *ns = val_get(obj, "namespace");
    if (ns == NULL || ns->t != V_STR)
        return E_INTERNAL;
    sqlite3_bind_text(stmt, idx++, ns->s.p, (int)ns->s.len, SQLITE_STATIC);
    if (!insert)
        bind_cond(stmt, idx, wc);
    rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    if (rc != SQLITE_DONE)
        return sqlite_err(c, rc, insert ? "insert" : "update");
    /* Nothing written: no such object (update), or its namespace is gone. */
    if (sqlite3_changes(c->db) == 0)
        return E_NOTFOUND;
    int64_t rowid = sqlite3_last_insert_rowid(c->db);
    rc = write_side(c, s, obj, insert);
    if (rc != E_OK || !sqlite_has_fts(s))
        return rc;
    if (!insert && (rc = rowid_of(c, s, val_get_str(obj, "ID"), &rowid)) != E_OK)
        return rc == E_NOTFOUND ? E_INTERNAL : rc;
    fts_later(tx, s, rowid, insert);
    return E_OK;
}

static void
log_change(struct tx *tx, const struct spec *s, struct str id, const struct val *obj)
{
    /* A copy of the value: callers pass objects on their stack. */
    changelog_add(&((struct sqlite_tx *)tx)->log,
                  &(struct change){ .s = s, .id = id, .obj = obj != NULL ? *obj : val_null() });
}

static int
tx_insert(struct tx *tx, const struct spec *s, const struct val *obj)
{
    int rc = write_row(tx, s, obj, true, NULL);

    if (rc == E_OK)
        log_change(tx, s, val_get_str(obj, "ID"), obj);
    return rc;
}

static int
tx_update(struct tx *tx, const struct spec *s, const struct val *obj,
          const struct write_cond *wc)
{
    int rc = write_row(tx, s, obj, false, wc);

    if (rc == E_OK)
        log_change(tx, s, val_get_str(obj, "ID"), obj);
    else if (rc == E_NOTFOUND)
        rc = store_why_unchanged(tx, s, val_get_str(obj, "ID"), wc);
    return rc;
}

static int
tx_del(struct tx *tx, const struct spec *s, struct str id, const struct write_cond *wc)
{
    struct conn  *c = txc(tx);
    struct buf    sql;
    sqlite3_stmt *stmt;
    int64_t       rowid = 0;
    int           rc;

    /* The rowid names the row's substring entries, gone with it below. */
    if (sqlite_has_fts(s) && (rc = rowid_of(c, s, id, &rowid)) != E_OK)
        return rc == E_NOTFOUND ? store_why_unchanged(tx, s, id, wc) : rc;
    buf_init(&sql, SQL_MAX);
    sql_delete(&sql, s, SQL_SQLITE);
    stmt = sqlite_conn_stmt(c, buf_cstr(&sql));
    buf_free(&sql);
    if (stmt == NULL)
        return E_INTERNAL;
    sqlite3_bind_text(stmt, 1, id.p, (int)id.len, SQLITE_STATIC);
    bind_cond(stmt, 2, wc);
    rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    if (rc != SQLITE_DONE)
        return sqlite_err(c, rc, "delete");
    if (sqlite3_changes(c->db) == 0)
        return store_why_unchanged(tx, s, id, wc);
    if ((rc = side_by_id(c, s, id, sql_side_delete, NULL)) != E_OK)
        return rc;
    if (sqlite_has_fts(s))
        fts_later(tx, s, rowid, false);
    log_change(tx, s, id, NULL);
    return E_OK;
}

/* The IDs of the namespaces below `ns` (they go with it), into `gone`. */
static int
subtree_ids(struct conn *c, struct str ns, struct arena *a, struct val *gone)
{
    struct buf       sql;
    struct sqlparams ps = { 0 };
    struct scope     sc = { ns, true };
    sqlite3_stmt    *stmt;
    int              r;

    buf_init(&sql, SQL_MAX);
    sql_select_namespace_ids(&sql, &sc, SQL_SQLITE, a, &ps);
    stmt = sqlite_conn_stmt(c, buf_cstr(&sql));
    buf_free(&sql);
    if (stmt == NULL)
        return E_INTERNAL;
    sqlite_bind_params(stmt, 1, &ps);
    while ((r = sqlite3_step(stmt)) == SQLITE_ROW)
        val_push(a, gone,
                 val_str(arena_str(a, str_c((const char *)sqlite3_column_text(stmt, 0)))));
    sqlite3_reset(stmt);
    return r == SQLITE_DONE ? E_OK : sqlite_err(c, r, "delete subtree");
}

static int
exec_params(struct conn *c, struct buf *sql, const struct sqlparams *ps, const char *what)
{
    sqlite3_stmt *stmt = sqlite_conn_stmt(c, buf_cstr(sql));
    int           r;

    buf_free(sql);
    if (stmt == NULL)
        return E_INTERNAL;
    sqlite_bind_params(stmt, 1, ps);
    r = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    return r == SQLITE_DONE ? E_OK : sqlite_err(c, r, what);
}

static int
tx_del_subtree(struct tx *tx, struct str ns, struct arena *ga, struct val *gone)
{
    struct conn  *c = txc(tx);
    struct arena *a = arena_new(1024);
    int           rc = subtree_ids(c, ns, ga, gone);

    /* Bulk specs' rows stay until the namespace.purge job: invisible from now on,
     * since the namespaces they name are gone. */
    for (size_t i = 0; i < spec_count && rc == E_OK; i++) {
        const struct spec *s = spec_all[i];
        struct buf         sql;
        struct sqlparams   ps = { 0 };
        struct scope       sc = { ns, true };
        if (s->not_namespaced || s->bulk)
            continue;
        for (size_t k = 0; k < spec_ncolumns(s) && rc == E_OK; k++) {
            const struct attr *at = spec_column(s, k);
            if (!attr_is_indexed_list(at) && !attr_is_substring(at))
                continue;
            ps.n = 0;
            buf_init(&sql, SQL_MAX);
            if (attr_is_substring(at))
                sql_fts_delete_scope(&sql, s, at, &sc, SQL_SQLITE, a, &ps);
            else
                sql_side_delete_scope(&sql, s, at, &sc, SQL_SQLITE, a, &ps);
            rc = exec_params(c, &sql, &ps, "delete subtree");
        }
        if (rc != E_OK)
            break;
        ps.n = 0;
        buf_init(&sql, SQL_MAX);
        sql_delete_scope(&sql, s, &sc, SQL_SQLITE, a, &ps);
        rc = exec_params(c, &sql, &ps, "delete subtree");
    }
    arena_free(a);
    if (rc == E_OK)
        changelog_add(&((struct sqlite_tx *)tx)->log, &(struct change){ .ns = ns });
    return rc;
}

static int
tx_purge_nsid(struct tx *tx, const struct spec *s, struct str nsid, int64_t limit,
              int64_t *deleted)
{
    struct conn  *c = txc(tx);
    struct buf    sql;
    sqlite3_stmt *stmt;
    int           r;

    /* Side rows first: their statement picks the batch's rows by the same order
     * and limit as the main delete, so exactly those rows' elements go. */
    struct sqlparam p[2] = { { .t = SQLP_TEXT, .s = nsid }, { .t = SQLP_INT, .i = limit } };
    if ((r = side_each(c, s, sql_side_purge_nsid, &(struct sqlparams){ p, 2, 2 }, NULL)) !=
            E_OK ||
        (r = fts_each(c, s, sql_fts_purge_nsid, &(struct sqlparams){ p, 2, 2 })) != E_OK)
        return r;
    buf_init(&sql, SQL_MAX);
    sql_purge_nsid(&sql, s, SQL_SQLITE);
    stmt = sqlite_conn_stmt(c, buf_cstr(&sql));
    buf_free(&sql);
    if (stmt == NULL)
        return E_INTERNAL;
    sqlite3_bind_text(stmt, 1, nsid.p, (int)nsid.len, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, limit);
    r = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    if (r != SQLITE_DONE)
        return sqlite_err(c, r, "purge");
    *deleted = sqlite3_changes(c->db);
    return E_OK;
}

static int
tx_meta_put(struct tx *tx, const char *key, struct str value)
{
    struct conn  *c = txc(tx);
    sqlite3_stmt *stmt =
        sqlite_conn_stmt(c, "INSERT INTO meta (key, value) VALUES (?, ?) "
                            "ON CONFLICT (key) DO UPDATE SET value = excluded.value");

    if (stmt == NULL)
        return E_INTERNAL;
    sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_blob(stmt, 2, value.p, (int)value.len, SQLITE_STATIC);
    return sqlite_step_done(c, stmt, "meta put");
}

static int
tx_idem_get(struct tx *tx, struct str key, struct arena *a, struct str *fp, int *status,
            struct str *body)
{
    struct conn  *c = txc(tx);
    sqlite3_stmt *stmt =
        sqlite_conn_stmt(c, "SELECT fingerprint, status, body FROM idempotency "
                            "WHERE key = ? AND expires > ?");
    int rc;

    if (stmt == NULL)
        return E_INTERNAL;
    sqlite3_bind_text(stmt, 1, key.p, (int)key.len, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, time_now_ms());
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        const char *f = (const char *)sqlite3_column_text(stmt, 0);
        const char *b = sqlite3_column_blob(stmt, 2);
        size_t      bn = (size_t)sqlite3_column_bytes(stmt, 2);
        *fp = arena_str(a, str_c(f));
        *status = sqlite3_column_int(stmt, 1);
        *body = (struct str){ arena_strndup(a, b ? b : "", bn), bn };
        rc = E_OK;
    } else
        rc = rc == SQLITE_DONE ? E_NOTFOUND : sqlite_err(c, rc, "idempotency get");
    sqlite3_reset(stmt);
    return rc;
}

static int
tx_idem_put(struct tx *tx, struct str key, struct str fp, int status, struct str body,
            int64_t expires)
{
    struct conn  *c = txc(tx);
    sqlite3_stmt *stmt = sqlite_conn_stmt(c, "INSERT OR REPLACE INTO idempotency "
                                             "(key, fingerprint, status, body, expires) "
                                             "VALUES (?, ?, ?, ?, ?)");

    if (stmt == NULL)
        return E_INTERNAL;
    sqlite3_bind_text(stmt, 1, key.p, (int)key.len, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, fp.p, (int)fp.len, SQLITE_STATIC);
    sqlite3_bind_int(stmt, 3, status);
    sqlite3_bind_blob(stmt, 4, body.p, (int)body.len, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 5, expires);
    return sqlite_step_done(c, stmt, "idempotency put");
}

static int
tx_quota_spend(struct tx *tx, struct str jti, int64_t quota, int64_t expires)
{
    struct conn  *c = txc(tx);
    sqlite3_stmt *stmt = sqlite_conn_stmt(c, "INSERT INTO token_uses (jti, used, expires) "
                                             "VALUES (?1, 1, ?3) ON CONFLICT (jti) DO UPDATE "
                                             "SET used = used + 1 WHERE used < ?2");
    int           rc;

    if (stmt == NULL)
        return E_INTERNAL;
    sqlite3_bind_text(stmt, 1, jti.p, (int)jti.len, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, quota);
    sqlite3_bind_int64(stmt, 3, expires);
    rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    if (rc != SQLITE_DONE)
        return sqlite_err(c, rc, "quota");
    return sqlite3_changes(c->db) == 0 ? E_QUOTA : E_OK;
}

static int
tx_quota_take(struct tx *tx, struct str jti, int64_t quota, int64_t expires, int64_t want,
              int64_t *took)
{
    struct conn  *c = txc(tx);
    sqlite3_stmt *stmt = sqlite_conn_stmt(c, "SELECT used FROM token_uses WHERE jti = ?");
    int64_t       used = 0, left;
    int           rc;

    if (stmt == NULL)
        return E_INTERNAL;
    sqlite3_bind_text(stmt, 1, jti.p, (int)jti.len, SQLITE_STATIC);
    if ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
        used = sqlite3_column_int64(stmt, 0);
    sqlite3_reset(stmt);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return sqlite_err(c, rc, "quota");
    if ((left = quota - used) <= 0)
        return E_QUOTA;
    *took = want > 0 && want < left ? want : left;
    stmt =
        sqlite_conn_stmt(c, "INSERT INTO token_uses (jti, used, expires) VALUES (?1, ?2, ?3) "
                            "ON CONFLICT (jti) DO UPDATE SET used = used + ?2");
    if (stmt == NULL)
        return E_INTERNAL;
    sqlite3_bind_text(stmt, 1, jti.p, (int)jti.len, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, *took);
    sqlite3_bind_int64(stmt, 3, expires);
    return sqlite_step_done(c, stmt, "quota");
}

static int
tx_eph_put(struct tx *tx, struct str key, struct str value, int64_t expires)
{
    struct conn  *c = txc(tx);
    sqlite3_stmt *stmt =
        sqlite_conn_stmt(c, "INSERT OR REPLACE INTO ephemeral (key, value, expires) "
                            "VALUES (?, ?, ?)");

    if (stmt == NULL)
        return E_INTERNAL;
    sqlite3_bind_text(stmt, 1, key.p, (int)key.len, SQLITE_STATIC);
    sqlite3_bind_blob(stmt, 2, value.p, (int)value.len, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 3, expires);
    return sqlite_step_done(c, stmt, "ephemeral put");
}

static int
tx_eph_take(struct tx *tx, struct str key, struct arena *a, struct str *value)
{
    struct conn  *c = txc(tx);
    sqlite3_stmt *stmt =
        sqlite_conn_stmt(c, "DELETE FROM ephemeral WHERE key = ? AND expires > ? "
                            "RETURNING value");
    int rc;

    if (stmt == NULL)
        return E_INTERNAL;
    sqlite3_bind_text(stmt, 1, key.p, (int)key.len, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, time_now_ms());
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        const char *p = sqlite3_column_blob(stmt, 0);
        size_t      n = (size_t)sqlite3_column_bytes(stmt, 0);
        *value = (struct str){ arena_strndup(a, p ? p : "", n), n };
        rc = sqlite3_step(stmt) == SQLITE_DONE ? E_OK : E_INTERNAL;
    } else
        rc = rc == SQLITE_DONE ? E_NOTFOUND : sqlite_err(c, rc, "ephemeral take");
    sqlite3_reset(stmt);
    return rc;
}

static int
tx_purge(struct tx *tx, const struct spec *s, int64_t before)
{
    struct conn    *c = txc(tx);
    struct buf      sql;
    sqlite3_stmt   *stmt;
    struct sqlparam p = { .t = SQLP_INT, .i = before };
    int             rc = side_each(c, s, sql_side_purge, &(struct sqlparams){ &p, 1, 1 }, NULL);

    if (rc == E_OK)
        rc = fts_each(c, s, sql_fts_purge, &(struct sqlparams){ &p, 1, 1 });
    if (rc != E_OK)
        return rc;
    buf_init(&sql, SQL_MAX);
    sql_purge(&sql, s, SQL_SQLITE);
    stmt = sqlite_conn_stmt(c, buf_cstr(&sql));
    buf_free(&sql);
    if (stmt == NULL)
        return E_INTERNAL;
    sqlite3_bind_int64(stmt, 1, before);
    return sqlite_step_done(c, stmt, "purge");
}

static int
tx_expire(struct tx *tx, int64_t now)
{
    struct conn *c = txc(tx);
    const char  *q[] = { "DELETE FROM idempotency WHERE expires <= ?",
                         "DELETE FROM token_uses WHERE expires <= ?",
                         "DELETE FROM ephemeral WHERE expires <= ?" };

    for (size_t i = 0; i < ARRAY_LEN(q); i++) {
        sqlite3_stmt *stmt = sqlite_conn_stmt(c, q[i]);
        if (stmt == NULL)
            return E_INTERNAL;
        sqlite3_bind_int64(stmt, 1, now);
        int rc = sqlite3_step(stmt);
        sqlite3_reset(stmt);
        if (rc != SQLITE_DONE)
            return sqlite_err(c, rc, "expire");
    }
    return E_OK;
}

const struct tx_ops sqlite_tx_ops = {
    .find = tx_find,
    .list = tx_list,
    .insert = tx_insert,
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
    .job_enqueue = sqlite_tx_job_enqueue,
    .job_claim = sqlite_tx_job_claim,
    .job_renew = sqlite_tx_job_renew,
    .job_finish = sqlite_tx_job_finish,
    .job_purge = sqlite_tx_job_purge,
};
