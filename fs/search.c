/*
 * fs/search.c - search directories: every Find of the Backend API as
 * generated files (DESIGN.md, "Search directories").
 *
 * A query directory's name is a URL query string of its resource's list
 * filters.  It is checked at lookup and never fetched by readdir.  The
 * first stat or open of results.csv, results.json or results.ndjson takes a
 * snapshot: a job of the search's thread pool pages through the listing
 * and, page by page in order, appends each match to three spools (CSV,
 * JSON array, JSON lines) that every file of the directory reads.  A spool
 * stays in memory while small and moves to an unlinked temporary file
 * beyond that.  Readers of results.ndjson wait on a condition for more
 * bytes, so they see page one while later pages are still on their way.
 * A snapshot is kept for the cache TTL once complete.
 *
 * count and first.json use the snapshot when there is one, and otherwise
 * one cheap request (GET /users/count, total_count, limit=1), kept as long.
 *
 * Locks, outermost first: the state's lock (the table of queries), a
 * query's lock, a snapshot's lock.  No lock is held during a request but a
 * query's cheap_lock, which only makes concurrent count and first.json
 * readers share one request.
 */
#include "fs/search.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "api/json.h"
#include "api/log.h"
#include "fs/csv.h"

#define DIR_SIZE 4096
#define MAX_VALUES 100		/* values of one array filter */
#define SPOOL_MEMORY_MAX (64 * 1024)
#define SWEEP_EVERY 64		/* new queries between two sweeps */
#define UTF8_BOM "\xEF\xBB\xBF"

/* ---- resources and their filters -------------------------------------- */

enum param_kind {
	PARAM_LIST,	/* repeatable, exact; ids may carry + or - */
	PARAM_TEXT,	/* one string */
	PARAM_BOOL,	/* true or false */
	PARAM_TIME,	/* Unix milliseconds */
	PARAM_ORDER,	/* a field, optionally after + or - */
	PARAM_CHOICE,	/* one of a fixed set */
	PARAM_PAGING,	/* limit, offset...: clerkfs pages, so refused */
};

struct param {
	const char *name;
	enum param_kind kind;
	const char *const *choices;	/* PARAM_ORDER, PARAM_CHOICE */
};

static const char *const user_orders[] = {
	"created_at", "updated_at", "email_address", "web3wallet",
	"first_name", "last_name", "phone_number", "username",
	"last_active_at", "last_sign_in_at", NULL,
};

static const char *const org_orders[] = {
	"name", "created_at", "members_count", NULL,
};

static const char *const session_statuses[] = {
	"abandoned", "active", "ended", "expired", "removed", "replaced",
	"revoked", NULL,
};

static const struct param user_params[] = {
	{ "email_address", PARAM_LIST, NULL },
	{ "phone_number", PARAM_LIST, NULL },
	{ "external_id", PARAM_LIST, NULL },
	{ "username", PARAM_LIST, NULL },
	{ "web3_wallet", PARAM_LIST, NULL },
	{ "user_id", PARAM_LIST, NULL },
	{ "organization_id", PARAM_LIST, NULL },
	{ "provider_user_id", PARAM_LIST, NULL },
	{ "query", PARAM_TEXT, NULL },
	{ "email_address_query", PARAM_TEXT, NULL },
	{ "phone_number_query", PARAM_TEXT, NULL },
	{ "username_query", PARAM_TEXT, NULL },
	{ "name_query", PARAM_TEXT, NULL },
	{ "provider", PARAM_TEXT, NULL },
	{ "banned", PARAM_BOOL, NULL },
	{ "created_at_before", PARAM_TIME, NULL },
	{ "created_at_after", PARAM_TIME, NULL },
	{ "last_active_at_before", PARAM_TIME, NULL },
	{ "last_active_at_after", PARAM_TIME, NULL },
	{ "last_active_at_since", PARAM_TIME, NULL },
	{ "last_sign_in_at_before", PARAM_TIME, NULL },
	{ "last_sign_in_at_after", PARAM_TIME, NULL },
	{ "order_by", PARAM_ORDER, user_orders },
	{ "limit", PARAM_PAGING, NULL },
	{ "offset", PARAM_PAGING, NULL },
	{ "starting_after", PARAM_PAGING, NULL },
	{ NULL, 0, NULL },
};

static const struct param org_params[] = {
	{ "query", PARAM_TEXT, NULL },
	{ "user_id", PARAM_LIST, NULL },
	{ "organization_id", PARAM_LIST, NULL },
	{ "include_members_count", PARAM_BOOL, NULL },
	{ "include_missing_member_with_elevated_permissions", PARAM_BOOL,
	  NULL },
	{ "order_by", PARAM_ORDER, org_orders },
	{ "limit", PARAM_PAGING, NULL },
	{ "offset", PARAM_PAGING, NULL },
	{ NULL, 0, NULL },
};

static const struct param session_params[] = {
	{ "user_id", PARAM_TEXT, NULL },
	{ "client_id", PARAM_TEXT, NULL },
	{ "status", PARAM_CHOICE, session_statuses },
	{ "limit", PARAM_PAGING, NULL },
	{ "offset", PARAM_PAGING, NULL },
	{ "paginated", PARAM_PAGING, NULL },
	{ NULL, 0, NULL },
};

/* Where count comes from when there is no snapshot. */
enum count_source {
	COUNT_ENDPOINT,		/* GET /users/count with the filters */
	COUNT_TOTAL,		/* total_count of a limit=1 listing */
	COUNT_SNAPSHOT,		/* only by listing everything */
};

enum res_index { RES_USERS, RES_ORGS, RES_SESSIONS, RES_COUNT };

struct resource {
	enum res_index index;
	const char *name;	/* the directory's name, the nodes' id */
	const char *path;	/* the listing */
	const char *count_path;	/* COUNT_ENDPOINT's path */
	enum count_source count;
	enum csv_resource csv;
	const struct param *params;
	bool plain;		/* "no filter" results in its directory */
};

static const struct resource resources[RES_COUNT] = {
	{ RES_USERS, "users", "/users", "/users/count", COUNT_ENDPOINT,
	  CSV_USERS, user_params, true },
	{ RES_ORGS, "orgs", "/organizations", NULL, COUNT_TOTAL,
	  CSV_ORGS, org_params, true },
	{ RES_SESSIONS, "sessions", "/sessions", NULL, COUNT_SNAPSHOT,
	  CSV_SESSIONS, session_params, false },
};

static const struct resource *resource_of(const char *name)
{
	for (int i = 0; i < RES_COUNT; i++)
		if (name && strcmp(resources[i].name, name) == 0)
			return &resources[i];
	return NULL;
}

