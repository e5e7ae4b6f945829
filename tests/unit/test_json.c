/*
 * tests/unit/test_json.c - the JSON parser, renderers and comparison.
 *
 * The stories: the API sends a 19-digit id and the file shows those digits;
 * a user saves a file with a typo and the log says where and what; a file
 * renders byte for byte as `jq .` would print it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "api/json.h"

static cJSON *parse_ok(const char *text)
{
	struct json_error err = { 0 };
	cJSON *item = json_parse(text, strlen(text), &err);

	if (!item)
		g_error("cannot parse '%s': %d:%d: %s", text, err.line,
			err.column, err.message);
	return item;
}

/* Parses text and checks its rendering, pretty and compact. */
static void check_render(const char *text, const char *pretty,
			 const char *compact)
{
	cJSON *item = parse_ok(text);
	size_t len = 0;
	char *out = json_render(item, &len);
	char *one = json_render_compact(item);

	g_assert_cmpstr(out, ==, pretty);
	g_assert_cmpuint(len, ==, strlen(pretty));
	if (compact)
		g_assert_cmpstr(one, ==, compact);
	free(out);
	free(one);
	cJSON_Delete(item);
}

/* ------------------------------------------------------------------ */

static void test_big_integers(void)
{
	check_render("{\"id\": 1234567890123456789, "
		     "\"neg\": -98765432109876543210987654321}",
		     "{\n  \"id\": 1234567890123456789,\n"
		     "  \"neg\": -98765432109876543210987654321\n}\n",
		     "{\"id\":1234567890123456789,"
		     "\"neg\":-98765432109876543210987654321}");
	/* Numbers are never re-encoded: 1.50 stays 1.50, 1E+2 stays 1E+2. */
	check_render("[1.50,1E+2,-0,0.0e-0]",
		     "[\n  1.50,\n  1E+2,\n  -0,\n  0.0e-0\n]\n",
		     "[1.50,1E+2,-0,0.0e-0]");
}

static void test_numbers_are_raw(void)
{
	cJSON *item = parse_ok("{\"n\": 18446744073709551617}");
	cJSON *n = cJSON_GetObjectItemCaseSensitive(item, "n");

	g_assert_true(cJSON_IsRaw(n));
	g_assert_cmpstr(n->valuestring, ==, "18446744073709551617");
	cJSON_Delete(item);
}

static void test_unicode(void)
{
	cJSON *item = parse_ok("\"caf\\u00e9 \\ud83d\\ude00 \\u4e2d "
			       "\xc3\xa9\xf0\x9f\x98\x80\"");

	g_assert_cmpstr(item->valuestring, ==,
			"caf\xc3\xa9 \xf0\x9f\x98\x80 \xe4\xb8\xad "
			"\xc3\xa9\xf0\x9f\x98\x80");
	cJSON_Delete(item);

	/* Rendered back as raw UTF-8, never as \u escapes. */
	check_render("[\"\\u00e9\\uD83D\\uDE00\", \"\\u2028\"]",
		     "[\n  \"\xc3\xa9\xf0\x9f\x98\x80\",\n"
		     "  \"\xe2\x80\xa8\"\n]\n", NULL);
}

static void test_escapes(void)
{
	check_render("\"q\\\" b\\\\ s\\/ \\b\\f\\n\\r\\t \\u0001\\u001f"
		     "\\u007f \x7f\"",
		     "\"q\\\" b\\\\ s/ \\b\\f\\n\\r\\t \\u0001\\u001f"
		     "\\u007f \\u007f\"\n",
		     "\"q\\\" b\\\\ s/ \\b\\f\\n\\r\\t \\u0001\\u001f"
		     "\\u007f \\u007f\"");
	check_render("{\"a\\nb\": \"\\\"\"}", "{\n  \"a\\nb\": \"\\\"\"\n}\n",
		     "{\"a\\nb\":\"\\\"\"}");
}

