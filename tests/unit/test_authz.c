/* test_authz.c - API authorizations evaluated for a request (auth/authz.c,
 * API.md section 5), against a real SQLite store in a temporary directory.
 *
 * Namespaces and policies are written through the store (object_new, then
 * tx->ops->insert), so the snapshot authz_check judges by is the one it loads
 * from the store and then follows through its store observer. Principals are
 * real ones: a payload signed with authn_sign and verified by authn_token,
 * which builds the claims and restrictions exactly as for a request.
 *
 * The tree: / (no row), /acme, /acme/web, /acme/web/deep, /acme/mail, /beta.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/accounts.h"
#include "auth/authn.h"
#include "auth/authz.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/codec.h"
#include "core/config.h"
#include "core/timeutil.h"
#include "model/specs.h"
#include "model/validate.h"
#include "store/store.h"

/* Specs this build does not have yet (the certificate side, API.md section 7);
 * certificate.requester names them, and authz only compares identities and
 * access levels, so a bare spec stands for each. */
static const struct spec spec_certreq = { .identity = "certificaterequest",
                                          .rest = "certificaterequests" };
static const struct spec spec_cert = { .identity = "certificate", .rest = "certificates" };

#define NS_ALL "/acme", "/acme/web", "/acme/web/deep", "/acme/mail", "/beta"

/* Where a policy lives, and its body as a client would POST it. */
struct pol {
    const char *ns;
    const char *json;
};

#define LINE(acct) "[[\"@auth:realm=vince\",\"@auth:account=" acct "\"]]"

static const struct pol policies[] = {
    /* The role table: each role, living in /acme, for /acme/web and below. */
    { "/acme",
      "{\"name\":\"r1\",\"subject\":" LINE(
          "admin-user") ","
                        "\"authorizedIdentities\":[\"@auth:role=namespace.administrator\"],"
                        "\"authorizedNamespace\":\"/acme/web\"}" },
    { "/acme", "{\"name\":\"r2\",\"subject\":" LINE(
                   "editor-user") ","
                                  "\"authorizedIdentities\":[\"@auth:role=namespace.editor\"],"
                                  "\"authorizedNamespace\":\"/acme/web\"}" },
    { "/acme", "{\"name\":\"r3\",\"subject\":" LINE(
                   "viewer-user") ","
                                  "\"authorizedIdentities\":[\"@auth:role=namespace.viewer\"],"
                                  "\"authorizedNamespace\":\"/acme/web\"}" },
    { "/acme",
      "{\"name\":\"r4\",\"subject\":" LINE(
          "requester-user") ","
                            "\"authorizedIdentities\":[\"@auth:role=certificate.requester\"],"
                            "\"authorizedNamespace\":\"/acme/web\"}" },
    /* Raw permissions. */
    { "/acme",
      "{\"name\":\"p1\",\"subject\":" LINE("raw-user") ","
                                                       "\"authorizedIdentities\":[\"namespace,"
                                                       "get\",\"apiauthorization,delete\"],"
                                                       "\"authorizedNamespace\":\"/acme\"}" },
    { "/acme", "{\"name\":\"p2\",\"subject\":" LINE(
                   "star-user") ","
                                "\"authorizedIdentities\":[\"*,get,put\"],"
                                "\"authorizedNamespace\":\"/acme\"}" },
    /* Subnets. */
    { "/", "{\"name\":\"s1\",\"subject\":" LINE(
               "net-user") ","
                           "\"authorizedIdentities\":[\"@auth:role=namespace.viewer\"],"
                           "\"authorizedNamespace\":\"/\","
                           "\"authorizedSubnets\":[\"10.1.0.0/16\",\"2001:db8::/32\"]}" },
    /* A line of three claims: all must be the token's. */
    { "/acme", "{\"name\":\"c1\",\"subject\":[[\"@auth:realm=vince\",\"@auth:account=alice\","
               "\"@auth:organization=/acme\"]],"
               "\"authorizedIdentities\":[\"@auth:role=namespace.editor\"],"
               "\"authorizedNamespace\":\"/acme\"}" },
    /* Two lines: either one. */
    { "/beta", "{\"name\":\"c2\",\"subject\":[[\"@auth:realm=vince\",\"@auth:account=carol\"],"
               "[\"@auth:realm=ldap\",\"@auth:uid=carol\"]],"
               "\"authorizedIdentities\":[\"@auth:role=namespace.viewer\"],"
               "\"authorizedNamespace\":\"/beta\"}" },
    /* A multi-valued attribute is one claim per value. */
    { "/beta", "{\"name\":\"c3\",\"subject\":[[\"@auth:realm=certificate\","
               "\"@auth:organizationalunit=ops\"]],"
               "\"authorizedIdentities\":[\"@auth:role=namespace.viewer\"],"
               "\"authorizedNamespace\":\"/beta\"}" },
    { "/",
      "{\"name\":\"d1\",\"subject\":" LINE(
          "disabled-user") ","
                           "\"authorizedIdentities\":[\"@auth:role=namespace.administrator\"],"
                           "\"authorizedNamespace\":\"/\",\"disabled\":true}" },
    /* Living in /beta but naming "/": the API refuses it (the hook), the store
     * does not; evaluation must still look only at N and its ancestors. */
    { "/beta",
      "{\"name\":\"x1\",\"subject\":" LINE(
          "stray-user") ","
                        "\"authorizedIdentities\":[\"@auth:role=namespace.administrator\"],"
                        "\"authorizedNamespace\":\"/\"}" },
    /* Administrator of everything: the base the token restrictions narrow. */
    { "/", "{\"name\":\"a1\",\"subject\":" LINE(
               "root-user") ","
                            "\"authorizedIdentities\":[\"@auth:role=namespace.administrator\"],"
                            "\"authorizedNamespace\":\"/\"}" },
};

