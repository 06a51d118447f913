/* sql.c - SQL text from specs; see sql.h. */
#include "sql.h"
#include "sql_local.h"

#include <stdio.h>

void
sql_ident(struct buf *b, const char *name)
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

void
sql_param_text(struct buf *b, enum sql_dialect d, struct arena *a, struct sqlparams *ps,
               struct str s)
{
    sqlparams_add(a, ps, (struct sqlparam){ .t = SQLP_TEXT, .s = s });
    placeholder(b, d, ps->n);
}

void
sql_param_int(struct buf *b, enum sql_dialect d, struct arena *a, struct sqlparams *ps,
              int64_t i)
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
        sql_param_text(b, d, a, ps, sc->ns);
        return;
    }
    if (sc->ns.len == 1) { /* "/": everything */
        buf_puts(b, "1 = 1");
        return;
    }
    char *lo = arena_printf(a, "%.*s/", STR_FMT(sc->ns));
    char *hi = arena_printf(a, "%.*s0", STR_FMT(sc->ns));
    buf_printf(b, "(%s = ", col);
    sql_param_text(b, d, a, ps, sc->ns);
    buf_printf(b, " OR (%s > ", col);
    sql_param_text(b, d, a, ps, str_c(lo));
    buf_printf(b, " AND %s < ", col);
    sql_param_text(b, d, a, ps, str_c(hi));
    buf_puts(b, "))");
}

/* A bulk spec's row is alive while the namespace it was created in (its ID in
 * "nsid"; "/" for the root) still exists: a deleted namespace's rows vanish at
 * once, and a namespace created again under the same path sees none of them.
 * A scope is therefore the IDs of its live namespaces, and the rows are found
 * by "nsid" alone (every index of a bulk spec starts with it): no row outside
 * the scope, nor its namespace path, is ever read to decide. */
void
sql_live_cond(struct buf *b, const struct scope *sc, bool unindexed, enum sql_dialect d,
              struct arena *a, struct sqlparams *ps)
{
    const char *col = unindexed ? "+\"nsid\"" : "\"nsid\"";
    bool        root = sc != NULL && sc->ns.len == 1;

    if (sc == NULL) {
        buf_puts(b, "(\"nsid\" = '/' OR EXISTS (SELECT 1 FROM ");
        sql_ident(b, SQL_NAMESPACE_TABLE);
        buf_puts(b, " n WHERE n.\"ID\" = \"nsid\"))");
        return;
    }
    if (root && !sc->recursive) {
        buf_printf(b, "%s = '/'", col);
        return;
    }
    if (!sc->recursive && d == SQL_POSTGRES) {
        /* One namespace as one value (names are unique): PostgreSQL then
         * walks an index on (nsid, order...) in order and stops at the page,
         * where for IN it joins, reads every match and sorts them (400 ms for
         * a validityEnd range over 1,000,000 certificates, 2 ms so). */
        buf_printf(b, "%s = (SELECT \"ID\" FROM ", col);
        sql_ident(b, SQL_NAMESPACE_TABLE);
        buf_puts(b, " WHERE ");
        path_cond(b, "\"name\"", sc, d, a, ps);
        buf_putc(b, ')');
        return;
    }
    buf_printf(
        b, root ? "(%s = '/' OR %s IN (SELECT \"ID\" FROM " : "%s%s IN (SELECT \"ID\" FROM ",
        root ? col : "", col);
    sql_ident(b, SQL_NAMESPACE_TABLE);
    if (!root) {
        buf_puts(b, " WHERE ");
        path_cond(b, "\"name\"", sc, d, a, ps);
    }
    buf_puts(b, root ? "))" : ")");
}

/* Which rows of `s` a scope sees: its namespace condition, or for bulk specs
 * the rows of its live namespaces. `unindexed` writes the column as
 * +"namespace" or +"nsid" (the same values), which SQLite does not use to pick
 * an index: the rows are found by another condition (filter_side_drives). */
static void
scope_cond(struct buf *b, const struct spec *s, const struct scope *sc, bool unindexed,
           enum sql_dialect d, struct arena *a, struct sqlparams *ps)
{
    if (s->bulk)
        sql_live_cond(b, sc, unindexed, d, a, ps);
    else if (sc != NULL)
        path_cond(b, unindexed ? "+\"namespace\"" : "\"namespace\"", sc, d, a, ps);
}

void
sql_select_one(struct buf *sql, const struct spec *s, const struct attr *at, struct str value,
               const struct scope *sc, enum sql_dialect d, struct arena *a,
               struct sqlparams *ps)
{
    bool by_id = d == SQL_POSTGRES && strcmp(at->name, "ID") == 0;

