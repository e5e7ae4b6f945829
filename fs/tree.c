/*
 * fs/tree.c - what each name in the tree is, what each directory lists,
 * and what each file holds, as DESIGN.md's tree lays them out.
 *
 * Every function here takes the objects from the cache (fetching them when
 * needed) and gives back plain values; nothing here talks to FUSE.
 */
#include "fs/fs.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "api/json.h"
#include "fs/clock.h"
#include "fs/names.h"
#include "fs/scratch.h"
#include "fs/search.h"

#define DIR_SIZE 4096

struct fixed_name {
	const char *name;
	enum node_kind kind;
	enum attr attr;
};

static const struct fixed_name root_names[] = {
	{ "users", NODE_USERS, ATTR_NONE },
	{ "orgs", NODE_ORGS, ATTR_NONE },
	{ "members", NODE_MEMBERS, ATTR_NONE },
	{ "email_addresses", NODE_EMAILS, ATTR_NONE },
	{ "sessions", NODE_SESSIONS, ATTR_NONE },
	{ "search", NODE_SEARCH, ATTR_NONE },
	{ ".clerkfs", NODE_META, ATTR_NONE },
	{ NULL, 0, 0 },
};

static const struct fixed_name user_names[] = {
	{ "profile.json", NODE_USER_FILE, ATTR_PROFILE },
	{ "public_metadata.json", NODE_USER_FILE, ATTR_PUBLIC },
	{ "private_metadata.json", NODE_USER_FILE, ATTR_PRIVATE },
	{ "unsafe_metadata.json", NODE_USER_FILE, ATTR_UNSAFE },
	{ "banned", NODE_USER_FILE, ATTR_BANNED },
	{ "locked", NODE_USER_FILE, ATTR_LOCKED },
	{ "email_addresses", NODE_USER_LINK, ATTR_LINK_EMAILS },
	{ "sessions", NODE_USER_LINK, ATTR_LINK_SESSIONS },
	{ "organizations", NODE_USER_ORGS, ATTR_NONE },
	{ NULL, 0, 0 },
};

static const struct fixed_name org_names[] = {
	{ "organization.json", NODE_ORG_FILE, ATTR_ORGANIZATION },
	{ "public_metadata.json", NODE_ORG_FILE, ATTR_PUBLIC },
	{ "private_metadata.json", NODE_ORG_FILE, ATTR_PRIVATE },
	{ "members", NODE_ORG_LINK, ATTR_LINK_MEMBERS },
	{ NULL, 0, 0 },
};

static const struct fixed_name search_names[] = {
	{ "users", NODE_SEARCH_RES, ATTR_NONE },
	{ "orgs", NODE_SEARCH_RES, ATTR_NONE },
	{ "sessions", NODE_SEARCH_RES, ATTR_NONE },
	{ NULL, 0, 0 },
};

static const struct fixed_name meta_names[] = {
	{ "stats", NODE_META_FILE, ATTR_STATS },
	{ "errors", NODE_META_FILE, ATTR_ERRORS },
	{ NULL, 0, 0 },
};

static const char *const metadata_fields[] = {
	[ATTR_PUBLIC] = "public_metadata",
	[ATTR_PRIVATE] = "private_metadata",
	[ATTR_UNSAFE] = "unsafe_metadata",
};

void dir_entry_free(gpointer data)
{
	struct dir_entry *entry = data;

	g_free(entry->name);
	g_free(entry);
}

static void add_entry(GPtrArray *entries, const char *name, mode_t type)
{
	struct dir_entry *entry = g_new(struct dir_entry, 1);

	entry->name = g_strdup(name);
	entry->type = type;
	g_ptr_array_add(entries, entry);
}

static mode_t kind_type(enum node_kind kind)
{
	switch (kind) {
	case NODE_USER_FILE:
	case NODE_ORG_FILE:
	case NODE_MEMBER:
	case NODE_EMAIL:
	case NODE_SESSION:
	case NODE_META_FILE:
	case NODE_SEARCH_FILE:
	case NODE_SCRATCH:
	case NODE_PENDING:
		return S_IFREG;
	case NODE_USER_LINK:
	case NODE_USER_ORG_LINK:
	case NODE_ORG_LINK:
		return S_IFLNK;
	default:
		return S_IFDIR;
	}
}

