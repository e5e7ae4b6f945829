/*
 * fs/main.c - clerkfs's command line: options, the secret key, the check
 * that the API answers and accepts the key, then the FUSE session.
 */
#include "fs/fs.h"

#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <curl/curl.h>

#include "api/log.h"
#include "fs/clock.h"
#include "fs/handshake.h"
#include "fs/notify.h"
#include "fs/scratch.h"
#include "fs/search.h"

#define DEFAULT_API_URL "https://api.clerk.com/v1"
#define MAX_THREADS 64
/*
 * malloc arenas.  glibc gives each new thread its own, up to 8 per CPU;
 * cached objects are parsed by one thread and freed by another, so every
 * arena keeps its own free memory and the process grows well past
 * cache_max.  The threads mostly wait on the network: two arenas are
 * plenty.
 */
#define MALLOC_ARENAS 2

struct options {
	char *key_file;
	char *api_url;
	char *cache_max;
	char *rate;
	char *create_rate;
	double cache_ttl;
	double negative_ttl;
	double timeout;
	double connect_timeout;
	int page_size;
	/* The same options as written, to refuse trailing junk. */
	char *number_text[5];
	int read_only;
	int allow_delete;
	int allow_other;
	int csv_bom;
	int show_help;
	int show_version;
};

#define OPT(t, p) { t, offsetof(struct options, p), 1 }

static const struct fuse_opt option_spec[] = {
	OPT("key_file=%s", key_file),
	OPT("api_url=%s", api_url),
	OPT("cache_max=%s", cache_max),
	OPT("rate=%s", rate),
	OPT("create_rate=%s", create_rate),
	OPT("cache_ttl=%lf", cache_ttl),
	OPT("negative_ttl=%lf", negative_ttl),
	OPT("timeout=%lf", timeout),
	OPT("connect_timeout=%lf", connect_timeout),
	OPT("page_size=%d", page_size),
	OPT("cache_ttl=%s", number_text[0]),
	OPT("negative_ttl=%s", number_text[1]),
	OPT("timeout=%s", number_text[2]),
	OPT("connect_timeout=%s", number_text[3]),
	OPT("page_size=%s", number_text[4]),
	OPT("allow_delete", allow_delete),
	OPT("csv_bom", csv_bom),
	OPT("-h", show_help),
	OPT("--help", show_help),
	OPT("-V", show_version),
	OPT("--version", show_version),
	FUSE_OPT_END
};

enum { KEY_RO, KEY_ALLOW_OTHER };

static const struct fuse_opt kept_spec[] = {
	FUSE_OPT_KEY("ro", KEY_RO),
	FUSE_OPT_KEY("allow_other", KEY_ALLOW_OTHER),
	FUSE_OPT_END
};

static int keep_option(void *data, const char *arg, int key,
		       struct fuse_args *outargs)
{
	struct options *o = data;

	if (key == KEY_RO)
		o->read_only = 1;
	else if (key == KEY_ALLOW_OTHER)
		o->allow_other = 1;
	return 1;	/* and hand it on to FUSE */
}

/* fuse_opt allocates the strings of the options it parsed. */
static void free_options(struct options *o)
{
	free(o->key_file);
	free(o->api_url);
	free(o->cache_max);
	free(o->rate);
	free(o->create_rate);
	for (size_t i = 0; i < G_N_ELEMENTS(o->number_text); i++)
		free(o->number_text[i]);
}