    buf_puts(sql, "SELECT doc FROM ");
    if (by_id) /* the ID's unique index, then the scope, whatever the plan (pg.c
                  plans reads by ID once: with a table's first rows, an index on
                  the namespace costs the same, and would stay) */
        buf_puts(sql, "(SELECT * FROM ");
    sql_ident(sql, s->rest);
    buf_puts(sql, " WHERE ");
    sql_ident(sql, at->name);
    buf_puts(sql, " = ");
    sql_param_text(sql, d, a, ps, value);
    if (by_id) {
        buf_puts(sql, " OFFSET 0) AS ");
        sql_ident(sql, s->rest);
    }
    if (sc != NULL || s->bulk) {
        buf_puts(sql, by_id ? " WHERE " : " AND ");
        scope_cond(sql, s, sc, false, d, a, ps);
    }
    buf_puts(sql, " LIMIT 1");
}

void
sql_select_ids(struct buf *sql, const struct spec *s, struct str ids, const struct scope *sc,
               struct arena *a, struct sqlparams *ps)
{
    /* one look-up per ID, each the ID's unique index first (a generic plan of
     * "ID" = ANY($1) expects ten IDs and scans a small table, and keeps that) */
    buf_puts(sql, "SELECT k.id, d.doc FROM unnest(");
    sql_param_text(sql, SQL_POSTGRES, a, ps, ids);
    buf_puts(sql, "::text[]) AS k(id), LATERAL (SELECT doc FROM (SELECT * FROM ");
    sql_ident(sql, s->rest);
    buf_puts(sql, " WHERE \"ID\" = k.id OFFSET 0) AS ");
    sql_ident(sql, s->rest);
    buf_puts(sql, " WHERE ");
    scope_cond(sql, s, sc, false, SQL_POSTGRES, a, ps);
    buf_puts(sql, " LIMIT 1) AS d");
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

/* True when `col` leads one of the spec's indexes across namespaces ("*col,..."). */
static bool
leads_global_index(const struct spec *s, struct str col)
{
    for (const char *const *ix = s->indexes; ix != NULL && *ix != NULL; ix++) {
        struct str first;
        if (**ix != '*')
            continue;
        str_cut(str_c(*ix + 1), ',', &first);
        if (str_eq(first, col))
            return true;
    }
    return false;
}

/* True when every row `f` accepts is found by an index lookup other than the
 * namespace's: an equality on a column that leads a global index (the
 * rewritten `status`), a range of one whose range holds few rows (the
 * rewritten `weaknesses`: the rows that have EXPIRED_ISSUER without storing it,
 * marked `few`), or a side-table lookup (filter_side_drives); an AND holding
 * one, an OR of two such. The scope is then written unindexed, or SQLite would
 * walk the namespace's (nsid, column) index testing every row. */
static bool
others_drive(const struct fnode *f, const struct spec *s, bool few)
{
    switch (f->op) {
    case F_AND:
        few = few || f->few;
        return others_drive(f->l, s, few) || others_drive(f->r, s, few);
    case F_OR:
        few = few || f->few;
        return others_drive(f->l, s, few) && others_drive(f->r, s, few);
    case F_EQ:
    case F_IN:
        return leads_global_index(s, f->field) || filter_side_drives(f, s);
    case F_LT:
    case F_LE:
    case F_GT:
    case F_GE:
        return (few || f->few) && leads_global_index(s, f->field);
    default:
        return filter_side_drives(f, s);
    }
}

int
sql_where(struct buf *sql, const struct spec *s, const struct listq *q, enum sql_dialect d,
          struct arena *a, struct sqlparams *ps, struct errbuf *eb)
{
    struct side_scope  x = { &q->scope, d, a };
    struct filter_side side = { side_scope, &x };

    buf_puts(sql, " WHERE ");
    scope_cond(sql, s, &q->scope,
               d == SQL_SQLITE && q->filter != NULL && others_drive(q->filter, s, false), d, a,
               ps);
    if (q->filter == NULL)
        return E_OK;
    buf_puts(sql, " AND ");
    return filter_compile_side(a, q->filter, s, d, &side, sql, ps, eb);
}

/* The table a filtered read finds its rows in. When substring lookups find every
 * row the filter accepts (filter_fts_drives), NOT INDEXED: SQLite then reads the
 * rows by rowid from the lookups only. Without statistics its planner prefers to
 * them (FTS5 does not say how few they are) a range of any index the filter
 * could use, such as the (status, expiringTime) one across every namespace that
 * `status == "ACTIVE"` becomes: a million rows. The store hands the index only
 * values with few candidates (sqlite.c, sqlite_fts_plan), so the lookups are cheap. */
void
sql_read_table(struct buf *sql, const struct spec *s, const struct fnode *f, enum sql_dialect d)
{
    sql_ident(sql, s->rest);
    if (d == SQL_SQLITE && f != NULL && filter_fts_drives(f, s))
        buf_puts(sql, " NOT INDEXED");
}

int
sql_count(struct buf *sql, const struct spec *s, const struct listq *q, enum sql_dialect d,
          struct arena *a, struct sqlparams *ps, struct errbuf *eb)
{
    int rc;

