/* spec.h - a resource described as data. One generic engine (api/engine.c) serves
 * every spec: validation, defaults, codecs, storage, filters, ordering, X-Fields,
 * paging. A resource adds code only through hooks for what is truly its own.
 */
#ifndef KW_SPEC_H
#define KW_SPEC_H

#include "../core/val.h"

enum atype {
    T_STRING, /* UTF-8 string */
    T_BOOL,
    T_INT,     /* int64 */
    T_FLOAT,   /* double; ints are accepted */
    T_TIME,    /* RFC 3339 string on the wire, int64 ms in columns */
    T_STRLIST, /* array of strings */
    T_STRMAP,  /* map string -> array of strings (annotations) */
    T_SUBJECT, /* array of arrays of strings (apiauthorization subject) */
    T_ANY,     /* any value, stored as is */
};

enum aflag {
    A_REQUIRED = 1 << 0,     /* must be present and non-empty on create/update */
    A_READONLY = 1 << 1,     /* set by the server; a different client value is 422 */
    A_CREATIONONLY = 1 << 2, /* may be set on create, never changed after */
    A_WRITEONLY = 1 << 3,    /* accepted, never returned (passwords, secrets) */
    A_QUERY = 1 << 4,        /* may appear in q= filters */
    A_ORDER = 1 << 5,        /* may appear in order= */
    A_COLUMN = 1 << 6,       /* stored in its own indexed column (implied by QUERY/ORDER) */
    A_SECRET = 1 << 7,       /* the value is a secret: never logged */
    A_NOSTORE = 1 << 8,      /* computed on output, never stored (e.g. object) */
    A_DERIVED = 1 << 9,      /* recomputed on every write: ignored when sent back */
    A_SEALED = 1 << 10,      /* stored encrypted under the master key (api/secrets.c);
                                use with A_WRITEONLY */
    A_INDEXED = 1 << 11,     /* a queryable list answered from an index (a side table
                                per attribute: one row per element); the others are
                                searched in the document. An index costs every write:
                                it is for lists a large resource is searched by */
    A_COMPUTED = 1 << 12,    /* follows the clock: hooks.present sets it on every read
                                and hooks.rewrite turns a filter on it into one on
                                stored columns, so it is right whenever it is read or
                                filtered on (a certificate's status) */
    A_SUBSTRING = 1 << 13,   /* a queryable string whose `contains` is answered from a
                                trigram index (SQLite: an FTS5 table per attribute)
                                rather than by testing every row of the scope; for
                                values of 3 characters or more. An index costs every
                                write: it is for what a large resource is searched by */
};

/* The server's own bookkeeping (a column for its own queries): never accepted
 * from, nor shown to, a client, and not in the OpenAPI document; filters name it
 * only in the server's own rewrites (struct fnode.trusted). */
#define A_INTERNAL (A_READONLY | A_WRITEONLY)

/* What a string (or each string of a list) must be, beyond its pattern. */
enum aformat {
    F_NONE,
    F_CIDR, /* an IP address or a CIDR range (core/net.h) */
    /* Read-only values a filter compares as they are stored, whatever the
     * spelling of its own value (store/filter.c as_stored): */
    F_HEX,  /* lowercase hex (fingerprints, serials, key IDs): compared in
               lowercase and without ':', as `openssl x509 -serial` and
               `-fingerprint` print them */
    F_IP,   /* an address as inet_ntop writes it (core/net.h ip_canonical) */
    F_ADDR, /* ... an IPv4-mapped one as IPv4 (where a connection went) */
};

struct attr {
    const char        *name; /* wire name, camelCase */
    enum atype         type;
    unsigned           flags;
    const char        *pattern; /* POSIX extended regex the value (or each item) must match */
    size_t             max_len; /* max string length / list length; 0 = engine default */
    const char *const *enums;   /* NULL-terminated allowed values, or NULL */
    const char        *def;     /* default as a string ("true", "0", "EC_P256"), or NULL */
    const char        *doc;     /* one line for docs/OpenAPI */
    enum aformat       format;
    int64_t            min, max; /* T_INT bounds, inclusive; both 0: unbounded */
    const char        *needs;    /* A_COMPUTED: the columns it is computed from,
                                    comma-separated (a projected read includes them) */
    const char *kept_with;       /* A_WRITEONLY: an update that omits it keeps the stored
                                    value only while these attributes (comma-separated)
                                    keep theirs - where the secret is sent */
};

