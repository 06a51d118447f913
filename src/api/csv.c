/* csv.c - text/csv answers of list endpoints (csv.h). */
#include "csv.h"

#include <stdlib.h>

#include "../core/arena.h"
#include "../core/codec.h"
#include "../core/log.h"
#include "../model/validate.h"

/* Text a spreadsheet would evaluate: OWASP's list ('=', '+', '-', '@') plus
 * TAB and CR, which some programs strip before looking. */
static bool
formula_like(struct str t)
{
    return t.len > 0 && strchr("=+-@\t\r", t.p[0]) != NULL;
}

/* RFC 4180's quoting, also for the separators spreadsheets use in other
 * locales (';', TAB): split there, a cell's text after one would be a cell of
 * its own that the formula guard never saw ("safe;=1+1": a review). */
static bool
needs_quotes(struct str t)
{
    for (size_t i = 0; i < t.len; i++)
        if (strchr("\",\r\n;\t", t.p[i]) != NULL && t.p[i] != '\0')
            return true;
    return false;
}

/* The cell's text before quoting; *text says whether it came from strings
 * (which the formula guard looks at) rather than numbers, booleans or JSON. */
static int
cell_text(struct buf *t, const struct val *v, bool *text)
{
    int rc = E_OK;

    *text = false;
    if (v == NULL)
        return E_OK;
    switch (v->t) {
    case V_NULL:
        return E_OK;
    case V_BOOL:
        return buf_puts(t, v->b ? "true" : "false");
    case V_STR:
        *text = true;
        return buf_append(t, v->s.p, v->s.len);
    case V_ARR:
        *text = true;
        for (size_t i = 0; i < v->a.n && rc == E_OK; i++) {
            const struct val *e = &v->a.v[i];
            if (i > 0)
                rc = buf_putc(t, ';');
            if (rc == E_OK && e->t == V_STR && formula_like(e->s))
                rc = buf_putc(t, '\''); /* each element is guarded, as a cell is */
            if (rc == E_OK && e->t == V_STR)
                rc = buf_append(t, e->s.p, e->s.len);
            else if (rc == E_OK && e->t != V_NULL)
                rc = json_encode(e, t);
        }
        return rc;
    default: /* numbers as JSON writes them; maps as JSON text */
        return json_encode(v, t);
    }
}

static int
put_text(struct buf *out, struct str t, bool guard)
{
    bool quote = needs_quotes(t);
    int  rc = E_OK;

    if (quote)
        rc = buf_putc(out, '"');
    if (rc == E_OK && guard && formula_like(t))
        rc = buf_putc(out, '\'');
    for (size_t i = 0, from = 0; rc == E_OK && i <= t.len; i++)
        if (i == t.len || (quote && t.p[i] == '"')) {
            rc = buf_append(out, t.p + from, i - from + (i < t.len)); /* '"' twice */
            if (rc == E_OK && i < t.len)
                rc = buf_putc(out, '"');
            from = i + 1;
        }
    if (rc == E_OK && quote)
        rc = buf_putc(out, '"');
    return rc;
}

int
csv_cell(struct buf *out, const struct val *v)
{
    struct buf t;
    bool       text;
    int        rc;

    if (v != NULL && v->t == V_STR) /* the common case, without a copy */
        return put_text(out, v->s, true);
    buf_init(&t, out->max);
    rc = cell_text(&t, v, &text);
    if (rc == E_OK)
        rc = put_text(out, buf_str(&t), text);
    buf_free(&t);
    return rc;
}

int
csv_row(struct buf *out, const struct val *obj, const struct str *cols, size_t ncols)
{
    size_t start = out->len;
    int    rc = E_OK;

    for (size_t i = 0; i < ncols && rc == E_OK; i++) {
        if (i > 0)
            rc = buf_putc(out, ',');
        if (rc == E_OK)
            rc = csv_cell(out, obj->t == V_MAP ? val_get_s(obj, cols[i]) : NULL);
    }
    /* One empty cell would make an empty line, which readers skip: quote it
     * (as Python's csv writer does). */
    if (rc == E_OK && ncols == 1 && out->len == start)
        rc = buf_puts(out, "\"\"");
    return rc == E_OK ? buf_puts(out, "\r\n") : rc;
}