    if (sql_count_buckets(sql, s, q, d, a, ps, eb, &rc))
        return rc;
    buf_puts(sql, "SELECT count(*) FROM ");
    sql_read_table(sql, s, q->filter, d);
    return sql_where(sql, s, q, d, a, ps, eb);
}

/* The objects an aggregate counts: the query's filter and the part's. */
const struct fnode *
sql_agg_filter(struct arena *a, const struct fnode *filter, const struct fnode *extra)
{
    if (filter != NULL && extra != NULL)
        return filter_bool(a, F_AND, (struct fnode *)filter, (struct fnode *)extra);
    return extra != NULL ? extra : filter;
}

/* The same from the rows. */
int
sql_aggregate_rows(struct buf *sql, const struct spec *s, const struct scope *sc,
                   const struct fnode *filter, const struct agg_part *part, enum sql_dialect d,
                   struct arena *a, struct sqlparams *ps, struct errbuf *eb)
{
    bool         list = part->nby == 1 && attr_is_indexed_list(part->by[0]);
    size_t       n = part->nby;
    struct listq q = { .scope = *sc, .filter = sql_agg_filter(a, filter, part->filter) };
    int          rc;

    buf_puts(sql, "SELECT ");
    for (size_t i = 0; i < n; i++) {
        if (list)
            buf_puts(sql, "v");
        else
            sql_ident(sql, part->by[i]->name);
        buf_puts(sql, ", ");
    }
    buf_puts(sql, "count(*) FROM ");
    if (list && d == SQL_POSTGRES) { /* each distinct element of the matching objects */
        buf_puts(sql, "(SELECT DISTINCT \"ID\", e.v FROM ");
        sql_ident(sql, s->rest);
        buf_puts(sql, ", jsonb_array_elements_text(");
        sql_ident(sql, part->by[0]->name);
        buf_puts(sql, ") AS e(v)");
    } else if (list) { /* the elements of the matching objects */
        filter_side_table(sql, s, part->by[0]);
        buf_puts(sql, " WHERE oid IN (SELECT \"ID\" FROM ");
    }
    if (!list || d != SQL_POSTGRES)
        sql_read_table(sql, s, q.filter, d);
    if ((rc = sql_where(sql, s, &q, d, a, ps, eb)) != E_OK)
        return rc;
    if (list)
        buf_puts(sql, d == SQL_POSTGRES ? ") AS l" : ")");
    if (n == 0)
        return E_OK;
    buf_puts(sql, " GROUP BY ");
    for (size_t i = 0; i < n; i++)
        buf_printf(sql, "%s%zu", i > 0 ? ", " : "", i + 1);
    buf_printf(sql, " ORDER BY %zu DESC", n + 1);
    for (size_t i = 0; i < n; i++)
        buf_printf(sql, ", %zu", i + 1);
    buf_puts(sql, " LIMIT ");
    sql_param_int(sql, d, a, ps, part->limit > 0 ? part->limit : INT64_MAX);
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
        sql_ident(sql, q->order[i].attr->name);
        buf_puts(sql, ", ");
    }
    buf_puts(sql, "\"ID\" FROM ");
    sql_ident(sql, s->rest);
    buf_puts(sql, " WHERE \"ID\" = ");
    sql_param_text(sql, d, a, ps, q->after);
    buf_puts(sql, ") ");
}

/* Whether an order key may be missing (NULL): an attribute a create may
 * leave out. Its comparisons with the cursor's must then place NULL. */
static bool
may_be_null(const struct attr *at)
{
    return (at->flags & A_REQUIRED) == 0;
}

/* The row's key i equals the cursor row's (cur.k<i>), NULL equal to NULL. */
static void
key_equal(struct buf *sql, const struct attr *at, size_t i, enum sql_dialect d)
{
    sql_ident(sql, at->name);
    if (!may_be_null(at))
        buf_printf(sql, " = cur.k%zu", i);
    else
        buf_printf(sql, d == SQL_SQLITE ? " IS cur.k%zu" : " IS NOT DISTINCT FROM cur.k%zu", i);
}

/* The row's key i sorts after the cursor row's. NULL sorts as each store's
 * ORDER BY and indexes place it (order_by says nothing): below every value
 * on SQLite, above every value on PostgreSQL. */
static void
key_after(struct buf *sql, const struct attr *at, bool desc, size_t i, enum sql_dialect d)
{
    buf_putc(sql, '(');
    sql_ident(sql, at->name);
    buf_printf(sql, " %s cur.k%zu", desc ? "<" : ">", i);
    if (may_be_null(at)) {
        bool nulls_after = desc == (d == SQL_SQLITE);
        buf_printf(
            sql, nulls_after ? " OR (cur.k%zu IS NOT NULL AND " : " OR (cur.k%zu IS NULL AND ",
            i);
        sql_ident(sql, at->name);
        buf_puts(sql, nulls_after ? " IS NULL)" : " IS NOT NULL)");
    }
    buf_putc(sql, ')');
}

/* Rows after the cursor row in q's order: equal on the first i keys and
 * after it on key i, for some i; the ID last. */
static void
cursor_cond(struct buf *sql, const struct listq *q, enum sql_dialect d)
{
    buf_puts(sql, " AND (");
    for (size_t i = 0; i <= q->norder; i++) {
        if (i > 0)
            buf_puts(sql, " OR (");
        for (size_t j = 0; j < i; j++) {
            key_equal(sql, q->order[j].attr, j, d);
            buf_puts(sql, " AND ");
        }
        if (i == q->norder)
            buf_puts(sql, "\"ID\" > cur.kid");
        else
            key_after(sql, q->order[i].attr, q->order[i].desc, i, d);
        if (i > 0)
            buf_putc(sql, ')');
    }
    buf_putc(sql, ')');
}

