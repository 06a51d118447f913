/* test_webhook.c - webhooks without a receiver: where a webhook may point
 * (URLs, allowed networks, the setting), the signature's HMAC, a POST refused
 * before any packet is sent, and webhook_emit against a real SQLite store:
 * which webhooks hear an event, what each delivery and its job hold. The
 * deliveries themselves are tested end to end in tests/api/test_webhooks.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>

#include "core/arena.h"
#include "core/codec.h"
#include "core/config.h"
#include "core/digest.h"
#include "core/net.h"
#include "model/specs.h"
#include "model/validate.h"
#include "notify/deliver.h"
#include "notify/netcheck.h"
#include "notify/webhook.h"
#include "store/store.h"

static struct store *st;
static char          dir[] = "/tmp/kw-test-webhook-XXXXXX";
static struct arena *A;

/* ---- URLs and networks ------------------------------------------------------ */

static void
test_url_check(void **state)
{
    static const struct {
        const char *url;
        bool        ok;
    } cases[] = {
        { "https://example.com", true },
        { "https://example.com/hook?x=1&y=%20", true },
        { "HTTPS://Example.COM:8443/a/b", true },
        { "https://127.0.0.1:1/", true },
        { "https://[::1]:8443/x", true },
        { "https://under_score.example/", true },
        { "http://example.com/", false },
        { "file:///etc/passwd", false },
        { "/etc/passwd", false },
        { "ftp://example.com/", false },
        { "https://", false },
        { "https:///path", false },
        { "https://user:pw@example.com/", false },
        { "https://user@example.com/", false },
        { "https://example.com:0/", false },
        { "https://example.com:65536/", false },
        { "https://example.com:/", false },
        { "https://example.com:80:90/", false },
        { "https://exa mple.com/", false },
        { "https://example.com/a b", false },
        { "https://example.com/#frag", false },
        { "https://ex\xc3\xa4mple.com/", false },
        { "https://[::1/", false },
        { "https://[::1]x/", false },
        { "https://[127.0.0.1]/", false },
        { "https://::1/", false },
        { "https://169.254.169.254/latest/meta-data", false },
        { "https://[fe80::1]/", false },
        { "https://[::ffff:169.254.1.1]/", false },
    };
    struct errbuf eb;

    (void)state;
    cfg.webhook_allowed_networks[0] = '\0';
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        eb = (struct errbuf){ 0 };
        int rc = webhook_url_check(str_c(cases[i].url), "url", &eb);
        if ((rc == E_OK) != cases[i].ok)
            fail_msg("%s: got %d (%s)", cases[i].url, rc, eb.msg);
        if (rc != E_OK) {
            assert_int_equal(rc, E_VALIDATION);
            assert_string_equal(eb.attr, "url");
        }
    }
    char long_url[WEBHOOK_URL_MAX + 2];
    memset(long_url, 'a', sizeof long_url - 1);
    long_url[sizeof long_url - 1] = '\0';
    memcpy(long_url, "https://a.example/", 18);
    assert_int_equal(webhook_url_check(str_c(long_url), "url", &eb), E_VALIDATION);
    long_url[WEBHOOK_URL_MAX] = '\0'; /* exactly the maximum */
    assert_int_equal(webhook_url_check(str_c(long_url), "url", &eb), E_OK);
}

static bool
allowed(const char *ip)
{
    unsigned char b[16];

    assert_int_equal(ip_parse(str_c(ip), b), E_OK);
    return webhook_address_allowed(b);
}

static void
test_allowed_networks(void **state)
{
    (void)state;
    cfg.webhook_allowed_networks[0] = '\0'; /* every address but link-local */
    assert_true(allowed("127.0.0.1"));
    assert_true(allowed("10.1.2.3"));
    assert_true(allowed("::1"));
    assert_true(allowed("2001:db8::1"));
    assert_false(allowed("169.254.169.254"));
    assert_false(allowed("169.254.0.1"));
    assert_false(allowed("fe80::1"));
    assert_false(allowed("febf::1"));
    assert_true(allowed("fec0::1"));
    assert_false(allowed("::ffff:169.254.1.1")); /* the same address, IPv4-mapped */
    snprintf(cfg.webhook_allowed_networks, sizeof cfg.webhook_allowed_networks,
             "10.0.0.0/8, 2001:db8::/32 192.168.1.7");
    assert_true(allowed("10.200.0.1"));
    assert_true(allowed("192.168.1.7"));
    assert_true(allowed("2001:db8::5"));
    assert_false(allowed("192.168.1.8"));
    assert_false(allowed("127.0.0.1"));
    assert_false(allowed("::1"));
    struct errbuf eb = { 0 };
    assert_int_equal(webhook_url_check(STR("https://127.0.0.1/"), "url", &eb), E_VALIDATION);
    assert_int_equal(webhook_url_check(STR("https://10.9.9.9/"), "url", &eb), E_OK);
    assert_int_equal(webhook_url_check(STR("https://localhost/"), "url", &eb), E_OK);
    cfg.webhook_allowed_networks[0] = '\0';
}

