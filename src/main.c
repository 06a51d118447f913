/* main.c - `keyward server`: configuration, start-up, signals, shutdown. */
#include <errno.h>
#include <locale.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/realms/throttle.h"
#include "auth/accounts.h"
#include "auth/authn.h"
#include "auth/authz.h"
#include "boot.h"
#include "core/config.h"
#include "core/digest.h"
#include "core/fileio.h"
#include "core/log.h"
#include "core/password.h"
#include "core/pool.h"
#include "core/seal.h"
#include "core/timeutil.h"
#include "core/version.h"
#include "discovery/discovery.h"
#include "housekeeping.h"
#include "http/server.h"
#include "inventory/inventory.h"
#include "issuance/issuance.h"
#include "jobs/jobs.h"
#include "model/specs.h"
#include "notify/deliver.h"
#include "notify/webhook.h"
#include "pki/signer.h"
#include "pki/tlsboot.h"
#include "store/store.h"
#include "storedump.h"
#include "vault.h"

#define GRACE_MS     10000
#define SLOW_THREADS 1 /* work too slow for requests (RSA keys): one core at most */

static const char usage[] =
    "usage: keyward server [--listen ADDR:PORT] [--pki-listen ADDR:PORT] [--data DIR]\n"
    "                      [--store sqlite:PATH|postgres://...] [--public-url URL]\n"
    "                      [--config FILE]\n"
    "       keyward store-dump [--data DIR] [--store URI] [--config FILE] [TABLE...]\n"
    "                               every stored row as JSON lines, read-only (docs/tools.md)\n"
    "       keyward migrate [--data DIR] [--store URI] [--config FILE]\n"
    "                               create or upgrade the store's schema, then exit\n"
    "       keyward config [--data DIR] [--config FILE] [SERVER OPTIONS]\n"
    "                               every setting: as the server would run with these\n"
    "                               (its config file, then the options), else defaults\n"
    "       keyward version\n";

static void
die(const char *msg)
{
    fprintf(stderr, "keyward: %s\n", msg);
    exit(1);
}

/* Options override the config file, which overrides defaults: read the file
 * first, then apply the options. */
static void
parse_options(int argc, char **argv)
{
    static const struct {
        const char *opt, *key;
    } opts[] = {
        { "--listen", "listen" }, { "--pki-listen", "pki_listen" }, { "--data", "data_dir" },
        { "--store", "store" },   { "--public-url", "public_url" },
    };
    const char   *config = NULL;
    struct errbuf eb = { 0 };
    char          path[1200];

    for (int i = 2; i < argc; i += 2)
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            config = argv[i + 1];
    for (int i = 2; i < argc; i += 2)
        if (strcmp(argv[i], "--data") == 0 && i + 1 < argc &&
            config_set(&cfg, "data_dir", argv[i + 1], &eb) != E_OK)
            die(eb.msg);
    if (config == NULL) {
        snprintf(path, sizeof path, "%s/keyward.conf", cfg.data_dir);
        config = path;
    }
    if (config_load_file(&cfg, config, config != path, &eb) != E_OK)
        die(eb.msg);
    for (int i = 2; i < argc; i += 2) {
        bool known = strcmp(argv[i], "--config") == 0;
        for (size_t j = 0; j < ARRAY_LEN(opts) && !known; j++)
            if (strcmp(argv[i], opts[j].opt) == 0) {
                known = true;
                if (i + 1 >= argc || config_set(&cfg, opts[j].key, argv[i + 1], &eb) != E_OK)
                    die(i + 1 >= argc ? "missing option value" : eb.msg);
            }
        if (!known || i + 1 >= argc) {
            fputs(usage, stderr);
            exit(2);
        }
    }
}

static void
derive_defaults(void)
{
    if (cfg.store[0] == '\0')
        snprintf(cfg.store, sizeof cfg.store, "sqlite:%s/keyward.db", cfg.data_dir);
    if (cfg.public_url[0] == '\0')
        snprintf(cfg.public_url, sizeof cfg.public_url, "https://%s", cfg.listen);
    if (cfg.pki_url[0] == '\0' && cfg.pki_listen[0] != '\0')
        snprintf(cfg.pki_url, sizeof cfg.pki_url, "http://%s", cfg.pki_listen);
    log_min_level = (enum log_level)cfg.log_level;
}

/* The data directory: created (0700) if missing; must be a usable directory
 * that no other local user can write (file_trusted). */
