/* seal.c - AES-256-GCM sealing of secrets at rest, and the master key it uses.
 *
 * A fresh random 96-bit nonce per seal: with one master key and far fewer than
 * 2^32 seals over its life, random nonces stay well inside GCM's collision bound.
 * Plaintext is only ever handed to the caller after the tag verified.
 */
#include "seal.h"

#include "digest.h"
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "rnd.h"

#define NONCE_LEN 12
#define TAG_LEN   16
#define PREFIX    "kw1:"
#define HEX_LEN   (2 * SEAL_KEY_LEN)
/* Sealed values are credentials and keys, not bulk data; the bound keeps every
 * length well inside the int that EVP takes. */
#define PLAIN_MAX (16 * 1024 * 1024)

/* ---- master key ------------------------------------------------------------- */

static int
key_from_env(const char *hex, unsigned char key[SEAL_KEY_LEN], struct errbuf *eb)
{
    size_t i;
    int    hi, lo;

    if (strlen(hex) != HEX_LEN)
        return errbuf_set(eb, E_INTERNAL,
                          "KEYWARD_MASTER_KEY must be exactly %d hex characters", HEX_LEN);
    for (i = 0; i < SEAL_KEY_LEN; i++) {
        hi = hex_digit(hex[2 * i]);
        lo = hex_digit(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            OPENSSL_cleanse(key, SEAL_KEY_LEN);
            return errbuf_set(eb, E_INTERNAL, "KEYWARD_MASTER_KEY is not hex");
        }
        key[i] = (unsigned char)(hi << 4 | lo);
    }
    return E_OK;
}

/* Creates the file only if absent (O_EXCL): two processes starting at once must
 * not each write a different key. EEXIST is reported to the caller to retry the read. */
static int
key_create(const char *path, struct errbuf *eb)
{
    unsigned char key[SEAL_KEY_LEN];
    char          tmp[PATH_MAX];
    int           fd, rc = E_OK;

    /* Written whole under a private name, then linked into place: a server
     * starting at the same moment on the same directory either finds no file
     * or the whole key, never a short one (link fails if it won the race). */
    if (snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid()) >= (int)sizeof tmp)
        return errbuf_set(eb, E_INTERNAL, "master key %s: path too long", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return errbuf_set(eb, E_INTERNAL, "master key %s: cannot create: %s", tmp,
                          strerror(errno));
    rnd_bytes(key, sizeof(key));
    if (fd_write_all(fd, key, sizeof(key)) != 0 || fsync(fd) != 0)
        rc = errbuf_set(eb, E_INTERNAL, "master key %s: cannot write: %s", path,
                        strerror(errno));
    mem_wipe(key, sizeof(key));
    if (close(fd) != 0 && rc == E_OK)
        rc = errbuf_set(eb, E_INTERNAL, "master key %s: %s", path, strerror(errno));
    if (rc == E_OK && link(tmp, path) != 0)
        rc = errno == EEXIST ? E_CONFLICT
                             : errbuf_set(eb, E_INTERNAL, "master key %s: cannot create: %s",
                                          path, strerror(errno));
    unlink(tmp);
    if (rc == E_OK)
        dir_sync_parent(path);
    return rc;
}

/* ENOENT is returned bare (no message) so the caller can create the file. */
static int
key_read(const char *path, unsigned char key[SEAL_KEY_LEN], struct errbuf *eb)
{
    struct stat st;
    int         fd, rc = E_INTERNAL;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? E_NOTFOUND
                               : errbuf_set(eb, E_INTERNAL, "master key %s: cannot open: %s",
                                            path, strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        rc = errbuf_set(eb, E_INTERNAL, "master key %s: not a regular file", path);
    else if (st.st_uid != geteuid())
        rc = errbuf_set(eb, E_INTERNAL,
                        "master key %s: owned by uid %u, not by the server's user (uid %u): "
                        "chown it",
                        path, (unsigned)st.st_uid, (unsigned)geteuid());
    else if (st.st_mode & (S_IRWXG | S_IRWXO))
        rc = errbuf_set(eb, E_INTERNAL,
                        "master key %s: mode %04o lets group or others access it; "
                        "chmod 600 it",
                        path, (unsigned)(st.st_mode & 07777));
    else if (st.st_size != SEAL_KEY_LEN)
        rc = errbuf_set(eb, E_INTERNAL, "master key %s: %lld bytes, expected %d", path,
                        (long long)st.st_size, SEAL_KEY_LEN);
    else if (fd_read_exact(fd, key, SEAL_KEY_LEN) != 0)
        rc = errbuf_set(eb, E_INTERNAL, "master key %s: short read", path);
    else
        rc = E_OK;
    close(fd);
    if (rc != E_OK)
        mem_wipe(key, SEAL_KEY_LEN);
    return rc;
}

int
seal_load_master(const char *path, unsigned char key[SEAL_KEY_LEN], struct errbuf *eb)
{
    const char *env = getenv("KEYWARD_MASTER_KEY");
    int         rc;

    if (env != NULL)
        return key_from_env(env, key, eb);
    if (path == NULL)
        return errbuf_set(eb, E_INTERNAL, "no master key path and no KEYWARD_MASTER_KEY");
    rc = key_read(path, key, eb);
    if (rc != E_NOTFOUND)
        return rc;
    rc = key_create(path, eb);
    if (rc != E_OK && rc != E_CONFLICT) /* E_CONFLICT: someone else created it */
        return rc;
    rc = key_read(path, key, eb);
    if (rc == E_NOTFOUND)
        rc = errbuf_set(eb, E_INTERNAL, "master key %s: vanished after creation", path);
    return rc;
}

/* ---- seal / unseal ---------------------------------------------------------- */

static int
gcm_init(EVP_CIPHER_CTX *ctx, int enc, const unsigned char *key, const unsigned char *nonce,
         struct str aad)
{
    int outl;

    if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) != 1 ||
        EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, enc) != 1)
        return E_INTERNAL;
    if (aad.len > 0 &&
        (aad.len > INT_MAX ||
         EVP_CipherUpdate(ctx, NULL, &outl, (const unsigned char *)aad.p, (int)aad.len) != 1))
        return E_INTERNAL;
    return E_OK;
}

