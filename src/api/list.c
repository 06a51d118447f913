/* list.c - page/pageSize, limit/after, order, recursive and q (API.md 6). */
#include "list.h"

#include "../core/config.h"
#include "../core/rnd.h"
#include "../core/timeutil.h"
#include "router.h"

#define MAX_ORDER 8
#define MAX_Q     16
#define MAX_TERMS 256 /* comparisons in all q together (64 in one) */

static int
int_param(const struct req *r, const char *k, int64_t min, int64_t max, int64_t *out,
          bool *present, struct errbuf *eb)
{
    struct str v;

    if (req_param_once(r, k, &v, eb) != E_OK)
        return E_BADREQ;
    *present = v.p != NULL;
    if (!*present)
        return E_OK;
    if (str_to_i64(v, out) != E_OK || *out < min || *out > max)
        return errbuf_attr(eb, E_BADREQ, k,
                           "Query parameter '%s' must be an integer from "
                           "%lld to %lld",
                           k, (long long)min, (long long)max);
    return E_OK;
}

int
list_paging(struct req *r, struct listq *q, struct errbuf *eb)
{
    int64_t page = 1, limit = 0;
    int64_t size =
        cfg.page_size_default < cfg.page_size_max ? cfg.page_size_default : cfg.page_size_max;
    bool has_page, has_size, has_size2, has_limit;
    int  rc;

    if ((rc = int_param(r, "page", 1, INT32_MAX, &page, &has_page, eb)) != E_OK ||
        (rc = int_param(r, "pageSize", 0, cfg.page_size_max, &size, &has_size, eb)) != E_OK ||
        (rc = int_param(r, "pagesize", 0, cfg.page_size_max, &size, &has_size2, eb)) != E_OK ||
        (rc = int_param(r, "limit", 1, cfg.page_size_max, &limit, &has_limit, eb)) != E_OK)
        return rc;
    q->after = req_param(r, "after");
    if (has_size && has_size2)
        return errbuf_attr(eb, E_BADREQ, "pagesize", "Use pageSize or pagesize, not both");
    if (has_limit && (has_page || has_size || has_size2))
        return errbuf_attr(eb, E_BADREQ, "limit",
                           "Use either page and pageSize or limit and after");
    if (q->after.p != NULL && !has_limit)
        return errbuf_attr(eb, E_BADREQ, "after", "Query parameter 'after' needs 'limit'");
    if (q->after.p != NULL && !id_valid(q->after))
        return errbuf_attr(eb, E_BADREQ, "after",
                           "Query parameter 'after' must be an object ID");
    if (has_limit) {
        q->limit = limit + 1; /* one more: is there a next page? */
        q->offset = 0;
    } else {
        /* pageSize=0 is "everything", up to page_size_max like any page: one
         * request must not make the server encode an unbounded answer. */
        if (size == 0)
            size = cfg.page_size_max;
        if (page - 1 > INT64_MAX / size)
            return errbuf_attr(eb, E_BADREQ, "page", "Query parameter 'page' is too large");
        q->limit = size;
        q->offset = (page - 1) * size;
    }
    return E_OK;
}

static int
ordering(struct req *r, const struct spec *s, struct listq *q, struct errbuf *eb)
{
    struct order_key *keys = arena_calloc(r->a, MAX_ORDER, sizeof *keys);
    size_t            n = 0;

    for (size_t i = 0; i < r->nparams; i++) {
        if (!str_eq_c(r->params[i].k, "order"))
            continue;
        struct str v = r->params[i].v;
        bool       desc = v.len > 0 && v.p[0] == '-';
        if (desc)
            v.p++, v.len--;
        const struct attr *at = spec_attr(s, v);
        if (at == NULL || !(at->flags & A_ORDER))
            return errbuf_attr(eb, E_BADREQ, "order", "Cannot order by '%.*s'",
                               STR_FMT(r->params[i].v));
        if (n == MAX_ORDER)
            return errbuf_attr(eb, E_BADREQ, "order", "At most %d order parameters", MAX_ORDER);
        keys[n++] = (struct order_key){ at, desc };
    }
    if (n == 0 && s->default_order != NULL)
        keys[n++] = (struct order_key){ spec_attr(s, str_c(s->default_order)), false };
    q->order = keys;
    q->norder = n;
    return E_OK;
}

