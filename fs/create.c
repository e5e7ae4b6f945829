/*
 * fs/create.c - creates and deletes; see create.h.
 */
#include "fs/create.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api/json.h"
#include "fs/names.h"
#include "fs/notify.h"
#include "fs/save.h"

/* One request of a create or delete. */
struct request {
	const char *method;
	char *path;		/* owned */
	const char *route;
	const cJSON *body;
	bool creates_user;
	/* Cache keys it may change, NULL-ended; NULL for all of them. */
	const char *const *touches;
};

static const char *const users_touched[] = { "users", "alias/", NULL };
static const char *const orgs_touched[] = { "orgs", "alias/slug/", NULL };
static const char *const sessions_touched[] = { "sessions/", NULL };
static const char *const emails_touched[] = { "user/", "alias/", NULL };
static const char *const members_touched[] = { "members/", "org/", "user/",
						 "user-orgs", NULL };

/*
 * A request abandoned after it went out may still land: until its deadline
 * what it may change is read from the API each time.
 */
static void unsettle(struct clerkfs *fs, const struct request *r,
		     double until)
{
	static const char *const all[] = { "", NULL };

	for (const char *const *p = r->touches ? r->touches : all; *p; p++)
		cache_unsettle(fs->cache, *p, until);
}

/* After an outcome left unknown, what the request may change is read anew. */
static void forget_touched(struct clerkfs *fs, const struct request *r)
{
	static const char *const all[] = { "", NULL };

	for (const char *const *p = r->touches ? r->touches : all; *p; p++)
		cache_drop_prefix(fs->cache, *p);
}

/*
 * Looks up whether a create whose outcome is unknown went through; returns
 * 0 with the object in *found, -ENOENT when it did not, or another errno.
 */
typedef int (*find_fn)(struct clerkfs *fs, const void *key, cJSON **found);

/* How a create ended, when its errno alone does not say. */
struct outcome {
	bool maybe_applied;	/* unknown: look before sending again */
	bool unreadable;	/* applied (2xx), but the reply is unusable */
};

static int send_once(struct clerkfs *fs, struct request *r, cJSON **reply,
		     struct outcome *out, char *why)
{
	struct api_call call = {
		.method = r->method, .path = r->path, .route = r->route,
		.body = r->body, .creates_user = r->creates_user,
		.deadline = api_deadline(fs->api), .reported = true,
	};
	int ret = api_call(fs->api, &call);

	out->maybe_applied = call.maybe_applied;
	out->unreadable = ret == -EIO && call.status >= 200 &&
			  call.status < 300;
	if (ret == -EINTR && call.sent) {
		/* Not looked up: the interrupted caller waits no more. */
		out->maybe_applied = false;
		unsettle(fs, r, call.deadline);
		snprintf(why, SAVE_WHY_MAX, "%s %s: interrupted after it was "
			 "sent: it may have been applied, and the next read "
			 "shows what the API holds", r->method, r->route);
	} else if (ret == 0) {
		*reply = call.reply;
	} else {
		snprintf(why, SAVE_WHY_MAX, "%s %s: %s", r->method, r->route,
			 call.error);
	}
	return ret;
}

/*
 * Checks that a create's reply (or what a lookup found) is an object whose
 * id, starting with prefix, can stand in names and links; -EIO when not.
 * The reply is freed and cleared when it cannot.
 */
static int check_reply(const struct request *r, const char *prefix,
		       cJSON **reply, struct outcome *out, char *why)
{
	const char *id = json_str(*reply, "id");

	if (!prefix || (id && names_is_id(id, prefix)))
		return 0;
	snprintf(why, SAVE_WHY_MAX, "%s %s: the API answered success "
		 "without a valid %.*s id", r->method, r->route,
		 (int)strlen(prefix) - 1, prefix);
	cJSON_Delete(*reply);
	*reply = NULL;
	out->unreadable = true;
	return -EIO;
}

