/* pem.h - what every PEM read of a private key passes to OpenSSL. */
#ifndef KW_PEM_H
#define KW_PEM_H

/* A pem_password_cb that refuses: an encrypted key must fail, not prompt on the
 * terminal for a passphrase. */
static inline int
pem_no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

#endif
