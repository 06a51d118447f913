/* sql.h - SQL text for the store drivers, built from specs.
 *
 * Only identifiers taken from specs (ASCII attribute and table names) are ever
 * written into SQL text; every value is a bound parameter appended to `ps` in
 * placeholder order ('?' for SQLite, '$N' for PostgreSQL). Every table is the
 * spec's REST name; every column the attribute's wire name, double-quoted.
 */
#ifndef KW_SQL_H
#define KW_SQL_H

#include "store.h"

/* SELECT doc ... WHERE "<attr>" = value AND <scope> LIMIT 1 (sc may be NULL);
 * on PostgreSQL a read by ID takes the ID's unique index first, whatever the
 * plan (the scope is judged on the row it finds). */
void sql_select_one(struct buf *sql, const struct spec *s, const struct attr *at,
                    struct str value, const struct scope *sc, enum sql_dialect d,
                    struct arena *a, struct sqlparams *ps);
/* PostgreSQL: (ID asked, doc) of the objects of `s` in scope `sc` whose ID
 * is one of `ids`, a text[] literal ({"a","b"}): reads by ID made together,
 * each on the ID's unique index first, as sql_select_one, whatever the plan. */
void sql_select_ids(struct buf *sql, const struct spec *s, struct str ids,
                    const struct scope *sc, struct arena *a, struct sqlparams *ps);
/* The page of a list query; E_BADREQ for a bad filter. */
int sql_select(struct buf *sql, const struct spec *s, const struct listq *q, enum sql_dialect d,
               struct arena *a, struct sqlparams *ps, struct errbuf *eb);
/* SELECT count(*) of the matches of a list query (paging ignored). */
int sql_count(struct buf *sql, const struct spec *s, const struct listq *q, enum sql_dialect d,
              struct arena *a, struct sqlparams *ps, struct errbuf *eb);
/* SELECT <by columns>, count(*) of the objects in `sc` that `filter` and
 * part->filter accept, grouped (store.h struct agg_part); a list attribute
 * groups by its elements, from its side table. */
int sql_aggregate(struct buf *sql, const struct spec *s, const struct scope *sc,
                  const struct fnode *filter, const struct agg_part *part, enum sql_dialect d,
                  struct arena *a, struct sqlparams *ps, struct errbuf *eb);
/* SQLite: every part of an aggregate over the objects in `sc` that `filter`
 * accepts, in one statement: those rows are read once, into a materialized
 * CTE named as the table, which each part then reads as sql_aggregate would
 * read the table (a report with `q` read them once per part: 19 times). Rows:
 * [part index, by..., count, NULL...], AGG_BY_MAX + 2 columns, the parts in
 * order, each part's rows in its order. */
int sql_aggregate_once(struct buf *sql, const struct spec *s, const struct scope *sc,
                       const struct fnode *filter, const struct agg_part *parts, size_t nparts,
                       struct arena *a, struct sqlparams *ps, struct errbuf *eb);
/* Counted dimensions (spec.counted): the table "<rest>__counts" (nsid, dim, v1,
 * v2, n) and the triggers that keep it as rows are inserted, updated and
 * deleted; the fill of a new counts table from the rows. */
void sql_counts_create(struct buf *sql, const struct spec *s, enum sql_dialect d);
void sql_counts_fill(struct buf *sql, const struct spec *s, enum sql_dialect d);
/* The fill of one dimension, added to a spec whose counts table has rows. */
void sql_counts_fill_dim(struct buf *sql, const struct spec *s, const char *dim,
                         enum sql_dialect d);
/* PostgreSQL: fold the count changes appended since into the counts (one
 * statement; a reader sums both, so it sees the same before and after). */
void sql_counts_fold(struct buf *sql, const struct spec *s);
/* The table of the namespace tree (model/namespace.c), which every row write
 * checks: a row is written only while its namespace exists. */
#define SQL_NAMESPACE_TABLE "namespaces"
/* Row writes: columns in spec_column order, then doc (update: then the ID), then
 * the object's namespace. Both write nothing (no error) when that namespace
 * does not exist: the caller tests the number of changed rows. An insert
 * whose namespace the transaction knows to exist (`ns_known`: found in it,
 * under the write lock) is not guarded, and takes the namespace's ID instead
 * of its name for a bulk spec's nsid (nothing for another). */
void sql_insert(struct buf *sql, const struct spec *s, enum sql_dialect d, bool ns_known);
void sql_update(struct buf *sql, const struct spec *s, enum sql_dialect d);
void sql_delete(struct buf *sql, const struct spec *s, enum sql_dialect d);
void sql_delete_scope(struct buf *sql, const struct spec *s, const struct scope *sc,
                      enum sql_dialect d, struct arena *a, struct sqlparams *ps);
/* The IDs of the namespaces in the scope (those a subtree delete takes). */
void sql_select_namespace_ids(struct buf *sql, const struct scope *sc, enum sql_dialect d,
                              struct arena *a, struct sqlparams *ps);
/* Delete at most $2 rows of bulk spec `s` whose namespace ID is $1, the first
 * by row order (sql_side_purge_nsid takes the same rows' side rows). */