static void append(char *why, const char *text)
{
	size_t len = strlen(why);

	snprintf(why + len, SAVE_WHY_MAX - len, "%s", text);
}

/*
 * Sends a create whose reply holds an id starting with prefix (NULL: any
 * reply).  When its outcome is unknown, or it succeeded with a reply that
 * cannot be used, asks find for the object; sends once more only when
 * find says an unknown outcome did not go through.
 */
static int send_create(struct clerkfs *fs, struct request *r, find_fn find,
		       const void *key, const char *prefix, cJSON **reply,
		       char *why)
{
	struct outcome out = { 0 };
	int ret = send_once(fs, r, reply, &out, why);

	if (ret == 0)
		ret = check_reply(r, prefix, reply, &out, why);
	if (ret == 0 || !(out.maybe_applied || out.unreadable))
		return ret;
	if (!find || !key) {
		forget_touched(fs, r);
		append(why, out.unreadable ? "; it was created but cannot be "
			"shown (look before retrying)" : "; whether it was "
			"created is unknown, and it was not sent again (look "
			"before retrying)");
		return -EIO;
	}
	ret = find(fs, key, reply);
	if (ret == 0)
		ret = check_reply(r, prefix, reply, &out, why);
	if (ret == -ENOENT && out.unreadable) {
		forget_touched(fs, r);
		append(why, "; it was not found afterwards");
		return -EIO;
	}
	if (ret != -ENOENT)
		return ret;
	return send_once(fs, r, reply, &out, why);
}

static int send_plain(struct clerkfs *fs, struct request *r, cJSON **reply,
		      char *why)
{
	struct outcome out;
	cJSON *ignored = NULL;
	int ret = send_once(fs, r, reply ? reply : &ignored, &out, why);

	cJSON_Delete(ignored);
	return ret;
}

/* ---- cache upkeep after a change ---------------------------------------- */

static void forget(struct clerkfs *fs, const char *prefix, const char *id)
{
	char *key = g_strconcat(prefix, id, NULL);

	cache_drop(fs->cache, key);
	g_free(key);
}

static void keep(struct clerkfs *fs, const char *prefix, cJSON *obj)
{
	const char *id = json_str(obj, "id");
	char *key;

	if (!id) {
		cJSON_Delete(obj);
		return;
	}
	key = g_strconcat(prefix, id, NULL);
	cache_put(fs->cache, key, obj, 0, true);
	g_free(key);
}

static void user_changed(struct clerkfs *fs, const char *id)
{
	forget(fs, "user/", id);
	cache_drop(fs->cache, "users");
	cache_drop_prefix(fs->cache, "alias/");
}

static void memberships_changed(struct clerkfs *fs, const char *org,
				const char *user)
{
	forget(fs, "members/", org);
	forget(fs, "org/", org);
	forget(fs, "user/", user);
	cache_drop(fs->cache, "user-orgs");
}

/* ---- lookups of creates whose outcome is unknown ------------------------ */

static int find_user_by(struct clerkfs *fs, const char *param,
			const char *value, cJSON **found)
{
	GString *q = g_string_new(NULL);
	struct api_call call = {
		.method = "GET", .path = "/users", .route = "/users",
		.deadline = api_deadline(fs->api),
	};
	int ret;

	api_query_add(q, param, value);
	g_string_append(q, "&limit=1");
	call.query = q->str;
	ret = api_call(fs->api, &call);
	g_string_free(q, TRUE);
	if (ret < 0)
		return ret;
	*found = cJSON_DetachItemFromArray(call.reply, 0);
	cJSON_Delete(call.reply);
	return *found ? 0 : -ENOENT;
}

/* A new user's unique keys, in the order they are tried. */
static int find_user(struct clerkfs *fs, const void *key, cJSON **found)
{
	const cJSON *body = key;
	static const char *const keys[] = { "email_address", "phone_number",
					    "username", "external_id" };

	for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(body,
								  keys[i]);

		if (cJSON_IsArray(v))
			v = cJSON_GetArrayItem(v, 0);
		if (cJSON_IsString(v))
			return find_user_by(fs, keys[i], v->valuestring,
					    found);
	}
	return -EIO;
}