/* What an operation needs on a resource (API authorizations grant these). */
enum verb { VERB_GET = 1, VERB_POST = 2, VERB_PUT = 4, VERB_DELETE = 8, VERB_ALL = 15 };

struct tx;    /* store/store.h: the write transaction */
struct fnode; /* store/filter.h: a parsed q= filter */
struct spec;

struct cidr;

/* What a hook sees of the write it is part of; no HTTP (api/ fills it from the
 * request). Everything hangs off `a`, which lives until the answer is sent. */
struct hook_ctx {
    struct arena *a;
    struct str    ns;   /* the namespace written in */
    struct str    id;   /* the object's ID on update, delete and actions */
    struct val    once; /* fields for this answer only (secrets shown once; left out
                           of the answer kept for Idempotency-Key replays) */
    struct str secret;  /* a secret in `a` this request carried or this answer
                           shows once (a CA key imported, a private key generated):
                           it, the request's body and the encoded answer are wiped */
    struct val found;   /* create: before_write may set the stored object the new
                           one duplicates (a certificate imported twice): it is the
                           answer, nothing is inserted */
    struct val params;  /* read actions: the query parameters (a map of strings) */
    void      *data;    /* the resource's own, from prepare to before_write */
    struct str body;    /* read actions: an answer that is not an object (a PEM
                           file), of type body_type */
    const char *body_type;
    const char *accepted; /* read actions: the type of its `produces` that the
                             client's Accept named first, NULL when none */
    bool override;        /* the request said ?override=true (delete, update) */
    /* create: prepare may refuse the request yet have the object kept (a
     * certificate request that policy refuses is kept FAILED): the object is
     * written, and the answer is this error, whose data names the object
     * ("<identity>ID"). */
    struct errbuf refusal;
    const char   *refusal_key;
    /* Whether the caller may also `verb` (enum verb) on `s` in namespace `ns`,
     * by the API authorizations that judged the request: for a write whose
     * effect reaches another resource (revoking a CA's own certificate acts
     * on the CA). E_OK, or E_FORBIDDEN with detail in eb. */
    int (*may)(const struct hook_ctx *ctx, const struct spec *s, unsigned verb, struct str ns,
               struct errbuf *eb);
    /* The same, from every address of network `from` (::/0: from anywhere)
     * rather than the request's: what the caller may hand on to be used from
     * there (roles_check_held). */
    int (*holds)(const struct hook_ctx *ctx, const struct spec *s, unsigned verb, struct str ns,
                 const struct cidr *from, struct errbuf *eb);
};

/* Hooks return 0 or an enum err with detail in eb. */
struct spec_hooks {
    /* Request thread, after generic validation of a create or update, before the
     * write is queued: CPU work that needs no stored state (hash a password,
     * join a namespace name). Fields set in ctx->once are added to the answer
     * of the create or update only (secrets shown once, never stored in clear,
     * left out of the answer kept for Idempotency-Key replays). */
    int (*prepare)(struct hook_ctx *ctx, const struct spec *s, struct val *obj, bool create,
                   struct errbuf *eb);
    /* Whether this create's prepare is too slow for a request thread (it
     * generates an RSA key): then it runs on the work pool (core/pool.h)
     * while the request waits, suspended. NULL: never. */
    bool (*slow)(const struct spec *s, const struct val *obj);
    /* Writer thread, inside the transaction, just before the row is written. `old`
     * is the stored object on update, NULL on create. */
    int (*before_write)(struct hook_ctx *ctx, const struct spec *s, struct tx *tx,
                        struct val *obj, const struct val *old, struct errbuf *eb);
    /* Writer thread, inside the transaction, before the row is deleted. */
    int (*before_delete)(struct hook_ctx *ctx, const struct spec *s, struct tx *tx,
                         const struct val *obj, struct errbuf *eb);
    /* Writer thread, inside the transaction, after the row is deleted (cascade). */
    int (*after_delete)(struct hook_ctx *ctx, const struct spec *s, struct tx *tx,
                        const struct val *obj, struct errbuf *eb);
    /* Writer thread: namespace `ns` and everything below it are deleted in this
     * transaction (still there when it is called). Move out of it this spec's
     * objects that must outlive it. */
    int (*outlive)(struct hook_ctx *ctx, const struct spec *s, struct tx *tx, struct str ns,
                   struct errbuf *eb);
    /* Resources that are not stored (not_namespaced): every object. */
    void (*list_static)(struct arena *a, struct val *items);
    /* Every read, before an object is shown: set the A_COMPUTED attributes as
     * of `now_ms` from the stored ones. */
    void (*present)(struct arena *a, const struct spec *s, struct val *obj, int64_t now_ms);
    /* A filter comparison `cmp` on an A_COMPUTED attribute, as an equivalent
     * tree over stored columns at `now_ms` (nodes on A_INTERNAL columns marked
     * trusted). E_BADREQ for an operator it cannot answer. */
    int (*rewrite)(struct arena *a, const struct spec *s, const struct fnode *cmp,
                   int64_t now_ms, struct fnode **out, struct errbuf *eb);
};

