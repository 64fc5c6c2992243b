/* SPDX-License-Identifier: MIT */
/* The shared JSON helpers: loading, Go-style case-insensitive members, member readers. */
#include "common/json.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static json_t *load(const char *text, size_t flags)
{
	return wm_json_load_object(text, strlen(text), flags, NULL, 0);
}

START_TEST(load_objects_only)
{
	static const char *const bad[] = { "", " ", "[]", "null", "2", "\"s\"", "{", "{\"a\":1} x",
					   "{\"a\":01}", "{\"a\":NaN}", "{\"a\":\"\\u0000\"}" };
	char err[128] = "";
	json_t *o;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		ck_assert_msg(!wm_json_load_object(bad[i], strlen(bad[i]), 0, err, sizeof(err)),
			      "accepted %s", bad[i]);
		ck_assert_msg(!strncmp(err, "bad JSON", 8), "%s: %s", bad[i], err);
	}
	/* Repeated keys: the last wins, unless the caller rejects them. */
	o = load("{\"a\":1,\"a\":2}", 0);
	ck_assert_ptr_nonnull(o);
	ck_assert_int_eq(json_integer_value(json_object_get(o, "a")), 2);
	json_decref(o);
	ck_assert_ptr_null(load("{\"a\":1,\"a\":2}", JSON_REJECT_DUPLICATES));
	/* A NUL inside the text ends nothing: it is not JSON. */
	ck_assert_ptr_null(wm_json_load_object("{\"a\"\0:1}", 8, 0, NULL, 0));
}
END_TEST

static int collect(void *ctx, const json_t *v)
{
	json_t *list = ctx;

	json_array_append(list, (json_t *)v);
	return json_is_string(v) && !strcmp(json_string_value(v), "stop") ? 7 : 0;
}

START_TEST(nocase_members_in_order)
{
	json_t *o = load("{\"Version\":1,\"x\":0,\"VERSION\":2,\"version\":null,\"versions\":9,"
			 "\"v\\u0045rsion\":3}", 0);
	json_t *seen = json_array();

	ck_assert_ptr_nonnull(o);
	ck_assert_int_eq(wm_json_foreach_nocase(o, "version", collect, seen), 0);
	/* Every match, in document order; "versions" is another key. */
	ck_assert_uint_eq(json_array_size(seen), 4);
	ck_assert_int_eq(json_integer_value(json_array_get(seen, 0)), 1);
	ck_assert_int_eq(json_integer_value(json_array_get(seen, 1)), 2);
	ck_assert(json_is_null(json_array_get(seen, 2)));
	ck_assert_int_eq(json_integer_value(json_array_get(seen, 3)), 3);
	ck_assert_int_eq(wm_json_foreach_nocase(o, "nothere", collect, seen), 0);
	ck_assert_uint_eq(json_array_size(seen), 4);
	json_decref(o);
	json_array_clear(seen);
	/* A non-zero return stops the walk and comes back. */
	o = load("{\"k\":\"stop\",\"K\":1}", 0);
	ck_assert_int_eq(wm_json_foreach_nocase(o, "k", collect, seen), 7);
	ck_assert_uint_eq(json_array_size(seen), 1);
	/* Only ASCII letters fold: a Kelvin sign (U+212A) is not a 'k'. */
	json_decref(o);
	json_array_clear(seen);
	o = load("{\"\\u212a\":1}", 0);
	ck_assert_int_eq(wm_json_foreach_nocase(o, "k", collect, seen), 0);
	ck_assert_uint_eq(json_array_size(seen), 0);
	json_decref(o);
	json_decref(seen);
}
END_TEST