static void test_layout(void)
{
	check_render("{\"b\":[],\"a\":{},\"c\":[1,{\"d\":null,\"e\":true}],"
		     "\"f\":false,\"g\":\"s\"}",
		     "{\n"
		     "  \"b\": [],\n"
		     "  \"a\": {},\n"
		     "  \"c\": [\n"
		     "    1,\n"
		     "    {\n"
		     "      \"d\": null,\n"
		     "      \"e\": true\n"
		     "    }\n"
		     "  ],\n"
		     "  \"f\": false,\n"
		     "  \"g\": \"s\"\n"
		     "}\n",
		     "{\"b\":[],\"a\":{},\"c\":[1,{\"d\":null,\"e\":true}],"
		     "\"f\":false,\"g\":\"s\"}");
	check_render("  \"top\"  ", "\"top\"\n", "\"top\"");
	check_render("null", "null\n", "null");
	check_render("[[[]]]", "[\n  [\n    []\n  ]\n]\n", "[[[]]]");
}

static void test_not_nul_terminated(void)
{
	const char text[] = "[1,2]garbage";
	cJSON *item = json_parse(text, 5, NULL);
	char *out = json_render_compact(item);

	g_assert_cmpstr(out, ==, "[1,2]");
	free(out);
	cJSON_Delete(item);
}

static void test_bom_skipped(void)
{
	cJSON *item = parse_ok("\xef\xbb\xbf{\"a\":1}");

	g_assert_cmpint(json_int(item, "a", 0), ==, 1);
	cJSON_Delete(item);
}

/* A repeated key keeps its first place and its last value, as in jq. */
static void test_duplicate_keys(void)
{
	GString *text = g_string_new("{");
	cJSON *item;
	char *out;
	int i;

	check_render("{\"a\":1,\"b\":2,\"a\":3}",
		     "{\n  \"a\": 3,\n  \"b\": 2\n}\n", "{\"a\":3,\"b\":2}");
	check_render("{\"a\":1,\"b\":2,\"b\":[3],\"c\":4}",
		     "{\n  \"a\": 1,\n  \"b\": [\n    3\n  ],\n  \"c\": 4\n}\n",
		     "{\"a\":1,\"b\":[3],\"c\":4}");

	/* The same past the point where objects get a key index. */
	for (i = 0; i < 40; i++)
		g_string_append_printf(text, "\"k%d\":%d,", i % 20, i);
	g_string_append(text, "\"z\":0}");
	item = parse_ok(text->str);
	g_assert_cmpint(cJSON_GetArraySize(item), ==, 21);
	g_assert_cmpint(json_int(item, "k0", -1), ==, 20);
	g_assert_cmpint(json_int(item, "k19", -1), ==, 39);
	out = json_render_compact(item);
	g_assert_true(g_str_has_prefix(out, "{\"k0\":20,\"k1\":21,"));
	g_assert_true(g_str_has_suffix(out, "\"k19\":39,\"z\":0}"));
	free(out);
	cJSON_Delete(item);
	g_string_free(text, TRUE);
}

/* ------------------------------------------------------------------ */

struct bad_case {
	const char *text;
	size_t len;		/* 0: strlen(text) */
	int line;
	int column;
	const char *message;
};

