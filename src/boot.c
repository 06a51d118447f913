/* boot.c - the first start: an administrator, through ordinary objects. */
#include "boot.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/digest.h"
#include "core/fileio.h"
#include "core/password.h"
#include "core/rnd.h"
#include "model/specs.h"
#include "model/validate.h"
#include "store/store.h"

#define META_BOOTED "bootstrapped"

struct boot {
    struct arena *a;
    struct val    account, policy;
};

/* Checks again inside the write transaction (SQLite's writer holds the write
 * lock from BEGIN IMMEDIATE, so the committed state read here cannot change
 * under it): of two servers starting at once on one store, one creates the
 * administrator and the other finds it made (E_DUPLICATE). */
static int
boot_run(struct tx *tx, void *arg)
{
    struct boot *b = arg;
    struct str   v;
    int          rc;

    rc = kw_store->ops->meta_get(kw_store, META_BOOTED, b->a, &v);
    if (rc != E_NOTFOUND)
        return rc == E_OK ? E_DUPLICATE : rc;
    if ((rc = tx->ops->insert(tx, &spec_account, &b->account)) != E_OK ||
        (rc = tx->ops->insert(tx, &spec_apiauthorization, &b->policy)) != E_OK)
        return rc;
    return tx->ops->meta_put(tx, META_BOOTED, STR("1"));
}

static struct val
strs(struct arena *a, const char *const *v, size_t n)
{
    struct val l = val_arr();

    for (size_t i = 0; i < n; i++)
        val_push(a, &l, val_cstr(v[i]));
    return l;
}

/* The administrator's authorization names the account and where it lives, so
 * no account of the same name elsewhere could ever match it. */
static int
build(struct boot *b, const char *password, struct errbuf *eb)
{
    static const char *const line[] = { "@auth:realm=vince", "@auth:account=admin",
                                        "@auth:organization=/" };
    static const char *const role[] = { "@auth:role=namespace.administrator" };
    struct val               in = val_map(), subj = val_arr();
    char                     hash[PASSWORD_HASH_MAX];
    int                      rc;

    if (password_hash(str_c(password), hash) != E_OK)
        return errbuf_set(eb, E_INTERNAL, "cannot hash the admin password");
    val_set(b->a, &in, "name", val_cstr("admin"));
    val_set(b->a, &in, "password", val_cstr(arena_strndup(b->a, hash, strlen(hash))));
    val_set(b->a, &in, "description", val_cstr("The administrator created on first start"));
    if ((rc = object_new(b->a, &spec_account, STR("/"), &in, &b->account, eb)) != E_OK)
        return rc;
    tags_normalize(b->a, &spec_account, &b->account);
    mem_wipe(hash, sizeof hash);

    in = val_map();
    val_push(b->a, &subj, strs(b->a, line, ARRAY_LEN(line)));
    val_set(b->a, &in, "name", val_cstr("administrator"));
    val_set(b->a, &in, "description", val_cstr("The admin account administers everything"));
    val_set(b->a, &in, "subject", subj);
    val_set(b->a, &in, "authorizedIdentities", strs(b->a, role, 1));
    val_set(b->a, &in, "authorizedNamespace", val_cstr("/"));
    val_set(b->a, &in, "protected", val_bool(true));
    if ((rc = object_new(b->a, &spec_apiauthorization, STR("/"), &in, &b->policy, eb)) != E_OK)
        return rc;
    tags_normalize(b->a, &spec_apiauthorization, &b->policy);
    return E_OK;
}

static int
write_password_file(const char *datadir, const char *pw, struct errbuf *eb)
{
    char path[1200];

    snprintf(path, sizeof path, "%s/admin-password", datadir);
    char line[64];
    int  n = snprintf(line, sizeof line, "%s\n", pw);
    int  rc = n > 0 && (size_t)n < sizeof line
                  ? file_write_atomic(path, (struct str){ line, (size_t)n }, 0600, eb)
                  : errbuf_set(eb, E_INTERNAL, "admin password too long");

    mem_wipe(line, sizeof line);
    return rc;
}

int
boot_check_env(struct errbuf *eb)
{
    const char *env = getenv("KEYWARD_ADMIN_PASSWORD");
    size_t      n = env != NULL ? strlen(env) : 0;

    if (n > 0 && (n < PASSWORD_MIN || n > PASSWORD_MAX))
        return errbuf_set(eb, E_VALIDATION,
                          "KEYWARD_ADMIN_PASSWORD must be %d to %d bytes long, as every "
                          "account's password",
                          PASSWORD_MIN, PASSWORD_MAX);
    return E_OK;
}

int
boot_first_start(const char *datadir, bool *created, bool *from_env, struct errbuf *eb)
{
    struct boot b = { arena_new(4096) };
    struct str  v;
    const char *env = getenv("KEYWARD_ADMIN_PASSWORD");
    char        pw[33];
    int         rc;

    *created = false;
    *from_env = false;
    rc = kw_store->ops->meta_get(kw_store, META_BOOTED, b.a, &v);
    if (rc != E_NOTFOUND) {
        arena_free(b.a);
        if (rc == E_OK && env != NULL && env[0] != '\0')
            fprintf(stderr, "keyward: KEYWARD_ADMIN_PASSWORD counts at the store's first start "
                            "only: the admin's password is the one set then\n");
        return rc == E_OK ? E_OK : errbuf_set(eb, rc, "cannot read the store");
    }
    *from_env = env != NULL && env[0] != '\0';
    if (!*from_env) {
        unsigned char raw[16];
        rnd_bytes(raw, sizeof raw);
        hex_encode(raw, sizeof raw, pw);
        mem_wipe(raw, sizeof raw);
    }
    rc = build(&b, *from_env ? env : pw, eb);
    if (rc == E_OK && (rc = store_run(kw_store, boot_run, &b)) == E_DUPLICATE) {
        arena_free(b.a); /* another server started at the same moment and made it */
        mem_wipe(pw, sizeof pw);
        *from_env = false;
        return E_OK;
    }
    if (rc != E_OK)
        errbuf_set(eb, rc, "cannot create the administrator");
    if (rc == E_OK && !*from_env)
        rc = write_password_file(datadir, pw, eb);
    /* stderr is the log: the password is only in the file (the curl line of
     * print_login reads it from there) */
    if (rc == E_OK && !*from_env)
        fprintf(stderr,
                "keyward: made the account admin; its password is in %s/admin-password\n",
                datadir);
    mem_wipe(pw, sizeof pw);
    arena_free(b.a);
    *created = rc == E_OK;
    *from_env = *from_env && *created;
    return rc;
}
