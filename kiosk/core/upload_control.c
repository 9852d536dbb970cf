/*
 * upload_control.c - the control socket's client (see upload_control.h and
 * kiosk/upload/CONTROL.md).
 */
#include "upload_control.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* While the uploader's backlog of connections is full, try again this often. */
#define CONNECT_RETRY_MS 20

static const char *const error_texts[UPLOAD_CONTROL_ERROR_LAST] = {
        [UPLOAD_CONTROL_OK] = "ok",
        [UPLOAD_CONTROL_NOT_RUNNING] = "the uploader is not running",
        [UPLOAD_CONTROL_PERMISSION] = "no permission to use the uploader's control socket",
        [UPLOAD_CONTROL_TIMEOUT] = "the uploader did not answer in time",
        [UPLOAD_CONTROL_BAD_ANSWER] = "the uploader's answer is not understood",
        [UPLOAD_CONTROL_REFUSED] = "the uploader refused the request",
        [UPLOAD_CONTROL_IO] = "the control socket failed",
        [UPLOAD_CONTROL_NOMEM] = "out of memory",
        [UPLOAD_CONTROL_INVALID] = "invalid argument",
};

const char *upload_control_strerror(enum upload_control_error error)
{
	if ((unsigned)error >= UPLOAD_CONTROL_ERROR_LAST)
		return "unknown error";
	return error_texts[error];
}

static const char *const kind_names[UPLOAD_CONTROL_KIND_LAST] = {
        [UPLOAD_CONTROL_KIND_STATUS] = "status",
        [UPLOAD_CONTROL_KIND_RETRY_NOW] = "retry-now",
        [UPLOAD_CONTROL_KIND_DISCARD] = "discard",
        [UPLOAD_CONTROL_KIND_NETWORK_TEST] = "network-test",
        [UPLOAD_CONTROL_KIND_LOG] = "log",
        [UPLOAD_CONTROL_KIND_RESTART] = "restart",
};

static const char *const step_names[UPLOAD_CONTROL_STEPS] = {"dns", "tcp", "tls", "http"};

static const char *const result_names[UPLOAD_CONTROL_STEP_RESULT_LAST] = {
        [UPLOAD_CONTROL_STEP_OK] = "ok",
        [UPLOAD_CONTROL_STEP_FAILED] = "failed",
        [UPLOAD_CONTROL_STEP_SKIPPED] = "skipped",
};

/* ---- checked members ---------------------------------------------------------- */

/* Integers travel as JSON numbers (doubles): exact up to 2^53. */
#define EXACT_MAX 9007199254740992.0

static bool get_int(const cJSON *obj, const char *name, double min, double max, double *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
	if (!cJSON_IsNumber(v))
		return false;
	double d = v->valuedouble;
	/* NaN fails every comparison. */
	if (!(d >= min && d <= max) || d != (double)(int64_t)d)
		return false;
	*out = d;
	return true;
}

static bool get_i64(const cJSON *obj, const char *name, int64_t *out)
{
	double d;
	if (!get_int(obj, name, -EXACT_MAX, EXACT_MAX, &d))
		return false;
	*out = (int64_t)d;
	return true;
}

static bool get_u64(const cJSON *obj, const char *name, uint64_t *out)
{
	double d;
	if (!get_int(obj, name, 0, EXACT_MAX, &d))
		return false;
	*out = (uint64_t)d;
	return true;
}

static bool get_u32(const cJSON *obj, const char *name, uint32_t *out)
{
	double d;
	if (!get_int(obj, name, 0, 4294967295.0, &d))
		return false;
	*out = (uint32_t)d;
	return true;
}

enum text_kind {
	TEXT_PRINTABLE, /* printable ASCII, blanks allowed */
	TEXT_TOKEN,     /* printable ASCII without blanks, quotes or backslashes; may be empty */
	TEXT_ID,        /* exactly 32 lower-case hex digits */
};

static bool text_ok(const char *s, enum text_kind kind)
{
	size_t n = 0;
	for (; s[n]; n++) {
		unsigned char c = (unsigned char)s[n];
		switch (kind) {
		case TEXT_PRINTABLE:
			if (c < 0x20 || c > 0x7e)
				return false;
			break;
		case TEXT_TOKEN:
			if (c <= 0x20 || c > 0x7e || c == '"' || c == '\\')
				return false;
			break;
		case TEXT_ID:
			if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
				return false;
			break;
		}
	}
	return kind != TEXT_ID || n == UPLOAD_CONTROL_ID_MAX - 1;
}