static const struct bad_case bad_cases[] = {
	{ "", 0, 1, 1, "empty input: expected a JSON value" },
	{ " \n\t", 0, 1, 1, "empty input: expected a JSON value" },
	{ "{\"a\":1 \"b\":2}", 0, 1, 8,
	  "expected ',' or '}' after object member" },
	{ "{\n  \"a\": 1\n  \"b\": 2\n}", 0, 3, 3,
	  "expected ',' or '}' after object member" },
	{ "[1 2]", 0, 1, 4, "expected ',' or ']' after array element" },
	{ "{\"a\" 1}", 0, 1, 6, "expected ':' after object key" },
	{ "{a:1}", 0, 1, 2, "expected a string key in double quotes" },
	{ "{\"a\":1,}", 0, 1, 8, "trailing comma before '}'" },
	{ "[1,\n]", 0, 2, 1, "trailing comma before ']'" },
	{ "[1,2", 0, 1, 5, "unexpected end of input: "
	  "expected ',' or ']' after array element" },
	{ "{\"a\":", 0, 1, 6,
	  "unexpected end of input: expected a JSON value" },
	{ "[", 0, 1, 2, "unexpected end of input: expected a JSON value" },
	{ "[\"abc]", 0, 1, 2, "unterminated string" },
	{ "\"ends in escape\\\"", 0, 1, 1, "unterminated string" },
	{ "{\n  \"a\": \"x\ny\"\n}", 0, 2, 10,
	  "control character in string: write it as \\n" },
	{ "\"a\tb\"", 0, 1, 3,
	  "control character in string: write it as \\t" },
	{ "\"a\x01\"", 0, 1, 3,
	  "control character in string: write it as \\u0001" },
	{ "[1] x", 0, 1, 5, "trailing characters after the JSON value" },
	{ "{}\n\n  }", 0, 3, 3, "trailing characters after the JSON value" },
	{ "\"\xc3\xa9\" x", 0, 1, 6,
	  "trailing characters after the JSON value" },
	{ "01", 0, 1, 2, "invalid number: leading zeros are not allowed" },
	{ "-00", 0, 1, 3, "invalid number: leading zeros are not allowed" },
	{ "[-a]", 0, 1, 3, "invalid number: expected a digit after '-'" },
	{ "-", 0, 1, 2, "unexpected end of input: "
	  "invalid number: expected a digit after '-'" },
	{ "[1.x]", 0, 1, 4, "invalid number: expected a digit after '.'" },
	{ "[1.]", 0, 1, 4, "invalid number: expected a digit after '.'" },
	{ "[1e+]", 0, 1, 5,
	  "invalid number: expected a digit in the exponent" },
	{ "[1E]", 0, 1, 4, "invalid number: expected a digit in the exponent" },
	{ "+1", 0, 1, 1,
	  "invalid number: a number starts with '-' or a digit" },
	{ "[.5]", 0, 1, 2,
	  "invalid number: a number starts with '-' or a digit" },
	{ "[1.5.2]", 0, 1, 5, "expected ',' or ']' after array element" },
	{ "True", 0, 1, 1, "invalid literal: expected true, false, null, "
	  "a number or a string in double quotes" },
	{ "[nul]", 0, 1, 2, "invalid literal: expected true, false, null, "
	  "a number or a string in double quotes" },
	{ "{\"a\": NaN}", 0, 1, 7, "invalid literal: expected true, false, "
	  "null, a number or a string in double quotes" },
	{ "[truex]", 0, 1, 2, "invalid literal: expected true, false, null, "
	  "a number or a string in double quotes" },
	{ "['a']", 0, 1, 2, "strings must be in double quotes" },
	{ "// note\n{}", 0, 1, 1, "comments are not allowed in JSON" },
	{ "[@]", 0, 1, 2, "expected a JSON value, found '@'" },
	{ "\x01", 0, 1, 1, "expected a JSON value, found byte 0x01" },
	{ "[1,\0]", 5, 1, 4, "expected a JSON value, found byte 0x00" },
	{ "\"\\x\"", 0, 1, 2,
	  "invalid escape in string: backslash followed by 'x'" },
	{ "\"\\u12\"", 0, 1, 2,
	  "invalid \\u escape: expected four hex digits" },
	{ "\"\\uzzzz\"", 0, 1, 2,
	  "invalid \\u escape: expected four hex digits" },
	{ "\"\\ud83d\"", 0, 1, 2,
	  "invalid \\u escape: unpaired UTF-16 surrogate" },
	{ "\"ab\\ude00\"", 0, 1, 4,
	  "invalid \\u escape: unpaired UTF-16 surrogate" },
	{ "\"\\ud83d\\u0041\"", 0, 1, 2,
	  "invalid \\u escape: unpaired UTF-16 surrogate" },
	{ "\"\\ud83d\\n\"", 0, 1, 2,
	  "invalid \\u escape: unpaired UTF-16 surrogate" },
	{ "\"\\ud83d\\ud83d\"", 0, 1, 2,
	  "invalid \\u escape: unpaired UTF-16 surrogate" },
	{ "\"\\ud83d\\ude0\"", 0, 1, 2,
	  "invalid \\u escape: expected four hex digits" },
	{ "\"\\u0000\"", 0, 1, 2,
	  "\\u0000 (NUL) in a string is not supported" },
	{ "\"\xff\"", 0, 1, 2, "invalid UTF-8 in string (byte 0xff)" },
	{ "\"ok \xc0\x80\"", 0, 1, 5, "invalid UTF-8 in string (byte 0xc0)" },
	{ "\"\xed\xa0\x80\"", 0, 1, 2, "invalid UTF-8 in string (byte 0xed)" },
	{ "\"\xe2\x82\"", 0, 1, 2, "invalid UTF-8 in string (byte 0xe2)" },
	{ "\"\xf4\x90\x80\x80\"", 0, 1, 2,
	  "invalid UTF-8 in string (byte 0xf4)" },
	{ "{\"k\xe0\x80\xaf\":1}", 0, 1, 4,
	  "invalid UTF-8 in string (byte 0xe0)" },
	{ "[1]\xc3\xa9", 0, 1, 4, "trailing characters after the JSON value" },
};

