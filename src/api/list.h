/* list.h - list parameters (paging, order, recursive, q) into a store query. */
#ifndef KW_LIST_H
#define KW_LIST_H

#include "../store/store.h"
#include "req.h"

/* Parse the list parameters of r into q (E_BADREQ naming the parameter). When a
 * cursor page is asked for (limit), q->limit is one more than the page so that
 * list_next_cursor can tell whether another page follows. */
int list_query(struct req *r, const struct spec *s, struct listq *q, struct errbuf *eb);
/* page/pageSize (pagesize) or limit/after of the request into q->limit and
 * q->offset (and q->after); the default page is page_size_default, at most
 * page_size_max. */
int list_paging(struct req *r, struct listq *q, struct errbuf *eb);
/* Read only the columns the answer shows (`names`, n of them: X-Fields or a
 * CSV's columns) when every one is a column: q->project, in r's arena. Lists
 * then never decode whole documents. Anything else keeps whole documents. */
void list_project(struct req *r, const struct spec *s, struct listq *q, const struct str *names,
                  size_t n);
/* Drop the look-ahead row and set r->next (X-Next) when another page follows. */
void list_next_cursor(struct req *r, const struct listq *q, struct val *items);

#endif