int
csv_header(struct buf *out, const struct str *cols, size_t ncols)
{
    int rc = E_OK;

    for (size_t i = 0; i < ncols && rc == E_OK; i++) {
        if (i > 0)
            rc = buf_putc(out, ',');
        if (rc == E_OK)
            rc = put_text(out, cols[i], true);
    }
    return rc == E_OK ? buf_puts(out, "\r\n") : rc;
}

void
csv_columns(struct req *r, const struct spec *s, const struct str **cols, size_t *ncols)
{
    static const char *const fallback[] = { "ID",         "name",       "namespace",
                                            "createTime", "updateTime", NULL };
    const char *const       *names = s->csv_columns != NULL ? s->csv_columns : fallback;
    struct str              *v;
    size_t                   n = 0;

    if (r->nfields > 0) {
        *cols = r->fields;
        *ncols = r->nfields;
        return;
    }
    for (const char *const *p = names; *p != NULL; p++)
        n++;
    v = arena_calloc(r->a, n, sizeof *v);
    n = 0;
    for (const char *const *p = names; *p != NULL; p++)
        if (names != fallback || spec_attr(s, str_c(*p)) != NULL)
            v[n++] = str_c(*p);
    *cols = v;
    *ncols = n;
}

int
csv_reply(struct req *r, const struct spec *s, const struct val *items, struct errbuf *eb)
{
    const struct str *cols;
    size_t            ncols;
    int               rc;

    csv_columns(r, s, &cols, &ncols);
    buf_init(&r->reply, SIZE_MAX / 2);
    rc = csv_header(&r->reply, cols, ncols);
    for (size_t i = 0; i < items->a.n && rc == E_OK; i++)
        rc = csv_row(&r->reply, &items->a.v[i], cols, ncols);
    if (rc != E_OK)
        return errbuf_set(eb, E_INTERNAL, "cannot write the CSV answer");
    r->status = 200;
    r->raw_reply = true;
    r->reply_type = CSV_TYPE;
    return E_OK;
}

/* ---- streamed -------------------------------------------------------------- */

struct csv_out {
    const struct spec   *s;
    struct store_cursor *cur;
    struct arena        *rows; /* one piece's rows, dropped at the next piece */
    const struct str    *cols;
    size_t               ncols;
    bool                 header_done;
};

static int
csv_produce(struct req *r, struct buf *out)
{
    struct csv_out *o = r->stream_arg;
    size_t          start = out->len;

    arena_reset(o->rows);
    if (!o->header_done) {
        o->header_done = true;
        if (csv_header(out, o->cols, o->ncols) != E_OK)
            return -1;
    }
    while (out->len - start < STREAM_PIECE) {
        struct val obj;
        int        rc = kw_store->ops->cursor_next(o->cur, o->rows, &obj);

        if (rc <= 0) {
            if (rc < 0)
                log_error("trace=%s: the CSV export stopped: store error %d", r->trace, -rc);
            return rc;
        }
        object_present(o->rows, o->s, &obj);
        if (csv_row(out, &obj, o->cols, o->ncols) != E_OK)
            return -1;
    }
    return 1;
}

static void
csv_end(struct req *r)
{
    struct csv_out *o = r->stream_arg;

    if (o == NULL)
        return;
    kw_store->ops->cursor_close(o->cur);
    arena_free(o->rows);
    r->stream_arg = NULL;
}

int
csv_stream(struct req *r, const struct spec *s, const struct listq *q, struct errbuf *eb)
{
    struct csv_out *o = arena_calloc(r->a, 1, sizeof *o);
    int64_t         total = -1;
    int             rc;

    rc = kw_store->ops->cursor_open(kw_store, s, q, r->a, &o->cur, &total, eb);
    if (rc != E_OK)
        return rc;
    o->s = s;
    o->rows = arena_new(STREAM_PIECE);
    csv_columns(r, s, &o->cols, &o->ncols);
    r->count_total = q->want_total ? total : -1;
    r->status = 200;
    r->raw_reply = true;
    r->reply_type = CSV_TYPE;
    r->stream_arg = o;
    r->stream = csv_produce;
    r->stream_end = csv_end;
    return E_OK;
}