/* The files of a query directory. */
enum output { OUT_CSV, OUT_JSON, OUT_NDJSON, OUT_COUNT };

static const struct {
	const char *name;
	enum attr attr;
} result_files[] = {
	{ "results.csv", ATTR_RESULTS_CSV },
	{ "results.json", ATTR_RESULTS_JSON },
	{ "results.ndjson", ATTR_RESULTS_NDJSON },
	{ "first.json", ATTR_FIRST },
	{ "count", ATTR_COUNT },
};

#define RESULT_FILES (sizeof(result_files) / sizeof(result_files[0]))

static enum attr result_attr(const char *name)
{
	for (size_t i = 0; i < RESULT_FILES; i++)
		if (strcmp(result_files[i].name, name) == 0)
			return result_files[i].attr;
	return ATTR_NONE;
}

/* ---- query names ------------------------------------------------------ */

/* A parsed query directory name, as the API wants it. */
struct filter {
	GString *query;		/* the filters, percent-encoded */
	GString *count_query;	/* the same without order_by */
	bool ordered;		/* has order_by */
};

static void filter_clear(struct filter *f)
{
	if (f->query)
		g_string_free(f->query, TRUE);
	if (f->count_query)
		g_string_free(f->count_query, TRUE);
	memset(f, 0, sizeof(*f));
}

/*
 * Decodes %XX escapes in text[0..len) ('+' stays '+').  Returns a new
 * string, or NULL when an escape is malformed, decodes to NUL, or the
 * result is not UTF-8.
 */
static char *percent_decode(const char *text, size_t len)
{
	GString *s = g_string_sized_new(len);

	for (size_t i = 0; i < len; i++) {
		int hi, lo;

		if (text[i] != '%') {
			g_string_append_c(s, text[i]);
			continue;
		}
		hi = i + 1 < len ? g_ascii_xdigit_value(text[i + 1]) : -1;
		lo = i + 2 < len ? g_ascii_xdigit_value(text[i + 2]) : -1;
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
			g_string_free(s, TRUE);
			return NULL;
		}
		g_string_append_c(s, (char)(hi * 16 + lo));
		i += 2;
	}
	if (!g_utf8_validate(s->str, (gssize)s->len, NULL)) {
		g_string_free(s, TRUE);
		return NULL;
	}
	return g_string_free(s, FALSE);
}

static const struct param *find_param(const struct resource *res,
				      const char *key)
{
	for (const struct param *p = res->params; p->name; p++)
		if (strcmp(p->name, key) == 0)
			return p;
	return NULL;
}

static bool in_list(const char *const *list, const char *value)
{
	for (; list && *list; list++)
		if (strcmp(*list, value) == 0)
			return true;
	return false;
}

/* Unix milliseconds: an optional '-' and up to 18 digits. */
static bool is_time(const char *value)
{
	size_t n;

	if (*value == '-')
		value++;
	n = strspn(value, "0123456789");
	return n > 0 && n <= 18 && value[n] == '\0';
}

/* The names a resource takes, for a reason a person reads. */
static char *param_names(const struct resource *res)
{
	GString *s = g_string_new(NULL);

	for (const struct param *p = res->params; p->name; p++) {
		if (p->kind == PARAM_PAGING)
			continue;
		g_string_append_printf(s, "%s%s", s->len ? ", " : "", p->name);
	}
	return g_string_free(s, FALSE);
}

/* Whether value suits param; else a reason in *reason. */
static bool check_value(const struct resource *res, const struct param *p,
			const char *value, char **reason)
{
	const char *field = value;

	if (p->kind == PARAM_PAGING) {
		*reason = g_strdup_printf("'%s' is not a filter: results hold "
					  "every match, all pages", p->name);
		return false;
	}
	if (*value == '\0') {
		*reason = g_strdup_printf("'%s' has no value", p->name);
		return false;
	}
	switch (p->kind) {
	case PARAM_BOOL:
		if (strcmp(value, "true") == 0 || strcmp(value, "false") == 0)
			return true;
		*reason = g_strdup_printf("'%s' must be true or false",
					  p->name);
		return false;
	case PARAM_TIME:
		if (is_time(value))
			return true;
		*reason = g_strdup_printf("'%s' must be a time in Unix "
					  "milliseconds", p->name);
		return false;
	case PARAM_ORDER:
		if (*field == '+' || *field == '-')
			field++;
		if (in_list(p->choices, field))
			return true;
		/* fall through */
	case PARAM_CHOICE:
		if (p->kind == PARAM_CHOICE && in_list(p->choices, value))
			return true;
		*reason = g_strdup_printf("'%s' cannot be '%s' in search/%s",
					  p->name, value, res->name);
		return false;
	default:
		return true;
	}
}

/* Counts a key's occurrences; false when it repeats more than allowed. */
static bool count_key(GHashTable *seen, const struct param *p,
		      char **reason)
{
	guint n = GPOINTER_TO_UINT(g_hash_table_lookup(seen, p->name)) + 1;

	g_hash_table_insert(seen, (gpointer)p->name, GUINT_TO_POINTER(n));
	if (p->kind != PARAM_LIST && n > 1) {
		*reason = g_strdup_printf("'%s' is given more than once",
					  p->name);
		return false;
	}
	if (n > MAX_VALUES) {
		*reason = g_strdup_printf("'%s' takes at most %d values",
					  p->name, MAX_VALUES);
		return false;
	}
	return true;
}

/* One key=value of a name, added to f; false with a reason if wrong. */
static bool parse_pair(const struct resource *res, const char *pair,
		       GHashTable *seen, struct filter *f, char **reason)
{
	const char *eq = strchr(pair, '=');
	const struct param *p;
	char *key, *value = NULL;
	bool ok = false;

	if (!*pair) {
		*reason = g_strdup("an empty parameter ('&&', or '&' at an "
				   "end)");
		return false;
	}
	if (!eq) {
		*reason = g_strdup_printf("'%s' is not key=value", pair);
		return false;
	}
	key = percent_decode(pair, (size_t)(eq - pair));
	if (key)
		value = percent_decode(eq + 1, strlen(eq + 1));
	if (!key || !value) {
		*reason = g_strdup_printf("'%s' holds a malformed %%-escape",
					  pair);
		goto out;
	}
	p = find_param(res, key);
	if (!p) {
		char *names = param_names(res);

		*reason = g_strdup_printf("unknown parameter '%s'; search/%s "
					  "takes %s", key, res->name, names);
		g_free(names);
		goto out;
	}
	if (!check_value(res, p, value, reason) || !count_key(seen, p, reason))
		goto out;
	api_query_add(f->query, key, value);
	if (p->kind == PARAM_ORDER)
		f->ordered = true;
	else
		api_query_add(f->count_query, key, value);
	ok = true;
out:
	g_free(key);
	g_free(value);
	return ok;
}

