/* clientcert.c - LD_PRELOAD shim that makes wrk present a TLS client certificate.
 *
 * wrk has no option for one. Every SSL_CTX it creates gets the certificate
 * (chain) in $KW_CLIENT_CERT and the key in $KW_CLIENT_KEY (PEM files); a
 * file that does not load stops wrk. bench/run.sh builds it into the run's
 * directory (cc -shared -fPIC) for the Certificate realm part. Not part of
 * keyward.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>

SSL_CTX *
SSL_CTX_new(const SSL_METHOD *method)
{
    static SSL_CTX *(*real)(const SSL_METHOD *);
    const char *cert = getenv("KW_CLIENT_CERT"), *key = getenv("KW_CLIENT_KEY");
    SSL_CTX    *ctx;

    if (real == NULL)
        *(void **)&real = dlsym(RTLD_NEXT, "SSL_CTX_new");
    if (real == NULL)
        abort();
    ctx = real(method);
    if (ctx == NULL || cert == NULL || key == NULL)
        return ctx;
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        fprintf(stderr, "clientcert: cannot use %s with %s\n", cert, key);
        exit(1);
    }
    return ctx;
}
