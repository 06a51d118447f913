/* sql_local.h - what sql.c and sql_counts.c share; not for the drivers. */
#ifndef KW_SQL_LOCAL_H
#define KW_SQL_LOCAL_H

#include "sql.h"

/* "name", double-quoted (a spec's identifier, never a value). */
void sql_ident(struct buf *b, const char *name);
/* A bound value and its placeholder. */
void sql_param_text(struct buf *b, enum sql_dialect d, struct arena *a, struct sqlparams *ps,
                    struct str s);
void sql_param_int(struct buf *b, enum sql_dialect d, struct arena *a, struct sqlparams *ps,
                   int64_t i);
/* The rows of a bulk spec whose namespace is live and in `sc` (NULL: any). */
void sql_live_cond(struct buf *b, const struct scope *sc, bool unindexed, enum sql_dialect d,
                   struct arena *a, struct sqlparams *ps);
/* " WHERE <scope> AND <filter>" of a list query, and the table it reads. */
int  sql_where(struct buf *sql, const struct spec *s, const struct listq *q, enum sql_dialect d,
               struct arena *a, struct sqlparams *ps, struct errbuf *eb);
void sql_read_table(struct buf *sql, const struct spec *s, const struct fnode *f,
                    enum sql_dialect d);
/* The objects an aggregate part counts: the query's filter and the part's. */
const struct fnode *sql_agg_filter(struct arena *a, const struct fnode *filter,
                                   const struct fnode *extra);
/* An aggregate part counted from the rows (sql_aggregate without the counts). */
int sql_aggregate_rows(struct buf *sql, const struct spec *s, const struct scope *sc,
                       const struct fnode *filter, const struct agg_part *part,
                       enum sql_dialect d, struct arena *a, struct sqlparams *ps,
                       struct errbuf *eb);
/* A filter as an OR of branches no row is in two of (each holds `field ==` a
 * different value of one string column of `s`): their number (at most
 * SQL_MAX_BRANCHES) into `out`, 0 when it is not one. */
#define SQL_MAX_BRANCHES 16
size_t sql_disjoint_branches(const struct fnode *f, const struct spec *s,
                             const struct fnode **out);
/* The count of a list query's matches from the counted day buckets (sql_counts.c):
 * false, nothing written, when they cannot answer it. */
bool sql_count_buckets(struct buf *sql, const struct spec *s, const struct listq *q,
                       enum sql_dialect d, struct arena *a, struct sqlparams *ps,
                       struct errbuf *eb, int *rc);

#endif