static void
test_cidr_text_and_setting(void **state)
{
    struct cidr   c[4];
    size_t        n = 99;
    struct config k;
    struct errbuf eb = { 0 };

    (void)state;
    assert_int_equal(cidr_text_parse(STR(""), c, 4, &n), E_OK);
    assert_int_equal(n, 0);
    assert_int_equal(cidr_text_parse(STR(" , 10.0.0.0/8,,::1 "), c, 4, &n), E_OK);
    assert_int_equal(n, 2);
    assert_int_equal(cidr_text_parse(STR("10.0.0.0/8 x"), c, 4, &n), E_BADREQ);
    assert_int_equal(cidr_text_parse(STR("10.0.0.0/33"), c, 4, &n), E_BADREQ);
    assert_int_equal(cidr_text_parse(STR("1.1.1.1 2.2.2.2 3.3.3.3 4.4.4.4"), c, 4, &n), E_OK);
    assert_int_equal(cidr_text_parse(STR("1.1.1.1 2.2.2.2 3.3.3.3 4.4.4.4 5.5.5.5"), c, 4, &n),
                     E_TOOBIG);
    config_defaults(&k);
    assert_string_equal(k.webhook_allowed_networks, "");
    assert_int_equal(k.webhook_retry_delay, 10000);
    assert_int_equal(k.webhook_max_attempts, 10);
    assert_int_equal(k.webhook_timeout, 10000);
    assert_int_equal(config_set(&k, "webhook_allowed_networks", "10.0.0.0/8, fd00::/8", &eb),
                     E_OK);
    assert_string_equal(k.webhook_allowed_networks, "10.0.0.0/8, fd00::/8");
    assert_int_equal(config_set(&k, "webhook_allowed_networks", "10.0.0.0/8 nope", &eb),
                     E_BADREQ);
    assert_non_null(strstr(eb.msg, "webhook_allowed_networks"));
    assert_int_equal(config_set(&k, "webhook_retry_delay", "50ms", &eb), E_BADREQ);
    assert_int_equal(config_set(&k, "webhook_retry_delay", "2h", &eb), E_BADREQ);
    assert_int_equal(config_set(&k, "webhook_max_attempts", "0", &eb), E_BADREQ);
    assert_int_equal(config_set(&k, "webhook_timeout", "250ms", &eb), E_OK);
}