static int lookup_fixed(const struct fixed_name *names, const char *name,
			struct node_spec *spec, const char *id)
{
	for (; names->name; names++) {
		if (strcmp(names->name, name) != 0)
			continue;
		spec->kind = names->kind;
		spec->attr = names->attr;
		spec->id = g_strdup(id);
		return 0;
	}
	return -ENOENT;
}

static void list_fixed(const struct fixed_name *names, GPtrArray *entries)
{
	for (; names->name; names++)
		add_entry(entries, names->name, kind_type(names->kind));
}

/* ---- finding things in objects ----------------------------------------- */

/* The element of array whose field equals value (case-folded if asked). */
static const cJSON *find_by(const cJSON *array, const char *field,
			    const char *value, bool fold)
{
	const cJSON *item;

	cJSON_ArrayForEach(item, array) {
		const char *v = json_str(item, field);

		if (v && (fold ? g_ascii_strcasecmp(v, value)
			       : strcmp(v, value)) == 0)
			return item;
	}
	return NULL;
}

static const cJSON *user_email(const cJSON *user, const char *name)
{
	const cJSON *emails = cJSON_GetObjectItemCaseSensitive(
		user, "email_addresses");

	if (names_is_id(name, "idn_"))
		return find_by(emails, "id", name, false);
	return find_by(emails, "email_address", name, true);
}

static const cJSON *member_of(const cJSON *members, const char *user_id)
{
	const cJSON *m;

	cJSON_ArrayForEach(m, members) {
		const cJSON *pud = cJSON_GetObjectItemCaseSensitive(
			m, "public_user_data");

		if (g_strcmp0(json_str(pud, "user_id"), user_id) == 0)
			return m;
	}
	return NULL;
}

static bool session_is_live(const cJSON *session)
{
	const char *status = json_str(session, "status");

	return status && (strcmp(status, "active") == 0 ||
			  strcmp(status, "pending") == 0);
}

/* "sess_x.json" -> "sess_x" when the rest is a session id, else NULL. */
static char *session_name_id(const char *name)
{
	char *id;

	if (!g_str_has_suffix(name, ".json"))
		return NULL;
	id = g_strndup(name, strlen(name) - 5);
	if (names_is_id(id, "sess_"))
		return id;
	g_free(id);
	return NULL;
}

static bool org_has_member(struct clerkfs *fs, const char *user_id,
			   const char *org_id)
{
	struct cache_entry *index;
	const cJSON *orgs, *org;
	bool found = false;

	if (objects_user_orgs(&fs->objects, &index) < 0)
		return false;
	orgs = cJSON_GetObjectItemCaseSensitive(index->json, user_id);
	cJSON_ArrayForEach(org, orgs)
		if (g_strcmp0(cJSON_GetStringValue(org), org_id) == 0)
			found = true;
	cache_unref(fs->cache, index);
	return found;
}

/* ---- lookup ------------------------------------------------------------- */

static int exists_user(struct clerkfs *fs, const char *id)
{
	struct cache_entry *user;
	int ret = objects_user(&fs->objects, id, &user);

	cache_unref(fs->cache, user);
	return ret;
}

static int exists_org(struct clerkfs *fs, const char *id)
{
	struct cache_entry *org;
	int ret = objects_org(&fs->objects, id, &org);

	cache_unref(fs->cache, org);
	return ret;
}

/* users/<name>: an id, or an email, phone or username alias. */
static int lookup_user(struct clerkfs *fs, const char *name,
		       struct node_spec *spec)
{
	enum alias_kind kind;
	char *id = NULL;
	int ret;

	if (names_is_id(name, "user_")) {
		ret = exists_user(fs, name);
		id = ret == 0 ? g_strdup(name) : NULL;
	} else if (g_str_has_suffix(name, ".json")) {
		return -ENOENT;	/* a new user's body, not an alias */
	} else {
		if (names_is_email(name))
			kind = ALIAS_EMAIL;
		else if (names_is_phone(name))
			kind = ALIAS_PHONE;
		else if (names_is_username(name))
			kind = ALIAS_USERNAME;
		else
			return -ENOENT;
		ret = objects_resolve(&fs->objects, kind, name, &id);
	}
	if (ret < 0)
		return ret;
	spec->kind = NODE_USER;
	spec->id = id;
	return 0;
}

