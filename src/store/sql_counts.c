/* sql_counts.c - counted dimensions (spec.counted): the table "<rest>__counts",
 * the triggers that keep it as rows are written, its fill, the parts of
 * aggregates read from it (reports), and the counts of list queries read from
 * its day buckets (sql_count_buckets). See sql.h. */
#include "sql_local.h"

#include <stdio.h>
#include <string.h>

/* A counted dimension: one or two columns, "a,b"; the last may be counted per
 * day ("a,t/day": the counts per value of a and day of the time t, from which a
 * range of t is counted without reading its rows, sql_count_buckets). */
struct dim {
    const struct attr *at[2];
    size_t             n;
    bool               day;
};

#define DAY_MS 86400000LL
#define DAY_BASE                                                                               \
    86400000000000LL /* 10^6 days: a day number of any time from year 0 on is                  \
                        positive, the same under C's and SQL's division */
#define DAY_SUFFIX "/day"

/* False when the spec has no such columns. */
static bool
dim_parse(const struct spec *s, const char *text, struct dim *dm)
{
    struct str rest = str_c(text), col;

    memset(dm, 0, sizeof *dm);
    while (rest.len > 0) {
        rest = str_cut(rest, ',', &col);
        if (rest.p == NULL && col.len > strlen(DAY_SUFFIX) &&
            memcmp(col.p + col.len - strlen(DAY_SUFFIX), DAY_SUFFIX, strlen(DAY_SUFFIX)) == 0) {
            col.len -= strlen(DAY_SUFFIX);
            dm->day = true;
        }
        if (dm->n == 2 || (dm->at[dm->n] = spec_attr(s, col)) == NULL ||
            !attr_is_column(dm->at[dm->n]))
            return false;
        if (dm->day && dm->at[dm->n]->type != T_TIME)
            return false;
        dm->n++;
        if (rest.p == NULL)
            break;
    }
    return true;
}

static void
counts_table(struct buf *sql, const struct spec *s)
{
    buf_printf(sql, "\"%s__counts\"", s->rest);
}

/* PostgreSQL: the changes of the counts not folded into them yet (appended,
 * never updated: a transaction that writes many rows would otherwise update
 * the same count rows over and over, each time walking the row's versions
 * it made, and every writer of a namespace would queue on its total row). */
static void
deltas_table(struct buf *sql, const struct spec *s)
{
    buf_printf(sql, "\"%s__count_deltas\"", s->rest);
}

/* A counted value as the counts table keeps it: text on PostgreSQL (its v1 and
 * v2 columns are TEXT; counted_select casts them back), as it is on SQLite
 * (untyped columns); NULL as ''. A day as its number, 8 digits, so that text
 * compares as numbers do on both. */
static void
count_value(struct buf *sql, const char *row, const struct attr *at, bool day,
            enum sql_dialect d)
{
    if (day && d == SQL_POSTGRES)
        buf_printf(sql, "coalesce(lpad(((%s.\"%s\" + %lld) / %lld)::text, 8, '0'), ''), ", row,
                   at->name, DAY_BASE, DAY_MS);
    else if (day)
        buf_printf(sql,
                   "CASE WHEN %s.\"%s\" IS NULL THEN '' ELSE printf('%%08d', (%s.\"%s\" + %lld)"
                   " / %lld) END, ",
                   row, at->name, row, at->name, DAY_BASE, DAY_MS);
    else if (d == SQL_POSTGRES)
        buf_printf(sql, "coalesce(%s.\"%s\"::text, ''), ", row, at->name);
    else
        buf_printf(sql, "ifnull(%s.\"%s\", ''), ", row, at->name);
}

/* Add `sign` to the counts of the row `row` (NEW or OLD) in dimension `dim`. */
static void
count_upsert(struct buf *sql, const struct spec *s, const char *dim, const char *row, int sign,
             enum sql_dialect d)
{
    struct dim                dm;
    const struct attr *const *at = dm.at;
    size_t                    n;