/* True when `col` leads one of the spec's indexes (after the scope column), or
 * is its unique attribute. */
static bool
leads_index(const struct spec *s, struct str col)
{
    if (s->unique != NULL && str_eq_c(col, s->unique))
        return true;
    for (const char *const *ix = s->indexes; ix != NULL && *ix != NULL; ix++) {
        struct str first, rest = str_c(*ix + (**ix == '*'));
        str_cut(rest, ',', &first);
        if (str_eq(first, col))
            return true;
    }
    return false;
}

/* True when an index finds the rows `f` accepts (an AND of conditions, one of
 * them on a leading index column or a list's side table; an OR of two such),
 * other than by `order_col`: the page is then better sorted from those rows
 * than found by walking the order index and testing every row. */
static bool
filter_finds(const struct fnode *f, const struct spec *s, struct str order_col)
{
    switch (f->op) {
    case F_AND:
        return filter_finds(f->l, s, order_col) || filter_finds(f->r, s, order_col);
    case F_OR:
        return filter_finds(f->l, s, order_col) && filter_finds(f->r, s, order_col);
    case F_EQ:
    case F_IN:
    case F_LT:
    case F_LE:
    case F_GT:
    case F_GE:
        if (str_eq(f->field, order_col))
            return false;
        return leads_index(s, f->field) || filter_side_drives(f, s);
    default:
        return filter_side_drives(f, s);
    }
}

static void
order_by(struct buf *sql, const struct listq *q, bool unindexed)
{
    const char *plus = unindexed ? "+" : "";

    buf_puts(sql, " ORDER BY ");
    for (size_t i = 0; i < q->norder; i++) {
        buf_puts(sql, plus);
        sql_ident(sql, q->order[i].attr->name);
        buf_puts(sql, q->order[i].desc ? " DESC, " : " ASC, ");
    }
    buf_printf(sql, "%s\"ID\" ASC", plus);
}

/* The page's IDs when the filter is an OR of branches no row is in two of
 * (a status: docs/inventory.md) and an index finds each branch's rows: each
 * branch read on its own, its first offset+limit rows in the page's order,
 * merged. SQLite then walks an index in that order for a branch that has one
 * and stops early, and sorts a `few` branch (its `+` hint); for one OR it reads
 * every match from the table and sorts them all (15 ms for 40,000 EXPIRING,
 * 1 ms so). PostgreSQL plans each branch by its own costs (no hint there) and
 * for one OR scanned the whole table in parallel (935 ms at 1,000,000). */
static bool
branches_page(struct buf *sql, const struct spec *s, const struct listq *q, enum sql_dialect d,
              struct arena *a, struct sqlparams *ps, struct errbuf *eb, int *rc)
{
    const struct fnode *br[SQL_MAX_BRANCHES];
    size_t              nb;
    int64_t             k;

    if (!s->bulk || q->filter == NULL || q->after.len > 0 || q->limit < 0 || q->offset < 0 ||
        (nb = sql_disjoint_branches(q->filter, s, br)) < 2)
        return false;
    k = q->offset > INT64_MAX - q->limit ? INT64_MAX : q->offset + q->limit;
    for (size_t i = 0; i < nb; i++)
        if (!filter_finds(br[i], s, str_c("")))
            return false;
    *rc = E_OK;
    buf_puts(sql, "SELECT \"ID\" FROM (");
    for (size_t i = 0; i < nb && *rc == E_OK; i++) {
        struct listq one = *q;
        /* PostgreSQL sorts a `few` branch when its rows come from a subquery
         * planned on its own (OFFSET 0): the ORDER BY cannot lead it to walk
         * an order index past every other row (550 ms for EXPIRING). */
        bool fence = d == SQL_POSTGRES && br[i]->few;
        one.filter = br[i];
        buf_puts(sql, i > 0 ? " UNION ALL SELECT * FROM (" : "SELECT * FROM (");
        buf_puts(sql, fence ? "SELECT * FROM (SELECT " : "SELECT ");
        for (size_t j = 0; j < q->norder; j++) {
            sql_ident(sql, q->order[j].attr->name);
            buf_puts(sql, ", ");
        }
        buf_puts(sql, "\"ID\" FROM ");
        sql_read_table(sql, s, br[i], d);
        *rc = sql_where(sql, s, &one, d, a, ps, eb);
        if (fence)
            buf_printf(sql, " OFFSET 0) AS f%zu", i);
        order_by(sql, q, d == SQL_SQLITE && br[i]->few);
        buf_puts(sql, " LIMIT ");
        sql_param_int(sql, d, a, ps, k);
        buf_printf(sql, ") AS b%zu", i); /* PostgreSQL 15 names every subquery */
    }
    buf_puts(sql, " ORDER BY ");
    for (size_t j = 0; j < q->norder; j++)
        buf_printf(sql, "%zu%s, ", j + 1, q->order[j].desc ? " DESC" : " ASC");
    buf_printf(sql, "%zu ASC LIMIT ", q->norder + 1);
    sql_param_int(sql, d, a, ps, q->limit);
    buf_puts(sql, " OFFSET ");
    sql_param_int(sql, d, a, ps, q->offset);
    buf_puts(sql, ") AS branches");
    return true;
}