static void
prepare_data_dir(void)
{
    struct stat   st;
    struct errbuf eb = { 0 };
    char          msg[1300];

    if (mkdir(cfg.data_dir, 0700) != 0 && errno != EEXIST) {
        snprintf(msg, sizeof msg, "%s: %s", cfg.data_dir, strerror(errno));
        die(msg);
    }
    if (stat(cfg.data_dir, &st) != 0 || !S_ISDIR(st.st_mode) ||
        access(cfg.data_dir, R_OK | W_OK | X_OK) != 0) {
        snprintf(msg, sizeof msg, "%s: not a readable and writable directory", cfg.data_dir);
        die(msg);
    }
    if (file_trusted(cfg.data_dir, &st, &eb) != E_OK)
        die(eb.msg);
}

/* The host of public_url (https://HOST[:PORT][/...]), for the server
 * certificate; "" when it has none. */
static void
public_host(char *out, size_t n)
{
    const char *h = strstr(cfg.public_url, "://"), *end;
    size_t      len;

    h = h != NULL ? h + 3 : cfg.public_url;
    if (h[0] == '[')
        end = strchr(h, ']') != NULL ? strchr(h, ']') + 1 : h + strlen(h);
    else
        end = h + strcspn(h, ":/?#");
    len = (size_t)(end - h) < n ? (size_t)(end - h) : n - 1;
    memcpy(out, h, len);
    out[len] = '\0';
}

/* public_url is what tokens name as their issuer and what clients (and, without
 * pki_url, issued certificates) are given: a wildcard listen address cannot be
 * it (an operator's review: tokens and CRL URLs named https://0.0.0.0:9443). */
static void
check_public_url(void)
{
    char host[256], msg[1400];

    public_host(host, sizeof host);
    if (strcmp(host, "0.0.0.0") != 0 && strcmp(host, "[::]") != 0)
        return;
    snprintf(msg, sizeof msg,
             "public_url %s names every address: set public_url (--public-url) to the URL "
             "clients use, e.g. https://keyward.example.com:PORT",
             cfg.public_url);
    die(msg);
}

/* The operator's certificate comes with its key, or not at all. */
static void
check_tls_files(void)
{
    if ((cfg.tls_cert[0] == '\0') != (cfg.tls_key[0] == '\0'))
        die("tls_cert and tls_key go together: set both (your own certificate chain and its "
            "key) or neither (the console's own)");
}

/* The host part of ADDR:PORT, for the server certificate. */
static void
listen_host(char *out, size_t n)
{
    const char *colon = strrchr(cfg.listen, ':');
    size_t      len = colon ? (size_t)(colon - cfg.listen) : strlen(cfg.listen);

    if (len >= n)
        len = n - 1;
    memcpy(out, cfg.listen, len);
    out[len] = '\0';
    if (out[0] == '[' && len > 1 && out[len - 1] == ']') {
        memmove(out, out + 1, len - 2);
        out[len - 2] = '\0';
    }
}

/* How to log in as admin: with the password of $KEYWARD_ADMIN_PASSWORD when
 * this start made the administrator with it, else of this data directory's
 * admin-password file; without that file, the password was set at the
 * store's first start (by the variable, or in the directory of the server
 * that made the store). */
static void
print_login(bool from_env)
{
    char pwbuf[1300], path[1200], cacert[1200];

    snprintf(path, sizeof path, "%s/admin-password", cfg.data_dir);
    if (!from_env && access(path, R_OK) != 0) {
        fprintf(stderr, "keyward: log in as admin with the password set at the store's first "
                        "start: $KEYWARD_ADMIN_PASSWORD then, or the admin-password file "
                        "of the server that made the store\n");
        return;
    }
    if (from_env)
        snprintf(pwbuf, sizeof pwbuf, "$KEYWARD_ADMIN_PASSWORD");
    else
        snprintf(pwbuf, sizeof pwbuf, "$(cat %s)", path);
    if (cfg.tls_cert[0] != '\0') /* the operator's certificate: their CA's file, if any */
        snprintf(cacert, sizeof cacert, "[--cacert YOUR-CA.pem] ");
    else
        snprintf(cacert, sizeof cacert, "--cacert %s/tls/ca.pem ", cfg.data_dir);
    fprintf(stderr,
            "keyward: get a token as admin:\n"
            "  curl %s%s/issue -H 'Content-Type: application/json' \\\n"
            "    -d '{\"realm\":\"Vince\",\"metadata\":{\"vinceAccount\":\"admin\","
            "\"vincePassword\":\"'\"%s\"'\"}}'\n",
            cacert, cfg.public_url, pwbuf);
}

