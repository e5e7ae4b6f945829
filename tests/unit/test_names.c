/*
 * Unit tests of fs/names.c: which names can be ids and aliases.
 */
#include <glib.h>

#include "fs/names.h"

static void test_ids(void)
{
	g_assert_true(names_is_id("user_2abcDEF123", "user_"));
	g_assert_false(names_is_id("user_", "user_"));
	g_assert_false(names_is_id("user_2ab-c", "user_"));
	g_assert_false(names_is_id("org_2abc", "user_"));
	g_assert_true(names_is_id("sess_2x", "sess_"));
}

static void test_emails(void)
{
	g_assert_true(names_is_email("ada@example.com"));
	g_assert_true(names_is_email("Ada.Lovelace+x@Example.COM"));
	g_assert_false(names_is_email("ada"));
	g_assert_false(names_is_email("@example.com"));
	g_assert_false(names_is_email("ada@"));
	g_assert_false(names_is_email("a@b@c"));
	g_assert_false(names_is_email("ada @example.com"));
	g_assert_false(names_is_email(".ada@example.com"));
}

static void test_phones(void)
{
	g_assert_true(names_is_phone("+15550100"));
	g_assert_false(names_is_phone("15550100"));
	g_assert_false(names_is_phone("+1"));
	g_assert_false(names_is_phone("+1555-0100"));
	g_assert_false(names_is_phone("+1234567890123456"));
}

static void test_usernames_and_slugs(void)
{
	g_assert_true(names_is_username("ada"));
	g_assert_true(names_is_username("Ada_L-1.x"));
	g_assert_false(names_is_username(".swp"));
	g_assert_false(names_is_username("a b"));
	g_assert_false(names_is_username(""));
	g_assert_true(names_is_slug("acme-inc"));
	g_assert_false(names_is_slug("Acme"));
	g_assert_false(names_is_slug("1234567 B.C. Ltd"));
}

static void test_usable(void)
{
	g_assert_true(names_is_usable("ada@example.com"));
	g_assert_false(names_is_usable("."));
	g_assert_false(names_is_usable(".."));
	g_assert_false(names_is_usable("..@example.com"));
	g_assert_false(names_is_usable(".ada@example.com"));
	g_assert_false(names_is_usable("a/b"));
	g_assert_false(names_is_usable(""));
	g_assert_false(names_is_usable(NULL));
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/names/ids", test_ids);
	g_test_add_func("/names/emails", test_emails);
	g_test_add_func("/names/phones", test_phones);
	g_test_add_func("/names/usernames-and-slugs", test_usernames_and_slugs);
	g_test_add_func("/names/usable", test_usable);
	return g_test_run();
}