/* Rules between parameters, once every pair is read. */
static bool check_together(const struct resource *res, GHashTable *seen,
			   char **reason)
{
	bool provider = g_hash_table_contains(seen, "provider");
	bool provider_ids = g_hash_table_contains(seen, "provider_user_id");

	if (res->index == RES_SESSIONS &&
	    !g_hash_table_contains(seen, "user_id") &&
	    !g_hash_table_contains(seen, "client_id")) {
		*reason = g_strdup("search/sessions needs user_id or "
				   "client_id");
		return false;
	}
	if (res->index == RES_USERS && provider != provider_ids) {
		*reason = g_strdup("provider and provider_user_id go "
				   "together");
		return false;
	}
	return true;
}

/*
 * Parses a query directory's name into f (cleared by filter_clear, also
 * after a failure); "" is no filter, for the files of search/<resource>/.
 * Returns 0, or -ENOENT with *reason set (the caller frees it).
 */
static int parse_name(const struct resource *res, const char *name,
		      struct filter *f, char **reason)
{
	GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);
	char **pairs = g_strsplit(name, "&", -1);
	bool ok = true;

	f->query = g_string_new(NULL);
	f->count_query = g_string_new(NULL);
	f->ordered = false;
	for (char **pair = pairs; ok && *name && *pair; pair++)
		ok = parse_pair(res, *pair, seen, f, reason);
	if (ok)
		ok = check_together(res, seen, reason);
	g_strfreev(pairs);
	g_hash_table_destroy(seen);
	return ok ? 0 : -ENOENT;
}

/* ---- spools ----------------------------------------------------------- */

/*
 * Bytes that only grow: in memory up to SPOOL_MEMORY_MAX, then in an
 * unlinked temporary file under $TMPDIR.  Its owner serializes access.
 */
struct spool {
	GString *memory;	/* NULL once in a file */
	int fd;			/* -1 while in memory */
	size_t len;
};

static void spool_init(struct spool *s)
{
	s->memory = g_string_new(NULL);
	s->fd = -1;
	s->len = 0;
}

static void spool_release(struct spool *s)
{
	if (s->memory)
		g_string_free(s->memory, TRUE);
	if (s->fd >= 0)
		close(s->fd);
	s->memory = NULL;
	s->fd = -1;
}

/* A new, already unlinked file in $TMPDIR (or /tmp); -errno on failure. */
static int temp_file(void)
{
	const char *dir = g_get_tmp_dir();
	char *name;
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd >= 0)
		return fd;
	name = g_build_filename(dir, "clerkfs-search-XXXXXX", NULL);
	fd = g_mkstemp_full(name, O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		unlink(name);
	else
		log_error("search: cannot create a temporary file in '%s': %s",
			  dir, strerror(errno));
	g_free(name);
	return fd >= 0 ? fd : -EIO;
}

