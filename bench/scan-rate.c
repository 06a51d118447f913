/* scan-rate.c - how many TLS handshakes per second discovery's scanner
 * (src/discovery/scan.c) records against one server. Not part of keyward.
 *
 *   make B=build build/bench/scan-rate
 *   build/bench/scan-rate [-n PAIRS] [-c CONCURRENCY] [-t TIMEOUT_MS] [-s SNI] ADDR PORT
 *
 * Scans the same ADDR (IPv4 or IPv6) and PORT PAIRS times (default 20,000) at
 * CONCURRENCY (default 1000), on the calling thread, and prints one line:
 *   RESULT pairs=N tls=T other=O seconds=S rate=R
 * where rate is TLS results per second and `other` counts every other
 * outcome (the first one's reason goes to stderr). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/base.h"
#include "core/net.h"
#include "core/timeutil.h"
#include "discovery/scan.h"

struct bench {
    struct scan_target t;
    long               left, tls, other;
};

static bool
next(void *arg, struct scan_target *t)
{
    struct bench *b = arg;

    if (b->left == 0)
        return false;
    b->left--;
    *t = b->t;
    return true;
}

static void
done(void *arg, const struct scan_result *r)
{
    struct bench *b = arg;

    if (r->outcome == SCAN_TLS) {
        if (b->tls++ == 0)
            fprintf(stderr, "scan-rate: %s %s, %zu certificate(s)\n", r->tls_version, r->cipher,
                    r->nchain);
        return;
    }
    if (b->other++ == 0)
        fprintf(stderr, "scan-rate: first failure: %s: %s\n", scan_outcome_name(r->outcome),
                r->error);
}

static bool
number(const char *s, long lo, long hi, long *out)
{
    int64_t v;

    if (str_to_i64(str_c(s), &v) != E_OK || v < lo || v > hi)
        return false;
    *out = (long)v;
    return true;
}

int
main(int argc, char **argv)
{
    struct bench     b = { .left = 20000 };
    struct scan_opts o = { .concurrency = 1000, .timeout_ms = 5000 };
    struct errbuf    eb = { 0 };
    long             v, port;
    int64_t          t0, ms;
    int              c;

    while ((c = getopt(argc, argv, "n:c:t:s:")) != -1) {
        if (c == 'n' && number(optarg, 1, 100000000, &v))
            b.left = v;
        else if (c == 'c' && number(optarg, 1, SCAN_CONCURRENCY_MAX, &v))
            o.concurrency = (unsigned)v;
        else if (c == 't' && number(optarg, 1, 3600000, &v))
            o.timeout_ms = v;
        else if (c == 's')
            b.t.sni = optarg;
        else
            goto usage;
    }
    if (argc - optind != 2 || ip_parse(str_c(argv[optind]), b.t.addr) != E_OK ||
        !number(argv[optind + 1], 1, 65535, &port))
        goto usage;
    b.t.port = (uint16_t)port;
    long pairs = b.left;
    t0 = time_mono_ms();
    if (scan_run(&o, next, done, NULL, &b, &eb) != E_OK) {
        fprintf(stderr, "scan-rate: %s\n", eb.msg);
        return 1;
    }
    ms = time_mono_ms() - t0;
    printf("RESULT pairs=%ld tls=%ld other=%ld seconds=%.2f rate=%.0f\n", pairs, b.tls, b.other,
           (double)ms / 1000.0, ms > 0 ? (double)b.tls * 1000.0 / (double)ms : 0.0);
    return 0;
usage:
    fprintf(stderr, "usage: scan-rate [-n PAIRS] [-c CONCURRENCY] [-t TIMEOUT_MS] [-s SNI] "
                    "ADDR PORT\n");
    return 2;
}
