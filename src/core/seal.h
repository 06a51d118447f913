/* seal.h - secrets at rest: AES-256-GCM under the console's master key.
 *
 * Sealed format: "kw1:" + base64url(nonce[12] || ciphertext || tag[16]). The
 * optional associated data binds a sealed value to where it is stored (e.g. the
 * row ID), so a sealed value copied elsewhere does not open.
 */
#ifndef KW_SEAL_H
#define KW_SEAL_H

#include "buf.h"

#define SEAL_KEY_LEN 32

/* Load the master key: from $KEYWARD_MASTER_KEY (64 hex characters) if set, else
 * from `path` (32 raw bytes, created mode 0600 with fresh random bytes if missing).
 * A file of the wrong size or mode readable by others is an error. */
int seal_load_master(const char *path, unsigned char key[SEAL_KEY_LEN], struct errbuf *eb);
int seal(const unsigned char key[SEAL_KEY_LEN], struct str plain, struct str aad,
         struct buf *out);
/* E_INTERNAL when the tag does not verify or the format is wrong; out is wiped then. */
int unseal(const unsigned char key[SEAL_KEY_LEN], struct str sealed, struct str aad,
           struct buf *out);

/* The process's master key, set once at start-up (before threads start) and
 * read-only afterwards. seal_master() is NULL before seal_set_master(). */
void                 seal_set_master(const unsigned char key[SEAL_KEY_LEN]);
const unsigned char *seal_master(void);

#endif