    if (!dim_parse(s, dim, &dm))
        return;
    n = dm.n;
    buf_puts(sql, "INSERT INTO ");
    if (d == SQL_POSTGRES)
        deltas_table(sql, s);
    else
        counts_table(sql, s);
    buf_puts(sql, " (nsid, dim, v1, v2, n) ");
    if (n == 1 && at[0]->type == T_STRLIST && d == SQL_POSTGRES) {
        /* One row per distinct element: an upsert may not touch a row twice. */
        buf_printf(sql,
                   "SELECT %s.nsid, '%s', j, '', %d * count(*) FROM "
                   "jsonb_array_elements_text(%s.\"%s\") AS j GROUP BY j",
                   row, dim, sign, row, at[0]->name);
    } else if (n == 1 && at[0]->type == T_STRLIST) {
        buf_printf(sql,
                   "SELECT %s.nsid, '%s', j.value, '', %d FROM json_each(%s.\"%s\") AS j "
                   "WHERE true",
                   row, dim, sign, row, at[0]->name);
    } else {
        buf_printf(sql, "VALUES (%s.nsid, '%s', ", row, dim);
        for (size_t i = 0; i < 2; i++)
            if (i < n)
                count_value(sql, row, at[i], dm.day && i == n - 1, d);
            else
                buf_puts(sql, "'', ");
        buf_printf(sql, "%d)", sign);
    }
    buf_puts(sql, d == SQL_POSTGRES
                      ? ";"
                      : " ON CONFLICT (nsid, dim, v1, v2) DO UPDATE SET n = n + excluded.n;");
}

static void
count_all(struct buf *sql, const struct spec *s, const char *row, int sign, enum sql_dialect d)
{
    count_upsert(sql, s, "", row, sign, d);
    for (const char *const *dim = s->counted; *dim != NULL; dim++)
        count_upsert(sql, s, *dim, row, sign, d);
}

static void
count_trigger(struct buf *sql, const struct spec *s, const char *event, const char *name)
{
    buf_printf(sql,
               "DROP TRIGGER IF EXISTS \"%s__count_%s\"; CREATE TRIGGER \"%s__count_%s\" "
               "AFTER %s ON ",
               s->rest, name, s->rest, name, event);
    sql_ident(sql, s->rest);
    buf_puts(sql, " BEGIN ");
    if (strcmp(name, "ins") != 0)
        count_all(sql, s, "OLD", -1, SQL_SQLITE);
    if (strcmp(name, "del") != 0)
        count_all(sql, s, "NEW", 1, SQL_SQLITE);
    buf_puts(sql, " END;");
}

/* PostgreSQL: one PL/pgSQL function for the three events, without an
 * EXCEPTION block (it would open a subtransaction per row). */
static void
count_function(struct buf *sql, const struct spec *s)
{
    buf_printf(sql,
               "CREATE OR REPLACE FUNCTION \"%s__count\"() RETURNS trigger LANGUAGE plpgsql "
               "AS $kw$ BEGIN IF TG_OP IN ('UPDATE', 'DELETE') THEN ",
               s->rest);
    count_all(sql, s, "OLD", -1, SQL_POSTGRES);
    buf_puts(sql, " END IF; IF TG_OP IN ('UPDATE', 'INSERT') THEN ");
    count_all(sql, s, "NEW", 1, SQL_POSTGRES);
    buf_printf(sql,
               " END IF; RETURN NULL; END $kw$; CREATE OR REPLACE TRIGGER \"%s__count\" "
               "AFTER INSERT OR UPDATE OR DELETE ON ",
               s->rest);
    sql_ident(sql, s->rest);
    buf_printf(sql, " FOR EACH ROW EXECUTE FUNCTION \"%s__count\"();", s->rest);
}

/* The rows of dimensions the spec no longer counts: no trigger keeps them, and
 * a spec counting one again must find it unfilled (sql_counts_fill_dim). */
static void
drop_uncounted(struct buf *sql, const struct spec *s, bool deltas)
{
    for (int k = 0; k <= (int)deltas; k++) {
        buf_puts(sql, "DELETE FROM ");
        k == 0 ? counts_table(sql, s) : deltas_table(sql, s);
        buf_puts(sql, " WHERE dim NOT IN (''");
        for (const char *const *dim = s->counted; *dim != NULL; dim++)
            buf_printf(sql, ", '%s'", *dim);
        buf_puts(sql, ");");
    }
}

