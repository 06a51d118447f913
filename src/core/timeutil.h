/* timeutil.h - wall-clock milliseconds, RFC 3339, Go durations. */
#ifndef KW_TIMEUTIL_H
#define KW_TIMEUTIL_H

#include "base.h"

#define TIME_RFC3339_LEN 24 /* 2019-06-17T20:31:24.681Z */
#define TIME_HTTP_LEN    29 /* Mon, 17 Jun 2019 20:31:24 GMT */

/* Milliseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t time_now_ms(void);
/* Monotonic milliseconds, for time-outs and cache ages. */
int64_t time_mono_ms(void);
/* Writes "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC) plus NUL into out[25]. */
void time_format(int64_t ms, char out[TIME_RFC3339_LEN + 1]);
/* Writes an HTTP date (RFC 9110 5.6.7 IMF-fixdate: "Mon, 17 Jun 2019 20:31:24
 * GMT", the milliseconds dropped, English whatever the locale) plus NUL into
 * out[30]; years are clamped to 0000..9999 as time_format's. */
void time_format_http(int64_t ms, char out[TIME_HTTP_LEN + 1]);
/* RFC 3339 date-time ("2026-01-02T03:04:05Z", optional fraction, 'Z' or +hh:mm
 * offset) or a bare date ("2026-01-02", midnight UTC). E_BADREQ if malformed. */
int time_parse(struct str s, int64_t *ms);
/* time_parse, and E_BADREQ for a time finer than the millisecond that is
 * stored ("...14.0004Z"): compared as its millisecond, it would answer <, ==
 * and != wrongly (filters). */
int time_parse_ms(struct str s, int64_t *ms);
/* Go duration: "90s", "1h30m", "-720h", "1.5h", "300ms", "0"; units ns us µs ms
 * s m h. Result in milliseconds (sub-millisecond parts truncated). E_BADREQ if
 * malformed or out of range. */
int duration_parse(struct str s, int64_t *ms);
/* Shortest Go-style rendering of a whole number of ms: "24h0m0s" is rendered
 * "24h", "90s" as "1m30s". out must hold 32 bytes. */
void duration_format(int64_t ms, char out[32]);

#endif