static void test_errors(void)
{
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(bad_cases); i++) {
		const struct bad_case *c = &bad_cases[i];
		size_t len = c->len ? c->len : strlen(c->text);
		struct json_error err = { 0 };
		cJSON *item = json_parse(c->text, len, &err);

		if (item)
			g_error("case %zu parsed: '%s'", i, c->text);
		g_test_message("case %zu: %d:%d: %s", i, err.line, err.column,
			       err.message);
		g_assert_cmpstr(err.message, ==, c->message);
		g_assert_cmpint(err.line, ==, c->line);
		g_assert_cmpint(err.column, ==, c->column);
		g_assert_null(json_parse(c->text, len, NULL));
	}
}

static char *nested_arrays(int depth)
{
	GString *s = g_string_new(NULL);
	int i;

	for (i = 0; i < depth; i++)
		g_string_append_c(s, '[');
	for (i = 0; i < depth; i++)
		g_string_append_c(s, ']');
	return g_string_free(s, FALSE);
}

static void test_depth_limit(void)
{
	char *ok = nested_arrays(512), *deep = nested_arrays(513);
	struct json_error err = { 0 };
	cJSON *item = json_parse(ok, strlen(ok), &err);
	char *out;

	g_assert_nonnull(item);
	out = json_render_compact(item);
	g_assert_cmpstr(out, ==, ok);
	free(out);
	cJSON_Delete(item);

	g_assert_null(json_parse(deep, strlen(deep), &err));
	g_assert_cmpstr(err.message, ==, "nesting deeper than 512 levels");
	g_assert_cmpint(err.line, ==, 1);
	g_assert_cmpint(err.column, ==, 513);
	g_free(ok);
	g_free(deep);
}

/* ------------------------------------------------------------------ */

static bool equal_texts(const char *a, const char *b)
{
	cJSON *x = parse_ok(a), *y = parse_ok(b);
	bool equal = json_equal(x, y);

	g_assert_true(json_equal(y, x) == equal);
	cJSON_Delete(x);
	cJSON_Delete(y);
	return equal;
}

