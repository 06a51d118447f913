/* accounts.c - which tokens' sources still stand: Vince accounts, LDAP and
 * OIDC providers, service accounts and app credentials.
 *
 * A token of realm Vince names its account (claim @auth:id), one of realm
 * LDAP or OIDC the provider that vouched for it (claim @auth:providerid), one
 * of realm ServiceAccount its service account (@auth:clientid), one of realm
 * Certificate its app credential (in @auth:commonname,
 * "app:credential:<ID>:<name>"); a Token realm copy keeps its original's
 * realm and claims. Its signature verifies until it expires, so once the
 * account is disabled or deleted, or the provider, service account or
 * credential deleted (also with its namespace), the token is refused here,
 * at the next request, on every server: these specs are announced
 * (spec.announced), so a change on another server resets this set as it
 * resets the authorization snapshot. One made again under the same name is
 * another: the old tokens stay refused (a black-box review had an LDAP token
 * of a deleted namespace's provider admitted by the policies of a namespace
 * re-created at its path, and another a deleted service account's token
 * admitted by a policy on every service account of its namespace).
 *
 * The set: the IDs of the enabled accounts and of the other sources, sorted,
 * immutable once published. Rebuilt from the store when it was dropped (a
 * namespace subtree went, another server wrote, or the authorization
 * generation moved), patched with committed changes of them otherwise.
 */
#include "accounts.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../core/log.h"
#include "../model/specs.h"
#include "../store/store.h"
#include "authz.h"

#define ID_LEN 24

