/*
 * upload_control.h - the client of the uploader's control socket, for the
 * maintenance menu (protocol: kiosk/upload/CONTROL.md).
 *
 * The UI process runs as another user than the uploader: it cannot signal it
 * and holds none of its credentials. Through the socket it reads the queue's
 * status, asks for "retry now", discards a failed or quarantined item, runs
 * the network test, which the uploader performs with its own credentials,
 * reads the uploader's last log lines, and has it restart. When the uploader
 * does not answer, upload_control_status_file() reads the status file it
 * left behind.
 *
 * Every call connects, sends one request and waits for the answer, at most
 * timeout_ms per message; the result comes back parsed into structs, with an
 * error class a screen can act on (the uploader is not running, permission
 * denied, timeout, a bad answer, or a refusal with the uploader's reason).
 *
 * Blocking: these calls wait on a socket. Call them from a worker thread and
 * post the result to the UI thread; the UI thread never calls them. They keep
 * no global state and are safe from several threads at once; SIGPIPE is never
 * raised (MSG_NOSIGNAL).
 *
 * Nothing parsed here is personal data: ids, counts, sizes, times, outcome
 * classes, and short texts the uploader made from its configuration.
 */
#ifndef SCANKIOSK_UPLOAD_CONTROL_CLIENT_H
#define SCANKIOSK_UPLOAD_CONTROL_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "spool.h"

/* The protocol version this client speaks. */
#define UPLOAD_CONTROL_VERSION 1
/* The largest answer accepted (the uploader's CONTROL_ANSWER_MAX). */
#define UPLOAD_CONTROL_ANSWER_MAX (128u * 1024)
/* Items of one state an answer lists at most (the status file's limit). */
#define UPLOAD_CONTROL_ITEMS_MAX 100
/* Short fields, with NUL. */
#define UPLOAD_CONTROL_ID_MAX             33
#define UPLOAD_CONTROL_CLASS_MAX          32
#define UPLOAD_CONTROL_CODE_MAX           32
#define UPLOAD_CONTROL_TEXT_MAX           160
#define UPLOAD_CONTROL_OUTCOMES           32
#define UPLOAD_CONTROL_STEPS              4
#define UPLOAD_CONTROL_DEFAULT_TIMEOUT_MS 5000
/* A network-test message: a step takes at most connect_timeout (+10 s). */
#define UPLOAD_CONTROL_NETTEST_TIMEOUT_MS 60000

enum upload_control_error {
	UPLOAD_CONTROL_OK,
	UPLOAD_CONTROL_NOT_RUNNING, /* no socket, or nobody listens on it */
	UPLOAD_CONTROL_PERMISSION,  /* the socket (or its directory) is not ours to use */
	UPLOAD_CONTROL_TIMEOUT,     /* no (complete) answer within the time */
	UPLOAD_CONTROL_BAD_ANSWER,  /* an answer outside CONTROL.md, or none before close */
	UPLOAD_CONTROL_REFUSED,     /* the uploader said no: see the refusal's code */
	UPLOAD_CONTROL_IO,          /* another socket error */
	UPLOAD_CONTROL_NOMEM,       /* out of memory */
	UPLOAD_CONTROL_INVALID,     /* the caller passed something unusable */
	UPLOAD_CONTROL_ERROR_LAST
};

/* A short English text for a log line ("the uploader is not running", ...). */
const char *upload_control_strerror(enum upload_control_error error);

/* Why the uploader said no (UPLOAD_CONTROL_REFUSED), from its answer. */
struct upload_control_refusal {
	char code[UPLOAD_CONTROL_CODE_MAX];    /* "not_allowed", "not_found", "busy", ... */
	char message[UPLOAD_CONTROL_TEXT_MAX]; /* for people, English */
	char state[16];                        /* discard's not_allowed: "new" or "sending" */
};

/* ---- status ---------------------------------------------------------------- */

struct upload_control_item {
	char id[UPLOAD_CONTROL_ID_MAX];
	int64_t age_seconds;
	uint64_t bytes;
	uint32_t attempts;
	int64_t next_due; /* unix seconds, 0 = due now */
	char last_error[UPLOAD_CONTROL_CLASS_MAX];
};

struct upload_control_outcome_count {
	char name[UPLOAD_CONTROL_CLASS_MAX]; /* an outcome class: "delivered", "tls_pin", ... */
	uint64_t count;
};

/* The status file's snapshot (kiosk/upload/README.md, "Files written"). Times
 * are unix seconds, 0 = never. */
