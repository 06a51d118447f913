/* pg_jobs.c - the PostgreSQL store's work items (store.h): their operations in
 * the writer's transaction (enqueue, claim, renew, finish, purge; pg_tx.c puts
 * them in its struct tx_ops), and the reads of the next due time and of one
 * item on the thread's read connection.
 */
#include "../core/buf.h"
#include "../core/timeutil.h"
#include "pg_local.h"

/* ---- work items (see store.h) -------------------------------------------- */

/* The columns job_row_read() expects, in its order. */
#define JOB_COLS                                                                               \
    "id, kind, key, payload, state, run_at, attempts, lease_ms, lease_owner, "                 \
    "lease_until, last_error, progress, created, updated"

static void
job_row_read(const PGresult *r, struct arena *a, struct job_row *j)
{
    j->id = pg_col_int(r, 0, 0);
    j->kind = pg_col_str(r, 0, 1, a);
    j->key = pg_col_str(r, 0, 2, a);
    j->payload = pg_col_str(r, 0, 3, a);
    j->state = job_state_parse(pg_col_str(r, 0, 4, a).p);
    j->run_at = pg_col_int(r, 0, 5);
    j->attempts = pg_col_int(r, 0, 6);
    j->lease_ms = pg_col_int(r, 0, 7);
    j->owner = pg_col_str(r, 0, 8, a);
    j->lease_until = pg_col_int(r, 0, 9);
    j->last_error = pg_col_str(r, 0, 10, a);
    j->progress = pg_col_str(r, 0, 11, a);
    j->created = pg_col_int(r, 0, 12);
    j->updated = pg_col_int(r, 0, 13);
}

/* At most one live item per (kind, key); a running one runs once more when it
 * ends (sqlite_jobs.c sqlite_tx_job_enqueue). */
int
pg_tx_job_enqueue(struct tx *tx, const struct job_new *j, int64_t now, int64_t *id)
{
    PGresult *r;

    WITH_ARGS(a, p);
    pg_arg_cstr(&p, j->kind);
    pg_arg_str(&p, j->key, OID_TEXT);
    pg_arg_bytes(&p, j->payload.p, j->payload.len);
    pg_arg_int(&p, j->run_at, OID_INT8);
    pg_arg_int(&p, j->lease_ms, OID_INT8);
    pg_arg_int(&p, now, OID_INT8);
    int rc = pq_rows(
        txc(tx),
        "INSERT INTO jobs AS o (kind, key, payload, state, run_at, attempts, lease_ms, created,"
        " updated) VALUES ($1, $2, $3, 'queued', $4, 0, $5, $6, $6)"
        " ON CONFLICT (kind, key) DO UPDATE SET"
        " payload = CASE WHEN o.state IN ('done', 'failed') THEN excluded.payload"
        "  ELSE o.payload END,"
        " run_at = CASE WHEN o.state IN ('done', 'failed') THEN excluded.run_at"
        "  WHEN o.state = 'queued' THEN LEAST(o.run_at, excluded.run_at) ELSE o.run_at END,"
        " attempts = CASE WHEN o.state = 'queued' THEN o.attempts ELSE 0 END,"
        " state = CASE WHEN o.state IN ('done', 'failed') THEN 'queued' ELSE o.state END,"
        " lease_ms = excluded.lease_ms, updated = excluded.updated"
        " RETURNING id",
        &p, "job enqueue", &r);
    arena_free(a);
    if (rc != E_OK)
        return rc;
    if (PQntuples(r) == 1) {
        if (id != NULL)
            *id = pg_col_int(r, 0, 0);
        changelog_add(&((struct pg_tx *)tx)->log, &(struct change){ .job = true });
    } else
        rc = E_INTERNAL;
    PQclear(r);
    return rc;
}

/* The kinds as one text array parameter: `{"a","b"}` (kinds are plain ASCII
 * names; quotes and backslashes escaped anyway). */
static const char *
kinds_array(struct arena *a, const char *const *kinds, size_t n)
{
    struct buf b;
    char      *out;

    buf_init(&b, SQL_MAX);
    buf_putc(&b, '{');
    for (size_t i = 0; i < n; i++) {
        buf_puts(&b, i > 0 ? ",\"" : "\"");
        for (const char *k = kinds[i]; *k != '\0'; k++) {
            if (*k == '"' || *k == '\\')
                buf_putc(&b, '\\');
            buf_putc(&b, *k);
        }
        buf_putc(&b, '"');
    }
    buf_putc(&b, '}');
    out = arena_strndup(a, b.p, b.len);
    buf_free(&b);
    return out;
}

int
pg_tx_job_claim(struct tx *tx, const char *const *kinds, size_t nkinds,
                const struct job_lease *l, int64_t now, struct arena *a, struct job_row *out)
{
    struct pargs p = { .a = a };
    PGresult    *r;
    int          rc;

    pg_arg_cstr(&p, l->owner);
    pg_arg_int(&p, l->token, OID_INT8);
    pg_arg_int(&p, now, OID_INT8);
    pg_arg_add(&p, 1009 /* text[] */, 0, kinds_array(a, kinds, nkinds), 0);
    rc = pq_rows(txc(tx),
                 "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = $1,"
                 " lease_token = $2, lease_until = $3 + lease_ms, run_at = $3 + lease_ms,"
                 " updated = $3 WHERE id = (SELECT id FROM jobs"
                 "  WHERE state IN ('queued', 'running') AND run_at <= $3 AND kind = ANY($4)"
                 "  ORDER BY run_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)"
                 " RETURNING " JOB_COLS,
                 &p, "job claim", &r);
    if (rc != E_OK)
        return rc;
    rc = PQntuples(r) == 1 ? E_OK : E_NOTFOUND;
    if (rc == E_OK)
        job_row_read(r, a, out);
    PQclear(r);
    return rc;
}