/* orgs/<name>: an id or a slug. */
static int lookup_org(struct clerkfs *fs, const char *name,
		      struct node_spec *spec)
{
	char *id = NULL;
	int ret;

	if (names_is_id(name, "org_")) {
		ret = exists_org(fs, name);
		id = ret == 0 ? g_strdup(name) : NULL;
	} else if (names_is_slug(name)) {
		ret = objects_resolve(&fs->objects, ALIAS_SLUG, name, &id);
	} else {
		return -ENOENT;
	}
	if (ret < 0)
		return ret;
	spec->kind = NODE_ORG;
	spec->id = id;
	return 0;
}

/* A directory of the form <collection>/<user id>/. */
static int lookup_user_dir(struct clerkfs *fs, const char *name,
			   enum node_kind kind, struct node_spec *spec)
{
	int ret;

	if (!names_is_id(name, "user_"))
		return -ENOENT;
	ret = exists_user(fs, name);
	if (ret < 0)
		return ret;
	spec->kind = kind;
	spec->id = g_strdup(name);
	return 0;
}

static int lookup_members_org(struct clerkfs *fs, const char *name,
			      struct node_spec *spec)
{
	int ret;

	if (!names_is_id(name, "org_"))
		return -ENOENT;
	ret = exists_org(fs, name);
	if (ret < 0)
		return ret;
	spec->kind = NODE_MEMBERS_ORG;
	spec->id = g_strdup(name);
	return 0;
}

static int lookup_member(struct clerkfs *fs, const struct node *dir,
			 const char *name, struct node_spec *spec)
{
	struct cache_entry *members;
	int ret;

	if (!names_is_id(name, "user_"))
		return -ENOENT;
	ret = objects_org_members(&fs->objects, dir->id, &members);
	if (ret < 0)
		return ret;
	ret = member_of(members->json, name) ? 0 : -ENOENT;
	cache_unref(fs->cache, members);
	if (ret == 0) {
		spec->kind = NODE_MEMBER;
		spec->id = g_strdup(dir->id);
		spec->sub = g_strdup(name);
	}
	return ret;
}

static int lookup_email(struct clerkfs *fs, const struct node *dir,
			const char *name, struct node_spec *spec)
{
	struct cache_entry *user;
	const cJSON *email;
	int ret = objects_user(&fs->objects, dir->id, &user);

	if (ret < 0)
		return ret;
	email = user_email(user->json, name);
	if (email) {
		spec->kind = NODE_EMAIL;
		spec->id = g_strdup(dir->id);
		spec->sub = g_strdup(json_str(email, "id"));
	}
	cache_unref(fs->cache, user);
	return email ? 0 : -ENOENT;
}

static int lookup_user_org(struct clerkfs *fs, const struct node *dir,
			   const char *name, struct node_spec *spec)
{
	if (!names_is_id(name, "org_") || !org_has_member(fs, dir->id, name))
		return -ENOENT;
	spec->kind = NODE_USER_ORG_LINK;
	spec->id = g_strdup(dir->id);
	spec->sub = g_strdup(name);
	return 0;
}

/* sessions/<sess>.json: any session by id, whatever its status. */
static int lookup_session(struct clerkfs *fs, const char *name,
			  struct node_spec *spec)
{
	struct cache_entry *session;
	char *id = session_name_id(name);
	int ret;

	if (!id)
		return lookup_user_dir(fs, name, NODE_SESSIONS_USER, spec);
	ret = objects_session(&fs->objects, id, &session);
	cache_unref(fs->cache, session);
	if (ret < 0) {
		g_free(id);
		return ret;
	}
	spec->kind = NODE_SESSION;
	spec->id = id;
	return 0;
}