static int find_org(struct clerkfs *fs, const void *key, cJSON **found)
{
	const char *slug = json_str(key, "slug");
	char *escaped, *path;
	struct api_call call = {
		.method = "GET", .route = "/organizations/{organization_id}",
		.deadline = api_deadline(fs->api),
	};
	int ret;

	if (!slug)
		return -EIO;
	escaped = api_escape(slug);
	path = g_strconcat("/organizations/", escaped, NULL);
	call.path = path;
	ret = api_call(fs->api, &call);
	if (ret == 0)
		*found = call.reply;
	g_free(path);
	g_free(escaped);
	return ret;
}

/* ---- users and organizations --------------------------------------------- */

static int post_user(struct clerkfs *fs, cJSON *body, char **id, char *why)
{
	struct request r = { "POST", g_strdup("/users"), "/users", body,
			     true, users_touched };
	cJSON *reply = NULL;
	int ret = send_create(fs, &r, find_user, body, "user_", &reply, why);

	g_free(r.path);
	if (ret < 0)
		return ret;
	*id = g_strdup(json_str(reply, "id"));
	user_changed(fs, *id);
	notify_names(fs, reply);
	keep(fs, "user/", reply);
	return *id ? 0 : -EIO;
}

int create_user_named(struct clerkfs *fs, const char *name, char **id,
		      char *why)
{
	const char *field = names_is_email(name) ? "email_address"
			    : names_is_phone(name) ? "phone_number" : NULL;
	cJSON *body, *list;
	int ret;

	if (!field) {
		snprintf(why, SAVE_WHY_MAX, "a new user's directory is named "
			 "by its email address or +phone number; '%s' is "
			 "neither", name);
		return -EINVAL;
	}
	body = cJSON_CreateObject();
	list = cJSON_AddArrayToObject(body, field);
	cJSON_AddItemToArray(list, cJSON_CreateString(name));
	cJSON_AddTrueToObject(body, "skip_password_requirement");
	ret = post_user(fs, body, id, why);
	cJSON_Delete(body);
	return ret;
}

static int post_org(struct clerkfs *fs, cJSON *body, char **id, char *why)
{
	struct request r = { "POST", g_strdup("/organizations"),
			     "/organizations", body, false, orgs_touched };
	cJSON *reply = NULL;
	int ret = send_create(fs, &r, find_org, body, "org_", &reply, why);

	g_free(r.path);
	if (ret < 0)
		return ret;
	*id = g_strdup(json_str(reply, "id"));
	cache_drop(fs->cache, "orgs");
	cache_drop_prefix(fs->cache, "alias/slug/");
	notify_names(fs, reply);
	keep(fs, "org/", reply);
	return *id ? 0 : -EIO;
}

int create_org_named(struct clerkfs *fs, const char *name, char **id,
		     char *why)
{
	cJSON *body;
	int ret;

	if (!names_is_slug(name)) {
		snprintf(why, SAVE_WHY_MAX, "a new organization's directory "
			 "is named by its slug (lowercase letters, digits and "
			 "'-'); '%s' is not one: copy a JSON file into orgs/ "
			 "to choose another name", name);
		return -EINVAL;
	}
	body = cJSON_CreateObject();
	cJSON_AddStringToObject(body, "name", name);
	cJSON_AddStringToObject(body, "slug", name);
	ret = post_org(fs, body, id, why);
	cJSON_Delete(body);
	return ret;
}

/* ---- pending files --------------------------------------------------------- */

