/*
 * fs/names.h - what a name in the tree can be, decided from its syntax
 * alone, so that names that cannot be Clerk objects cost no request.
 */
#ifndef CLERKFS_FS_NAMES_H
#define CLERKFS_FS_NAMES_H

#include <stdbool.h>

/* prefix followed by one or more letters and digits: "user_2abc". */
bool names_is_id(const char *name, const char *prefix);

/* local@domain, no white space, no '/', one '@', a dot-free local is ok. */
bool names_is_email(const char *name);

/* E.164: '+' and 2 to 15 digits. */
bool names_is_phone(const char *name);

/* Letters, digits, '_', '-', '.', not starting with '.'; 1 to 64 bytes. */
bool names_is_username(const char *name);

/* Lowercase letters, digits and '-'; 1 to 64 bytes. */
bool names_is_slug(const char *name);

/*
 * Names that editors give their helper files and never an object: dot
 * files (vim's .x.swp, nano's .x.swp), vim's "4913" probe, and backups
 * ending in '~'.
 */
bool names_is_editor_file(const char *name);

/*
 * Whether a value can stand as a file name: not empty, no '/', and not
 * starting with '.' (such names are never looked up, so ".", ".." and
 * hidden-looking values are reached by id); at most 255 bytes.
 */
bool names_is_usable(const char *value);

#endif
