/* instance.c - the `certificateinstances` resource (API.md 7.5): where a
 * certificate was seen. One instance per discovery, address, port, server
 * name and certificate: a server that starts presenting another certificate
 * has a new instance, and the old one turns MISSING when a later run of the
 * same discovery no longer sees it there. Written by discovery runs only;
 * listed, read and deleted through the API (also at
 * /certificates/:id/certificateinstances and /discoveries/:id/...). */
#include <arpa/inet.h>
#include <stdio.h>

#include "../model/validate.h"
#include "local.h"

static const char *const instance_statuses[] = { "ACTIVE", "MISSING", NULL };

static const struct attr instance_attrs[] = {
    { "certificateID", T_STRING, A_READONLY | A_QUERY },
    { "discoveryID", T_STRING, A_READONLY | A_QUERY },
    { "discoveryRunID", T_STRING, A_READONLY | A_QUERY, .doc = "the last run that saw it" },
    { "address", T_STRING, A_READONLY | A_QUERY | A_ORDER, .format = F_ADDR },
    { "port", T_INT, A_READONLY | A_QUERY | A_ORDER },
    { "serverName", T_STRING, A_READONLY | A_QUERY, .doc = "the SNI name sent; \"\": none" },
    { "tlsVersion", T_STRING, A_READONLY | A_QUERY, .doc = "TLSv1, TLSv1.1, TLSv1.2, TLSv1.3" },
    { "cipherSuite", T_STRING, A_READONLY | A_QUERY, .doc = "its IANA name" },
    { "chainValid", T_BOOL, A_READONLY | A_QUERY },
    { "chainError", T_STRING, A_READONLY | A_QUERY, .doc = "OpenSSL's name of the error" },
    { "firstSeen", T_TIME, A_READONLY | A_QUERY | A_ORDER },
    { "lastSeen", T_TIME, A_READONLY | A_QUERY | A_ORDER },
    { "status", T_STRING, A_READONLY | A_QUERY, .enums = instance_statuses },
    { "sightingKey", T_STRING, A_INTERNAL | A_COLUMN },
};

/* What makes a sighting the same one again. */
static struct str
sighting_key(struct arena *a, const struct instance_seen *s, const char *addr)
{
    return str_c(arena_printf(a, "%.*s %s %u %s %.*s", STR_FMT(s->discovery_id), addr,
                              (unsigned)s->port, s->server_name, STR_FMT(s->certificate_id)));
}

static void
set_seen(struct arena *a, struct val *obj, const struct instance_seen *s, struct val now)
{
    val_set(a, obj, "discoveryRunID", val_str(s->run_id));
    val_set(a, obj, "tlsVersion", val_cstr(s->tls_version != NULL ? s->tls_version : ""));
    val_set(a, obj, "cipherSuite", val_cstr(s->cipher != NULL ? s->cipher : ""));
    val_set(a, obj, "chainValid", val_bool(s->chain_error == NULL));
    /* "" when valid: the field is always there (chainError == "" finds them) */
    val_set(a, obj, "chainError", val_cstr(s->chain_error != NULL ? s->chain_error : ""));
    val_set(a, obj, "lastSeen", now);
    val_set(a, obj, "status", val_cstr("ACTIVE"));
    val_set(a, obj, "updateTime", now);
}

int
instance_record(struct tx *tx, struct arena *a, const struct instance_seen *s, int64_t now,
                struct errbuf *eb)
{
    char         addr[IP_TEXT_MAX];
    struct scope sc = { s->ns, false };
    struct val   obj, in = val_map(), t = val_time(a, now);
    int          rc;

    ip_format(s->addr, addr);
    struct str key = sighting_key(a, s, addr);
    rc = tx->ops->find(tx, &spec_certificateinstance, &sc, "sightingKey", key, a, &obj);
    if (rc == E_OK) {
        set_seen(a, &obj, s, t);
        rc = tx->ops->update(tx, &spec_certificateinstance, &obj, NULL);
        return rc == E_OK ? E_OK : errbuf_set(eb, rc, "store error");
    }
    if (rc != E_NOTFOUND ||
        (rc = object_new(a, &spec_certificateinstance, s->ns, &in, &obj, eb)) != E_OK)
        return rc == E_NOTFOUND ? E_OK : errbuf_set(eb, rc, "store error");
    val_set(a, &obj, "certificateID", val_str(s->certificate_id));
    val_set(a, &obj, "discoveryID", val_str(s->discovery_id));
    val_set(a, &obj, "address", val_cstr(arena_strndup(a, addr, strlen(addr))));
    val_set(a, &obj, "port", val_int(s->port));
    val_set(a, &obj, "serverName", val_cstr(s->server_name));
    val_set(a, &obj, "sightingKey", val_str(key));
    val_set(a, &obj, "firstSeen", t);
    /* One time for all four: object_new's clock, read later than the batch's
     * `now`, made createTime later than updateTime (a black-box review). */
    val_set(a, &obj, "createTime", t);
    set_seen(a, &obj, s, t);
    rc = tx->ops->insert(tx, &spec_certificateinstance, &obj);
    return rc == E_OK ? E_OK : errbuf_set(eb, rc, "store error");
}

/* (discoveryID, status, lastSeen): a run's MISSING sweep (scanwrite.c) reads the
 * oldest ACTIVE instances of its discovery, and those it marks leave it. */
static const char *const instance_indexes[] = { "sightingKey", "discoveryID,lastSeen",
                                                "discoveryID,status,lastSeen", "certificateID",
                                                NULL };

static const char *const instance_csv[] = {
    "ID",         "namespace",   "certificateID", "address",    "port",     "serverName",
    "tlsVersion", "cipherSuite", "chainValid",    "chainError", "lastSeen", "status",
    NULL,
};

static struct spec_rt instance_rt;

const struct spec spec_certificateinstance = {
    .identity = "certificateinstance",
    .rest = "certificateinstances",
    .attrs = instance_attrs,
    .nattrs = ARRAY_LEN(instance_attrs),
    .default_order = "lastSeen",
    .ops = OP_LIST | OP_GET | OP_DELETE,
    .access = ACCESS_NORMAL,
    .bulk = true,
    .indexes = instance_indexes,
    .csv_columns = instance_csv,
    .rt = &instance_rt,
};
