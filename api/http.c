/*
 * api/http.c - requests to the Clerk Backend API over libcurl.
 *
 * The flow of api_call: wait for the limiter, send, classify the outcome,
 * and either return or back off and send again.  What may be sent again
 * follows DESIGN.md: GET, PUT, PATCH and DELETE are idempotent; a POST is
 * sent again only after a 429 or when the connection failed before
 * anything was sent, and otherwise reports that its outcome is unknown.
 */
#include "api/api.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <curl/curl.h>

#include "api/json.h"
#include "api/log.h"

#define API_MAX_ATTEMPTS 5
#define API_BACKOFF_BASE 0.25	/* seconds before the second attempt */
#define API_BACKOFF_MAX 4.0
#define API_REPLY_MAX (256u << 20)

struct api {
	char *base_url;
	char *host;
	char *auth_header;	/* "Authorization: Bearer <key>"; never logged */
	double timeout;
	double connect_timeout;
	bool production;

	CURLSH *share;
	GMutex share_locks[CURL_LOCK_DATA_LAST];

	struct limiter general;
	struct limiter creates;

	GMutex stats_lock;
	struct api_stats stats;
};

/* The calling thread's interruption check (see api_set_interrupt). */
static __thread api_interrupted_fn thread_interrupted;
static __thread void *thread_interrupted_arg;

#define API_WAIT_SLICE 0.1	/* seconds between interruption checks */

/* One easy handle per thread, reused for every request of that thread. */
static GPrivate thread_easy = G_PRIVATE_INIT((GDestroyNotify)curl_easy_cleanup);

