/* csv.h - text/csv answers of list endpoints (API.md 7.3, docs/api-decisions.md).
 *
 * RFC 4180: a header row, then one row per object, cells separated by ',',
 * rows ended by CRLF. A cell is quoted when it holds '"', ',', CR or LF (its
 * quotes doubled). Strings are written as they are; lists are their elements
 * joined with ';'; maps (and nested lists) as compact JSON; booleans true or
 * false; numbers as JSON writes them; absent and null values as an empty
 * cell. A cell made from text that a spreadsheet would run as a formula
 * (first character '=', '+', '-', '@', TAB or CR) gets a leading "'".
 */
#ifndef KW_CSV_H
#define KW_CSV_H

#include "../store/store.h"
#include "req.h"

/* The Content-Type of a CSV answer (RFC 4180, UTF-8), HEAD included. */
#define CSV_TYPE "text/csv; charset=UTF-8"

/* Append one cell for `v` (NULL: absent) to `out`. E_TOOBIG when out is full.
 * Pure: no state, any thread. */
int csv_cell(struct buf *out, const struct val *v);
/* Append a row: the cells of obj's `cols` (absent ones empty), then CRLF; a
 * row of one empty cell is written "" so that it is no empty line. */
int csv_row(struct buf *out, const struct val *obj, const struct str *cols, size_t ncols);
/* Append the header row: the column names, quoted as cells are. */
int csv_header(struct buf *out, const struct str *cols, size_t ncols);

/* The columns of a CSV answer of `s`: X-Fields when given, else the spec's
 * csv_columns, else ID, name (when the spec has one), namespace, createTime,
 * updateTime. In r's arena. */
void csv_columns(struct req *r, const struct spec *s, const struct str **cols, size_t *ncols);
/* Answer `items` (objects already presented) as a whole CSV body (a bounded
 * page, a static list): raw_reply. */
int csv_reply(struct req *r, const struct spec *s, const struct val *items, struct errbuf *eb);
/* Answer the matches of q as a CSV body streamed from a store cursor (the HTTP
 * layer pulls it piece by piece; rows are presented as they are read). Sets
 * status, reply_type, count_total (when q->want_total) and the stream. */
int csv_stream(struct req *r, const struct spec *s, const struct listq *q, struct errbuf *eb);

#endif
