/* sqlite_jobs.c - the SQLite store's work items (store.h): enqueue, claim,
 * renew, finish and purge in the writer's transaction, and the next due time
 * and the lookup of one item on the thread's reader.
 */
#include "../core/buf.h"
#include "../core/codec.h"
#include "../core/timeutil.h"
#include "sqlite_local.h"

/* ---- work items (see store.h) -------------------------------------------- */

/* The columns job_row_read() expects, in its order. */
#define JOB_COLS                                                                               \
    "id, kind, key, payload, state, run_at, attempts, lease_ms, lease_owner, "                 \
    "lease_until, last_error, progress, created, updated"

static void
job_row_read(sqlite3_stmt *stmt, struct arena *a, struct job_row *r)
{
    r->id = sqlite3_column_int64(stmt, 0);
    r->kind = sqlite_col_str(stmt, 1, a);
    r->key = sqlite_col_str(stmt, 2, a);
    r->payload = sqlite_col_str(stmt, 3, a);
    r->state = job_state_parse((const char *)sqlite3_column_text(stmt, 4));
    r->run_at = sqlite3_column_int64(stmt, 5);
    r->attempts = sqlite3_column_int64(stmt, 6);
    r->lease_ms = sqlite3_column_int64(stmt, 7);
    r->owner = sqlite_col_str(stmt, 8, a);
    r->lease_until = sqlite3_column_int64(stmt, 9);
    r->last_error = sqlite_col_str(stmt, 10, a);
    r->progress = sqlite_col_str(stmt, 11, a);
    r->created = sqlite3_column_int64(stmt, 12);
    r->updated = sqlite3_column_int64(stmt, 13);
}

static void
bind_str_or_null(sqlite3_stmt *stmt, int idx, struct str s)
{
    if (s.p == NULL)
        sqlite3_bind_null(stmt, idx);
    else
        sqlite3_bind_text(stmt, idx, s.p, (int)s.len, SQLITE_STATIC);
}

/* At most one live item per (kind, key): a queued one becomes due at the
 * earlier time, a running one is marked to run once more when it ends
 * (attempts 0: a claim made it at least 1; what the run read may be older
 * than what this enqueue's transaction wrote), a finished one starts again.
 * (In an upsert's SET every right-hand side sees the old row.) */
int
sqlite_tx_job_enqueue(struct tx *tx, const struct job_new *j, int64_t now, int64_t *id)
{
    struct conn  *c = txc(tx);
    sqlite3_stmt *stmt = sqlite_conn_stmt(
        c, "INSERT INTO jobs (kind, key, payload, state, run_at, attempts, lease_ms, created,"
           " updated) VALUES (?1, ?2, ?3, 'queued', ?4, 0, ?5, ?6, ?6)"
           " ON CONFLICT (kind, key) DO UPDATE SET"
           " payload = CASE WHEN state IN ('done', 'failed') THEN excluded.payload"
           "  ELSE payload END,"
           " run_at = CASE WHEN state IN ('done', 'failed') THEN excluded.run_at"
           "  WHEN state = 'queued' THEN min(run_at, excluded.run_at) ELSE run_at END,"
           " attempts = CASE WHEN state = 'queued' THEN attempts ELSE 0 END,"
           " state = CASE WHEN state IN ('done', 'failed') THEN 'queued' ELSE state END,"
           " lease_ms = excluded.lease_ms, updated = excluded.updated"
           " RETURNING id");
    int rc;

    if (stmt == NULL)
        return E_INTERNAL;
    sqlite3_bind_text(stmt, 1, j->kind, -1, SQLITE_STATIC);
    bind_str_or_null(stmt, 2, j->key);
    sqlite3_bind_blob(stmt, 3, j->payload.p ? j->payload.p : "", (int)j->payload.len,
                      SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 4, j->run_at);
    sqlite3_bind_int64(stmt, 5, j->lease_ms);
    sqlite3_bind_int64(stmt, 6, now);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        if (id != NULL)
            *id = sqlite3_column_int64(stmt, 0);
        rc = sqlite3_step(stmt) == SQLITE_DONE ? E_OK : E_INTERNAL;
        if (rc == E_OK)
            changelog_add(&((struct sqlite_tx *)tx)->log, &(struct change){ .job = true });
    } else
        rc = sqlite_err(c, rc, "job enqueue");
    sqlite3_reset(stmt);
    return rc;
}