/* What one attempt brought back. */
struct attempt {
	CURLcode curl;
	long status;
	GString *body;
	double retry_after;	/* seconds, -1 when absent */
	char curl_error[CURL_ERROR_SIZE];
};

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access a,
		       void *userp)
{
	struct api *api = userp;

	g_mutex_lock(&api->share_locks[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *userp)
{
	struct api *api = userp;

	g_mutex_unlock(&api->share_locks[data]);
}

static char *host_of(const char *url)
{
	const char *start = strstr(url, "://");
	size_t len;

	start = start ? start + 3 : url;
	len = strcspn(start, ":/?#");
	return g_strndup(start, len);
}

struct api *api_new(const struct api_config *cfg)
{
	struct api *api = g_new0(struct api, 1);

	api->base_url = g_strdup(cfg->base_url);
	g_strchomp(api->base_url);
	if (g_str_has_suffix(api->base_url, "/"))
		api->base_url[strlen(api->base_url) - 1] = '\0';
	api->host = host_of(api->base_url);
	api->auth_header = g_strdup_printf("Authorization: Bearer %s",
					   cfg->key);
	api->timeout = cfg->timeout;
	api->connect_timeout = cfg->connect_timeout;
	api->production = g_str_has_prefix(cfg->key, "sk_live_");

	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		g_mutex_init(&api->share_locks[i]);
	api->share = curl_share_init();
	if (!api->share) {
		api_free(api);
		return NULL;
	}
	curl_share_setopt(api->share, CURLSHOPT_LOCKFUNC, share_lock);
	curl_share_setopt(api->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
	curl_share_setopt(api->share, CURLSHOPT_USERDATA, api);
	curl_share_setopt(api->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
	curl_share_setopt(api->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);

	limiter_init(&api->general, cfg->rate_max, cfg->rate_window);
	limiter_init(&api->creates, cfg->create_max, cfg->create_window);
	g_mutex_init(&api->stats_lock);
	api->stats.by_route = g_hash_table_new_full(g_str_hash, g_str_equal,
						    g_free, NULL);
	return api;
}

void api_free(struct api *api)
{
	if (!api)
		return;
	/* This thread's handle uses the share: drop it first. */
	g_private_replace(&thread_easy, NULL);
	if (api->share)
		curl_share_cleanup(api->share);
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		g_mutex_clear(&api->share_locks[i]);
	limiter_release(&api->general);
	limiter_release(&api->creates);
	g_hash_table_destroy(api->stats.by_route);
	g_mutex_clear(&api->stats_lock);
	if (api->auth_header)
		memset(api->auth_header, 0, strlen(api->auth_header));
	g_free(api->auth_header);
	g_free(api->base_url);
	g_free(api->host);
	g_free(api);
}

void api_set_interrupt(api_interrupted_fn interrupted, void *arg)
{
	thread_interrupted = interrupted;
	thread_interrupted_arg = arg;
}

static bool interrupted(void)
{
	return thread_interrupted &&
	       thread_interrupted(thread_interrupted_arg);
}

/* libcurl asks now and then; a non-zero answer aborts the transfer. */
static int on_progress(void *userp, curl_off_t dltotal, curl_off_t dlnow,
		       curl_off_t ultotal, curl_off_t ulnow)
{
	return interrupted();
}

double api_deadline(const struct api *api)
{
	return limiter_now() + api->timeout;
}

const char *api_host(const struct api *api)
{
	return api->host;
}

bool api_is_production(const struct api *api)
{
	return api->production;
}

static size_t on_body(char *data, size_t size, size_t n, void *userp)
{
	GString *body = userp;

	if (body->len + size * n > API_REPLY_MAX)
		return 0;
	g_string_append_len(body, data, size * n);
	return size * n;
}

static size_t on_header(char *data, size_t size, size_t n, void *userp)
{
	struct attempt *at = userp;
	size_t len = size * n;

	if (len > 12 && g_ascii_strncasecmp(data, "Retry-After:", 12) == 0)
		at->retry_after = g_ascii_strtod(data + 12, NULL);
	return len;
}

static CURL *thread_handle(struct api *api)
{
	CURL *easy = g_private_get(&thread_easy);

	if (easy) {
		curl_easy_reset(easy);
	} else {
		easy = curl_easy_init();
		if (!easy)
			return NULL;
		g_private_set(&thread_easy, easy);
	}
	curl_easy_setopt(easy, CURLOPT_SHARE, api->share);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(easy, CURLOPT_USERAGENT, "clerkfs/" CLERKFS_VERSION);
	curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");
	return easy;
}

static struct curl_slist *request_headers(struct api *api, bool has_body)
{
	struct curl_slist *h = NULL;

	h = curl_slist_append(h, api->auth_header);
	h = curl_slist_append(h, "Clerk-API-Version: " CLERK_API_VERSION);
	h = curl_slist_append(h, "Accept: application/json");
	h = curl_slist_append(h, "Expect:");
	if (has_body)
		h = curl_slist_append(h, "Content-Type: application/json");
	return h;
}

static void set_method(CURL *easy, const char *method, const char *body)
{
	if (strcmp(method, "GET") == 0) {
		curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
		return;
	}
	curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body ? body : "");
	if (strcmp(method, "POST") != 0) {
		curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method);
		return;
	}
	/*
	 * libcurl silently sends a request again when a reused connection
	 * closes before any answer, which for a POST may create the object
	 * twice.  On a connection of its own, such a close is reported, and
	 * the caller decides (DESIGN.md's unknown-outcome rule).
	 */
	curl_easy_setopt(easy, CURLOPT_FRESH_CONNECT, 1L);
}

static long millis_until(double deadline, double now)
{
	double left = deadline - now;

	return left < 0.001 ? 1 : (long)(left * 1000);
}

/* Sends one request; fills *at.  Never retries. */
static void send_once(struct api *api, struct api_call *call,
		      const char *body, struct attempt *at)
{
	CURL *easy = thread_handle(api);
	struct curl_slist *headers;
	char *url;
	double now = limiter_now();

	if (!easy) {
		at->curl = CURLE_OUT_OF_MEMORY;
		return;
	}
	url = call->query && *call->query
		? g_strdup_printf("%s%s?%s", api->base_url, call->path,
				  call->query)
		: g_strdup_printf("%s%s", api->base_url, call->path);
	headers = request_headers(api, body != NULL);

	curl_easy_setopt(easy, CURLOPT_URL, url);
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
	set_method(easy, call->method, body);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, at->body);
	curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(easy, CURLOPT_HEADERDATA, at);
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, at->curl_error);
	curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(easy, CURLOPT_NOPROGRESS, thread_interrupted ? 0L
								   : 1L);
	curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS,
			 millis_until(call->deadline, now));
	curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
			 MIN(millis_until(call->deadline, now),
			     (long)(api->connect_timeout * 1000)));

	at->curl = curl_easy_perform(easy);
	if (at->curl == CURLE_OK)
		curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &at->status);

	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, NULL);
	curl_slist_free_all(headers);
	g_free(url);
}

