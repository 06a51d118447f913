/* sql.c - SQL text from specs; see sql.h. */
#include "sql.h"

#include <stdio.h>

static void
ident(struct buf *b, const char *name)
{
    buf_putc(b, '"');
    buf_puts(b, name);
    buf_putc(b, '"');
}

static void
placeholder(struct buf *b, enum sql_dialect d, size_t n)
{
    if (d == SQL_POSTGRES)
        buf_printf(b, "$%zu", n);
    else
        buf_putc(b, '?');
}

static void
param_text(struct buf *b, enum sql_dialect d, struct arena *a, struct sqlparams *ps,
           struct str s)
{
    sqlparams_add(a, ps, (struct sqlparam){ .t = SQLP_TEXT, .s = s });
    placeholder(b, d, ps->n);
}

static void
param_int(struct buf *b, enum sql_dialect d, struct arena *a, struct sqlparams *ps, int64_t i)
{
    sqlparams_add(a, ps, (struct sqlparam){ .t = SQLP_INT, .i = i });
    placeholder(b, d, ps->n);
}

/* The namespace condition: one namespace, or it and everything below it. Below
 * "/a" is every namespace greater than "/a/" and less than "/a0" ('0' follows
 * '/'), a range an index answers, unlike LIKE with its '_' wildcard. */
static void
path_cond(struct buf *b, const char *col, const struct scope *sc, enum sql_dialect d,
          struct arena *a, struct sqlparams *ps)
{
    if (!sc->recursive) {
        buf_printf(b, "%s = ", col);
        param_text(b, d, a, ps, sc->ns);
        return;
    }
    if (sc->ns.len == 1) { /* "/": everything */
        buf_puts(b, "1 = 1");
        return;
    }
    char *lo = arena_printf(a, "%.*s/", STR_FMT(sc->ns));
    char *hi = arena_printf(a, "%.*s0", STR_FMT(sc->ns));
    buf_printf(b, "(%s = ", col);
    param_text(b, d, a, ps, sc->ns);
    buf_printf(b, " OR (%s > ", col);
    param_text(b, d, a, ps, str_c(lo));
    buf_printf(b, " AND %s < ", col);
    param_text(b, d, a, ps, str_c(hi));
    buf_puts(b, "))");
}

/* A bulk spec's row is alive while the namespace it was created in (its ID in
 * "nsid"; "/" for the root) still exists: a deleted namespace's rows vanish at
 * once, and a namespace created again under the same path sees none of them. */
static void
live_cond(struct buf *b, const struct scope *sc, bool unindexed, enum sql_dialect d,
          struct arena *a, struct sqlparams *ps)
{
    if (sc == NULL) {
        buf_puts(b, "(\"nsid\" = '/' OR EXISTS (SELECT 1 FROM ");
        ident(b, SQL_NAMESPACE_TABLE);
        buf_puts(b, " n WHERE n.\"ID\" = \"nsid\"))");
        return;
    }
    buf_puts(b, unindexed ? "(+\"nsid\" = '/' OR +\"nsid\" IN (SELECT \"ID\" FROM "
                          : "(\"nsid\" = '/' OR \"nsid\" IN (SELECT \"ID\" FROM ");
    ident(b, SQL_NAMESPACE_TABLE);
    buf_puts(b, " WHERE ");
    path_cond(b, "\"name\"", sc, d, a, ps);
    buf_puts(b, "))");
}

/* Which rows of `s` a scope sees: its namespace condition, and for bulk specs
 * only the rows whose namespace is alive. `unindexed` writes the columns as
 * +"namespace" and +"nsid" (the same values), which SQLite does not use to pick
 * an index: the rows are found by another condition (filter_side_drives). */
static void
scope_cond(struct buf *b, const struct spec *s, const struct scope *sc, bool unindexed,
           enum sql_dialect d, struct arena *a, struct sqlparams *ps)
{
    if (sc != NULL)
        path_cond(b, unindexed ? "+\"namespace\"" : "\"namespace\"", sc, d, a, ps);
    if (!s->bulk)
        return;
    buf_puts(b, sc != NULL ? " AND " : "");
    live_cond(b, sc, unindexed, d, a, ps);
}