static void test_equal(void)
{
	g_assert_true(equal_texts("{\"a\":1,\"b\":[1,2]}",
				  "{\"b\":[1,2],\"a\":1}"));
	g_assert_false(equal_texts("[1,2]", "[2,1]"));
	g_assert_false(equal_texts("[1,2]", "[1,2,3]"));
	g_assert_false(equal_texts("{\"a\":1}", "{\"a\":1,\"b\":2}"));
	g_assert_false(equal_texts("{\"a\":null}", "{}"));
	g_assert_true(equal_texts("1.0", "1"));
	g_assert_true(equal_texts("1e2", "100"));
	g_assert_true(equal_texts("100E-2", "1.000"));
	g_assert_true(equal_texts("0.0015e3", "1.5"));
	g_assert_true(equal_texts("-0", "0.0"));
	g_assert_true(equal_texts("0e99", "0"));
	g_assert_false(equal_texts("-1", "1"));
	g_assert_false(equal_texts("1.5", "15"));
	g_assert_true(equal_texts("1234567890123456789",
				  "1234567890123456789.000"));
	g_assert_false(equal_texts("1234567890123456789",
				   "1234567890123456788"));
	g_assert_false(equal_texts("98765432109876543210987654321",
				   "98765432109876543210987654320"));
	g_assert_false(equal_texts("0.10000000000000000001", "0.1"));
	g_assert_false(equal_texts("\"1\"", "1"));
	g_assert_false(equal_texts("true", "false"));
	g_assert_false(equal_texts("null", "false"));
	g_assert_true(equal_texts("\"\\u00e9\"", "\"\xc3\xa9\""));
	g_assert_true(equal_texts("{\"m\":{\"x\":[{\"y\":10}]}}",
				  "{\"m\":{\"x\":[{\"y\":1e1}]}}"));
	g_assert_false(equal_texts("{\"m\":{\"x\":[{\"y\":10}]}}",
				   "{\"m\":{\"x\":[{\"z\":10}]}}"));
	g_assert_true(json_equal(NULL, NULL));
}

/* Objects with many keys are compared through an index. */
static void test_equal_large_objects(void)
{
	GString *a = g_string_new("{"), *b = g_string_new("{");
	int i;

	for (i = 0; i < 100; i++) {
		g_string_append_printf(a, "%s\"k%d\":%d", i ? "," : "", i, i);
		g_string_append_printf(b, "%s\"k%d\":%d.0", i ? "," : "",
				       99 - i, 99 - i);
	}
	g_string_append_c(a, '}');
	g_string_append_c(b, '}');
	g_assert_true(equal_texts(a->str, b->str));
	g_string_truncate(b, b->len - 4);
	g_string_append(b, "1}");
	g_assert_false(equal_texts(a->str, b->str));
	g_string_free(a, TRUE);
	g_string_free(b, TRUE);
}

/* Trees built by hand may hold cJSON_Number items; they compare too. */
static void test_equal_hand_built(void)
{
	cJSON *raw = parse_ok("[1700000000123, 2.5]");
	cJSON *num = cJSON_CreateArray();

	cJSON_AddItemToArray(num, cJSON_CreateNumber(1700000000123.0));
	cJSON_AddItemToArray(num, cJSON_CreateNumber(2.5));
	g_assert_true(json_equal(raw, num));
	cJSON_Delete(raw);
	cJSON_Delete(num);
}

static void test_strip_nulls(void)
{
	cJSON *item = parse_ok("{\"a\":null,\"b\":{\"c\":null,\"d\":1,"
			       "\"e\":[null,{\"f\":null,\"g\":{\"h\":null}}]},"
			       "\"i\":null}");
	char *out;

	json_strip_nulls(item);
	out = json_render_compact(item);
	g_assert_cmpstr(out, ==, "{\"b\":{\"d\":1,\"e\":[null,{\"g\":{}}]}}");
	free(out);
	cJSON_Delete(item);

	item = parse_ok("null");
	json_strip_nulls(item);
	g_assert_true(cJSON_IsNull(item));
	cJSON_Delete(item);
	json_strip_nulls(NULL);
}