static void count_request(struct api *api, const struct api_call *call,
			  const struct attempt *at)
{
	char *route = g_strdup_printf("%s %s", call->method,
				      call->route ? call->route : call->path);
	gpointer old;

	g_mutex_lock(&api->stats_lock);
	api->stats.requests++;
	if (at->status == 429)
		api->stats.rate_limited++;
	old = g_hash_table_lookup(api->stats.by_route, route);
	g_hash_table_insert(api->stats.by_route, route,
			    GSIZE_TO_POINTER(GPOINTER_TO_SIZE(old) + 1));
	g_mutex_unlock(&api->stats_lock);
}

static void count_retry(struct api *api)
{
	g_mutex_lock(&api->stats_lock);
	api->stats.retries++;
	g_mutex_unlock(&api->stats_lock);
}

/* Sleeps until t; -EINTR when the caller is interrupted meanwhile. */
static int sleep_until(double t)
{
	double left;

	while ((left = t - limiter_now()) > 0) {
		if (interrupted())
			return -EINTR;
		g_usleep((gulong)(MIN(left, API_WAIT_SLICE) * G_USEC_PER_SEC));
	}
	return interrupted() ? -EINTR : 0;
}

/* Waits for room in the limiters; 0 or -ETIMEDOUT. */
static int wait_for_room(struct api *api, const struct api_call *call)
{
	double start = 0, create_start = 0;
	int ret;

	if (call->creates_user) {
		ret = limiter_reserve(&api->creates, limiter_now(),
				      call->deadline, &create_start);
		if (ret == 0)
			ret = sleep_until(create_start);
		if (ret < 0)
			return ret;
	}
	ret = limiter_reserve(&api->general, limiter_now(), call->deadline,
			      &start);
	if (ret < 0)
		return ret;
	return sleep_until(start);
}

static bool is_idempotent(const char *method)
{
	return strcmp(method, "POST") != 0;
}

/* curl failures in which the request certainly never left. */
static bool nothing_sent(CURLcode code)
{
	return code == CURLE_COULDNT_CONNECT ||
	       code == CURLE_COULDNT_RESOLVE_HOST ||
	       code == CURLE_COULDNT_RESOLVE_PROXY;
}

static void describe_clerk_error(struct api_call *call, const GString *body)
{
	cJSON *doc = json_parse(body->str, body->len, NULL);
	const cJSON *errors = cJSON_GetObjectItemCaseSensitive(doc, "errors");
	const cJSON *first = cJSON_GetArrayItem(errors, 0);
	const char *code = json_str(first, "code");
	const char *msg = json_str(first, "long_message");
	const char *trace = json_str(doc, "clerk_trace_id");

	if (!msg)
		msg = json_str(first, "message");
	if (first) {
		snprintf(call->error, sizeof(call->error),
			 "HTTP %ld %s: %s%s%s%s", call->status,
			 code ? code : "error", msg ? msg : "(no message)",
			 trace ? " (trace " : "", trace ? trace : "",
			 trace ? ")" : "");
	} else {
		snprintf(call->error, sizeof(call->error),
			 "HTTP %ld from the API, with a body that is not a "
			 "Clerk error (%zu bytes)", call->status, body->len);
	}
	cJSON_Delete(doc);
}

static const char *clerk_error_code(const GString *body, char *buf,
				    size_t size)
{
	cJSON *doc = json_parse(body->str, body->len, NULL);
	const cJSON *first = cJSON_GetArrayItem(
		cJSON_GetObjectItemCaseSensitive(doc, "errors"), 0);
	const char *code = json_str(first, "code");

	g_strlcpy(buf, code ? code : "", size);
	cJSON_Delete(doc);
	return buf;
}

static double backoff(int attempt)
{
	double delay = API_BACKOFF_BASE * pow(2, attempt);

	if (delay > API_BACKOFF_MAX)
		delay = API_BACKOFF_MAX;
	return delay * (0.5 + g_random_double() / 2);
}

enum verdict { DONE, RETRY, FAIL };