void
sql_select_one(struct buf *sql, const struct spec *s, const struct attr *at, struct str value,
               const struct scope *sc, enum sql_dialect d, struct arena *a,
               struct sqlparams *ps)
{
    buf_puts(sql, "SELECT doc FROM ");
    ident(sql, s->rest);
    buf_puts(sql, " WHERE ");
    ident(sql, at->name);
    buf_puts(sql, " = ");
    param_text(sql, d, a, ps, value);
    if (sc != NULL || s->bulk) {
        buf_puts(sql, " AND ");
        scope_cond(sql, s, sc, false, d, a, ps);
    }
    buf_puts(sql, " LIMIT 1");
}

/* A list filter's side-table lookup stays in the read's namespaces. */
struct side_scope {
    const struct scope *sc;
    enum sql_dialect    d;
    struct arena       *a;
};

static void
side_scope(void *ctx, struct buf *sql, struct sqlparams *ps)
{
    struct side_scope *x = ctx;

    path_cond(sql, "\"namespace\"", x->sc, x->d, x->a, ps);
}

static int
where(struct buf *sql, const struct spec *s, const struct listq *q, enum sql_dialect d,
      struct arena *a, struct sqlparams *ps, struct errbuf *eb)
{
    struct side_scope  x = { &q->scope, d, a };
    struct filter_side side = { side_scope, &x };

    buf_puts(sql, " WHERE ");
    scope_cond(sql, s, &q->scope,
               d == SQL_SQLITE && q->filter != NULL && filter_side_drives(q->filter, s), d, a,
               ps);
    if (q->filter == NULL)
        return E_OK;
    buf_puts(sql, " AND ");
    return filter_compile_side(a, q->filter, s, d, &side, sql, ps, eb);
}

int
sql_count(struct buf *sql, const struct spec *s, const struct listq *q, enum sql_dialect d,
          struct arena *a, struct sqlparams *ps, struct errbuf *eb)
{
    buf_puts(sql, "SELECT count(*) FROM ");
    ident(sql, s->rest);
    return where(sql, s, q, d, a, ps, eb);
}

/* The objects an aggregate counts: the query's filter and the part's. */
static int
agg_where(struct buf *sql, const struct spec *s, const struct scope *sc,
          const struct fnode *filter, const struct fnode *extra, enum sql_dialect d,
          struct arena *a, struct sqlparams *ps, struct errbuf *eb)
{
    struct listq q = { .scope = *sc, .filter = filter };
    int          rc;

    if (filter != NULL && extra != NULL)
        q.filter = filter_bool(a, F_AND, (struct fnode *)filter, (struct fnode *)extra);
    else if (extra != NULL)
        q.filter = extra;
    if ((rc = where(sql, s, &q, d, a, ps, eb)) != E_OK)
        return rc;
    return E_OK;
}

int
sql_aggregate(struct buf *sql, const struct spec *s, const struct scope *sc,
              const struct fnode *filter, const struct agg_part *part, enum sql_dialect d,
              struct arena *a, struct sqlparams *ps, struct errbuf *eb)
{
    bool   list = part->nby == 1 && attr_is_indexed_list(part->by[0]);
    size_t n = part->nby;
    int    rc;

    buf_puts(sql, "SELECT ");
    for (size_t i = 0; i < n; i++) {
        if (list)
            buf_puts(sql, "v");
        else
            ident(sql, part->by[i]->name);
        buf_puts(sql, ", ");
    }
    buf_puts(sql, "count(*) FROM ");
    if (list) { /* the elements of the matching objects */
        filter_side_table(sql, s, part->by[0]);
        buf_puts(sql, " WHERE oid IN (SELECT \"ID\" FROM ");
    }
    ident(sql, s->rest);
    if ((rc = agg_where(sql, s, sc, filter, part->filter, d, a, ps, eb)) != E_OK)
        return rc;
    if (list)
        buf_putc(sql, ')');
    if (n == 0)
        return E_OK;
    buf_puts(sql, " GROUP BY ");
    for (size_t i = 0; i < n; i++)
        buf_printf(sql, "%s%zu", i > 0 ? ", " : "", i + 1);
    buf_printf(sql, " ORDER BY %zu DESC", n + 1);
    for (size_t i = 0; i < n; i++)
        buf_printf(sql, ", %zu", i + 1);
    buf_puts(sql, " LIMIT ");
    param_int(sql, d, a, ps, part->limit > 0 ? part->limit : INT64_MAX);
    return E_OK;
}

/* Cursor paging: rows strictly after the cursor row in the list's order. The
 * cursor row's keys come from a CTE whose columns are named k0.. so the outer
 * query's unqualified column names stay unambiguous. */
