/* webhookdelivery.c - one event for one webhook, and how sending it went
 * (API.md 7.2). Written by the server only (notify/emit.c, notify/deliver.c),
 * read by clients, at /webhookdeliveries and /webhooks/:id/webhookdeliveries.
 * The body sent is the delivery job's payload, not an attribute. */
#include "specs.h"

static const char *const delivery_states[] = { "PENDING", "DELIVERED", "FAILED", NULL };

static const struct attr webhookdelivery_attrs[] = {
    { "webhookID", T_STRING, A_READONLY | A_QUERY | A_ORDER, .doc = "the webhook" },
    { "event", T_STRING, A_READONLY | A_QUERY | A_ORDER, .enums = webhook_events },
    { "certificateID", T_STRING, A_READONLY | A_QUERY,
      .doc = "the certificate of a certificate.* event" },
    { "status", T_STRING, A_READONLY | A_QUERY | A_ORDER, .enums = delivery_states,
      .doc = "PENDING until a 2xx answer (DELIVERED) or the last attempt (FAILED)" },
    { "attempts", T_INT, A_READONLY | A_QUERY | A_ORDER, .doc = "attempts made" },
    { "responseCode", T_INT, A_READONLY | A_QUERY,
      .doc = "the HTTP status of the last answer, if one came" },
    { "lastError", T_STRING, A_READONLY | A_QUERY, .doc = "why the last attempt failed" },
    { "nextAttemptTime", T_TIME, A_READONLY | A_QUERY | A_ORDER,
      .doc = "when the next attempt is due, while PENDING" },
};

static struct spec_rt webhookdelivery_rt;

static const char *const webhookdelivery_csv[] = {
    "ID",     "namespace", "createTime",   "webhookID", "event",           "certificateID",
    "status", "attempts",  "responseCode", "lastError", "nextAttemptTime", NULL,
};

const struct spec spec_webhookdelivery = {
    .bulk = true,
    .identity = "webhookdelivery",
    .rest = "webhookdeliveries",
    .attrs = webhookdelivery_attrs,
    .nattrs = ARRAY_LEN(webhookdelivery_attrs),
    .default_order = "createTime",
    .ops = OP_LIST | OP_GET,
    .access = ACCESS_NORMAL,
    .csv_columns = webhookdelivery_csv,
    .rt = &webhookdelivery_rt,
};
