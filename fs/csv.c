/*
 * fs/csv.c - the rows of results.csv in search directories.
 *
 * Each resource is a table of columns; a column names the API field it shows
 * and how its cell is made.  The header and every row walk the same table,
 * so they cannot disagree.
 *
 * Quoting: a cell is quoted when it holds a comma, a double quote, CR or LF
 * (RFC 4180), and also when it starts or ends with a space or a TAB, so that
 * tools which trim unquoted fields still read the value as it is.
 */
#include "fs/csv.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/json.h"

/* How a column's cell is made from the API object. */
enum cell_kind {
	CELL_ID,	/* ids and enum strings: as they are */
	CELL_TEXT,	/* free text, booleans, numbers: formula-guarded */
	CELL_TIME,	/* Unix milliseconds as an ISO 8601 UTC time */
	CELL_METADATA,	/* compact JSON, a null field as {} */
	CELL_PRIMARY,	/* the address whose id is the primary one */
	CELL_LIST,	/* every address, as a compact JSON array */
};

/* Where a user's addresses of one kind live in the user object. */
struct contact {
	const char *list;	/* the array of address objects */
	const char *primary_id;	/* the member naming the primary's id */
	const char *value;	/* the address member of each object */
};

static const struct contact email = {
	"email_addresses", "primary_email_address_id", "email_address",
};

static const struct contact phone = {
	"phone_numbers", "primary_phone_number_id", "phone_number",
};

struct column {
	const char *name;	/* header, and the API field unless computed */
	enum cell_kind kind;
	const struct contact *contact;	/* for CELL_PRIMARY and CELL_LIST */
};

static const struct column user_columns[] = {
	{ "id", CELL_ID, NULL },
	{ "username", CELL_TEXT, NULL },
	{ "first_name", CELL_TEXT, NULL },
	{ "last_name", CELL_TEXT, NULL },
	{ "primary_email_address", CELL_PRIMARY, &email },
	{ "primary_phone_number", CELL_PRIMARY, &phone },
	{ "email_addresses", CELL_LIST, &email },
	{ "phone_numbers", CELL_LIST, &phone },
	{ "external_id", CELL_TEXT, NULL },
	{ "banned", CELL_TEXT, NULL },
	{ "locked", CELL_TEXT, NULL },
	{ "created_at", CELL_TIME, NULL },
	{ "updated_at", CELL_TIME, NULL },
	{ "last_sign_in_at", CELL_TIME, NULL },
	{ "last_active_at", CELL_TIME, NULL },
	{ "public_metadata", CELL_METADATA, NULL },
	{ NULL, CELL_ID, NULL },
};

static const struct column org_columns[] = {
	{ "id", CELL_ID, NULL },
	{ "name", CELL_TEXT, NULL },
	{ "slug", CELL_TEXT, NULL },
	{ "members_count", CELL_TEXT, NULL },
	{ "max_allowed_memberships", CELL_TEXT, NULL },
	{ "created_by", CELL_ID, NULL },
	{ "created_at", CELL_TIME, NULL },
	{ "updated_at", CELL_TIME, NULL },
	{ "public_metadata", CELL_METADATA, NULL },
	{ NULL, CELL_ID, NULL },
};

static const struct column session_columns[] = {
	{ "id", CELL_ID, NULL },
	{ "user_id", CELL_ID, NULL },
	{ "client_id", CELL_ID, NULL },
	{ "status", CELL_ID, NULL },
	{ "last_active_at", CELL_TIME, NULL },
	{ "expire_at", CELL_TIME, NULL },
	{ "abandon_at", CELL_TIME, NULL },
	{ "created_at", CELL_TIME, NULL },
	{ "updated_at", CELL_TIME, NULL },
	{ NULL, CELL_ID, NULL },
};