static void
cursor_cte(struct buf *sql, const struct spec *s, const struct listq *q, enum sql_dialect d,
           struct arena *a, struct sqlparams *ps)
{
    buf_puts(sql, "WITH cur(");
    for (size_t i = 0; i < q->norder; i++)
        buf_printf(sql, "k%zu, ", i);
    buf_puts(sql, "kid) AS (SELECT ");
    for (size_t i = 0; i < q->norder; i++) {
        ident(sql, q->order[i].attr->name);
        buf_puts(sql, ", ");
    }
    buf_puts(sql, "\"ID\" FROM ");
    ident(sql, s->rest);
    buf_puts(sql, " WHERE \"ID\" = ");
    param_text(sql, d, a, ps, q->after);
    buf_puts(sql, ") ");
}

static void
cursor_cond(struct buf *sql, const struct listq *q)
{
    buf_puts(sql, " AND (");
    for (size_t i = 0; i <= q->norder; i++) {
        if (i > 0)
            buf_puts(sql, " OR (");
        for (size_t j = 0; j < i; j++) {
            ident(sql, q->order[j].attr->name);
            buf_printf(sql, " = cur.k%zu AND ", j);
        }
        if (i == q->norder)
            buf_puts(sql, "\"ID\" > cur.kid");
        else {
            ident(sql, q->order[i].attr->name);
            buf_printf(sql, " %s cur.k%zu", q->order[i].desc ? "<" : ">", i);
        }
        if (i > 0)
            buf_putc(sql, ')');
    }
    buf_putc(sql, ')');
}

int
sql_select(struct buf *sql, const struct spec *s, const struct listq *q, enum sql_dialect d,
           struct arena *a, struct sqlparams *ps, struct errbuf *eb)
{
    bool cursor = q->after.len > 0;
    int  rc;

    if (cursor)
        cursor_cte(sql, s, q, d, a, ps);
    buf_puts(sql, "SELECT doc FROM ");
    ident(sql, s->rest);
    if (cursor)
        buf_puts(sql, ", cur");
    rc = where(sql, s, q, d, a, ps, eb);
    if (rc != E_OK)
        return rc;
    if (cursor)
        cursor_cond(sql, q);
    buf_puts(sql, " ORDER BY ");
    for (size_t i = 0; i < q->norder; i++) {
        ident(sql, q->order[i].attr->name);
        buf_puts(sql, q->order[i].desc ? " DESC, " : " ASC, ");
    }
    buf_puts(sql, "\"ID\" ASC LIMIT ");
    param_int(sql, d, a, ps, q->limit < 0 ? INT64_MAX : q->limit);
    buf_puts(sql, " OFFSET ");
    param_int(sql, d, a, ps, q->offset);
    return E_OK;
}

/* A numbered placeholder: the namespace guard uses one value twice. */
static void
placeholder_n(struct buf *b, enum sql_dialect d, size_t n)
{
    buf_printf(b, d == SQL_POSTGRES ? "$%zu" : "?%zu", n);
}

/* The row is written only while its namespace exists, tested in the statement
 * itself: whoever writes (a request, a hook, the audit log) cannot leave an
 * object behind a namespace delete that committed first. "/" has no row. */
static void
namespace_guard(struct buf *sql, enum sql_dialect d, size_t n)
{
    buf_puts(sql, "(");
    placeholder_n(sql, d, n);
    buf_puts(sql, " = '/' OR EXISTS (SELECT 1 FROM ");
    ident(sql, SQL_NAMESPACE_TABLE);
    buf_puts(sql, " WHERE \"name\" = ");
    placeholder_n(sql, d, n);
    buf_puts(sql, "))");
}

/* The conditions of struct write_cond, as parameters $n (the expected
 * updateTime in ms, NULL for any) and $n+1 (1: protected objects too). */
static void
write_cond(struct buf *sql, enum sql_dialect d, size_t n)
{
    buf_puts(sql, " AND (");
    placeholder_n(sql, d, n);
    buf_puts(sql, " IS NULL OR \"updateTime\" = ");
    placeholder_n(sql, d, n);
    buf_puts(sql, ") AND (");
    placeholder_n(sql, d, n + 1);
    buf_puts(sql, d == SQL_POSTGRES ? " OR \"protected\" IS NOT TRUE)"
                                    : " = 1 OR \"protected\" IS NOT 1)");
}