int
pg_tx_job_renew(struct tx *tx, const struct job_lease *l, int64_t until, struct str progress)
{
    int64_t changed = 0;

    WITH_ARGS(a, p);
    pg_arg_int(&p, l->id, OID_INT8);
    pg_arg_cstr(&p, l->owner);
    pg_arg_int(&p, l->token, OID_INT8);
    pg_arg_int(&p, until, OID_INT8);
    pg_arg_str(&p, progress, OID_TEXT);
    pg_arg_int(&p, time_now_ms(), OID_INT8);
    int rc = pq_do(txc(tx),
                   "UPDATE jobs SET lease_until = $4, run_at = $4,"
                   " progress = coalesce($5, progress), updated = $6"
                   " WHERE id = $1 AND state = 'running' AND lease_owner = $2"
                   " AND lease_token = $3",
                   &p, "job renew", &changed);
    arena_free(a);
    if (rc != E_OK)
        return rc;
    return changed == 0 ? E_CONFLICT : E_OK;
}

int
pg_tx_job_finish(struct tx *tx, const struct job_lease *l, const struct job_end *e,
                 struct str progress)
{
    int64_t changed = 0;

    if (e->state == JOB_RUNNING)
        return E_INTERNAL;
    WITH_ARGS(a, p);
    pg_arg_int(&p, l->id, OID_INT8);
    pg_arg_cstr(&p, l->owner);
    pg_arg_int(&p, l->token, OID_INT8);
    pg_arg_cstr(&p, job_state_name(e->state));
    pg_arg_int(&p, e->run_at, OID_INT8);
    pg_arg_int(&p, e->attempts, OID_INT8);
    pg_arg_str(&p, e->error, OID_TEXT);
    pg_arg_str(&p, progress, OID_TEXT);
    pg_arg_int(&p, time_now_ms(), OID_INT8);
    int rc = pq_do(txc(tx),
                   "UPDATE jobs SET state = CASE WHEN attempts = 0 THEN 'queued' ELSE $4 END,"
                   " run_at = CASE WHEN attempts = 0 THEN $9 ELSE $5 END,"
                   " attempts = CASE WHEN attempts = 0 THEN 0 ELSE $6 END, last_error = $7,"
                   " progress = coalesce($8, progress), lease_token = NULL, lease_until = NULL,"
                   " updated = $9 WHERE id = $1 AND state = 'running' AND lease_owner = $2"
                   " AND lease_token = $3",
                   &p, "job finish", &changed);
    arena_free(a);
    if (rc != E_OK)
        return rc;
    return changed == 0 ? E_CONFLICT : E_OK;
}

int
pg_tx_job_purge(struct tx *tx, int64_t before)
{
    WITH_ARGS(a, p);
    pg_arg_int(&p, before, OID_INT8);
    int rc =
        pq_do(txc(tx), "DELETE FROM jobs WHERE state IN ('done', 'failed') AND updated < $1",
              &p, "job purge", NULL);
    arena_free(a);
    return rc;
}

int
pg_st_job_next(struct store *base, int64_t *when)
{
    struct pconn *c = pg_reader((struct pg_store *)base);
    PGresult     *r;
    int           rc;

    if (c == NULL)
        return E_UNAVAILABLE;
    rc = pq_rows(c, "SELECT min(run_at) FROM jobs WHERE state IN ('queued', 'running')", NULL,
                 "job next", &r);
    if (rc != E_OK)
        return rc;
    rc = PQntuples(r) > 0 && !PQgetisnull(r, 0, 0) ? E_OK : E_NOTFOUND;
    if (rc == E_OK)
        *when = pg_col_int(r, 0, 0);
    PQclear(r);
    return rc;
}

int
pg_st_job_waiting(struct store *base, const char *const *kinds, size_t nkinds, int64_t except,
                  int64_t due_by, bool *any)
{
    struct pconn *c = pg_reader((struct pg_store *)base);
    PGresult     *r;
    int           rc;

    *any = false;
    if (c == NULL)
        return E_UNAVAILABLE;
    WITH_ARGS(a, p);
    pg_arg_int(&p, due_by, OID_INT8);
    pg_arg_int(&p, except, OID_INT8);
    pg_arg_add(&p, 1009 /* text[] */, 0, kinds_array(a, kinds, nkinds), 0);
    rc = pq_rows(c,
                 "SELECT count(*) FROM (SELECT 1 FROM jobs WHERE state IN ('queued', 'running')"
                 " AND run_at <= $1 AND id <> $2 AND kind = ANY($3) LIMIT 1) w",
                 &p, "job waiting", &r);
    arena_free(a);
    if (rc != E_OK)
        return rc;
    *any = PQntuples(r) == 1 && pg_col_int(r, 0, 0) > 0;
    PQclear(r);
    return E_OK;
}

int
pg_st_job_get(struct store *base, const char *kind, struct str key, struct arena *a,
              struct job_row *out)
{
    struct pconn *c = pg_reader((struct pg_store *)base);
    struct pargs  p = { .a = a };
    PGresult     *r;
    int           rc;

    if (c == NULL)
        return E_UNAVAILABLE;
    pg_arg_cstr(&p, kind);
    pg_arg_str(&p, key, OID_TEXT);
    rc = pq_rows(c, "SELECT " JOB_COLS " FROM jobs WHERE kind = $1 AND key = $2", &p, "job get",
                 &r);
    if (rc != E_OK)
        return rc;
    rc = PQntuples(r) > 0 ? E_OK : E_NOTFOUND;
    if (rc == E_OK)
        job_row_read(r, a, out);
    PQclear(r);
    return rc;
}