void
sql_counts_create(struct buf *sql, const struct spec *s, enum sql_dialect d)
{
    buf_puts(sql, "CREATE TABLE IF NOT EXISTS ");
    counts_table(sql, s);
    if (d == SQL_POSTGRES) {
        buf_puts(sql, " (nsid TEXT COLLATE \"C\" NOT NULL, dim TEXT COLLATE \"C\" NOT NULL,"
                      " v1 TEXT COLLATE \"C\" NOT NULL, v2 TEXT COLLATE \"C\" NOT NULL,"
                      " n BIGINT NOT NULL, PRIMARY KEY (nsid, dim, v1, v2));"
                      "CREATE TABLE IF NOT EXISTS ");
        deltas_table(sql, s);
        buf_puts(sql, " (nsid TEXT COLLATE \"C\" NOT NULL, dim TEXT COLLATE \"C\" NOT NULL,"
                      " v1 TEXT COLLATE \"C\" NOT NULL, v2 TEXT COLLATE \"C\" NOT NULL,"
                      " n BIGINT NOT NULL);");
        count_function(sql, s);
        drop_uncounted(sql, s, true);
        return;
    }
    buf_puts(sql, " (nsid TEXT NOT NULL, dim TEXT NOT NULL, v1 NOT NULL, v2 NOT NULL,"
                  " n INTEGER NOT NULL, PRIMARY KEY (nsid, dim, v1, v2)) WITHOUT ROWID;");
    count_trigger(sql, s, "INSERT", "ins");
    count_trigger(sql, s, "DELETE", "del");
    count_trigger(sql, s, "UPDATE", "upd");
    drop_uncounted(sql, s, false);
}

/* A filled dimension keeps a row even when it counts nothing (a list no row
 * has an element of), in no namespace (nsid ''): a start tells the dimensions
 * a spec added since the counts were filled by their having no row. */
static void
filled_mark(struct buf *sql, const struct spec *s, const char *dim)
{
    buf_puts(sql, "INSERT INTO ");
    counts_table(sql, s);
    buf_printf(sql,
               " (nsid, dim, v1, v2, n) VALUES ('', '%s', '', '', 0)"
               " ON CONFLICT DO NOTHING;",
               dim);
}

void
sql_counts_fill_dim(struct buf *sql, const struct spec *s, const char *dim, enum sql_dialect d)
{
    struct dim                dm;
    const struct attr *const *at = dm.at;
    size_t                    n;
    const char               *empty = d == SQL_POSTGRES ? "''::text" : "''";

    if (!dim_parse(s, dim, &dm))
        return;
    n = dm.n;
    buf_puts(sql, "INSERT INTO ");
    counts_table(sql, s);
    if (n == 1 && at[0]->type == T_STRLIST) {
        buf_printf(sql, " SELECT t.nsid, '%s', j.value, '', count(*) FROM ", dim);
        sql_ident(sql, s->rest);
        buf_printf(sql,
                   d == SQL_POSTGRES ? " AS t, jsonb_array_elements_text(t.\"%s\") AS j(value)"
                                       " GROUP BY 1, 3;"
                                     : " AS t, json_each(t.\"%s\") AS j GROUP BY 1, 3;",
                   at[0]->name);
        filled_mark(sql, s, dim);
        return;
    }
    buf_printf(sql, " SELECT nsid, '%s', ", dim);
    for (size_t i = 0; i < 2; i++)
        if (i < n)
            count_value(sql, "t", at[i], dm.day && i == n - 1, d);
        else
            buf_printf(sql, "%s, ", empty);
    buf_puts(sql, "count(*) FROM ");
    sql_ident(sql, s->rest);
    buf_puts(sql, " AS t GROUP BY 1, 3, 4;");
    filled_mark(sql, s, dim);
}

void
sql_counts_fold(struct buf *sql, const struct spec *s)
{
    buf_puts(sql, "WITH d AS (DELETE FROM ");
    deltas_table(sql, s);
    buf_puts(sql, " RETURNING nsid, dim, v1, v2, n) INSERT INTO ");
    counts_table(sql, s);
    buf_puts(sql, " AS c (nsid, dim, v1, v2, n) SELECT nsid, dim, v1, v2, sum(n) FROM d"
                  " GROUP BY 1, 2, 3, 4 ON CONFLICT (nsid, dim, v1, v2)"
                  " DO UPDATE SET n = c.n + excluded.n");
}

void
sql_counts_fill(struct buf *sql, const struct spec *s, enum sql_dialect d)
{
    sql_counts_fill_dim(sql, s, "", d);
    for (const char *const *dim = s->counted; *dim != NULL; dim++)
        sql_counts_fill_dim(sql, s, *dim, d);
}