/* The JSON object written to a pending file; {} when nothing was. */
static cJSON *pending_body(const char *text, size_t len, char *why)
{
	struct json_error err;
	size_t i = 0;
	cJSON *body;

	while (i < len && g_ascii_isspace(text[i]))
		i++;
	if (i == len)
		return cJSON_CreateObject();
	body = json_parse(text, len, &err);
	if (!body) {
		snprintf(why, SAVE_WHY_MAX, "not valid JSON: line %d, column "
			 "%d: %s", err.line, err.column, err.message);
		return NULL;
	}
	if (!cJSON_IsObject(body)) {
		snprintf(why, SAVE_WHY_MAX, "the file must hold a JSON "
			 "object");
		cJSON_Delete(body);
		return NULL;
	}
	return body;
}

static int post_session(struct clerkfs *fs, const char *user, cJSON *body,
			char **new_id, char *why)
{
	struct request r = { "POST", g_strdup("/sessions"), "/sessions",
			     body, false, sessions_touched };
	cJSON *reply = NULL;
	int ret;

	if (api_is_production(fs->api)) {
		snprintf(why, SAVE_WHY_MAX, "sessions can be created only on "
			 "development instances");
		g_free(r.path);
		return -EOPNOTSUPP;
	}
	cJSON_DeleteItemFromObjectCaseSensitive(body, "user_id");
	cJSON_AddStringToObject(body, "user_id", user);
	ret = send_create(fs, &r, NULL, NULL, "sess_", &reply, why);
	g_free(r.path);
	if (ret < 0)
		return ret;
	forget(fs, "sessions/", user);
	if (new_id)
		*new_id = g_strdup(json_str(reply, "id"));
	keep(fs, "session/", reply);
	return 0;
}

static int find_email(struct clerkfs *fs, const void *key, cJSON **found)
{
	const cJSON *body = key;
	const char *user = json_str(body, "user_id");
	const char *address = json_str(body, "email_address");
	struct cache_entry *entry;
	const cJSON *email;
	int ret;

	forget(fs, "user/", user);
	ret = objects_user(&fs->objects, user, &entry);
	if (ret < 0)
		return ret;
	ret = -ENOENT;
	cJSON_ArrayForEach(email, cJSON_GetObjectItemCaseSensitive(
					  entry->json, "email_addresses")) {
		const char *a = json_str(email, "email_address");

		if (a && address && g_ascii_strcasecmp(a, address) == 0) {
			*found = cJSON_Duplicate(email, true);
			ret = 0;
		}
	}
	cache_unref(fs->cache, entry);
	return ret;
}

/* Keeps only the fields an email address body may set. */
static int email_fields(cJSON *body, char *why)
{
	static const char *const allowed[] = { "verified", "primary",
		"notify_primary_email_address_changed", "email_address",
		"user_id" };
	const cJSON *field;

	cJSON_ArrayForEach(field, body) {
		bool ok = false;

		for (size_t i = 0; i < G_N_ELEMENTS(allowed); i++)
			ok |= strcmp(field->string, allowed[i]) == 0;
		if (!ok) {
			snprintf(why, SAVE_WHY_MAX, "field '%s' cannot be set "
				 "on an email address (verified, primary)",
				 field->string);
			return -EPERM;
		}
	}
	return 0;
}

static void set_default(cJSON *body, const char *key, bool value)
{
	if (!cJSON_GetObjectItemCaseSensitive(body, key))
		cJSON_AddBoolToObject(body, key, value);
}

static int post_email(struct clerkfs *fs, const char *user,
		      const char *address, cJSON *body, char **new_id,
		      char *why)
{
	struct request r = { "POST", g_strdup("/email_addresses"),
			     "/email_addresses", body, false, emails_touched };
	cJSON *reply = NULL;
	int ret = email_fields(body, why);

	if (ret == 0) {
		cJSON_DeleteItemFromObjectCaseSensitive(body, "user_id");
		cJSON_DeleteItemFromObjectCaseSensitive(body, "email_address");
		cJSON_AddStringToObject(body, "user_id", user);
		cJSON_AddStringToObject(body, "email_address", address);
		set_default(body, "verified", true);
		set_default(body, "primary", false);
		ret = send_create(fs, &r, find_email, body, "idn_", &reply,
				  why);
	}
	g_free(r.path);
	if (ret < 0)
		return ret;
	if (new_id)
		*new_id = g_strdup(json_str(reply, "id"));
	cJSON_Delete(reply);
	user_changed(fs, user);
	return 0;
}