/* A token: its data (identity attributes) and restrictions, as JSON. */
struct tok {
    const char *name;
    const char *data;
    const char *restrictions; /* NULL: none */
};

#define VINCE(acct) "{\"realm\":\"vince\",\"account\":\"" acct "\"}"

static const struct tok tokens[] = {
    { "admin", VINCE("admin-user"), NULL },
    { "editor", VINCE("editor-user"), NULL },
    { "viewer", VINCE("viewer-user"), NULL },
    { "requester", VINCE("requester-user"), NULL },
    { "raw", VINCE("raw-user"), NULL },
    { "star", VINCE("star-user"), NULL },
    { "net", VINCE("net-user"), NULL },
    { "alice", "{\"realm\":\"vince\",\"account\":\"alice\",\"organization\":\"/acme\"}", NULL },
    { "alice-beta", "{\"realm\":\"vince\",\"account\":\"alice\",\"organization\":\"/beta\"}",
      NULL },
    { "bob", "{\"realm\":\"vince\",\"account\":\"bob\",\"organization\":\"/acme\"}", NULL },
    { "alice-ldap", "{\"realm\":\"ldap\",\"account\":\"alice\",\"organization\":\"/acme\"}",
      NULL },
    { "carol", VINCE("carol"), NULL },
    { "carol-ldap", "{\"realm\":\"ldap\",\"uid\":\"carol\"}", NULL },
    { "carole-ldap", "{\"realm\":\"ldap\",\"uid\":\"carole\"}", NULL },
    { "ou", "{\"realm\":\"certificate\",\"organizationalunit\":[\"dev\",\"ops\"]}", NULL },
    { "ou-dev", "{\"realm\":\"certificate\",\"organizationalunit\":[\"dev\"]}", NULL },
    { "disabled", VINCE("disabled-user"), NULL },
    { "stray", VINCE("stray-user"), NULL },
    { "nobody", VINCE("nobody"), NULL },
    { "root", VINCE("root-user"), NULL },
    { "root-ns", VINCE("root-user"), "{\"namespace\":\"/acme\"}" },
    { "root-perm", VINCE("root-user"), "{\"perms\":[\"namespace,get\"]}" },
    { "root-role", VINCE("root-user"), "{\"perms\":[\"@auth:role=namespace.viewer\"]}" },
    { "root-net", VINCE("root-user"), "{\"networks\":[\"192.168.0.0/24\"]}" },
    { "root-badnet", VINCE("root-user"), "{\"networks\":[\"not-a-network\"]}" },
    { "root-all", VINCE("root-user"),
      "{\"namespace\":\"/acme\",\"perms\":[\"namespace,get,post\"],"
      "\"networks\":[\"192.168.0.0/24\"]}" },
    { "viewer-wide", VINCE("viewer-user"), "{\"perms\":[\"*,*\"]}" },
    { "dave", VINCE("dave"), NULL },
};
#define NTOKENS ARRAY_LEN(tokens)