/* The dimension `part` groups by, "a,b" ("" for the total), if counted. */
static const char *
part_dim(const struct spec *s, const struct agg_part *part, struct arena *a)
{
    char *dim = "";

    if (s->counted == NULL || part->filter != NULL)
        return NULL;
    for (size_t i = 0; i < part->nby; i++)
        dim = arena_printf(a, "%s%s%s", dim, i > 0 ? "," : "", part->by[i]->name);
    if (*dim == '\0')
        return dim;
    for (const char *const *c = s->counted; *c != NULL; c++)
        if (strcmp(*c, dim) == 0)
            return *c;
    /* "a" is also counted by "a,t/day", summed over the days */
    for (const char *const *c = s->counted; *c != NULL && part->nby == 1; c++) {
        size_t n = strlen(dim);
        if (strncmp(*c, dim, n) == 0 && (*c)[n] == ',' && strchr(*c + n + 1, ',') == NULL &&
            strlen(*c) > strlen(DAY_SUFFIX) &&
            strcmp(*c + strlen(*c) - strlen(DAY_SUFFIX), DAY_SUFFIX) == 0)
            return *c;
    }
    return NULL;
}

/* The cast back from the counts' text to the attribute's type (PostgreSQL). */
static const char *
pg_cast(const struct attr *at)
{
    switch (at->type) {
    case T_BOOL:
        return "::boolean";
    case T_INT:
    case T_TIME:
        return "::bigint";
    case T_FLOAT:
        return "::float8";
    default:
        return "";
    }
}

/* "sum(n) FROM <the counts> WHERE dim = <dim> AND <scope>": on PostgreSQL the
 * counts and their changes not folded yet. */
static void
counts_sum(struct buf *sql, const struct spec *s, const struct scope *sc, const char *dim,
           enum sql_dialect d, struct arena *a, struct sqlparams *ps)
{
    buf_puts(sql, d == SQL_POSTGRES ? "coalesce(sum(n), 0)::bigint FROM "
                                    : "ifnull(sum(n), 0) FROM ");
    if (d == SQL_POSTGRES) {
        buf_puts(sql, "(SELECT nsid, dim, v1, v2, n FROM ");
        counts_table(sql, s);
        buf_puts(sql, " UNION ALL SELECT nsid, dim, v1, v2, n FROM ");
        deltas_table(sql, s);
        buf_puts(sql, ") AS c");
    } else
        counts_table(sql, s);
    buf_puts(sql, " WHERE dim = ");
    sql_param_text(sql, d, a, ps, str_c(dim));
    buf_puts(sql, " AND ");
    sql_live_cond(sql, sc, false, d, a, ps);
}

/* An aggregate part from the counts: the sums over the scope's namespaces. */
static void
counted_select(struct buf *sql, const struct spec *s, const struct scope *sc,
               const struct agg_part *part, const char *dim, enum sql_dialect d,
               struct arena *a, struct sqlparams *ps)
{
    const char *cols[] = { "v1", "v2" };

    buf_puts(sql, "SELECT ");
    for (size_t i = 0; i < part->nby; i++)
        buf_printf(sql, "nullif(%s, '')%s, ", cols[i],
                   d == SQL_POSTGRES ? pg_cast(part->by[i]) : "");
    counts_sum(sql, s, sc, dim, d, a, ps);
    if (part->nby == 0)
        return;
    buf_puts(sql, " GROUP BY ");
    for (size_t i = 0; i < part->nby; i++)
        buf_printf(sql, "%s%s", i > 0 ? ", " : "", cols[i]);
    buf_printf(sql, " HAVING sum(n) > 0 ORDER BY %zu DESC", part->nby + 1);
    for (size_t i = 0; i < part->nby; i++)
        buf_printf(sql, ", %zu", i + 1);
    buf_puts(sql, " LIMIT ");
    sql_param_int(sql, d, a, ps, part->limit > 0 ? part->limit : INT64_MAX);
}

int
sql_aggregate(struct buf *sql, const struct spec *s, const struct scope *sc,
              const struct fnode *filter, const struct agg_part *part, enum sql_dialect d,
              struct arena *a, struct sqlparams *ps, struct errbuf *eb)
{
    const char *dim = filter == NULL ? part_dim(s, part, a) : NULL;

    if (dim != NULL) {
        counted_select(sql, s, sc, part, dim, d, a, ps);
        return E_OK;
    }
    if (part->nby == 0) { /* one count: perhaps from the days' counts */
        struct listq q = { .scope = *sc, .filter = sql_agg_filter(a, filter, part->filter) };
        int          rc;
        if (sql_count_buckets(sql, s, &q, d, a, ps, eb, &rc))
            return rc;
    }
    return sql_aggregate_rows(sql, s, sc, filter, part, d, a, ps, eb);
}