/* RFC 4231, test case 2. */
static void
test_hmac_sha256(void **state)
{
    char out[2 * SHA256_LEN + 1];

    (void)state;
    digest_hmac_sha256_hex(STR("Jefe"), "what do ya want for nothing?", 28, out);
    assert_string_equal(out,
                        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    digest_hmac_sha256_hex(STR_NULL, "", 0, out); /* empty key and body are defined */
    assert_string_equal(out,
                        "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

/* ---- a POST that never leaves ----------------------------------------------- */

static int
post(const char *url, struct webhook_result *res)
{
    struct webhook_post p = { .url = url,
                              .body = STR("{}"),
                              .secret = STR("0123456789abcdef"),
                              .event = "certificate.expired",
                              .delivery = "000000000000000000000000",
                              .timeout_ms = 2000 };

    return webhook_post(&p, res);
}

static void
test_post_refused_before_connecting(void **state)
{
    struct webhook_result res;

    (void)state;
    cfg.webhook_allowed_networks[0] = '\0';
    assert_int_equal(post("https://169.254.169.254/latest", &res), E_UNAVAILABLE);
    assert_int_equal(res.code, 0);
    assert_non_null(strstr(res.error, "address is outside webhook_allowed_networks"));
    assert_null(strstr(res.error, "169.254.169.254")); /* the log has it, not lastError */
    snprintf(cfg.webhook_allowed_networks, sizeof cfg.webhook_allowed_networks, "10.0.0.0/8");
    assert_int_equal(post("https://127.0.0.1:1/", &res), E_UNAVAILABLE);
    assert_non_null(strstr(res.error, "address is outside webhook_allowed_networks"));
    assert_null(strstr(res.error, "127.0.0.1")); /* the log has it, not lastError */
    assert_int_equal(post("https://[::1]:1/", &res), E_UNAVAILABLE);
    assert_non_null(strstr(res.error, "address is outside webhook_allowed_networks"));
    assert_null(strstr(res.error, "::1")); /* the log has it, not lastError */
    cfg.webhook_allowed_networks[0] = '\0';
    assert_int_equal(post("http://127.0.0.1:1/", &res), E_UNAVAILABLE); /* https only */
    assert_null(strstr(res.error, "allowed_networks"));
    assert_int_equal(res.code, 0);
}

/* ---- webhook_emit ------------------------------------------------------------ */

struct emit_call {
    struct str        ns;
    const char       *event, *key;
    const struct val *payload;
    int               rc;
    struct errbuf     eb;
};

static int
emit_tx(struct tx *tx, void *arg)
{
    struct emit_call *c = arg;

    c->rc = webhook_emit(tx, A, c->ns, c->event, c->payload, c->key, &c->eb);
    return c->rc;
}

static int
insert_tx(struct tx *tx, void *arg)
{
    const struct val *o = arg;

    return tx->ops->insert(
        tx, val_get_str(o, "url").p != NULL ? &spec_webhook : &spec_namespace, o);
}

static struct val
make(const struct spec *s, struct str ns, const char *json)
{
    struct val    in, obj;
    struct errbuf eb = { 0 };

    assert_int_equal(codec_decode(CODEC_JSON, A, json, strlen(json), 32, &in, &eb), E_OK);
    if (object_new(A, s, ns, &in, &obj, &eb) != E_OK)
        fail_msg("%s: %s", json, eb.msg);
    return obj;
}

static void
namespace_at(const char *parent, const char *path)
{
    struct val o = make(&spec_namespace, str_c(parent), "{\"name\":\"x\"}");

    val_set(A, &o, "name", val_cstr(path));
    assert_int_equal(store_run(st, insert_tx, &o), E_OK);
}

static struct str
webhook_at(const char *ns, const char *name, const char *events, bool disabled)
{
    char       json[512];
    struct val o;

    snprintf(json, sizeof json,
             "{\"name\":\"%s\",\"url\":\"https://receiver.example/%s\",\"events\":%s,"
             "\"secret\":\"0123456789abcdef\",\"disabled\":%s}",
             name, name, events, disabled ? "true" : "false");
    o = make(&spec_webhook, str_c(ns), json);
    assert_int_equal(store_run(st, insert_tx, &o), E_OK);
    return val_get_str(&o, "ID");
}

/* The deliveries of namespace `ns`. */
static struct val
deliveries(const char *ns)
{
    struct listq  q = { .scope = { str_c(ns), false }, .limit = -1 };
    struct val    items;
    struct errbuf eb = { 0 };

    assert_int_equal(st->ops->list(st, &spec_webhookdelivery, &q, A, &items, NULL, &eb), E_OK);
    return items;
}

static struct val
certificate(void)
{
    return make(&spec_namespace, STR("/"), "{\"name\":\"stand-in\"}"); /* any object */
}

static void
test_emit_reaches_the_namespace_and_its_ancestors(void **state)
{
    struct val       cert = certificate();
    struct emit_call c = { STR("/e1/prod"), "certificate.expired", "certificate", &cert, 0 };
    struct job_row   job;

    (void)state;
    namespace_at("/", "/e1");
    namespace_at("/e1", "/e1/prod");
    namespace_at("/", "/e2");
    struct str root = webhook_at("/", "root", "[\"certificate.expired\"]", false);
    struct str top =
        webhook_at("/e1", "top", "[\"certificate.weak\",\"certificate.expired\"]", false);
    struct str own = webhook_at("/e1/prod", "own", "[\"certificate.expired\"]", false);
    webhook_at("/e1", "off", "[\"certificate.expired\"]", true);
    webhook_at("/e1", "other", "[\"certificate.weak\"]", false);
    webhook_at("/e2", "sibling", "[\"certificate.expired\"]", false);
    assert_int_equal(store_run(st, emit_tx, &c), E_OK);
    struct val in_prod = deliveries("/e1/prod"), in_e1 = deliveries("/e1"),
               in_root = deliveries("/"), in_e2 = deliveries("/e2");
    assert_int_equal(in_prod.a.n, 1);
    assert_int_equal(in_e1.a.n, 1);
    assert_int_equal(in_e2.a.n, 0);
    assert_int_equal(in_root.a.n, 1);
    assert_true(str_eq(val_get_str(&in_prod.a.v[0], "webhookID"), own));
    assert_true(str_eq(val_get_str(&in_e1.a.v[0], "webhookID"), top));
    assert_true(str_eq(val_get_str(&in_root.a.v[0], "webhookID"), root));
    const struct val *d = &in_e1.a.v[0];
    assert_string_equal(val_get_str(d, "status").p, "PENDING");
    assert_string_equal(val_get_str(d, "event").p, "certificate.expired");
    assert_true(str_eq(val_get_str(d, "certificateID"), val_get_str(&cert, "ID")));
    assert_int_equal(val_get(d, "attempts")->i, 0);
    assert_non_null(val_get_str(d, "nextAttemptTime").p);
    /* Its job carries the body. */
    assert_int_equal(st->ops->job_get(st, WEBHOOK_DELIVER_JOB, val_get_str(d, "ID"), A, &job),
                     E_OK);
    struct val    body;
    struct errbuf eb = { 0 };
    assert_int_equal(json_decode(A, job.payload.p, job.payload.len, 64, &body, &eb), E_OK);
    assert_string_equal(val_get_str(&body, "event").p, "certificate.expired");
    assert_true(str_eq_c(val_get_str(&body, "namespace"), "/e1/prod"));
    assert_non_null(val_get_str(&body, "time").p);
    assert_true(
        str_eq(val_get_str(val_get(&body, "certificate"), "ID"), val_get_str(&cert, "ID")));
}

static void
test_emit_refuses_unknown_events_and_caps_the_body(void **state)
{
    struct val       cert = certificate(), big = val_map();
    struct emit_call c = { STR("/e3"), "certificate.gone", "certificate", &cert, 0 };
    char            *blob = arena_alloc(A, WEBHOOK_BODY_MAX + 1);
    struct job_row   job;

    (void)state;
    namespace_at("/", "/e3");
    webhook_at("/e3", "w", "[\"certificate.expired\",\"discovery.finished\"]", false);
    assert_int_equal(store_run(st, emit_tx, &c), E_INTERNAL);
    c.event = "certificate.weak"; /* nobody listens: nothing */
    assert_int_equal(store_run(st, emit_tx, &c), E_OK);
    assert_int_equal(deliveries("/e3").a.n, 0);
    memset(blob, 'x', WEBHOOK_BODY_MAX);
    blob[WEBHOOK_BODY_MAX] = '\0';
    val_set(A, &big, "ID", val_cstr("0123456789abcdef01234567"));
    val_set(A, &big, "notes", val_cstr(blob));
    c.event = "discovery.finished";
    c.key = "discoveryRun";
    c.payload = &big;
    assert_int_equal(store_run(st, emit_tx, &c), E_OK);
    struct val got = deliveries("/e3");
    assert_int_equal(got.a.n, 1);
    assert_string_equal(val_get_str(&got.a.v[0], "status").p, "FAILED");
    assert_null(val_get(&got.a.v[0], "certificateID")); /* not a certificate event */
    assert_non_null(strstr(val_get_str(&got.a.v[0], "lastError").p, "larger than"));
    assert_int_equal(
        st->ops->job_get(st, WEBHOOK_DELIVER_JOB, val_get_str(&got.a.v[0], "ID"), A, &job),
        E_NOTFOUND);
}

static int
setup(void **state)
{
    struct errbuf eb = { 0 };
    char          uri[128];

    (void)state;
    config_defaults(&cfg);
    spec_init();
    A = arena_new(64 * 1024);
    if (mkdtemp(dir) == NULL || webhook_global_init(&eb) != E_OK)
        return -1;
    snprintf(uri, sizeof uri, "sqlite:%s/k.db", dir);
    if (store_open(uri, &st, &eb) != E_OK)
        return -1;
    return webhook_runtime_init(st, &eb) == E_OK ? 0 : -1; /* its threads never start */
}

static int
teardown(void **state)
{
    char cmd[160];

    (void)state;
    webhook_runtime_stop();
    st->ops->close(st);
    arena_free(A);
    webhook_global_cleanup();
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_check),
        cmocka_unit_test(test_allowed_networks),
        cmocka_unit_test(test_cidr_text_and_setting),
        cmocka_unit_test(test_hmac_sha256),
        cmocka_unit_test(test_post_refused_before_connecting),
        cmocka_unit_test(test_emit_reaches_the_namespace_and_its_ancestors),
        cmocka_unit_test(test_emit_refuses_unknown_events_and_caps_the_body),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