struct fx {
    char              dir[64];
    struct arena     *a;
    struct principal *who[NTOKENS];
};

static struct fx F;

/* ---- writing through the store ------------------------------------------ */

struct write {
    const struct spec *s;
    struct val         obj;
    struct str         id;
    enum { W_INSERT, W_UPDATE, W_DEL, W_DEL_NAMESPACE } op;
};

static int
write_run(struct tx *tx, void *arg)
{
    struct write *w = arg;
    int           rc;

    switch (w->op) {
    case W_INSERT:
        return tx->ops->insert(tx, w->s, &w->obj);
    case W_UPDATE:
        return tx->ops->update(tx, w->s, &w->obj, NULL);
    case W_DEL:
        return tx->ops->del(tx, w->s, w->id, NULL);
    case W_DEL_NAMESPACE: { /* as namespace_after_delete does, in one transaction */
        struct arena *a = arena_new(1024);
        struct val    gone = val_arr();
        if ((rc = tx->ops->del(tx, &spec_namespace, w->id, NULL)) == E_OK)
            rc = tx->ops->del_subtree(tx, val_get_str(&w->obj, "name"), a, &gone);
        arena_free(a);
        return rc;
    }
    }
    return E_INTERNAL;
}

static void
must_write(struct write *w)
{
    int rc = store_run(kw_store, write_run, w);

    if (rc != E_OK)
        fail_msg("store write (op %d, %s): rc %d", (int)w->op, w->s->identity, rc);
}

/* A namespace row: created with its bare name under `parent`, then named by its
 * full path, as namespace_prepare does. */
static struct val
make_namespace(const char *path)
{
    const char *slash = strrchr(path, '/');
    struct str parent = slash == path ? STR("/") : (struct str){ path, (size_t)(slash - path) };
    struct val in = val_map(), obj;
    struct errbuf eb = { 0 };

    val_set(F.a, &in, "name", val_cstr(slash + 1));
    if (object_new(F.a, &spec_namespace, parent, &in, &obj, &eb) != E_OK)
        fail_msg("namespace %s: %s", path, eb.msg);
    val_get(&obj, "name")->s = str_c(path);
    struct write w = { .s = &spec_namespace, .obj = obj, .op = W_INSERT };
    must_write(&w);
    return obj;
}

static struct val
make_policy(const char *ns, const char *json)
{
    struct val    in, obj;
    struct errbuf eb = { 0 };

    if (codec_decode(CODEC_JSON, F.a, json, strlen(json), 32, &in, &eb) != E_OK)
        fail_msg("policy does not decode: %s: %s", eb.msg, json);
    if (object_new(F.a, &spec_apiauthorization, str_c(ns), &in, &obj, &eb) != E_OK)
        fail_msg("policy invalid: %s: %s", eb.msg, json);
    struct write w = { .s = &spec_apiauthorization, .obj = obj, .op = W_INSERT };
    must_write(&w);
    return obj;
}

/* ---- principals ----------------------------------------------------------- */

/* The account a Vince token names (@auth:id): tokens of accounts that do not
 * exist are refused (auth/accounts.c). Its ID. */
static const char *
make_account(int serial)
{
    struct val    in = val_map(), obj;
    struct errbuf eb = { 0 };

    val_set(F.a, &in, "name", val_cstr(arena_printf(F.a, "acct-%d", serial)));
    val_set(F.a, &in, "password", val_cstr("pw-unit-test-1234"));
    if (object_new(F.a, &spec_account, STR("/"), &in, &obj, &eb) != E_OK)
        fail_msg("account %d: %s", serial, eb.msg);
    struct write w = { .s = &spec_account, .obj = obj, .op = W_INSERT };
    must_write(&w);
    return val_get_str(&obj, "ID").p;
}