/* Sensitivity, for the built-in roles: viewers read ACCESS_NORMAL only, editors
 * everything but ACCESS_ADMIN (API authorizations and credentials). */
enum spec_access { ACCESS_NORMAL, ACCESS_SECRET, ACCESS_ADMIN };

enum spec_op {
    OP_LIST = 1 << 0,
    OP_CREATE = 1 << 1,
    OP_GET = 1 << 2,
    OP_UPDATE = 1 << 3,
    OP_DELETE = 1 << 4,
    OP_ALL = 0x1f,
};

/* An operation on one object beyond CRUD, at /things/:id/<name>. A write
 * action (POST: rotating a secret, revoking) runs in the writer thread, inside
 * the transaction, on the stored object; it may update it, fills the answer
 * and is audited. A read action (GET and HEAD: a certificate's contents) runs
 * on the request's thread, outside any write transaction, on the object as
 * read; it is not audited. */
struct spec_action {
    const char *name;
    unsigned    verb; /* enum verb the caller needs on the spec */
    int (*run)(struct hook_ctx *ctx, const struct spec *s, struct tx *tx, struct val *obj,
               struct val *answer, struct errbuf *eb);
    /* Read actions: run instead of `run`. The query parameters allowed
     * (NULL-terminated) arrive in ctx->params; the answer is `answer`, or
     * ctx->body of ctx->body_type. */
    int (*read)(struct hook_ctx *ctx, const struct spec *s, const struct val *obj,
                struct val *answer, struct errbuf *eb);
    const char *const *params;
    const char *const *produces; /* the body types it may answer; NULL: an object */
};

/* What the engine derives from a spec once at start-up (spec_init). */
struct spec_rt {
    const struct attr *columns[64]; /* common then own attributes with a column */
    size_t             ncolumns;
    size_t             index; /* position in spec_all */
};