struct upload_control_status {
	int64_t updated;
	int64_t started;
	int64_t pid;
	char activity[16];                /* starting, sending, waiting, idle, stopped */
	uint32_t count[SPOOL_STATE_LAST]; /* per state, complete */
	uint64_t bytes[SPOOL_STATE_LAST];
	int64_t oldest_age_seconds;
	int64_t last_success;
	int64_t last_attempt;
	char last_outcome[UPLOAD_CONTROL_CLASS_MAX]; /* "" before the first attempt */
	char last_error[UPLOAD_CONTROL_CLASS_MAX];
	int64_t last_error_time;
	int64_t next_attempt;
	uint64_t bytes_sent;
	struct upload_control_outcome_count uploads[UPLOAD_CONTROL_OUTCOMES];
	size_t upload_count;
	/* The first UPLOAD_CONTROL_ITEMS_MAX of each, sorted by id. */
	struct upload_control_item queue[UPLOAD_CONTROL_ITEMS_MAX];
	size_t queue_count;
	struct upload_control_item failed[UPLOAD_CONTROL_ITEMS_MAX];
	size_t failed_count;
	struct upload_control_item quarantine[UPLOAD_CONTROL_ITEMS_MAX];
	size_t quarantine_count;
};

/*
 * Asks for the status. On UPLOAD_CONTROL_OK *out is a new snapshot, freed with
 * upload_control_status_destroy(); otherwise *out is NULL. refusal may be NULL.
 */
__attribute__((warn_unused_result)) enum upload_control_error
upload_control_status(const char *socket_path, int timeout_ms, struct upload_control_status **out,
                      struct upload_control_refusal *refusal);
void upload_control_status_destroy(struct upload_control_status *status); /* accepts NULL */

/* ---- retry now, discard ---------------------------------------------------- */

/* Every queued submission due now; *queued (may be NULL) gets how many. */
__attribute__((warn_unused_result)) enum upload_control_error
upload_control_retry_now(const char *socket_path, int timeout_ms, uint32_t *queued,
                         struct upload_control_refusal *refusal);

struct upload_control_discarded {
	char id[UPLOAD_CONTROL_ID_MAX];
	enum spool_state state; /* SPOOL_STATE_FAILED or SPOOL_STATE_QUARANTINE */
	char error_class[UPLOAD_CONTROL_CLASS_MAX];
};

/*
 * Deletes one failed or quarantined submission (id: 32 lower-case hex
 * digits). The uploader refuses one still queued (REFUSED, code
 * "not_allowed", refusal->state "new" or "sending") and an unknown id
 * (REFUSED, "not_found"). out and refusal may be NULL.
 */
__attribute__((warn_unused_result)) enum upload_control_error
upload_control_discard(const char *socket_path, int timeout_ms, const char *id,
                       struct upload_control_discarded *out,
                       struct upload_control_refusal *refusal);

/* ---- the network test ------------------------------------------------------- */

enum upload_control_step_result {
	UPLOAD_CONTROL_STEP_OK,
	UPLOAD_CONTROL_STEP_FAILED,
	UPLOAD_CONTROL_STEP_SKIPPED,
	UPLOAD_CONTROL_STEP_RESULT_LAST
};

struct upload_control_step {
	char name[8]; /* "dns", "tcp", "tls", "http" */
	enum upload_control_step_result result;
	char code[UPLOAD_CONTROL_CODE_MAX];   /* "ok", "no_such_host", "pin", ... (CONTROL.md) */
	char reason[UPLOAD_CONTROL_TEXT_MAX]; /* for people, English */
	uint32_t ms;
};

struct upload_control_nettest {
	bool passed;
	char failed_step[8]; /* "" when passed */
	uint32_t ms;
	struct upload_control_step steps[UPLOAD_CONTROL_STEPS];
	size_t step_count;
	/* The caller stopped waiting (on_step returned false, or cancel_fd):
	 * steps holds what arrived, passed and failed_step mean nothing. */
	bool stopped;
};

/* Called for each step as it finishes; return false to stop waiting (the
 * call then returns UPLOAD_CONTROL_OK with what arrived so far, and the
 * uploader ends the test). */
typedef bool (*upload_control_step_fn)(const struct upload_control_step *step, void *ctx);

/*
 * Runs the network test in the uploader: DNS, TCP, TLS, HTTP. timeout_ms
 * bounds the wait for each message (UPLOAD_CONTROL_NETTEST_TIMEOUT_MS fits any
 * configuration). on_step may be NULL. *out gets the final result.
 */
__attribute__((warn_unused_result)) enum upload_control_error
upload_control_network_test(const char *socket_path, int timeout_ms, upload_control_step_fn on_step,
                            void *ctx, struct upload_control_nettest *out,
                            struct upload_control_refusal *refusal);

/*
 * As upload_control_network_test(), and stops waiting as soon as cancel_fd
 * (an eventfd or the read end of a pipe; -1: none) is readable: returns
 * UPLOAD_CONTROL_OK with out->stopped and the steps so far; closing the
 * connection ends the test in the uploader at its next step. cancel_fd is
 * only polled, never read.
 */
