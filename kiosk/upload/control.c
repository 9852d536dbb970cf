/*
 * control.c - the control socket (see control.h and CONTROL.md).
 */
#include "control.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "control_request.h"
#include "log.h"
#include "nettest.h"

/* Connections served by one dispatch at most, so a flood of connections
 * cannot keep the uploader from its uploads. */
#define MAX_PER_DISPATCH 8
#define LISTEN_BACKLOG   16
/* After accept() failed for want of descriptors or memory, the listening
 * socket is left alone this long: it would be ready again at once. */
#define ACCEPT_PAUSE_MS 1000
/* The log answer: room kept for its head, and what one line costs besides
 * its escaped text (the member names, seq, time and level). */
#define LOG_ANSWER_HEAD 512u
#define LOG_LINE_COST   128u

struct control_server {
	int listen_fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t dev; /* the socket file this server made */
	ino_t ino;
	const struct config_intake *intake;
	const struct control_ops *ops;
	void *ctx;

	/* The one connection being read (-1 when none). */
	int conn_fd;
	uid_t conn_uid;
	uint64_t conn_deadline;
	uint64_t accept_pause_until; /* monotonic ms; 0 when accepting */

	/* The network test: its thread owns nt_fd and nt_report until it
	 * writes done_fd; then this thread joins it. */
	bool nt_running;
	pthread_t nt_thread;
	int nt_fd;
	uid_t nt_uid;
	int done_fd;
	atomic_bool nt_cancel;
	atomic_bool nt_client_gone;
	struct nettest_report nt_report;
};

/* ---- answers ------------------------------------------------------------- */

static cJSON *answer_head(bool ok, bool final, const char *request)
{
	cJSON *root = cJSON_CreateObject();
	if (!root)
		return NULL;
	if (!cJSON_AddNumberToObject(root, "version", CONTROL_VERSION) ||
	    !cJSON_AddBoolToObject(root, "ok", ok) ||
	    !cJSON_AddBoolToObject(root, "final", final) ||
	    (request && !cJSON_AddStringToObject(root, "request", request))) {
		cJSON_Delete(root);
		return NULL;
	}
	return root;
}

/* Sends root as one message and frees it. False when it could not go out
 * whole (the peer is gone, too slow, or the answer too large). */