/* "admin" -> "org:admin"; trailing white space ignored; NULL if empty. */
static char *role_of(const char *text, size_t len)
{
	char *role = g_strstrip(g_strndup(text, len));

	if (!*role || strpbrk(role, " \t\n")) {
		g_free(role);
		return NULL;
	}
	if (!strchr(role, ':')) {
		char *prefixed = g_strconcat("org:", role, NULL);

		g_free(role);
		role = prefixed;
	}
	return role;
}

struct member_key {
	const char *org;
	const char *user;
};

static int find_member(struct clerkfs *fs, const void *key, cJSON **found)
{
	const struct member_key *k = key;
	struct cache_entry *entry;
	const cJSON *m;
	int ret;

	forget(fs, "members/", k->org);
	ret = objects_org_members(&fs->objects, k->org, &entry);
	if (ret < 0)
		return ret;
	ret = -ENOENT;
	cJSON_ArrayForEach(m, entry->json) {
		const cJSON *pud = cJSON_GetObjectItemCaseSensitive(
			m, "public_user_data");

		if (g_strcmp0(json_str(pud, "user_id"), k->user) == 0) {
			*found = cJSON_Duplicate(m, true);
			ret = 0;
		}
	}
	cache_unref(fs->cache, entry);
	return ret;
}

static char *members_path(const char *org, const char *user)
{
	char *eorg = api_escape(org);
	char *euser = user ? api_escape(user) : NULL;
	char *path = user ? g_strdup_printf("/organizations/%s/memberships/%s",
					    eorg, euser)
			  : g_strdup_printf("/organizations/%s/memberships",
					    eorg);

	g_free(eorg);
	g_free(euser);
	return path;
}

static int post_member(struct clerkfs *fs, const char *org,
		       const char *user, const char *text, size_t len,
		       char *why)
{
	char *role = len ? role_of(text, len) : g_strdup("org:member");
	struct member_key key = { org, user };
	struct request r = { "POST", members_path(org, NULL),
			     "/organizations/{organization_id}/memberships",
			     NULL, false, members_touched };
	cJSON *body, *reply = NULL;
	int ret;

	if (!role) {
		snprintf(why, SAVE_WHY_MAX, "a member file holds a role key "
			 "such as org:admin or org:member");
		g_free(r.path);
		return -EINVAL;
	}
	body = cJSON_CreateObject();
	cJSON_AddStringToObject(body, "user_id", user);
	cJSON_AddStringToObject(body, "role", role);
	r.body = body;
	ret = send_create(fs, &r, find_member, &key, NULL, &reply, why);
	cJSON_Delete(reply);
	cJSON_Delete(body);
	g_free(r.path);
	g_free(role);
	if (ret == 0)
		memberships_changed(fs, org, user);
	return ret;
}

int create_pending(struct clerkfs *fs, enum pending_kind kind,
		   const char *owner, const char *name, const char *text,
		   size_t len, char **new_id, char *why)
{
	cJSON *body;
	char *id = NULL;
	int ret;

	if (kind == PENDING_MEMBER)
		return post_member(fs, owner, name, text, len, why);
	body = pending_body(text, len, why);
	if (!body)
		return -EINVAL;
	json_strip_nulls(body);
	switch (kind) {
	case PENDING_USER:
		ret = post_user(fs, body, &id, why);
		break;
	case PENDING_ORG:
		ret = post_org(fs, body, &id, why);
		break;
	case PENDING_SESSION:
		ret = post_session(fs, owner, body, new_id, why);
		break;
	case PENDING_EMAIL:
		ret = post_email(fs, owner, name, body, new_id, why);
		break;
	default:
		ret = -EPERM;
	}
	g_free(id);
	cJSON_Delete(body);
	return ret;
}

