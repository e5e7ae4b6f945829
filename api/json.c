/*
 * api/json.c - a strict JSON parser that keeps numbers as written, and the
 * renderers that print trees the way `jq .` and `jq -c .` do.
 *
 * The parser is recursive descent over a byte buffer.  It remembers only the
 * offset of a failure and turns it into a line and column at the end, so the
 * common path never counts lines.  Object members with a repeated key keep
 * the first one's place and the last one's value, as jq does.
 */
#include "api/json.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

/* Containers nested deeper than this are refused, to bound the recursion. */
#define JSON_MAX_DEPTH 512

/* An object gets a hash index of its keys once it has this many members. */
#define JSON_INDEX_AFTER 16

/* Exponents are clamped to this magnitude when numbers are compared. */
#define JSON_EXP_CLAMP 1000000000000000LL

/* ------------------------------------------------------------------ */
/* UTF-8                                                                */
/* ------------------------------------------------------------------ */

/*
 * Returns the length of the well-formed UTF-8 sequence at s (at most n bytes
 * available), or 0 when it is not one: overlong forms, surrogates, code
 * points above U+10FFFF and truncated sequences are all refused.
 */
static size_t utf8_valid_len(const unsigned char *s, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4;
	else
		return 0;

	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;

	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

/* Writes code point cp (not a surrogate, at most U+10FFFF) to out. */
static size_t utf8_encode(unsigned long cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* ------------------------------------------------------------------ */
/* Parser state and errors                                              */
/* ------------------------------------------------------------------ */

struct parser {
	const unsigned char *text;
	size_t len;
	size_t pos;
	int depth;
	bool failed;
	size_t err_pos;
	char err_msg[sizeof(((struct json_error *)0)->message)];
};

/*
 * Records the first failure: its byte offset and its message.  A message
 * for a failure at the end of the input says so first.  Returns NULL so
 * that parse functions can "return fail(...)".
 */
__attribute__((format(printf, 3, 4)))
static cJSON *fail(struct parser *ps, size_t at, const char *fmt, ...)
{
	const char *eof = "unexpected end of input: ";
	va_list ap;
	size_t n = 0;

	if (ps->failed)
		return NULL;
	ps->failed = true;
	ps->err_pos = at;
	if (at >= ps->len) {
		n = strlen(eof);
		memcpy(ps->err_msg, eof, n + 1);
	}
	va_start(ap, fmt);
	vsnprintf(ps->err_msg + n, sizeof(ps->err_msg) - n, fmt, ap);
	va_end(ap);
	return NULL;
}

static cJSON *fail_oom(struct parser *ps)
{
	return fail(ps, ps->pos, "out of memory");
}

/* Fills err with the line and column of the failure's offset. */
static void report(const struct parser *ps, struct json_error *err)
{
	size_t i;

	if (!err)
		return;
	err->line = 1;
	err->column = 1;
	for (i = 0; i < ps->err_pos && i < ps->len; i++) {
		if (ps->text[i] == '\n') {
			err->line++;
			err->column = 1;
		} else {
			err->column++;
		}
	}
	snprintf(err->message, sizeof(err->message), "%s", ps->err_msg);
}

static void skip_space(struct parser *ps)
{
	while (ps->pos < ps->len) {
		unsigned char c = ps->text[ps->pos];

		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			return;
		ps->pos++;
	}
}

static int peek(const struct parser *ps)
{
	return ps->pos < ps->len ? ps->text[ps->pos] : -1;
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* Describes byte c for a message: 'x' when printable, else its value. */
static void describe_byte(int c, char buf[16])
{
	if (c > 0x20 && c < 0x7f)
		snprintf(buf, 16, "'%c'", c);
	else
		snprintf(buf, 16, "byte 0x%02x", (unsigned)c & 0xff);
}

static cJSON *parse_value(struct parser *ps);

/*
 * Makes a String or Raw item that takes ownership of s (NULL after a
 * failure).  cJSON frees valuestring with its deallocator, which is free()
 * as clerkfs never installs other hooks.
 */
static cJSON *owning_item(struct parser *ps, int type, char *s)
{
	cJSON *item;

	if (!s)
		return NULL;
	item = cJSON_CreateNull();
	if (!item) {
		free(s);
		return fail_oom(ps);
	}
	item->type = type;
	item->valuestring = s;
	return item;
}

/* ------------------------------------------------------------------ */
/* Literals and numbers                                                 */
/* ------------------------------------------------------------------ */

static bool is_word_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       is_digit(c) || c == '_';
}

/* true, false, null; any other bare word (True, NaN, hello) is refused. */
static cJSON *parse_literal(struct parser *ps)
{
	size_t start = ps->pos, n;
	const char *word = (const char *)ps->text + start;
	cJSON *item = NULL;

	while (is_word_char(peek(ps)))
		ps->pos++;
	n = ps->pos - start;

	if (n == 4 && memcmp(word, "true", 4) == 0)
		item = cJSON_CreateTrue();
	else if (n == 5 && memcmp(word, "false", 5) == 0)
		item = cJSON_CreateFalse();
	else if (n == 4 && memcmp(word, "null", 4) == 0)
		item = cJSON_CreateNull();
	else
		return fail(ps, start, "invalid literal: expected true, false, "
			    "null, a number or a string in double quotes");
	return item ? item : fail_oom(ps);
}

/* Consumes one or more digits, or fails with "invalid number: <what>". */
static bool take_digits(struct parser *ps, const char *what)
{
	if (!is_digit(peek(ps))) {
		fail(ps, ps->pos, "invalid number: %s", what);
		return false;
	}
	while (is_digit(peek(ps)))
		ps->pos++;
	return true;
}

static bool take_integer_part(struct parser *ps)
{
	if (peek(ps) == '-')
		ps->pos++;
	if (peek(ps) != '0')
		return take_digits(ps, "expected a digit after '-'");
	ps->pos++;
	if (is_digit(peek(ps))) {
		fail(ps, ps->pos,
		     "invalid number: leading zeros are not allowed");
		return false;
	}
	return true;
}

static bool take_fraction_and_exponent(struct parser *ps)
{
	if (peek(ps) == '.') {
		ps->pos++;
		if (!take_digits(ps, "expected a digit after '.'"))
			return false;
	}
	if (peek(ps) == 'e' || peek(ps) == 'E') {
		ps->pos++;
		if (peek(ps) == '+' || peek(ps) == '-')
			ps->pos++;
		if (!take_digits(ps, "expected a digit in the exponent"))
			return false;
	}
	return true;
}

/* A number, kept as a cJSON_Raw item holding exactly the digits written. */
static cJSON *parse_number(struct parser *ps)
{
	size_t start = ps->pos;
	char *digits;

	if (!take_integer_part(ps) || !take_fraction_and_exponent(ps))
		return NULL;

	digits = strndup((const char *)ps->text + start, ps->pos - start);
	if (!digits)
		return fail_oom(ps);
	return owning_item(ps, cJSON_Raw, digits);
}

/* ------------------------------------------------------------------ */
/* Strings                                                              */
/* ------------------------------------------------------------------ */

/*
 * Finds the closing quote of the string whose opening quote is at ps->pos,
 * stepping over escapes.  Returns its offset, or 0 when there is none.
 */
static size_t find_string_end(const struct parser *ps)
{
	size_t i;

	for (i = ps->pos + 1; i < ps->len; i++) {
		if (ps->text[i] == '\\')
			i++;
		else if (ps->text[i] == '"')
			return i;
	}
	return 0;
}

/* Reads four hex digits at ps->pos into *cp. */
static bool take_hex4(struct parser *ps, unsigned long *cp)
{
	size_t i;

	*cp = 0;
	for (i = 0; i < 4; i++) {
		int c = peek(ps);

		if (c < 0 || !g_ascii_isxdigit(c))
			return false;
		*cp = *cp << 4 | (unsigned long)g_ascii_xdigit_value((char)c);
		ps->pos++;
	}
	return true;
}

/*
 * Decodes a \u escape whose backslash is at ps->pos, joining a surrogate
 * pair into one code point.  Lone surrogates and U+0000 (which a C string
 * cannot hold) are refused.
 */
static bool take_unicode_escape(struct parser *ps, unsigned long *cp)
{
	size_t at = ps->pos;
	unsigned long low;

	ps->pos += 2;
	if (!take_hex4(ps, cp))
		goto bad_hex;
	if (*cp >= 0xdc00 && *cp <= 0xdfff)
		goto lone;
	if (*cp >= 0xd800 && *cp <= 0xdbff) {
		if (peek(ps) != '\\' || ps->pos + 1 >= ps->len ||
		    ps->text[ps->pos + 1] != 'u')
			goto lone;
		ps->pos += 2;
		if (!take_hex4(ps, &low))
			goto bad_hex;
		if (low < 0xdc00 || low > 0xdfff)
			goto lone;
		*cp = 0x10000 + ((*cp - 0xd800) << 10) + (low - 0xdc00);
	}
	if (*cp == 0) {
		fail(ps, at, "\\u0000 (NUL) in a string is not supported");
		return false;
	}
	return true;

bad_hex:
	fail(ps, at, "invalid \\u escape: expected four hex digits");
	return false;
lone:
	fail(ps, at, "invalid \\u escape: unpaired UTF-16 surrogate");
	return false;
}

/* Decodes the escape at ps->pos (a backslash) into out; returns bytes. */
static size_t take_escape(struct parser *ps, char *out)
{
	size_t at = ps->pos;
	int c = at + 1 < ps->len ? ps->text[at + 1] : -1;
	const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
	const char *hit = c > 0 ? strchr(from, c) : NULL;
	unsigned long cp;
	char what[16];

	if (c == 'u')
		return take_unicode_escape(ps, &cp) ? utf8_encode(cp, out) : 0;
	if (hit && c != 0) {
		*out = to[hit - from];
		ps->pos += 2;
		return 1;
	}
	describe_byte(c, what);
	fail(ps, at, "invalid escape in string: backslash followed by %s",
	     what);
	return 0;
}

/* Refuses control character c in a string, saying how to write it. */
static void fail_control(struct parser *ps, unsigned char c)
{
	const char *name = c == '\n' ? "\\n" : c == '\t' ? "\\t" :
			   c == '\r' ? "\\r" : NULL;
	char esc[8];

	if (!name) {
		snprintf(esc, sizeof(esc), "\\u%04x", (unsigned)c);
		name = esc;
	}
	fail(ps, ps->pos, "control character in string: write it as %s",
	     name);
}

/* Copies one raw (unescaped) character of a string to out; returns bytes. */
static size_t take_raw_char(struct parser *ps, char *out)
{
	const unsigned char *s = ps->text + ps->pos;
	size_t n;

	if (*s < 0x20) {
		fail_control(ps, *s);
		return 0;
	}
	n = utf8_valid_len(s, ps->len - ps->pos);
	if (n == 0) {
		fail(ps, ps->pos, "invalid UTF-8 in string (byte 0x%02x)",
		     (unsigned)*s);
		return 0;
	}
	memcpy(out, s, n);
	ps->pos += n;
	return n;
}

/*
 * Parses the string whose opening quote is at ps->pos into a malloc'd,
 * NUL-terminated UTF-8 string.  The decoded text is never longer than the
 * source, so one allocation of the source's length suffices.
 */
static char *parse_string(struct parser *ps)
{
	size_t open = ps->pos, end = find_string_end(ps), n = 0;
	char *out;

	if (end == 0)
		return (char *)fail(ps, open, "unterminated string");
	out = malloc(end - open);
	if (!out)
		return (char *)fail_oom(ps);

	ps->pos++;
	while (ps->pos < end) {
		size_t step = ps->text[ps->pos] == '\\' ?
			      take_escape(ps, out + n) :
			      take_raw_char(ps, out + n);

		if (step == 0) {
			free(out);
			return NULL;
		}
		n += step;
	}
	out[n] = '\0';
	ps->pos = end + 1;
	return out;
}

/* ------------------------------------------------------------------ */
/* Containers                                                           */
/* ------------------------------------------------------------------ */

/* Enters a container whose opening bracket is at ps->pos. */
static bool enter(struct parser *ps)
{
	if (ps->depth >= JSON_MAX_DEPTH) {
		fail(ps, ps->pos, "nesting deeper than %d levels",
		     JSON_MAX_DEPTH);
		return false;
	}
	ps->depth++;
	ps->pos++;
	skip_space(ps);
	return true;
}

/*
 * After a member or an element: consumes ',' (returning 1), the closing
 * bracket (returning 0), or fails (returning -1) with a message that names
 * what was expected.
 */
static int after_item(struct parser *ps, char close, const char *what)
{
	skip_space(ps);
	if (peek(ps) == ',') {
		ps->pos++;
		skip_space(ps);
		if (peek(ps) == close) {
			fail(ps, ps->pos, "trailing comma before '%c'", close);
			return -1;
		}
		return 1;
	}
	if (peek(ps) == close) {
		ps->pos++;
		ps->depth--;
		return 0;
	}
	fail(ps, ps->pos, "expected ',' or '%c' after %s", close, what);
	return -1;
}

static cJSON *parse_array(struct parser *ps)
{
	cJSON *array = cJSON_CreateArray();
	int more;

	if (!array)
		return fail_oom(ps);
	if (!enter(ps))
		goto fail;
	if (peek(ps) == ']') {
		ps->pos++;
		ps->depth--;
		return array;
	}
	do {
		cJSON *item = parse_value(ps);

		if (!item)
			goto fail;
		cJSON_AddItemToArray(array, item);
		more = after_item(ps, ']', "array element");
	} while (more > 0);
	if (more < 0)
		goto fail;
	return array;

fail:
	cJSON_Delete(array);
	return NULL;
}

/*
 * The members of an object being built, with an index of their keys once
 * there are enough of them that a linear search would cost.
 */
struct members {
	cJSON *object;
	size_t count;
	GHashTable *index;	/* key (borrowed from the member) -> member */
};

static cJSON *members_find(const struct members *m, const char *key)
{
	cJSON *member;

	if (m->index)
		return g_hash_table_lookup(m->index, key);
	for (member = m->object->child; member; member = member->next)
		if (strcmp(member->string, key) == 0)
			return member;
	return NULL;
}

static void members_build_index(struct members *m)
{
	cJSON *member;

	m->index = g_hash_table_new(g_str_hash, g_str_equal);
	for (member = m->object->child; member; member = member->next)
		g_hash_table_replace(m->index, member->string, member);
}

/*
 * Adds value under key (both owned by the object afterwards).  A repeated
 * key replaces the earlier value in its place.
 */
static void members_add(struct members *m, char *key, cJSON *value)
{
	cJSON *old = members_find(m, key);

	value->string = key;
	if (old) {
		/* The index holds old's key, which the replacement frees. */
		if (m->index)
			g_hash_table_remove(m->index, key);
		cJSON_ReplaceItemViaPointer(m->object, old, value);
	} else {
		cJSON_AddItemToArray(m->object, value);
		m->count++;
	}
	if (m->index)
		g_hash_table_insert(m->index, value->string, value);
	else if (m->count == JSON_INDEX_AFTER)
		members_build_index(m);
}

/* One "key": value pair, added to m. */
static bool parse_member(struct parser *ps, struct members *m)
{
	char *key;
	cJSON *value;

	if (peek(ps) != '"') {
		fail(ps, ps->pos, "expected a string key in double quotes");
		return false;
	}
	key = parse_string(ps);
	if (!key)
		return false;

	skip_space(ps);
	if (peek(ps) != ':') {
		free(key);
		fail(ps, ps->pos, "expected ':' after object key");
		return false;
	}
	ps->pos++;

	value = parse_value(ps);
	if (!value) {
		free(key);
		return false;
	}
	members_add(m, key, value);
	return true;
}

static cJSON *parse_object(struct parser *ps)
{
	struct members m = { .object = cJSON_CreateObject() };

	if (!m.object)
		return fail_oom(ps);
	if (!enter(ps))
		goto out;
	if (peek(ps) == '}') {
		ps->pos++;
		ps->depth--;
		goto out;
	}
	do {
		if (!parse_member(ps, &m))
			break;
	} while (after_item(ps, '}', "object member") > 0);

out:
	if (m.index)
		g_hash_table_destroy(m.index);
	if (ps->failed) {
		cJSON_Delete(m.object);
		return NULL;
	}
	return m.object;
}

/* ------------------------------------------------------------------ */
/* Values and the entry point                                           */
/* ------------------------------------------------------------------ */

/* Fails for a byte that cannot start a value, with a hint when one helps. */
static cJSON *fail_value_start(struct parser *ps, int c)
{
	char what[16];

	if (c < 0)
		return fail(ps, ps->pos, "expected a JSON value");
	if (c == '\'')
		return fail(ps, ps->pos, "strings must be in double quotes");
	if (c == '/')
		return fail(ps, ps->pos, "comments are not allowed in JSON");
	if (c == '+' || c == '.')
		return fail(ps, ps->pos, "invalid number: a number starts "
			    "with '-' or a digit");
	describe_byte(c, what);
	return fail(ps, ps->pos, "expected a JSON value, found %s", what);
}

static cJSON *parse_value(struct parser *ps)
{
	int c;

	skip_space(ps);
	c = peek(ps);
	if (c == '{')
		return parse_object(ps);
	if (c == '[')
		return parse_array(ps);
	if (c == '"')
		return owning_item(ps, cJSON_String, parse_string(ps));
	if (c == '-' || is_digit(c))
		return parse_number(ps);
	if (c >= 'a' && c <= 'z')
		return parse_literal(ps);
	if (c >= 'A' && c <= 'Z')
		return parse_literal(ps);
	return fail_value_start(ps, c);
}

/*
 * A UTF-8 byte order mark before the value is skipped, as RFC 8259 permits
 * (and as jq does); anything else outside the value but white space fails.
 */
cJSON *json_parse(const char *text, size_t len, struct json_error *err)
{
	struct parser ps = { .text = (const unsigned char *)text, .len = len };
	cJSON *root;

	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		ps.pos = 3;
	skip_space(&ps);
	if (ps.pos == len) {
		snprintf(ps.err_msg, sizeof(ps.err_msg),
			 "empty input: expected a JSON value");
		report(&ps, err);
		return NULL;
	}

	root = parse_value(&ps);
	skip_space(&ps);
	if (root && ps.pos < len) {
		fail(&ps, ps.pos, "trailing characters after the JSON value");
		cJSON_Delete(root);
		root = NULL;
	}
	if (!root)
		report(&ps, err);
	return root;
}

/* ------------------------------------------------------------------ */
/* Rendering                                                            */
/* ------------------------------------------------------------------ */

/* A growable output buffer that remembers running out of memory. */
struct outbuf {
	char *data;
	size_t len;
	size_t cap;
	bool oom;
};

static void out_put(struct outbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *data;

		while (cap < b->len + n + 1)
			cap *= 2;
		data = realloc(b->data, cap);
		if (!data) {
			b->oom = true;
			return;
		}
		b->data = data;
		b->cap = cap;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

static void out_puts(struct outbuf *b, const char *s)
{
	out_put(b, s, strlen(s));
}

static void out_indent(struct outbuf *b, int level)
{
	static const char spaces[] = "                                ";
	size_t n = (size_t)level * 2;

	while (n > 0) {
		size_t step = n < sizeof(spaces) - 1 ? n : sizeof(spaces) - 1;

		out_put(b, spaces, step);
		n -= step;
	}
}

/* The escape jq writes for byte c, or NULL when c is written as is. */
static const char *escape_for(unsigned char c, char buf[8])
{
	switch (c) {
	case '"':  return "\\\"";
	case '\\': return "\\\\";
	case '\b': return "\\b";
	case '\f': return "\\f";
	case '\n': return "\\n";
	case '\r': return "\\r";
	case '\t': return "\\t";
	default:
		break;
	}
	if (c >= 0x20 && c != 0x7f)
		return NULL;
	snprintf(buf, 8, "\\u%04x", (unsigned)c);
	return buf;
}

/*
 * Writes s as a JSON string.  Bytes that are not well-formed UTF-8 (only
 * possible in trees built by hand) become U+FFFD, so the output is always
 * valid JSON.
 */
static void out_string(struct outbuf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t left = strlen((const char *)p);
	char buf[8];

	out_put(b, "\"", 1);
	while (left > 0) {
		const char *esc = escape_for(*p, buf);
		size_t run = esc ? 1 : utf8_valid_len(p, left);

		if (esc)
			out_puts(b, esc);
		else if (run > 0)
			out_put(b, (const char *)p, run);
		else
			out_puts(b, "\xef\xbf\xbd");
		if (run == 0)
			run = 1;
		p += run;
		left -= run;
	}
	out_put(b, "\"", 1);
}

/*
 * A cJSON_Number (only in trees built with cJSON_CreateNumber) in the
 * fewest digits that read back as the same double.
 */
static void out_double(struct outbuf *b, double d)
{
	char buf[40];
	int prec;

	if (isnan(d)) {
		out_puts(b, "null");
		return;
	}
	if (isinf(d))
		d = d > 0 ? 1.7976931348623157e308 : -1.7976931348623157e308;
	if (d == floor(d) && fabs(d) < 1e17) {
		snprintf(buf, sizeof(buf), "%.0f", d);
	} else {
		for (prec = 1; prec < 17; prec++) {
			snprintf(buf, sizeof(buf), "%.*g", prec, d);
			if (strtod(buf, NULL) == d)
				break;
		}
		snprintf(buf, sizeof(buf), "%.*g", prec, d);
	}
	out_puts(b, buf);
}

static void out_value(struct outbuf *b, const cJSON *item, int level,
		      bool pretty);

static void out_container(struct outbuf *b, const cJSON *item, int level,
			  bool pretty)
{
	bool object = cJSON_IsObject(item);
	const cJSON *child;

	out_put(b, object ? "{" : "[", 1);
	for (child = item->child; child; child = child->next) {
		if (pretty) {
			out_put(b, "\n", 1);
			out_indent(b, level + 1);
		}
		if (object) {
			out_string(b, child->string);
			out_puts(b, pretty ? ": " : ":");
		}
		out_value(b, child, level + 1, pretty);
		if (child->next)
			out_put(b, ",", 1);
	}
	if (pretty && item->child) {
		out_put(b, "\n", 1);
		out_indent(b, level);
	}
	out_put(b, object ? "}" : "]", 1);
}

static void out_value(struct outbuf *b, const cJSON *item, int level,
		      bool pretty)
{
	switch (item->type & 0xff) {
	case cJSON_False:
		out_puts(b, "false");
		break;
	case cJSON_True:
		out_puts(b, "true");
		break;
	case cJSON_Number:
		out_double(b, item->valuedouble);
		break;
	case cJSON_Raw:
		out_puts(b, item->valuestring ? item->valuestring : "null");
		break;
	case cJSON_String:
		out_string(b, item->valuestring);
		break;
	case cJSON_Array:
	case cJSON_Object:
		out_container(b, item, level, pretty);
		break;
	default:
		out_puts(b, "null");
		break;
	}
}

static char *render(const cJSON *item, bool pretty, size_t *len)
{
	struct outbuf b = { 0 };

	if (item)
		out_value(&b, item, 0, pretty);
	else
		out_puts(&b, "null");
	if (pretty)
		out_put(&b, "\n", 1);
	if (b.oom) {
		free(b.data);
		return NULL;
	}
	if (len)
		*len = b.len;
	return b.data;
}

char *json_render(const cJSON *item, size_t *len)
{
	return render(item, true, len);
}

char *json_render_compact(const cJSON *item)
{
	return render(item, false, NULL);
}

/* ------------------------------------------------------------------ */
/* Equality                                                             */
/* ------------------------------------------------------------------ */

/*
 * A number as sign, significant digits (no leading or trailing zeros) and
 * the power of ten of the last digit, so that equal values have equal
 * forms: "1.50" and "15e-1" both become +, "15", -1.  Zero is +, "", 0.
 */
struct decimal {
	bool negative;
	char *digits;
	long long exponent;
};

static long long parse_exponent(const char *s)
{
	bool negative = *s == '-';
	long long e = 0;

	if (*s == '-' || *s == '+')
		s++;
	for (; is_digit(*s); s++)
		if (e < JSON_EXP_CLAMP)
			e = e * 10 + (*s - '0');
	return negative ? -e : e;
}

/* Splits number text into d; false when text is not a JSON number. */
static bool decimal_parse(const char *text, struct decimal *d)
{
	struct parser ps = { .text = (const unsigned char *)text,
			     .len = strlen(text) };
	const char *p;
	size_t n = 0, frac = 0, lead;
	bool in_frac = false;

	if (!take_integer_part(&ps) || !take_fraction_and_exponent(&ps) ||
	    ps.pos != ps.len)
		return false;
	d->negative = text[0] == '-';
	d->digits = malloc(ps.len + 1);
	if (!d->digits)
		return false;

	for (p = text; *p && *p != 'e' && *p != 'E'; p++) {
		if (*p == '.')
			in_frac = true;
		else if (is_digit(*p)) {
			d->digits[n++] = *p;
			frac += in_frac;
		}
	}
	d->exponent = (*p ? parse_exponent(p + 1) : 0) - (long long)frac;

	for (; n > 0 && d->digits[n - 1] == '0'; n--)
		d->exponent++;
	d->digits[n] = '\0';
	lead = strspn(d->digits, "0");
	memmove(d->digits, d->digits + lead, n - lead + 1);
	if (d->digits[0] == '\0') {
		d->negative = false;
		d->exponent = 0;
	}
	return true;
}

/* The text of a number item: a Raw's text, or a Number's shortest form. */
static char *number_text(const cJSON *item)
{
	struct outbuf b = { 0 };

	if (cJSON_IsRaw(item))
		return strdup(item->valuestring ? item->valuestring : "");
	out_double(&b, item->valuedouble);
	return b.data;
}

static bool numbers_equal(const cJSON *a, const cJSON *b)
{
	char *ta = number_text(a), *tb = number_text(b);
	struct decimal da = { 0 }, db = { 0 };
	bool equal;

	if (ta && tb && decimal_parse(ta, &da) && decimal_parse(tb, &db))
		equal = da.negative == db.negative &&
			da.exponent == db.exponent &&
			strcmp(da.digits, db.digits) == 0;
	else
		equal = ta && tb && strcmp(ta, tb) == 0;
	free(da.digits);
	free(db.digits);
	free(ta);
	free(tb);
	return equal;
}

static bool is_number(const cJSON *item)
{
	return cJSON_IsRaw(item) || cJSON_IsNumber(item);
}

static bool arrays_equal(const cJSON *a, const cJSON *b)
{
	const cJSON *x = a->child, *y = b->child;

	for (; x && y; x = x->next, y = y->next)
		if (!json_equal(x, y))
			return false;
	return !x && !y;
}

/* Finds key among b's members, through index when there is one. */
static const cJSON *member_of(const cJSON *b, GHashTable *index,
			      const char *key)
{
	return index ? g_hash_table_lookup(index, key) :
		       cJSON_GetObjectItemCaseSensitive(b, key);
}

static bool objects_equal(const cJSON *a, const cJSON *b)
{
	int count = cJSON_GetArraySize(a);
	GHashTable *index = NULL;
	const cJSON *x;
	bool equal = true;

	if (count != cJSON_GetArraySize(b))
		return false;
	if (count >= JSON_INDEX_AFTER) {
		index = g_hash_table_new(g_str_hash, g_str_equal);
		for (x = b->child; x; x = x->next)
			if (x->string)
				g_hash_table_insert(index, x->string,
						    (gpointer)x);
	}
	for (x = a->child; x && equal; x = x->next)
		equal = x->string &&
			json_equal(x, member_of(b, index, x->string));
	if (index)
		g_hash_table_destroy(index);
	return equal;
}

bool json_equal(const cJSON *a, const cJSON *b)
{
	if (!a || !b)
		return a == b;
	if (is_number(a) && is_number(b))
		return numbers_equal(a, b);
	if ((a->type & 0xff) != (b->type & 0xff))
		return false;

	switch (a->type & 0xff) {
	case cJSON_String:
		return strcmp(a->valuestring ? a->valuestring : "",
			      b->valuestring ? b->valuestring : "") == 0;
	case cJSON_Array:
		return arrays_equal(a, b);
	case cJSON_Object:
		return objects_equal(a, b);
	default:
		return true;
	}
}

/* ------------------------------------------------------------------ */
/* Editing and accessors                                                */
/* ------------------------------------------------------------------ */

void json_strip_nulls(cJSON *item)
{
	cJSON *child, *next;

	if (!item)
		return;
	for (child = item->child; child; child = next) {
		next = child->next;
		if (cJSON_IsObject(item) && cJSON_IsNull(child))
			cJSON_Delete(cJSON_DetachItemViaPointer(item, child));
		else
			json_strip_nulls(child);
	}
}

const char *json_str(const cJSON *obj, const char *key)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(item) ? item->valuestring : NULL;
}

bool json_bool(const cJSON *obj, const char *key, bool fallback)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (cJSON_IsTrue(item))
		return true;
	if (cJSON_IsFalse(item))
		return false;
	return fallback;
}

/* A double that is integral and fits, as a long long; else fallback. */
static long long double_to_int(double d, long long fallback)
{
	if (!isfinite(d) || d != floor(d))
		return fallback;
	if (d < -9223372036854775808.0 || d >= 9223372036854775808.0)
		return fallback;
	return (long long)d;
}

/*
 * Integer text is read exactly; other numbers ("1e3") count when their
 * value is a whole number that fits.
 */
static long long raw_to_int(const char *text, long long fallback)
{
	char *end;
	long long v;

	if (!text || !*text)
		return fallback;
	errno = 0;
	v = strtoll(text, &end, 10);
	if (*end == '\0')
		return errno == ERANGE ? fallback : v;
	if (*end != '.' && *end != 'e' && *end != 'E')
		return fallback;
	return double_to_int(strtod(text, NULL), fallback);
}

long long json_int(const cJSON *obj, const char *key, long long fallback)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (cJSON_IsRaw(item))
		return raw_to_int(item->valuestring, fallback);
	if (cJSON_IsNumber(item))
		return double_to_int(item->valuedouble, fallback);
	return fallback;
}

bool json_is_null(const cJSON *obj, const char *key)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);

	return !item || cJSON_IsNull(item);
}