static bool send_answer(int fd, cJSON *root)
{
	if (!root) {
		log_error("control: cannot build an answer (out of memory)");
		return false;
	}
	char *text = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	if (!text) {
		log_error("control: cannot build an answer (out of memory)");
		return false;
	}
	size_t len = strlen(text);
	bool ok = false;
	if (len > CONTROL_ANSWER_MAX) {
		log_error("control: answer of %zu bytes over the limit; not sent", len);
	} else {
		ssize_t n;
		do
			n = send(fd, text, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		while (n < 0 && errno == EINTR);
		if (n == (ssize_t)len)
			ok = true;
		else
			log_debug("control: answer not delivered (%s)",
			          n < 0 ? strerror(errno) : "short send");
	}
	free(text);
	return ok;
}

static void send_error(int fd, const char *request, const char *code, const char *message)
{
	cJSON *root = answer_head(false, true, request);
	if (root && (!cJSON_AddStringToObject(root, "error", code) ||
	             !cJSON_AddStringToObject(root, "message", message))) {
		cJSON_Delete(root);
		root = NULL;
	}
	(void)send_answer(fd, root);
}

/* ---- the network test ----------------------------------------------------- */

static cJSON *step_json(enum nettest_step step, const struct nettest_step_report *r)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	if (!cJSON_AddStringToObject(o, "name", nettest_step_name(step)) ||
	    !cJSON_AddStringToObject(o, "result", nettest_result_name(r->result)) ||
	    !cJSON_AddStringToObject(o, "code", r->code ? r->code : "") ||
	    !cJSON_AddStringToObject(o, "reason", r->reason) ||
	    !cJSON_AddNumberToObject(o, "ms", r->ms)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static void handle_step(enum nettest_step step, const struct nettest_step_report *r, void *ctx)
{
	struct control_server *s = ctx;
	if (atomic_load(&s->nt_client_gone))
		return;
	cJSON *root = answer_head(true, false, control_op_name(CONTROL_OP_NETWORK_TEST));
	cJSON *o = root ? step_json(step, r) : NULL;
	if (o)
		cJSON_AddItemToObject(root, "step", o);
	else {
		cJSON_Delete(root);
		root = NULL;
	}
	if (!send_answer(s->nt_fd, root)) {
		/* Nobody listens any more: the rest of the test is for nothing. */
		atomic_store(&s->nt_client_gone, true);
		atomic_store(&s->nt_cancel, true);
	}
}

static cJSON *report_answer(const struct nettest_report *rep)
{
	cJSON *root = answer_head(true, true, control_op_name(CONTROL_OP_NETWORK_TEST));
	if (!root)
		return NULL;
	cJSON *steps = NULL;
	bool ok = cJSON_AddBoolToObject(root, "passed", rep->passed) &&
	          (rep->passed ? cJSON_AddNullToObject(root, "failed_step") != NULL
	                       : cJSON_AddStringToObject(root, "failed_step",
	                                                 nettest_step_name(rep->failed_step)) !=
	                                 NULL) &&
	          cJSON_AddNumberToObject(root, "ms", rep->ms) &&
	          (steps = cJSON_AddArrayToObject(root, "steps")) != NULL;
	for (int i = 0; ok && i < NETTEST_STEP_LAST; i++) {
		cJSON *o = step_json((enum nettest_step)i, &rep->steps[i]);
		if (!o)
			ok = false;
		else
			cJSON_AddItemToArray(steps, o);
	}
	if (!ok) {
		cJSON_Delete(root);
		return NULL;
	}
	return root;
}

static void *nettest_thread(void *arg)
{
	struct control_server *s = arg;
	nettest_run(s->intake, &s->nt_cancel, handle_step, s, &s->nt_report);
	if (!atomic_load(&s->nt_client_gone))
		(void)send_answer(s->nt_fd, report_answer(&s->nt_report));
	uint64_t one = 1;
	if (write(s->done_fd, &one, sizeof(one)) != (ssize_t)sizeof(one))
		log_error_errno("control: cannot signal the end of the network test");
	return NULL;
}

static void log_report(const struct control_server *s)
{
	const struct nettest_report *rep = &s->nt_report;
	char line[256];
	size_t len = 0;
	for (int i = 0; i < NETTEST_STEP_LAST && len < sizeof(line); i++) {
		const struct nettest_step_report *r = &rep->steps[i];
		int n = snprintf(line + len, sizeof(line) - len, "%s%s %s%s%s%s", i ? ", " : "",
		                 nettest_step_name((enum nettest_step)i),
		                 nettest_result_name(r->result),
		                 r->result == NETTEST_FAILED ? " (" : "",
		                 r->result == NETTEST_FAILED ? r->code : "",
		                 r->result == NETTEST_FAILED ? ")" : "");
		if (n < 0)
			break;
		len += (size_t)n;
	}
	if (rep->passed)
		log_info("control: network test for uid %u passed: %s (%u ms)", (unsigned)s->nt_uid,
		         line, rep->ms);
	else
		log_warning("control: network test for uid %u failed at %s: %s; %s (%u ms)",
		            (unsigned)s->nt_uid, nettest_step_name(rep->failed_step),
		            rep->steps[rep->failed_step].reason, line, rep->ms);
}

/* Joins a finished test and logs its result. wait: also one still running,
 * after cancelling it (it may have just finished: the result tells). */
static void collect_nettest(struct control_server *s, bool wait)
{
	if (!s->nt_running)
		return;
	uint64_t n;
	bool done = read(s->done_fd, &n, sizeof(n)) == (ssize_t)sizeof(n);
	if (!done && !wait)
		return;
	if (!done)
		atomic_store(&s->nt_cancel, true);
	pthread_join(s->nt_thread, NULL);
	s->nt_running = false;
	/* Complete once joined; a stopped step reads "cancelled". */
	log_report(s);
	close(s->nt_fd);
	s->nt_fd = -1;
}

static void start_nettest(struct control_server *s)
{
	const char *name = control_op_name(CONTROL_OP_NETWORK_TEST);
	if (s->nt_running) {
		log_info("control: network test for uid %u refused: one is running",
		         (unsigned)s->conn_uid);
		send_error(s->conn_fd, name, "busy",
		           "a network test is running; try again when it ends");
		return;
	}
	memset(&s->nt_report, 0, sizeof(s->nt_report));
	atomic_store(&s->nt_cancel, false);
	atomic_store(&s->nt_client_gone, false);
	s->nt_fd = s->conn_fd;
	s->nt_uid = s->conn_uid;
	int rc = pthread_create(&s->nt_thread, NULL, nettest_thread, s);
	if (rc != 0) {
		s->nt_fd = -1;
		log_error("control: cannot start the network test: %s", strerror(rc));
		send_error(s->conn_fd, name, "internal", "the network test cannot start");
		return;
	}
	log_info("control: network test for uid %u started", (unsigned)s->nt_uid);
	s->nt_running = true;
	s->conn_fd = -1; /* the test's now */
}

/* ---- requests ------------------------------------------------------------- */

static void do_status(struct control_server *s)
{
	const char *name = control_op_name(CONTROL_OP_STATUS);
	log_debug("control: status for uid %u", (unsigned)s->conn_uid);
	cJSON *doc = s->ops->status(s->ctx);
	cJSON *root = doc ? answer_head(true, true, name) : NULL;
	if (!root) {
		cJSON_Delete(doc);
		send_error(s->conn_fd, name, "internal", "the status cannot be read now");
		return;
	}
	cJSON_AddItemToObject(root, "status", doc);
	(void)send_answer(s->conn_fd, root);
}

static void do_retry_now(struct control_server *s)
{
	size_t queued = s->ops->retry_now(s->ctx);
	log_info("control: retry now for uid %u: %zu queued submissions due now",
	         (unsigned)s->conn_uid, queued);
	cJSON *root = answer_head(true, true, control_op_name(CONTROL_OP_RETRY_NOW));
	if (root && !cJSON_AddNumberToObject(root, "queued", (double)queued)) {
		cJSON_Delete(root);
		root = NULL;
	}
	(void)send_answer(s->conn_fd, root);
}

static void do_discard(struct control_server *s, const char *id)
{
	const char *name = control_op_name(CONTROL_OP_DISCARD);
	enum spool_state from = SPOOL_STATE_LAST;
	char cls[SPOOL_CLASS_MAX] = "";
	enum spool_status st = s->ops->discard(s->ctx, id, &from, cls);
	cJSON *root = NULL;
	switch (st) {
	case SPOOL_OK:
		log_info("control: uid %u discarded submission %s from %s/ (class %s)",
		         (unsigned)s->conn_uid, id, spool_state_name(from), cls[0] ? cls : "none");
		root = answer_head(true, true, name);
		if (root && (!cJSON_AddStringToObject(root, "id", id) ||
		             !cJSON_AddStringToObject(root, "state", spool_state_name(from)) ||
		             !cJSON_AddStringToObject(root, "class", cls))) {
			cJSON_Delete(root);
			root = NULL;
		}
		(void)send_answer(s->conn_fd, root);
		return;
	case SPOOL_INVALID:
		if (from == SPOOL_STATE_NEW || from == SPOOL_STATE_SENDING) {
			log_warning("control: uid %u may not discard submission %s: it is queued "
			            "(%s/)",
			            (unsigned)s->conn_uid, id, spool_state_name(from));
			root = answer_head(false, true, name);
			if (root &&
			    (!cJSON_AddStringToObject(root, "error", "not_allowed") ||
			     !cJSON_AddStringToObject(
			             root, "message",
			             "only failed and quarantined submissions can be "
			             "discarded; this one is still queued") ||
			     !cJSON_AddStringToObject(root, "id", id) ||
			     !cJSON_AddStringToObject(root, "state", spool_state_name(from)))) {
				cJSON_Delete(root);
				root = NULL;
			}
			(void)send_answer(s->conn_fd, root);
			return;
		}
		break;
	case SPOOL_NOT_FOUND:
		log_info("control: uid %u asked to discard submission %s: not in the spool",
		         (unsigned)s->conn_uid, id);
		send_error(s->conn_fd, name, "not_found", "no such submission in the spool");
		return;
	default:
		break;
	}
	log_error("control: discarding submission %s failed: %s", id, spool_strerror(st));
	send_error(s->conn_fd, name, "internal", "the spool failed; see the uploader's log");
}

/* How many bytes cJSON prints for the string s, quotes included. */
static size_t json_string_len(const char *s)
{
	size_t n = 2;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\' || *p == '\b' || *p == '\f' || *p == '\n' ||
		    *p == '\r' || *p == '\t')
			n += 2;
		else if (*p < 0x20)
			n += 6;
		else
			n += 1;
	}
	return n;
}