int create_member_role(struct clerkfs *fs, const char *org,
		       const char *user, const char *text, size_t len,
		       char *why)
{
	char *role = role_of(text, len);
	struct request r = {
		"PATCH", members_path(org, user),
		"/organizations/{organization_id}/memberships/{user_id}",
		NULL, false, NULL,
	};
	cJSON *body;
	int ret;

	if (!role) {
		snprintf(why, SAVE_WHY_MAX, "a member file holds a role key "
			 "such as org:admin or org:member");
		g_free(r.path);
		return -EINVAL;
	}
	body = cJSON_CreateObject();
	cJSON_AddStringToObject(body, "role", role);
	r.body = body;
	ret = send_plain(fs, &r, NULL, why);
	cJSON_Delete(body);
	g_free(r.path);
	g_free(role);
	if (ret == 0)
		memberships_changed(fs, org, user);
	return ret;
}

/* The email address object of a user, copied, or NULL. */
static cJSON *current_email(struct clerkfs *fs, const char *user,
			    const char *idn)
{
	struct cache_entry *entry;
	const cJSON *email;
	cJSON *copy = NULL;

	if (objects_user(&fs->objects, user, &entry) < 0)
		return NULL;
	cJSON_ArrayForEach(email, cJSON_GetObjectItemCaseSensitive(
					  entry->json, "email_addresses"))
		if (g_strcmp0(json_str(email, "id"), idn) == 0)
			copy = cJSON_Duplicate(email, true);
	cache_unref(fs->cache, entry);
	return copy;
}

/* verified: the address's verification status, as the file shows it. */
static bool email_verified(const cJSON *email)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(email,
							  "verification");

	return g_strcmp0(json_str(v, "status"), "verified") == 0;
}

/* The changes of an email address file, as a PATCH body. */
static int email_changes(const cJSON *now, const cJSON *doc, bool primary,
			 cJSON *patch, char *why)
{
	const cJSON *field;

	cJSON_ArrayForEach(field, doc) {
		const cJSON *old = cJSON_GetObjectItemCaseSensitive(
			now, field->string);

		if (strcmp(field->string, "verified") == 0 &&
		    cJSON_IsBool(field)) {
			if (cJSON_IsTrue(field) != email_verified(now))
				cJSON_AddItemToObject(patch, "verified",
					cJSON_Duplicate(field, true));
		} else if (strcmp(field->string, "primary") == 0 &&
			   cJSON_IsBool(field)) {
			if (cJSON_IsTrue(field) != primary)
				cJSON_AddItemToObject(patch, "primary",
					cJSON_Duplicate(field, true));
		} else if (!old || !json_equal(old, field)) {
			snprintf(why, SAVE_WHY_MAX, "field '%s' of an email "
				 "address cannot be changed; 'verified' and "
				 "'primary' can", field->string);
			return -EPERM;
		}
	}
	return 0;
}

static bool email_is_primary(struct clerkfs *fs, const char *user,
			     const char *idn)
{
	struct cache_entry *entry;
	bool primary = false;

	if (objects_user(&fs->objects, user, &entry) == 0) {
		primary = g_strcmp0(json_str(entry->json,
					     "primary_email_address_id"),
				    idn) == 0;
		cache_unref(fs->cache, entry);
	}
	return primary;
}