/* sessions/<user>/<sess>.json: the user's active and pending sessions. */
static int lookup_user_session(struct clerkfs *fs, const struct node *dir,
			       const char *name, struct node_spec *spec)
{
	struct cache_entry *sessions;
	const cJSON *session;
	char *id = session_name_id(name);
	int ret;

	if (!id)
		return -ENOENT;
	ret = objects_user_sessions(&fs->objects, dir->id, &sessions);
	if (ret == 0) {
		session = find_by(sessions->json, "id", id, false);
		ret = session && session_is_live(session) ? 0 : -ENOENT;
		cache_unref(fs->cache, sessions);
	}
	if (ret < 0) {
		g_free(id);
		return ret;
	}
	spec->kind = NODE_SESSION;
	spec->id = id;
	spec->sub = g_strdup(dir->id);
	return 0;
}

/* A scratch file of an object directory. */
static int lookup_scratch(struct clerkfs *fs, const struct node *dir,
			  const char *name, struct node_spec *spec)
{
	char *key = scratch_dir_key(dir);
	struct scratch *s = key ? scratch_find(fs, key, name) : NULL;

	if (!s) {
		g_free(key);
		return -ENOENT;
	}
	scratch_put(fs, s);
	spec->kind = NODE_SCRATCH;
	spec->id = key;
	spec->sub = g_strdup(name);
	return 0;
}

/* An object directory: its attributes (or members), then scratch files. */
static int lookup_object_dir(struct clerkfs *fs, const struct node *dir,
			     const char *name, struct node_spec *spec)
{
	int ret;

	if (dir->kind == NODE_USER)
		ret = lookup_fixed(user_names, name, spec, dir->id);
	else if (dir->kind == NODE_ORG)
		ret = lookup_fixed(org_names, name, spec, dir->id);
	else if (name[0] != '.')
		ret = lookup_member(fs, dir, name, spec);
	else
		ret = -ENOENT;
	if (ret == -ENOENT)
		ret = lookup_scratch(fs, dir, name, spec);
	return ret;
}

char *tree_pending_key(const struct node *dir)
{
	switch (dir->kind) {
	case NODE_USERS:
		return g_strdup("new-user");
	case NODE_ORGS:
		return g_strdup("new-org");
	case NODE_SESSIONS_USER:
		return g_strconcat("new-session/", dir->id, NULL);
	case NODE_EMAILS_USER:
		return g_strconcat("new-email/", dir->id, NULL);
	case NODE_MEMBERS_ORG:
		return g_strconcat("new-member/", dir->id, NULL);
	default:
		return NULL;
	}
}

/* A file being written to create an object (see fs/create.h). */
static int lookup_pending(struct clerkfs *fs, const struct node *dir,
			  const char *name, struct node_spec *spec)
{
	char *key = tree_pending_key(dir);
	struct scratch *s = key ? scratch_find(fs, key, name) : NULL;

	if (!s) {
		g_free(key);
		return -ENOENT;
	}
	scratch_put(fs, s);
	spec->kind = NODE_PENDING;
	spec->id = key;
	spec->sub = g_strdup(name);
	return 0;
}

int tree_lookup(struct clerkfs *fs, const struct node *dir,
		const char *name, struct node_spec *spec)
{
	memset(spec, 0, sizeof(*spec));
	if (lookup_pending(fs, dir, name, spec) == 0)
		return 0;
	if (scratch_dir_key_kind(dir->kind))
		return lookup_object_dir(fs, dir, name, spec);
	if (name[0] == '.' && dir->kind != NODE_ROOT)
		return -ENOENT;

	switch (dir->kind) {
	case NODE_ROOT:
		return lookup_fixed(root_names, name, spec, NULL);
	case NODE_USERS:
		return lookup_user(fs, name, spec);
	case NODE_USER_ORGS:
		return lookup_user_org(fs, dir, name, spec);
	case NODE_ORGS:
		return lookup_org(fs, name, spec);
	case NODE_MEMBERS:
		return lookup_members_org(fs, name, spec);
	case NODE_EMAILS:
		return lookup_user_dir(fs, name, NODE_EMAILS_USER, spec);
	case NODE_EMAILS_USER:
		return lookup_email(fs, dir, name, spec);
	case NODE_SESSIONS:
		return lookup_session(fs, name, spec);
	case NODE_SESSIONS_USER:
		return lookup_user_session(fs, dir, name, spec);
	case NODE_SEARCH:
		return lookup_fixed(search_names, name, spec, name);
	case NODE_SEARCH_RES:
	case NODE_SEARCH_QUERY:
		return search_lookup(fs, dir, name, spec);
	case NODE_META:
		return lookup_fixed(meta_names, name, spec, NULL);
	default:
		return -ENOTDIR;
	}
}