__attribute__((warn_unused_result)) enum upload_control_error
upload_control_network_test_cancellable(const char *socket_path, int timeout_ms, int cancel_fd,
                                        upload_control_step_fn on_step, void *ctx,
                                        struct upload_control_nettest *out,
                                        struct upload_control_refusal *refusal);

/* ---- the uploader's log -------------------------------------------------------- */

/* The uploader's last lines (its log.h ring), oldest first. Each line's text
 * is one printable line of UTF-8 (checked), free of personal data as every
 * log line is. */
struct upload_control_log {
	struct log_ring_entry lines[LOG_RING_LINES];
	size_t count;
	uint32_t omitted; /* older lines asked for that did not fit into one answer */
};

/*
 * Asks for the uploader's last max_lines lines (1..LOG_RING_LINES; 0: all it
 * keeps). On UPLOAD_CONTROL_OK *out is new, freed with
 * upload_control_log_destroy(); otherwise NULL. refusal may be NULL.
 */
__attribute__((warn_unused_result)) enum upload_control_error
upload_control_log(const char *socket_path, int timeout_ms, uint32_t max_lines,
                   struct upload_control_log **out, struct upload_control_refusal *refusal);
void upload_control_log_destroy(struct upload_control_log *log); /* accepts NULL */

/* ---- restart ------------------------------------------------------------------ */

/*
 * Has the uploader stop cleanly and exit 0 right after it answered, as on
 * SIGTERM; its systemd unit (Restart=always) starts it again. *pid (may be
 * NULL) gets the pid of the process that is stopping, so a caller can tell
 * the new one in a later status. The socket is gone until the new process
 * has made it again (UPLOAD_CONTROL_NOT_RUNNING meanwhile).
 */
__attribute__((warn_unused_result)) enum upload_control_error
upload_control_restart(const char *socket_path, int timeout_ms, int64_t *pid,
                       struct upload_control_refusal *refusal);

/* ---- the status file ------------------------------------------------------------ */

/* The largest status file read. */
#define UPLOAD_CONTROL_STATUS_FILE_MAX UPLOAD_CONTROL_ANSWER_MAX

/*
 * Reads the status file the uploader writes ([metrics] status), the same
 * document a status answer carries, for when the uploader does not answer.
 * It is as old as its "updated" member. Blocks on the disk: a worker thread.
 * Returns OK with *out new (upload_control_status_destroy()), NOT_RUNNING
 * when there is no file (the uploader never wrote one), PERMISSION,
 * BAD_ANSWER when it is not such a document (or larger than
 * UPLOAD_CONTROL_STATUS_FILE_MAX), IO, NOMEM, INVALID.
 */
__attribute__((warn_unused_result)) enum upload_control_error
upload_control_status_file(const char *path, struct upload_control_status **out);

/* ---- the parsers (pure; exposed for tests and fuzzing) ---------------------- */

/* Which message an answer may be. */
enum upload_control_kind {
	UPLOAD_CONTROL_KIND_STATUS,
	UPLOAD_CONTROL_KIND_RETRY_NOW,
	UPLOAD_CONTROL_KIND_DISCARD,
	UPLOAD_CONTROL_KIND_NETWORK_TEST, /* a step (*final false) or the result */
	UPLOAD_CONTROL_KIND_LOG,
	UPLOAD_CONTROL_KIND_RESTART,
	UPLOAD_CONTROL_KIND_LAST
};

/* What one parsed answer holds; the part for its kind is filled. */
struct upload_control_answer {
	bool final;
	struct upload_control_refusal refusal;     /* when REFUSED */
	struct upload_control_status *status;      /* STATUS: caller-provided storage */
	uint32_t queued;                           /* RETRY_NOW */
	struct upload_control_discarded discarded; /* DISCARD */
	struct upload_control_step step;           /* NETWORK_TEST, not final */
	struct upload_control_nettest nettest;     /* NETWORK_TEST, final */
	/* LOG: caller-provided storage, or NULL to check the answer only. */
	struct upload_control_log *log;
	int64_t pid; /* RESTART: the process that stops */
};

/*
 * Parses one message (len bytes, need not be NUL-terminated) as an answer of
 * kind into *a (a->status must point at storage for KIND_STATUS; a->log may
 * point at storage for KIND_LOG). Returns OK, REFUSED (a->refusal filled), or
 * BAD_ANSWER. Unknown members are ignored (a newer uploader may add some);
 * known ones must have their type and bounds.
 */
__attribute__((warn_unused_result)) enum upload_control_error
upload_control_parse_answer(enum upload_control_kind kind, const char *data, size_t len,
                            struct upload_control_answer *a);

/* Parses a status file's document (the "status" member of a status answer,
 * on its own) into *out (zeroed first, and again on failure). Returns OK or
 * BAD_ANSWER. */
__attribute__((warn_unused_result)) enum upload_control_error
upload_control_parse_status_document(const char *data, size_t len,
                                     struct upload_control_status *out);

#endif