static struct principal *
make_principal(const struct tok *t, int serial)
{
    struct arena     *a = arena_new(4096);
    char             *json;
    struct val        payload;
    struct buf        jwt;
    struct errbuf     eb = { 0 };
    struct principal *p = NULL;
    long long         now = time_now_ms() / 1000;

    json =
        arena_printf(a,
                     "{\"realm\":\"Vince\",\"sub\":\"%s\",\"jti\":\"test-%d\",\"iss\":\"%s\","
                     "\"iat\":%lld,\"exp\":%lld,\"data\":{\"id\":\"%s\",%s%s%s}",
                     t->name, serial, cfg.public_url, now, now + 3600, make_account(serial),
                     t->data + 1, t->restrictions != NULL ? ",\"restrictions\":" : "",
                     t->restrictions != NULL ? t->restrictions : "");
    if (codec_decode(CODEC_JSON, a, json, strlen(json), 32, &payload, &eb) != E_OK)
        fail_msg("token %s does not decode: %s", t->name, eb.msg);
    buf_init(&jwt, 16 * 1024);
    if (authn_sign(&payload, &jwt) != E_OK)
        fail_msg("token %s: cannot sign", t->name);
    if (authn_token(buf_str(&jwt), &p, &eb) != E_OK)
        fail_msg("token %s: does not verify: %s", t->name, eb.msg);
    buf_free(&jwt);
    arena_free(a);
    return p;
}

static struct principal *
who(const char *name)
{
    for (size_t i = 0; i < NTOKENS; i++)
        if (strcmp(tokens[i].name, name) == 0)
            return F.who[i];
    fail_msg("no token named %s", name);
    return NULL;
}

/* authz_check for a hand-built query, as engine.c asks it. */
static int
check(const char *tok, const char *ns, const struct spec *s, unsigned verb, const char *ip)
{
    struct authz_query q = { 0 };
    struct errbuf      eb = { 0 };
    int                rc;

    q.a = arena_new(1024);
    q.ns = str_c(ns);
    q.client_ip = str_c(ip != NULL ? ip : "127.0.0.1");
    q.who = who(tok);
    rc = authz_check(&q, s, verb, &eb);
    arena_free(q.a);
    return rc;
}

static const char *
verb_name(unsigned v)
{
    return v == VERB_GET ? "GET" : v == VERB_POST ? "POST" : v == VERB_PUT ? "PUT" : "DELETE";
}

/* ---- fixture ------------------------------------------------------------- */

static const unsigned char master_key[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };

static int
setup(void **state)
{
    static const char *const names[] = { NS_ALL, "/gone" };
    char                     uri[128];
    struct errbuf            eb = { 0 };

    (void)state;
    F.a = arena_new(64 * 1024);
    snprintf(F.dir, sizeof F.dir, "/tmp/kw-authz-XXXXXX");
    if (mkdtemp(F.dir) == NULL)
        fail_msg("mkdtemp");
    snprintf(uri, sizeof uri, "sqlite:%s/keyward.db", F.dir);
    if (store_open(uri, &kw_store, &eb) != E_OK)
        fail_msg("store_open: %s", eb.msg);
    authz_start();
    accounts_start();
    if (authn_init(master_key, &eb) != E_OK)
        fail_msg("authn_init: %s", eb.msg);
    for (size_t i = 0; i < ARRAY_LEN(names); i++)
        make_namespace(names[i]);
    for (size_t i = 0; i < ARRAY_LEN(policies); i++)
        make_policy(policies[i].ns, policies[i].json);
    for (size_t i = 0; i < NTOKENS; i++)
        F.who[i] = make_principal(&tokens[i], (int)i);
    return 0;
}

static int
teardown(void **state)
{
    static const char *const files[] = { "keyward.db", "keyward.db-wal", "keyward.db-shm" };
    char                     p[128];

    (void)state;
    for (size_t i = 0; i < NTOKENS; i++)
        principal_put(F.who[i]);
    authz_shutdown();
    authn_shutdown();
    kw_store->ops->close(kw_store);
    kw_store = NULL;
    for (size_t i = 0; i < ARRAY_LEN(files); i++) {
        snprintf(p, sizeof p, "%s/%s", F.dir, files[i]);
        unlink(p);
    }
    rmdir(F.dir);
    arena_free(F.a);
    return 0;
}

/* ---- the built-in roles ---------------------------------------------------- */

/* What each role grants (API.md section 5), per resource: a normal one
 * (namespace), a secret one (webhook), an admin-only one
 * (apiauthorization), and the two certificate.requester names. */
static const struct spec *const resources[] = {
    &spec_namespace, &spec_webhook, &spec_apiauthorization, &spec_certreq, &spec_cert,
};
#define NRES ARRAY_LEN(resources)
#define ALL  (VERB_GET | VERB_POST | VERB_PUT | VERB_DELETE)