/* ---- listing ------------------------------------------------------------ */

static void list_strings(const cJSON *array, const char *suffix,
			 mode_t type, GPtrArray *entries)
{
	const cJSON *item;

	cJSON_ArrayForEach(item, array) {
		const char *s = cJSON_GetStringValue(item);
		char *name;

		if (!s)
			continue;
		name = g_strconcat(s, suffix, NULL);
		add_entry(entries, name, type);
		g_free(name);
	}
}

static int list_ids(struct clerkfs *fs, bool orgs, GPtrArray *entries)
{
	struct cache_entry *ids;
	int ret = orgs ? objects_org_ids(&fs->objects, &ids)
		       : objects_user_ids(&fs->objects, &ids);

	if (ret < 0)
		return ret;
	list_strings(ids->json, "", S_IFDIR, entries);
	cache_unref(fs->cache, ids);
	return 0;
}

static int list_user_orgs(struct clerkfs *fs, const struct node *dir,
			  GPtrArray *entries)
{
	struct cache_entry *index;
	int ret = objects_user_orgs(&fs->objects, &index);

	if (ret < 0)
		return ret;
	list_strings(cJSON_GetObjectItemCaseSensitive(index->json, dir->id),
		     "", S_IFLNK, entries);
	cache_unref(fs->cache, index);
	return 0;
}

static int list_members(struct clerkfs *fs, const struct node *dir,
			GPtrArray *entries)
{
	struct cache_entry *members;
	const cJSON *m;
	int ret = objects_org_members(&fs->objects, dir->id, &members);

	if (ret < 0)
		return ret;
	cJSON_ArrayForEach(m, members->json) {
		const char *user_id = json_str(
			cJSON_GetObjectItemCaseSensitive(m, "public_user_data"),
			"user_id");

		if (user_id)
			add_entry(entries, user_id, S_IFREG);
	}
	cache_unref(fs->cache, members);
	return 0;
}

static int list_emails(struct clerkfs *fs, const struct node *dir,
		       GPtrArray *entries)
{
	struct cache_entry *user;
	const cJSON *email;
	int ret = objects_user(&fs->objects, dir->id, &user);

	if (ret < 0)
		return ret;
	cJSON_ArrayForEach(email, cJSON_GetObjectItemCaseSensitive(
					  user->json, "email_addresses")) {
		const char *address = json_str(email, "email_address");
		const char *id = json_str(email, "id");

		if (names_is_usable(address))
			add_entry(entries, address, S_IFREG);
		else if (id)
			add_entry(entries, id, S_IFREG);
	}
	cache_unref(fs->cache, user);
	return 0;
}

static int list_sessions(struct clerkfs *fs, const struct node *dir,
			 GPtrArray *entries)
{
	struct cache_entry *sessions;
	const cJSON *s;
	int ret = objects_user_sessions(&fs->objects, dir->id, &sessions);

	if (ret < 0)
		return ret;
	cJSON_ArrayForEach(s, sessions->json) {
		char *name;

		if (!session_is_live(s) || !json_str(s, "id"))
			continue;
		name = g_strconcat(json_str(s, "id"), ".json", NULL);
		add_entry(entries, name, S_IFREG);
		g_free(name);
	}
	cache_unref(fs->cache, sessions);
	return 0;
}

static int list_object_dir(struct clerkfs *fs, const struct node *dir,
			   GPtrArray *entries)
{
	char *key = scratch_dir_key(dir);
	int ret = 0;

	if (dir->kind == NODE_USER)
		list_fixed(user_names, entries);
	else if (dir->kind == NODE_ORG)
		list_fixed(org_names, entries);
	else
		ret = list_members(fs, dir, entries);
	if (ret == 0)
		scratch_list(fs, key, entries);
	g_free(key);
	return ret;
}

