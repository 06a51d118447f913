/* test_seal.c - AES-256-GCM sealing and the master key file. */
/* cmocka.h needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/rnd.h"
#include "core/seal.h"

struct fx {
    char dir[64];
    char path[128];
};

static int
setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/kw-seal-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/master.key", f->dir);
    unsetenv("KEYWARD_MASTER_KEY");
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;

    unlink(f->path);
    rmdir(f->dir);
    unsetenv("KEYWARD_MASTER_KEY");
    free(f);
    return 0;
}

static void
key_fill(unsigned char key[SEAL_KEY_LEN], unsigned char v)
{
    memset(key, v, SEAL_KEY_LEN);
}

static void
test_roundtrip(void **state)
{
    static const char *const plains[] = { "", "x", "hunter2", "a longer secret: 0123456789" };
    unsigned char            key[SEAL_KEY_LEN];
    struct buf               s, p;
    size_t                   i;

    (void)state;
    key_fill(key, 7);
    for (i = 0; i < ARRAY_LEN(plains); i++) {
        buf_init(&s, 0);
        buf_init(&p, 0);
        assert_int_equal(seal(key, str_c(plains[i]), STR("row-1"), &s), E_OK);
        assert_true(strncmp(s.p, "kw1:", 4) == 0);
        /* 12 nonce + n + 16 tag bytes, base64url, no padding */
        assert_int_equal(s.len, 4 + b64url_len(12 + strlen(plains[i]) + 16));
        assert_null(strchr(s.p, '='));
        assert_int_equal(unseal(key, buf_str(&s), STR("row-1"), &p), E_OK);
        assert_int_equal(p.len, strlen(plains[i]));
        assert_memory_equal(buf_cstr(&p), plains[i], p.len);
        buf_free(&s);
        buf_wipe(&p);
    }
}

static void
test_binary_and_nonce(void **state)
{
    unsigned char key[SEAL_KEY_LEN], bin[300];
    struct buf    a, b, p;

    (void)state;
    key_fill(key, 1);
    for (size_t i = 0; i < sizeof(bin); i++)
        bin[i] = (unsigned char)i;
    buf_init(&a, 0);
    buf_init(&b, 0);
    buf_init(&p, 0);
    assert_int_equal(seal(key, (struct str){ (char *)bin, sizeof(bin) }, STR_NULL, &a), E_OK);
    assert_int_equal(seal(key, (struct str){ (char *)bin, sizeof(bin) }, STR_NULL, &b), E_OK);
    /* A fresh nonce each time: equal plaintexts do not give equal ciphertexts. */
    assert_false(str_eq(buf_str(&a), buf_str(&b)));
    assert_int_equal(unseal(key, buf_str(&a), STR_NULL, &p), E_OK);
    assert_int_equal(p.len, sizeof(bin));
    assert_memory_equal(p.p, bin, sizeof(bin));
    /* No aad and empty aad are the same thing. */
    buf_reset(&p);
    assert_int_equal(unseal(key, buf_str(&b), STR(""), &p), E_OK);
    buf_free(&a);
    buf_free(&b);
    buf_wipe(&p);
}

static void
test_wrong_aad(void **state)
{
    unsigned char key[SEAL_KEY_LEN];
    struct buf    s, p;

    (void)state;
    key_fill(key, 2);
    buf_init(&s, 0);
    buf_init(&p, 0);
    assert_int_equal(seal(key, STR("secret"), STR("row-1"), &s), E_OK);
    assert_int_equal(unseal(key, buf_str(&s), STR("row-2"), &p), E_INTERNAL);
    assert_int_equal(unseal(key, buf_str(&s), STR_NULL, &p), E_INTERNAL);
    assert_int_equal(p.len, 0);
    buf_free(&s);
    buf_free(&p);
}