struct spec {
    const char        *identity; /* singular: "namespace" */
    const char        *rest;     /* plural, URL and table name: "namespaces" */
    const struct attr *attrs;    /* resource-specific attributes */
    size_t             nattrs;
    const char        *unique;          /* attribute unique per namespace, or NULL */
    bool               unique_global;   /* `unique` holds across all namespaces */
    const char        *default_order;   /* attribute; ID always breaks ties */
    unsigned           ops;             /* enum spec_op */
    enum spec_access   access;          /* which roles may touch it (auth/roles.c) */
    bool               get_normal;      /* reading it needs only normal access
                                           (namespace.viewer): nothing it answers is a
                                           secret, though writing it needs `access` */
    bool               not_namespaced;  /* lives outside the namespace tree (roles) */
    const char *const *children;        /* rest names reachable as /this/:id/<child>:
                                           the child's objects in X-Namespace whose
                                           attribute "<this identity>ID" (queryable)
                                           holds :id; listed, not created there */
    bool child_create;                  /* POST /parents/:id/<rest> creates one whose
                                           "<parent identity>ID" is :id (revocations) */
    bool parent_of_all;                 /* every namespaced, listable resource is a child
                                           (namespaces: /namespaces/:id/<things>) */
    const struct spec_action *actions;  /* /this/:id/<action>, POST; NULL-name terminated */
    bool                      cascades; /* a delete also deletes what lives below it
                                           (namespaces): policies are reloaded */
    bool announced;           /* processes keep what they derive from it (the authorization
                                 snapshot from API authorizations and namespaces, signed OCSP
                                 answers from revocations): with several servers on one store, a
                                 write by one is announced to the others (store_follow) */
    bool creates_unannounced; /* ... but not its creates: what is derived from it
                                 holds only objects found (a namespace's ID by its
                                 name), which a new one cannot make stale */
    bool bulk;                /* may hold millions of objects per namespace: its
                                 rows carry their namespace's ID, are invisible
                                 once that namespace is deleted, and are purged
                                 afterwards in batches (namespace.purge job), so a
                                 namespace delete never stalls other writes */
    struct spec_hooks  hooks;
    const char *const *csv_columns;     /* NULL-terminated default columns of its text/csv
                                           lists; NULL: ID, name (if it has one), namespace,
                                           createTime, updateTime (api/csv.h) */
    const char *const *indexes;         /* NULL-terminated store indexes beyond the default
                                           order's, each a comma-separated list of columns
                                           ("status,validityEnd"), after the namespace
                                           ("*a,b": without it, for the server's own
                                           queries across namespaces): what its large
                                           lists are searched by */
    const char *const *dropped_indexes; /* indexes of `indexes`' notation that an
                                           earlier release made and this one does
                                           not: dropped at start */
    const char *const *counted;         /* NULL-terminated dimensions whose counts the store
                                           keeps as rows are written (one or two columns,
                                           comma-separated, or a list attribute: its
                                           elements), and the total: aggregates without a
                                           filter read them instead of the rows (reports) */
    const char *const *raw_types;       /* NULL-terminated media types a create accepts as
                                           a raw body (application/pkix-cert): the body
                                           becomes attribute raw_attr (as text, or as
                                           base64 when it is not UTF-8) */
    const char    *raw_attr;
    const int64_t *body_max; /* a create's body limit in bytes (a setting); NULL:
                                max_body_size */
    struct spec_rt *rt;      /* filled by spec_init() */
};

/* The attributes every object has (ID, namespace, createTime, ...), in wire order. */
extern const struct attr spec_common_attrs[];
extern const size_t      spec_ncommon_attrs;

/* Find an attribute by wire name among the spec's own and the common ones. */
const struct attr *spec_attr(const struct spec *s, struct str name);
/* True when the attribute has its own column. */
static inline bool
attr_is_column(const struct attr *a)
{
    return (a->flags & (A_COLUMN | A_QUERY | A_ORDER)) != 0;
}

/* True when the attribute is a queryable list: the store answers filters on it
 * from a side table of its elements (store/filter.h, filter_compile_side). */
static inline bool
attr_is_indexed_list(const struct attr *a)
{
    return a->type == T_STRLIST && (a->flags & (A_QUERY | A_INDEXED)) == (A_QUERY | A_INDEXED);
}

/* True when the attribute is a queryable string with a substring index: the
 * store answers `contains` on it from a trigram table (store/filter.h,
 * filter_compile_side). */
static inline bool
attr_is_substring(const struct attr *a)
{
    return a->type == T_STRING &&
           (a->flags & (A_QUERY | A_SUBSTRING)) == (A_QUERY | A_SUBSTRING);
}

/* True when `child` is reachable as /parent/:id/<child> (its `children`, or
 * every namespaced, listable resource for a parent_of_all). */
bool spec_has_child(const struct spec *parent, const struct spec *child);

/* Derive every spec's runtime data; aborts on an inconsistent spec. */
void spec_init(void);
static inline size_t
spec_ncolumns(const struct spec *s)
{
    return s->rt->ncolumns;
}
static inline const struct attr *
spec_column(const struct spec *s, size_t i)
{
    return s->rt->columns[i];
}

/* The registry of every resource (model/registry.c). */
const struct spec              *spec_by_rest(struct str rest);
const struct spec              *spec_by_identity(struct str identity);
extern const struct spec *const spec_all[];
extern const size_t             spec_count;

#endif