static bool get_text(const cJSON *obj, const char *name, enum text_kind kind, char *out, size_t cap)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
	if (!cJSON_IsString(v) || !v->valuestring)
		return false;
	size_t len = strlen(v->valuestring);
	if (len >= cap || !text_ok(v->valuestring, kind))
		return false;
	memcpy(out, v->valuestring, len + 1);
	return true;
}

static bool get_bool(const cJSON *obj, const char *name, bool *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
	if (!cJSON_IsBool(v))
		return false;
	*out = cJSON_IsTrue(v);
	return true;
}

static bool state_index(const char *name, enum spool_state *out)
{
	for (int s = 0; s < SPOOL_STATE_LAST; s++) {
		if (strcmp(name, spool_state_name((enum spool_state)s)) == 0) {
			*out = (enum spool_state)s;
			return true;
		}
	}
	return false;
}

/* ---- the parts of an answer ---------------------------------------------------- */

static bool parse_items(const cJSON *obj, const char *name, struct upload_control_item *items,
                        size_t *count)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, name);
	*count = 0;
	if (!cJSON_IsArray(arr))
		return false;
	const cJSON *e;
	cJSON_ArrayForEach(e, arr)
	{
		if (*count == UPLOAD_CONTROL_ITEMS_MAX || !cJSON_IsObject(e))
			return false;
		struct upload_control_item *it = &items[*count];
		if (!get_text(e, "id", TEXT_ID, it->id, sizeof(it->id)) ||
		    !get_i64(e, "age_seconds", &it->age_seconds) ||
		    !get_u64(e, "bytes", &it->bytes) || !get_u32(e, "attempts", &it->attempts) ||
		    !get_i64(e, "next_due", &it->next_due) ||
		    !get_text(e, "last_error", TEXT_TOKEN, it->last_error, sizeof(it->last_error)))
			return false;
		(*count)++;
	}
	return true;
}

static bool parse_per_state(const cJSON *obj, const char *name, bool bytes,
                            struct upload_control_status *st)
{
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(obj, name);
	if (!cJSON_IsObject(o))
		return false;
	for (int s = 0; s < SPOOL_STATE_LAST; s++) {
		const char *state = spool_state_name((enum spool_state)s);
		if (bytes ? !get_u64(o, state, &st->bytes[s]) : !get_u32(o, state, &st->count[s]))
			return false;
	}
	return true;
}

/* The status document: the status file, or a status answer's "status". */
static bool parse_status_doc(const cJSON *s, struct upload_control_status *st)
{
	if (!cJSON_IsObject(s))
		return false;
	int64_t version = 0;
	if (!get_i64(s, "version", &version) || version != 1)
		return false;
	if (!get_i64(s, "updated", &st->updated) || !get_i64(s, "started", &st->started) ||
	    !get_i64(s, "pid", &st->pid) ||
	    !get_text(s, "activity", TEXT_TOKEN, st->activity, sizeof(st->activity)) ||
	    !parse_per_state(s, "counts", false, st) || !parse_per_state(s, "bytes", true, st) ||
	    !get_i64(s, "oldest_age_seconds", &st->oldest_age_seconds) ||
	    !get_i64(s, "last_success", &st->last_success) ||
	    !get_i64(s, "last_attempt", &st->last_attempt) ||
	    !get_text(s, "last_outcome", TEXT_TOKEN, st->last_outcome, sizeof(st->last_outcome)) ||
	    !get_text(s, "last_error", TEXT_TOKEN, st->last_error, sizeof(st->last_error)) ||
	    !get_i64(s, "last_error_time", &st->last_error_time) ||
	    !get_i64(s, "next_attempt", &st->next_attempt) ||
	    !get_u64(s, "bytes_sent", &st->bytes_sent))
		return false;
	const cJSON *uploads = cJSON_GetObjectItemCaseSensitive(s, "uploads");
	if (!cJSON_IsObject(uploads))
		return false;
	const cJSON *u;
	cJSON_ArrayForEach(u, uploads)
	{
		if (st->upload_count == UPLOAD_CONTROL_OUTCOMES || !u->string)
			return false;
		struct upload_control_outcome_count *c = &st->uploads[st->upload_count];
		size_t len = strlen(u->string);
		if (len == 0 || len >= sizeof(c->name) || !text_ok(u->string, TEXT_TOKEN) ||
		    !get_u64(uploads, u->string, &c->count))
			return false;
		memcpy(c->name, u->string, len + 1);
		st->upload_count++;
	}
	return parse_items(s, "queue", st->queue, &st->queue_count) &&
	       parse_items(s, "failed", st->failed, &st->failed_count) &&
	       parse_items(s, "quarantine", st->quarantine, &st->quarantine_count);
}

