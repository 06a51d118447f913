/* filter.h - the q= filter language (API.md section 6), parsed to a tree and
 * compiled to a SQL boolean expression with bound parameters.
 *
 *   expr    := and ('or' and)*
 *   and     := unary ('and' unary)*
 *   unary   := '(' expr ')' | cmp
 *   cmp     := field op value | field 'exists' | field 'not' 'exists'
 *   op      := == != < <= > >= contains | not contains | in | not in | matches
 *   value   := "string" | 'string' | number | true | false | [value, ...]
 *            | date("2026-01-02" or RFC 3339) | now("-720h")  (Go duration offset)
 *
 * Keywords are case-insensitive; field names are [A-Za-z_][A-Za-z0-9_.]*; strings
 * support \" \' \\ escapes. Limits: 4 KiB of text, 64 comparisons, 16 levels of
 * parentheses, 256 list items. Values are never spliced into SQL: each becomes a
 * bound parameter. Field names are only accepted if the spec marks them A_QUERY
 * and are emitted as the spec's column identifier.
 */
#ifndef KW_FILTER_H
#define KW_FILTER_H

#include "../core/arena.h"
#include "../core/buf.h"
#include "../model/spec.h"

enum fop {
    F_AND,
    F_OR, /* boolean nodes */
    F_EQ,
    F_NE,
    F_LT,
    F_LE,
    F_GT,
    F_GE, /* comparisons */
    F_CONTAINS,
    F_NOT_CONTAINS,
    F_IN,
    F_NOT_IN,
    F_MATCHES,
    F_EXISTS,
    F_NOT_EXISTS,
};

enum fvtype { FV_STR, FV_INT, FV_FLOAT, FV_BOOL, FV_TIME, FV_LIST, FV_NONE };

struct fval {
    enum fvtype  t;
    struct str   s;     /* FV_STR (unescaped, in arena) */
    int64_t      i;     /* FV_INT, FV_BOOL (0/1), FV_TIME (ms since epoch, UTC) */
    double       f;     /* FV_FLOAT */
    struct fval *items; /* FV_LIST */
    size_t       n;
};

struct fnode {
    enum fop      op;
    struct fnode *l, *r; /* F_AND, F_OR */
    struct str    field; /* comparisons */
    struct fval   v;
    bool          trusted; /* written by the server (filter_rewrite), not parsed:
                              may name any column, A_INTERNAL ones included */
    bool scan;             /* set by a store that found the value of this contains
                              too common for its substring index: it is answered
                              by testing the rows (filter_substring_indexed) */
    bool few;              /* set by a rewrite on a branch of rows a background job
                              soon moves out of it (stored states the monitoring
                              sweep has not caught up with): a page sorts them rather
                              than walking an index in its order (sql_select) */
};

/* Parse `q` into a tree in arena `a`. `now_ms` anchors now(). E_BADREQ with a
 * message naming the position on syntax errors. */
int filter_parse(struct arena *a, struct str q, int64_t now_ms, struct fnode **out,
                 struct errbuf *eb);

/* Replace every comparison on an A_COMPUTED attribute of `s` by the spec's
 * rewrite of it at `now_ms` (spec_hooks.rewrite), in place. E_BADREQ when the
 * spec cannot answer the comparison. */
int filter_rewrite(struct arena *a, struct fnode **f, const struct spec *s, int64_t now_ms,
                   struct errbuf *eb);

/* Whether the `matches` pattern (as a filter holds it) matches string s, as the
 * store would run it (the pattern copied to `a`); false for a pattern the compiler refuses (too
 * complex, invalid). For rewrites that must know what a regex says of a value. */
bool filter_regex_matches(struct arena *a, struct str pattern, const char *s);

/* A comparison node the server writes (trusted), and a boolean node. */
struct fnode *filter_cmp(struct arena *a, const char *field, enum fop op, struct fval v);
struct fnode *filter_bool(struct arena *a, enum fop op, struct fnode *l, struct fnode *r);
/* The comparisons of f (its leaves). */
size_t filter_terms(const struct fnode *f);

/* A bound parameter for the compiled SQL. */
enum sqlp_type { SQLP_TEXT, SQLP_INT, SQLP_FLOAT };
struct sqlparam {
    enum sqlp_type t;
    struct str     s;
    int64_t        i;
    double         f;
};

struct sqlparams {
    struct sqlparam *v;
    size_t           n, cap;
};
void sqlparams_add(struct arena *a, struct sqlparams *ps, struct sqlparam p);

enum sql_dialect { SQL_SQLITE, SQL_POSTGRES };

/* Append to `sql` a parenthesised boolean expression equivalent to `f` against
 * the columns of spec `s`, pushing parameters to `ps` in order. In SQLite the
 * placeholders are '?', in PostgreSQL '$N' numbered from ps->n + 1.
 * Column mapping: each queryable attribute is the column named like the attribute
 * (quoted: "name"); T_TIME columns hold int64 ms; T_BOOL columns 0/1; T_STRLIST
 * columns hold a JSON array text (SQLite: json_each; PostgreSQL: jsonb).
 * Semantics: on a list column, ==/contains/in test membership of an element;
 * on a string column, contains is substring (case-sensitive), matches is a POSIX
 * regex (SQLite: the REGEXP function the store registers); exists = IS NOT NULL.
 * A field not A_QUERY, or a value of the wrong type for the field, is E_BADREQ
 * naming the field. */
