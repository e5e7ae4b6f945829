/*
 * fs/save.c - saves: parse, compare with what the writer started from,
 * send each change through the endpoint that owns it; see save.h.
 */
#include "fs/save.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/json.h"
#include "api/log.h"
#include "fs/csv.h"
#include "fs/notify.h"

/* Fields of the user and organization PATCH bodies that the objects show. */
static const char *const user_patchable[] = {
	"external_id", "first_name", "last_name", "locale", "username",
	"primary_email_address_id", "primary_phone_number_id",
	"primary_web3_wallet_id", "delete_self_enabled",
	"create_organization_enabled", "create_organizations_limit",
	"created_at", "legal_accepted_at", "bypass_client_trust", NULL,
};

static const char *const org_patchable[] = {
	"name", "slug", "max_allowed_memberships", "admin_delete_enabled",
	"created_at", "role_set_key", NULL,
};

static const char *const user_metadata[] = {
	"public_metadata", "private_metadata", "unsafe_metadata", NULL,
};

static const char *const org_metadata[] = {
	"public_metadata", "private_metadata", NULL,
};

static bool listed(const char *const *names, const char *name)
{
	for (; *names; names++)
		if (strcmp(*names, name) == 0)
			return true;
	return false;
}

bool save_outcome_unknown(int err)
{
	return err == -EIO || err == -ETIMEDOUT || err == -EINTR;
}

bool save_at_write(const struct node *node)
{
	return node->kind == NODE_USER_FILE &&
	       (node->attr == ATTR_BANNED || node->attr == ATTR_LOCKED);
}

/* What one object kind needs for a save. */
struct target {
	const char *collection;	/* "users" or "organizations" */
	const char *route;	/* "/users/{user_id}" */
	const char *key_prefix;	/* "user/" */
	const char *const *patchable;
	const char *const *metadata;
};

static const struct target user_target = {
	"users", "/users/{user_id}", "user/", user_patchable, user_metadata,
};

static const struct target org_target = {
	"organizations", "/organizations/{organization_id}", "org/",
	org_patchable, org_metadata,
};

static const struct target *target_of(const struct node *node)
{
	return node->kind == NODE_ORG_FILE ? &org_target : &user_target;
}

/*
 * A PATCH may have renamed the object (a new username or slug): aliases
 * resolve again, and a name not found before finds it at once.
 */
static void names_changed(struct clerkfs *fs, const struct target *t,
			  const cJSON *reply)
{
	cache_drop_prefix(fs->cache, t == &org_target ? "alias/slug/"
						      : "alias/");
	notify_names(fs, reply);
}

/* Writes why a save's call failed with ret; returns the errno to report. */
static int explain(const struct api_call *call, const char *suffix, int ret,
		   char *why)
{
	if (ret == -EINTR && call->sent) {
		snprintf(why, SAVE_WHY_MAX, "%s %s: interrupted after it was "
			 "sent: the change may have been applied, and the next "
			 "read shows what the API holds", call->method,
			 call->route);
	} else if (ret == -EACCES && strcmp(suffix, "/lock") == 0) {
		/* The lock endpoint answers 403 when lockout is disabled. */
		snprintf(why, SAVE_WHY_MAX, "%s %s: user lockout is not "
			 "enabled on this instance (%s)", call->method,
			 call->route, call->error);
		ret = -EOPNOTSUPP;
	} else if (ret < 0) {
		snprintf(why, SAVE_WHY_MAX, "%s %s: %s", call->method,
			 call->route, call->error);
	}
	return ret;
}

/*
 * Sends one call for a save; on success keeps the reply in the cache, and
 * forgets the object when the call may have been applied all the same.
 */
static int send(struct clerkfs *fs, const struct target *t, const char *id,
		const char *method, const char *suffix, const cJSON *body,
		char *why)
{
	char *escaped = api_escape(id);
	char *path = g_strdup_printf("/%s/%s%s", t->collection, escaped,
				     suffix);
	char *route = g_strconcat(t->route, suffix, NULL);
	char *key = g_strconcat(t->key_prefix, id, NULL);
	struct api_call call = {
		.method = method, .path = path, .route = route, .body = body,
		.deadline = api_deadline(fs->api), .reported = true,
	};
	int ret = api_call(fs->api, &call);

	if (ret == 0 && json_str(call.reply, "id")) {
		if (strcmp(method, "PATCH") == 0)
			names_changed(fs, t, call.reply);
		cache_put(fs->cache, key, call.reply, 0, true);
	} else {
		cJSON_Delete(call.reply);
	}
	if (ret == -EINTR && call.sent)
		cache_unsettle(fs->cache, key, call.deadline);
	else if (save_outcome_unknown(ret))
		cache_drop(fs->cache, key);
	ret = explain(&call, suffix, ret, why);
	g_free(key);
	g_free(route);
	g_free(path);
	g_free(escaped);
	return ret;
}