void sql_purge_nsid(struct buf *sql, const struct spec *s, enum sql_dialect d);
/* Add the namespace-ID column to a bulk spec's table made before it had one,
 * filled from the namespaces that exist. */
void sql_add_nsid(struct buf *sql, const struct spec *s, enum sql_dialect d);
/* DELETE of the objects created before the one parameter (ms). */
void sql_purge(struct buf *sql, const struct spec *s, enum sql_dialect d);
/* Schema. */
void sql_create_table(struct buf *sql, const struct spec *s, enum sql_dialect d);
void sql_add_column(struct buf *sql, const struct spec *s, const struct attr *at,
                    enum sql_dialect d);
void sql_create_indexes(struct buf *sql, const struct spec *s, enum sql_dialect d);

/* The side table of a queryable list attribute (attr_is_indexed_list; see
 * filter.h): one row (v, namespace, oid) per distinct element of an object's
 * list, written in the transaction that writes the object. SQLite only: the
 * PostgreSQL driver will index a text[] column with GIN instead. */
void sql_side_create(struct buf *sql, const struct spec *s, const struct attr *at,
                     enum sql_dialect d);
/* Fill it from every row's column (the start that creates it). */
void sql_side_fill(struct buf *sql, const struct spec *s, const struct attr *at,
                   enum sql_dialect d);
/* Insert the side rows of the object whose ID is $1, from its written row. */
/* One element ($1) of an object's list attribute, with its namespace ($2) and ID
 * ($3), into the side table (a repeated element is kept once). */
void sql_side_insert_one(struct buf *sql, const struct spec *s, const struct attr *at,
                         enum sql_dialect d);
/* Delete the side rows of the object whose ID is $1. */
void sql_side_delete(struct buf *sql, const struct spec *s, const struct attr *at,
                     enum sql_dialect d);
/* Delete the side rows of the objects in scope (before the objects go). */
void sql_side_delete_scope(struct buf *sql, const struct spec *s, const struct attr *at,
                           const struct scope *sc, enum sql_dialect d, struct arena *a,
                           struct sqlparams *ps);
/* Delete the side rows of the rows sql_purge_nsid($1, $2) deletes; run first. */
void sql_side_purge_nsid(struct buf *sql, const struct spec *s, const struct attr *at,
                         enum sql_dialect d);
/* Delete the side rows of the rows sql_purge($1) deletes; run first. */
void sql_side_purge(struct buf *sql, const struct spec *s, const struct attr *at,
                    enum sql_dialect d);

/* The substring index of a string attribute (attr_is_substring; see filter.h):
 * an FTS5 trigram table holding, under each row's rowid, the row's value when
 * it is not NULL, written in the transaction that writes the row. SQLite only:
 * the PostgreSQL driver will use a pg_trgm GIN index on the column instead. */
void sql_fts_create(struct buf *sql, const struct spec *s, const struct attr *at,
                    enum sql_dialect d);
/* Fill it from every row (the start that creates it). */
void sql_fts_fill(struct buf *sql, const struct spec *s, const struct attr *at,
                  enum sql_dialect d);
/* SELECT the rowid of the row whose ID is $1. */
void sql_rowid_by_id(struct buf *sql, const struct spec *s, enum sql_dialect d);
/* One row's entry (its rowid $1): drop_stale deletes it unless it holds the row's
 * value (a deleted row has none); has selects 1 when there is one; value selects
 * the row's value; insert adds the value $2 (INSERT ... SELECT into FTS5 cost 35
 * us per row instead of 7). An update that leaves the value alone writes nothing
 * to the index. */
void sql_fts_drop_stale(struct buf *sql, const struct spec *s, const struct attr *at,
                        enum sql_dialect d);
void sql_fts_value(struct buf *sql, const struct spec *s, const struct attr *at,
                   enum sql_dialect d);
void sql_fts_has(struct buf *sql, const struct spec *s, const struct attr *at,
                 enum sql_dialect d);
void sql_fts_insert(struct buf *sql, const struct spec *s, const struct attr *at,
                    enum sql_dialect d);
/* Delete the entries of the rows in scope (before the rows go). */
void sql_fts_delete_scope(struct buf *sql, const struct spec *s, const struct attr *at,
                          const struct scope *sc, enum sql_dialect d, struct arena *a,
                          struct sqlparams *ps);
/* Delete the entries of the rows sql_purge_nsid($1, $2) deletes; run first. */
void sql_fts_purge_nsid(struct buf *sql, const struct spec *s, const struct attr *at,
                        enum sql_dialect d);
/* How many entries hold the phrase $1 (filter_fts_phrase), counting to $2 at
 * most: its candidates in every namespace. */
void sql_fts_probe(struct buf *sql, const struct spec *s, const struct attr *at,
                   enum sql_dialect d);
/* Delete the entries of the rows sql_purge($1) deletes; run first. */
void sql_fts_purge(struct buf *sql, const struct spec *s, const struct attr *at,
                   enum sql_dialect d);

#endif