/* ---- every part over the filtered rows at once ----------------------------- */

/* Whether the quoted column name `"name"` is in the SQL text. */
static bool
names_column(const struct buf *sql, const char *name)
{
    char quoted[128];
    int  n = snprintf(quoted, sizeof quoted, "\"%s\"", name);

    return n > 0 && (size_t)n < sizeof quoted && strstr(buf_cstr(sql), quoted) != NULL;
}

/* The columns of the rows the parts read: those their SQL names, and the ID
 * (a list part's side rows name their object by it). Never doc. */
static void
copied_columns(struct buf *sql, const struct spec *s, const struct buf *arms)
{
    bool first = true;

    for (size_t i = 0; i < spec_ncolumns(s); i++) {
        const char *name = spec_column(s, i)->name;
        if (strcmp(name, "ID") != 0 && !names_column(arms, name))
            continue;
        buf_puts(sql, first ? "" : ", ");
        sql_ident(sql, name);
        first = false;
    }
    if (s->bulk && names_column(arms, "nsid"))
        buf_puts(sql, ", \"nsid\"");
}

/* Part i as an arm of the UNION ALL: [i, by..., count], padded with NULLs to
 * AGG_BY_MAX + 2 columns. Its ORDER BY and LIMIT stay in its subquery. */
static int
arm(struct buf *arms, const struct spec *s, const struct scope *sc, const struct agg_part *part,
    size_t i, enum sql_dialect d, struct arena *a, struct sqlparams *ps, struct errbuf *eb)
{
    int rc;

    buf_printf(arms, "%sSELECT %zu, *", i > 0 ? " UNION ALL " : "", i);
    for (size_t k = part->nby; k < AGG_BY_MAX; k++)
        buf_puts(arms, ", NULL");
    buf_puts(arms, " FROM (");
    if ((rc = sql_aggregate_rows(arms, s, sc, NULL, part, d, a, ps, eb)) != E_OK)
        return rc;
    return buf_putc(arms, ')');
}

int
sql_aggregate_once(struct buf *sql, const struct spec *s, const struct scope *sc,
                   const struct fnode *filter, const struct agg_part *parts, size_t nparts,
                   struct arena *a, struct sqlparams *ps, struct errbuf *eb)
{
    struct listq     q = { .scope = *sc, .filter = filter };
    struct sqlparams arm_ps = { 0 };
    struct buf       arms;
    int              rc = E_OK;

    buf_init(&arms, sql->max);
    for (size_t i = 0; i < nparts && rc == E_OK; i++)
        rc = arm(&arms, s, sc, &parts[i], i, SQL_SQLITE, a, &arm_ps, eb);
    if (rc == E_OK) {
        buf_puts(sql, "WITH ");
        sql_ident(sql, s->rest);
        buf_puts(sql, " AS MATERIALIZED (SELECT ");
        copied_columns(sql, s, &arms);
        buf_puts(sql, " FROM main.");
        sql_read_table(sql, s, filter, SQL_SQLITE);
        rc = sql_where(sql, s, &q, SQL_SQLITE, a, ps, eb);
    }
    if (rc == E_OK &&
        (buf_puts(sql, ") ") != E_OK || buf_append(sql, arms.p, arms.len) != E_OK))
        rc = errbuf_set(eb, E_TOOBIG, "the report's query is too long");
    for (size_t i = 0; i < arm_ps.n && rc == E_OK; i++)
        sqlparams_add(a, ps, arm_ps.v[i]);
    buf_free(&arms);
    return rc;
}

/* ---- counts of list queries from day buckets ------------------------------ */

/* A list query's filter as an OR of branches, each an AND of terms. */
#define MAX_BRANCHES SQL_MAX_BRANCHES
#define MAX_TERMS    16

struct branch {
    const struct fnode *node;
    const struct fnode *terms[MAX_TERMS];
    size_t              n;
};

static bool
flatten(const struct fnode *f, enum fop op, const struct fnode **out, size_t max, size_t *n)
{
    if (f->op == op)
        return flatten(f->l, op, out, max, n) && flatten(f->r, op, out, max, n);
    if (*n == max)
        return false;
    out[(*n)++] = f;
    return true;
}