static cJSON *parse_document(const char *text, size_t len, char *why)
{
	struct json_error err;
	cJSON *doc = json_parse(text, len, &err);

	if (!doc)
		snprintf(why, SAVE_WHY_MAX, "not valid JSON: line %d, column "
			 "%d: %s", err.line, err.column, err.message);
	return doc;
}

/* The current object behind node, as a referenced cache entry. */
static int current_object(struct clerkfs *fs, const struct node *node,
			  struct cache_entry **entry)
{
	if (node->kind == NODE_ORG_FILE)
		return objects_org(&fs->objects, node->id, entry);
	return objects_user(&fs->objects, node->id, entry);
}

static const char *metadata_field(enum attr attr)
{
	switch (attr) {
	case ATTR_PUBLIC:
		return "public_metadata";
	case ATTR_PRIVATE:
		return "private_metadata";
	default:
		return "unsafe_metadata";
	}
}

/* A metadata value as stored: null counts as {}. */
static bool metadata_equal(const cJSON *a, const cJSON *b)
{
	cJSON *empty = cJSON_CreateObject();
	bool equal = json_equal(a && !cJSON_IsNull(a) ? a : empty,
				b && !cJSON_IsNull(b) ? b : empty);

	cJSON_Delete(empty);
	return equal;
}

/* public_metadata.json and its kin: the file is the whole value. */
static int save_metadata(struct clerkfs *fs, const struct node *node,
			 cJSON *doc, char *why)
{
	const char *field = metadata_field(node->attr);
	struct cache_entry *now;
	cJSON *body;
	bool same;
	int ret;

	if (!cJSON_IsObject(doc)) {
		snprintf(why, SAVE_WHY_MAX, "%s must be a JSON object; write "
			 "{} to clear it", field);
		return -EINVAL;
	}
	json_strip_nulls(doc);
	ret = current_object(fs, node, &now);
	if (ret < 0) {
		snprintf(why, SAVE_WHY_MAX, "cannot read the current object");
		return ret;
	}
	same = metadata_equal(doc, cJSON_GetObjectItemCaseSensitive(
					   now->json, field));
	cache_unref(fs->cache, now);
	if (same)
		return 0;

	body = cJSON_CreateObject();
	cJSON_AddItemReferenceToObject(body, field, doc);
	ret = send(fs, target_of(node), node->id, "PUT", "/metadata", body,
		   why);
	cJSON_Delete(body);
	return ret;
}

/* The changes of a whole-object save, sorted by the endpoint they need. */
struct changes {
	cJSON *patch;		/* fields for PATCH */
	cJSON *metadata;	/* fields for PUT .../metadata */
	int banned, locked;	/* -1 unchanged, else the new value */
};

/* Fields the objects show in Unix ms and the PATCH takes in RFC 3339. */
static const char *const time_fields[] = {
	"created_at", "legal_accepted_at", NULL,
};

/* Whether value is a whole number, and which: *ms. */
static bool whole_number(const cJSON *value, long long *ms)
{
	char *end;

	if (cJSON_IsNumber(value)) {
		*ms = (long long)value->valuedouble;
		return (double)*ms == value->valuedouble;
	}
	if (!cJSON_IsRaw(value) || !value->valuestring)
		return false;
	errno = 0;
	*ms = strtoll(value->valuestring, &end, 10);
	return errno == 0 && end != value->valuestring && *end == '\0';
}

/*
 * A field's value as the PATCH takes it (a new tree, the caller's): a
 * time written as the file shows it, in Unix ms, becomes RFC 3339.
 */
static cJSON *patch_value(const char *key, const cJSON *value)
{
	char stamp[32];
	long long ms;

	if (!listed(time_fields, key) || !whole_number(value, &ms))
		return cJSON_Duplicate(value, true);
	csv_format_time(stamp, ms);
	if (!stamp[0])
		return cJSON_Duplicate(value, true);
	return cJSON_CreateString(stamp);
}