/* Decides what to do after a transport failure; sets the errno in *err. */
static enum verdict judge_transport(struct api_call *call,
				    const struct attempt *at, int *err)
{
	if (at->curl == CURLE_ABORTED_BY_CALLBACK) {
		snprintf(call->error, sizeof(call->error), "interrupted");
		*err = -EINTR;
		call->maybe_applied = !is_idempotent(call->method);
		return FAIL;
	}
	snprintf(call->error, sizeof(call->error), "cannot reach the API: %s",
		 at->curl_error[0] ? at->curl_error
				   : curl_easy_strerror(at->curl));
	if (at->curl == CURLE_OPERATION_TIMEDOUT &&
	    limiter_now() >= call->deadline) {
		*err = -ETIMEDOUT;
		call->maybe_applied = !is_idempotent(call->method);
		return FAIL;
	}
	*err = -EIO;
	if (nothing_sent(at->curl) || is_idempotent(call->method))
		return RETRY;
	call->maybe_applied = true;
	return FAIL;
}

/* Decides what to do with an HTTP answer; sets the errno in *err. */
static enum verdict judge_status(struct api *api, struct api_call *call,
				 const struct attempt *at, int *err)
{
	char code[64];

	call->status = at->status;
	if (at->status >= 200 && at->status < 300)
		return DONE;

	describe_clerk_error(call, at->body);
	*err = api_status_errno(at->status,
				clerk_error_code(at->body, code, sizeof(code)),
				call->method);
	if (at->status == 429) {
		double wait = at->retry_after >= 0 ? at->retry_after : 1;

		limiter_pause(&api->general, limiter_now() + wait);
		if (call->creates_user)
			limiter_pause(&api->creates, limiter_now() + wait);
		return RETRY;
	}
	if (at->status >= 500) {
		if (is_idempotent(call->method))
			return RETRY;
		call->maybe_applied = true;
	}
	return FAIL;
}

/* Parses a 2xx body into call->reply; -EIO when it is not JSON. */
static int take_reply(struct api_call *call, const GString *body)
{
	struct json_error jerr;

	if (body->len == 0) {
		call->reply = cJSON_CreateObject();
		return 0;
	}
	call->reply = json_parse(body->str, body->len, &jerr);
	if (call->reply)
		return 0;
	snprintf(call->error, sizeof(call->error),
		 "the API sent a reply that is not JSON (line %d, column %d: "
		 "%s)", jerr.line, jerr.column, jerr.message);
	return -EIO;
}

/*
 * With -d, one line for each request sent, retries included, so that the
 * log adds up to what the API received.  The route is the template: the
 * line shows neither the key nor the query's values.
 */
static void log_attempt(const struct api_call *call, const struct attempt *at,
			int attempt, double started)
{
	const char *route = call->route ? call->route : call->path;
	long ms = lround((limiter_now() - started) * 1000);
	char retry[32] = "";

	if (attempt > 0)
		snprintf(retry, sizeof(retry), " (retry %d)", attempt);
	if (at->curl == CURLE_OK)
		log_debug("%s %s: HTTP %ld in %ld ms%s", call->method, route,
			  at->status, ms, retry);
	else
		log_debug("%s %s: no answer in %ld ms%s: %s", call->method,
			  route, ms, retry, at->curl_error[0] ? at->curl_error
			  : curl_easy_strerror(at->curl));
}

/*
 * A failure of the whole call, once, unless the caller reports it (a
 * refused save names the file); its requests are log_attempt's.
 */
static void log_call(const struct api_call *call, int err)
{
	const char *route = call->route ? call->route : call->path;

	if (err == 0 || err == -ENOENT || call->silent)
		return;
	if (call->status == 401)
		log_error("%s %s failed: %s; the API refused the secret key: "
			  "check the key", call->method, route, call->error);
	else if (!call->reported)
		log_warning("%s %s failed: %s", call->method, route,
			    call->error);
}

/*
 * Waits before sending again: after a 429 the limiter's pause is the wait;
 * after another failure, a backoff.  0, -EINTR, or -ETIMEDOUT when the
 * backoff would end past the deadline: then the answer is the last
 * failure (a refused connection is EIO), not a deadline spent sleeping
 * towards nothing.
 */
static int wait_to_retry(struct api *api, const struct api_call *call,
			 bool refused, int failures)
{
	double retry_at = limiter_now();

	if (!refused)
		retry_at += backoff(failures - 1);
	if (retry_at >= call->deadline)
		return -ETIMEDOUT;
	count_retry(api);
	return sleep_until(retry_at);
}

/* The error of a call that found no room in the limiter; see api_call. */
static int no_room(struct api_call *call, int err, bool refused)
{
	if (err == -EINTR) {
		snprintf(call->error, sizeof(call->error),
			 "interrupted while waiting");
		return err;
	}
	if (!call->error[0])
		snprintf(call->error, sizeof(call->error),
			 "gave up waiting for the rate limit before the "
			 "deadline");
	return refused ? -EAGAIN : err;
}