static const struct {
    const char *tok;
    unsigned    verbs[NRES];
} role_rows[] = {
    { "admin", { ALL, ALL, ALL, ALL, ALL } },
    /* API authorizations: read by editors and viewers (no secret), written by
     * administrators only; webhooks (their URLs often hold tokens) are not a viewer's */
    { "editor", { ALL, ALL, VERB_GET, ALL, ALL } },
    { "viewer", { VERB_GET, 0, VERB_GET, VERB_GET, VERB_GET } },
    { "requester", { 0, 0, 0, VERB_GET | VERB_POST, VERB_GET } }, /* API.md 5, exactly */
};

/* Where the request is, relative to the policies' authorizedNamespace /acme/web. */
static const struct {
    const char *ns;
    bool        granted;
} places[] = {
    { "/acme/web", true },      /* own */
    { "/acme/web/deep", true }, /* child */
    { "/acme", false },         /* parent: where the policies live, not what they name */
    { "/acme/mail", false },    /* sibling */
    { "/beta", false },         /* another tree */
    { "/", false },
};

static void
test_roles(void **state)
{
    static const unsigned verbs[] = { VERB_GET, VERB_POST, VERB_PUT, VERB_DELETE };
    size_t                n = 0;

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(role_rows); i++)
        for (size_t j = 0; j < ARRAY_LEN(places); j++)
            for (size_t k = 0; k < NRES; k++)
                for (size_t v = 0; v < ARRAY_LEN(verbs); v++) {
                    bool want = places[j].granted && (role_rows[i].verbs[k] & verbs[v]);
                    int  rc =
                        check(role_rows[i].tok, places[j].ns, resources[k], verbs[v], NULL);
                    if (rc != (want ? E_OK : E_FORBIDDEN))
                        fail_msg("%s %s %s in %s: rc %d, want %s", role_rows[i].tok,
                                 verb_name(verbs[v]), resources[k]->identity, places[j].ns, rc,
                                 want ? "allowed" : "forbidden");
                    n++;
                }
    print_message("%zu role checks\n", n);
}

/* ---- everything else, case by case ----------------------------------------- */

struct acase {
    const char        *tok;
    const char        *ns;
    const struct spec *s;
    unsigned           verb;
    const char        *ip; /* NULL: 127.0.0.1 */
    bool               ok;
};

#define NSS (&spec_namespace)
#define SEC (&spec_webhook)
#define AZ  (&spec_apiauthorization)

