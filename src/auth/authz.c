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
#include "../model/roles.h"
#include "../model/specs.h"
#include "../store/store.h"
#include "accounts.h"
#include "authn.h"

struct line {
    struct str *claims;
    size_t      n;
};

/* One API authorization, parsed. Shared by every snapshot that holds it (a
 * delta makes a new snapshot that shares all the unchanged ones). */
struct policy {
    int           refs; /* atomic */
    struct arena *a;    /* owns everything below */
    struct str    id, ns, auth_ns;
    struct line  *lines;
    size_t        nlines;
    struct grant *grants;
    size_t        ngrants;
    struct cidr  *nets;
    size_t        nnets;
};

/* What authorizes requests now: the policies sorted by the namespace they live
 * in. Immutable once published; replaced whole. */
struct snapshot {
    struct policy **p;
    size_t          n;
    uint64_t        gen;
    int             refs; /* atomic */
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
policy_put(struct policy *p)
{
    if (p != NULL && __atomic_sub_fetch(&p->refs, 1, __ATOMIC_ACQ_REL) == 0)
        arena_free(p->a);
}

static void
snapshot_put(struct snapshot *s)
{
    if (s == NULL || __atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    for (size_t i = 0; i < s->n; i++)
        policy_put(s->p[i]);
    free(s->p);
    free(s);
}

static struct snapshot *
snapshot_new(size_t cap, uint64_t gen)
{
    struct snapshot *s = calloc(1, sizeof *s);

    if (s == NULL || (s->p = calloc(cap ? cap : 1, sizeof *s->p)) == NULL)
        abort();
    s->gen = gen;
    s->refs = 1;
    return s;
}

static int
cmp_policy(const void *x, const void *y)
{
    const struct policy *a = *(struct policy *const *)x, *b = *(struct policy *const *)y;
    size_t               n = a->ns.len < b->ns.len ? a->ns.len : b->ns.len;
    int                  c = memcmp(a->ns.p, b->ns.p, n);

    return c != 0 ? c : (a->ns.len > b->ns.len) - (a->ns.len < b->ns.len);
}

static struct str
get_s(struct arena *a, const struct val *o, const char *k)
{
    struct val *v = val_get(o, k);

    return v != NULL && v->t == V_STR ? arena_str(a, v->s) : STR_NULL;
}

static void
parse_subject(struct policy *p, const struct val *subj)
{
    p->lines = arena_calloc(p->a, subj->a.n, sizeof *p->lines);
    for (size_t i = 0; i < subj->a.n; i++) {
        const struct val *l = &subj->a.v[i];
        struct line      *ln = &p->lines[p->nlines++];
        ln->claims = arena_calloc(p->a, l->a.n, sizeof *ln->claims);
        for (size_t j = 0; j < l->a.n; j++)
            ln->claims[ln->n++] = arena_str(p->a, l->a.v[j].s);
    }
}

/* A stored API authorization, parsed into a node of its own (strings copied: the
 * stored object's memory goes away). NULL when it grants nothing: disabled, or
 * restricted to subnets none of which parses. An identity that no longer parses
 * (a role removed in a newer version) is skipped rather than failing requests. */
static struct policy *
policy_new(const struct val *o)
{
    const struct val *subj = val_get(o, "subject"), *ids = val_get(o, "authorizedIdentities");
    const struct val *nets = val_get(o, "authorizedSubnets"), *dis = val_get(o, "disabled");
    struct policy    *p;
    struct errbuf     eb;

    if (subj == NULL || ids == NULL || subj->t != V_ARR || ids->t != V_ARR ||
        (dis != NULL && dis->t == V_BOOL && dis->b))
        return NULL;
    struct arena *a = arena_new(512);
    p = arena_calloc(a, 1, sizeof *p);
    p->a = a;
    p->refs = 1;
    p->id = get_s(a, o, "ID");
    p->ns = get_s(a, o, "namespace");
    p->auth_ns = get_s(a, o, "authorizedNamespace");
    parse_subject(p, subj);
    p->grants = arena_calloc(a, ids->a.n * ROLE_GRANTS_MAX, sizeof *p->grants);
    for (size_t i = 0; i < ids->a.n; i++)
        if (roles_parse_identity(a, ids->a.v[i].s, p->grants, &p->ngrants, &eb) != E_OK)
            log_warn("authz: ignoring '%.*s': %s", STR_FMT(ids->a.v[i].s), eb.msg);
    if (nets != NULL && nets->t == V_ARR && nets->a.n > 0) {
        p->nets = arena_calloc(a, nets->a.n, sizeof *p->nets);
        for (size_t i = 0; i < nets->a.n; i++)
            if (cidr_parse(nets->a.v[i].s, &p->nets[p->nnets]) == E_OK)
                p->nnets++;
    }
    if (nets != NULL && nets->t == V_ARR && nets->a.n > 0 && p->nnets == 0) {
        arena_free(a);
        return NULL;
    }
    return p;
}

/* Every policy from the store; the decoded documents are dropped at once. */
static struct snapshot *
snapshot_build(uint64_t gen)
{
    struct arena    *tmp = arena_new(64 * 1024);
    struct val       items;
    struct errbuf    eb;
    struct snapshot *s;

    if (store_list_all(kw_store, &spec_apiauthorization, tmp, &items, &eb) != E_OK) {
        log_error("authz: cannot load API authorizations: %s", eb.msg);
        arena_free(tmp);
        return snapshot_new(0, 0); /* gen 0: try again next time */
    }
    s = snapshot_new(items.a.n, gen);
    for (size_t i = 0; i < items.a.n; i++)
        if ((s->p[s->n] = policy_new(&items.a.v[i])) != NULL)
            s->n++;
    arena_free(tmp);
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

static bool
changed(const struct val *changes, struct str id)
{
    return val_get_s(changes, id) != NULL;
}

/* s = old without the changed policies, plus their new versions, in order: the
 * few new ones are sorted and merged into the already sorted rest (a write to
 * one policy among thousands must not pay for sorting them all). */
static void
merge(struct snapshot *s, const struct snapshot *old, const struct val *ch)
{
    struct policy **add = calloc(ch->m.n, sizeof *add);
    size_t          nadd = 0, i = 0, j = 0;

    if (add == NULL)
        abort();
    for (size_t k = 0; k < ch->m.n; k++)
        if (ch->m.kv[k].v.t == V_MAP && (add[nadd] = policy_new(&ch->m.kv[k].v)) != NULL)
            nadd++;
    qsort(add, nadd, sizeof *add, cmp_policy);
    while (i < old->n || j < nadd) {
        if (i < old->n && changed(ch, old->p[i]->id)) {
            i++;
            continue;
        }
        if (j == nadd || (i < old->n && cmp_policy(&old->p[i], &add[j]) <= 0)) {
            __atomic_add_fetch(&old->p[i]->refs, 1, __ATOMIC_RELAXED);
            s->p[s->n++] = old->p[i++];
        } else
            s->p[s->n++] = add[j++];
    }
    free(add);
}

/* Apply committed policy changes (ID -> object, or null: deleted) to the
 * snapshot, so the very next request is judged by them without a rebuild: the
 * unchanged policies are shared, only the changed ones are parsed. If a full
 * rebuild is pending (or the snapshot was never built), it will read them from
 * the store instead. */
static void
apply(const struct val *ch)
{
    struct snapshot *s, *old;

    pthread_mutex_lock(&snap_mu);
    old = snap;
    if (old == NULL || old->gen != authz_generation()) {
        pthread_mutex_unlock(&snap_mu);
        return;
    }
    s = snapshot_new(old->n + ch->m.n, old->gen);
    merge(s, old, ch);
    snap = s;
    pthread_mutex_unlock(&snap_mu);
    snapshot_put(old);
}

/* The store's observer (store_observe): whoever wrote a policy, a request, a
 * hook or a job, the snapshot follows it before the writer is answered. A
 * deleted namespace subtree took policies with it unnamed: rebuild. */
static void
on_changes(const struct change *ch, size_t n)
{
    struct arena *a = NULL;
    struct val    policies = val_map();

    for (size_t i = 0; i < n; i++) {
        if (ch[i].job)
            continue;
        if (ch[i].s == NULL || ch[i].reset) {
            authz_invalidate();
            continue;
        }
        if (ch[i].s != &spec_apiauthorization)
            continue;
        if (a == NULL)
            a = arena_new(4096);
        val_set_s(a, &policies, ch[i].id, ch[i].obj);
    }
    if (a != NULL)
        apply(&policies);
    arena_free(a);
}

void
authz_start(void)
{
    store_observe(on_changes);
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

/* Whether `outer` holds every address of `inner` (two networks nest or are
 * apart). */
static bool
net_within(const struct cidr *inner, const struct cidr *outer)
{
    return outer->bits <= inner->bits && cidr_contains(outer, inner->addr);
}

/* Whether one of nets[0..n) holds the query's address, or all of its network. */
static bool
query_in(const struct authz_query *r, const struct cidr *nets, size_t n)
{
    unsigned char ip[16];

    if (r->from == NULL && ip_parse(r->client_ip, ip) != E_OK)
        return false;
    for (size_t i = 0; i < n; i++)
        if (r->from != NULL ? net_within(r->from, &nets[i]) : cidr_contains(&nets[i], ip))
            return true;
    return false;
}

static bool
client_in(const struct policy *p, const struct authz_query *r)
{
    return p->nnets == 0 || query_in(r, p->nets, p->nnets);
}

/* The token's restrictedPermissions, if any, must allow it too. */
static bool
restrictions_allow(const struct authz_query *r, const struct spec *s, unsigned verb)
{
    const struct principal *who = r->who;

    if (who->restricted_ns.len > 0 && !nspath_within(r->ns, who->restricted_ns))
        return false;
    if (who->restricted_nets != NULL &&
        !query_in(r, who->restricted_nets, who->nrestricted_nets))
        return false;
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
static struct policy *const *
first_in(const struct snapshot *sn, struct str at, size_t *count)
{
    size_t        lo = 0, hi = sn->n;
    struct policy key = { .ns = at }, *kp = &key;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cmp_policy(&sn->p[mid], &kp) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *count = 0;
    while (lo + *count < sn->n && str_eq(sn->p[lo + *count]->ns, at))
        (*count)++;
    return &sn->p[lo];
}

static bool
level_allows(const struct snapshot *sn, const struct authz_query *r, struct str at,
             const struct spec *s, unsigned verb)
{
    size_t                n;
    struct policy *const *pp = first_in(sn, at, &n);

    for (size_t i = 0; i < n; i++) {
        const struct policy *p = pp[i];
        if (!nspath_within(r->ns, p->auth_ns) || !subject_matches(p, r->who) ||
            !client_in(p, r))
            continue;
        for (size_t j = 0; j < p->ngrants; j++)
            if (grant_allows(&p->grants[j], s, verb))
                return true;
    }
    return false;
}

static bool
allowed(const struct snapshot *sn, const struct authz_query *r, const struct spec *s,
        unsigned verb)
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
authz_check(const struct authz_query *r, const struct spec *s, unsigned verb, struct errbuf *eb)
{
    struct snapshot *sn;
    bool             ok;
    int              rc;

    if ((rc = accounts_check(r->who, eb)) != E_OK)
        return rc;
    if (!restrictions_allow(r, s, verb))
        return errbuf_set(eb, E_FORBIDDEN, "You are not allowed to access this resource.");
    sn = snapshot_get();
    if (sn->gen == 0) { /* the policies could not be read: judging by none would refuse */
        snapshot_put(sn);
        return errbuf_set(eb, E_UNAVAILABLE,
                          "The store is unavailable: the API authorizations cannot be read");
    }
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