static void usage(const char *prog)
{
	printf("usage: CLERK_SECRET_KEY=sk_... %s [-f] [-d] [-o opt,...] "
	       "MOUNTPOINT\n\n"
	       "clerkfs options (see clerkfs(1)):\n"
	       "    -f                     stay in the foreground, log to "
	       "stderr\n"
	       "    -d                     debug: one line per request, and "
	       "libfuse's\n"
	       "                           trace of every FUSE call (implies "
	       "-f)\n"
	       "    -o key_file=PATH       read the secret key from PATH\n"
	       "    -o api_url=URL         the Backend API (default %s)\n"
	       "    -o cache_ttl=S         keep objects S seconds (30; "
	       "0-86400)\n"
	       "    -o negative_ttl=S      remember 404s S seconds (5; "
	       "0-86400)\n"
	       "    -o cache_max=SIZE      cache budget, K/M/G (256M)\n"
	       "    -o rate=N/S            at most N requests in S seconds\n"
	       "    -o create_rate=N/S     user creations (20/10)\n"
	       "    -o timeout=S           each operation's deadline (15; "
	       "up to 3600)\n"
	       "    -o connect_timeout=S   (5; up to 3600)\n"
	       "    -o page_size=N         list page size (500)\n"
	       "    -o ro                  mount read-only\n"
	       "    -o allow_delete        let rmdir delete users and orgs\n"
	       "    -o allow_other         let other users in (turns on "
	       "default_permissions)\n"
	       "    -o csv_bom             start CSV results with a BOM\n\n",
	       prog, DEFAULT_API_URL);
}

/* mount.fuse3 runs "clerkfs SOURCE MOUNTPOINT -o ...": drop SOURCE. */
static void drop_mount_source(struct fuse_args *args)
{
	int first = -1, count = 0;

	for (int i = 1; i < args->argc; i++) {
		const char *a = args->argv[i];

		if (strcmp(a, "-o") == 0) {
			i++;
			continue;
		}
		if (a[0] == '-')
			continue;
		if (count++ == 0)
			first = i;
	}
	if (count != 2)
		return;
	for (int i = first; i < args->argc - 1; i++)
		args->argv[i] = args->argv[i + 1];
	args->argc--;
}

/*
 * The largest values that make sense: a day of caching, an hour of
 * waiting.  Larger ones are typos (a TTL in milliseconds) and overflow the
 * kernel's timeouts.
 */
#define TTL_MAX 86400
#define TIMEOUT_MAX 3600

/* A time option: up to max seconds, and 0 or more (zero_ok) or above 0. */
static int check_seconds(const char *name, double value, double max,
			 bool zero_ok)
{
	if (value >= 0 && value <= max && (zero_ok || value > 0))
		return 0;
	fprintf(stderr, "clerkfs: %s must be %s %g seconds, not %g\n", name,
		zero_ok ? "0 to" : "more than 0 and at most", max, value);
	return -EINVAL;
}

/* Digits, with a fraction only where whole is false: "30", "2.5". */
static bool is_plain_number(const char *text, bool whole)
{
	const char *c = text;
	size_t digits = 0;

	while (g_ascii_isdigit(*c))
		c++, digits++;
	if (*c == '.' && !whole)
		for (c++; g_ascii_isdigit(*c); c++)
			digits++;
	return digits > 0 && *c == '\0';
}

/* Each number option as written: a plain number, nothing after it. */
static int check_number_syntax(const struct options *o)
{
	static const char *const names[] = { "cache_ttl", "negative_ttl",
					     "timeout", "connect_timeout",
					     "page_size" };

	for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
		const char *text = o->number_text[i];

		if (text && !is_plain_number(text, i == 4)) {
			fprintf(stderr, "clerkfs: %s takes a plain %s, not "
				"'%s'\n", names[i], i == 4 ? "whole number"
				: "number of seconds such as 30 or 2.5", text);
			return -EINVAL;
		}
	}
	return 0;
}

static int check_times(const struct options *o)
{
	if (check_seconds("cache_ttl", o->cache_ttl, TTL_MAX, true) < 0 ||
	    check_seconds("negative_ttl", o->negative_ttl, TTL_MAX, true) < 0 ||
	    check_seconds("timeout", o->timeout, TIMEOUT_MAX, false) < 0 ||
	    check_seconds("connect_timeout", o->connect_timeout, TIMEOUT_MAX,
			  false) < 0)
		return -EINVAL;
	return check_number_syntax(o);
}

static int parse_rate(const char *text, int *max, double *window)
{
	char *end;
	long n = strtol(text, &end, 10);
	double s;

	if (end == text || *end != '/' || n < 1)
		return -EINVAL;
	s = strtod(end + 1, &end);
	if (*end || s <= 0)
		return -EINVAL;
	*max = (int)n;
	*window = s;
	return 0;
}

/*
 * The key as it will be sent: white space around it is trimmed (a key
 * file ends with a newline), and one that is empty or holds a control
 * character inside, which would end the Authorization header and start
 * another, is refused.  Returns key, or NULL having freed it.
 */