static const struct acase cases[] = {
    /* raw permissions: exactly the verbs named, on exactly the identity named */
    { "raw", "/acme", NSS, VERB_GET, NULL, true },
    { "raw", "/acme/web/deep", NSS, VERB_GET, NULL, true },
    { "raw", "/acme", NSS, VERB_POST, NULL, false },
    { "raw", "/acme", NSS, VERB_DELETE, NULL, false },
    { "raw", "/acme", SEC, VERB_GET, NULL, false },
    { "raw", "/acme", AZ, VERB_DELETE, NULL, true }, /* a named identity ignores access */
    { "raw", "/acme", AZ, VERB_GET, NULL, false },
    { "raw", "/beta", NSS, VERB_GET, NULL, false },
    { "star", "/acme", NSS, VERB_GET, NULL, true },
    { "star", "/acme", SEC, VERB_PUT, NULL, true },
    { "star", "/acme", AZ, VERB_GET, NULL, true },
    { "star", "/acme", NSS, VERB_POST, NULL, false },
    { "star", "/acme", AZ, VERB_DELETE, NULL, false },

    /* authorizedSubnets: the client must be in one of them */
    { "net", "/acme", NSS, VERB_GET, "10.1.2.3", true },
    { "net", "/acme", NSS, VERB_GET, "10.1.255.255", true },
    { "net", "/acme", NSS, VERB_GET, "10.2.0.1", false },
    { "net", "/acme", NSS, VERB_GET, "10.0.255.255", false },
    { "net", "/acme", NSS, VERB_GET, "2001:db8::1", true },
    { "net", "/acme", NSS, VERB_GET, "2001:db9::1", false },
    { "net", "/acme", NSS, VERB_GET, "127.0.0.1", false },
    { "net", "/acme", NSS, VERB_GET, "not-an-address", false },
    { "net", "/acme", NSS, VERB_GET, "", false },
    { "net", "/acme", NSS, VERB_POST, "10.1.2.3", false }, /* still only a viewer */

    /* a subject line: every claim of it must be the token's */
    { "alice", "/acme", NSS, VERB_POST, NULL, true },
    { "alice", "/acme/web", SEC, VERB_PUT, NULL, true },
    { "alice-beta", "/acme", NSS, VERB_GET, NULL, false }, /* organization differs */
    { "bob", "/acme", NSS, VERB_GET, NULL, false },        /* account differs */
    { "alice-ldap", "/acme", NSS, VERB_GET, NULL, false }, /* realm differs */
    { "alice", "/beta", NSS, VERB_GET, NULL, false },
    /* lines are alternatives */
    { "carol", "/beta", NSS, VERB_GET, NULL, true },
    { "carol-ldap", "/beta", NSS, VERB_GET, NULL, true },
    { "carole-ldap", "/beta", NSS, VERB_GET, NULL, false },
    { "carol", "/acme", NSS, VERB_GET, NULL, false },
    /* a multi-valued attribute: one claim per value */
    { "ou", "/beta", NSS, VERB_GET, NULL, true },
    { "ou-dev", "/beta", NSS, VERB_GET, NULL, false },

    /* a disabled policy grants nothing */
    { "disabled", "/", NSS, VERB_GET, NULL, false },
    { "disabled", "/acme", NSS, VERB_GET, NULL, false },
    /* only policies living in N and its ancestors count */
    { "stray", "/beta", AZ, VERB_DELETE, NULL, true },
    { "stray", "/acme", NSS, VERB_GET, NULL, false },
    { "stray", "/", NSS, VERB_GET, NULL, false },
    /* no policy names this token at all */
    { "nobody", "/", NSS, VERB_GET, NULL, false },
    { "nobody", "/acme", NSS, VERB_GET, NULL, false },

    /* the token's restrictions narrow what the policies grant, never widen it */
    { "root", "/", AZ, VERB_DELETE, NULL, true },
    { "root", "/beta", NSS, VERB_POST, NULL, true },
    { "root-ns", "/acme", NSS, VERB_POST, NULL, true },
    { "root-ns", "/acme/web/deep", AZ, VERB_DELETE, NULL, true },
    { "root-ns", "/", NSS, VERB_GET, NULL, false },
    { "root-ns", "/beta", NSS, VERB_GET, NULL, false },
    { "root-perm", "/beta", NSS, VERB_GET, NULL, true },
    { "root-perm", "/beta", NSS, VERB_POST, NULL, false },
    { "root-perm", "/beta", SEC, VERB_GET, NULL, false },
    { "root-role", "/acme", NSS, VERB_GET, NULL, true },
    { "root-role", "/acme", NSS, VERB_PUT, NULL, false },
    { "root-role", "/acme", SEC, VERB_GET, NULL, false },
    { "root-net", "/acme", NSS, VERB_GET, "192.168.0.9", true },
    { "root-net", "/acme", NSS, VERB_GET, "192.168.1.9", false },
    { "root-net", "/acme", NSS, VERB_GET, "::1", false },
    { "root-badnet", "/acme", NSS, VERB_GET, "127.0.0.1", false }, /* usable nowhere */
    { "root-all", "/acme/web", NSS, VERB_POST, "192.168.0.1", true },
    { "root-all", "/acme/web", NSS, VERB_PUT, "192.168.0.1", false },
    { "root-all", "/beta", NSS, VERB_POST, "192.168.0.1", false },
    { "root-all", "/acme/web", NSS, VERB_POST, "10.0.0.1", false },
    { "viewer-wide", "/acme/web", NSS, VERB_GET, NULL, true },
    { "viewer-wide", "/acme/web", NSS, VERB_POST, NULL, false },
};

static void
test_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        const struct acase *c = &cases[i];
        int                 rc = check(c->tok, c->ns, c->s, c->verb, c->ip);
        if (rc != (c->ok ? E_OK : E_FORBIDDEN))
            fail_msg("case %zu: %s %s %s in %s from %s: rc %d, want %s", i, c->tok,
                     verb_name(c->verb), c->s->identity, c->ns, c->ip ? c->ip : "127.0.0.1", rc,
                     c->ok ? "allowed" : "forbidden");
    }
    print_message("%zu cases\n", ARRAY_LEN(cases));
}