static void test_accessors(void)
{
	cJSON *item = parse_ok("{\"s\":\"x\",\"t\":true,\"f\":false,"
			       "\"n\":null,\"i\":1700000000123,"
			       "\"big\":99999999999999999999,\"neg\":-42,"
			       "\"e\":1e3,\"frac\":1.5}");

	g_assert_cmpstr(json_str(item, "s"), ==, "x");
	g_assert_null(json_str(item, "t"));
	g_assert_null(json_str(item, "missing"));
	g_assert_true(json_bool(item, "t", false));
	g_assert_false(json_bool(item, "f", true));
	g_assert_true(json_bool(item, "n", true));
	g_assert_cmpint(json_int(item, "i", 0), ==, 1700000000123LL);
	g_assert_cmpint(json_int(item, "neg", 0), ==, -42);
	g_assert_cmpint(json_int(item, "e", 0), ==, 1000);
	g_assert_cmpint(json_int(item, "big", -1), ==, -1);
	g_assert_cmpint(json_int(item, "frac", -1), ==, -1);
	g_assert_cmpint(json_int(item, "s", -1), ==, -1);
	g_assert_cmpint(json_int(item, "n", -1), ==, -1);
	g_assert_true(json_is_null(item, "n"));
	g_assert_true(json_is_null(item, "missing"));
	g_assert_false(json_is_null(item, "f"));
	g_assert_true(json_is_null(NULL, "x"));
	cJSON_Delete(item);
}

/* ------------------------------------------------------------------ */
/* Against the real jq                                                  */
/* ------------------------------------------------------------------ */

#define JQ "/usr/bin/jq"

/* What `jq .` prints for text, or NULL when it cannot be run. */
static char *jq_render(const char *text)
{
	char *path = NULL, *out = NULL;
	int fd = g_file_open_tmp("clerkfs-json-XXXXXX", &path, NULL);
	const char *argv[] = { JQ, ".", NULL, NULL };
	int status = -1;

	g_assert_cmpint(fd, >=, 0);
	close(fd);
	g_assert_true(g_file_set_contents(path, text, -1, NULL));
	argv[2] = path;
	if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL,
			  NULL, &out, NULL, &status, NULL) || status != 0) {
		g_free(out);
		out = NULL;
	}
	g_unlink(path);
	g_free(path);
	return out;
}

static void check_like_jq(const char *text)
{
	char *want = jq_render(text);
	cJSON *item = parse_ok(text);
	char *got = json_render(item, NULL);

	g_assert_nonnull(want);
	if (strcmp(want, got) != 0)
		g_error("differs from jq for %s:\njq:\n%s\nclerkfs:\n%s",
			text, want, got);
	g_free(want);
	free(got);
	cJSON_Delete(item);
}

static const char *const jq_documents[] = {
	"{\"id\":\"user_2a\",\"object\":\"user\",\"username\":null,"
	"\"first_name\":\"Ada\",\"banned\":false,\"created_at\":1700000000123,"
	"\"email_addresses\":[{\"id\":\"idn_1\",\"email_address\":"
	"\"ada@example.com\",\"verification\":{\"status\":\"verified\"},"
	"\"linked_to\":[]}],\"public_metadata\":{},"
	"\"private_metadata\":{\"tags\":[\"a\",\"b\"],\"n\":-7}}",
	"[]", "{}", "[{}]", "[[],[[]],{\"a\":[]}]", "0", "-12", "true",
	"\"\"", "\"\\u0001x\\u001b\\u007f\\\"\\\\/\"",
	"\"\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80 \\ud83d\\ude00\"",
	"{\"\xc3\xa9\\n\":{\"\\t\":[null,true,false]}}",
	"  [ 1 ,\n\t2 ]\r\n",
	"{\"a\":1,\"b\":2,\"a\":3}",
};

static bool have_jq(void)
{
	if (g_file_test(JQ, G_FILE_TEST_IS_EXECUTABLE))
		return true;
	g_test_skip("jq is not installed at " JQ);
	return false;
}