static char *checked_key(char *key, const char *from)
{
	g_strstrip(key);
	if (!*key) {
		fprintf(stderr, "clerkfs: %s is empty\n", from);
		g_free(key);
		return NULL;
	}
	for (const char *c = key; *c; c++) {
		if (g_ascii_iscntrl(*c)) {
			fprintf(stderr, "clerkfs: %s holds a control character "
				"(such as a line break) inside the key; a "
				"secret key is one line of printable "
				"characters\n", from);
			memset(key, 0, strlen(key));
			g_free(key);
			return NULL;
		}
	}
	return key;
}

/* The key file's type and mode allow it to hold the key; 0 or -1. */
static int check_key_file(const char *key_file)
{
	struct stat st;

	if (stat(key_file, &st) < 0) {
		fprintf(stderr, "clerkfs: cannot read key file '%s': %s\n",
			key_file, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		fprintf(stderr, "clerkfs: key file '%s' is not a regular "
			"file\n", key_file);
		return -1;
	}
	if (st.st_mode & 077) {
		fprintf(stderr, "clerkfs: key file '%s' is readable by group "
			"or others (mode %03o); run: chmod 600 '%s'\n",
			key_file, st.st_mode & 0777, key_file);
		return -1;
	}
	return 0;
}

/* The key from key_file (refused when others may read it) or the env. */
static char *read_key(const char *key_file)
{
	char *text = NULL;
	GError *error = NULL;

	if (!key_file) {
		const char *env = getenv("CLERK_SECRET_KEY");

		if (!env) {
			fprintf(stderr, "clerkfs: no secret key: set "
				"CLERK_SECRET_KEY or use -o key_file=PATH\n");
			return NULL;
		}
		return checked_key(g_strdup(env), "CLERK_SECRET_KEY");
	}
	if (check_key_file(key_file) < 0)
		return NULL;
	if (!g_file_get_contents(key_file, &text, NULL, &error)) {
		fprintf(stderr, "clerkfs: cannot read key file: %s\n",
			error->message);
		g_error_free(error);
		return NULL;
	}
	return checked_key(text, "the key file");
}

/* localhost, or an address literal in 127.0.0.0/8 or ::1; no other name. */
static bool is_loopback(const char *host)
{
	struct in_addr v4;
	struct in6_addr v6;
	char *bare = g_strdup(host);
	bool loopback;

	if (bare[0] == '[' && bare[strlen(bare) - 1] == ']') {
		memmove(bare, bare + 1, strlen(bare) - 2);
		bare[strlen(bare) - 2] = '\0';
	}
	if (inet_pton(AF_INET, bare, &v4) == 1)
		loopback = (ntohl(v4.s_addr) >> 24) == 127;
	else if (inet_pton(AF_INET6, bare, &v6) == 1)
		loopback = IN6_IS_ADDR_LOOPBACK(&v6);
	else
		loopback = strcmp(bare, "localhost") == 0;
	g_free(bare);
	return loopback;
}

static int check_api_url(const char *url)
{
	char *host;
	int ret = 0;

	if (g_str_has_prefix(url, "https://"))
		return 0;
	if (!g_str_has_prefix(url, "http://")) {
		fprintf(stderr, "clerkfs: api_url '%s' is not an http or "
			"https URL\n", url);
		return -EINVAL;
	}
	host = g_strndup(url + 7, strcspn(url + 7, "/?#"));
	if (host[0] != '[' && strchr(host, ':'))
		*strrchr(host, ':') = '\0';
	else if (host[0] == '[' && strstr(host, "]:"))
		strstr(host, "]:")[1] = '\0';
	if (!is_loopback(host)) {
		fprintf(stderr, "clerkfs: refusing plain http to '%s': the "
			"secret key would travel in clear; use https, or "
			"http only to a loopback address\n", host);
		ret = -EINVAL;
	}
	g_free(host);
	return ret;
}

/* How api_call's error begins when no answer came; said once here. */
#define REACH "cannot reach the API: "

/* One request before going to the background: is the key accepted? */
static int check_key(struct api *api, const char *url)
{
	struct api_call call = {
		.method = "GET", .path = "/users", .route = "/users",
		.query = "limit=1", .deadline = api_deadline(api),
		.silent = true,		/* said below, once */
	};
	int ret = api_call(api, &call);

	cJSON_Delete(call.reply);
	if (ret == 0)
		return 0;
	if (ret == -EACCES)
		fprintf(stderr, "clerkfs: the secret key was refused by %s "
			"(%s); check the key\n", url, call.error);
	else if (call.status)
		fprintf(stderr, "clerkfs: the API at %s answered with an "
			"error: %s\n", url, call.error);
	else
		fprintf(stderr, "clerkfs: cannot reach the Clerk API at %s: "
			"%s\n", url, g_str_has_prefix(call.error, REACH)
			? call.error + strlen(REACH) : call.error);
	return ret;
}

static int setup_fs(struct clerkfs *fs, struct options *o, const char *key)
{
	struct api_config cfg = {
		.base_url = o->api_url, .key = key, .timeout = o->timeout,
		.connect_timeout = o->connect_timeout,
		.rate_max = g_str_has_prefix(key, "sk_live_") ? 1000 : 100,
		.rate_window = 10, .create_max = 20, .create_window = 10,
	};

	if (o->rate && parse_rate(o->rate, &cfg.rate_max,
				  &cfg.rate_window) < 0) {
		fprintf(stderr, "clerkfs: rate '%s' is not N/SECONDS\n",
			o->rate);
		return -EINVAL;
	}
	if (o->create_rate && parse_rate(o->create_rate, &cfg.create_max,
					 &cfg.create_window) < 0) {
		fprintf(stderr, "clerkfs: create_rate '%s' is not N/SECONDS\n",
			o->create_rate);
		return -EINVAL;
	}
	fs->opts.cache_max = cache_parse_size(o->cache_max ? o->cache_max
							   : "256M");
	if (fs->opts.cache_max == 0) {
		fprintf(stderr, "clerkfs: cache_max '%s' is not a size such "
			"as 64M\n", o->cache_max);
		return -EINVAL;
	}
	if (o->page_size < 1 || o->page_size > 500) {
		fprintf(stderr, "clerkfs: page_size must be 1 to 500\n");
		return -EINVAL;
	}
	if (check_times(o) < 0)
		return -EINVAL;
	fs->opts.cache_ttl = o->cache_ttl;
	fs->opts.negative_ttl = o->negative_ttl;
	fs->opts.read_only = o->read_only;
	fs->opts.allow_delete = o->allow_delete;
	fs->opts.csv_bom = o->csv_bom;
	fs->opts.page_size = o->page_size;

	fs->api = api_new(&cfg);
	if (!fs->api)
		return -ENOMEM;
	fs->cache = cache_new(o->cache_ttl, o->negative_ttl,
			      fs->opts.cache_max);
	objects_init(&fs->objects, fs->api, fs->cache, o->page_size);
	fs->uid = getuid();
	fs->gid = getgid();
	clock_gettime(CLOCK_REALTIME, &fs->mounted);
	g_mutex_init(&fs->errors_lock);
	g_queue_init(&fs->errors);
	g_mutex_init(&fs->dirty_lock);
	fs->dirty = g_hash_table_new(g_int64_hash, g_int64_equal);
	clock_init(fs);
	nodes_init(fs);
	scratch_init(fs);
	search_init(fs);
	return 0;
}

static void release_fs(struct clerkfs *fs)
{
	if (fs->by_ino) {
		search_release(fs);
		scratch_release(fs);
		nodes_release(fs);
		clock_release(fs);
		g_hash_table_destroy(fs->dirty);
		g_mutex_clear(&fs->dirty_lock);
	}
	g_queue_clear_full(&fs->errors, g_free);
	g_mutex_clear(&fs->errors_lock);
	objects_release(&fs->objects);
	if (fs->cache)
		cache_free(fs->cache);
	api_free(fs->api);
}

static int run_session(struct clerkfs *fs, struct fuse_args *args,
		       struct fuse_cmdline_opts *cl)
{
	struct fuse_loop_config *loop;
	int ret = 1;

	fs->se = fuse_session_new(args, &fs_ops, sizeof(fs_ops), fs);
	if (!fs->se)
		return 1;
	if (fuse_set_signal_handlers(fs->se) != 0)
		goto out_destroy;
	if (fuse_session_mount(fs->se, cl->mountpoint) != 0)
		goto out_signals;
	if (fuse_daemonize(cl->foreground) != 0)
		goto out_unmount;
	log_setup(!cl->foreground, cl->debug);
	log_info("mounted %s on %s", api_host(fs->api), cl->mountpoint);
	if (handshake_answer(fs->se) < 0)
		goto out_unmount;

	notify_start(fs);
	loop = fuse_loop_cfg_create();
	fuse_loop_cfg_set_max_threads(loop, MAX_THREADS);
	fuse_loop_cfg_set_idle_threads(loop, 8);
	ret = fuse_session_loop_mt(fs->se, loop);
	/* A signal asked for the unmount: a clean end. */
	ret = ret == 0 || ret == SIGTERM || ret == SIGINT || ret == SIGHUP
		      ? 0 : 1;
	fuse_loop_cfg_destroy(loop);
	notify_stop(fs);

out_unmount:
	fuse_session_unmount(fs->se);
out_signals:
	fuse_remove_signal_handlers(fs->se);
out_destroy:
	fuse_session_destroy(fs->se);
	return ret;
}

static void add_mount_options(struct fuse_args *args, struct clerkfs *fs,
			      const struct options *o)
{
	char *fsname = g_strdup_printf("-ofsname=%s",
				       api_host(fs->api));

	fuse_opt_add_arg(args, fsname);
	fuse_opt_add_arg(args, "-osubtype=clerkfs");
	if (o->allow_other)
		fuse_opt_add_arg(args, "-odefault_permissions");
	g_free(fsname);
}

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct options o = {
		.cache_ttl = 30, .negative_ttl = 5, .timeout = 15,
		.connect_timeout = 5, .page_size = 500,
	};
	struct fuse_cmdline_opts cl = { 0 };
	struct clerkfs fs = { 0 };
	char *key = NULL;
	int ret = 1;

	/*
	 * The daemon's size should follow cache_max.  Every FUSE worker
	 * would otherwise get a malloc arena of its own that keeps what the
	 * cache freed, and the first large reply freed would raise the mmap
	 * threshold so that later ones fragment the heap.
	 */
	mallopt(M_ARENA_MAX, 2);
	mallopt(M_MMAP_THRESHOLD, 256 << 10);
	drop_mount_source(&args);
	if (fuse_opt_parse(&args, &o, option_spec, NULL) != 0 ||
	    fuse_opt_parse(&args, &o, kept_spec, keep_option) != 0)
		goto out;
	if (o.show_help || o.show_version) {
		if (o.show_help)
			usage(argv[0]);
		else
			printf("clerkfs %s (libfuse %s)\n", CLERKFS_VERSION,
			       fuse_pkgversion());
		ret = 0;
		goto out;
	}
	if (fuse_parse_cmdline(&args, &cl) != 0)
		goto out;
	if (!cl.mountpoint) {
		usage(argv[0]);
		fprintf(stderr, "clerkfs: no mount point given\n");
		goto out;
	}
	if (!o.api_url)
		o.api_url = strdup(getenv("CLERK_API_URL")
				   ? getenv("CLERK_API_URL") : DEFAULT_API_URL);
	if (check_api_url(o.api_url) < 0)
		goto out;
	key = read_key(o.key_file);
	if (!key)
		goto out;

#ifdef M_ARENA_MAX
	mallopt(M_ARENA_MAX, MALLOC_ARENAS);
#endif
	curl_global_init(CURL_GLOBAL_DEFAULT);
	log_setup(false, cl.debug);
	if (setup_fs(&fs, &o, key) == 0 && check_key(fs.api, o.api_url) == 0) {
		add_mount_options(&args, &fs, &o);
		ret = run_session(&fs, &args, &cl);
	}
	release_fs(&fs);
	curl_global_cleanup();
out:
	if (key)
		memset(key, 0, strlen(key));
	g_free(key);
	free(cl.mountpoint);
	fuse_opt_free_args(&args);
	free_options(&o);
	return ret;
}