static bool
str_eq_term(const struct fnode *t)
{
    return t->op == F_EQ && t->v.t == FV_STR;
}

/* True when no row is in both: one holds `field == x`, the other `field == y`,
 * on a column holding one string (not a list, where == is "has this element";
 * not a time, which two different strings may name). */
static bool
disjoint(const struct spec *s, const struct branch *x, const struct branch *y)
{
    for (size_t i = 0; i < x->n; i++)
        for (size_t j = 0; j < y->n; j++) {
            const struct fnode *t = x->terms[i], *u = y->terms[j];
            const struct attr  *at;
            if (str_eq_term(t) && str_eq_term(u) && str_eq(t->field, u->field) &&
                !str_eq(t->v.s, u->v.s) && (at = spec_attr(s, t->field)) != NULL &&
                at->type == T_STRING && attr_is_column(at))
                return true;
        }
    return false;
}

static bool
day_of(int64_t t, int64_t *day)
{
    if (t < -DAY_BASE || t > INT64_MAX - DAY_BASE)
        return false;
    *day = (t + DAY_BASE) / DAY_MS;
    return true;
}

/* How a branch is counted from a day dimension: an equality on its first
 * column (with two), at most one lower and one upper bound on its time, and
 * nothing else. */
struct fit {
    const char         *dim;
    struct dim          dm;
    const struct fnode *eq, *lo, *hi;
    int64_t             lo_day, hi_day;
};

static bool
term_fits(const struct fnode *t, struct fit *f)
{
    const char *col = f->dm.at[f->dm.n - 1]->name;
    bool        lower = t->op == F_GT || t->op == F_GE, upper = t->op == F_LT || t->op == F_LE;

    if (f->dm.n == 2 && f->eq == NULL && str_eq_term(t) &&
        str_eq_c(t->field, f->dm.at[0]->name))
        return (f->eq = t) != NULL;
    if (t->v.t != FV_TIME || !str_eq_c(t->field, col))
        return false;
    if (lower && f->lo == NULL && day_of(t->v.i, &f->lo_day))
        return (f->lo = t) != NULL;
    if (upper && f->hi == NULL && day_of(t->v.i, &f->hi_day))
        return (f->hi = t) != NULL;
    return false;
}

static bool
branch_fits(const struct spec *s, const struct branch *b, struct fit *f)
{
    for (const char *const *dim = s->counted; *dim != NULL; dim++) {
        size_t i = 0;
        memset(f, 0, sizeof *f);
        f->dim = *dim;
        if (!dim_parse(s, *dim, &f->dm) || !f->dm.day)
            continue;
        while (i < b->n && term_fits(b->terms[i], f))
            i++;
        if (i == b->n)
            return true;
    }
    return false;
}

/* "(SELECT count(*) ...)": the rows in the query's scope that `f` accepts. */
static int
rows_count(struct buf *sql, const struct spec *s, const struct listq *q, const struct fnode *f,
           enum sql_dialect d, struct arena *a, struct sqlparams *ps, struct errbuf *eb)
{
    struct listq one = *q;
    int          rc;

    one.filter = f;
    buf_puts(sql, "(SELECT count(*) FROM ");
    sql_read_table(sql, s, f, d);
    rc = sql_where(sql, s, &one, d, a, ps, eb);
    buf_putc(sql, ')');
    return rc;
}

/* The rows of the branch on the day `day` of the dimension's time: its bounds
 * that fall on that day, the day's own where they do not (one lower and one
 * upper bound on the column: SQLite ranges an index by one of each). */
static int
day_rows(struct buf *sql, const struct spec *s, const struct listq *q, const struct fit *f,
         int64_t day, enum sql_dialect d, struct arena *a, struct sqlparams *ps,
         struct errbuf *eb)
{
    const char   *col = f->dm.at[f->dm.n - 1]->name;
    struct fnode *from =
        f->lo != NULL && f->lo_day == day
            ? (struct fnode *)f->lo
            : filter_cmp(a, col, F_GE,
                         (struct fval){ .t = FV_TIME, .i = day * DAY_MS - DAY_BASE });
    struct fnode *to =
        f->hi != NULL && f->hi_day == day
            ? (struct fnode *)f->hi
            : filter_cmp(a, col, F_LT,
                         (struct fval){ .t = FV_TIME, .i = (day + 1) * DAY_MS - DAY_BASE });
    struct fnode *rows = filter_bool(a, F_AND, from, to);