static void test_like_jq_corpus(void)
{
	size_t i;

	if (!have_jq())
		return;
	for (i = 0; i < G_N_ELEMENTS(jq_documents); i++)
		check_like_jq(jq_documents[i]);
}

/* A random string of ASCII, controls and multi-byte characters. */
static void random_string(GRand *r, GString *s)
{
	static const char *const pieces[] = {
		"a", "Z", "0", " ", "\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n",
		"\\r", "\\t", "\\u001f", "\\u0001", "\\u007f", "\x7f",
		"\\u00e9", "\xc3\xa9", "\xe2\x82\xac", "\\u20AC",
		"\xf0\x9f\x98\x80", "\\ud83d\\ude00", "\\uDBFF\\uDFFF",
		"\xef\xbf\xbf", "\\u2028", "'", ",", ":", "{", "]",
	};
	int n = g_rand_int_range(r, 0, 12);

	g_string_append_c(s, '"');
	while (n-- > 0)
		g_string_append(s, pieces[g_rand_int_range(r, 0,
					  G_N_ELEMENTS(pieces))]);
	g_string_append_c(s, '"');
}

static void random_value(GRand *r, GString *s, int depth)
{
	int kind = g_rand_int_range(r, 0, depth > 4 ? 5 : 7);
	int n, i;

	switch (kind) {
	case 0:
		g_string_append(s, g_rand_boolean(r) ? "true" : "null");
		break;
	case 1:
		g_string_append(s, "false");
		break;
	case 2:
		g_string_append_printf(s, "%d", g_rand_int_range(r, -1000000,
								 1000000));
		break;
	case 3:
		g_string_append_printf(s, "%" G_GINT64_FORMAT,
				       (gint64)g_rand_int(r) * 1000);
		break;
	case 4:
		random_string(r, s);
		break;
	case 5:
		n = g_rand_int_range(r, 0, 4);
		g_string_append_c(s, '[');
		for (i = 0; i < n; i++) {
			g_string_append(s, i ? ", " : "");
			random_value(r, s, depth + 1);
		}
		g_string_append_c(s, ']');
		break;
	default:
		n = g_rand_int_range(r, 0, 4);
		g_string_append(s, "{ ");
		for (i = 0; i < n; i++) {
			g_string_append(s, i ? ",\n" : "");
			random_string(r, s);
			g_string_append(s, " : ");
			random_value(r, s, depth + 1);
		}
		g_string_append_c(s, '}');
		break;
	}
}

static void test_like_jq_random(void)
{
	GRand *r = g_rand_new_with_seed(20260512);
	int i;

	if (!have_jq())
		goto out;
	for (i = 0; i < 150; i++) {
		GString *s = g_string_new(NULL);

		random_value(r, s, 0);
		check_like_jq(s->str);
		g_string_free(s, TRUE);
	}
out:
	g_rand_free(r);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/json/big-integers", test_big_integers);
	g_test_add_func("/json/numbers-are-raw", test_numbers_are_raw);
	g_test_add_func("/json/unicode", test_unicode);
	g_test_add_func("/json/escapes", test_escapes);
	g_test_add_func("/json/layout", test_layout);
	g_test_add_func("/json/not-nul-terminated", test_not_nul_terminated);
	g_test_add_func("/json/bom-skipped", test_bom_skipped);
	g_test_add_func("/json/duplicate-keys", test_duplicate_keys);
	g_test_add_func("/json/errors", test_errors);
	g_test_add_func("/json/depth-limit", test_depth_limit);
	g_test_add_func("/json/equal", test_equal);
	g_test_add_func("/json/equal-large-objects", test_equal_large_objects);
	g_test_add_func("/json/equal-hand-built", test_equal_hand_built);
	g_test_add_func("/json/strip-nulls", test_strip_nulls);
	g_test_add_func("/json/accessors", test_accessors);
	g_test_add_func("/json/like-jq/corpus", test_like_jq_corpus);
	g_test_add_func("/json/like-jq/random", test_like_jq_random);
	return g_test_run();
}