static bool parse_log_line(const cJSON *o, struct log_ring_entry *e)
{
	const cJSON *level = cJSON_GetObjectItemCaseSensitive(o, "level");
	const cJSON *text = cJSON_GetObjectItemCaseSensitive(o, "text");
	if (!cJSON_IsObject(o) || !get_u64(o, "seq", &e->seq) || e->seq == 0 ||
	    !get_i64(o, "time", &e->time_ms) || !cJSON_IsString(level) || !level->valuestring ||
	    !cJSON_IsString(text) || !text->valuestring ||
	    !log_text_valid(text->valuestring, sizeof(e->text)))
		return false;
	bool known = false;
	for (int l = 0; l < LOG_LEVEL_LAST && !known; l++) {
		if (strcmp(level->valuestring, log_level_name((enum log_level)l)) == 0) {
			e->level = (enum log_level)l;
			known = true;
		}
	}
	if (!known)
		return false;
	memcpy(e->text, text->valuestring, strlen(text->valuestring) + 1);
	return true;
}

/* The lines, oldest first (numbers rising); into log, or only checked when
 * log is NULL. */
static bool parse_log(const cJSON *root, struct upload_control_log *log)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "lines");
	uint32_t omitted = 0;
	if (!cJSON_IsArray(arr) || !get_u32(root, "omitted", &omitted))
		return false;
	struct log_ring_entry one;
	uint64_t last = 0;
	size_t count = 0;
	const cJSON *o;
	cJSON_ArrayForEach(o, arr)
	{
		struct log_ring_entry *e = log ? &log->lines[count] : &one;
		if (count == LOG_RING_LINES)
			return false;
		memset(e, 0, sizeof(*e));
		if (!parse_log_line(o, e) || e->seq <= last)
			return false;
		last = e->seq;
		count++;
	}
	if (log) {
		log->count = count;
		log->omitted = omitted;
	}
	return true;
}

static bool parse_step(const cJSON *o, struct upload_control_step *step)
{
	char result[16];
	if (!cJSON_IsObject(o) ||
	    !get_text(o, "name", TEXT_TOKEN, step->name, sizeof(step->name)) ||
	    !get_text(o, "result", TEXT_TOKEN, result, sizeof(result)) ||
	    !get_text(o, "code", TEXT_TOKEN, step->code, sizeof(step->code)) ||
	    !get_text(o, "reason", TEXT_PRINTABLE, step->reason, sizeof(step->reason)) ||
	    !get_u32(o, "ms", &step->ms))
		return false;
	bool known = false;
	for (int i = 0; i < UPLOAD_CONTROL_STEPS; i++)
		known = known || strcmp(step->name, step_names[i]) == 0;
	if (!known)
		return false;
	for (int r = 0; r < UPLOAD_CONTROL_STEP_RESULT_LAST; r++) {
		if (strcmp(result, result_names[r]) == 0) {
			step->result = (enum upload_control_step_result)r;
			return true;
		}
	}
	return false;
}

static bool parse_nettest(const cJSON *root, struct upload_control_nettest *nt)
{
	if (!get_bool(root, "passed", &nt->passed) || !get_u32(root, "ms", &nt->ms))
		return false;
	const cJSON *failed = cJSON_GetObjectItemCaseSensitive(root, "failed_step");
	if (nt->passed) {
		if (!cJSON_IsNull(failed))
			return false;
		nt->failed_step[0] = '\0';
	} else if (!get_text(root, "failed_step", TEXT_TOKEN, nt->failed_step,
	                     sizeof(nt->failed_step)) ||
	           !nt->failed_step[0]) {
		return false;
	}
	const cJSON *steps = cJSON_GetObjectItemCaseSensitive(root, "steps");
	if (!cJSON_IsArray(steps) || cJSON_GetArraySize(steps) != UPLOAD_CONTROL_STEPS)
		return false;
	const cJSON *o;
	nt->step_count = 0;
	cJSON_ArrayForEach(o, steps)
	{
		struct upload_control_step *step = &nt->steps[nt->step_count];
		if (!parse_step(o, step) || strcmp(step->name, step_names[nt->step_count]) != 0)
			return false;
		if (nt->passed && step->result != UPLOAD_CONTROL_STEP_OK)
			return false;
		nt->step_count++;
	}
	return true;
}

