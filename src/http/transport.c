/* transport.c - how a connection's bytes travel (struct transport, local.h):
 * tls_io, OpenSSL over the socket, for the API; plain_io, read() and send()
 * on the socket, for the public PKI routes on pki_listen. And the TLS context
 * tls_io opens its sessions from: the console's certificate chain and key,
 * the client CAs it asks for, any client certificate accepted in the
 * handshake (peer.c judges it per connection).
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "local.h"
#include "peer.h"

/* Replaced whole when the certificate changes (http_tls_replace): a session holds
 * a reference of its own to the context it was opened from. */
static SSL_CTX        *ctx_;
static pthread_mutex_t ctx_mu = PTHREAD_MUTEX_INITIALIZER;

/* ---- transports: TLS -------------------------------------------------- */

/* After an OpenSSL call that returned `n` <= 0. */
static ssize_t
tls_status(struct conn *c, int n)
{
    int e = SSL_get_error(c->ssl, n);

    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
        return IO_AGAIN;
    ERR_clear_error();
    return IO_GONE;
}

static int
tls_open(struct conn *c)
{
    pthread_mutex_lock(&ctx_mu);
    c->ssl = SSL_new(ctx_);
    pthread_mutex_unlock(&ctx_mu);
    if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1) {
        ERR_clear_error();
        return E_INTERNAL;
    }
    SSL_set_accept_state(c->ssl);
    return E_OK;
}

static void
check_peer(struct conn *c)
{
    X509          *x = SSL_get0_peer_certificate(c->ssl);
    unsigned char *der = NULL;
    int            n;

    c->peer_checked = true;
    if (x == NULL || (n = i2d_X509(x, &der)) <= 0)
        return;
    c->peer_a = arena_new(2048);
    c->peer = peer_check(c->peer_a, der, (size_t)n);
    OPENSSL_free(der);
}

static int
tls_handshake(struct conn *c)
{
    int n;

    ERR_clear_error();
    n = SSL_do_handshake(c->ssl);
    if (n != 1)
        return (int)tls_status(c, n);
    check_peer(c);
    return 1;
}

static ssize_t
tls_read(struct conn *c, void *p, size_t n)
{
    int k;

    ERR_clear_error();
    k = SSL_read(c->ssl, p, n > INT_MAX ? INT_MAX : (int)n);
    return k > 0 ? k : tls_status(c, k);
}

static ssize_t
tls_write(struct conn *c, const void *p, size_t n)
{
    int k;

    ERR_clear_error();
    k = SSL_write(c->ssl, p, n > INT_MAX ? INT_MAX : (int)n);
    return k > 0 ? k : tls_status(c, k);
}

/* close_notify */
static void
tls_shutdown(struct conn *c)
{
    ERR_clear_error();
    if (SSL_shutdown(c->ssl) < 0)
        ERR_clear_error();
}

static void
tls_release(struct conn *c)
{
    if (c->ssl == NULL)
        return;
    ERR_clear_error();
    SSL_free(c->ssl);
    c->ssl = NULL;
}

const struct transport tls_io = {
    .plain = false,
    .open = tls_open,
    .handshake = tls_handshake,
    .read = tls_read,
    .write = tls_write,
    .shutdown = tls_shutdown,
    .release = tls_release,
};

/* ---- transports: plain TCP, for the public PKI routes ------------------- */

static ssize_t
plain_status(ssize_t n)
{
    if (n > 0)
        return n;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return IO_AGAIN;
    return IO_GONE; /* 0: the client closed; else the connection broke */
}

static int
plain_open(struct conn *c)
{
    KW_UNUSED(c);
    return E_OK;
}

/* Nothing to agree on: the first bytes are the request. */
static int
plain_handshake(struct conn *c)
{
    KW_UNUSED(c);
    return 1;
}

static ssize_t
plain_read(struct conn *c, void *p, size_t n)
{
    ssize_t k;

    do
        k = read(c->fd, p, n);
    while (k < 0 && errno == EINTR);
    return plain_status(k);
}