static void
test_tampered(void **state)
{
    unsigned char key[SEAL_KEY_LEN];
    struct buf    s, p;
    size_t        i;

    (void)state;
    key_fill(key, 3);
    buf_init(&s, 0);
    buf_init(&p, 0);
    assert_int_equal(buf_puts(&p, "keep"), E_OK);
    assert_int_equal(seal(key, STR("secret value"), STR("id"), &s), E_OK);
    /* Every character of nonce, ciphertext and tag matters. */
    for (i = 4; i < s.len; i++) {
        char c = s.p[i];

        s.p[i] = c == 'A' ? 'B' : 'A';
        assert_int_equal(unseal(key, buf_str(&s), STR("id"), &p), E_INTERNAL);
        s.p[i] = c;
    }
    assert_string_equal(p.p, "keep"); /* failures leave out as it was */
    /* Truncated, wrong prefix, not base64url, too short for nonce + tag. */
    assert_int_equal(unseal(key, (struct str){ s.p, s.len - 1 }, STR("id"), &p), E_INTERNAL);
    assert_int_equal(unseal(key, (struct str){ s.p + 1, s.len - 1 }, STR("id"), &p),
                     E_INTERNAL);
    assert_int_equal(unseal(key, STR("kw2:AAAA"), STR("id"), &p), E_INTERNAL);
    assert_int_equal(unseal(key, STR("kw1:!!!!"), STR("id"), &p), E_INTERNAL);
    assert_int_equal(unseal(key, STR("kw1:"), STR("id"), &p), E_INTERNAL);
    assert_int_equal(unseal(key, STR("kw1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), STR("id"), &p),
                     E_INTERNAL);
    assert_int_equal(unseal(key, STR(""), STR("id"), &p), E_INTERNAL);
    assert_int_equal(unseal(key, buf_str(&s), STR("id"), &p), E_OK);
    assert_string_equal(p.p, "keepsecret value");
    buf_free(&s);
    buf_wipe(&p);
}

static void
test_wrong_key(void **state)
{
    unsigned char k1[SEAL_KEY_LEN], k2[SEAL_KEY_LEN];
    struct buf    s, p;

    (void)state;
    key_fill(k1, 4);
    key_fill(k2, 4);
    k2[31] ^= 1;
    buf_init(&s, 0);
    buf_init(&p, 0);
    assert_int_equal(seal(k1, STR("secret"), STR_NULL, &s), E_OK);
    assert_int_equal(unseal(k2, buf_str(&s), STR_NULL, &p), E_INTERNAL);
    assert_int_equal(p.len, 0);
    buf_free(&s);
    buf_free(&p);
}

static void
test_out_max(void **state)
{
    unsigned char key[SEAL_KEY_LEN];
    struct buf    s, p;

    (void)state;
    key_fill(key, 5);
    buf_init(&s, 10);
    assert_int_equal(seal(key, STR("secret"), STR_NULL, &s), E_TOOBIG);
    buf_free(&s);
    buf_init(&s, 0);
    buf_init(&p, 3);
    assert_int_equal(seal(key, STR("secret"), STR_NULL, &s), E_OK);
    assert_int_not_equal(unseal(key, buf_str(&s), STR_NULL, &p), E_OK);
    assert_int_equal(p.len, 0);
    buf_free(&s);
    buf_free(&p);
}

static void
test_master_create(void **state)
{
    struct fx    *f = *state;
    unsigned char k1[SEAL_KEY_LEN], k2[SEAL_KEY_LEN], zero[SEAL_KEY_LEN] = { 0 };
    struct errbuf eb = { 0 };
    struct stat   st;
    mode_t        old = umask(0);

    assert_int_equal(seal_load_master(f->path, k1, &eb), E_OK);
    umask(old);
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600); /* even with umask 0 */
    assert_int_equal(st.st_size, SEAL_KEY_LEN);
    assert_memory_not_equal(k1, zero, SEAL_KEY_LEN);
    /* The second start reads the same key. */
    assert_int_equal(seal_load_master(f->path, k2, &eb), E_OK);
    assert_memory_equal(k1, k2, SEAL_KEY_LEN);
}

static void
test_master_mode(void **state)
{
    static const mode_t bad[] = { 0644, 0640, 0604, 0660, 0620, 0602, 0610, 0601 };
    struct fx          *f = *state;
    unsigned char       k[SEAL_KEY_LEN];
    struct errbuf       eb = { 0 };
    size_t              i;

    assert_int_equal(seal_load_master(f->path, k, &eb), E_OK);
    for (i = 0; i < ARRAY_LEN(bad); i++) {
        assert_int_equal(chmod(f->path, bad[i]), 0);
        memset(&eb, 0, sizeof(eb));
        assert_int_equal(seal_load_master(f->path, k, &eb), E_INTERNAL);
        assert_non_null(strstr(eb.msg, "mode"));
        assert_non_null(strstr(eb.msg, f->path));
    }
    assert_int_equal(chmod(f->path, 0400), 0);
    assert_int_equal(seal_load_master(f->path, k, &eb), E_OK);
}

static void
write_file(const char *path, const void *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, p, n), (ssize_t)n);
    close(fd);
}