static int classify(const struct target *t, const char *key,
		    const cJSON *value, struct changes *c, char *why)
{
	if (listed(t->patchable, key)) {
		cJSON_AddItemToObject(c->patch, key, patch_value(key, value));
		return 0;
	}
	if (listed(t->metadata, key)) {
		cJSON *copy = cJSON_IsNull(value) ? cJSON_CreateObject()
						   : cJSON_Duplicate(value,
								     true);

		if (!cJSON_IsObject(copy)) {
			cJSON_Delete(copy);
			snprintf(why, SAVE_WHY_MAX, "%s must be a JSON object",
				 key);
			return -EINVAL;
		}
		json_strip_nulls(copy);
		cJSON_AddItemToObject(c->metadata, key, copy);
		return 0;
	}
	if (t == &user_target && (strcmp(key, "banned") == 0 ||
				  strcmp(key, "locked") == 0)) {
		if (!cJSON_IsBool(value)) {
			snprintf(why, SAVE_WHY_MAX, "%s must be true or false",
				 key);
			return -EINVAL;
		}
		*(key[0] == 'b' ? &c->banned : &c->locked) =
			cJSON_IsTrue(value);
		return 0;
	}
	snprintf(why, SAVE_WHY_MAX, "field '%s' cannot be changed: the Backend "
		 "API has no way to write it; nothing was sent", key);
	return -EPERM;
}

/* Collects the fields of doc that differ from base. */
static int diff(const struct target *t, const cJSON *base, const cJSON *doc,
		struct changes *c, char *why)
{
	const cJSON *field;
	cJSON *null = cJSON_CreateNull();
	int ret = 0;

	cJSON_ArrayForEach(field, doc) {
		const cJSON *old = cJSON_GetObjectItemCaseSensitive(
			base, field->string);

		if (old && json_equal(old, field))
			continue;
		if (old && listed(t->metadata, field->string) &&
		    metadata_equal(old, field))
			continue;
		ret = classify(t, field->string, field, c, why);
		if (ret < 0)
			break;
	}
	/* A field taken out of the document is set to null. */
	cJSON_ArrayForEach(field, base) {
		if (ret < 0)
			break;
		if (!cJSON_GetObjectItemCaseSensitive(doc, field->string) &&
		    !cJSON_IsNull(field))
			ret = classify(t, field->string, null, c, why);
	}
	cJSON_Delete(null);
	return ret;
}

static void changes_free(struct changes *c)
{
	cJSON_Delete(c->patch);
	cJSON_Delete(c->metadata);
}

/* The calls of a whole-object save, in the order they are sent. */
enum part { PART_FIELDS, PART_METADATA, PART_BAN, PART_LOCK, PARTS };

/* What became of each part of a several-call save. */
enum outcome { NOT_NEEDED, NOT_SENT, APPLIED, FAILED };

/* Appends the names of the fields that part changes, comma-separated. */
static void name_part(GString *out, const struct changes *c, enum part p)
{
	const cJSON *fields = p == PART_FIELDS ? c->patch : c->metadata;
	const cJSON *field;

	if (p == PART_BAN || p == PART_LOCK) {
		g_string_append_printf(out, "%s%s", out->len ? ", " : "",
				       p == PART_BAN ? "banned" : "locked");
		return;
	}
	cJSON_ArrayForEach(field, fields)
		g_string_append_printf(out, "%s%s", out->len ? ", " : "",
				       field->string);
}

/* Appends "; label: field, field" for the parts that had outcome o. */
static void note_outcome(char *why, const struct changes *c,
			 const enum outcome done[PARTS], enum outcome o,
			 const char *label)
{
	GString *names = g_string_new(NULL);
	size_t len = strlen(why);

	for (int p = 0; p < PARTS; p++)
		if (done[p] == o)
			name_part(names, c, (enum part)p);
	if (names->len || o == APPLIED)
		snprintf(why + len, SAVE_WHY_MAX - len, "; %s: %s", label,
			 names->len ? names->str : "nothing");
	g_string_free(names, TRUE);
}

/*
 * Sends one part unless an earlier one failed; records its outcome.
 * A part that failed may still have been applied (a 5xx, a dropped
 * connection), so it is reported as failed, not as unchanged.
 */
static int send_part(struct clerkfs *fs, const struct node *node,
		     const char *method, const char *suffix, const cJSON *body,
		     enum outcome *done, int ret, char *why)
{
	if (*done == NOT_NEEDED || ret < 0)
		return ret;
	ret = send(fs, target_of(node), node->id, method, suffix, body, why);
	*done = ret == 0 ? APPLIED : FAILED;
	return ret;
}

