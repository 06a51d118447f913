/* auditlog.c - who did what, when, from where (API.md section 8). Written by
 * the server only (api/audit.c); read with `get` on auditlog. */
#include "specs.h"

static const struct attr auditlog_attrs[] = {
    { "operation", T_STRING, A_READONLY | A_QUERY | A_ORDER,
      .doc = "create, update, delete, an action name, issue or access_token" },
    { "identity", T_STRING, A_READONLY | A_QUERY | A_ORDER, .doc = "resource identity" },
    { "objectID", T_STRING, A_READONLY | A_QUERY },
    { "method", T_STRING, A_READONLY | A_QUERY },
    { "path", T_STRING, A_READONLY | A_QUERY },
    { "principal", T_STRLIST, A_READONLY | A_QUERY, .doc = "the caller's claims" },
    { "clientIP", T_STRING, A_READONLY | A_QUERY },
    { "status", T_INT, A_READONLY | A_QUERY | A_ORDER },
    { "trace", T_STRING, A_READONLY | A_QUERY },
    { "error", T_STRING, A_READONLY, .doc = "the error's description, if any" },
    { "requestNamespace", T_STRING, A_READONLY | A_QUERY,
      .doc = "the request's X-Namespace (the entry lives in \"/\" when that does not exist)" },
};

static struct spec_rt auditlog_rt;

/* What an auditor exports first: when, who, what, from where, how it ended. */
static const char *const auditlog_csv[] = {
    "createTime", "principal", "operation",        "identity", "objectID", "method", "path",
    "status",     "clientIP",  "requestNamespace", "trace",    "error",    NULL,
};

const struct spec spec_auditlog = {
    .bulk = true,
    .identity = "auditlog",
    .rest = "auditlogs",
    .attrs = auditlog_attrs,
    .nattrs = ARRAY_LEN(auditlog_attrs),
    .default_order = "createTime",
    .ops = OP_LIST | OP_GET,
    .access = ACCESS_SECRET,
    .get_normal = true, /* no secret is ever logged */
    .csv_columns = auditlog_csv,
    .rt = &auditlog_rt,
};
