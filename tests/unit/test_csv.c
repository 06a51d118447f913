/* test_csv.c - the CSV cell and row encoder (api/csv.c): RFC 4180 quoting,
 * the formula guard, lists, maps, booleans, numbers, absent values. Many small
 * cases, as data: each value is written as JSON, decoded, then encoded as a
 * cell. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/csv.h"
#include "core/arena.h"
#include "core/codec.h"

struct cell_case {
    const char *json; /* the value; NULL: absent */
    const char *want; /* the cell */
};

static const struct cell_case cells[] = {
    { NULL, "" },
    { "null", "" },
    { "\"plain\"", "plain" },
    { "\"\"", "" },
    { "\"a,b\"", "\"a,b\"" },
    { "\"say \\\"hi\\\"\"", "\"say \"\"hi\"\"\"" },
    { "\"\\\"\"", "\"\"\"\"" },
    { "\"line\\nbreak\"", "\"line\nbreak\"" },
    { "\"cr\\rhere\"", "\"cr\rhere\"" },
    { "\"semi;colon\"", "\"semi;colon\"" }, /* a separator elsewhere: quoted */
    { "\"tab\\there\"", "\"tab\there\"" },
    { "[\"a\", \"=b\", \"@c\"]", "\"a;'=b;'@c\"" }, /* each element guarded */
    { "\"caf\\u00e9 \\u2603\"", "caf\xc3\xa9 \xe2\x98\x83" },
    /* the formula guard, on text only */
    { "\"=1+1\"", "'=1+1" },
    { "\"+1\"", "'+1" },
    { "\"-1\"", "'-1" },
    { "\"@SUM(A1)\"", "'@SUM(A1)" },
    { "\"\\tx\"", "\"'\tx\"" }, /* guarded, and quoted: TAB is a separator too */
    { "\"\\rx\"", "\"'\rx\"" },
    { "\"=HYPERLINK(\\\"http://x\\\",\\\"y\\\")\"",
      "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"" },
    { "\"a=b\"", "a=b" },
    { "\"'=x\"", "'=x" },
    /* other types */
    { "true", "true" },
    { "false", "false" },
    { "42", "42" },
    { "-7", "-7" }, /* a number is no formula */
    { "1.5", "1.5" },
    /* lists: joined with ';' (so quoted), each element guarded */
    { "[]", "" },
    { "[\"a\"]", "a" },
    { "[\"a\",\"b\",\"c\"]", "\"a;b;c\"" },
    { "[\"a,b\",\"c\"]", "\"a,b;c\"" },
    { "[\"=x\",\"y\"]", "\"'=x;y\"" },
    { "[\"y\",\"=x\"]", "\"y;'=x\"" }, /* a spreadsheet splitting on ';' ran =x */
    { "[1,true,null,\"s\"]", "\"1;true;;s\"" },
    { "[[\"CN\",\"x\"],[\"O\",\"y\"]]", "\"[\"\"CN\"\",\"\"x\"\"];[\"\"O\"\",\"\"y\"\"]\"" },
    /* maps: JSON text */
    { "{}", "{}" },
    { "{\"k\":[\"v\"]}", "\"{\"\"k\"\":[\"\"v\"\"]}\"" },
};

static void
test_cells(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cells / sizeof cells[0]; i++) {
        struct arena *a = arena_new(1024);
        struct errbuf eb = { 0 };
        struct val    v;
        struct buf    out;

        buf_init(&out, 1 << 20);
        if (cells[i].json != NULL)
            assert_int_equal(json_decode(a, cells[i].json, strlen(cells[i].json), 8, &v, &eb),
                             E_OK);
        assert_int_equal(csv_cell(&out, cells[i].json != NULL ? &v : NULL), E_OK);
        if (strcmp(buf_cstr(&out), cells[i].want) != 0)
            fail_msg("case %zu (%s): got [%s], want [%s]", i,
                     cells[i].json ? cells[i].json : "absent", buf_cstr(&out), cells[i].want);
        buf_free(&out);
        arena_free(a);
    }
}

static void
test_rows(void **state)
{
    static const char obj_json[] = "{\"ID\":\"x1\",\"name\":\"n, \\\"1\\\"\",\"n\":3,"
                                   "\"tags\":[\"a=1\",\"b=2\"],\"on\":false}";
    const struct str  cols[] = { STR("ID"), STR("name"), STR("missing"),
                                 STR("n"),  STR("tags"), STR("on") };
    const struct str  hdr[] = { STR("ID"), STR("a,b"), STR("=x") };
    struct arena     *a = arena_new(1024);
    struct errbuf     eb = { 0 };
    struct val        obj, notmap = val_int(1);
    struct buf        out;

    (void)state;
    buf_init(&out, 1 << 20);
    assert_int_equal(json_decode(a, obj_json, strlen(obj_json), 8, &obj, &eb), E_OK);
    assert_int_equal(csv_row(&out, &obj, cols, 6), E_OK);
    assert_string_equal(buf_cstr(&out), "x1,\"n, \"\"1\"\"\",,3,\"a=1;b=2\",false\r\n");
    buf_reset(&out);
    assert_int_equal(csv_header(&out, hdr, 3), E_OK);
    assert_string_equal(buf_cstr(&out), "ID,\"a,b\",'=x\r\n");
    buf_reset(&out);
    assert_int_equal(csv_row(&out, &notmap, cols, 2), E_OK); /* not an object: empty cells */
    assert_string_equal(buf_cstr(&out), ",\r\n");
    buf_reset(&out);
    assert_int_equal(csv_row(&out, &obj, cols + 2, 1), E_OK); /* one empty cell */
    assert_string_equal(buf_cstr(&out), "\"\"\r\n");
    buf_reset(&out);
    assert_int_equal(csv_row(&out, &obj, cols, 0), E_OK);
    assert_string_equal(buf_cstr(&out), "\r\n");
    buf_free(&out);
    arena_free(a);
}

/* A buffer at its maximum refuses the cell instead of growing past it. */
static void
test_full_buffer(void **state)
{
    struct val v = val_cstr("0123456789,0123456789");
    struct buf out;

    (void)state;
    buf_init(&out, 8);
    assert_int_equal(csv_cell(&out, &v), E_TOOBIG);
    buf_free(&out);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cells),
        cmocka_unit_test(test_rows),
        cmocka_unit_test(test_full_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
