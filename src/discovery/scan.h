/* scan.h - the TLS scanner of discovery: many address-and-port pairs at once,
 * each a TCP connect and a TLS client handshake, to record what the servers
 * present (their chain, the version and the cipher suite).
 *
 * Design. One loop on the caller's thread drives every pair with epoll: a
 * non-blocking connect (EINPROGRESS, then EPOLLOUT and SO_ERROR), then a
 * non-blocking OpenSSL client handshake (SSL_ERROR_WANT_READ/WRITE; the
 * socket is registered once, edge-triggered for both directions, so a pair
 * costs one epoll_ctl). Nothing in the loop blocks. Pairs live in a slot
 * array of `concurrency` entries allocated once; every pair of a scan has the
 * same timeout and pairs start in order, so the pairs in flight form one list
 * ordered by deadline (oldest first): expiring is looking at its head, and
 * epoll_wait sleeps until the nearest deadline, at most 100 ms, so that
 * `canceled` is asked often enough. New pairs are started after each batch of
 * events, so an event never reaches a slot that was reused meanwhile.
 *
 * What counts as what: connect() or SO_ERROR saying ECONNREFUSED is
 * SCAN_REFUSED; EHOSTUNREACH, ENETUNREACH and the other routing errors (also
 * an address family the host lacks) are SCAN_UNREACHABLE; the deadline passing
 * is SCAN_TIMEOUT, in either phase ("timed out connecting", "timed out in the
 * TLS handshake"); a handshake that fails after the connect (an alert, bytes
 * that are not TLS, a reset, the peer closing) is SCAN_HANDSHAKE with
 * OpenSSL's reason or "connection reset/closed during the handshake"; a local
 * failure for one pair (no memory, no socket) is SCAN_ERROR.
 *
 * The TLS side: one SSL_CTX per scan, TLS 1.0 to 1.3, security level 0 and the
 * cipher list "ALL:@SECLEVEL=0" (old servers and weak keys must still answer),
 * SSL_OP_LEGACY_SERVER_CONNECT (OpenSSL 3 otherwise refuses servers without
 * RFC 5746), no verification at all (SSL_VERIFY_NONE and a certificate
 * verification callback that accepts: validation is done elsewhere, on what is
 * recorded), no session cache and no tickets. SNI is sent when a target names
 * a server.
 *
 * Closing: after a completed handshake the chain is copied out and the
 * connection is reset (SO_LINGER {1, 0}, no close_notify): a TLS 1.3 server's
 * tickets are usually unread by then, so close() would send a RST anyway, and
 * the abortive close leaves no TIME_WAIT behind, which at thousands of pairs
 * per second to one server would use up the local ports.
 *
 * Limits: the first scan of the process raises the soft RLIMIT_NOFILE to the
 * hard limit (the process uses epoll, not select(), so descriptors above 1024
 * are safe); all scans together hold at most that limit less twice
 * max_connections (at least 2,048 left for the API, the store and webhooks),
 * a pair finding that budget spent waiting as after EMFILE. EMFILE or ENFILE from socket()
 * lowers the number of pairs in flight to what is open and retries the same target when one
 * ends (or every 10 ms when none is in flight); after a second without EMFILE the full
 * concurrency is tried again. A target that cannot get a socket for a whole
 * timeout_ms is SCAN_ERROR "too many open files". SIGPIPE is blocked on the
 * scanning thread while scan_run runs (a write to a reset socket would
 * otherwise kill a process that does not ignore it), and one it raised is
 * consumed before returning.
 *
 * Thread safety: scan_run may run on several threads at once (each scan has
 * its own state); the callbacks are called on the calling thread only.
 */
#ifndef KW_SCAN_H
#define KW_SCAN_H

#include "../core/base.h"

#define SCAN_CONCURRENCY_MAX     65536
#define SCAN_CONCURRENCY_DEFAULT 1000
#define SCAN_TIMEOUT_DEFAULT     5000 /* ms */
#define SCAN_SNI_MAX             255  /* bytes of a server name (RFC 6066 HostName) */

/* One address-and-port pair to try, with the SNI name to send (NULL: none).
 * `addr` is IPv6 without a scope (link-local targets are not supported), IPv4
 * as IPv4-mapped IPv6. `sni` is copied when `next` returns, so it need only
 * live until then; at most SCAN_SNI_MAX bytes (a longer one is SCAN_ERROR),
 * an empty one is not sent. */