int tree_list(struct clerkfs *fs, const struct node *dir, GPtrArray *entries)
{
	if (scratch_dir_key_kind(dir->kind))
		return list_object_dir(fs, dir, entries);
	switch (dir->kind) {
	case NODE_ROOT:
		list_fixed(root_names, entries);
		return 0;
	case NODE_USERS:
	case NODE_EMAILS:
	case NODE_SESSIONS:
		return list_ids(fs, false, entries);
	case NODE_ORGS:
	case NODE_MEMBERS:
		return list_ids(fs, true, entries);
	case NODE_USER_ORGS:
		return list_user_orgs(fs, dir, entries);
	case NODE_EMAILS_USER:
		return list_emails(fs, dir, entries);
	case NODE_SESSIONS_USER:
		return list_sessions(fs, dir, entries);
	case NODE_SEARCH:
		list_fixed(search_names, entries);
		return 0;
	case NODE_SEARCH_RES:
	case NODE_SEARCH_QUERY:
		return search_list(fs, dir, entries);
	case NODE_META:
		list_fixed(meta_names, entries);
		return 0;
	default:
		return -ENOTDIR;
	}
}

/* ---- content ------------------------------------------------------------ */

/*
 * The file's bytes and modification time (ms since the epoch) from the
 * object it shows.  Each returns 0 or a negative errno.
 */
struct content {
	GString *bytes;
	long long mtime_ms;
	double ttl;		/* seconds the object stays cached */
};

static void append_rendered(GString *out, const cJSON *json)
{
	size_t len;
	char *text = json && !cJSON_IsNull(json) ? json_render(json, &len)
						 : NULL;

	if (text)
		g_string_append_len(out, text, len);
	else
		g_string_append(out, "{}\n");
	free(text);
}

static int user_content(struct clerkfs *fs, const struct node *node,
			struct content *c)
{
	struct cache_entry *user;
	int ret = objects_user(&fs->objects, node->id, &user);

	if (ret < 0)
		return ret;
	switch (node->attr) {
	case ATTR_PROFILE:
		append_rendered(c->bytes, user->json);
		break;
	case ATTR_BANNED:
	case ATTR_LOCKED:
		g_string_append(c->bytes,
				json_bool(user->json, node->attr == ATTR_BANNED
						? "banned" : "locked", false)
					? "true\n" : "false\n");
		break;
	default:
		append_rendered(c->bytes, cJSON_GetObjectItemCaseSensitive(
				user->json, metadata_fields[node->attr]));
	}
	c->mtime_ms = clock_user_mtime(fs, user);
	c->ttl = cache_entry_ttl(user);
	cache_unref(fs->cache, user);
	return 0;
}

static int org_content(struct clerkfs *fs, const struct node *node,
		       struct content *c)
{
	struct cache_entry *org;
	int ret = objects_org(&fs->objects, node->id, &org);

	if (ret < 0)
		return ret;
	if (node->attr == ATTR_ORGANIZATION)
		append_rendered(c->bytes, org->json);
	else
		append_rendered(c->bytes, cJSON_GetObjectItemCaseSensitive(
				org->json, metadata_fields[node->attr]));
	c->mtime_ms = json_int(org->json, "updated_at", 0);
	c->ttl = cache_entry_ttl(org);
	cache_unref(fs->cache, org);
	return 0;
}

static int member_content(struct clerkfs *fs, const struct node *node,
			  struct content *c)
{
	struct cache_entry *members;
	const cJSON *m;
	int ret = objects_org_members(&fs->objects, node->id, &members);

	if (ret < 0)
		return ret;
	m = member_of(members->json, node->sub);
	if (m) {
		g_string_append_printf(c->bytes, "%s\n",
				       json_str(m, "role") ? json_str(m, "role")
							   : "");
		c->mtime_ms = json_int(m, "updated_at", 0);
		c->ttl = cache_entry_ttl(members);
	}
	cache_unref(fs->cache, members);
	return m ? 0 : -ENOENT;
}

static int email_content(struct clerkfs *fs, const struct node *node,
			 struct content *c)
{
	struct cache_entry *user;
	const cJSON *email;
	int ret = objects_user(&fs->objects, node->id, &user);