/* ---- the snapshot follows committed writes ---------------------------------- */

/* A policy written, changed and deleted through the store is obeyed at the very
 * next check: the observer applies it (no generation bump, no rebuild). */
static void
test_policy_writes_are_followed(void **state)
{
    uint64_t gen;

    (void)state;
    assert_int_equal(check("dave", "/acme", NSS, VERB_GET, NULL), E_FORBIDDEN);
    gen = authz_generation();

    struct val pol = make_policy(
        "/acme", "{\"name\":\"dave\",\"subject\":" LINE(
                     "dave") ","
                             "\"authorizedIdentities\":[\"@auth:role=namespace.viewer\"],"
                             "\"authorizedNamespace\":\"/acme\"}");
    assert_int_equal(check("dave", "/acme", NSS, VERB_GET, NULL), E_OK);
    assert_int_equal(check("dave", "/acme", NSS, VERB_POST, NULL), E_FORBIDDEN);

    /* updated to the editor role */
    val_get(&pol, "authorizedIdentities")->a.v[0] = val_cstr("@auth:role=namespace.editor");
    struct write up = { .s = AZ, .obj = pol, .op = W_UPDATE };
    must_write(&up);
    assert_int_equal(check("dave", "/acme", NSS, VERB_POST, NULL), E_OK);

    /* disabled */
    val_set(F.a, &pol, "disabled", val_bool(true));
    up.obj = pol;
    must_write(&up);
    assert_int_equal(check("dave", "/acme", NSS, VERB_GET, NULL), E_FORBIDDEN);

    /* enabled again, then deleted */
    val_set(F.a, &pol, "disabled", val_bool(false));
    up.obj = pol;
    must_write(&up);
    assert_int_equal(check("dave", "/acme", NSS, VERB_GET, NULL), E_OK);
    struct write del = { .s = AZ, .id = val_get_str(&pol, "ID"), .op = W_DEL };
    must_write(&del);
    assert_int_equal(check("dave", "/acme", NSS, VERB_GET, NULL), E_FORBIDDEN);

    /* the other policies were kept */
    assert_int_equal(check("viewer", "/acme/web", NSS, VERB_GET, NULL), E_OK);
    assert_int_equal(check("alice", "/acme", NSS, VERB_POST, NULL), E_OK);
    assert_int_equal(authz_generation(), gen);
}

/* Deleting a namespace takes its policies with it, unnamed: the snapshot is
 * rebuilt (a new generation) and they stop granting. */
static void
test_namespace_delete_drops_its_policies(void **state)
{
    uint64_t gen;

    (void)state;
    make_policy("/gone",
                "{\"name\":\"g\",\"subject\":" LINE(
                    "dave") ","
                            "\"authorizedIdentities\":[\"@auth:role=namespace.administrator\"],"
                            "\"authorizedNamespace\":\"/gone\"}");
    assert_int_equal(check("dave", "/gone", NSS, VERB_DELETE, NULL), E_OK);
    gen = authz_generation();

    struct val    row;
    struct errbuf eb = { 0 };
    if (kw_store->ops->find(kw_store, &spec_namespace, NULL, "name", STR("/gone"), F.a, &row,
                            &eb) != E_OK)
        fail_msg("find /gone: %s", eb.msg);
    struct write w = {
        .s = NSS, .obj = row, .id = val_get_str(&row, "ID"), .op = W_DEL_NAMESPACE
    };
    must_write(&w);
    assert_true(authz_generation() > gen);
    assert_int_equal(check("dave", "/gone", NSS, VERB_DELETE, NULL), E_FORBIDDEN);
    assert_int_equal(check("admin", "/acme/web", AZ, VERB_DELETE, NULL), E_OK);
}

/* ---- accounts ------------------------------------------------------------------ */

/* Two writes of one account in one commit, an update and then its disabling:
 * the last decides, so its tokens are refused. */
static int
update_then_disable(struct tx *tx, void *arg)
{
    struct val *acct = arg, off = val_clone(F.a, acct);
    int         rc = tx->ops->update(tx, &spec_account, acct, NULL);

    val_set(F.a, &off, "disabled", val_bool(true));
    return rc == E_OK ? tx->ops->update(tx, &spec_account, &off, NULL) : rc;
}