int create_email_update(struct clerkfs *fs, const char *user,
			const char *idn, const char *text, size_t len,
			char *why)
{
	cJSON *doc = pending_body(text, len, why);
	cJSON *now = current_email(fs, user, idn);
	cJSON *patch = cJSON_CreateObject();
	char *escaped = api_escape(idn);
	struct request r = {
		"PATCH", g_strconcat("/email_addresses/", escaped, NULL),
		"/email_addresses/{email_address_id}", patch, false, NULL,
	};
	int ret = doc ? 0 : -EINVAL;

	if (ret == 0 && !now)
		ret = -ENOENT;
	if (ret == 0)
		ret = email_changes(now, doc, email_is_primary(fs, user, idn),
				    patch, why);
	if (ret == 0 && patch->child)
		ret = send_plain(fs, &r, NULL, why);
	if (ret == 0 && patch->child)
		user_changed(fs, user);
	cJSON_Delete(doc);
	cJSON_Delete(now);
	cJSON_Delete(patch);
	g_free(r.path);
	g_free(escaped);
	return ret;
}

/* ---- deletes ----------------------------------------------------------------- */

static int send_delete(struct clerkfs *fs, const char *collection,
		       const char *id, const char *route, char *why)
{
	char *escaped = api_escape(id);
	struct request r = { "DELETE",
			     g_strdup_printf("/%s/%s", collection, escaped),
			     route, NULL, false, NULL };
	int ret = send_plain(fs, &r, NULL, why);

	g_free(r.path);
	g_free(escaped);
	return ret;
}

int delete_user(struct clerkfs *fs, const char *id, char *why)
{
	int ret = send_delete(fs, "users", id, "/users/{user_id}", why);

	if (ret < 0)
		return ret;
	user_changed(fs, id);
	forget(fs, "sessions/", id);
	cache_drop(fs->cache, "user-orgs");
	cache_drop_prefix(fs->cache, "members/");
	return 0;
}

int delete_org(struct clerkfs *fs, const char *id, char *why)
{
	int ret = send_delete(fs, "organizations", id,
			      "/organizations/{organization_id}", why);

	if (ret < 0)
		return ret;
	forget(fs, "org/", id);
	forget(fs, "members/", id);
	cache_drop(fs->cache, "orgs");
	cache_drop(fs->cache, "user-orgs");
	cache_drop_prefix(fs->cache, "alias/slug/");
	return 0;
}

int delete_member(struct clerkfs *fs, const char *org, const char *user,
		  char *why)
{
	struct request r = {
		"DELETE", members_path(org, user),
		"/organizations/{organization_id}/memberships/{user_id}",
		NULL, false, NULL,
	};
	int ret = send_plain(fs, &r, NULL, why);

	g_free(r.path);
	if (ret == 0)
		memberships_changed(fs, org, user);
	return ret;
}

int delete_email(struct clerkfs *fs, const char *user, const char *idn,
		 char *why)
{
	int ret = send_delete(fs, "email_addresses", idn,
			      "/email_addresses/{email_address_id}", why);

	if (ret == 0)
		user_changed(fs, user);
	return ret;
}

int revoke_session(struct clerkfs *fs, const char *id, char *why)
{
	struct cache_entry *entry;
	const char *status;
	char *escaped, *user;
	struct request r = { "POST", NULL, "/sessions/{session_id}/revoke",
			     NULL, false, NULL };
	cJSON *reply = NULL;
	int ret;

	forget(fs, "session/", id);
	ret = objects_session(&fs->objects, id, &entry);
	if (ret < 0)
		return ret;
	status = json_str(entry->json, "status");
	user = g_strdup(json_str(entry->json, "user_id"));
	ret = g_strcmp0(status, "active") == 0 ||
	      g_strcmp0(status, "pending") == 0 ? 0 : -ENOENT;
	cache_unref(fs->cache, entry);
	if (ret < 0) {
		snprintf(why, SAVE_WHY_MAX, "the session is no longer active");
		g_free(user);
		return ret;
	}
	escaped = api_escape(id);
	r.path = g_strdup_printf("/sessions/%s/revoke", escaped);
	ret = send_plain(fs, &r, &reply, why);
	if (ret == 0) {
		keep(fs, "session/", reply);
		forget(fs, "sessions/", user);
	}
	g_free(r.path);
	g_free(escaped);
	g_free(user);
	return ret;
}