static bool parse_refusal(const cJSON *root, struct upload_control_refusal *r)
{
	bool final = false;
	if (!get_bool(root, "final", &final) || !final ||
	    !get_text(root, "error", TEXT_TOKEN, r->code, sizeof(r->code)) || !r->code[0] ||
	    !get_text(root, "message", TEXT_PRINTABLE, r->message, sizeof(r->message)))
		return false;
	/* Optional: where the item is that may not be discarded. */
	if (cJSON_GetObjectItemCaseSensitive(root, "state") &&
	    !get_text(root, "state", TEXT_TOKEN, r->state, sizeof(r->state)))
		return false;
	return true;
}

static bool parse_root(enum upload_control_kind kind, const cJSON *root,
                       struct upload_control_answer *a, enum upload_control_error *result)
{
	*result = UPLOAD_CONTROL_BAD_ANSWER;
	int64_t version = 0;
	bool ok = false;
	if (!cJSON_IsObject(root) || !get_i64(root, "version", &version) ||
	    version != UPLOAD_CONTROL_VERSION || !get_bool(root, "ok", &ok) ||
	    !get_bool(root, "final", &a->final))
		return false;
	/* A refusal of a request the uploader could not read names none. */
	const cJSON *request = cJSON_GetObjectItemCaseSensitive(root, "request");
	if (request || ok) {
		if (!cJSON_IsString(request) || !request->valuestring ||
		    strcmp(request->valuestring, kind_names[kind]) != 0)
			return false;
	}
	if (!ok) {
		if (!parse_refusal(root, &a->refusal))
			return false;
		*result = UPLOAD_CONTROL_REFUSED;
		return true;
	}
	if (!a->final && kind != UPLOAD_CONTROL_KIND_NETWORK_TEST)
		return false;
	switch (kind) {
	case UPLOAD_CONTROL_KIND_STATUS:
		if (!a->status ||
		    !parse_status_doc(cJSON_GetObjectItemCaseSensitive(root, "status"), a->status))
			return false;
		break;
	case UPLOAD_CONTROL_KIND_LOG:
		if (!parse_log(root, a->log))
			return false;
		break;
	case UPLOAD_CONTROL_KIND_RESTART:
		if (!get_i64(root, "pid", &a->pid) || a->pid <= 0)
			return false;
		break;
	case UPLOAD_CONTROL_KIND_RETRY_NOW:
		if (!get_u32(root, "queued", &a->queued))
			return false;
		break;
	case UPLOAD_CONTROL_KIND_DISCARD: {
		char state[16];
		if (!get_text(root, "id", TEXT_ID, a->discarded.id, sizeof(a->discarded.id)) ||
		    !get_text(root, "state", TEXT_TOKEN, state, sizeof(state)) ||
		    !state_index(state, &a->discarded.state) ||
		    (a->discarded.state != SPOOL_STATE_FAILED &&
		     a->discarded.state != SPOOL_STATE_QUARANTINE) ||
		    !get_text(root, "class", TEXT_TOKEN, a->discarded.error_class,
		              sizeof(a->discarded.error_class)))
			return false;
		break;
	}
	case UPLOAD_CONTROL_KIND_NETWORK_TEST:
		if (a->final
		            ? !parse_nettest(root, &a->nettest)
		            : !parse_step(cJSON_GetObjectItemCaseSensitive(root, "step"), &a->step))
			return false;
		break;
	case UPLOAD_CONTROL_KIND_LAST:
		return false;
	}
	*result = UPLOAD_CONTROL_OK;
	return true;
}

