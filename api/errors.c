/*
 * api/errors.c - HTTP statuses and Clerk error codes as errno values, and
 * the percent-encoding of query strings.
 */
#include "api/api.h"

#include <errno.h>
#include <string.h>

int api_status_errno(long status, const char *code, const char *method)
{
	bool is_delete = method && strcmp(method, "DELETE") == 0;

	if (status >= 200 && status < 300)
		return 0;
	switch (status) {
	case 404:
		return -ENOENT;
	case 401:
	case 403:
		return -EACCES;
	case 402:
		return -EOPNOTSUPP;
	case 409:
		return is_delete ? -EBUSY : -EEXIST;
	case 429:
		return -EAGAIN;
	case 400:
	case 422:
		if (code && (strcmp(code, "form_identifier_exists") == 0 ||
			     strcmp(code, "already_a_member_in_organization")
				     == 0))
			return -EEXIST;
		return -EINVAL;
	default:
		return -EIO;
	}
}

char *api_escape(const char *s)
{
	static const char unreserved[] = "-._~";
	GString *out = g_string_sized_new(strlen(s) + 8);

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (g_ascii_isalnum(*p) || strchr(unreserved, *p))
			g_string_append_c(out, (char)*p);
		else
			g_string_append_printf(out, "%%%02X", *p);
	}
	return g_string_free(out, FALSE);
}

void api_query_add(GString *q, const char *key, const char *value)
{
	char *escaped = api_escape(value);

	if (q->len)
		g_string_append_c(q, '&');
	g_string_append_printf(q, "%s=%s", key, escaped);
	g_free(escaped);
}
