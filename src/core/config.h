/* config.h - every tunable in one table (name, type, default, bounds), as redis
 * does. Values come from defaults, then the config file (`key = value` lines,
 * '#' comments), then command-line options. Read-only after start-up. */
#ifndef KW_CONFIG_H
#define KW_CONFIG_H

#include "base.h"

struct config {
    char listen[256]; /* ADDR:PORT */
    char data_dir[1024];
    char store[1100];       /* sqlite:PATH */
    char public_url[512];   /* issuer of tokens; default https://<listen> */
    char pki_listen[256];   /* ADDR:PORT of the plain-HTTP listener of the public PKI
                               routes (API.md 7.4); "": none */
    char    pki_url[512];   /* their base URL in issued certificates: cfg_pki_base() */
    char    tls_cert[1024]; /* the operator's own certificate chain (PEM); "": the console's */
    char    tls_key[1024];  /* its key (PEM); set with tls_cert or not at all */
    char    sync[8];        /* "full": commits survive power loss; "normal": crashes */
    int64_t threads;        /* HTTP worker threads (0 = number of cores) */
    int64_t max_connections;
    int64_t max_connections_per_address; /* 0: no limit per client address */
    int64_t connection_timeout;          /* ms; an idle keep-alive connection is closed */
    int64_t header_timeout;          /* ms; the TLS handshake and a request's head must arrive
                                        within it */
    int64_t body_min_rate;           /* bytes/s a body must keep up, after header_timeout */
    int64_t max_url_size;            /* bytes of the request target (414 past it) */
    int64_t max_body_size;           /* bytes */
    int64_t min_free_space;          /* bytes free for a SQLite store, else /health 503 */
    int64_t max_anonymous_body_size; /* bytes of a body without a valid token */
    int64_t max_header_size;         /* bytes for the request line and all headers */
    int64_t max_depth;               /* nesting of a JSON/MessagePack body */
    int64_t page_size_default;
    int64_t page_size_max;
    int64_t token_max_validity;   /* ms */
    int64_t signing_key_rotation; /* ms, 0: never */
    int64_t token_cache_entries;
    int64_t idempotency_ttl;                  /* ms */
    int64_t audit_retention;                  /* ms */
    int64_t log_level;                        /* enum log_level */
    int64_t login_failures_max;               /* per account; 0: no limit */
    int64_t login_failures_per_address_max;   /* per client address; 0: no limit */
    int64_t login_failure_window;             /* ms; the failure buckets drain max per window */
    int64_t login_lockout;                    /* ms */
    int64_t max_concurrent_hashes;            /* Argon2id computations at once */
    int64_t monitor_interval;                 /* ms between certificate monitoring sweeps */
    int64_t max_import_size;                  /* bytes: POST /certificateimports bodies */
    int64_t expire_interval;                  /* ms between expiry and audit retention sweeps */
    int64_t job_workers;                      /* background job threads */
    int64_t job_lease;                        /* ms a job's claim lasts unless renewed */
    int64_t job_retention;                    /* ms finished background jobs are kept */
    char    webhook_allowed_networks[1024];   /* CIDRs deliveries may connect to; "":
                                                 every address but link-local */
    int64_t webhook_retry_delay;              /* ms before the first retry, then doubled */
    int64_t webhook_max_attempts;             /* attempts before a delivery is FAILED */
    int64_t webhook_timeout;                  /* ms for one attempt, all included */
    int64_t webhook_workers;                  /* delivery threads (their own) */
    int64_t webhook_delivery_retention;       /* ms webhook deliveries are kept */
    int64_t discovery_max_pairs;              /* address-and-port pairs per discovery */
    char    discovery_allowed_networks[1024]; /* CIDRs discoveries may scan; "": all */
    int64_t discovery_workers;                /* discovery runs at once per server */
    int64_t discovery_slice;                  /* ms a run scans while others wait */
    int64_t discovery_handshake_memory;       /* bytes the runs' handshakes may hold */
    int64_t discovery_sweep_batch;            /* instances marked MISSING per transaction */
    int64_t store_timeout;                    /* ms: PostgreSQL's statement timeout of a
                                                 read (a write's: twice it); an answer is
                                                 waited for 2 s more (pg.c pq_wait) */
};

/* How many CIDRs a CIDR-list setting may hold. */
#define CONFIG_CIDRS_MAX 64

extern struct config cfg;

/* Set every field to its default. */
void config_defaults(struct config *c);
/* Apply one `key`, `value` pair (from the file or an option). E_BADREQ with a
 * message naming the key when unknown, malformed or out of bounds. */
int config_set(struct config *c, const char *key, const char *value, struct errbuf *eb);
/* Read a config file; a missing file is an error only when `must_exist`. */
int config_load_file(struct config *c, const char *path, bool must_exist, struct errbuf *eb);
/* Write "key = value" lines for every setting (docs and `keyward config`). */
void config_dump(const struct config *c, int fd);

/* `url` with the password of its user information (scheme://user:PASSWORD@host)
 * replaced by "***", into out[n] (truncated, always NUL-terminated): what a
 * log line, an error or `keyward config` may show of a setting that holds a
 * URL (a store URL carries the database password). */
void config_url_redacted(const char *url, char *out, size_t n);
/* Whether a URL's user information without ':' is a plain user name
 * (unreserved characters and percent escapes): else it may hold a password
 * behind a mistyped separator (user?password@host), and is shown as "***". */
bool config_url_plain_user(struct str user);
/* The '@' that ends the user information of a URL whose authority starts
 * at `auth` (after "://"), or NULL: the later of the last '@' before the
 * first '/' (as libpq reads it) and the last before the first '?' or '#'
 * (as a writer who left a '/' in the password meant it). */
const char *config_url_at(const char *auth);

/* The base URL under which issued certificates name their CA's public PKI
 * routes (<base>/pki/<caID>/crl, .../ocsp, .../ca.crt: the CRL distribution
 * point and AIA), without a trailing slash: pki_url when set, which main.c
 * derives as http://<pki_listen> when the plain-HTTP listener is on and
 * pki_url is not set; else public_url (HTTPS). Read-only after start-up, as
 * cfg: any thread may call it. */
const char *cfg_pki_base(void);

#endif