enum upload_control_error upload_control_parse_answer(enum upload_control_kind kind,
                                                      const char *data, size_t len,
                                                      struct upload_control_answer *a)
{
	if (!a || (unsigned)kind >= UPLOAD_CONTROL_KIND_LAST)
		return UPLOAD_CONTROL_INVALID;
	struct upload_control_status *status = a->status;
	struct upload_control_log *log = a->log;
	memset(a, 0, sizeof(*a));
	a->status = status;
	a->log = log;
	if (status)
		memset(status, 0, sizeof(*status));
	if (log)
		memset(log, 0, sizeof(*log));
	if (!data || len == 0 || len > UPLOAD_CONTROL_ANSWER_MAX || memchr(data, '\0', len))
		return UPLOAD_CONTROL_BAD_ANSWER;
	cJSON *root = cJSON_ParseWithLength(data, len);
	enum upload_control_error result = UPLOAD_CONTROL_BAD_ANSWER;
	if (root)
		(void)parse_root(kind, root, a, &result);
	cJSON_Delete(root);
	if (result == UPLOAD_CONTROL_BAD_ANSWER) {
		memset(a, 0, sizeof(*a));
		a->status = status;
		a->log = log;
		if (status)
			memset(status, 0, sizeof(*status));
		if (log)
			memset(log, 0, sizeof(*log));
	}
	return result;
}

enum upload_control_error upload_control_parse_status_document(const char *data, size_t len,
                                                               struct upload_control_status *out)
{
	if (!out)
		return UPLOAD_CONTROL_INVALID;
	memset(out, 0, sizeof(*out));
	if (!data || len == 0 || len > UPLOAD_CONTROL_STATUS_FILE_MAX || memchr(data, '\0', len))
		return UPLOAD_CONTROL_BAD_ANSWER;
	cJSON *root = cJSON_ParseWithLength(data, len);
	bool ok = root && parse_status_doc(root, out);
	cJSON_Delete(root);
	if (!ok) {
		memset(out, 0, sizeof(*out));
		return UPLOAD_CONTROL_BAD_ANSWER;
	}
	return UPLOAD_CONTROL_OK;
}

/* ---- the socket ------------------------------------------------------------------ */

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int remaining(uint64_t deadline)
{
	uint64_t now = mono_ms();
	return now >= deadline ? 0 : (int)(deadline - now);
}

static enum upload_control_error connect_error(int err)
{
	switch (err) {
	case ENOENT:
	case ECONNREFUSED:
	case ENOTDIR:
		return UPLOAD_CONTROL_NOT_RUNNING;
	case EACCES:
	case EPERM:
		return UPLOAD_CONTROL_PERMISSION;
	case ENOMEM:
	case ENOBUFS:
		return UPLOAD_CONTROL_NOMEM;
	default:
		return UPLOAD_CONTROL_IO;
	}
}