void
sql_insert(struct buf *sql, const struct spec *s, enum sql_dialect d)
{
    size_t n = spec_ncolumns(s);

    buf_puts(sql, "INSERT INTO ");
    ident(sql, s->rest);
    buf_puts(sql, " (");
    for (size_t i = 0; i < n; i++) {
        ident(sql, spec_column(s, i)->name);
        buf_puts(sql, ", ");
    }
    buf_puts(sql, s->bulk ? "doc, \"nsid\") SELECT " : "doc) SELECT ");
    for (size_t i = 0; i <= n; i++) {
        if (i > 0)
            buf_puts(sql, ", ");
        placeholder_n(sql, d, i + 1);
    }
    if (s->bulk) { /* the ID of the namespace it is created in */
        buf_puts(sql, ", CASE WHEN ");
        placeholder_n(sql, d, n + 2);
        buf_puts(sql, " = '/' THEN '/' ELSE (SELECT \"ID\" FROM ");
        ident(sql, SQL_NAMESPACE_TABLE);
        buf_puts(sql, " WHERE \"name\" = ");
        placeholder_n(sql, d, n + 2);
        buf_puts(sql, ") END");
    }
    buf_puts(sql, " WHERE ");
    namespace_guard(sql, d, n + 2);
}

void
sql_update(struct buf *sql, const struct spec *s, enum sql_dialect d)
{
    size_t n = spec_ncolumns(s);

    buf_puts(sql, "UPDATE ");
    ident(sql, s->rest);
    buf_puts(sql, " SET ");
    for (size_t i = 0; i < n; i++) {
        ident(sql, spec_column(s, i)->name);
        buf_puts(sql, " = ");
        placeholder_n(sql, d, i + 1);
        buf_puts(sql, ", ");
    }
    buf_puts(sql, "doc = ");
    placeholder_n(sql, d, n + 1);
    buf_puts(sql, " WHERE \"ID\" = ");
    placeholder_n(sql, d, n + 2);
    buf_puts(sql, " AND ");
    namespace_guard(sql, d, n + 3);
    write_cond(sql, d, n + 4);
}

void
sql_delete(struct buf *sql, const struct spec *s, enum sql_dialect d)
{
    buf_puts(sql, "DELETE FROM ");
    ident(sql, s->rest);
    buf_puts(sql, " WHERE \"ID\" = ");
    placeholder_n(sql, d, 1);
    write_cond(sql, d, 2);
}

void
sql_delete_scope(struct buf *sql, const struct spec *s, const struct scope *sc,
                 enum sql_dialect d, struct arena *a, struct sqlparams *ps)
{
    buf_puts(sql, "DELETE FROM ");
    ident(sql, s->rest);
    buf_puts(sql, " WHERE ");
    path_cond(sql, "\"namespace\"", sc, d, a, ps);
}

void
sql_select_namespace_ids(struct buf *sql, const struct scope *sc, enum sql_dialect d,
                         struct arena *a, struct sqlparams *ps)
{
    buf_puts(sql, "SELECT \"ID\" FROM ");
    ident(sql, SQL_NAMESPACE_TABLE);
    buf_puts(sql, " WHERE ");
    path_cond(sql, "\"namespace\"", sc, d, a, ps);
}

/* The dialect's physical row identifier. */
static const char *
row_id(enum sql_dialect d)
{
    return d == SQL_POSTGRES ? "ctid" : "rowid";
}

/* The next batch of a deleted namespace's rows of bulk spec `s`: `col` of at
 * most $2 rows whose namespace ID is $1, in row order, so that the batch of
 * the rows and the batch of their side rows are the same. */
static void
nsid_batch(struct buf *sql, const struct spec *s, const char *col, enum sql_dialect d)
{
    buf_printf(sql, "SELECT %s FROM ", col);
    ident(sql, s->rest);
    buf_puts(sql, " WHERE \"nsid\" = ");
    placeholder(sql, d, 1);
    buf_printf(sql, " ORDER BY %s LIMIT ", row_id(d));
    placeholder(sql, d, 2);
}

void
sql_purge_nsid(struct buf *sql, const struct spec *s, enum sql_dialect d)
{
    buf_puts(sql, "DELETE FROM ");
    ident(sql, s->rest);
    buf_printf(sql, " WHERE %s IN (", row_id(d));
    nsid_batch(sql, s, row_id(d), d);
    buf_puts(sql, ")");
}

void
sql_purge(struct buf *sql, const struct spec *s, enum sql_dialect d)
{
    buf_puts(sql, "DELETE FROM ");
    ident(sql, s->rest);
    buf_puts(sql, " WHERE \"createTime\" < ");
    placeholder(sql, d, 1);
}

