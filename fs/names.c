/*
 * fs/names.c - see names.h.
 */
#include "fs/names.h"

#include <string.h>
#include <glib.h>

#define NAME_MAX_BYTES 255

bool names_is_id(const char *name, const char *prefix)
{
	size_t plen = strlen(prefix);
	const char *p;

	if (strncmp(name, prefix, plen) != 0 || !name[plen])
		return false;
	for (p = name + plen; *p; p++)
		if (!g_ascii_isalnum(*p))
			return false;
	return p - name <= NAME_MAX_BYTES;
}

bool names_is_email(const char *name)
{
	const char *at = strchr(name, '@');

	if (!at || at == name || !at[1] || strchr(at + 1, '@'))
		return false;
	if (strlen(name) > NAME_MAX_BYTES || name[0] == '.')
		return false;
	for (const char *p = name; *p; p++)
		if (g_ascii_isspace(*p) || *p == '/' || g_ascii_iscntrl(*p))
			return false;
	return true;
}

bool names_is_phone(const char *name)
{
	size_t digits = 0;

	if (name[0] != '+')
		return false;
	for (const char *p = name + 1; *p; p++, digits++)
		if (!g_ascii_isdigit(*p))
			return false;
	return digits >= 2 && digits <= 15;
}

static bool all_chars(const char *name, const char *extra, bool upper)
{
	size_t len = strlen(name);

	if (len == 0 || len > 64)
		return false;
	for (const char *p = name; *p; p++) {
		if (g_ascii_isdigit(*p) || g_ascii_islower(*p))
			continue;
		if (upper && g_ascii_isupper(*p))
			continue;
		if (!strchr(extra, *p))
			return false;
	}
	return true;
}

bool names_is_username(const char *name)
{
	return name[0] != '.' && all_chars(name, "_-.", true);
}

bool names_is_slug(const char *name)
{
	return all_chars(name, "-", false);
}

bool names_is_usable(const char *value)
{
	return value && *value && value[0] != '.' && !strchr(value, '/') &&
	       strlen(value) <= NAME_MAX_BYTES;
}

bool names_is_editor_file(const char *name)
{
	return name[0] == '.' || strcmp(name, "4913") == 0 ||
	       g_str_has_suffix(name, "~");
}