/* The kinds as one JSON array, bound for json_each, so that a statement is
 * prepared once whatever their number. *json is the caller's to free. */
static int
kinds_json(struct arena *a, const char *const *kinds, size_t nkinds, struct buf *json)
{
    struct val list = val_arr();

    for (size_t i = 0; i < nkinds; i++)
        val_push(a, &list, val_cstr(kinds[i]));
    buf_init(json, SQL_MAX);
    if (json_encode(&list, json) == E_OK)
        return E_OK;
    buf_free(json);
    return E_INTERNAL;
}

int
sqlite_tx_job_claim(struct tx *tx, const char *const *kinds, size_t nkinds,
                    const struct job_lease *l, int64_t now, struct arena *a,
                    struct job_row *out)
{
    struct conn  *c = txc(tx);
    sqlite3_stmt *stmt = sqlite_conn_stmt(
        c,
        "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = ?1,"
        " lease_token = ?2, lease_until = ?3 + lease_ms, run_at = ?3 + lease_ms, updated = ?3"
        " WHERE id = (SELECT id FROM jobs WHERE state IN ('queued', 'running')"
        "  AND run_at <= ?3 AND kind IN (SELECT value FROM json_each(?4))"
        "  ORDER BY run_at, id LIMIT 1)"
        " RETURNING " JOB_COLS);
    struct buf json;
    int        rc;

    if (stmt == NULL || kinds_json(a, kinds, nkinds, &json) != E_OK)
        return E_INTERNAL;
    sqlite3_bind_text(stmt, 1, l->owner, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, l->token);
    sqlite3_bind_int64(stmt, 3, now);
    sqlite3_bind_text(stmt, 4, json.p, (int)json.len, SQLITE_TRANSIENT);
    buf_free(&json);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        job_row_read(stmt, a, out);
        rc = sqlite3_step(stmt) == SQLITE_DONE ? E_OK : E_INTERNAL;
    } else
        rc = rc == SQLITE_DONE ? E_NOTFOUND : sqlite_err(c, rc, "job claim");
    sqlite3_reset(stmt);
    return rc;
}

int
sqlite_tx_job_renew(struct tx *tx, const struct job_lease *l, int64_t until,
                    struct str progress)
{
    struct conn  *c = txc(tx);
    sqlite3_stmt *stmt = sqlite_conn_stmt(
        c, "UPDATE jobs SET lease_until = ?4, run_at = ?4, progress = coalesce(?5, progress),"
           " updated = ?6 WHERE id = ?1 AND state = 'running' AND lease_owner = ?2"
           " AND lease_token = ?3");
    int rc;

    if (stmt == NULL)
        return E_INTERNAL;
    sqlite3_bind_int64(stmt, 1, l->id);
    sqlite3_bind_text(stmt, 2, l->owner, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 3, l->token);
    sqlite3_bind_int64(stmt, 4, until);
    bind_str_or_null(stmt, 5, progress);
    sqlite3_bind_int64(stmt, 6, time_now_ms());
    rc = sqlite_step_done(c, stmt, "job renew");
    if (rc != E_OK)
        return rc;
    return sqlite3_changes(c->db) == 0 ? E_CONFLICT : E_OK;
}

/* The last owner stays (who ran it last); the token goes, so the claim is over. */
int
sqlite_tx_job_finish(struct tx *tx, const struct job_lease *l, const struct job_end *e,
                     struct str progress)
{
    struct conn  *c = txc(tx);
    sqlite3_stmt *stmt = sqlite_conn_stmt(
        c, "UPDATE jobs SET state = CASE WHEN attempts = 0 THEN 'queued' ELSE ?4 END,"
           " run_at = CASE WHEN attempts = 0 THEN ?9 ELSE ?5 END,"
           " attempts = CASE WHEN attempts = 0 THEN 0 ELSE ?6 END, last_error = ?7,"
           " progress = coalesce(?8, progress), lease_token = NULL, lease_until = NULL,"
           " updated = ?9 WHERE id = ?1 AND state = 'running' AND lease_owner = ?2"
           " AND lease_token = ?3");
    int rc;

