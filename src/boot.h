/* boot.h - what a first start creates in an empty data directory. */
#ifndef KW_BOOT_H
#define KW_BOOT_H

#include "core/base.h"

/* On first start: the admin account (password from $KEYWARD_ADMIN_PASSWORD, or
 * random, written to DIR/admin-password, mode 0600, and never printed) and its API
 * authorization (namespace.administrator on /). Later starts change nothing.
 * *created tells which happened; *from_env whether the password came from the
 * environment at this start (it made the administrator). A later start with
 * the variable set says on stderr that it counts at the first start only. */
/* $KEYWARD_ADMIN_PASSWORD, when set, is a password an account may have (8 to
 * 1,024 bytes): checked before anything is made. */
int boot_check_env(struct errbuf *eb);
int boot_first_start(const char *datadir, bool *created, bool *from_env, struct errbuf *eb);

#endif