static enum upload_control_error open_socket(const char *path, uint64_t deadline, int *out)
{
	*out = -1;
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	if (!path || !*path || strlen(path) >= sizeof(addr.sun_path))
		return UPLOAD_CONTROL_INVALID;
	memcpy(addr.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return connect_error(errno);
	for (;;) {
		if (connect(fd, (const struct sockaddr *)&addr, sizeof(addr)) == 0)
			break;
		int err = errno;
		if (err == EINTR)
			continue;
		if (err == EAGAIN) {
			/* The uploader's backlog is full: it is busy, try again. */
			int left = remaining(deadline);
			if (left == 0) {
				close(fd);
				return UPLOAD_CONTROL_TIMEOUT;
			}
			struct timespec ts = {
			        0, (left < CONNECT_RETRY_MS ? left : CONNECT_RETRY_MS) * 1000000L};
			nanosleep(&ts, NULL);
			continue;
		}
		close(fd);
		/* A socket of another type at that path is not an uploader. */
		return err == EPROTOTYPE ? UPLOAD_CONTROL_NOT_RUNNING : connect_error(err);
	}
	*out = fd;
	return UPLOAD_CONTROL_OK;
}

/* Waits for events on fd, or for cancel_fd (-1: none) to become readable,
 * which sets *cancelled and returns OK. */
static enum upload_control_error wait_for(int fd, short events, uint64_t deadline, int cancel_fd,
                                          bool *cancelled)
{
	for (;;) {
		struct pollfd p[2] = {{.fd = fd, .events = events},
		                      {.fd = cancel_fd, .events = POLLIN}};
		int rc = poll(p, cancel_fd >= 0 ? 2 : 1, remaining(deadline));
		if (rc > 0 && cancel_fd >= 0 && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
			*cancelled = true;
			return UPLOAD_CONTROL_OK;
		}
		if (rc > 0)
			return UPLOAD_CONTROL_OK;
		if (rc == 0)
			return UPLOAD_CONTROL_TIMEOUT;
		if (errno != EINTR)
			return UPLOAD_CONTROL_IO;
	}
}

static enum upload_control_error send_request(int fd, const char *text, uint64_t deadline)
{
	size_t len = strlen(text);
	for (;;) {
		ssize_t n = send(fd, text, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == (ssize_t)len)
			return UPLOAD_CONTROL_OK;
		if (n >= 0)
			return UPLOAD_CONTROL_IO;
		if (errno == EINTR)
			continue;
		if (errno == EPIPE || errno == ECONNRESET)
			return UPLOAD_CONTROL_NOT_RUNNING;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return UPLOAD_CONTROL_IO;
		bool cancelled = false;
		enum upload_control_error e = wait_for(fd, POLLOUT, deadline, -1, &cancelled);
		if (e != UPLOAD_CONTROL_OK)
			return e;
	}
}

/* One message into buf (UPLOAD_CONTROL_ANSWER_MAX + 1 bytes); or, when
 * cancel_fd became readable first, *cancelled and OK. */
static enum upload_control_error receive(int fd, char *buf, uint64_t deadline, int cancel_fd,
                                         bool *cancelled, size_t *len)
{
	for (;;) {
		struct iovec iov = {.iov_base = buf, .iov_len = UPLOAD_CONTROL_ANSWER_MAX + 1};
		struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
		ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT);
		if (n > 0) {
			if ((size_t)n > UPLOAD_CONTROL_ANSWER_MAX || (msg.msg_flags & MSG_TRUNC))
				return UPLOAD_CONTROL_BAD_ANSWER;
			*len = (size_t)n;
			return UPLOAD_CONTROL_OK;
		}
		if (n == 0) /* closed without (another) answer */
			return UPLOAD_CONTROL_BAD_ANSWER;
		if (errno == EINTR)
			continue;
		if (errno == ECONNRESET)
			return UPLOAD_CONTROL_BAD_ANSWER;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return UPLOAD_CONTROL_IO;
		enum upload_control_error e = wait_for(fd, POLLIN, deadline, cancel_fd, cancelled);
		if (e != UPLOAD_CONTROL_OK || *cancelled)
			return e;
	}
}

static int effective_timeout(int timeout_ms)
{
	return timeout_ms > 0 ? timeout_ms : UPLOAD_CONTROL_DEFAULT_TIMEOUT_MS;
}

/* Connects, sends request, reads and parses answers of kind until the final
 * one (each within timeout_ms); on_step sees the network test's steps. Stops
 * waiting when on_step returns false or cancel_fd (-1: none) is readable,
 * with partial->stopped. */
static enum upload_control_error exchange(const char *path, int timeout_ms, const char *request,
                                          enum upload_control_kind kind,
                                          struct upload_control_answer *a,
                                          upload_control_step_fn on_step, void *ctx,
                                          struct upload_control_nettest *partial, int cancel_fd)
{
	uint64_t span = (uint64_t)effective_timeout(timeout_ms);
	int fd = -1;
	char *buf = malloc(UPLOAD_CONTROL_ANSWER_MAX + 1);
	if (!buf)
		return UPLOAD_CONTROL_NOMEM;
	enum upload_control_error e = open_socket(path, mono_ms() + span, &fd);
	if (e == UPLOAD_CONTROL_OK)
		e = send_request(fd, request, mono_ms() + span);
	while (e == UPLOAD_CONTROL_OK) {
		size_t len = 0;
		bool cancelled = false;
		e = receive(fd, buf, mono_ms() + span, cancel_fd, &cancelled, &len);
		if (e != UPLOAD_CONTROL_OK)
			break;
		if (cancelled) {
			if (partial)
				partial->stopped = true;
			break;
		}
		e = upload_control_parse_answer(kind, buf, len, a);
		if (e != UPLOAD_CONTROL_OK || a->final)
			break;
		/* A step of the network test. */
		if (partial && partial->step_count < UPLOAD_CONTROL_STEPS)
			partial->steps[partial->step_count++] = a->step;
		if (on_step && !on_step(&a->step, ctx)) {
			/* The caller stops waiting; closing ends the test. */
			if (partial)
				partial->stopped = true;
			break;
		}
	}
	if (fd >= 0)
		close(fd);
	free(buf);
	return e;
}