int
seal(const unsigned char key[SEAL_KEY_LEN], struct str plain, struct str aad, struct buf *out)
{
    EVP_CIPHER_CTX *ctx = NULL;
    unsigned char  *raw = NULL;
    char           *b64 = NULL;
    size_t          rlen;
    int             n1 = 0, n2 = 0, rc = E_INTERNAL;

    if (plain.len > PLAIN_MAX)
        return E_TOOBIG;
    rlen = NONCE_LEN + plain.len + TAG_LEN;
    raw = malloc(rlen);
    b64 = malloc(b64url_len(rlen) + 1);
    ctx = EVP_CIPHER_CTX_new();
    if (raw == NULL || b64 == NULL || ctx == NULL)
        goto out;
    rnd_bytes(raw, NONCE_LEN);
    if (gcm_init(ctx, 1, key, raw, aad) != E_OK ||
        EVP_EncryptUpdate(ctx, raw + NONCE_LEN, &n1, (const unsigned char *)plain.p,
                          (int)plain.len) != 1 ||
        EVP_EncryptFinal_ex(ctx, raw + NONCE_LEN + n1, &n2) != 1 ||
        (size_t)n1 + (size_t)n2 != plain.len ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, raw + NONCE_LEN + plain.len) !=
            1)
        goto out;
    b64url_encode(raw, rlen, b64);
    rc = buf_puts(out, PREFIX);
    if (rc == E_OK)
        rc = buf_append(out, b64, b64url_len(rlen));
out:
    EVP_CIPHER_CTX_free(ctx); /* wipes the expanded key schedule */
    free(raw);
    free(b64);
    if (rc != E_OK)
        ERR_clear_error();
    return rc;
}

/* Decrypts into a private buffer and appends to `out` only once the tag holds, so
 * a failed unseal never exposes unauthenticated plaintext (out stays as it was). */
int
unseal(const unsigned char key[SEAL_KEY_LEN], struct str sealed, struct str aad,
       struct buf *out)
{
    EVP_CIPHER_CTX *ctx = NULL;
    unsigned char  *raw = NULL, *plain = NULL;
    struct str      b64;
    long            rlen;
    size_t          clen = 0;
    int             n1 = 0, n2 = 0, rc = E_INTERNAL;

    if (!str_starts(sealed, STR(PREFIX)) || sealed.len > 2 * PLAIN_MAX)
        return E_INTERNAL;
    b64 = (struct str){ sealed.p + (sizeof(PREFIX) - 1), sealed.len - (sizeof(PREFIX) - 1) };
    raw = malloc(b64.len * 3 / 4 + 3); /* as b64url_decode asks */
    if (raw == NULL)
        goto out;
    rlen = b64url_decode(b64.p, b64.len, raw);
    if (rlen < NONCE_LEN + TAG_LEN)
        goto out;
    clen = (size_t)rlen - NONCE_LEN - TAG_LEN;
    plain = OPENSSL_malloc(clen + 1);
    ctx = EVP_CIPHER_CTX_new();
    if (plain == NULL || ctx == NULL || gcm_init(ctx, 0, key, raw, aad) != E_OK ||
        EVP_DecryptUpdate(ctx, plain, &n1, raw + NONCE_LEN, (int)clen) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, raw + NONCE_LEN + clen) != 1 ||
        EVP_DecryptFinal_ex(ctx, plain + n1, &n2) != 1 || (size_t)n1 + (size_t)n2 != clen)
        goto out;
    rc = buf_append(out, plain, clen);
out:
    EVP_CIPHER_CTX_free(ctx);
    OPENSSL_clear_free(plain, clen + 1);
    free(raw);
    if (rc != E_OK)
        ERR_clear_error();
    return rc;
}

static unsigned char master_key[SEAL_KEY_LEN];
static bool          master_set;

void
seal_set_master(const unsigned char key[SEAL_KEY_LEN])
{
    memcpy(master_key, key, SEAL_KEY_LEN);
    master_set = true;
}

const unsigned char *
seal_master(void)
{
    return master_set ? master_key : NULL;
}
