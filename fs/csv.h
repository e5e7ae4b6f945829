/*
 * fs/csv.h - search results as CSV, as DESIGN.md's "Search directories"
 * specifies: RFC 4180 quoting of commas, quotes, CR and LF; LF line ends;
 * UTF-8; times as YYYY-MM-DDTHH:MM:SS.mmmZ from Unix milliseconds (empty
 * for null); nested values and lists as compact JSON; free-text cells that
 * start with '=', '+', '-', '@', TAB or CR prefixed with "'" unless the
 * cell is a plain number, an E.164 phone number or a time.
 *
 * Rows are appended to a GString the caller owns.
 */
#ifndef CLERKFS_FS_CSV_H
#define CLERKFS_FS_CSV_H

#include <glib.h>
#include <cjson/cJSON.h>

enum csv_resource {
	CSV_USERS,
	CSV_ORGS,
	CSV_SESSIONS,
};

/* Appends the header row for the resource (no BOM). */
void csv_header(GString *out, enum csv_resource res);

/*
 * Appends one row for an API object of that resource.  For organizations the
 * members_count cell is empty unless the object carries members_count.
 */
void csv_row(GString *out, enum csv_resource res, const cJSON *obj);

/* Building blocks, exposed for tests. */
void csv_append_cell(GString *out, const char *value, int guard_formula);
void csv_format_time(char buf[32], long long unix_ms);

#endif