static cJSON *log_line_json(const struct log_ring_entry *e)
{
	cJSON *o = cJSON_CreateObject();
	const char *level = log_level_name(e->level);
	if (!o || !cJSON_AddNumberToObject(o, "seq", (double)e->seq) ||
	    !cJSON_AddNumberToObject(o, "time", (double)e->time_ms) ||
	    !cJSON_AddStringToObject(o, "level", level ? level : "info") ||
	    !cJSON_AddStringToObject(o, "text", e->text)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* The last lines of this process's log (log.h's ring), oldest first, as many
 * of the newest as fit into one answer; "omitted" says how many did not. */
static void do_log(struct control_server *s, uint32_t want)
{
	const char *name = control_op_name(CONTROL_OP_LOG);
	struct log_ring_entry *lines = calloc(want ? want : 1, sizeof(*lines));
	if (!lines) {
		log_error("control: out of memory for the log answer");
		send_error(s->conn_fd, name, "internal", "the log cannot be read now");
		return;
	}
	size_t n = log_ring_copy(lines, want);
	size_t first = n, used = 0;
	while (first > 0) {
		size_t cost = LOG_LINE_COST + json_string_len(lines[first - 1].text);
		if (used + cost > CONTROL_ANSWER_MAX - LOG_ANSWER_HEAD)
			break;
		used += cost;
		first--;
	}
	cJSON *root = answer_head(true, true, name);
	cJSON *arr = root ? cJSON_AddArrayToObject(root, "lines") : NULL;
	bool ok = arr && cJSON_AddNumberToObject(root, "omitted", (double)first);
	for (size_t i = first; ok && i < n; i++) {
		cJSON *o = log_line_json(&lines[i]);
		if (!o)
			ok = false;
		else
			cJSON_AddItemToArray(arr, o);
	}
	explicit_bzero(lines, (want ? want : 1) * sizeof(*lines));
	free(lines);
	if (!ok) {
		cJSON_Delete(root);
		send_error(s->conn_fd, name, "internal", "the log cannot be read now");
		return;
	}
	log_debug("control: log for uid %u: %zu lines, %zu left out", (unsigned)s->conn_uid,
	          n - first, first);
	(void)send_answer(s->conn_fd, root);
}

/*
 * Answers, then stops the uploader the way SIGTERM does: the signal goes to
 * this very process, which blocks it from the first line of main() and reads
 * it from its signalfd, so a running upload is aborted and put back, the
 * status file is written and the process exits 0. Its service manager starts
 * it again (the unit has Restart=always; CONTROL.md).
 */
static void do_restart(struct control_server *s)
{
	const char *name = control_op_name(CONTROL_OP_RESTART);
	log_info("control: restart for uid %u: stopping; the service manager starts the uploader "
	         "again",
	         (unsigned)s->conn_uid);
	cJSON *root = answer_head(true, true, name);
	if (root && !cJSON_AddNumberToObject(root, "pid", (double)getpid())) {
		cJSON_Delete(root);
		root = NULL;
	}
	/* Asked for is asked for: the restart goes ahead if the asker left. */
	(void)send_answer(s->conn_fd, root);
	if (kill(getpid(), SIGTERM) != 0)
		log_error_errno("control: cannot stop for the restart");
}

static void handle_request(struct control_server *s, const char *data, size_t len)
{
	struct control_request req;
	const char *why = NULL;
	enum control_parse pr = control_request_parse(data, len, &req, &why);
	if (pr != CONTROL_PARSE_OK) {
		log_warning("control: request of %zu bytes from uid %u refused: %s (%s)", len,
		            (unsigned)s->conn_uid, control_parse_code(pr), why);
		send_error(s->conn_fd, NULL, control_parse_code(pr), why);
		return;
	}
	switch (req.op) {
	case CONTROL_OP_STATUS:
		do_status(s);
		break;
	case CONTROL_OP_RETRY_NOW:
		do_retry_now(s);
		break;
	case CONTROL_OP_DISCARD:
		do_discard(s, req.id);
		break;
	case CONTROL_OP_NETWORK_TEST:
		start_nettest(s);
		break;
	case CONTROL_OP_LOG:
		do_log(s, req.lines);
		break;
	case CONTROL_OP_RESTART:
		do_restart(s);
		break;
	case CONTROL_OP_LAST:
		break;
	}
}

/* ---- connections ---------------------------------------------------------- */

static void close_conn(struct control_server *s)
{
	if (s->conn_fd >= 0)
		close(s->conn_fd);
	s->conn_fd = -1;
}

static bool accept_one(struct control_server *s, uint64_t now)
{
	if (now < s->accept_pause_until)
		return false;
	s->accept_pause_until = 0;
	int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
		    errno != ECONNABORTED) {
			log_warning_errno("control: accept");
			s->accept_pause_until = now + ACCEPT_PAUSE_MS;
		}
		return false;
	}
	struct ucred cred;
	socklen_t len = sizeof(cred);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
		log_warning_errno("control: SO_PEERCRED");
		close(fd);
		return false;
	}
	s->conn_fd = fd;
	s->conn_uid = cred.uid;
	s->conn_deadline = now + CONTROL_READ_TIMEOUT_MS;
	return true;
}

