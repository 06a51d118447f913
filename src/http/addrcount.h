/* addrcount.h - open connections per client address, so that one address
 * cannot hold more than its share (the setting max_connections_per_address;
 * 0 turns the count off). Thread-safe: every worker accepts. */
#ifndef KW_ADDRCOUNT_H
#define KW_ADDRCOUNT_H

#include <sys/socket.h>

#include "../core/base.h"

/* Size the table for `max_conns` connections; `per_address` 0 = no limit. */
int  addrcount_init(size_t max_conns, size_t per_address);
void addrcount_fini(void);
/* Count one more connection from `ss`; false (nothing counted) when the
 * address already holds its share. */
bool addrcount_get(const struct sockaddr_storage *ss);
/* The connection counted by a successful addrcount_get is closed. */
void addrcount_put(const struct sockaddr_storage *ss);

#endif