    if (stmt == NULL || e->state == JOB_RUNNING)
        return E_INTERNAL;
    sqlite3_bind_int64(stmt, 1, l->id);
    sqlite3_bind_text(stmt, 2, l->owner, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 3, l->token);
    sqlite3_bind_text(stmt, 4, job_state_name(e->state), -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 5, e->run_at);
    sqlite3_bind_int64(stmt, 6, e->attempts);
    bind_str_or_null(stmt, 7, e->error);
    bind_str_or_null(stmt, 8, progress);
    sqlite3_bind_int64(stmt, 9, time_now_ms());
    rc = sqlite_step_done(c, stmt, "job finish");
    if (rc != E_OK)
        return rc;
    return sqlite3_changes(c->db) == 0 ? E_CONFLICT : E_OK;
}

int
sqlite_tx_job_purge(struct tx *tx, int64_t before)
{
    struct conn  *c = txc(tx);
    sqlite3_stmt *stmt =
        sqlite_conn_stmt(c, "DELETE FROM jobs WHERE state IN ('done', 'failed')"
                            " AND updated < ?");

    if (stmt == NULL)
        return E_INTERNAL;
    sqlite3_bind_int64(stmt, 1, before);
    return sqlite_step_done(c, stmt, "job purge");
}

int
sqlite_st_job_next(struct store *base, int64_t *when)
{
    struct conn  *c = sqlite_reader((struct sqlite_store *)base);
    sqlite3_stmt *stmt;
    int           rc;

    if (c == NULL ||
        (stmt = sqlite_conn_stmt(c, "SELECT min(run_at) FROM jobs"
                                    " WHERE state IN ('queued', 'running')")) == NULL)
        return E_UNAVAILABLE;
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW && sqlite3_column_type(stmt, 0) != SQLITE_NULL) {
        *when = sqlite3_column_int64(stmt, 0);
        rc = E_OK;
    } else
        rc = rc == SQLITE_ROW ? E_NOTFOUND : sqlite_err(c, rc, "job next");
    sqlite3_reset(stmt);
    return rc;
}

int
sqlite_st_job_waiting(struct store *base, const char *const *kinds, size_t nkinds,
                      int64_t except, int64_t due_by, bool *any)
{
    struct conn  *c = sqlite_reader((struct sqlite_store *)base);
    struct arena *a = arena_new(1024);
    struct buf    json = { 0 };
    sqlite3_stmt *stmt;
    int           rc = E_UNAVAILABLE;

    *any = false;
    if (a == NULL || c == NULL ||
        (stmt = sqlite_conn_stmt(
             c, "SELECT EXISTS (SELECT 1 FROM jobs"
                " WHERE state IN ('queued', 'running') AND run_at <= ?1"
                " AND id <> ?2 AND kind IN (SELECT value FROM json_each(?3)))")) == NULL)
        goto out;
    if ((rc = kinds_json(a, kinds, nkinds, &json)) != E_OK)
        goto out;
    sqlite3_bind_int64(stmt, 1, due_by);
    sqlite3_bind_int64(stmt, 2, except);
    sqlite3_bind_text(stmt, 3, json.p, (int)json.len, SQLITE_STATIC);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        *any = sqlite3_column_int(stmt, 0) != 0;
        rc = E_OK;
    } else
        rc = sqlite_err(c, rc, "job waiting");
    sqlite3_reset(stmt);
    buf_free(&json);
out:
    arena_free(a);
    return rc;
}

int
sqlite_st_job_get(struct store *base, const char *kind, struct str key, struct arena *a,
                  struct job_row *out)
{
    struct conn  *c = sqlite_reader((struct sqlite_store *)base);
    sqlite3_stmt *stmt;
    int           rc;

    if (c == NULL ||
        (stmt = sqlite_conn_stmt(c, "SELECT " JOB_COLS
                                    " FROM jobs WHERE kind = ? AND key = ?")) == NULL)
        return E_UNAVAILABLE;
    sqlite3_bind_text(stmt, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, key.p, (int)key.len, SQLITE_STATIC);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        job_row_read(stmt, a, out);
        rc = E_OK;
    } else
        rc = rc == SQLITE_DONE ? E_NOTFOUND : sqlite_err(c, rc, "job get");
    sqlite3_reset(stmt);
    return rc;
}