	if (ret < 0)
		return ret;
	email = user_email(user->json, node->sub);
	if (email) {
		append_rendered(c->bytes, email);
		c->mtime_ms = json_int(email, "updated_at", 0);
		c->ttl = cache_entry_ttl(user);
	}
	cache_unref(fs->cache, user);
	return email ? 0 : -ENOENT;
}

static int session_content(struct clerkfs *fs, const struct node *node,
			   struct content *c)
{
	struct cache_entry *entry;
	const cJSON *session;
	int ret;

	if (node->sub)
		ret = objects_user_sessions(&fs->objects, node->sub, &entry);
	else
		ret = objects_session(&fs->objects, node->id, &entry);
	if (ret < 0)
		return ret;
	session = node->sub ? find_by(entry->json, "id", node->id, false)
			    : entry->json;
	if (session && (!node->sub || session_is_live(session))) {
		append_rendered(c->bytes, session);
		c->mtime_ms = json_int(session, "updated_at", 0);
		c->ttl = cache_entry_ttl(entry);
	} else {
		ret = -ENOENT;
	}
	cache_unref(fs->cache, entry);
	return ret;
}

static int meta_content(struct clerkfs *fs, const struct node *node,
			struct content *c)
{
	if (node->attr == ATTR_STATS)
		fs_stats_format(fs, c->bytes);
	else
		fs_errors_format(fs, c->bytes);
	c->mtime_ms = 0;
	c->ttl = 0;
	return 0;
}

static int content_of(struct clerkfs *fs, const struct node *node,
		      struct content *c)
{
	c->bytes = g_string_new(NULL);
	c->mtime_ms = 0;
	c->ttl = fs->opts.cache_ttl;

	switch (node->kind) {
	case NODE_USER_FILE:
		return user_content(fs, node, c);
	case NODE_ORG_FILE:
		return org_content(fs, node, c);
	case NODE_MEMBER:
		return member_content(fs, node, c);
	case NODE_EMAIL:
		return email_content(fs, node, c);
	case NODE_SESSION:
		return session_content(fs, node, c);
	case NODE_META_FILE:
		return meta_content(fs, node, c);
	default:
		return -EISDIR;
	}
}

int tree_read(struct clerkfs *fs, const struct node *node, GString **out)
{
	struct content c;
	int ret = content_of(fs, node, &c);

	if (ret < 0) {
		g_string_free(c.bytes, TRUE);
		return ret;
	}
	*out = c.bytes;
	return 0;
}

/* ---- links -------------------------------------------------------------- */

int tree_readlink(struct clerkfs *fs, const struct node *node, char **target)
{
	switch (node->attr) {
	case ATTR_LINK_EMAILS:
		*target = g_strdup_printf("../../email_addresses/%s", node->id);
		return 0;
	case ATTR_LINK_SESSIONS:
		*target = g_strdup_printf("../../sessions/%s", node->id);
		return 0;
	case ATTR_LINK_MEMBERS:
		*target = g_strdup_printf("../../members/%s", node->id);
		return 0;
	default:
		break;
	}
	if (node->kind == NODE_USER_ORG_LINK) {
		*target = g_strdup_printf("../../../orgs/%s", node->sub);
		return 0;
	}
	return -EINVAL;
}

/* ---- attributes --------------------------------------------------------- */

bool scratch_dir_key_kind(enum node_kind kind)
{
	return kind == NODE_USER || kind == NODE_ORG ||
	       kind == NODE_MEMBERS_ORG;
}

static int scratch_attr(struct clerkfs *fs, const struct node *node,
			struct stat *st, double *ttl)
{
	struct scratch *s = scratch_find(fs, node->id, node->sub);

	if (!s && node->kind == NODE_PENDING) {
		/* Its object was created: an empty file, until forgotten. */
		st->st_mode = S_IFREG | 0600;
		st->st_nlink = 1;
		*ttl = 0;
		return 0;
	}
	if (!s)
		return -ENOENT;
	scratch_stat(fs, s, st);
	scratch_put(fs, s);
	*ttl = 0;
	return 0;
}

static void set_time(struct stat *st, long long ms)
{
	st->st_mtim.tv_sec = ms / 1000;
	st->st_mtim.tv_nsec = (ms % 1000) * 1000000;
	st->st_ctim = st->st_mtim;
	st->st_atim = st->st_mtim;
}

