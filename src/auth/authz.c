/* authz.c - API authorizations, evaluated against an in-memory snapshot.
 *
 * Every API authorization is parsed once into a snapshot sorted by the namespace
 * it lives in. A request on namespace N looks only at the policies living in N
 * and its ancestors (a binary search per level). A committed write to policies or
 * namespaces bumps a generation number; the next check rebuilds the snapshot.
 */
#include "authz.h"

#include <pthread.h>
#include <stdlib.h>

#include "../core/log.h"
#include "../core/net.h"
#include "../core/nspath.h"
#include "../model/specs.h"
#include "../store/store.h"
#include "authn.h"
#include "roles.h"

struct line {
    struct str *claims;
    size_t      n;
};

struct policy {
    struct str    ns, auth_ns;
    struct line  *lines;
    size_t        nlines;
    struct grant *grants;
    size_t        ngrants;
    struct cidr  *nets;
    size_t        nnets;
};

struct snapshot {
    struct arena  *a;
    struct policy *p;
    size_t         n;
    uint64_t       gen;
    int            refs;
};

static pthread_mutex_t  snap_mu = PTHREAD_MUTEX_INITIALIZER;
static struct snapshot *snap;
static uint64_t         generation = 1;

uint64_t
authz_generation(void)
{
    return __atomic_load_n(&generation, __ATOMIC_ACQUIRE);
}

void
authz_invalidate(void)
{
    __atomic_add_fetch(&generation, 1, __ATOMIC_ACQ_REL);
}

static void
snapshot_put(struct snapshot *s)
{
    if (s != NULL && __atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        arena_free(s->a);
        free(s);
    }
}

static int
cmp_policy(const void *x, const void *y)
{
    const struct policy *a = x, *b = y;
    size_t               n = a->ns.len < b->ns.len ? a->ns.len : b->ns.len;
    int                  c = memcmp(a->ns.p, b->ns.p, n);

    return c != 0 ? c : (a->ns.len > b->ns.len) - (a->ns.len < b->ns.len);
}

static struct str
get_s(const struct val *o, const char *k)
{
    struct val *v = val_get(o, k);

    return v != NULL && v->t == V_STR ? v->s : STR_NULL;
}

/* Parse a stored policy; one that no longer parses (a role removed in a newer
 * version) grants nothing rather than failing every request. */
static bool
policy_parse(struct arena *a, const struct val *o, struct policy *p)
{
    const struct val *subj = val_get(o, "subject"), *ids = val_get(o, "authorizedIdentities");
    const struct val *nets = val_get(o, "authorizedSubnets"), *dis = val_get(o, "disabled");
    struct errbuf     eb;

    if (subj == NULL || ids == NULL || subj->t != V_ARR || ids->t != V_ARR ||
        (dis != NULL && dis->t == V_BOOL && dis->b))
        return false;
    p->ns = get_s(o, "namespace");
    p->auth_ns = get_s(o, "authorizedNamespace");
    p->lines = arena_calloc(a, subj->a.n, sizeof *p->lines);
    for (size_t i = 0; i < subj->a.n; i++) {
        const struct val *l = &subj->a.v[i];
        struct line      *ln = &p->lines[p->nlines++];
        ln->claims = arena_calloc(a, l->a.n, sizeof *ln->claims);
        for (size_t j = 0; j < l->a.n; j++)
            ln->claims[ln->n++] = l->a.v[j].s;
    }
    p->grants = arena_calloc(a, ids->a.n * ROLE_GRANTS_MAX, sizeof *p->grants);
    for (size_t i = 0; i < ids->a.n; i++)
        if (roles_parse_identity(a, ids->a.v[i].s, p->grants, &p->ngrants, &eb) != E_OK)
            log_warn("authz: ignoring '%.*s': %s", STR_FMT(ids->a.v[i].s), eb.msg);
    if (nets != NULL && nets->t == V_ARR && nets->a.n > 0) {
        p->nets = arena_calloc(a, nets->a.n, sizeof *p->nets);
        for (size_t i = 0; i < nets->a.n; i++)
            if (cidr_parse(nets->a.v[i].s, &p->nets[p->nnets]) == E_OK)
                p->nnets++;
        if (p->nnets == 0)
            return false; /* restricted to subnets, none valid: grants nothing */
    }
    return true;
}

static struct snapshot *
snapshot_build(uint64_t gen)
{
    struct snapshot *s = calloc(1, sizeof *s);
    struct listq     q = { .scope = { STR("/"), true }, .limit = -1 };
    struct val       items;
    struct errbuf    eb;

    if (s == NULL)
        abort();
    s->a = arena_new(64 * 1024);
    s->gen = gen;
    s->refs = 1;
    if (kw_store->ops->list(kw_store, &spec_apiauthorization, &q, s->a, &items, NULL, &eb) !=
        E_OK) {
        log_error("authz: cannot load API authorizations: %s", eb.msg);
        s->gen = 0; /* try again next time */
        return s;
    }
    s->p = arena_calloc(s->a, items.a.n, sizeof *s->p);
    for (size_t i = 0; i < items.a.n; i++)
        if (policy_parse(s->a, &items.a.v[i], &s->p[s->n]))
            s->n++;
    qsort(s->p, s->n, sizeof *s->p, cmp_policy);
    return s;
}