static const struct column *columns_of(enum csv_resource res)
{
	switch (res) {
	case CSV_USERS:
		return user_columns;
	case CSV_ORGS:
		return org_columns;
	case CSV_SESSIONS:
		return session_columns;
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Cells                                                                */
/* ------------------------------------------------------------------ */

static bool is_digits(const char *s, size_t *n)
{
	*n = strspn(s, "0123456789");
	return *n > 0;
}

/*
 * A plain number: an optional sign, digits, an optional fraction and an
 * optional exponent ("-5", "+3.25", "1e-3").  A spreadsheet reads it as
 * that number, so it needs no guard.
 */
static bool is_plain_number(const char *s)
{
	size_t n;

	if (*s == '+' || *s == '-')
		s++;
	if (!is_digits(s, &n))
		return false;
	s += n;
	if (*s == '.') {
		if (!is_digits(s + 1, &n))
			return false;
		s += 1 + n;
	}
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (!is_digits(s, &n))
			return false;
		s += n;
	}
	return *s == '\0';
}

/* An E.164 phone number: '+', then 2 to 15 digits, the first not 0. */
static bool is_e164(const char *s)
{
	size_t n;

	if (s[0] != '+' || s[1] < '1' || s[1] > '9')
		return false;
	return is_digits(s + 1, &n) && s[1 + n] == '\0' && n >= 2 && n <= 15;
}

static bool needs_guard(const char *value)
{
	if (value[0] == '\0' || !strchr("=+-@\t\r", value[0]))
		return false;
	return !is_plain_number(value) && !is_e164(value);
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Whether a cell starting with first and holding value must be quoted. */
static bool needs_quotes(const char *value, char first)
{
	size_t n = strlen(value);

	if (strpbrk(value, ",\"\r\n"))
		return true;
	return is_blank(first) || (n > 0 && is_blank(value[n - 1]));
}

/*
 * Appends value as one cell, with no separator.  NULL and "" are an empty
 * cell.  With guard_formula, a value that a spreadsheet would run as a
 * formula gets a leading "'", except plain numbers and E.164 numbers.
 */
void csv_append_cell(GString *out, const char *value, int guard_formula)
{
	bool guard, quote;
	const char *p;

	if (!value || !*value)
		return;
	guard = guard_formula && needs_guard(value);
	quote = needs_quotes(value, guard ? '\'' : value[0]);

	if (quote)
		g_string_append_c(out, '"');
	if (guard)
		g_string_append_c(out, '\'');
	for (p = value; *p; p++) {
		if (*p == '"')
			g_string_append_c(out, '"');
		g_string_append_c(out, *p);
	}
	if (quote)
		g_string_append_c(out, '"');
}

/*
 * Writes unix_ms as YYYY-MM-DDTHH:MM:SS.mmmZ (UTC); times before 1970
 * work too.  A time gmtime cannot represent, or a year too long to fit,
 * leaves buf empty.
 */
void csv_format_time(char buf[32], long long unix_ms)
{
	long long secs = unix_ms / 1000;
	int ms = (int)(unix_ms % 1000);
	time_t t;
	struct tm tm;
	size_t n;

	if (ms < 0) {
		ms += 1000;
		secs--;
	}
	t = (time_t)secs;
	buf[0] = '\0';
	if (!gmtime_r(&t, &tm))
		return;
	n = strftime(buf, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	if (n == 0 || n > 32 - sizeof(".mmmZ"))
		return;
	snprintf(buf + n, 32 - n, ".%03dZ", ms);
}

/* The compact JSON of item; GLib's policy for running out of memory. */
static char *compact(const cJSON *item)
{
	char *s = json_render_compact(item);

	if (!s)
		g_error("csv: out of memory rendering JSON");
	return s;
}

/*
 * Any JSON value as a cell: strings as they are, numbers as written, true
 * and false, null as empty, arrays and objects as compact JSON.
 */
static void append_value(GString *out, const cJSON *item, bool guard)
{
	char *json;

	if (!item || cJSON_IsNull(item))
		return;
	if (cJSON_IsString(item) || cJSON_IsRaw(item)) {
		csv_append_cell(out, item->valuestring, guard);
		return;
	}
	json = compact(item);
	csv_append_cell(out, json, guard);
	free(json);
}

/* A time cell; a value that is not whole milliseconds is shown as is. */
static void append_time(GString *out, const cJSON *obj, const char *key)
{
	long long ms;
	char buf[32];

	if (json_is_null(obj, key))
		return;
	ms = json_int(obj, key, LLONG_MIN);
	if (ms == LLONG_MIN) {
		append_value(out, cJSON_GetObjectItemCaseSensitive(obj, key),
			     true);
		return;
	}
	csv_format_time(buf, ms);
	csv_append_cell(out, buf, false);
}

static void append_metadata(GString *out, const cJSON *obj, const char *key)
{
	if (json_is_null(obj, key)) {
		csv_append_cell(out, "{}", false);
		return;
	}
	append_value(out, cJSON_GetObjectItemCaseSensitive(obj, key), true);
}

/* The address whose id is the user's primary id of that kind. */
static void append_primary(GString *out, const cJSON *obj,
			   const struct contact *c)
{
	const char *id = json_str(obj, c->primary_id);
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(obj, c->list);
	const cJSON *entry;

	if (!id)
		return;
	cJSON_ArrayForEach(entry, list) {
		const char *entry_id = json_str(entry, "id");

		if (entry_id && strcmp(entry_id, id) == 0) {
			csv_append_cell(out, json_str(entry, c->value), true);
			return;
		}
	}
}

/* Every address of that kind, as a compact JSON array of strings. */
static void append_list(GString *out, const cJSON *obj,
			const struct contact *c)
{
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(obj, c->list);
	cJSON *values;
	const cJSON *entry;
	char *json;

	if (!cJSON_IsArray(list))
		return;
	values = cJSON_CreateArray();
	if (!values)
		g_error("csv: out of memory");
	cJSON_ArrayForEach(entry, list) {
		const char *value = json_str(entry, c->value);

		if (value && !cJSON_AddItemToArray(values,
						   cJSON_CreateString(value)))
			g_error("csv: out of memory");
	}
	json = compact(values);
	csv_append_cell(out, json, true);
	free(json);
	cJSON_Delete(values);
}

static void append_column(GString *out, const struct column *col,
			  const cJSON *obj)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, col->name);

	switch (col->kind) {
	case CELL_ID:
		append_value(out, item, false);
		break;
	case CELL_TEXT:
		append_value(out, item, true);
		break;
	case CELL_TIME:
		append_time(out, obj, col->name);
		break;
	case CELL_METADATA:
		append_metadata(out, obj, col->name);
		break;
	case CELL_PRIMARY:
		append_primary(out, obj, col->contact);
		break;
	case CELL_LIST:
		append_list(out, obj, col->contact);
		break;
	}
}

/* ------------------------------------------------------------------ */
/* Rows                                                                 */
/* ------------------------------------------------------------------ */

void csv_header(GString *out, enum csv_resource res)
{
	const struct column *first = columns_of(res), *col;

	for (col = first; col && col->name; col++) {
		if (col != first)
			g_string_append_c(out, ',');
		g_string_append(out, col->name);
	}
	g_string_append_c(out, '\n');
}

void csv_row(GString *out, enum csv_resource res, const cJSON *obj)
{
	const struct column *first = columns_of(res), *col;

	for (col = first; col && col->name; col++) {
		if (col != first)
			g_string_append_c(out, ',');
		append_column(out, col, obj);
	}
	g_string_append_c(out, '\n');
}