int filter_compile(struct arena *a, const struct fnode *f, const struct spec *s,
                   enum sql_dialect d, struct buf *sql, struct sqlparams *ps,
                   struct errbuf *eb);

/* List attributes answered from side tables. A store keeps, for every T_STRLIST
 * attribute marked A_QUERY (attr_is_indexed_list), a table named
 * "<rest>__<attr>" (filter_side_table) with one row per distinct element:
 * oid (the object's ID), namespace (the object's), v (the element), indexed on
 * (v, namespace) and on oid. With `side`, such an attribute is compiled against
 * it instead of the JSON column, in SQLite:
 *   == "x", contains "x"        "ID" IN (SELECT oid FROM side WHERE v = ? <scope>)
 *   in [..], contains [..]      ... WHERE v IN (?, ...) ...
 *   !=, not contains, not in    "ID" NOT IN (the same)
 *   matches                     EXISTS (SELECT 1 FROM side WHERE oid = "ID" AND v REGEXP ?)
 *   exists / not exists         [NOT] EXISTS (SELECT 1 FROM side WHERE oid = "ID")
 * so an equality is an index lookup, not a scan of every document. `matches`
 * still costs one index probe and one regexec per element of every object the
 * rest of the query leaves (no index answers a regex). The outer query keeps its
 * own scope (and a bulk spec's live-namespace rule): the side rows only say
 * which IDs have the element. `scope`, when set, appends " AND <condition on
 * the column namespace>" (pushing its parameters to ps) so that the lookup
 * stays inside the read's namespaces. The results are those of filter_compile.
 * PostgreSQL keeps the jsonb forms of filter_compile (its driver will use a GIN
 * index on a text[] column instead of side tables), so `side` is ignored there.
 *
 * Substring indexes. A store also keeps, for every string attribute marked
 * A_QUERY and A_SUBSTRING (attr_is_substring), an FTS5 table with the trigram
 * tokenizer (case-sensitive) named "<rest>__<attr>_fts" (filter_fts_table): one
 * entry per row whose column is not NULL, the value, under the row's rowid. With
 * `side`, in SQLite, `contains "x"` on such an attribute with x of 3 characters or
 * more is
 *   "<rest>".rowid IN (SELECT rowid FROM fts WHERE fts MATCH ?) AND instr(col, ?) > 0
 * the first parameter being x as one quoted FTS5 phrase (every '"' doubled: its
 * AND, NEAR, *, ( are literal), the second x itself: the index finds the rows
 * holding x's trigrams in a row, instr() keeps the exact, case-sensitive semantics
 * of contains. The lookup reads every namespace's entries; the outer query keeps
 * its scope. Values of 1 or 2 characters (no trigram), a comparison the store
 * marked `scan`, `not contains`, `matches` and PostgreSQL (pg_trgm later) stay
 * scans with instr/strpos. */
struct filter_side {
    void (*scope)(void *ctx, struct buf *sql, struct sqlparams *ps);
    void *ctx;
};
int filter_compile_side(struct arena *a, const struct fnode *f, const struct spec *s,
                        enum sql_dialect d, const struct filter_side *side, struct buf *sql,
                        struct sqlparams *ps, struct errbuf *eb);
/* True when every row `f` accepts has an element found by a side-table lookup
 * (an ==, contains or non-empty in on a queryable list, or a contains a
 * substring index answers; AND-ed with anything, or OR-ed with another such):
 * the reader should then find the rows from those IDs rather than from its
 * namespace index (sql.c writes its scope as +"namespace", which SQLite's
 * planner does not use for an index; without statistics it would otherwise
 * scan the namespace and test each row against the lookup). */
bool filter_side_drives(const struct fnode *f, const struct spec *s);
/* The same for substring lookups alone (filter_substring_indexed): every row `f`
 * accepts is found by one, whatever else it names. The reader may then find the
 * rows by rowid from them only (sql.c writes the table NOT INDEXED). */
bool filter_fts_drives(const struct fnode *f, const struct spec *s);
/* The side table's quoted name: "<rest>__<attr>". */
void filter_side_table(struct buf *sql, const struct spec *s, const struct attr *at);
/* The substring index's quoted name: "<rest>__<attr>_fts". */
void filter_fts_table(struct buf *sql, const struct spec *s, const struct attr *at);
/* True when the comparison `cmp` is a contains that filter_compile_side answers
 * from a substring index: on an attr_is_substring attribute, with a value of 3
 * characters or more, not marked `scan`. */
bool filter_substring_indexed(const struct fnode *cmp, const struct spec *s);
/* `v` as one FTS5 phrase (in `a`): between double quotes, each '"' doubled. */
struct str filter_fts_phrase(struct arena *a, struct str v);

#endif