struct scan_target {
    unsigned char addr[16]; /* IPv4 as IPv4-mapped IPv6, as core/net.h */
    uint16_t      port;
    const char   *sni;  /* NUL-terminated, or NULL */
    void         *user; /* the caller's, handed back in the result */
};

enum scan_outcome {
    SCAN_TLS,         /* handshake completed: chain, version, cipher set */
    SCAN_REFUSED,     /* connection refused (RST) */
    SCAN_TIMEOUT,     /* no connect or no completed handshake within timeout_ms */
    SCAN_UNREACHABLE, /* EHOSTUNREACH/ENETUNREACH, etc. */
    SCAN_HANDSHAKE,   /* it answered but not with a TLS handshake we could complete
                         (not TLS, alert, reset during handshake) */
    SCAN_ERROR,       /* a local failure (socket, memory) */
};

/* What one pair gave. Everything it points to is valid only during the `done`
 * call that receives it.
 *
 * For SCAN_TLS: `tls_version` is SSL_get_version's ("TLSv1.3", "TLSv1.2",
 * "TLSv1.1", "TLSv1"), `cipher` the IANA/RFC name of the suite
 * (SSL_CIPHER_standard_name: "TLS_AES_256_GCM_SHA384",
 * "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"), der[i] and der_len[i] the DER of
 * each of the `nchain` certificates the server presented, leaf first (0 and
 * NULL for an anonymous suite), and `error` NULL. For the other outcomes
 * those are NULL and 0, and `error` is a short reason. `elapsed_ms` runs from
 * the socket's creation to the outcome (for a target that got no socket,
 * from when `next` gave it). */
struct scan_result {
    const struct scan_target   *target; /* a copy: its sni points to a copy too */
    enum scan_outcome           outcome;
    const char                 *tls_version;
    const char                 *cipher;
    size_t                      nchain;
    const unsigned char *const *der;
    const size_t               *der_len;
    const char                 *error;
    int64_t                     elapsed_ms;
};

/* The certificate list a scanned server may send, in bytes (OpenSSL's default
 * is 100 KiB): 32 of the largest CAs of Debian's bundle (2,007 bytes at most,
 * 48,816 for the 32 largest; at most 32 certificates of a chain are kept) and
 * a leaf of some 15 KB. A longer list fails the handshake at once. */
#define SCAN_CERT_LIST_MAX (64 * 1024)

/* What one handshake under way may hold at worst: OpenSSL grows its buffer to
 * the length a Certificate message announces before any of it arrives (to
 * 4/3 of it: BUF_MEM), and a server may announce SCAN_CERT_LIST_MAX and stay
 * silent; plus OpenSSL's own state of a handshake (measured: about 12 KiB). */
#define SCAN_HANDSHAKE_MEMORY (SCAN_CERT_LIST_MAX * 4 / 3 + 16 * 1024)

struct scan_opts {
    unsigned concurrency;    /* handshakes in flight at most (1..65536; 0: 1000) */
    int64_t  timeout_ms;     /* connect plus handshake, per pair (0: 5000) */
    uint32_t handshakes_max; /* under way at once, for memory (0: no such cap); the
                                pairs connected beyond it wait for their turn */
};

/* Scan until `next` has no more targets and every pair in flight ended, or
 * until `canceled` (may be NULL) says stop; it is asked at least every 100 ms,
 * and more often when busy, so it must be cheap (an atomic load). Pairs in
 * flight are then abandoned without a result.
 *
 * `next` fills *t and returns true, or returns false when there are no more;
 * once it returned false it is not called again. It is called only when a
 * slot is free, so the caller's targets are read as the scan progresses.
 * `done` is called exactly once per target `next` gave (unless canceled, or
 * the scan stops on an error), on this thread, with memory valid only during the call; it must
 * not call scan_run on the same thread. `o` may be NULL (the defaults).
 *
 * Returns E_OK (also when canceled), E_BADREQ for options out of range, or
 * E_INTERNAL for a local failure that stopped the whole scan (epoll, SSL_CTX,
 * memory for the slots); `eb` (may be NULL) says which. */
int scan_run(const struct scan_opts *o, bool (*next)(void *arg, struct scan_target *t),
             void (*done)(void *arg, const struct scan_result *r), bool (*canceled)(void *arg),
             void *arg, struct errbuf *eb);

/* A constant name for an outcome: "TLS", "REFUSED", "TIMEOUT", "UNREACHABLE",
 * "HANDSHAKE", "ERROR". */
const char *scan_outcome_name(enum scan_outcome o);

#endif