struct idset {
    char (*ids)[ID_LEN];
    size_t   n;
    uint64_t gen;  /* the authorization generation it was built under */
    int      refs; /* atomic */
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct idset   *live; /* NULL: to rebuild */

static struct idset *
idset_new(size_t cap, uint64_t gen)
{
    struct idset *s = calloc(1, sizeof *s);

    if (s == NULL || (s->ids = calloc(cap ? cap : 1, ID_LEN)) == NULL)
        abort();
    s->gen = gen;
    s->refs = 1;
    return s;
}

static void
idset_put(struct idset *s)
{
    if (s != NULL && __atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        free(s->ids);
        free(s);
    }
}

static int
cmp_id(const void *a, const void *b)
{
    return memcmp(a, b, ID_LEN);
}

static bool
idset_has(const struct idset *s, struct str id)
{
    return id.len == ID_LEN && bsearch(id.p, s->ids, s->n, ID_LEN, cmp_id) != NULL;
}

/* An account object whose tokens are honoured: not disabled. */
static bool
enabled(const struct val *o)
{
    const struct val *d = val_get(o, "disabled");

    return o->t == V_MAP && !(d != NULL && d->t == V_BOOL && d->b);
}

static void
idset_add(struct idset *s, struct str id)
{
    if (id.len == ID_LEN)
        memcpy(s->ids[s->n++], id.p, ID_LEN);
}

/* What tokens are vouched for by (IDs are unique across specs). */
static const struct spec *const sources[] = { &spec_account, &spec_ldapprovider,
                                              &spec_oidcprovider, &spec_serviceaccount,
                                              &spec_appcredential };

static bool
is_source(const struct spec *s)
{
    for (size_t i = 0; i < ARRAY_LEN(sources); i++)
        if (s == sources[i])
            return true;
    return false;
}

/* Every enabled account and every provider in the store; NULL when the store
 * does not answer. */
static struct idset *
idset_build(uint64_t gen)
{
    struct arena *tmp = arena_new(64 * 1024);
    struct val    items[ARRAY_LEN(sources)];
    struct errbuf eb;
    struct idset *s = NULL;
    size_t        n = 0, got = 0;

    for (; got < ARRAY_LEN(sources); got++) {
        if (store_list_all(kw_store, sources[got], tmp, &items[got], &eb) != E_OK) {
            log_error("accounts: cannot load %s: %s", sources[got]->rest, eb.msg);
            break;
        }
        n += items[got].a.n;
    }
    if (got == ARRAY_LEN(sources)) {
        s = idset_new(n, gen);
        for (size_t k = 0; k < got; k++)
            for (size_t i = 0; i < items[k].a.n; i++)
                if (enabled(&items[k].a.v[i]))
                    idset_add(s, val_get_str(&items[k].a.v[i], "ID"));
        qsort(s->ids, s->n, ID_LEN, cmp_id);
    }
    arena_free(tmp);
    return s;
}

/* A reference to the current set, rebuilt first if needed; NULL when it
 * cannot be built. */
static struct idset *
idset_get(void)
{
    uint64_t      gen = authz_generation();
    struct idset *s;

    pthread_mutex_lock(&mu);
    if (live == NULL || live->gen != gen) {
        idset_put(live);
        live = idset_build(gen);
    }
    if ((s = live) != NULL)
        __atomic_add_fetch(&s->refs, 1, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&mu);
    return s;
}

/* The ID of what vouched for a token of p's realm, in *id. False for a realm
 * of no source (none is left: every realm's source is kept here). */
static bool
source_id(const struct principal *p, struct str *id)
{
    *id = STR_NULL;
    if (str_eq_nocase(p->realm, "vince"))
        *id = principal_claim(p, "id");
    else if (str_eq_nocase(p->realm, "ldap") || str_eq_nocase(p->realm, "oidc"))
        *id = principal_claim(p, "providerid");
    else if (str_eq_nocase(p->realm, "serviceaccount"))
        *id = principal_claim(p, "clientid");
    else if (str_eq_nocase(p->realm, "certificate")) {
        if (!appcredential_cn_id(principal_claim(p, "commonname"), id))
            *id = STR_NULL;
    } else
        return false;
    return true;
}

struct str
accounts_source(const struct principal *p)
{
    struct str id;

    source_id(p, &id);
    return id;
}

int
accounts_check(const struct principal *p, struct errbuf *eb)
{
    struct idset *s;
    struct str    id;
    bool          ok;

    if (!source_id(p, &id))
        return E_OK;
    if ((s = idset_get()) == NULL)
        return errbuf_set(eb, E_UNAVAILABLE, "The store is unavailable");
    ok = idset_has(s, id);
    idset_put(s);
    return ok ? E_OK : errbuf_set(eb, E_UNAUTH, "Invalid or expired token");
}

bool
accounts_gone(const struct principal *p)
{
    struct str id;
    bool       gone = false;

    if (!source_id(p, &id))
        return false;
    pthread_mutex_lock(&mu);
    if (live != NULL && live->gen == authz_generation())
        gone = !idset_has(live, id);
    pthread_mutex_unlock(&mu);
    return gone;
}

static void
idset_remove(struct idset *s, struct str id)
{
    for (size_t i = 0; i < s->n; i++)
        if (id.len == ID_LEN && memcmp(s->ids[i], id.p, ID_LEN) == 0) {
            memmove(s->ids[i], s->ids[i + 1], (s->n - i - 1) * ID_LEN);
            s->n--;
            return;
        }
}

/* The set with the committed account changes (ID -> object, or null),
 * applied in order: the last change of an account decides (a commit may hold
 * several writes of one account, an update and then its disabling). */
static struct idset *
idset_patch(const struct idset *old, const struct change *ch, size_t n)
{
    struct idset *s = idset_new(old->n + n, old->gen);

    memcpy(s->ids, old->ids, old->n * ID_LEN);
    s->n = old->n;
    for (size_t j = 0; j < n; j++) {
        if (!is_source(ch[j].s) || ch[j].job)
            continue;
        idset_remove(s, ch[j].id);
        if (enabled(&ch[j].obj))
            idset_add(s, ch[j].id);
    }
    qsort(s->ids, s->n, ID_LEN, cmp_id);
    return s;
}

/* The store's observer: before a writer is answered, the set follows its
 * commit; a subtree deleted or another server's writes drop it. */
static void
on_changes(const struct change *ch, size_t n)
{
    bool drop = false, accounts = false;

    for (size_t i = 0; i < n; i++) {
        drop |= !ch[i].job && (ch[i].s == NULL || ch[i].reset);
        accounts |= is_source(ch[i].s) && !ch[i].job;
    }
    if (!drop && !accounts)
        return;
    pthread_mutex_lock(&mu);
    struct idset *old = live;
    live = drop || old == NULL ? NULL : idset_patch(old, ch, n);
    pthread_mutex_unlock(&mu);
    idset_put(old);
}

void
accounts_start(void)
{
    store_observe(on_changes);
}

void
accounts_shutdown(void)
{
    pthread_mutex_lock(&mu);
    idset_put(live);
    live = NULL;
    pthread_mutex_unlock(&mu);
}
