/* vault.h - the store's meta table as pki/'s vault of CAs (tlsboot.h). */
#ifndef KW_VAULT_H
#define KW_VAULT_H

#include "pki/tlsboot.h"
#include "store/store.h"

/* A vault over `st` whose keys are sealed under `master` (both must outlive
 * it). A CA is two meta entries written in one transaction:
 * "ca.<name>.crt" (PEM) and "ca.<name>.key" (sealed). */
void vault_init(struct pki_vault *v, struct store *st, const unsigned char *master);

#endif