static void give_refusal(const struct upload_control_answer *a, enum upload_control_error e,
                         struct upload_control_refusal *refusal)
{
	if (!refusal)
		return;
	if (e == UPLOAD_CONTROL_REFUSED)
		*refusal = a->refusal;
	else
		memset(refusal, 0, sizeof(*refusal));
}

/* ---- the requests ------------------------------------------------------------------ */

enum upload_control_error upload_control_status(const char *socket_path, int timeout_ms,
                                                struct upload_control_status **out,
                                                struct upload_control_refusal *refusal)
{
	if (out)
		*out = NULL;
	if (!out)
		return UPLOAD_CONTROL_INVALID;
	struct upload_control_answer *a = calloc(1, sizeof(*a));
	struct upload_control_status *st = calloc(1, sizeof(*st));
	if (!a || !st) {
		free(a);
		free(st);
		return UPLOAD_CONTROL_NOMEM;
	}
	a->status = st;
	enum upload_control_error e =
	        exchange(socket_path, timeout_ms, "{\"version\":1,\"request\":\"status\"}",
	                 UPLOAD_CONTROL_KIND_STATUS, a, NULL, NULL, NULL, -1);
	give_refusal(a, e, refusal);
	if (e == UPLOAD_CONTROL_OK) {
		*out = st;
		st = NULL;
	}
	free(st);
	free(a);
	return e;
}

void upload_control_status_destroy(struct upload_control_status *status)
{
	free(status);
}

enum upload_control_error upload_control_retry_now(const char *socket_path, int timeout_ms,
                                                   uint32_t *queued,
                                                   struct upload_control_refusal *refusal)
{
	struct upload_control_answer *a = calloc(1, sizeof(*a));
	if (!a)
		return UPLOAD_CONTROL_NOMEM;
	enum upload_control_error e =
	        exchange(socket_path, timeout_ms, "{\"version\":1,\"request\":\"retry-now\"}",
	                 UPLOAD_CONTROL_KIND_RETRY_NOW, a, NULL, NULL, NULL, -1);
	give_refusal(a, e, refusal);
	if (queued)
		*queued = e == UPLOAD_CONTROL_OK ? a->queued : 0;
	free(a);
	return e;
}

enum upload_control_error upload_control_discard(const char *socket_path, int timeout_ms,
                                                 const char *id,
                                                 struct upload_control_discarded *out,
                                                 struct upload_control_refusal *refusal)
{
	if (out)
		memset(out, 0, sizeof(*out));
	if (refusal)
		memset(refusal, 0, sizeof(*refusal));
	if (!id || !text_ok(id, TEXT_ID))
		return UPLOAD_CONTROL_INVALID;
	char request[96];
	snprintf(request, sizeof(request), "{\"version\":1,\"request\":\"discard\",\"id\":\"%s\"}",
	         id);
	struct upload_control_answer *a = calloc(1, sizeof(*a));
	if (!a)
		return UPLOAD_CONTROL_NOMEM;
	enum upload_control_error e =
	        exchange(socket_path, timeout_ms, request, UPLOAD_CONTROL_KIND_DISCARD, a, NULL,
	                 NULL, NULL, -1);
	/* The answer must be about the id asked for. */
	if (e == UPLOAD_CONTROL_OK && strcmp(a->discarded.id, id) != 0)
		e = UPLOAD_CONTROL_BAD_ANSWER;
	give_refusal(a, e, refusal);
	if (out && e == UPLOAD_CONTROL_OK)
		*out = a->discarded;
	free(a);
	return e;
}

enum upload_control_error upload_control_network_test(const char *socket_path, int timeout_ms,
                                                      upload_control_step_fn on_step, void *ctx,
                                                      struct upload_control_nettest *out,
                                                      struct upload_control_refusal *refusal)
{
	return upload_control_network_test_cancellable(socket_path, timeout_ms, -1, on_step, ctx,
	                                               out, refusal);
}