static void
print_welcome(bool from_env)
{
    char here[300];

    snprintf(here, sizeof here, "https://%s", cfg.listen);
    fprintf(stderr, "keyward: listening on %s%s%s%s\n", here,
            strcmp(here, cfg.public_url) != 0 ? " (public URL " : "",
            strcmp(here, cfg.public_url) != 0 ? cfg.public_url : "",
            strcmp(here, cfg.public_url) != 0 ? ")" : "");
    if (cfg.tls_cert[0] != '\0')
        fprintf(stderr, "keyward: the API serves the certificate of %s\n", cfg.tls_cert);
    else
        fprintf(stderr, "keyward: trust the console's CA: %s/tls/ca.pem\n", cfg.data_dir);
    print_login(from_env);
    if (cfg.pki_listen[0] != '\0')
        fprintf(stderr, "keyward: PKI routes also over plain HTTP on http://%s/pki/\n",
                cfg.pki_listen);
    fprintf(stderr, "keyward: issued certificates name the PKI routes under %s/pki/\n",
            cfg_pki_base());
}

static void
tls_source(struct tls_source *src, char *host, size_t hostn, char *pub, size_t pubn)
{
    listen_host(host, hostn);
    public_host(pub, pubn);
    *src = (struct tls_source){ cfg.data_dir, host, pub, cfg.tls_cert, cfg.tls_key };
}

/* What the API serves, as a digest of its chain and key: the key itself is
 * not kept in this process's memory past the TLS context that holds it. */
static unsigned char tls_served_digest[SHA256_LEN];

static void
tls_digest(const struct tls_files *tls, unsigned char digest[SHA256_LEN])
{
    const struct str parts[] = { buf_str(&tls->cert_pem), buf_str(&tls->key_pem) };

    digest_sha256_parts(parts, ARRAY_LEN(parts), digest);
}

static void
tls_served(struct tls_files *tls)
{
    tls_digest(tls, tls_served_digest);
    buf_wipe(&tls->key_pem);
}

/* The API's certificate again: the operator's files as they are now, or the
 * console's own, renewed when due; new sessions get it when it changed. On
 * an error the one served stays, and the log says why. */
static void
tls_refresh(struct tls_files *tls)
{
    unsigned char     digest[SHA256_LEN];
    struct tls_source src;
    struct tls_files  next;
    struct errbuf     eb = { 0 };
    char              host[256], pub[300];

    tls_source(&src, host, sizeof host, pub, sizeof pub);
    if (tlsboot_server(&src, pki_ca_find(PKI_CA_TLS), tls, &next, &eb) != E_OK) {
        log_error("%s: the certificate served is kept", eb.msg);
        return;
    }
    tls_digest(&next, digest);
    if (memcmp(digest, tls_served_digest, SHA256_LEN) == 0) {
        tls_files_free(&next);
        return;
    }
    if (http_tls_replace(&next, &eb) != E_OK) {
        log_error("%s: the certificate served is kept", eb.msg);
        tls_files_free(&next);
        return;
    }
    tls_files_free(tls);
    *tls = next;
    tls_served(tls);
    log_info("tls: new connections get the certificate of %s",
             cfg.tls_cert[0] != '\0' ? cfg.tls_cert : "tls/server.pem");
}

/* Until SIGTERM or SIGINT; every second let authn pick up or rotate signing
 * keys (each process keeps its own ring in memory). Shared periodic work
 * (expiry, retention) runs as background jobs (housekeeping.c), not here.
 * SIGHUP reads the API's certificate again; the console's own is also looked
 * at every hour, and renewed 30 days before it expires (tlsboot_server).
 * SIGUSR1 and SIGUSR2 (a log rotation's habit) are answered with a log line:
 * they must not kill the server in the middle of its requests, as their
 * default action would. */
#define TLS_LOOK_EVERY_S 3600

static void
wait_for_signal(const sigset_t *set, struct tls_files *tls)
{
    struct timespec ts = { 1, 0 };
    int             ticks = 0;

    for (;;) {
        int sig = sigtimedwait(set, NULL, &ts);
        if (sig == SIGTERM || sig == SIGINT)
            return;
        if (sig == SIGHUP)
            tls_refresh(tls);
        else if (sig > 0)
            log_info("SIG%s ignored: settings are read at start only (restart to apply a "
                     "change); the log goes to stderr, nothing to reopen",
                     sigabbrev_np(sig));
        if (sig < 0 && errno == EAGAIN) {
            authn_tick(time_now_ms());
            if (++ticks % TLS_LOOK_EVERY_S == 0 && cfg.tls_cert[0] == '\0')
                tls_refresh(tls);
        }
    }
}