START_TEST(strings)
{
	json_t *o = load("{\"s\":\"a\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\u20ac\\ud83d\\ude00x\","
			 "\"long\":\"0123456789012345678901234567890123456789\",\"n\":5,"
			 "\"ctl\":\"a\\u0007\",\"z\":null}", 0);
	char out[32], err[128];

	ck_assert_ptr_nonnull(o);
	ck_assert_int_eq(wm_json_string(o, "s", true, out, sizeof(out), err, sizeof(err)),
			 -EBADMSG);	/* escapes decode to control characters */
	ck_assert_ptr_nonnull(strstr(err, "control characters"));
	json_object_set_new(o, "s", json_string("a\"\\/\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80x"));
	ck_assert_int_eq(wm_json_string(o, "s", true, out, sizeof(out), err, sizeof(err)), 0);
	ck_assert_str_eq(out, "a\"\\/\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80x");
	ck_assert_int_eq(wm_json_string(o, "long", true, out, sizeof(out), err, sizeof(err)),
			 -EBADMSG);
	ck_assert_ptr_nonnull(strstr(err, "\"long\" is too long"));
	ck_assert_int_eq(wm_json_string(o, "n", true, out, sizeof(out), err, sizeof(err)),
			 -EBADMSG);
	ck_assert_ptr_nonnull(strstr(err, "must be a string"));
	ck_assert_int_eq(wm_json_string(o, "ctl", true, out, sizeof(out), err, sizeof(err)),
			 -EBADMSG);
	/* Missing and null are the same: an error only when required. */
	ck_assert_int_eq(wm_json_string(o, "z", false, out, sizeof(out), err, sizeof(err)), 0);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(wm_json_string(o, "none", true, out, sizeof(out), err, sizeof(err)),
			 -EBADMSG);
	ck_assert_str_eq(err, "missing field \"none\"");
	json_decref(o);
	/* jansson refuses a lone surrogate (Go would put U+FFFD there). */
	ck_assert_ptr_null(load("{\"s\":\"\\ud800x\"}", 0));
}
END_TEST

START_TEST(integers)
{
	json_t *o = load("{\"max\":9223372036854775807,\"min\":-9223372036854775808,"
			 "\"negzero\":-0,\"real\":2.5,\"exp\":1e2}", 0);
	int64_t v = 42;
	char err[128];

	ck_assert_ptr_nonnull(o);
	ck_assert_int_eq(wm_json_int(o, "max", true, INT64_MIN, INT64_MAX, &v, err, sizeof(err)), 0);
	ck_assert(v == INT64_MAX);
	ck_assert_int_eq(wm_json_int(o, "min", true, INT64_MIN, INT64_MAX, &v, err, sizeof(err)), 0);
	ck_assert(v == INT64_MIN);
	ck_assert_int_eq(wm_json_int(o, "negzero", true, 0, 0, &v, err, sizeof(err)), 0);
	ck_assert(v == 0);
	ck_assert_int_eq(wm_json_int(o, "real", true, 0, 9, &v, err, sizeof(err)), -EBADMSG);
	ck_assert_int_eq(wm_json_int(o, "exp", true, 0, 999, &v, err, sizeof(err)), -EBADMSG);
	ck_assert_int_eq(wm_json_int(o, "max", true, 0, 9, &v, err, sizeof(err)), -EBADMSG);
	ck_assert_ptr_nonnull(strstr(err, "out of range"));
	v = 42;
	ck_assert_int_eq(wm_json_int(o, "none", false, 0, 9, &v, err, sizeof(err)), 0);
	ck_assert(v == 42);
	json_decref(o);
	ck_assert_ptr_null(load("{\"a\":9223372036854775808}", 0));
}
END_TEST

