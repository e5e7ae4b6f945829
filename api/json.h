/*
 * api/json.h - JSON as clerkfs reads and writes it.
 *
 * The Clerk API sends 64-bit integers in metadata, and clerkfs promises that
 * the digits the API sent are the digits a file shows, and the digits a user
 * wrote are the digits the API receives.  cJSON keeps numbers as doubles, so
 * clerkfs parses JSON itself into cJSON trees whose numbers are cJSON_Raw
 * items holding the number's text verbatim.  Every cJSON tree in clerkfs is
 * built by json_parse() (or by hand with cJSON_CreateRaw for numbers), so
 * every number anywhere is a Raw item.
 *
 * Rendering follows `jq .`: two-space indent, "key": value, keys in stored
 * order, raw UTF-8 (only ", \, and control characters escaped), empty
 * containers as {} and [], one trailing newline.
 */
#ifndef CLERKFS_API_JSON_H
#define CLERKFS_API_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <cjson/cJSON.h>

struct json_error {
	int line;		/* 1-based line of the first offending byte */
	int column;		/* 1-based column, counted in bytes */
	char message[128];	/* e.g. "expected ',' or '}'" */
};

/*
 * Parses exactly one JSON value (RFC 8259, strict: no comments, no trailing
 * commas, no control characters in strings, valid UTF-8 and escapes, only
 * white space after the value).  Numbers become cJSON_Raw items with their
 * text as written.  Returns a tree the caller frees with cJSON_Delete, or
 * NULL with *err filled (err may be NULL).  len is the length of text, which
 * need not be NUL-terminated.
 */
cJSON *json_parse(const char *text, size_t len, struct json_error *err);

/*
 * Renders item as `jq .` does, with a trailing newline.  Returns a malloc'd
 * NUL-terminated string the caller frees; *len (if not NULL) gets its length.
 * Returns NULL only when out of memory.
 */
char *json_render(const cJSON *item, size_t *len);

/* Renders item on one line with no spaces (for request bodies and CSV). */
char *json_render_compact(const cJSON *item);

/*
 * Semantic equality: objects equal when they have the same keys with equal
 * values whatever the order; arrays element by element; numbers equal when
 * their values are equal ("1.0" equals "1", "1e2" equals "100"), comparing
 * integers of any length exactly.
 */
bool json_equal(const cJSON *a, const cJSON *b);

/* Removes, in place and at any depth, object members whose value is null. */
void json_strip_nulls(cJSON *item);

/* Convenience accessors for API objects; NULL or fallback when absent. */
const char *json_str(const cJSON *obj, const char *key);
bool json_bool(const cJSON *obj, const char *key, bool fallback);
/* A Raw or Number member as a 64-bit integer; fallback when absent/null. */
long long json_int(const cJSON *obj, const char *key, long long fallback);
/* true when the member is absent or JSON null. */
bool json_is_null(const cJSON *obj, const char *key);

#endif