static const char *
column_type(const struct attr *at, enum sql_dialect d)
{
    switch (at->type) {
    case T_BOOL:
        return d == SQL_POSTGRES ? "BOOLEAN" : "INTEGER";
    case T_INT:
    case T_TIME:
        return d == SQL_POSTGRES ? "BIGINT" : "INTEGER";
    case T_FLOAT:
        return d == SQL_POSTGRES ? "DOUBLE PRECISION" : "REAL";
    case T_STRING:
        return "TEXT";
    default:
        return d == SQL_POSTGRES ? "JSONB" : "TEXT";
    }
}

void
sql_create_table(struct buf *sql, const struct spec *s, enum sql_dialect d)
{
    buf_puts(sql, "CREATE TABLE IF NOT EXISTS ");
    ident(sql, s->rest);
    buf_puts(sql, " (");
    for (size_t i = 0; i < spec_ncolumns(s); i++) {
        const struct attr *at = spec_column(s, i);
        ident(sql, at->name);
        buf_printf(sql, " %s%s, ", column_type(at, d),
                   strcmp(at->name, "ID") == 0          ? " NOT NULL UNIQUE"
                   : strcmp(at->name, "namespace") == 0 ? " NOT NULL"
                                                        : "");
    }
    if (s->bulk)
        buf_puts(sql, "\"nsid\" TEXT, ");
    buf_printf(sql, "doc %s NOT NULL);", d == SQL_POSTGRES ? "BYTEA" : "BLOB");
}

void
sql_add_nsid(struct buf *sql, const struct spec *s, enum sql_dialect d)
{
    KW_UNUSED(d);
    buf_puts(sql, "ALTER TABLE ");
    ident(sql, s->rest);
    buf_puts(sql, " ADD COLUMN \"nsid\" TEXT; UPDATE ");
    ident(sql, s->rest);
    buf_puts(
        sql,
        " SET \"nsid\" = CASE WHEN \"namespace\" = '/' THEN '/' ELSE (SELECT n.\"ID\" FROM ");
    ident(sql, SQL_NAMESPACE_TABLE);
    buf_puts(sql, " n WHERE n.\"name\" = ");
    ident(sql, s->rest);
    buf_puts(sql, ".\"namespace\") END;");
}

void
sql_add_column(struct buf *sql, const struct spec *s, const struct attr *at, enum sql_dialect d)
{
    buf_puts(sql, "ALTER TABLE ");
    ident(sql, s->rest);
    buf_puts(sql, " ADD COLUMN ");
    ident(sql, at->name);
    buf_printf(sql, " %s;", column_type(at, d));
}

/* One of a spec's own indexes: "a,b" is (namespace, a, b), "*a,b" is (a, b)
 * (for the server's queries across every namespace), named after them. */
static void
spec_index(struct buf *sql, const struct spec *s, const char *cols)
{
    bool global = *cols == '*';

    cols += global;
    buf_printf(sql, "CREATE INDEX IF NOT EXISTS \"%s_%s", s->rest, global ? "all_" : "");
    for (const char *p = cols; *p != '\0'; p++)
        buf_putc(sql, *p == ',' ? '_' : *p);
    buf_puts(sql, "\" ON ");
    ident(sql, s->rest);
    buf_puts(sql, global ? " (\"" : " (\"namespace\", \"");
    for (const char *p = cols; *p != '\0'; p++)
        buf_puts(sql, *p == ',' ? "\", \"" : (char[]){ *p, '\0' });
    buf_puts(sql, "\");");
}

void
sql_create_indexes(struct buf *sql, const struct spec *s, enum sql_dialect d)
{
    KW_UNUSED(d);
    buf_printf(sql, "CREATE INDEX IF NOT EXISTS \"%s_order\" ON ", s->rest);
    ident(sql, s->rest);
    buf_puts(sql, " (\"namespace\", ");
    if (s->default_order != NULL) {
        ident(sql, s->default_order);
        buf_puts(sql, ", ");
    }
    buf_puts(sql, "\"ID\");");
    if (s->bulk)
        buf_printf(sql, "CREATE INDEX IF NOT EXISTS \"%s_nsid\" ON \"%s\" (\"nsid\");", s->rest,
                   s->rest);
    for (const char *const *ix = s->indexes; ix != NULL && *ix != NULL; ix++)
        spec_index(sql, s, *ix);
    if (s->unique == NULL)
        return;
    buf_printf(sql, "CREATE UNIQUE INDEX IF NOT EXISTS \"%s_unique\" ON ", s->rest);
    ident(sql, s->rest);
    /* A bulk spec's rows outlive a namespace delete until purged: unique within
     * the namespace's ID, so that a namespace created again under the same path
     * starts empty. */
    buf_puts(sql, s->unique_global ? " (" : s->bulk ? " (\"nsid\", " : " (\"namespace\", ");
    ident(sql, s->unique);
    buf_puts(sql, ");");
}