START_TEST(keys_hex_addresses)
{
	uint8_t key[32], id[4], back[32];
	struct in_addr a4;
	struct in6_addr a6;
	struct wm_endpoint eps[2];
	size_t n;
	char err[160], *text;
	json_t *o = json_object();

	memset(key, 7, sizeof(key));
	ck_assert(wm_json_put(o, "key", wm_json_key_new(key)));
	ck_assert(wm_json_put(o, "zero", json_string("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")));
	ck_assert(wm_json_put(o, "id", wm_json_hex_new((const uint8_t *)"\x01\x02\xab\xff", 4)));
	ck_assert(wm_json_put(o, "v4", json_string("100.64.0.1")));
	ck_assert(wm_json_put(o, "v6", json_string("fd77::1")));
	ck_assert(wm_json_put(o, "eps", json_pack("[ss]", "1.2.3.4:5", "[::1]:7")));
	ck_assert(wm_json_put(o, "bad_eps", json_pack("[s]", "1.2.3.4:0")));
	ck_assert(!wm_json_put(o, "null", NULL));
	ck_assert(!wm_json_put(NULL, "x", json_string("leaks nothing")));

	ck_assert_int_eq(wm_json_key(o, "key", back, err, sizeof(err)), 0);
	ck_assert_mem_eq(back, key, 32);
	ck_assert_int_eq(wm_json_key(o, "zero", back, err, sizeof(err)), -EBADMSG);
	ck_assert_ptr_nonnull(strstr(err, "all-zero"));
	ck_assert_int_eq(wm_json_key(o, "v4", back, err, sizeof(err)), -EBADMSG);
	ck_assert_ptr_nonnull(strstr(err, "not a key"));
	ck_assert_int_eq(wm_json_hex(o, "id", id, 4, "an id", err, sizeof(err)), 0);
	ck_assert_mem_eq(id, "\x01\x02\xab\xff", 4);
	ck_assert_int_eq(wm_json_hex(o, "id", id, 3, "an id", err, sizeof(err)), -EBADMSG);
	ck_assert_str_eq(err, "field \"id\" is not an id (6 hex digits)");
	ck_assert_int_eq(wm_json_ipv4(o, "v4", &a4, err, sizeof(err)), 0);
	ck_assert_int_eq(wm_json_ipv6(o, "v6", &a6, err, sizeof(err)), 0);
	ck_assert_int_eq(wm_json_ipv4(o, "v6", &a4, err, sizeof(err)), -EBADMSG);
	ck_assert_int_eq(wm_json_endpoints(o, "eps", eps, 2, &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(wm_json_endpoints(o, "eps", eps, 1, &n, err, sizeof(err)), -EBADMSG);
	ck_assert_ptr_nonnull(strstr(err, "too many entries"));
	ck_assert_int_eq(wm_json_endpoints(o, "bad_eps", eps, 2, &n, err, sizeof(err)), -EBADMSG);
	ck_assert_int_eq(wm_json_endpoints(o, "none", eps, 2, &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 0);

	text = wm_json_finish(json_pack("{sb}", "a", 1), true);
	ck_assert_str_eq(text, "{\"a\":true}");
	free(text);
	ck_assert_ptr_null(wm_json_finish(json_object(), false));
	ck_assert_ptr_null(wm_json_finish(NULL, true));
	json_decref(o);
}
END_TEST

START_TEST(secret_window)
{
	json_malloc_t m0, m1;
	json_free_t f0, f1;
	json_t *o;

	json_get_alloc_funcs(&m0, &f0);
	wm_json_secret_begin();
	o = load("{\"PrivateKey\":\"privkey:00112233\",\"x\":[1,{\"y\":\"z\"}]}", 0);
	ck_assert_ptr_nonnull(o);
	ck_assert_str_eq(json_string_value(json_object_get(o, "PrivateKey")), "privkey:00112233");
	json_decref(o);
	wm_json_secret_end();
	json_get_alloc_funcs(&m1, &f1);
	ck_assert(m0 == m1 && f0 == f1);	/* the usual allocator again */
	o = load("{\"a\":1}", 0);
	ck_assert_ptr_nonnull(o);
	json_decref(o);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("json");
	TCase *tc = tcase_create("json");
	SRunner *sr;
	int failures;

	tcase_add_test(tc, load_objects_only);
	tcase_add_test(tc, nocase_members_in_order);
	tcase_add_test(tc, strings);
	tcase_add_test(tc, integers);
	tcase_add_test(tc, keys_hex_addresses);
	tcase_add_test(tc, secret_window);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures != 0;
}