    if (f->eq != NULL)
        rows = filter_bool(a, F_AND, (struct fnode *)f->eq, rows);
    buf_puts(sql, " + ");
    return rows_count(sql, s, q, rows, d, a, ps, eb);
}

static void
day_param(struct buf *sql, enum sql_dialect d, struct arena *a, struct sqlparams *ps,
          int64_t day)
{
    sql_param_text(sql, d, a, ps, str_c(arena_printf(a, "%08lld", (long long)day)));
}

/* The whole days inside the bounds from the counts, the days of the bounds
 * from the rows (an index range of a day each). */
static int
fit_count(struct buf *sql, const struct spec *s, const struct listq *q, const struct fit *f,
          enum sql_dialect d, struct arena *a, struct sqlparams *ps, struct errbuf *eb)
{
    int rc = E_OK;

    buf_puts(sql, "(SELECT ");
    counts_sum(sql, s, &q->scope, f->dim, d, a, ps);
    if (f->eq != NULL) {
        buf_puts(sql, " AND v1 = ");
        sql_param_text(sql, d, a, ps, f->eq->v.s);
    }
    if (f->lo != NULL || f->hi != NULL)
        buf_puts(sql, f->dm.n == 2 ? " AND v2 <> ''" : " AND v1 <> ''");
    if (f->lo != NULL) {
        buf_puts(sql, f->dm.n == 2 ? " AND v2 > " : " AND v1 > ");
        day_param(sql, d, a, ps, f->lo_day);
    }
    if (f->hi != NULL) {
        buf_puts(sql, f->dm.n == 2 ? " AND v2 < " : " AND v1 < ");
        day_param(sql, d, a, ps, f->hi_day);
    }
    buf_putc(sql, ')');
    if (f->lo != NULL && f->hi != NULL && f->hi_day < f->lo_day)
        return E_OK; /* bounds the wrong way round: no row, no day to read */
    if (f->lo != NULL)
        rc = day_rows(sql, s, q, f, f->lo_day, d, a, ps, eb);
    if (rc == E_OK && f->hi != NULL && (f->lo == NULL || f->hi_day != f->lo_day))
        rc = day_rows(sql, s, q, f, f->hi_day, d, a, ps, eb);
    return rc;
}

static bool
split(const struct fnode *filter, const struct spec *s, struct branch *b, size_t *nb)
{
    const struct fnode *ors[MAX_BRANCHES];

    *nb = 0;
    if (!flatten(filter, F_OR, ors, MAX_BRANCHES, nb))
        return false;
    for (size_t i = 0; i < *nb; i++) {
        b[i].node = ors[i];
        b[i].n = 0;
        if (!flatten(ors[i], F_AND, b[i].terms, MAX_TERMS, &b[i].n))
            return false;
        for (size_t j = 0; j < i; j++)
            if (!disjoint(s, &b[i], &b[j]))
                return false;
    }
    return true;
}

size_t
sql_disjoint_branches(const struct fnode *f, const struct spec *s, const struct fnode **out)
{
    struct branch b[MAX_BRANCHES];
    size_t        nb;

    if (!split(f, s, b, &nb))
        return 0;
    for (size_t i = 0; i < nb; i++)
        out[i] = b[i].node;
    return nb;
}

bool
sql_count_buckets(struct buf *sql, const struct spec *s, const struct listq *q,
                  enum sql_dialect d, struct arena *a, struct sqlparams *ps, struct errbuf *eb,
                  int *rc)
{
    struct branch b[MAX_BRANCHES];
    struct fit    f[MAX_BRANCHES];
    bool          fit[MAX_BRANCHES], any = false;
    size_t        nb;

    if (!s->bulk || s->counted == NULL || q->filter == NULL || !split(q->filter, s, b, &nb))
        return false;
    for (size_t i = 0; i < nb; i++)
        any |= fit[i] = branch_fits(s, &b[i], &f[i]);
    if (!any)
        return false;
    buf_puts(sql, "SELECT ");
    *rc = E_OK;
    for (size_t i = 0; i < nb && *rc == E_OK; i++) {
        if (i > 0)
            buf_puts(sql, " + ");
        *rc = fit[i] ? fit_count(sql, s, q, &f[i], d, a, ps, eb)
                     : rows_count(sql, s, q, b[i].node, d, a, ps, eb);
    }
    return true;
}