static struct snapshot *
snapshot_get(void)
{
    uint64_t         gen = __atomic_load_n(&generation, __ATOMIC_ACQUIRE);
    struct snapshot *s;

    pthread_mutex_lock(&snap_mu);
    if (snap == NULL || snap->gen != gen) {
        snapshot_put(snap);
        snap = snapshot_build(gen);
    }
    s = snap;
    __atomic_add_fetch(&s->refs, 1, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&snap_mu);
    return s;
}

void
authz_shutdown(void)
{
    pthread_mutex_lock(&snap_mu);
    snapshot_put(snap);
    snap = NULL;
    pthread_mutex_unlock(&snap_mu);
}

/* ---- evaluation ---------------------------------------------------------- */

static bool
subject_matches(const struct policy *p, const struct principal *who)
{
    for (size_t i = 0; i < p->nlines; i++) {
        bool all = true;
        for (size_t j = 0; j < p->lines[i].n && all; j++)
            all = principal_has(who, p->lines[i].claims[j]);
        if (all)
            return true;
    }
    return false;
}

static bool
client_in(const struct policy *p, struct str client_ip)
{
    unsigned char ip[16];

    if (p->nnets == 0)
        return true;
    if (ip_parse(client_ip, ip) != E_OK)
        return false;
    for (size_t i = 0; i < p->nnets; i++)
        if (cidr_contains(&p->nets[i], ip))
            return true;
    return false;
}

/* The token's restrictedPermissions, if any, must allow it too. */
static bool
restrictions_allow(struct req *r, const struct spec *s, unsigned verb)
{
    const struct principal *who = r->who;

    if (who->restricted_ns.len > 0 && !nspath_within(r->ns, who->restricted_ns))
        return false;
    if (who->restricted_nets != NULL) {
        unsigned char ip[16];
        bool          in = false;
        if (ip_parse(r->client_ip, ip) == E_OK)
            for (size_t i = 0; i < who->nrestricted_nets && !in; i++)
                in = cidr_contains(&who->restricted_nets[i], ip);
        if (!in)
            return false;
    }
    if (who->nrestricted_perms == 0)
        return true;
    for (size_t i = 0; i < who->nrestricted_perms; i++) {
        struct grant  g[ROLE_GRANTS_MAX];
        size_t        n = 0;
        struct errbuf eb;
        if (roles_parse_identity(r->a, who->restricted_perms[i], g, &n, &eb) != E_OK)
            continue;
        for (size_t j = 0; j < n; j++)
            if (grant_allows(&g[j], s, verb))
                return true;
    }
    return false;
}

/* Policies living exactly in namespace `at`. */
static const struct policy *
first_in(const struct snapshot *sn, struct str at, size_t *count)
{
    size_t lo = 0, hi = sn->n;
    struct policy key = { .ns = at };

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cmp_policy(&sn->p[mid], &key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *count = 0;
    while (lo + *count < sn->n && str_eq(sn->p[lo + *count].ns, at))
        (*count)++;
    return &sn->p[lo];
}

static bool
level_allows(const struct snapshot *sn, struct req *r, struct str at, const struct spec *s,
             unsigned verb)
{
    size_t               n;
    const struct policy *p = first_in(sn, at, &n);

    for (size_t i = 0; i < n; i++, p++) {
        if (!nspath_within(r->ns, p->auth_ns) || !subject_matches(p, r->who) ||
            !client_in(p, r->client_ip))
            continue;
        for (size_t j = 0; j < p->ngrants; j++)
            if (grant_allows(&p->grants[j], s, verb))
                return true;
    }
    return false;
}

static bool
allowed(const struct snapshot *sn, struct req *r, const struct spec *s, unsigned verb)
{
    struct str ns = r->ns;

    if (level_allows(sn, r, STR("/"), s, verb))
        return true;
    for (size_t i = 1; ns.len > 1 && i <= ns.len; i++)
        if ((i == ns.len || ns.p[i] == '/') &&
            level_allows(sn, r, (struct str){ ns.p, i }, s, verb))
            return true;
    return false;
}

int
authz_check(struct req *r, const struct spec *s, unsigned verb, struct errbuf *eb)
{
    struct snapshot *sn;
    bool             ok;

    if (!restrictions_allow(r, s, verb))
        return errbuf_set(eb, E_FORBIDDEN, "You are not allowed to access this resource.");
    sn = snapshot_get();
    ok = allowed(sn, r, s, verb);
    snapshot_put(sn);
    if (!ok)
        return errbuf_set(eb, E_FORBIDDEN, "You are not allowed to access this resource.");
    return E_OK;
}

int
authz_check_identity(struct str entry, struct errbuf *eb)
{
    struct arena *a = arena_new(256);
    struct grant  g[ROLE_GRANTS_MAX];
    size_t        n = 0;
    int           rc = roles_parse_identity(a, entry, g, &n, eb);

    arena_free(a);
    return rc;
}