/* A bulk spec's page is found as IDs first, from the indexes alone (each
 * bulk index ends with the ID), and only the page's documents are read: a
 * sort of many matches then handles IDs, not documents. */
int
sql_select(struct buf *sql, const struct spec *s, const struct listq *q, enum sql_dialect d,
           struct arena *a, struct sqlparams *ps, struct errbuf *eb)
{
    bool       cursor = q->after.len > 0;
    struct str first = q->norder > 0 ? str_c(q->order[0].attr->name) : str_c("ID");
    bool       sort =
        d == SQL_SQLITE && s->bulk && q->filter != NULL && filter_finds(q->filter, s, first);
    int rc;

    if (cursor)
        cursor_cte(sql, s, q, d, a, ps);
    buf_puts(sql, "SELECT ");
    for (size_t i = 0; i < q->nproject; i++) {
        sql_ident(sql, q->project[i]->name);
        buf_puts(sql, i + 1 < q->nproject ? ", " : " ");
    }
    buf_puts(sql, q->project != NULL ? "FROM " : "doc FROM ");
    if (s->bulk) {
        sql_ident(sql, s->rest);
        buf_puts(sql, " WHERE \"ID\" IN (");
        if (branches_page(sql, s, q, d, a, ps, eb, &rc)) {
            buf_putc(sql, ')');
            order_by(sql, q, false);
            return rc;
        }
        buf_puts(sql, "SELECT \"ID\" FROM ");
    }
    sql_read_table(sql, s, q->filter, d);
    if (cursor)
        buf_puts(sql, ", cur");
    rc = sql_where(sql, s, q, d, a, ps, eb);
    if (rc != E_OK)
        return rc;
    if (cursor)
        cursor_cond(sql, q, d);
    order_by(sql, q, sort);
    buf_puts(sql, " LIMIT ");
    sql_param_int(sql, d, a, ps, q->limit < 0 ? INT64_MAX : q->limit);
    buf_puts(sql, " OFFSET ");
    sql_param_int(sql, d, a, ps, q->offset);
    if (s->bulk) {
        buf_putc(sql, ')');
        order_by(sql, q, false);
    }
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
    sql_ident(sql, SQL_NAMESPACE_TABLE);
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
sql_insert(struct buf *sql, const struct spec *s, enum sql_dialect d, bool ns_known)
{
    size_t n = spec_ncolumns(s);

    buf_puts(sql, "INSERT INTO ");
    sql_ident(sql, s->rest);
    buf_puts(sql, " (");
    for (size_t i = 0; i < n; i++) {
        sql_ident(sql, spec_column(s, i)->name);
        buf_puts(sql, ", ");
    }
    buf_puts(sql, s->bulk ? "doc, \"nsid\") SELECT " : "doc) SELECT ");
    for (size_t i = 0; i <= n; i++) {
        if (i > 0)
            buf_puts(sql, ", ");
        placeholder_n(sql, d, i + 1);
    }
    if (s->bulk && ns_known) { /* the ID of the namespace, given */
        buf_puts(sql, ", ");
        placeholder_n(sql, d, n + 2);
    } else if (s->bulk) { /* the ID of the namespace it is created in */
        buf_puts(sql, ", CASE WHEN ");
        placeholder_n(sql, d, n + 2);
        buf_puts(sql, " = '/' THEN '/' ELSE (SELECT \"ID\" FROM ");
        sql_ident(sql, SQL_NAMESPACE_TABLE);
        buf_puts(sql, " WHERE \"name\" = ");
        placeholder_n(sql, d, n + 2);
        buf_puts(sql, ") END");
    }
    if (!ns_known) {
        buf_puts(sql, " WHERE ");
        namespace_guard(sql, d, n + 2);
    }
    /* A taken unique key writes nothing instead of failing: a PostgreSQL
     * error would abort the whole transaction, every job of the batch. */
    if (d == SQL_POSTGRES)
        buf_puts(sql, " ON CONFLICT DO NOTHING");
}

void
sql_update(struct buf *sql, const struct spec *s, enum sql_dialect d)
{
    size_t n = spec_ncolumns(s);

    buf_puts(sql, "UPDATE ");
    sql_ident(sql, s->rest);
    buf_puts(sql, " SET ");
    for (size_t i = 0; i < n; i++) {
        sql_ident(sql, spec_column(s, i)->name);
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
    sql_ident(sql, s->rest);
    buf_puts(sql, " WHERE \"ID\" = ");
    placeholder_n(sql, d, 1);
    write_cond(sql, d, 2);
}

void
sql_delete_scope(struct buf *sql, const struct spec *s, const struct scope *sc,
                 enum sql_dialect d, struct arena *a, struct sqlparams *ps)
{
    buf_puts(sql, "DELETE FROM ");
    sql_ident(sql, s->rest);
    buf_puts(sql, " WHERE ");
    path_cond(sql, "\"namespace\"", sc, d, a, ps);
}

void
sql_select_namespace_ids(struct buf *sql, const struct scope *sc, enum sql_dialect d,
                         struct arena *a, struct sqlparams *ps)
{
    buf_puts(sql, "SELECT \"ID\" FROM ");
    sql_ident(sql, SQL_NAMESPACE_TABLE);
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
    sql_ident(sql, s->rest);
    buf_puts(sql, " WHERE \"nsid\" = ");
    placeholder(sql, d, 1);
    buf_printf(sql, " ORDER BY %s LIMIT ", row_id(d));
    placeholder(sql, d, 2);
}

void
sql_purge_nsid(struct buf *sql, const struct spec *s, enum sql_dialect d)
{
    buf_puts(sql, "DELETE FROM ");
    sql_ident(sql, s->rest);
    buf_printf(sql, " WHERE %s IN (", row_id(d));
    nsid_batch(sql, s, row_id(d), d);
    buf_puts(sql, ")");
}

void
sql_purge(struct buf *sql, const struct spec *s, enum sql_dialect d)
{
    buf_puts(sql, "DELETE FROM ");
    sql_ident(sql, s->rest);
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
    case T_STRING: /* PostgreSQL: byte order, as SQLite's, whatever the database's locale */
        return d == SQL_POSTGRES ? "TEXT COLLATE \"C\"" : "TEXT";
    default:
        return d == SQL_POSTGRES ? "JSONB" : "TEXT";
    }
}

void
sql_create_table(struct buf *sql, const struct spec *s, enum sql_dialect d)
{
    buf_puts(sql, "CREATE TABLE IF NOT EXISTS ");
    sql_ident(sql, s->rest);
    buf_puts(sql, " (");
    for (size_t i = 0; i < spec_ncolumns(s); i++) {
        const struct attr *at = spec_column(s, i);
        sql_ident(sql, at->name);
        buf_printf(sql, " %s%s, ", column_type(at, d),
                   strcmp(at->name, "ID") == 0          ? " NOT NULL UNIQUE"
                   : strcmp(at->name, "namespace") == 0 ? " NOT NULL"
                                                        : "");
    }
    if (s->bulk)
        buf_puts(sql, d == SQL_POSTGRES ? "\"nsid\" TEXT COLLATE \"C\", " : "\"nsid\" TEXT, ");
    buf_printf(sql, "doc %s NOT NULL);", d == SQL_POSTGRES ? "BYTEA" : "BLOB");
}

void
sql_add_nsid(struct buf *sql, const struct spec *s, enum sql_dialect d)
{
    KW_UNUSED(d);
    buf_puts(sql, "ALTER TABLE ");
    sql_ident(sql, s->rest);
    buf_puts(sql, " ADD COLUMN \"nsid\" TEXT; UPDATE ");
    sql_ident(sql, s->rest);
    buf_puts(
        sql,
        " SET \"nsid\" = CASE WHEN \"namespace\" = '/' THEN '/' ELSE (SELECT n.\"ID\" FROM ");
    sql_ident(sql, SQL_NAMESPACE_TABLE);
    buf_puts(sql, " n WHERE n.\"name\" = ");
    sql_ident(sql, s->rest);
    buf_puts(sql, ".\"namespace\") END;");
}

void
sql_add_column(struct buf *sql, const struct spec *s, const struct attr *at, enum sql_dialect d)
{
    buf_puts(sql, "ALTER TABLE ");
    sql_ident(sql, s->rest);
    buf_puts(sql, d == SQL_POSTGRES ? " ADD COLUMN IF NOT EXISTS " : " ADD COLUMN ");
    sql_ident(sql, at->name);
    buf_printf(sql, " %s;", column_type(at, d));
}

/* The column every index of `s` starts with: a bulk spec's rows are found by
 * their namespace's ID (live_cond), the others' by their namespace. */
static const char *
scope_column(const struct spec *s)
{
    return s->bulk ? "\"nsid\"" : "\"namespace\"";
}

/* One index: the scope column unless `global`, the columns of `cols`
 * (comma-separated), and for a bulk spec the ID, so that a filter, its count
 * and its page of IDs are read from the index alone (sql_select). Bulk indexes
 * are named <rest>_live_..., the others <rest>_... */
static void
index_name(char full[256], const struct spec *s, const char *name, bool global,
           enum sql_dialect d)
{
    int n = snprintf(full, 256, "%s_%s%s%s", s->rest, s->bulk ? "live_" : "", name,
                     s->bulk && global ? "_nsid" : "");