static void
test_the_last_write_of_an_account_decides(void **state)
{
    struct principal *p = make_principal(&tokens[0], 900);
    struct errbuf     eb = { 0 };
    struct val        acct;

    (void)state;
    assert_int_equal(accounts_check(p, &eb), E_OK);
    assert_int_equal(kw_store->ops->find(kw_store, &spec_account, NULL, "name", STR("acct-900"),
                                         F.a, &acct, &eb),
                     E_OK);
    val_set(F.a, &acct, "description", val_cstr("updated, then disabled"));
    assert_int_equal(store_run(kw_store, update_then_disable, &acct), E_OK);
    assert_int_equal(accounts_check(p, &eb), E_UNAUTH);
    principal_put(p);
}

/* A user of an LDAP or OIDC provider outside / is confined to the provider's
 * namespace, also in a token signed before /issue confined it (review 11: a
 * tenant's look-alike provider was granted what a policy at / gave the real
 * one; tokens of that kind live up to 720 h). */
static void
test_a_providers_user_is_confined_to_its_namespace(void **state)
{
    static const struct {
        const char *realm, *home, *restricted, *want; /* want NULL: refused */
    } conf[] = {
        { "ldap", "/acme", NULL, "/acme" },
        { "oidc", "/acme", NULL, "/acme" },
        { "ldap", "/acme", "/", "/acme" },
        { "oidc", "/acme/web", "/acme", "/acme/web" },
        { "ldap", "/acme", "/acme", "/acme" },
        { "ldap", "/acme", "/acme/web", "/acme/web" }, /* narrower stays */
        { "ldap", "/acme", "/beta", NULL },            /* outside: usable nowhere */
        { "oidc", "/acme", "/acmex", NULL },
        { "ldap", "/", NULL, "" }, /* a provider of / confines nothing */
        { "vince", "/acme", NULL, "" },
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(conf); i++) {
        struct arena     *a = arena_new(4096);
        struct val        payload;
        struct buf        jwt;
        struct errbuf     eb = { 0 };
        struct principal *p = NULL;
        long long         now = time_now_ms() / 1000;
        const char       *r = conf[i].restricted;
        char             *json = arena_printf(
                        a,
                        "{\"realm\":\"x\",\"sub\":\"u\",\"jti\":\"confine-%zu\",\"iss\":"
                                    "\"%s\",\"iat\":%lld,\"exp\":%lld,\"data\":{\"realm\":\"%s\","
                                    "\"namespace\":\"%s\"}%s%s%s}",
                        i, cfg.public_url, now, now + 3600, conf[i].realm, conf[i].home,
            r ? ",\"restrictions\":{\"namespace\":\"" : "", r ? r : "", r ? "\"}" : "");

        if (codec_decode(CODEC_JSON, a, json, strlen(json), 32, &payload, &eb) != E_OK)
            fail_msg("case %zu does not decode: %s", i, eb.msg);
        buf_init(&jwt, 16 * 1024);
        assert_int_equal(authn_sign(&payload, &jwt), E_OK);
        int rc = authn_token(buf_str(&jwt), &p, &eb);
        if (conf[i].want == NULL) {
            if (rc != E_UNAUTH)
                fail_msg("case %zu: accepted, restricted to '%.*s'", i,
                         STR_FMT(p->restricted_ns));
        } else if (rc != E_OK || !str_eq_c(p->restricted_ns, conf[i].want)) {
            fail_msg("case %zu: rc %d, restricted to '%.*s', want '%s'", i, rc,
                     p ? (int)p->restricted_ns.len : 0, p ? p->restricted_ns.p : "",
                     conf[i].want);
        }
        if (p != NULL)
            principal_put(p);
        buf_free(&jwt);
        arena_free(a);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roles),
        cmocka_unit_test(test_a_providers_user_is_confined_to_its_namespace),
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_policy_writes_are_followed),
        cmocka_unit_test(test_namespace_delete_drops_its_policies),
        cmocka_unit_test(test_the_last_write_of_an_account_decides),
    };

    config_defaults(&cfg);
    config_set(&cfg, "sync", "normal", NULL);
    config_set(&cfg, "public_url", "https://keyward.test", NULL);
    spec_init();
    return cmocka_run_group_tests(tests, setup, teardown);
}