bool tree_is_writable(const struct node *node)
{
	switch (node->kind) {
	case NODE_USER_FILE:
	case NODE_ORG_FILE:
	case NODE_MEMBER:
	case NODE_EMAIL:
		return true;
	default:
		return false;
	}
}

static bool dir_is_writable(const struct node *node)
{
	switch (node->kind) {
	case NODE_USERS:
	case NODE_USER:
	case NODE_ORGS:
	case NODE_ORG:
	case NODE_MEMBERS_ORG:
	case NODE_EMAILS_USER:
	case NODE_SESSIONS_USER:
	case NODE_SEARCH_RES:
		return true;
	default:
		return false;
	}
}

/* The directory's object time: its user's or organization's. */
static int dir_time(struct clerkfs *fs, const struct node *node,
		    long long *ms, double *ttl)
{
	struct cache_entry *entry;
	int ret;

	switch (node->kind) {
	case NODE_USER:
	case NODE_EMAILS_USER:
	case NODE_SESSIONS_USER:
	case NODE_USER_ORGS:
		ret = objects_user(&fs->objects, node->id, &entry);
		break;
	case NODE_ORG:
	case NODE_MEMBERS_ORG:
		ret = objects_org(&fs->objects, node->id, &entry);
		break;
	default:
		*ms = fs->mounted.tv_sec * 1000LL +
		      fs->mounted.tv_nsec / 1000000;
		*ttl = fs->opts.cache_ttl;
		return 0;
	}
	if (ret < 0)
		return ret;
	*ms = json_int(entry->json, "updated_at", 0);
	*ttl = cache_entry_ttl(entry);
	cache_unref(fs->cache, entry);
	return 0;
}

static void fill_common(struct clerkfs *fs, const struct node *node,
			struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = node->ino;
	st->st_uid = fs->uid;
	st->st_gid = fs->gid;
	st->st_blksize = 4096;
}

static int link_attr(struct clerkfs *fs, const struct node *node,
		     struct stat *st, double *ttl)
{
	char *target = NULL;
	int ret = tree_readlink(fs, node, &target);

	if (ret < 0)
		return ret;
	st->st_mode = S_IFLNK | 0777;
	st->st_nlink = 1;
	st->st_size = (off_t)strlen(target);
	set_time(st, fs->mounted.tv_sec * 1000LL);
	*ttl = fs->opts.cache_ttl;
	g_free(target);
	return 0;
}

static int file_attr(struct clerkfs *fs, const struct node *node,
		     struct stat *st, double *ttl)
{
	struct content c;
	int ret = content_of(fs, node, &c);

	if (ret == 0) {
		st->st_mode = S_IFREG | (tree_is_writable(node) ? 0600 : 0400);
		st->st_nlink = 1;
		st->st_size = (off_t)c.bytes->len;
		st->st_blocks = (st->st_size + 511) / 512;
		set_time(st, c.mtime_ms);
		*ttl = c.ttl;
	}
	g_string_free(c.bytes, TRUE);
	return ret;
}

int tree_attr(struct clerkfs *fs, const struct node *node, struct stat *st,
	      double *ttl)
{
	long long ms;
	int ret;

	fill_common(fs, node, st);
	if (node->kind == NODE_SEARCH_QUERY || node->kind == NODE_SEARCH_FILE)
		return search_attr(fs, node, st, ttl);
	if (node->kind == NODE_SCRATCH || node->kind == NODE_PENDING)
		return scratch_attr(fs, node, st, ttl);
	switch (kind_type(node->kind)) {
	case S_IFLNK:
		return link_attr(fs, node, st, ttl);
	case S_IFREG:
		return file_attr(fs, node, st, ttl);
	default:
		break;
	}
	ret = dir_time(fs, node, &ms, ttl);
	if (ret < 0)
		return ret;
	st->st_mode = S_IFDIR | (dir_is_writable(node) ? 0700 : 0500);
	st->st_nlink = 2;
	st->st_size = DIR_SIZE;
	st->st_blocks = DIR_SIZE / 512;
	set_time(st, ms);
	return 0;
}