static ssize_t
plain_write(struct conn *c, const void *p, size_t n)
{
    ssize_t k;

    do
        k = send(c->fd, p, n, MSG_NOSIGNAL);
    while (k < 0 && errno == EINTR);
    return plain_status(k);
}

/* FIN: the client reads the answer to its end, then closes too. */
static void
plain_shutdown(struct conn *c)
{
    shutdown(c->fd, SHUT_WR);
}

static void
plain_release(struct conn *c)
{
    KW_UNUSED(c);
}

const struct transport plain_io = {
    .plain = true,
    .open = plain_open,
    .handshake = plain_handshake,
    .read = plain_read,
    .write = plain_write,
    .shutdown = plain_shutdown,
    .release = plain_release,
};

/* ---- the TLS context ------------------------------------------------------ */

/* Any client certificate is accepted in the handshake: peer.c decides what it
 * proves, per connection, and routes that want none ignore it. */
static int
accept_any_cert(int ok, X509_STORE_CTX *x)
{
    KW_UNUSED(ok);
    KW_UNUSED(x);
    return 1;
}

static int
load_chain(SSL_CTX *ctx, const char *pem)
{
    BIO  *bio = BIO_new_mem_buf(pem, -1);
    X509 *x = NULL;
    int   n = 0, ok = 1;

    while (bio != NULL && ok && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        ok = n++ == 0 ? SSL_CTX_use_certificate(ctx, x) == 1
                      : SSL_CTX_add1_chain_cert(ctx, x) == 1;
        X509_free(x);
    }
    BIO_free(bio);
    ERR_clear_error();
    return ok && n > 0;
}

static int
load_key_and_client_cas(SSL_CTX *ctx, const struct tls_files *tls)
{
    BIO      *bio = BIO_new_mem_buf(buf_cstr(&tls->key_pem), -1);
    EVP_PKEY *key = bio != NULL ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    X509     *x = NULL;
    int       ok = key != NULL && SSL_CTX_use_PrivateKey(ctx, key) == 1 &&
             SSL_CTX_check_private_key(ctx) == 1;

    EVP_PKEY_free(key);
    BIO_free(bio);
    bio = BIO_new_mem_buf(buf_cstr(&tls->client_ca_pem), -1);
    while (ok && bio != NULL && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        ok = SSL_CTX_add_client_CA(ctx, x) == 1;
        X509_free(x);
    }
    BIO_free(bio);
    ERR_clear_error();
    return ok;
}

static SSL_CTX *
ctx_new(const struct tls_files *tls, struct errbuf *eb)
{
    static const unsigned char sid[] = "keyward";
    SSL_CTX                   *ctx = SSL_CTX_new(TLS_server_method());

    if (ctx == NULL || SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
        SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1 ||
        SSL_CTX_set_cipher_list(ctx, "ECDHE+AESGCM:ECDHE+CHACHA20") != 1 ||
        !load_chain(ctx, buf_cstr(&tls->cert_pem)) || !load_key_and_client_cas(ctx, tls) ||
        SSL_CTX_set_session_id_context(ctx, sid, sizeof sid - 1) != 1) {
        ERR_clear_error();
        SSL_CTX_free(ctx);
        errbuf_set(eb, E_INTERNAL, "tls: the server certificate or key cannot be used");
        return NULL;
    }
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                 SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_RELEASE_BUFFERS |
                              SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, accept_any_cert);
    return ctx;
}

int
tls_init(const struct tls_files *tls, struct errbuf *eb)
{
    return (ctx_ = ctx_new(tls, eb)) != NULL ? E_OK : eb->code;
}

/* New sessions are opened from `tls`; those open keep theirs. */
int
http_tls_replace(const struct tls_files *tls, struct errbuf *eb)
{
    SSL_CTX *ctx = ctx_new(tls, eb), *old;

    if (ctx == NULL)
        return eb->code;
    pthread_mutex_lock(&ctx_mu);
    old = ctx_;
    ctx_ = ctx;
    pthread_mutex_unlock(&ctx_mu);
    SSL_CTX_free(old);
    return E_OK;
}

void
tls_fini(void)
{
    SSL_CTX_free(ctx_);
    ctx_ = NULL;
}