static void
test_master_size(void **state)
{
    struct fx    *f = *state;
    unsigned char k[SEAL_KEY_LEN], junk[SEAL_KEY_LEN + 1] = { 1 };
    struct errbuf eb = { 0 };

    write_file(f->path, junk, SEAL_KEY_LEN - 1);
    assert_int_equal(seal_load_master(f->path, k, &eb), E_INTERNAL);
    assert_non_null(strstr(eb.msg, "bytes"));
    write_file(f->path, junk, SEAL_KEY_LEN + 1);
    assert_int_equal(seal_load_master(f->path, k, &eb), E_INTERNAL);
    write_file(f->path, junk, 0);
    assert_int_equal(seal_load_master(f->path, k, &eb), E_INTERNAL);
    write_file(f->path, junk, SEAL_KEY_LEN);
    assert_int_equal(seal_load_master(f->path, k, &eb), E_OK);
    assert_memory_equal(k, junk, SEAL_KEY_LEN);
    /* A directory, or a path whose directory does not exist. */
    assert_int_equal(seal_load_master(f->dir, k, &eb), E_INTERNAL);
    assert_int_equal(seal_load_master("/nonexistent-kw/dir/master.key", k, &eb), E_INTERNAL);
}

static void
test_master_env(void **state)
{
    struct fx    *f = *state;
    unsigned char k[SEAL_KEY_LEN], want[SEAL_KEY_LEN];
    struct errbuf eb = { 0 };
    char          hex[2 * SEAL_KEY_LEN + 2];
    size_t        i;

    for (i = 0; i < SEAL_KEY_LEN; i++)
        want[i] = (unsigned char)(0xa0 + i);
    hex_encode(want, SEAL_KEY_LEN, hex);
    setenv("KEYWARD_MASTER_KEY", hex, 1);
    assert_int_equal(seal_load_master(f->path, k, &eb), E_OK);
    assert_memory_equal(k, want, SEAL_KEY_LEN);
    assert_int_equal(access(f->path, F_OK), -1); /* the file is not touched */
    /* Upper case is hex too. */
    for (i = 0; hex[i]; i++)
        if (hex[i] >= 'a' && hex[i] <= 'f')
            hex[i] = (char)(hex[i] - 'a' + 'A');
    setenv("KEYWARD_MASTER_KEY", hex, 1);
    assert_int_equal(seal_load_master(f->path, k, &eb), E_OK);
    assert_memory_equal(k, want, SEAL_KEY_LEN);
    /* 63, 65 characters, a non-hex character, empty: refused, not a fallback. */
    hex[63] = '\0';
    setenv("KEYWARD_MASTER_KEY", hex, 1);
    assert_int_equal(seal_load_master(f->path, k, &eb), E_INTERNAL);
    assert_non_null(strstr(eb.msg, "KEYWARD_MASTER_KEY"));
    hex[63] = 'A';
    hex[64] = 'B';
    hex[65] = '\0';
    setenv("KEYWARD_MASTER_KEY", hex, 1);
    assert_int_equal(seal_load_master(f->path, k, &eb), E_INTERNAL);
    hex[64] = '\0';
    hex[10] = 'g';
    setenv("KEYWARD_MASTER_KEY", hex, 1);
    assert_int_equal(seal_load_master(f->path, k, &eb), E_INTERNAL);
    setenv("KEYWARD_MASTER_KEY", "", 1);
    assert_int_equal(seal_load_master(f->path, k, &eb), E_INTERNAL);
    assert_int_equal(access(f->path, F_OK), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_binary_and_nonce),
        cmocka_unit_test(test_wrong_aad),
        cmocka_unit_test(test_tampered),
        cmocka_unit_test(test_wrong_key),
        cmocka_unit_test(test_out_max),
        cmocka_unit_test_setup_teardown(test_master_create, setup, teardown),
        cmocka_unit_test_setup_teardown(test_master_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_master_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_master_env, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