    /* PostgreSQL cuts a name at 63 bytes: a long one keeps 46 and a hash of
     * the whole, so that two long names never become one. */
    if (d == SQL_POSTGRES && n > 63)
        snprintf(full + 46, 256 - 46, "_%016llx",
                 (unsigned long long)hash_fnv1a(full, (size_t)n, 0));
}

static void
index_on(struct buf *sql, const struct spec *s, const char *name, const char *cols, bool global,
         enum sql_dialect d)
{
    char full[256];

    index_name(full, s, name, global, d);
    buf_printf(sql, "CREATE INDEX IF NOT EXISTS \"%s\" ON ", full);
    sql_ident(sql, s->rest);
    buf_puts(sql, " (");
    if (!global)
        buf_printf(sql, "%s, ", scope_column(s));
    buf_putc(sql, '"');
    for (const char *p = cols; *p != '\0'; p++)
        buf_puts(sql, *p == ',' ? "\", \"" : (char[]){ *p, '\0' });
    bool has_id = false;
    for (struct str rest = str_c(cols), col; rest.p != NULL && !has_id;) {
        rest = str_cut(rest, ',', &col);
        has_id = str_eq_c(col, "ID");
    }
    if (s->bulk && global) /* the scope's test, from the index too */
        buf_puts(sql, "\", \"nsid");
    buf_puts(sql, s->bulk && !has_id ? "\", \"ID\");" : "\");");
}

/* One of a spec's own indexes: "a,b" is (scope column, a, b), "*a,b" is (a, b)
 * (for the server's queries across every namespace), named after them; made,
 * or with `drop` dropped. */
static void
spec_index(struct buf *sql, const struct spec *s, const char *cols, bool drop,
           enum sql_dialect d)
{
    bool  global = *cols == '*';
    char  name[128], full[256];
    char *n = name;