/* Reads the pending connection's request and answers it. False while it has
 * sent nothing yet (and its time is not up). */
static bool serve_conn(struct control_server *s, uint64_t now)
{
	char buf[CONTROL_REQUEST_MAX + 1];
	struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t n;
	do
		n = recvmsg(s->conn_fd, &msg, MSG_DONTWAIT | MSG_TRUNC);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		if (now < s->conn_deadline)
			return false;
		log_info("control: uid %u sent no request within %u ms; closed",
		         (unsigned)s->conn_uid, CONTROL_READ_TIMEOUT_MS);
	} else if (n < 0) {
		log_debug("control: reading a request: %s", strerror(errno));
	} else if (n == 0) {
		/* An empty message, or the peer closed without asking. */
		send_error(s->conn_fd, NULL, control_parse_code(CONTROL_PARSE_MALFORMED),
		           "empty request");
	} else if ((size_t)n > CONTROL_REQUEST_MAX || (msg.msg_flags & MSG_TRUNC)) {
		log_warning("control: request of %zd bytes from uid %u refused: %s", n,
		            (unsigned)s->conn_uid, control_parse_code(CONTROL_PARSE_TOO_LARGE));
		send_error(s->conn_fd, NULL, control_parse_code(CONTROL_PARSE_TOO_LARGE),
		           "a request has at most 1024 bytes");
	} else {
		handle_request(s, buf, (size_t)n);
	}
	close_conn(s);
	return true;
}