/* Several q parameters are OR-ed. */
static int
filters(struct req *r, const struct spec *s, struct listq *q, struct errbuf *eb)
{
    struct fnode *all = NULL;
    size_t        n = 0, terms = 0;
    int64_t       now = time_now_ms();

    for (size_t i = 0; i < r->nparams; i++) {
        struct fnode *f;
        if (!str_eq_c(r->params[i].k, "q"))
            continue;
        if (++n > MAX_Q)
            return errbuf_attr(eb, E_BADREQ, "q", "At most %d q parameters", MAX_Q);
        int rc = filter_parse(r->a, r->params[i].v, now, &f, eb);
        if (rc == E_OK && (terms += filter_terms(f)) > MAX_TERMS)
            rc = errbuf_set(eb, E_BADREQ,
                            "invalid filter: more than %d comparisons in all q parameters "
                            "together",
                            MAX_TERMS);
        if (rc == E_OK)
            rc = filter_rewrite(r->a, &f, s, now, eb);
        if (rc != E_OK) {
            errbuf_attr_default(eb, "q");
            return rc;
        }
        all = all == NULL ? f : filter_bool(r->a, F_OR, all, f);
    }
    q->filter = all;
    return E_OK;
}

/* The children of one object: the filters AND-ed with "<link_attr> == id". */
static void
link_filter(struct req *r, struct listq *q)
{
    struct fnode *eq;

    if (r->route.link_attr == NULL)
        return;
    eq = filter_cmp(r->a, r->route.link_attr, F_EQ,
                    (struct fval){ .t = FV_STR, .s = r->route.link_id });
    q->filter =
        q->filter == NULL ? eq : filter_bool(r->a, F_AND, eq, (struct fnode *)q->filter);
}

int
list_query(struct req *r, const struct spec *s, struct listq *q, struct errbuf *eb)
{
    int rc;

    memset(q, 0, sizeof *q);
    q->scope.ns = r->ns;
    if ((rc = req_param_bool(r, "recursive", &q->scope.recursive, eb)) != E_OK ||
        (rc = list_paging(r, q, eb)) != E_OK || (rc = ordering(r, s, q, eb)) != E_OK ||
        (rc = filters(r, s, q, eb)) != E_OK)
        return rc;
    link_filter(r, q);
    return E_OK;
}

void
list_next_cursor(struct req *r, const struct listq *q, struct val *items)
{
    if (req_param(r, "limit").p == NULL || items->a.n < (size_t)q->limit)
        return;
    items->a.n--; /* the look-ahead row */
    struct val *id = val_get(&items->a.v[items->a.n - 1], "ID");
    if (id != NULL && id->t == V_STR)
        r->next = id->s;
}

/* Add `at` to the projection unless it is there. */
static void
project_add(const struct attr **v, size_t *n, size_t cap, const struct attr *at)
{
    for (size_t i = 0; i < *n; i++)
        if (v[i] == at)
            return;
    if (*n < cap)
        v[(*n)++] = at;
}

/* A computed attribute's inputs; false when one is no column. */
static bool
project_needs(const struct spec *s, const struct attr *at, const struct attr **v, size_t *n,
              size_t cap)
{
    struct str rest = str_c(at->needs != NULL ? at->needs : ""), name;

    while (rest.len > 0) {
        rest = str_cut(rest, ',', &name);
        const struct attr *need = spec_attr(s, name);
        if (need == NULL || !attr_is_column(need))
            return false;
        project_add(v, n, cap, need);
        if (rest.p == NULL)
            break;
    }
    return true;
}

void
list_project(struct req *r, const struct spec *s, struct listq *q, const struct str *names,
             size_t n)
{
    size_t              cap = 2 * n + 8, k = 0;
    const struct attr **v = arena_calloc(r->a, cap, sizeof *v);

    project_add(v, &k, cap, spec_attr(s, str_c("ID"))); /* X-Next */
    for (size_t i = 0; i < n; i++) {
        const struct attr *at = spec_attr(s, names[i]);
        if (at == NULL || (at->flags & A_WRITEONLY))
            continue; /* never shown: nothing to read */
        if (!attr_is_column(at) || k + 1 >= cap)
            return;
        project_add(v, &k, cap, at);
        if ((at->flags & A_COMPUTED) && !project_needs(s, at, v, &k, cap))
            return;
    }
    q->project = v;
    q->nproject = k;
}