/*
 * Sends the changes in order, stopping at the first failure; when a save
 * of several calls fails, why names the fields applied, failed and not
 * sent, so a person knows what the object now holds.
 */
static int apply(struct clerkfs *fs, const struct node *node,
		 struct changes *c, char *why)
{
	enum outcome done[PARTS] = {
		c->patch->child ? NOT_SENT : NOT_NEEDED,
		c->metadata->child ? NOT_SENT : NOT_NEEDED,
		c->banned >= 0 ? NOT_SENT : NOT_NEEDED,
		c->locked >= 0 ? NOT_SENT : NOT_NEEDED,
	};
	int steps = 0, ret = 0;

	for (int p = 0; p < PARTS; p++)
		steps += done[p] != NOT_NEEDED;
	ret = send_part(fs, node, "PATCH", "", c->patch, &done[PART_FIELDS],
			ret, why);
	ret = send_part(fs, node, "PUT", "/metadata", c->metadata,
			&done[PART_METADATA], ret, why);
	ret = send_part(fs, node, "POST", c->banned > 0 ? "/ban" : "/unban",
			NULL, &done[PART_BAN], ret, why);
	ret = send_part(fs, node, "POST", c->locked > 0 ? "/lock" : "/unlock",
			NULL, &done[PART_LOCK], ret, why);
	if (ret < 0 && steps > 1) {
		note_outcome(why, c, done, APPLIED, "applied");
		note_outcome(why, c, done, FAILED, "failed");
		note_outcome(why, c, done, NOT_SENT, "not sent");
	}
	return ret;
}

/* profile.json and organization.json: send what the writer changed. */
static int save_object(struct clerkfs *fs, const struct node *node,
		       cJSON *doc, const cJSON *base, char *why)
{
	struct changes c = { cJSON_CreateObject(), cJSON_CreateObject(), -1,
			     -1 };
	struct cache_entry *now = NULL;
	int ret;

	if (!cJSON_IsObject(doc)) {
		snprintf(why, SAVE_WHY_MAX, "the document must be a JSON "
			 "object");
		changes_free(&c);
		return -EINVAL;
	}
	if (!base) {
		ret = current_object(fs, node, &now);
		if (ret < 0) {
			snprintf(why, SAVE_WHY_MAX, "cannot read the object");
			changes_free(&c);
			return ret;
		}
		base = now->json;
	}
	ret = diff(target_of(node), base, doc, &c, why);
	cache_unref(fs->cache, now);
	if (ret == 0)
		ret = apply(fs, node, &c, why);
	changes_free(&c);
	return ret;
}

int save_json(struct clerkfs *fs, const struct node *node, const char *text,
	      size_t len, const cJSON *base, char *why)
{
	cJSON *doc = parse_document(text, len, why);
	int ret;

	if (!doc)
		return -EINVAL;
	if (node->attr == ATTR_PROFILE || node->attr == ATTR_ORGANIZATION)
		ret = save_object(fs, node, doc, base, why);
	else
		ret = save_metadata(fs, node, doc, why);
	cJSON_Delete(doc);
	return ret;
}

/* "true" or "false", with trailing white space; -1 for anything else. */
static int parse_flag(const char *text, size_t len)
{
	while (len > 0 && g_ascii_isspace(text[len - 1]))
		len--;
	if (len == 4 && memcmp(text, "true", 4) == 0)
		return 1;
	if (len == 5 && memcmp(text, "false", 5) == 0)
		return 0;
	return -1;
}

int save_value(struct clerkfs *fs, const struct node *node, const char *text,
	       size_t len, char *why)
{
	const char *field = node->attr == ATTR_BANNED ? "banned" : "locked";
	int flag = parse_flag(text, len);
	struct cache_entry *user;
	const char *action;
	int ret;

	if (flag < 0) {
		snprintf(why, SAVE_WHY_MAX, "%s takes 'true' or 'false'",
			 field);
		return -EINVAL;
	}
	ret = objects_user(&fs->objects, node->id, &user);
	if (ret < 0) {
		snprintf(why, SAVE_WHY_MAX, "cannot read the user");
		return ret;
	}
	if (json_bool(user->json, field, false) == (flag == 1)) {
		cache_unref(fs->cache, user);
		return 0;
	}
	cache_unref(fs->cache, user);
	if (node->attr == ATTR_BANNED)
		action = flag ? "/ban" : "/unban";
	else
		action = flag ? "/lock" : "/unlock";
	return send(fs, &user_target, node->id, "POST", action, NULL, why);
}