/* ---- list attributes' side tables (filter.h, filter_compile_side) -------- */

void
sql_side_create(struct buf *sql, const struct spec *s, const struct attr *at,
                enum sql_dialect d)
{
    KW_UNUSED(d);
    buf_puts(sql, "CREATE TABLE IF NOT EXISTS ");
    filter_side_table(sql, s, at);
    buf_puts(sql, " (v TEXT NOT NULL, \"namespace\" TEXT NOT NULL, oid TEXT NOT NULL,"
                  " PRIMARY KEY (v, \"namespace\", oid)) WITHOUT ROWID;");
    buf_printf(sql, "CREATE INDEX IF NOT EXISTS \"%s__%s_oid\" ON ", s->rest, at->name);
    filter_side_table(sql, s, at);
    buf_puts(sql, " (oid);");
}

/* The distinct string elements of the rows' JSON column, as side rows. */
static void
side_rows_of(struct buf *sql, const struct spec *s, const struct attr *at)
{
    buf_puts(sql, "INSERT INTO ");
    filter_side_table(sql, s, at);
    buf_puts(
        sql,
        " (v, \"namespace\", oid) SELECT DISTINCT j.value, m.\"namespace\", m.\"ID\" FROM ");
    ident(sql, s->rest);
    buf_puts(sql, " m, json_each(m.");
    ident(sql, at->name);
    buf_puts(sql, ") j WHERE j.type = 'text'");
}

void
sql_side_fill(struct buf *sql, const struct spec *s, const struct attr *at, enum sql_dialect d)
{
    KW_UNUSED(d);
    side_rows_of(sql, s, at);
    buf_puts(sql, ";");
}

void
sql_side_insert_one(struct buf *sql, const struct spec *s, const struct attr *at,
                    enum sql_dialect d)
{
    buf_puts(sql, d == SQL_POSTGRES ? "INSERT INTO " : "INSERT OR IGNORE INTO ");
    filter_side_table(sql, s, at);
    buf_puts(sql, " (v, \"namespace\", oid) VALUES (");
    placeholder(sql, d, 1);
    buf_puts(sql, ", ");
    placeholder(sql, d, 2);
    buf_puts(sql, ", ");
    placeholder(sql, d, 3);
    buf_puts(sql, d == SQL_POSTGRES ? ") ON CONFLICT DO NOTHING" : ")");
}

void
sql_side_delete(struct buf *sql, const struct spec *s, const struct attr *at,
                enum sql_dialect d)
{
    buf_puts(sql, "DELETE FROM ");
    filter_side_table(sql, s, at);
    buf_puts(sql, " WHERE oid = ");
    placeholder(sql, d, 1);
}

void
sql_side_delete_scope(struct buf *sql, const struct spec *s, const struct attr *at,
                      const struct scope *sc, enum sql_dialect d, struct arena *a,
                      struct sqlparams *ps)
{
    buf_puts(sql, "DELETE FROM ");
    filter_side_table(sql, s, at);
    buf_puts(sql, " WHERE oid IN (SELECT \"ID\" FROM ");
    ident(sql, s->rest);
    buf_puts(sql, " WHERE ");
    path_cond(sql, "\"namespace\"", sc, d, a, ps);
    buf_puts(sql, ")");
}

void
sql_side_purge_nsid(struct buf *sql, const struct spec *s, const struct attr *at,
                    enum sql_dialect d)
{
    buf_puts(sql, "DELETE FROM ");
    filter_side_table(sql, s, at);
    buf_puts(sql, " WHERE oid IN (");
    nsid_batch(sql, s, "\"ID\"", d);
    buf_puts(sql, ")");
}

void
sql_side_purge(struct buf *sql, const struct spec *s, const struct attr *at, enum sql_dialect d)
{
    buf_puts(sql, "DELETE FROM ");
    filter_side_table(sql, s, at);
    buf_puts(sql, " WHERE oid IN (SELECT \"ID\" FROM ");
    ident(sql, s->rest);
    buf_puts(sql, " WHERE \"createTime\" < ");
    placeholder(sql, d, 1);
    buf_puts(sql, ")");
}