    cols += global;
    if (global)
        n += snprintf(name, sizeof name, "all_");
    for (const char *p = cols; *p != '\0' && n < name + sizeof name - 1; p++)
        *n++ = *p == ',' ? '_' : *p;
    *n = '\0';
    if (!drop) {
        index_on(sql, s, name, cols, global, d);
        return;
    }
    index_name(full, s, name, global, d);
    buf_printf(sql, "DROP INDEX IF EXISTS \"%s\";", full);
}

/* Indexes a release made and a later one replaced (bulk specs moved from the
 * namespace path to its ID). */
static void
drop_replaced(struct buf *sql, const struct spec *s)
{
    if (!s->bulk)
        return;
    buf_printf(sql, "DROP INDEX IF EXISTS \"%s_order\"; DROP INDEX IF EXISTS \"%s_nsid\";",
               s->rest, s->rest);
}

void
sql_create_indexes(struct buf *sql, const struct spec *s, enum sql_dialect d)
{
    char order[128];

    drop_replaced(sql, s);
    snprintf(order, sizeof order, "%s%sID", s->default_order ? s->default_order : "",
             s->default_order ? "," : "");
    index_on(sql, s, "order", order, false, d);
    for (const char *const *ix = s->dropped_indexes; ix != NULL && *ix != NULL; ix++)
        spec_index(sql, s, *ix, true, d);
    for (const char *const *ix = s->indexes; ix != NULL && *ix != NULL; ix++)
        spec_index(sql, s, *ix, false, d);
    /* PostgreSQL: GIN indexes answer a list's @> (has) and a substring's LIKE
     * (pg_trgm) without side tables. */
    for (size_t i = 0; i < spec_ncolumns(s) && d == SQL_POSTGRES; i++) {
        const struct attr *at = spec_column(s, i);
        bool               list = attr_is_indexed_list(at), trgm = attr_is_substring(at);
        if (!list && !trgm)
            continue;
        buf_printf(sql, "CREATE INDEX IF NOT EXISTS \"%s_%s_%s\" ON ", s->rest, at->name,
                   list ? "gin" : "trgm");
        sql_ident(sql, s->rest);
        buf_puts(sql, " USING gin (");
        sql_ident(sql, at->name);
        buf_puts(sql, list ? ");" : " gin_trgm_ops);");
    }
    if (s->unique == NULL)
        return;
    buf_printf(sql, "CREATE UNIQUE INDEX IF NOT EXISTS \"%s_unique\" ON ", s->rest);
    sql_ident(sql, s->rest);
    /* A bulk spec's rows outlive a namespace delete until purged: unique within
     * the namespace's ID, so that a namespace created again under the same path
     * starts empty. The value comes first: lookups by it (a certificate by its
     * fingerprint) find it in any namespace's scope. */
    if (s->bulk && !s->unique_global) {
        buf_puts(sql, " (");
        sql_ident(sql, s->unique);
        buf_puts(sql, ", \"nsid\");");
        return;
    }
    buf_puts(sql, s->unique_global ? " (" : " (\"namespace\", ");
    sql_ident(sql, s->unique);
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
    sql_ident(sql, s->rest);
    buf_puts(sql, " m, json_each(m.");
    sql_ident(sql, at->name);
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
    sql_ident(sql, s->rest);
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
    sql_ident(sql, s->rest);
    buf_puts(sql, " WHERE \"createTime\" < ");
    placeholder(sql, d, 1);
    buf_puts(sql, ")");
}

/* ---- substring indexes (filter.h, attr_is_substring) --------------------- */

/* Own content (the value kept in the index's table): an entry is deleted by its
 * rowid alone, whatever the row holds by then, so the index cannot be corrupted
 * by a delete that names the wrong value (contentless and external-content
 * tables need the old value); columnsize=0: no ranking, no size table. */
void
sql_fts_create(struct buf *sql, const struct spec *s, const struct attr *at, enum sql_dialect d)
{
    KW_UNUSED(d);
    buf_puts(sql, "CREATE VIRTUAL TABLE IF NOT EXISTS ");
    filter_fts_table(sql, s, at);
    buf_puts(sql, " USING fts5(v, tokenize = 'trigram case_sensitive 1', columnsize = 0);");
}

void
sql_fts_fill(struct buf *sql, const struct spec *s, const struct attr *at, enum sql_dialect d)
{
    KW_UNUSED(d);
    buf_puts(sql, "INSERT INTO ");
    filter_fts_table(sql, s, at);
    buf_puts(sql, " (rowid, v) SELECT rowid, ");
    sql_ident(sql, at->name);
    buf_puts(sql, " FROM ");
    sql_ident(sql, s->rest);
    buf_puts(sql, " WHERE ");
    sql_ident(sql, at->name);
    buf_puts(sql, " IS NOT NULL;");
}

void
sql_rowid_by_id(struct buf *sql, const struct spec *s, enum sql_dialect d)
{
    buf_printf(sql, "SELECT %s FROM ", row_id(d));
    sql_ident(sql, s->rest);
    buf_puts(sql, " WHERE \"ID\" = ");
    placeholder(sql, d, 1);
}

void
sql_fts_insert(struct buf *sql, const struct spec *s, const struct attr *at, enum sql_dialect d)
{
    KW_UNUSED(d);
    buf_puts(sql, "INSERT INTO ");
    filter_fts_table(sql, s, at);
    buf_puts(sql, " (rowid, v) VALUES (?1, ?2)");
}

void
sql_fts_value(struct buf *sql, const struct spec *s, const struct attr *at, enum sql_dialect d)
{
    KW_UNUSED(d);
    buf_puts(sql, "SELECT ");
    sql_ident(sql, at->name);
    buf_puts(sql, " FROM ");
    sql_ident(sql, s->rest);
    buf_puts(sql, " WHERE rowid = ?1");
}

void
sql_fts_has(struct buf *sql, const struct spec *s, const struct attr *at, enum sql_dialect d)
{
    KW_UNUSED(d);
    buf_puts(sql, "SELECT 1 FROM ");
    filter_fts_table(sql, s, at);
    buf_puts(sql, " WHERE rowid = ?1");
}

void
sql_fts_drop_stale(struct buf *sql, const struct spec *s, const struct attr *at,
                   enum sql_dialect d)
{
    KW_UNUSED(d);
    buf_puts(sql, "DELETE FROM ");
    filter_fts_table(sql, s, at);
    buf_puts(sql, " WHERE rowid = ?1 AND v IS NOT (SELECT ");
    sql_ident(sql, at->name);
    buf_puts(sql, " FROM ");
    sql_ident(sql, s->rest);
    buf_puts(sql, " WHERE rowid = ?1)");
}

/* DELETE FROM fts WHERE rowid IN (SELECT rowid FROM t WHERE  -- the caller closes */
static void
fts_delete_of(struct buf *sql, const struct spec *s, const struct attr *at)
{
    buf_puts(sql, "DELETE FROM ");
    filter_fts_table(sql, s, at);
    buf_puts(sql, " WHERE rowid IN (SELECT rowid FROM ");
    sql_ident(sql, s->rest);
    buf_puts(sql, " WHERE ");
}

void
sql_fts_delete_scope(struct buf *sql, const struct spec *s, const struct attr *at,
                     const struct scope *sc, enum sql_dialect d, struct arena *a,
                     struct sqlparams *ps)
{
    fts_delete_of(sql, s, at);
    path_cond(sql, "\"namespace\"", sc, d, a, ps);
    buf_puts(sql, ")");
}

void
sql_fts_purge_nsid(struct buf *sql, const struct spec *s, const struct attr *at,
                   enum sql_dialect d)
{
    buf_puts(sql, "DELETE FROM ");
    filter_fts_table(sql, s, at);
    buf_puts(sql, " WHERE rowid IN (");
    nsid_batch(sql, s, row_id(d), d);
    buf_puts(sql, ")");
}

void
sql_fts_purge(struct buf *sql, const struct spec *s, const struct attr *at, enum sql_dialect d)
{
    fts_delete_of(sql, s, at);
    buf_puts(sql, "\"createTime\" < ");
    placeholder(sql, d, 1);
    buf_puts(sql, ")");
}

void
sql_fts_probe(struct buf *sql, const struct spec *s, const struct attr *at, enum sql_dialect d)
{
    KW_UNUSED(d);
    buf_puts(sql, "SELECT count(*) FROM (SELECT 1 FROM ");
    filter_fts_table(sql, s, at);
    buf_puts(sql, " WHERE ");
    filter_fts_table(sql, s, at);
    buf_puts(sql, " MATCH ?1 LIMIT ?2)");
}