/* The background job runtime and the server's own kinds: ready to take items
 * (a namespace delete queues its purge) before the first request; its threads
 * start once the server is sure to run (jobs_go). */
static int
jobs_begin(struct errbuf *eb)
{
    jobs_set_default_lease(cfg.job_lease);
    kw_jobs = jobs_new(kw_store, NULL);
    if (kw_jobs == NULL)
        return errbuf_set(eb, E_INTERNAL, "out of memory for the job runtime");
    int rc = housekeeping_register(kw_jobs, eb);

    return rc == E_OK ? inventory_register(kw_jobs, eb) : rc;
}

/* The server's jobs, then the webhook deliveries and the discovery runs on
 * threads of their own. */
static int
jobs_go(struct errbuf *eb)
{
    int rc = jobs_start(kw_jobs, (int)cfg.job_workers, eb);

    if (rc == E_OK)
        rc = webhook_runtime_start(eb);
    return rc == E_OK ? discovery_runtime_start(eb) : rc;
}

/* The CAs (from the store, sealed) and this server's certificate; the CA
 * handles are registered for the signer's users (app credentials). */
static int
tls_start(const unsigned char *master, struct tls_files *tls, struct errbuf *eb)
{
    struct pki_vault v;
    struct ca       *tls_ca = NULL, *client_ca = NULL;
    int              rc;

    vault_init(&v, kw_store, master);
    struct tls_source src;
    char              host[256], pub[300];

    tls_source(&src, host, sizeof host, pub, sizeof pub);
    rc = tlsboot_ensure(&src, &v, tls, &tls_ca, &client_ca, eb);
    if (rc == E_OK && (pki_ca_register(tls_ca) != E_OK || pki_ca_register(client_ca) != E_OK))
        rc = errbuf_set(eb, E_INTERNAL, "cannot register the CAs");
    if (rc != E_OK && pki_ca_find(PKI_CA_TLS) != tls_ca)
        pki_ca_free(tls_ca);
    if (rc != E_OK && pki_ca_find(PKI_CA_CLIENT) != client_ca)
        pki_ca_free(client_ca);
    return rc;
}

static int
serve(void)
{
    struct errbuf    eb = { 0 };
    struct tls_files tls = { 0 };
    unsigned char    master[SEAL_KEY_LEN];
    char             path[1200];
    bool             created = false, from_env = false;
    sigset_t         set;

    /* Block the signals before any thread starts, so only sigtimedwait sees them. */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    umask(077); /* the store holds password hashes and sealed keys */
    /* The master key, the CAs' and the signing keys live in this process's
     * memory: no core file, and no other process of this user reads it
     * (ptrace, /proc/PID/mem and environ); root still can (ssh-agent's way). */
    if (prctl(PR_SET_DUMPABLE, 0) != 0)
        log_warn("prctl(PR_SET_DUMPABLE): %s: a core dump would hold keys", strerror(errno));
    /* Large blocks (Argon2id's 19 MiB per login) are mmapped and returned to
     * the system when freed; glibc's adaptive threshold would otherwise keep
     * them in a thread's arena after the first login. */
    mallopt(M_MMAP_THRESHOLD, 256 * 1024);
    if (http_listen(&eb) != E_OK) /* before pki_url's default is derived */
        die(eb.msg);
    derive_defaults();
    check_public_url();
    check_tls_files();
    password_set_slots(cfg.max_concurrent_hashes);
    if (throttle_init() != E_OK)
        die("out of memory for the login failure tables");
    prepare_data_dir();
    if (boot_check_env(&eb) != E_OK)
        die(eb.msg);
    if (webhook_global_init(&eb) != E_OK) /* libcurl, before the first thread */
        die(eb.msg);
    spec_init();
    snprintf(path, sizeof path, "%s/master.key", cfg.data_dir);
    if (seal_load_master(path, master, &eb) != E_OK)
        die(eb.msg);
    seal_set_master(master);
    if (store_lock_server(cfg.store, &eb) != E_OK ||
        store_open(cfg.store, &kw_store, &eb) != E_OK)
        die(eb.msg);
    authz_start();    /* before the first write: the policy snapshot follows every commit */
    accounts_start(); /* the same: tokens of accounts disabled or deleted are refused */
    issuance_start(); /* the same: CRL and OCSP answers follow revocations */
    if (webhook_runtime_init(kw_store, &eb) != E_OK || /* before the first write, too */
        discovery_runtime_init(kw_store, &eb) != E_OK)
        die(eb.msg);
    if (authn_init(master, &eb) != E_OK ||
        boot_first_start(cfg.data_dir, &created, &from_env, &eb) != E_OK ||
        tls_start(master, &tls, &eb) != E_OK || jobs_begin(&eb) != E_OK ||
        pool_start(SLOW_THREADS, &eb) != E_OK)
        die(eb.msg);
    /* The socket listens since http_listen: the line comes before a request can
     * be served (a loaded machine logged a /health answer before it, and a test
     * reading the start's lines after its first answer missed them), and before
     * the job threads start (their first writes). */
    print_welcome(from_env);
    if (http_start(&tls, &eb) != E_OK || jobs_go(&eb) != E_OK)
        die(eb.msg);
    tls_served(&tls);
    wait_for_signal(&set, &tls);
    log_info("keyward: stopping");
    http_stop(GRACE_MS);
    pool_stop();              /* after the requests that queue work, before the store */
    discovery_runtime_stop(); /* its runs resume from their checkpoints at the next start */
    jobs_free(kw_jobs);
    kw_jobs = NULL;
    webhook_runtime_stop(); /* after everything that emits events */
    pki_ca_unregister_all();
    authz_shutdown();
    accounts_shutdown();
    authn_shutdown();
    throttle_fini();
    kw_store->ops->close(kw_store);
    tls_files_free(&tls);
    memset(master, 0, sizeof master);
    webhook_global_cleanup();
    log_info("keyward: stopped");
    return 0;
}