void control_server_dispatch(struct control_server *s, uint64_t now)
{
	if (!s)
		return;
	collect_nettest(s, false);
	for (int i = 0; i < MAX_PER_DISPATCH; i++) {
		if (s->conn_fd < 0 && !accept_one(s, now))
			break;
		if (!serve_conn(s, now))
			break;
	}
}

size_t control_server_poll_fds(const struct control_server *s, struct pollfd *fds, size_t cap)
{
	size_t n = 0;
	if (!s)
		return 0;
	if (s->conn_fd >= 0 && n < cap)
		fds[n++] = (struct pollfd){.fd = s->conn_fd, .events = POLLIN};
	else if (!s->accept_pause_until && n < cap)
		fds[n++] = (struct pollfd){.fd = s->listen_fd, .events = POLLIN};
	if (s->nt_running && n < cap)
		fds[n++] = (struct pollfd){.fd = s->done_fd, .events = POLLIN};
	return n;
}

uint64_t control_server_deadline(const struct control_server *s)
{
	if (!s)
		return UINT64_MAX;
	if (s->conn_fd >= 0)
		return s->conn_deadline;
	return s->accept_pause_until ? s->accept_pause_until : UINT64_MAX;
}

/* ---- life cycle ----------------------------------------------------------- */

/* True when a process accepts connections on path. */
static bool someone_listens(const struct sockaddr_un *addr)
{
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return false;
	bool live =
	        connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) == 0 || errno == EAGAIN;
	close(fd);
	return live;
}