enum upload_control_error upload_control_network_test_cancellable(
        const char *socket_path, int timeout_ms, int cancel_fd, upload_control_step_fn on_step,
        void *ctx, struct upload_control_nettest *out, struct upload_control_refusal *refusal)
{
	if (!out)
		return UPLOAD_CONTROL_INVALID;
	memset(out, 0, sizeof(*out));
	struct upload_control_answer *a = calloc(1, sizeof(*a));
	if (!a)
		return UPLOAD_CONTROL_NOMEM;
	enum upload_control_error e =
	        exchange(socket_path, timeout_ms, "{\"version\":1,\"request\":\"network-test\"}",
	                 UPLOAD_CONTROL_KIND_NETWORK_TEST, a, on_step, ctx, out, cancel_fd);
	give_refusal(a, e, refusal);
	if (e == UPLOAD_CONTROL_OK && a->final && !out->stopped)
		*out = a->nettest;
	free(a);
	return e;
}

enum upload_control_error upload_control_log(const char *socket_path, int timeout_ms,
                                             uint32_t max_lines, struct upload_control_log **out,
                                             struct upload_control_refusal *refusal)
{
	if (out)
		*out = NULL;
	if (refusal)
		memset(refusal, 0, sizeof(*refusal));
	if (!out || max_lines > LOG_RING_LINES)
		return UPLOAD_CONTROL_INVALID;
	char request[80];
	snprintf(request, sizeof(request), "{\"version\":1,\"request\":\"log\",\"lines\":%u}",
	         max_lines ? max_lines : LOG_RING_LINES);
	struct upload_control_answer *a = calloc(1, sizeof(*a));
	struct upload_control_log *log = calloc(1, sizeof(*log));
	if (!a || !log) {
		free(a);
		free(log);
		return UPLOAD_CONTROL_NOMEM;
	}
	a->log = log;
	enum upload_control_error e = exchange(socket_path, timeout_ms, request,
	                                       UPLOAD_CONTROL_KIND_LOG, a, NULL, NULL, NULL, -1);
	/* No more than asked for. */
	if (e == UPLOAD_CONTROL_OK && max_lines && log->count > max_lines)
		e = UPLOAD_CONTROL_BAD_ANSWER;
	give_refusal(a, e, refusal);
	if (e == UPLOAD_CONTROL_OK) {
		*out = log;
		log = NULL;
	}
	free(log);
	free(a);
	return e;
}

void upload_control_log_destroy(struct upload_control_log *log)
{
	free(log);
}

enum upload_control_error upload_control_restart(const char *socket_path, int timeout_ms,
                                                 int64_t *pid,
                                                 struct upload_control_refusal *refusal)
{
	if (pid)
		*pid = 0;
	struct upload_control_answer *a = calloc(1, sizeof(*a));
	if (!a)
		return UPLOAD_CONTROL_NOMEM;
	enum upload_control_error e =
	        exchange(socket_path, timeout_ms, "{\"version\":1,\"request\":\"restart\"}",
	                 UPLOAD_CONTROL_KIND_RESTART, a, NULL, NULL, NULL, -1);
	give_refusal(a, e, refusal);
	if (pid && e == UPLOAD_CONTROL_OK)
		*pid = a->pid;
	free(a);
	return e;
}

enum upload_control_error upload_control_status_file(const char *path,
                                                     struct upload_control_status **out)
{
	if (out)
		*out = NULL;
	if (!out || !path || !*path)
		return UPLOAD_CONTROL_INVALID;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		switch (errno) {
		case ENOENT:
		case ENOTDIR:
			return UPLOAD_CONTROL_NOT_RUNNING;
		case EACCES:
		case EPERM:
			return UPLOAD_CONTROL_PERMISSION;
		case ENOMEM:
			return UPLOAD_CONTROL_NOMEM;
		default:
			return UPLOAD_CONTROL_IO;
		}
	}
	enum upload_control_error e = UPLOAD_CONTROL_NOMEM;
	char *buf = malloc(UPLOAD_CONTROL_STATUS_FILE_MAX + 1);
	struct upload_control_status *st = calloc(1, sizeof(*st));
	size_t len = 0;
	if (!buf || !st)
		goto out;
	e = UPLOAD_CONTROL_OK;
	while (len <= UPLOAD_CONTROL_STATUS_FILE_MAX) {
		ssize_t n = read(fd, buf + len, UPLOAD_CONTROL_STATUS_FILE_MAX + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			e = UPLOAD_CONTROL_IO;
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (e == UPLOAD_CONTROL_OK)
		e = upload_control_parse_status_document(buf, len, st);
	if (e == UPLOAD_CONTROL_OK) {
		*out = st;
		st = NULL;
	}
out:
	close(fd);
	free(buf);
	free(st);
	return e;
}