/*
 * Sends until an answer, a failure that is final, the deadline, or
 * API_MAX_ATTEMPTS failures other than 429: a 429 is sent again for as
 * long as the deadline allows (DESIGN.md: EAGAIN when it passes).
 */
int api_call(struct api *api, struct api_call *call)
{
	char *body = call->body ? json_render_compact(call->body) : NULL;
	struct attempt at;
	double sent_at;
	int err = -EIO, failures = 0;
	bool refused = false;	/* the last answer was a 429 */

	call->status = 0;
	call->reply = NULL;
	call->maybe_applied = false;
	call->sent = false;
	call->error[0] = '\0';
	at.body = g_string_sized_new(4096);

	for (int attempt = 0;; attempt++) {
		enum verdict verdict;
		int ret;

		if (attempt > 0) {
			ret = wait_to_retry(api, call, refused, failures);
			if (ret == -ETIMEDOUT)
				break;
			if (ret < 0) {
				err = ret;
				break;
			}
		}
		ret = wait_for_room(api, call);
		if (ret < 0) {
			err = no_room(call, ret, refused);
			break;
		}

		g_string_truncate(at.body, 0);
		at.status = 0;
		at.retry_after = -1;
		at.curl_error[0] = '\0';
		sent_at = limiter_now();
		call->sent = true;
		send_once(api, call, body, &at);
		count_request(api, call, &at);
		log_attempt(call, &at, attempt, sent_at);

		if (at.curl != CURLE_OK)
			verdict = judge_transport(call, &at, &err);
		else
			verdict = judge_status(api, call, &at, &err);
		refused = at.curl == CURLE_OK && at.status == 429;

		if (verdict == DONE) {
			err = take_reply(call, at.body);
			if (err == 0 || !is_idempotent(call->method))
				break;
		} else if (verdict == FAIL) {
			break;
		}
		if (!refused && ++failures >= API_MAX_ATTEMPTS)
			break;
		if (limiter_now() >= call->deadline)
			break;
	}

	g_string_free(at.body, TRUE);
	g_free(body);
	log_call(call, err);
	if (err < 0) {
		g_mutex_lock(&api->stats_lock);
		api->stats.failures++;
		g_mutex_unlock(&api->stats_lock);
	}
	return err;
}

static gint compare_routes(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A limit of N/S as two figures, name_max (N) and name_window (S). */
static void format_limit(GString *out, const char *name,
			 const struct limiter *lim)
{
	char window[G_ASCII_DTOSTR_BUF_SIZE];

	g_ascii_formatd(window, sizeof(window), "%g", lim->window);
	g_string_append_printf(out, "%s_max\t%d\n%s_window\t%s\n", name,
			       lim->max, name, window);
}

void api_stats_format(struct api *api, GString *out)
{
	GPtrArray *routes = g_ptr_array_new();
	GHashTableIter it;
	gpointer key, value;

	g_mutex_lock(&api->stats_lock);
	g_string_append_printf(out, "requests\t%lu\n", api->stats.requests);
	g_string_append_printf(out, "retries\t%lu\n", api->stats.retries);
	g_string_append_printf(out, "rate_limited\t%lu\n",
			       api->stats.rate_limited);
	g_string_append_printf(out, "failures\t%lu\n", api->stats.failures);
	g_mutex_lock(&api->general.lock);
	g_string_append_printf(out, "limiter_waits\t%lu\n",
			       api->general.waits);
	g_mutex_unlock(&api->general.lock);
	/* The limits in force, which depend on the key when not given. */
	format_limit(out, "rate", &api->general);
	format_limit(out, "create_rate", &api->creates);
	g_hash_table_iter_init(&it, api->stats.by_route);
	while (g_hash_table_iter_next(&it, &key, &value))
		g_ptr_array_add(routes, key);
	g_ptr_array_sort(routes, compare_routes);
	for (guint i = 0; i < routes->len; i++) {
		const char *route = routes->pdata[i];

		g_string_append_printf(out, "route\t%s\t%zu\n", route,
			GPOINTER_TO_SIZE(g_hash_table_lookup(
				api->stats.by_route, route)));
	}
	g_mutex_unlock(&api->stats_lock);
	g_ptr_array_free(routes, TRUE);
}