struct control_server *control_server_create(const char *path, const struct config_intake *intake,
                                             const struct control_ops *ops, void *ctx,
                                             enum control_start *why)
{
	*why = CONTROL_FAILED;
	struct control_server *s = calloc(1, sizeof(*s));
	if (!s) {
		log_error("control: out of memory");
		return NULL;
	}
	s->listen_fd = s->conn_fd = s->nt_fd = s->done_fd = -1;
	s->intake = intake;
	s->ops = ops;
	s->ctx = ctx;
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	if (!path || strlen(path) >= sizeof(addr.sun_path) || !*path) {
		log_error("control: socket path missing or longer than %zu bytes",
		          sizeof(addr.sun_path) - 1);
		goto fail;
	}
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);

	struct stat sb;
	if (lstat(path, &sb) == 0) {
		if (!S_ISSOCK(sb.st_mode)) {
			log_error("control: %s exists and is not a socket; not replaced", path);
			goto fail;
		}
		if (someone_listens(&addr)) {
			log_error("control: another process serves %s (a second uploader?)", path);
			*why = CONTROL_IN_USE;
			goto fail;
		}
		if (unlink(path) != 0 && errno != ENOENT) {
			log_error_errno("control: cannot remove the stale socket %s", path);
			goto fail;
		}
	}
	s->done_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	s->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->done_fd < 0 || s->listen_fd < 0) {
		log_error_errno("control: socket");
		goto fail;
	}
	if (bind(s->listen_fd, (const struct sockaddr *)&addr, sizeof(addr)) != 0) {
		log_error_errno("control: cannot bind %s", path);
		goto fail;
	}
	/* Nobody can connect before listen(): the mode is right before anyone may. */
	if (chmod(path, CONTROL_SOCKET_MODE) != 0 || stat(path, &sb) != 0) {
		log_error_errno("control: cannot set the mode of %s", path);
		unlink(path);
		goto fail;
	}
	s->dev = sb.st_dev;
	s->ino = sb.st_ino;
	snprintf(s->path, sizeof(s->path), "%s", path);
	if (listen(s->listen_fd, LISTEN_BACKLOG) != 0) {
		log_error_errno("control: cannot listen on %s", path);
		unlink(path);
		goto fail;
	}
	log_info("control: listening on %s (mode %04o)", path, CONTROL_SOCKET_MODE);
	*why = CONTROL_STARTED;
	return s;
fail:
	s->path[0] = '\0';
	control_server_destroy(s);
	return NULL;
}

void control_server_destroy(struct control_server *s)
{
	if (!s)
		return;
	collect_nettest(s, true);
	close_conn(s);
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	if (s->done_fd >= 0)
		close(s->done_fd);
	/* Only our own socket: a successor may have made a new one. */
	struct stat sb;
	if (s->path[0] && lstat(s->path, &sb) == 0 && sb.st_dev == s->dev && sb.st_ino == s->ino)
		unlink(s->path);
	free(s);
}