static int write_at(int fd, const char *data, size_t len, off_t off)
{
	while (len > 0) {
		ssize_t n = pwrite(fd, data, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_error("search: cannot write a spool file: %s",
				  strerror(errno));
			return errno == ENOSPC ? -ENOSPC : -EIO;
		}
		data += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

static int spool_append(struct spool *s, const char *data, size_t len)
{
	int ret;

	if (s->fd < 0 && s->len + len <= SPOOL_MEMORY_MAX) {
		g_string_append_len(s->memory, data, (gssize)len);
		s->len += len;
		return 0;
	}
	if (s->fd < 0) {
		int fd = temp_file();

		if (fd < 0)
			return fd;
		ret = write_at(fd, s->memory->str, s->memory->len, 0);
		if (ret < 0) {
			close(fd);
			return ret;
		}
		g_string_free(s->memory, TRUE);
		s->memory = NULL;
		s->fd = fd;
	}
	ret = write_at(s->fd, data, len, (off_t)s->len);
	if (ret == 0)
		s->len += len;
	return ret;
}

static ssize_t read_at(int fd, char *buf, size_t size, off_t off)
{
	size_t done = 0;

	while (done < size) {
		ssize_t n = pread(fd, buf + done, size - done,
				  off + (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -EIO;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

/* ---- snapshots -------------------------------------------------------- */

/*
 * Every match of one query, taken once and shared by the files of its
 * directory and by every open of them.  Reference counted: the query, the
 * fetching job and each open file hold one.
 */
struct snapshot {
	gint refs;
	struct clerkfs *fs;
	const struct resource *res;
	char *query;		/* the filters, percent-encoded */
	bool use_count;		/* page in parallel after a count */

	GMutex lock;		/* the fields down to the writer's part */
	GCond grew;		/* more bytes, or done */
	struct spool out[OUT_COUNT];
	GString *first;		/* first.json's bytes, from a match */
	guint items;
	bool done;
	int err;
	long long mtime_ms;	/* when the search began, Unix ms */
	double expires;		/* limiter_now() when it goes stale */

	GMutex order_lock;	/* the writer's: pages appended in order */
	GHashTable *pending;	/* page number -> cJSON array */
	int next_page;
	GHashTable *seen;	/* ids written (pages may repeat one) */
	guint written;
};

static long long now_ms(void)
{
	return g_get_real_time() / 1000;
}

static struct snapshot *snapshot_ref(struct snapshot *snap)
{
	g_atomic_int_inc(&snap->refs);
	return snap;
}

static void free_pending(gpointer items)
{
	cJSON_Delete(items);
}

static void snapshot_unref(struct snapshot *snap)
{
	if (!snap || !g_atomic_int_dec_and_test(&snap->refs))
		return;
	for (int i = 0; i < OUT_COUNT; i++)
		spool_release(&snap->out[i]);
	if (snap->first)
		g_string_free(snap->first, TRUE);
	g_hash_table_destroy(snap->pending);
	g_hash_table_destroy(snap->seen);
	g_mutex_clear(&snap->lock);
	g_cond_clear(&snap->grew);
	g_mutex_clear(&snap->order_lock);
	g_free(snap->query);
	g_free(snap);
}

static struct snapshot *snapshot_new(struct clerkfs *fs,
				     const struct resource *res,
				     const struct filter *f)
{
	struct snapshot *snap = g_new0(struct snapshot, 1);
	GString *header = g_string_new(fs->opts.csv_bom ? UTF8_BOM : "");

	snap->refs = 1;
	snap->fs = fs;
	snap->res = res;
	snap->query = g_strdup(f->query->str);
	snap->use_count = res->count == COUNT_ENDPOINT && !f->ordered;
	g_mutex_init(&snap->lock);
	g_cond_init(&snap->grew);
	g_mutex_init(&snap->order_lock);
	for (int i = 0; i < OUT_COUNT; i++)
		spool_init(&snap->out[i]);
	snap->pending = g_hash_table_new_full(g_direct_hash, g_direct_equal,
					      NULL, free_pending);
	snap->seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					   NULL);
	snap->mtime_ms = now_ms();

	csv_header(header, res->csv);
	spool_append(&snap->out[OUT_CSV], header->str, header->len);
	g_string_free(header, TRUE);
	return snap;
}

/* Whether the snapshot may still serve: running, or complete and fresh. */
static bool snapshot_fresh(struct snapshot *snap)
{
	bool fresh;

	g_mutex_lock(&snap->lock);
	fresh = !snap->done || (snap->err == 0 &&
				limiter_now() < snap->expires);
	g_mutex_unlock(&snap->lock);
	return fresh;
}

/* Waits until the snapshot is complete; returns its error or 0. */
static int snapshot_wait(struct snapshot *snap)
{
	int err;

	g_mutex_lock(&snap->lock);
	while (!snap->done)
		g_cond_wait(&snap->grew, &snap->lock);
	err = snap->err;
	g_mutex_unlock(&snap->lock);
	return err;
}

static double snapshot_ttl(struct snapshot *snap)
{
	double left;

	g_mutex_lock(&snap->lock);
	left = snap->done ? snap->expires - limiter_now() : 0;
	g_mutex_unlock(&snap->lock);
	return left > 0 ? left : 0;
}

/*
 * Appends text (as json_render gives it, newline-terminated) to out with
 * every line indented by two spaces, without the final newline.
 */
static void append_indented(GString *out, const char *text, size_t len)
{
	const char *p = text, *end = text + len;

	if (len > 0 && end[-1] == '\n')
		end--;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		g_string_append(out, "  ");
		g_string_append_len(out, p, (gssize)n);
		if (!nl)
			break;
		g_string_append_c(out, '\n');
		p = nl + 1;
	}
}

/* One page's worth of output, made before it is appended. */
struct rendered {
	GString *out[OUT_COUNT];
	GString *first;
	guint items;
};

static void render_item(struct snapshot *snap, const cJSON *item,
			struct rendered *r)
{
	size_t len;
	char *text = json_render(item, &len);
	char *line = json_render_compact(item);

	if (!text || !line)
		g_error("search: out of memory rendering JSON");
	g_string_append(r->out[OUT_JSON], snap->written ? ",\n" : "[\n");
	append_indented(r->out[OUT_JSON], text, len);
	if (snap->written == 0)
		r->first = g_string_new_len(text, (gssize)len);
	g_string_append(r->out[OUT_NDJSON], line);
	g_string_append_c(r->out[OUT_NDJSON], '\n');
	csv_row(r->out[OUT_CSV], snap->res->csv, item);
	snap->written++;
	r->items++;
	free(text);
	free(line);
}

/* Appends what a page rendered and wakes the readers; order_lock held. */
static void publish(struct snapshot *snap, struct rendered *r)
{
	g_mutex_lock(&snap->lock);
	for (int i = 0; i < OUT_COUNT && snap->err == 0; i++)
		snap->err = spool_append(&snap->out[i], r->out[i]->str,
					 r->out[i]->len);
	snap->items += r->items;
	if (r->first && !snap->first) {
		snap->first = r->first;
		r->first = NULL;
	}
	g_cond_broadcast(&snap->grew);
	g_mutex_unlock(&snap->lock);
}

/* Writes one page's matches, skipping ids already written. */
static void write_page(struct snapshot *snap, const cJSON *items)
{
	struct rendered r = { 0 };
	const cJSON *item;

	for (int i = 0; i < OUT_COUNT; i++)
		r.out[i] = g_string_new(NULL);
	cJSON_ArrayForEach(item, items) {
		const char *id = json_str(item, "id");

		if (id && !g_hash_table_add(snap->seen, g_strdup(id)))
			continue;
		render_item(snap, item, &r);
	}
	publish(snap, &r);
	for (int i = 0; i < OUT_COUNT; i++)
		g_string_free(r.out[i], TRUE);
	if (r.first)
		g_string_free(r.first, TRUE);
}

/*
 * objects_list's page callback, from the job or a pager thread, in any
 * order: a page waits in pending until the pages before it are written.
 */
static void on_page(void *ctx, int page, cJSON *items)
{
	struct snapshot *snap = ctx;
	cJSON *next;

	g_mutex_lock(&snap->order_lock);
	g_hash_table_insert(snap->pending, GINT_TO_POINTER(page), items);
	while ((next = g_hash_table_lookup(snap->pending,
					   GINT_TO_POINTER(snap->next_page)))) {
		g_hash_table_steal(snap->pending,
				   GINT_TO_POINTER(snap->next_page));
		write_page(snap, next);
		cJSON_Delete(next);
		snap->next_page++;
	}
	g_mutex_unlock(&snap->order_lock);
}

static void snapshot_finish(struct snapshot *snap, int err)
{
	const char *tail = snap->written ? "\n]\n" : "[]\n";

	g_mutex_lock(&snap->lock);
	if (err == 0 && snap->err == 0)
		snap->err = spool_append(&snap->out[OUT_JSON], tail,
					 strlen(tail));
	if (snap->err == 0)
		snap->err = err;
	snap->done = true;
	snap->expires = limiter_now() + snap->fs->opts.cache_ttl;
	g_cond_broadcast(&snap->grew);
	g_mutex_unlock(&snap->lock);
}

/* The thread pool's job: one whole listing into the snapshot. */
static void snapshot_run(gpointer data, gpointer user_data)
{
	struct snapshot *snap = data;
	const struct resource *res = snap->res;
	int ret = objects_list(&snap->fs->objects, res->path, res->path,
			       snap->query,
			       snap->use_count ? res->count_path : NULL,
			       on_page, snap);

	if (ret < 0)
		log_warning("search/%s: the search '%s' failed: %s",
			    res->name, snap->query, strerror(-ret));
	snapshot_finish(snap, ret < 0 ? ret : 0);
	snapshot_unref(snap);
}

/*
 * Reads the output out of snap at off.  A streaming reader waits until
 * there are bytes past off or the snapshot is complete; 0 is the end.
 */
static ssize_t snapshot_read(struct snapshot *snap, enum output out,
			     bool stream, char *buf, size_t size, off_t off)
{
	struct spool *s = &snap->out[out];
	size_t n;
	int fd;

	g_mutex_lock(&snap->lock);
	while (stream && !snap->done && s->len <= (size_t)off)
		g_cond_wait(&snap->grew, &snap->lock);
	if (s->len <= (size_t)off) {
		int err = snap->err;

		g_mutex_unlock(&snap->lock);
		return err;
	}
	n = MIN(size, s->len - (size_t)off);
	fd = s->fd;
	if (fd < 0)
		memcpy(buf, s->memory->str + off, n);
	g_mutex_unlock(&snap->lock);
	/* Bytes below len never change, and the file lives with snap. */
	return fd < 0 ? (ssize_t)n : read_at(fd, buf, n, off);
}

/* ---- queries ---------------------------------------------------------- */

/* A value from one cheap request (count, first.json), kept for a while. */
struct cheap {
	GString *bytes;		/* NULL when absent or unknown */
	bool known;
	long long mtime_ms;
	double expires;
};

/* What the mount knows of one query directory. */
struct query {
	int refs;		/* the state's lock */
	char *key;		/* "<resource>/<name>" */
	const struct resource *res;
	struct filter filter;

	GMutex lock;		/* snap, count, first */
	struct snapshot *snap;
	struct cheap count, first;
	GMutex cheap_lock;	/* one cheap request at a time */
};

struct search_state {
	GMutex lock;
	GHashTable *queries;		/* key -> struct query* */
	GHashTable *pinned[RES_COUNT];	/* names made by mkdir */
	guint added;			/* queries made since a sweep */
	GThreadPool *pool;		/* runs snapshot_run */
};

static void cheap_clear(struct cheap *c)
{
	if (c->bytes)
		g_string_free(c->bytes, TRUE);
	memset(c, 0, sizeof(*c));
}

static bool cheap_fresh(const struct cheap *c)
{
	return c->known && limiter_now() < c->expires;
}

/* Stores bytes (NULL: absent) for ttl seconds; takes bytes. */
static void cheap_set(struct cheap *c, GString *bytes, double ttl)
{
	cheap_clear(c);
	c->bytes = bytes;
	c->known = true;
	c->mtime_ms = now_ms();
	c->expires = limiter_now() + ttl;
}

static void query_free(gpointer data)
{
	struct query *q = data;

	snapshot_unref(q->snap);
	cheap_clear(&q->count);
	cheap_clear(&q->first);
	filter_clear(&q->filter);
	g_mutex_clear(&q->lock);
	g_mutex_clear(&q->cheap_lock);
	g_free(q->key);
	g_free(q);
}

/* Whether a query holds nothing worth keeping; never waits. */
static bool query_idle(struct query *q)
{
	bool idle;

	if (q->refs > 0 || !g_mutex_trylock(&q->lock))
		return false;
	idle = (!q->snap || !snapshot_fresh(q->snap)) &&
	       !cheap_fresh(&q->count) && !cheap_fresh(&q->first);
	g_mutex_unlock(&q->lock);
	return idle;
}

static gboolean sweep_one(gpointer key, gpointer value, gpointer data)
{
	return query_idle(value);
}

/* Drops queries nobody uses and nothing fresh is kept for; state lock. */
static void sweep(struct search_state *st)
{
	if (++st->added < SWEEP_EVERY)
		return;
	st->added = 0;
	g_hash_table_foreach_remove(st->queries, sweep_one, NULL);
}

static char *query_key(const struct resource *res, const char *name)
{
	return g_strconcat(res->name, "/", name, NULL);
}

/*
 * The query of name in res, made when new; returns it with a reference
 * (release with query_put), or NULL when the name is not a query.
 */
static struct query *query_get(struct clerkfs *fs, const struct resource *res,
			       const char *name)
{
	struct search_state *st = fs->search;
	char *key = query_key(res, name);
	char *reason = NULL;
	struct query *q;

	g_mutex_lock(&st->lock);
	q = g_hash_table_lookup(st->queries, key);
	if (!q) {
		q = g_new0(struct query, 1);
		q->key = key;
		key = NULL;
		q->res = res;
		g_mutex_init(&q->lock);
		g_mutex_init(&q->cheap_lock);
		if (parse_name(res, name, &q->filter, &reason) < 0) {
			query_free(q);
			q = NULL;
		} else {
			sweep(st);
			g_hash_table_insert(st->queries, q->key, q);
		}
	}
	if (q)
		q->refs++;
	g_mutex_unlock(&st->lock);
	g_free(reason);
	g_free(key);
	return q;
}

static void query_put(struct clerkfs *fs, struct query *q)
{
	g_mutex_lock(&fs->search->lock);
	q->refs--;
	g_mutex_unlock(&fs->search->lock);
}

/* The query's fresh snapshot with a reference, or NULL; starts none. */
static struct snapshot *query_peek(struct query *q)
{
	struct snapshot *snap = NULL;

	g_mutex_lock(&q->lock);
	if (q->snap && snapshot_fresh(q->snap))
		snap = snapshot_ref(q->snap);
	g_mutex_unlock(&q->lock);
	return snap;
}

/* The query's snapshot with a reference, started when there is none. */
static struct snapshot *query_snapshot(struct clerkfs *fs, struct query *q)
{
	struct snapshot *snap;

	g_mutex_lock(&q->lock);
	if (q->snap && !snapshot_fresh(q->snap)) {
		snapshot_unref(q->snap);
		q->snap = NULL;
	}
	if (!q->snap) {
		q->snap = snapshot_new(fs, q->res, &q->filter);
		g_thread_pool_push(fs->search->pool, snapshot_ref(q->snap),
				   NULL);
	}
	snap = snapshot_ref(q->snap);
	g_mutex_unlock(&q->lock);
	return snap;
}

/* ---- count and first.json --------------------------------------------- */

/* The bytes of count or first.json, and how long they hold. */
struct value {
	GString *bytes;
	long long mtime_ms;
	double ttl;
};

/* count's content: the number and a newline. */
static GString *count_text(long long n)
{
	GString *s = g_string_new(NULL);

	g_string_printf(s, "%lld\n", n);
	return s;
}

static int get_json(struct clerkfs *fs, const char *path, const char *query,
		    cJSON **reply)
{
	struct api_call call = {
		.method = "GET", .path = path, .route = path,
		.query = query && *query ? query : NULL,
		.deadline = api_deadline(fs->api),
	};
	int ret = api_call(fs->api, &call);

	if (ret == 0)
		*reply = call.reply;
	return ret;
}

/* GET /users/count with the filters; q->cheap_lock held. */
static int fetch_count(struct clerkfs *fs, struct query *q)
{
	cJSON *reply = NULL;
	long long n;
	int ret = get_json(fs, q->res->count_path, q->filter.count_query->str,
			   &reply);

	if (ret < 0)
		return ret;
	n = json_int(reply, "total_count", -1);
	cJSON_Delete(reply);
	if (n < 0)
		return -EIO;
	g_mutex_lock(&q->lock);
	cheap_set(&q->count, count_text(n), fs->opts.cache_ttl);
	g_mutex_unlock(&q->lock);
	return 0;
}

/*
 * One match, with limit=1: first.json, and for an envelope also count;
 * q->cheap_lock held.
 */
static int fetch_first(struct clerkfs *fs, struct query *q)
{
	GString *query = g_string_new(q->filter.query->str);
	cJSON *reply = NULL, *items;
	const cJSON *item;
	long long total;
	char *text;
	int ret;

	g_string_append_printf(query, "%slimit=1", query->len ? "&" : "");
	ret = get_json(fs, q->res->path, query->str, &reply);
	g_string_free(query, TRUE);
	if (ret < 0)
		return ret;
	items = cJSON_IsArray(reply) ? reply
		: cJSON_GetObjectItemCaseSensitive(reply, "data");
	total = cJSON_IsArray(reply) ? -1 : json_int(reply, "total_count", -1);
	if (!cJSON_IsArray(items)) {
		cJSON_Delete(reply);
		return -EIO;
	}
	item = cJSON_GetArrayItem(items, 0);
	text = item ? json_render(item, NULL) : NULL;

	g_mutex_lock(&q->lock);
	cheap_set(&q->first, text ? g_string_new(text) : NULL,
		  text ? fs->opts.cache_ttl : fs->opts.negative_ttl);
	if (total >= 0)
		cheap_set(&q->count, count_text(total), fs->opts.cache_ttl);
	g_mutex_unlock(&q->lock);
	free(text);
	cJSON_Delete(reply);
	return 0;
}

/*
 * Copies a cheap value into v, if fresh (or just fetched: any_age);
 * -ENOENT for a known absence.
 */
static int cheap_value(struct query *q, struct cheap *c, bool any_age,
		       struct value *v, bool *found)
{
	int ret = 0;

	g_mutex_lock(&q->lock);
	*found = any_age ? c->known : cheap_fresh(c);
	if (*found && c->bytes) {
		v->bytes = g_string_new_len(c->bytes->str,
					    (gssize)c->bytes->len);
		v->mtime_ms = c->mtime_ms;
		v->ttl = c->expires - limiter_now();
	} else if (*found) {
		ret = -ENOENT;
	}
	g_mutex_unlock(&q->lock);
	return ret;
}

/* count or first.json from a snapshot, when it can tell; found says so. */
static int snapshot_value(struct snapshot *snap, enum attr attr,
			  struct value *v, bool *found)
{
	int ret = 0;

	g_mutex_lock(&snap->lock);
	*found = snap->done && snap->err == 0;
	if (attr == ATTR_FIRST && snap->first) {
		*found = true;
		v->bytes = g_string_new_len(snap->first->str,
					    (gssize)snap->first->len);
	} else if (*found && attr == ATTR_COUNT) {
		v->bytes = count_text(snap->items);
	} else if (*found) {
		ret = -ENOENT;	/* first.json of no match */
	}
	v->mtime_ms = snap->mtime_ms;
	g_mutex_unlock(&snap->lock);
	v->ttl = snapshot_ttl(snap);
	return ret;
}

/* count or first.json by the cheap request, at most one at a time. */
static int cheap_fetch_value(struct clerkfs *fs, struct query *q,
			     enum attr attr, struct value *v)
{
	struct cheap *c = attr == ATTR_COUNT ? &q->count : &q->first;
	bool found;
	int ret;

	g_mutex_lock(&q->cheap_lock);
	ret = cheap_value(q, c, false, v, &found);
	if (!found) {
		if (attr == ATTR_COUNT && q->res->count == COUNT_ENDPOINT)
			ret = fetch_count(fs, q);
		else
			ret = fetch_first(fs, q);
		if (ret == 0)
			ret = cheap_value(q, c, true, v, &found);
		if (ret == 0 && !found)
			ret = -EIO;	/* an envelope without total_count */
	}
	g_mutex_unlock(&q->cheap_lock);
	return ret;
}

/*
 * The bytes of count or first.json: from the snapshot when there is one
 * (for sessions, count always takes one), else by a cheap request.
 * -ENOENT when first.json has no match.
 */
static int small_value(struct clerkfs *fs, struct query *q, enum attr attr,
		       struct value *v)
{
	struct snapshot *snap = query_peek(q);
	bool found = false;
	int ret;

	memset(v, 0, sizeof(*v));
	if (!snap && attr == ATTR_COUNT &&
	    q->res->count == COUNT_SNAPSHOT) {
		snap = query_snapshot(fs, q);
		ret = snapshot_wait(snap);
		if (ret < 0) {
			snapshot_unref(snap);
			return ret;
		}
	}
	if (snap) {
		ret = snapshot_value(snap, attr, v, &found);
		snapshot_unref(snap);
		if (found)
			return ret;
	}
	return cheap_fetch_value(fs, q, attr, v);
}

/* ---- the tree's side -------------------------------------------------- */

/*
 * The thread whose request is being served, for caller_in_mkdir: set by
 * the FUSE glue around each lookup.  Thread-local, since a FUSE worker
 * serves one request at a time.
 */
static _Thread_local pid_t caller_tid;

void search_set_caller(pid_t tid)
{
	caller_tid = tid;
}

/*
 * Whether the caller is inside mkdir(2).  Every valid query name resolves
 * on lookup, and the kernel answers EEXIST to mkdir of a name that
 * resolves without asking the filesystem; so a lookup made by mkdir of a
 * query not yet made answers "absent", and the kernel goes on to call
 * search_mkdir.  /proc/<tid>/syscall names the call a blocked thread is in.
 */
static bool caller_in_mkdir(void)
{
	char path[64], buf[64];
	ssize_t n;
	long nr;
	int fd;

	if (caller_tid <= 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/syscall", (int)caller_tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	nr = strtol(buf, NULL, 10);
#ifdef SYS_mkdir
	if (nr == SYS_mkdir)
		return true;
#endif
	return nr == SYS_mkdirat;
}

void search_init(struct clerkfs *fs)
{
	struct search_state *st = g_new0(struct search_state, 1);

	g_mutex_init(&st->lock);
	st->queries = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
					    query_free);
	for (int i = 0; i < RES_COUNT; i++)
		st->pinned[i] = g_hash_table_new_full(g_str_hash, g_str_equal,
						      g_free, NULL);
	st->pool = g_thread_pool_new(snapshot_run, NULL, -1, FALSE, NULL);
	fs->search = st;
}

void search_release(struct clerkfs *fs)
{
	struct search_state *st = fs->search;

	if (!st)
		return;
	/* Lets running searches finish: they use the API and the cache. */
	g_thread_pool_free(st->pool, FALSE, TRUE);
	g_hash_table_destroy(st->queries);
	for (int i = 0; i < RES_COUNT; i++)
		g_hash_table_destroy(st->pinned[i]);
	g_mutex_clear(&st->lock);
	g_free(st);
	fs->search = NULL;
}

static bool is_pinned(struct clerkfs *fs, const struct resource *res,
		      const char *name)
{
	bool pinned;

	g_mutex_lock(&fs->search->lock);
	pinned = g_hash_table_contains(fs->search->pinned[res->index], name);
	g_mutex_unlock(&fs->search->lock);
	return pinned;
}

static void set_spec(struct node_spec *spec, enum node_kind kind,
		     enum attr attr, const char *id, const char *sub)
{
	spec->kind = kind;
	spec->attr = attr;
	spec->id = g_strdup(id);
	spec->sub = g_strdup(sub);
}

/* A name in search/<resource>/: a result file or a query directory. */
static int lookup_in_resource(struct clerkfs *fs, const struct resource *res,
			      const char *name, struct node_spec *spec)
{
	enum attr attr = result_attr(name);
	struct filter f = { 0 };
	char *reason = NULL;
	int ret;

	if (attr != ATTR_NONE && res->plain) {
		set_spec(spec, NODE_SEARCH_FILE, attr, res->name, "");
		return 0;
	}
	if (name[0] == '.')
		return -ENOENT;	/* probes of shells and editors */
	ret = parse_name(res, name, &f, &reason);
	filter_clear(&f);
	if (ret < 0) {
		/* mkdir logs its own refusal. */
		if (!caller_in_mkdir())
			log_warning("search/%s/%s: no such query directory: "
				    "%s", res->name, name, reason);
		g_free(reason);
		return ret;
	}
	if (!is_pinned(fs, res, name) && caller_in_mkdir())
		return -ENOENT;
	set_spec(spec, NODE_SEARCH_QUERY, ATTR_NONE, res->name, name);
	return 0;
}

int search_lookup(struct clerkfs *fs, const struct node *dir,
		  const char *name, struct node_spec *spec)
{
	const struct resource *res = resource_of(dir->id);
	enum attr attr;

	memset(spec, 0, sizeof(*spec));
	if (!res)
		return -ENOENT;
	if (dir->kind == NODE_SEARCH_RES)
		return lookup_in_resource(fs, res, name, spec);
	attr = result_attr(name);
	if (dir->kind != NODE_SEARCH_QUERY || attr == ATTR_NONE)
		return -ENOENT;
	set_spec(spec, NODE_SEARCH_FILE, attr, res->name, dir->sub);
	return 0;
}

static void add_entry(GPtrArray *entries, const char *name, mode_t type)
{
	struct dir_entry *entry = g_new(struct dir_entry, 1);

	entry->name = g_strdup(name);
	entry->type = type;
	g_ptr_array_add(entries, entry);
}

/*
 * Whether the query is known to match nothing, from what is kept; asks
 * nothing of the API.
 */
static bool known_empty(struct clerkfs *fs, const struct resource *res,
			const char *name)
{
	struct search_state *st = fs->search;
	char *key = query_key(res, name);
	bool empty = false;
	struct query *q;

	g_mutex_lock(&st->lock);
	q = g_hash_table_lookup(st->queries, key);
	if (q && g_mutex_trylock(&q->lock)) {
		if (cheap_fresh(&q->first))
			empty = q->first.bytes == NULL;
		if (q->snap && snapshot_fresh(q->snap)) {
			g_mutex_lock(&q->snap->lock);
			empty = q->snap->done && q->snap->err == 0 &&
				q->snap->items == 0;
			g_mutex_unlock(&q->snap->lock);
		}
		g_mutex_unlock(&q->lock);
	}
	g_mutex_unlock(&st->lock);
	g_free(key);
	return empty;
}

static void list_results(struct clerkfs *fs, const struct resource *res,
			 const char *name, GPtrArray *entries)
{
	bool empty = known_empty(fs, res, name);

	for (size_t i = 0; i < RESULT_FILES; i++) {
		if (result_files[i].attr == ATTR_FIRST && empty)
			continue;
		add_entry(entries, result_files[i].name, S_IFREG);
	}
}

static void list_pinned(struct clerkfs *fs, const struct resource *res,
			GPtrArray *entries)
{
	GHashTableIter iter;
	gpointer name;

	g_mutex_lock(&fs->search->lock);
	g_hash_table_iter_init(&iter, fs->search->pinned[res->index]);
	while (g_hash_table_iter_next(&iter, &name, NULL))
		add_entry(entries, name, S_IFDIR);
	g_mutex_unlock(&fs->search->lock);
}

int search_list(struct clerkfs *fs, const struct node *dir,
		GPtrArray *entries)
{
	const struct resource *res = resource_of(dir->id);

	if (!res)
		return -ENOENT;
	if (dir->kind == NODE_SEARCH_QUERY) {
		list_results(fs, res, dir->sub, entries);
		return 0;
	}
	if (res->plain)
		list_results(fs, res, "", entries);
	list_pinned(fs, res, entries);
	return 0;
}

static void set_times(struct stat *st, long long ms)
{
	struct timespec ts = {
		.tv_sec = (time_t)(ms / 1000),
		.tv_nsec = (long)(ms % 1000) * 1000000,
	};

	st->st_atim = ts;
	st->st_mtim = ts;
	st->st_ctim = ts;
}

static void set_file(struct stat *st, size_t size, long long mtime_ms)
{
	st->st_mode = S_IFREG | 0400;
	st->st_nlink = 1;
	st->st_size = (off_t)size;
	st->st_blocks = (st->st_size + 511) / 512;
	set_times(st, mtime_ms);
}

/* stat of results.*: runs the search; waits for it but for ndjson. */
static int results_attr(struct clerkfs *fs, struct query *q,
			enum attr attr, struct stat *st, double *ttl)
{
	struct snapshot *snap = query_snapshot(fs, q);
	enum output out = attr == ATTR_RESULTS_CSV ? OUT_CSV
			  : attr == ATTR_RESULTS_JSON ? OUT_JSON : OUT_NDJSON;
	int ret = 0;

	if (out != OUT_NDJSON)
		ret = snapshot_wait(snap);
	if (ret == 0) {
		g_mutex_lock(&snap->lock);
		ret = snap->done ? snap->err : 0;
		set_file(st, snap->done ? snap->out[out].len : 0,
			 snap->mtime_ms);
		g_mutex_unlock(&snap->lock);
		*ttl = snapshot_ttl(snap);
	}
	snapshot_unref(snap);
	return ret;
}

static int file_attr(struct clerkfs *fs, const struct node *node,
		     struct stat *st, double *ttl)
{
	const struct resource *res = resource_of(node->id);
	struct query *q = res ? query_get(fs, res, node->sub) : NULL;
	struct value v;
	int ret;

	if (!q)
		return -ENOENT;
	if (node->attr == ATTR_COUNT || node->attr == ATTR_FIRST) {
		ret = small_value(fs, q, node->attr, &v);
		if (ret == 0) {
			set_file(st, v.bytes->len, v.mtime_ms);
			*ttl = v.ttl > 0 ? v.ttl : 0;
			g_string_free(v.bytes, TRUE);
		}
	} else {
		ret = results_attr(fs, q, node->attr, st, ttl);
	}
	query_put(fs, q);
	return ret;
}

int search_attr(struct clerkfs *fs, const struct node *node, struct stat *st,
		double *ttl)
{
	if (node->kind == NODE_SEARCH_FILE)
		return file_attr(fs, node, st, ttl);
	st->st_mode = S_IFDIR | 0500;
	st->st_nlink = 2;
	st->st_size = DIR_SIZE;
	st->st_blocks = DIR_SIZE / 512;
	set_times(st, fs->mounted.tv_sec * 1000LL +
			      fs->mounted.tv_nsec / 1000000);
	*ttl = fs->opts.cache_ttl;
	return 0;
}

static void refuse_mkdir(struct clerkfs *fs, const struct resource *res,
			 const char *name, int err, const char *reason)
{
	char *path = g_strdup_printf("/search/%s/%s", res->name, name);

	fs_refuse(fs, path, err, reason);
	g_free(path);
}

int search_mkdir(struct clerkfs *fs, const struct node *dir,
		 const char *name, struct node_spec *spec)
{
	const struct resource *res = resource_of(dir->id);
	struct filter f = { 0 };
	char *reason = NULL;
	bool added;
	int ret;

	if (!res)
		return -ENOENT;
	if (fs->opts.read_only)
		return -EROFS;
	ret = parse_name(res, name, &f, &reason);
	filter_clear(&f);
	if (ret < 0) {
		refuse_mkdir(fs, res, name, -EINVAL, reason);
		g_free(reason);
		return -EINVAL;
	}
	g_mutex_lock(&fs->search->lock);
	added = g_hash_table_add(fs->search->pinned[res->index],
				 g_strdup(name));
	g_mutex_unlock(&fs->search->lock);
	if (!added)
		return -EEXIST;
	set_spec(spec, NODE_SEARCH_QUERY, ATTR_NONE, res->name, name);
	return 0;
}

int search_rmdir(struct clerkfs *fs, const struct node *dir,
		 const char *name)
{
	const struct resource *res = resource_of(dir->id);
	struct search_state *st = fs->search;
	char *key;
	bool removed;

	if (!res)
		return -ENOENT;
	if (fs->opts.read_only)
		return -EROFS;
	key = query_key(res, name);
	g_mutex_lock(&st->lock);
	removed = g_hash_table_remove(st->pinned[res->index], name);
	if (removed) {
		struct query *q = g_hash_table_lookup(st->queries, key);

		if (q && q->refs == 0)
			g_hash_table_remove(st->queries, key);
	}
	g_mutex_unlock(&st->lock);
	g_free(key);
	return removed ? 0 : -ENOENT;
}

/* ---- open files ------------------------------------------------------- */

struct search_file {
	struct snapshot *snap;	/* results.*, or NULL */
	enum output out;
	bool stream;		/* results.ndjson: wait for more bytes */
	GString *bytes;		/* count, first.json */
};

static int open_results(struct clerkfs *fs, struct query *q, enum attr attr,
			struct search_file *file)
{
	int ret = 0;

	file->out = attr == ATTR_RESULTS_CSV ? OUT_CSV
		    : attr == ATTR_RESULTS_JSON ? OUT_JSON : OUT_NDJSON;
	file->stream = file->out == OUT_NDJSON;
	file->snap = query_snapshot(fs, q);
	if (!file->stream)
		ret = snapshot_wait(file->snap);
	return ret;
}

int search_open(struct clerkfs *fs, const struct node *node,
		struct search_file **out, bool *direct_io)
{
	const struct resource *res = resource_of(node->id);
	struct query *q = res ? query_get(fs, res, node->sub) : NULL;
	struct search_file *file;
	struct value v;
	int ret;

	if (!q || node->kind != NODE_SEARCH_FILE) {
		if (q)
			query_put(fs, q);
		return -ENOENT;
	}
	file = g_new0(struct search_file, 1);
	if (node->attr == ATTR_COUNT || node->attr == ATTR_FIRST) {
		ret = small_value(fs, q, node->attr, &v);
		file->bytes = v.bytes;
	} else {
		ret = open_results(fs, q, node->attr, file);
	}
	query_put(fs, q);
	if (ret < 0) {
		search_close(file);
		return ret;
	}
	*direct_io = file->stream;
	*out = file;
	return 0;
}

ssize_t search_read(struct search_file *file, char *buf, size_t size,
		    off_t off)
{
	size_t n;

	if (off < 0)
		return -EINVAL;
	if (file->snap)
		return snapshot_read(file->snap, file->out, file->stream, buf,
				     size, off);
	if (!file->bytes || (size_t)off >= file->bytes->len)
		return 0;
	n = MIN(size, file->bytes->len - (size_t)off);
	memcpy(buf, file->bytes->str + off, n);
	return (ssize_t)n;
}

void search_close(struct search_file *file)
{
	if (!file)
		return;
	snapshot_unref(file->snap);
	if (file->bytes)
		g_string_free(file->bytes, TRUE);
	g_free(file);
}
