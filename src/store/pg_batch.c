/* pg_batch.c - reads by ID made together (store_ops.find_ids): the GETs by
 * ID a worker thread found in one round of its events, one statement per
 * table and scope, then the generation row, in one round trip
 * (docs/postgres.md, "several servers"). */
#include <string.h>

#include "../core/log.h"
#include "pg_local.h"
#include "sql.h"

/* The reads of a batch that ask one table in one scope go in one statement,
 * their IDs in one array (sql_select_ids): grp[i] is read i's group, lead[g]
 * the first read of group g. The number of groups. */
static size_t
group_finds(const struct find_id *f, size_t n, size_t *grp, size_t *lead)
{
    size_t ng = 0;

    for (size_t i = 0; i < n; i++) {
        size_t g = 0;
        while (g < ng && !(f[lead[g]].s == f[i].s && str_eq(f[lead[g]].sc.ns, f[i].sc.ns) &&
                           f[lead[g]].sc.recursive == f[i].sc.recursive))
            g++;
        if (g == ng)
            lead[ng++] = i;
        grp[i] = g;
    }
    return ng;
}

/* Group g's IDs as a text[] literal, each quoted ('"' and '\' escaped). */
static struct str
ids_literal(struct arena *a, const struct find_id *f, size_t n, const size_t *grp, size_t g)
{
    struct buf b;
    bool       first = true;
    struct str out;

    buf_init(&b, SIZE_MAX / 2);
    buf_putc(&b, '{');
    for (size_t i = 0; i < n; i++) {
        if (grp[i] != g)
            continue;
        buf_puts(&b, first ? "\"" : ",\"");
        for (size_t k = 0; k < f[i].id.len; k++) {
            if (f[i].id.p[k] == '"' || f[i].id.p[k] == '\\')
                buf_putc(&b, '\\');
            buf_putc(&b, f[i].id.p[k]);
        }
        buf_putc(&b, '"');
        first = false;
    }
    buf_putc(&b, '}');
    out = arena_str(a, buf_str(&b));
    buf_free(&b);
    return out;
}

/* One prepared statement per group, none evicted by another's
 * (pconn.batch); false when one could not be prepared. */
static bool
prepare_groups(struct pconn *c, const struct find_id *f, size_t n, const size_t *grp,
               const size_t *lead, size_t ng, struct pargs *p, char (*buf)[24],
               const char **names)
{
    static unsigned batches;
    bool            ok = true;

    c->batch = __atomic_add_fetch(&batches, 1, __ATOMIC_RELAXED) | 1u << 31; /* never 0 */
    for (size_t g = 0; g < ng && ok; g++) {
        const struct find_id *one = &f[lead[g]];
        struct buf            sql;
        struct sqlparams      ps = { 0 };

        buf_init(&sql, SQL_MAX);
        sql_select_ids(&sql, one->s, ids_literal(one->a, f, n, grp, g), &one->sc, one->a, &ps);
        p[g] = (struct pargs){ .a = one->a };
        pg_args_from(&p[g], &ps);
        ok = (names[g] = pg_conn_prepare(c, buf_cstr(&sql), &p[g], buf[g])) != NULL;
        buf_free(&sql);
    }
    c->batch = 0;
    return ok;
}

/* Read f's answer from its group's result r (rows of "ID", doc); not read
 * (f->read false) when an earlier statement of the pipeline failed or none
 * came. */
static void
found(struct pconn *c, PGresult *r, struct find_id *f)
{
    ExecStatusType st = r != NULL ? PQresultStatus(r) : PGRES_PIPELINE_ABORTED;

    if ((f->read = st != PGRES_PIPELINE_ABORTED) == false)
        return;
    if (st != PGRES_TUPLES_OK) {
        f->rc = pq_err(c, r, "find");
        return;
    }
    f->rc = E_NOTFOUND;
    for (int row = 0; row < PQntuples(r); row++)
        if ((size_t)PQgetlength(r, row, 0) == f->id.len &&
            memcmp(PQgetvalue(r, row, 0), f->id.p, f->id.len) == 0) {
            f->rc = pg_col_doc(r, row, 1, f->a, &f->out);
            return;
        }
}

/* store_ops.find_ids: one statement per table and scope asked (the reads of
 * GET /namespaces/:id of one namespace are one), then the generation row
 * (follow armed), in one pipeline: one round trip, each statement with a
 * snapshot of its own taken after every request of the batch came, the
 * generation's last (what a read saw was committed before it). A read the
 * pipeline did not run is left to find. */
enum others
pg_st_find_ids(struct store *base, struct find_id *f, size_t n)
{
    struct pconn *c = pg_reader((struct pg_store *)base);
    struct pargs  p[FIND_IDS_MAX];
    char          buf[FIND_IDS_MAX][24];
    const char   *names[FIND_IDS_MAX];
    PGresult     *r[FIND_IDS_MAX] = { 0 };
    size_t        grp[FIND_IDS_MAX], lead[FIND_IDS_MAX], ng;
    bool          sent;

    for (size_t i = 0; i < n; i++)
        f[i].read = false;
    if (c == NULL || n > FIND_IDS_MAX)
        return OTHERS_UNKNOWN;
    ng = group_finds(f, n, grp, lead);
    if (!prepare_groups(c, f, n, grp, lead, ng, p, buf, names))
        return OTHERS_UNKNOWN;
    pq_generic(c); /* reads by ID (pg_run_find) */
    if (pq_plan_for(c) != E_OK)
        return OTHERS_UNKNOWN;
    if (n > 1)
        log_debug("postgres: %zu reads by ID in one round trip (%zu statements)", n, ng);
    c->follow = FOLLOW_ARMED;
    c->follow_base =
        __atomic_load_n(&((struct pg_store *)base)->announced_seen, __ATOMIC_ACQUIRE);
    sent = pq_pipeline(c, NULL, names, p, ng, r);
    for (size_t i = 0; i < n && sent; i++)
        found(c, r[grp[i]], &f[i]);
    for (size_t g = 0; g < ng; g++)
        PQclear(r[g]);
    return pg_st_follow_settle(base);
}