/* `keyward store-dump [OPTIONS] [TABLE...]`: the options as for `server`
 * (--data, --store, --config), the other arguments name tables. */
static int
store_dump_cmd(int argc, char **argv)
{
    char       **opts = calloc((size_t)argc + 1, sizeof *opts);
    const char **tables = calloc((size_t)argc + 1, sizeof *tables);
    int          nopts = 2;
    size_t       ntables = 0;

    if (opts == NULL || tables == NULL)
        die("out of memory");
    opts[0] = argv[0];
    opts[1] = argv[1];
    for (int i = 2; i < argc; i++) {
        if (strncmp(argv[i], "--", 2) != 0) {
            tables[ntables++] = argv[i];
            continue;
        }
        if (strcmp(argv[i], "--listen") == 0 || strcmp(argv[i], "--pki-listen") == 0) {
            /* a server option, not a dump's */
            fputs(usage, stderr);
            exit(2);
        }
        opts[nopts++] = argv[i];
        if (i + 1 < argc)
            opts[nopts++] = argv[++i];
    }
    parse_options(nopts, opts);
    derive_defaults();
    spec_init();
    int rc = storedump_run(cfg.store, tables, ntables);
    free(opts);
    free(tables);
    return rc;
}

/* `keyward migrate [--data DIR] [--store URI] [--config FILE]`: what a
 * server's start does to the store (numbered migrations, the spec tables),
 * and nothing else: an empty database made ready before the servers start. */
static int
migrate_cmd(int argc, char **argv)
{
    struct store *st;
    struct errbuf eb = { 0 };
    char          shown[512];

    for (int i = 2; i < argc; i += 2)
        if (strcmp(argv[i], "--data") != 0 && strcmp(argv[i], "--store") != 0 &&
            strcmp(argv[i], "--config") != 0) {
            fputs(usage, stderr);
            return 2;
        }
    parse_options(argc, argv);
    derive_defaults();
    spec_init();
    umask(077); /* as the server: the store will hold secrets */
    if (strncmp(cfg.store, "sqlite:", 7) == 0)
        prepare_data_dir();
    if (store_open(cfg.store, &st, &eb) != E_OK)
        die(eb.msg);
    st->ops->close(st);
    config_url_redacted(cfg.store, shown, sizeof shown);
    printf("keyward: store %s is ready\n", shown);
    return 0;
}

int
main(int argc, char **argv)
{
    /* Characters, not bytes, for the regexes (glibc's, in filters on SQLite and
     * in templates): `.` is one character of UTF-8 text, as on PostgreSQL. */
    setlocale(LC_CTYPE, "C.UTF-8");
    config_defaults(&cfg);
    if (argc >= 2 && strcmp(argv[1], "store-dump") == 0)
        return store_dump_cmd(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "migrate") == 0)
        return migrate_cmd(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "server") == 0) {
        parse_options(argc, argv);
        return serve();
    }
    if (argc >= 2 && strcmp(argv[1], "config") == 0) {
        if (argc > 2) { /* the settings a server with these options would run with */
            parse_options(argc, argv);
            derive_defaults();
        }
        config_dump(&cfg, 1); /* a store URL's password shown as *** */
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "version") == 0) {
        puts("keyward " KW_VERSION);
        return 0;
    }
    fputs(usage, stderr);
    return 2;
}
