/*
 * uploader.c - the daemon loop (see uploader.h and README.md).
 *
 * Due times live on the monotonic clock while the process runs; the spool
 * keeps them as wall-clock next_due only so a restart continues the backoff.
 * A next_due read back from the spool is clamped to the policy's longest
 * delay, so a clock that jumped back cannot park a submission for days.
 *
 * One submission is in flight at a time. After a failure that concerns the
 * intake as a whole (network, TLS, authentication, 429/5xx), a gate keeps
 * every other submission back until the failed one is due again: an outage
 * costs one request per backoff step, and the queue leaves in id order once
 * the intake is back.
 *
 * The maintenance menu's control socket (control.h) is served from this loop:
 * while it sleeps, between two uploads, and from a transfer's progress
 * callback, so a request never waits for an upload to end.
 */
#include "uploader.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "container.h"
#include "control.h"
#include "intake.h"
#include "log.h"
#include "outcome.h"
#include "reaper.h"
#include "retry.h"
#include "spool.h"
#include "status.h"

/* How long the loop sleeps at most, so the status file's ages stay fresh. */
#define STATUS_REFRESH_MS 60000u
/* A failing spool listing is tried again after this long. */
#define LIST_RETRY_MS 5000u
/* While sending, the status file and metrics are written at most this often:
 * each write counts the whole spool. */
#define STATUS_MIN_INTERVAL_MS 1000u
/* While a transfer runs, signals are looked at this often. */
#define SIGNAL_CHECK_MS 50u

/* The in-process schedule of one queued submission. */
struct slot {
	uint64_t due_ms; /* monotonic */
	bool tried;      /* attempted in this run (--once tries each once) */
};

struct uploader {
	const struct config *cfg;
	bool once;
	struct spool *spool;
	struct reaper *reaper; /* removes delivered files; NULL: this thread does */
	struct intake_client *client;
	struct control_server *control; /* the maintenance menu's socket; NULL: none */
	uint8_t *secret_key;            /* sodium_malloc: locked, guarded, zeroed on free */
	uint8_t public_key[CONTAINER_KEY_BYTES];
	struct retry_policy policy;
	int sigfd;
	int infd;

	bool stop;
	bool fatal;      /* the spool failed under us */
	bool moved;      /* something went to failed/ or quarantine/ this run */
	bool gate_known; /* the gate was set up from the persisted state */
	uint64_t gate_ms;

	/* The last listing of new/ and the schedule, index for index. The
	 * loop keeps it up to date itself and lists new/ again only when
	 * inotify saw a file arrive (or a listing failed). */
	struct spool_entry *queue;
	struct slot *slots;
	size_t count;
	bool stale;

	uint64_t status_ms;       /* when the status was last written (monotonic) */
	uint64_t signal_check_ms; /* when signals were last read during a transfer */

	struct upload_stats stats;
	uint64_t watchdog_ms; /* ping interval, 0 when the watchdog is off */
	uint64_t next_ping_ms;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int64_t wall_now(void)
{
	return (int64_t)time(NULL);
}

/* ---- signals, watchdog ---------------------------------------------------- */

/* "Retry now" (SIGUSR1 or the control socket): every queued submission is
 * due at once, and the gate is open. Returns how many are queued. */
static size_t retry_now(struct uploader *u)
{
	u->gate_ms = 0;
	for (size_t i = 0; i < u->count; i++)
		u->slots[i].due_ms = 0;
	return u->count;
}

static void read_signals(struct uploader *u)
{
	struct signalfd_siginfo si;
	while (read(u->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			if (!u->stop)
				log_info("signal %u: stopping", si.ssi_signo);
			u->stop = true;
			break;
		case SIGUSR1:
			/* "Retry now" from the maintenance menu. */
			log_info("SIGUSR1: every queued submission is due now");
			(void)retry_now(u);
			break;
		default:
			break;
		}
	}
}

static void ping_watchdog(struct uploader *u, uint64_t now)
{
	if (u->watchdog_ms == 0 || now < u->next_ping_ms)
		return;
	sd_notify(0, "WATCHDOG=1");
	u->next_ping_ms = now + u->watchdog_ms;
}

/* Called by curl while a transfer runs. */
static bool handle_progress(void *ctx)
{
	struct uploader *u = ctx;
	uint64_t now = mono_ms();
	if (now >= u->signal_check_ms) {
		read_signals(u);
		/* The maintenance menu is answered during a long upload too. */
		control_server_dispatch(u->control, now);
		u->signal_check_ms = now + SIGNAL_CHECK_MS;
	}
	ping_watchdog(u, now);
	return !u->stop;
}

/* ---- the queue ------------------------------------------------------------ */

static int compare_id(const void *key, const void *elem)
{
	return strcmp(key, ((const struct spool_entry *)elem)->id);
}

/* Lists new/ again and carries the schedule over by id. */
static bool refresh_queue(struct uploader *u)
{
	struct spool_entry *list = NULL;
	size_t count = 0;
	enum spool_status st = spool_list(u->spool, SPOOL_STATE_NEW, &list, &count);
	if (st != SPOOL_OK) {
		log_error("cannot list the spool: %s", spool_strerror(st));
		return false;
	}
	struct slot *slots = calloc(count ? count : 1, sizeof(*slots));
	if (!slots) {
		log_error("out of memory");
		free(list);
		return false;
	}
	uint64_t now = mono_ms();
	int64_t wall = wall_now();
	uint32_t max_ahead = retry_max_delay(&u->policy);
	for (size_t i = 0; i < count; i++) {
		const struct spool_entry *old = u->count ? bsearch(list[i].id, u->queue, u->count,
		                                                   sizeof(*u->queue), compare_id)
		                                         : NULL;
		if (old) {
			slots[i] = u->slots[old - u->queue];
			continue;
		}
		/* First sight: from the persisted wall-clock time, clamped. */
		int64_t due = retry_clamp_due(list[i].next_due, wall, max_ahead);
		slots[i].due_ms = due > wall ? now + (uint64_t)(due - wall) * 1000 : 0;
		enum upload_outcome last = upload_outcome_from_name(list[i].last_error);
		if (!u->gate_known && list[i].attempts > 0 && last != UPLOAD_OUTCOME_LAST &&
		    upload_outcome_blocks_queue(last) && slots[i].due_ms > u->gate_ms)
			u->gate_ms = slots[i].due_ms;
	}
	u->gate_known = true;
	u->stale = false;
	free(u->queue);
	free(u->slots);
	u->queue = list;
	u->slots = slots;
	u->count = count;
	return true;
}

/* The submission at index left new/ for good (delivered, failed, quarantined
 * or gone). */
static void forget(struct uploader *u, size_t index)
{
	size_t after = u->count - index - 1;
	memmove(&u->queue[index], &u->queue[index + 1], after * sizeof(*u->queue));
	memmove(&u->slots[index], &u->slots[index + 1], after * sizeof(*u->slots));
	u->count--;
}

/* The first submission in id order that may go now, or -1. */
static long pick(const struct uploader *u, uint64_t now)
{
	if (u->gate_ms > now)
		return -1;
	for (size_t i = 0; i < u->count; i++) {
		if (u->once && u->slots[i].tried)
			continue;
		if (u->slots[i].due_ms <= now)
			return (long)i;
	}
	return -1;
}

/* When something may go next (monotonic), or UINT64_MAX when nothing waits. */
static uint64_t next_due(const struct uploader *u)
{
	uint64_t best = UINT64_MAX;
	for (size_t i = 0; i < u->count; i++) {
		if (u->once && u->slots[i].tried)
			continue;
		uint64_t due = u->slots[i].due_ms > u->gate_ms ? u->slots[i].due_ms : u->gate_ms;
		if (due < best)
			best = due;
	}
	return best;
}

/* ---- status --------------------------------------------------------------- */

/* A snapshot of the spool and the counters, for the status file, the
 * metrics and the control socket. Free the lists with release_snapshot(). */
struct snapshot_lists {
	struct spool_entry *failed, *quarantined;
};

static bool take_snapshot(struct uploader *u, struct status_snapshot *snap,
                          struct snapshot_lists *own)
{
	*own = (struct snapshot_lists){0};
	*snap = (struct status_snapshot){.now = wall_now(), .stats = &u->stats};
	enum spool_status st = spool_stats(u->spool, &snap->spool);
	if (st != SPOOL_OK) {
		log_warning("cannot count the spool: %s", spool_strerror(st));
		return false;
	}
	if (spool_list(u->spool, SPOOL_STATE_FAILED, &own->failed, &snap->failed_count) !=
	    SPOOL_OK) {
		own->failed = NULL;
		snap->failed_count = 0;
	}
	if (spool_list(u->spool, SPOOL_STATE_QUARANTINE, &own->quarantined,
	               &snap->quarantined_count) != SPOOL_OK) {
		own->quarantined = NULL;
		snap->quarantined_count = 0;
	}
	snap->failed = own->failed;
	snap->quarantined = own->quarantined;
	snap->queued = u->queue;
	snap->queued_count = u->count;
	uint64_t due = next_due(u), now = mono_ms();
	u->stats.next_attempt = 0;
	if (due != UINT64_MAX)
		u->stats.next_attempt =
		        snap->now + (due > now ? (int64_t)((due - now + 999) / 1000) : 0);
	return true;
}

static void release_snapshot(struct snapshot_lists *own)
{
	free(own->failed);
	free(own->quarantined);
	*own = (struct snapshot_lists){0};
}

/* Writes the status file and metrics; unless forced, at most once every
 * STATUS_MIN_INTERVAL_MS. */
static void write_status(struct uploader *u, bool force)
{
	const struct config *cfg = u->cfg;
	if (!cfg->status_file && !cfg->metrics_textfile)
		return;
	uint64_t now_ms = mono_ms();
	if (!force && now_ms - u->status_ms < STATUS_MIN_INTERVAL_MS)
		return;
	u->status_ms = now_ms;
	struct status_snapshot snap;
	struct snapshot_lists own;
	if (!take_snapshot(u, &snap, &own))
		return;
	if (cfg->status_file)
		(void)status_write(cfg->status_file, &snap);
	if (cfg->metrics_textfile)
		(void)status_write_metrics(cfg->metrics_textfile, &snap);
	release_snapshot(&own);

	char text[128];
	if (u->count == 0)
		snprintf(text, sizeof(text), "STATUS=queue empty");
	else
		snprintf(text, sizeof(text), "STATUS=%zu queued, %s; last outcome %s", u->count,
		         u->stats.activity,
		         u->stats.last_outcome == UPLOAD_OUTCOME_LAST
		                 ? "none"
		                 : upload_outcome_name(u->stats.last_outcome));
	sd_notify(0, text);
}

/* ---- the control socket's requests ----------------------------------------- */

static cJSON *handle_control_status(void *ctx)
{
	struct uploader *u = ctx;
	struct status_snapshot snap;
	struct snapshot_lists own;
	if (!take_snapshot(u, &snap, &own))
		return NULL;
	cJSON *doc = status_document(&snap);
	release_snapshot(&own);
	return doc;
}

static size_t handle_control_retry_now(void *ctx)
{
	return retry_now(ctx);
}

static enum spool_status handle_control_discard(void *ctx, const char *id, enum spool_state *from,
                                                char error_class[SPOOL_CLASS_MAX])
{
	struct uploader *u = ctx;
	/* failed/ and quarantine/ only (spool_discard() refuses the rest), which
	 * this loop never reads again: the queue and its schedule stay as they are. */
	return spool_discard(u->spool, id, from, error_class);
}

static const struct control_ops control_ops = {
        .status = handle_control_status,
        .retry_now = handle_control_retry_now,
        .discard = handle_control_discard,
};

/* The socket of the maintenance menu. False only when another uploader
 * already serves it: two on one spool must not run. */
static bool start_control(struct uploader *u)
{
	char path[CONFIG_SOCKET_PATH_MAX + 1];
	if (!config_control_socket(u->cfg, path, sizeof(path))) {
		log_error("control: the socket path (the spool directory + /%s) is longer than "
		          "%d bytes; set [control] socket; no maintenance menu",
		          CONFIG_CONTROL_SOCKET_NAME, CONFIG_SOCKET_PATH_MAX);
		return true;
	}
	enum control_start why;
	u->control = control_server_create(path, &u->cfg->intake, &control_ops, u, &why);
	if (why == CONTROL_IN_USE) {
		fprintf(stderr, "scankiosk-uploader: %s: another uploader is running\n", path);
		return false;
	}
	/* Uploads matter more than the menu: they go on without it. */
	return true;
}

/* ---- one submission ------------------------------------------------------- */

static void count_outcome(struct uploader *u, enum upload_outcome outcome)
{
	int64_t now = wall_now();
	u->stats.outcomes[outcome]++;
	u->stats.last_attempt = now;
	u->stats.last_outcome = outcome;
	if (outcome == UPLOAD_DELIVERED) {
		u->stats.last_success = now;
	} else if (outcome != UPLOAD_CANCELLED) {
		u->stats.last_error = outcome;
		u->stats.last_error_time = now;
	}
}

static void check_spool(struct uploader *u, enum spool_status st, const char *id, const char *what)
{
	if (st == SPOOL_OK)
		return;
	log_error("submission %s: %s failed: %s", id, what, spool_strerror(st));
	/* Its file may be stuck in sending/; a restart's recovery puts it back. */
	u->fatal = true;
}

static void schedule_retry(struct uploader *u, size_t index, enum upload_outcome outcome,
                           const struct intake_result *res)
{
	const struct spool_entry *e = &u->queue[index];
	uint64_t delay_ms;
	if (res->has_retry_after)
		delay_ms = (uint64_t)res->retry_after * 1000;
	else
		delay_ms = retry_delay_ms(&u->policy, e->attempts, retry_random_sodium, NULL);
	uint32_t attempts = e->attempts < UINT32_MAX ? e->attempts + 1 : e->attempts;
	int64_t due_wall = wall_now() + (int64_t)((delay_ms + 999) / 1000);
	const char *name = upload_outcome_name(outcome);

	enum spool_status st = spool_retry_later(u->spool, e->id, attempts, due_wall, name);
	check_spool(u, st, e->id, "retry_later");
	u->slots[index].due_ms = mono_ms() + delay_ms;
	if (upload_outcome_blocks_queue(outcome))
		u->gate_ms = u->slots[index].due_ms;
	log_warning("submission %s: %s (%s); attempt %u, next in %llu.%03llu s%s", e->id, name,
	            res->detail, attempts, (unsigned long long)(delay_ms / 1000),
	            (unsigned long long)(delay_ms % 1000),
	            res->has_retry_after ? " (Retry-After)" : "");
}

/* Moves the submission on after an attempt. Returns true when it left new/
 * for good. */
static bool apply(struct uploader *u, size_t index, enum upload_outcome outcome,
                  const struct intake_result *res)
{
	const struct spool_entry *e = &u->queue[index];
	const char *name = upload_outcome_name(outcome);
	enum spool_status st;
	char reference[CONTAINER_REFERENCE_LEN];

	count_outcome(u, outcome);
	switch (upload_outcome_action(outcome)) {
	case UPLOAD_ACTION_DONE:
		if (u->reaper) {
			reaper_done(u->reaper, e->id);
		} else {
			st = spool_done(u->spool, e->id);
			check_spool(u, st, e->id, "done");
		}
		container_reference(e->id, reference);
		log_info("submission %s (reference %s) delivered: intake receipt %s, HTTP %ld, "
		         "%u earlier attempts",
		         e->id, reference, res->receipt, res->http_status, e->attempts);
		return true;
	case UPLOAD_ACTION_PUT_BACK:
		st = spool_retry_later(u->spool, e->id, e->attempts, e->next_due,
		                       e->last_error[0] ? e->last_error : name);
		check_spool(u, st, e->id, "retry_later");
		log_info("submission %s: stopped during the upload; back in the queue, attempt "
		         "not counted",
		         e->id);
		break;
	case UPLOAD_ACTION_FAIL:
		st = spool_fail(u->spool, e->id, name);
		check_spool(u, st, e->id, "fail");
		u->moved = true;
		log_error("submission %s refused by the intake: %s (%s); kept in failed/", e->id,
		          name, res->detail);
		return true;
	case UPLOAD_ACTION_QUARANTINE:
		st = spool_quarantine(u->spool, SPOOL_STATE_SENDING, e->id, name);
		check_spool(u, st, e->id, "quarantine");
		u->moved = true;
		log_error("submission %s is unreadable (%s); moved to quarantine/", e->id,
		          res->detail);
		return true;
	case UPLOAD_ACTION_RETRY:
	case UPLOAD_ACTION_LAST:
		schedule_retry(u, index, outcome, res);
		break;
	}
	return false;
}

static void process(struct uploader *u, size_t index)
{
	const struct spool_entry *e = &u->queue[index];
	struct intake_result res = {.outcome = UPLOAD_LOCAL};
	struct container_reader *reader = NULL;
	int fd = -1;

	u->slots[index].tried = true;
	u->stats.activity = "sending";
	char text[80];
	snprintf(text, sizeof(text), "STATUS=sending %s", e->id);
	sd_notify(0, text);
	log_debug("submission %s: attempt %u", e->id, e->attempts + 1);

	enum spool_status st = spool_claim(u->spool, e->id, &fd);
	if (st == SPOOL_NOT_FOUND) {
		log_info("submission %s: gone from new/ before it was claimed", e->id);
		forget(u, index);
		return;
	}
	if (st == SPOOL_CORRUPT) {
		/* The spool moved it to quarantine/ itself. */
		count_outcome(u, UPLOAD_UNREADABLE);
		u->moved = true;
		forget(u, index);
		return;
	}
	if (st != SPOOL_OK) {
		log_error("submission %s: cannot claim: %s", e->id, spool_strerror(st));
		count_outcome(u, UPLOAD_LOCAL);
		/* Where the file is now is unknown; keep the loop from spinning on it. */
		uint64_t delay = retry_delay_ms(&u->policy, e->attempts, retry_random_sodium, NULL);
		u->slots[index].due_ms = mono_ms() + (delay < 1000 ? 1000 : delay);
		u->gate_ms = u->slots[index].due_ms;
		u->stale = true;
		if (st == SPOOL_IO || st == SPOOL_NOMEM)
			u->fatal = true;
		return;
	}

	enum container_status cs = container_reader_open(fd, u->public_key, u->secret_key, &reader);
	if (cs != CONTAINER_OK) {
		res.outcome = upload_classify_container(cs);
		snprintf(res.detail, sizeof(res.detail), "opening the container: %s",
		         container_strerror(cs));
	} else {
		(void)intake_send(u->client, e->id, reader, handle_progress, u, &res);
		u->stats.bytes_sent += res.bytes_sent;
	}
	container_reader_destroy(reader);
	close(fd);
	if (apply(u, index, res.outcome, &res))
		forget(u, index);
}

/* ---- setup ---------------------------------------------------------------- */

static bool load_keys(struct uploader *u)
{
	const struct config *cfg = u->cfg;
	if (!cfg->spool.secret_key) {
		fprintf(stderr, "scankiosk-uploader: [spool] secret_key is not configured\n");
		return false;
	}
	u->secret_key = sodium_malloc(CONTAINER_KEY_BYTES);
	if (!u->secret_key) {
		fprintf(stderr, "scankiosk-uploader: cannot allocate locked memory for the key\n");
		return false;
	}
	enum container_status cs = container_load_key(cfg->spool.secret_key, u->secret_key);
	if (cs != CONTAINER_OK) {
		fprintf(stderr, "scankiosk-uploader: %s: cannot load the secret key: %s\n",
		        cfg->spool.secret_key, container_strerror(cs));
		return false;
	}
	(void)sodium_mprotect_readonly(u->secret_key);
	container_public_from_secret(u->secret_key, u->public_key);

	/* A secret key that does not belong to the public key the kiosk seals
	 * to would quarantine every submission as "tampered": refuse to start. */
	if (cfg->spool.public_key) {
		uint8_t pk[CONTAINER_KEY_BYTES];
		cs = container_load_key(cfg->spool.public_key, pk);
		if (cs == CONTAINER_OK && sodium_memcmp(pk, u->public_key, sizeof(pk)) != 0) {
			fprintf(stderr,
			        "scankiosk-uploader: %s does not belong to the secret key %s\n",
			        cfg->spool.public_key, cfg->spool.secret_key);
			return false;
		}
		if (cs != CONTAINER_OK)
			log_warning("%s: cannot check it against the secret key: %s",
			            cfg->spool.public_key, container_strerror(cs));
	}
	return true;
}

static bool setup_fds(struct uploader *u)
{
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) != 0) {
		log_error_errno("sigprocmask");
		return false;
	}
	u->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (u->sigfd < 0) {
		log_error_errno("signalfd");
		return false;
	}
	if (u->once)
		return true;
	u->infd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (u->infd < 0) {
		log_error_errno("inotify_init1");
		return false;
	}
	const char *dir = spool_dir(u->spool, SPOOL_STATE_NEW);
	if (inotify_add_watch(u->infd, dir, IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
		log_error_errno("inotify_add_watch %s", dir);
		return false;
	}
	return true;
}

static void drain_inotify(struct uploader *u)
{
	if (u->infd < 0)
		return;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	while (read(u->infd, buf, sizeof(buf)) > 0)
		u->stale = true;
}

/* Sleeps until the next due time, a new file, a signal or a ping. */
static void wait_for_work(struct uploader *u)
{
	uint64_t now = mono_ms();
	uint64_t until = now + STATUS_REFRESH_MS;
	uint64_t due = next_due(u);
	if (due < until)
		until = due;
	if (u->watchdog_ms && u->next_ping_ms < until)
		until = u->next_ping_ms;

	uint64_t ctl = control_server_deadline(u->control);
	if (ctl < until)
		until = ctl;
	int timeout = until > now ? (int)(until - now) : 0;

	struct pollfd fds[2 + CONTROL_POLL_MAX] = {
	        {.fd = u->sigfd, .events = POLLIN},
	        {.fd = u->infd, .events = POLLIN},
	};
	size_t n = 2;
	if (u->infd < 0) /* --once: no inotify */
		n = 1;
	n += control_server_poll_fds(u->control, fds + n, CONTROL_POLL_MAX);
	int rc = poll(fds, (nfds_t)n, timeout);
	if (rc < 0 && errno != EINTR)
		log_warning_errno("poll");
	control_server_dispatch(u->control, mono_ms());
}

/* ---- run ------------------------------------------------------------------ */

static int finish_once(struct uploader *u)
{
	if (u->fatal)
		return UPLOADER_EXIT_SPOOL;
	if (u->stop)
		return UPLOADER_EXIT_OK;
	if (u->moved)
		return UPLOADER_EXIT_MOVED;
	if (!refresh_queue(u))
		return UPLOADER_EXIT_SPOOL;
	return u->count > 0 ? UPLOADER_EXIT_PENDING : UPLOADER_EXIT_OK;
}

static void loop(struct uploader *u)
{
	uint64_t list_retry_ms = 0;
	while (!u->stop && !u->fatal) {
		read_signals(u);
		if (u->stop)
			break;
		drain_inotify(u);
		ping_watchdog(u, mono_ms());
		/* Between two uploads of a backlog too. */
		control_server_dispatch(u->control, mono_ms());

		if (u->stale && mono_ms() >= list_retry_ms && !refresh_queue(u)) {
			if (u->once) {
				u->fatal = true;
				break;
			}
			list_retry_ms = mono_ms() + LIST_RETRY_MS;
		}
		long index = pick(u, mono_ms());
		if (index >= 0) {
			process(u, (size_t)index);
			if (u->reaper && !reaper_ok(u->reaper))
				u->fatal = true;
			u->stats.activity = "sending";
			write_status(u, false);
			continue;
		}
		if (u->once)
			break;
		/* The status counts sending/: let delivered files go first. */
		if (u->reaper && !reaper_flush(u->reaper)) {
			u->fatal = true;
			break;
		}
		u->stats.activity = u->count ? "waiting" : "idle";
		write_status(u, true);
		wait_for_work(u);
	}
}

int uploader_run(const struct config *cfg, bool once)
{
	int rc = UPLOADER_EXIT_CONFIG;
	struct uploader u = {
	        .cfg = cfg,
	        .once = once,
	        .sigfd = -1,
	        .infd = -1,
	        .stale = true,
	        .policy =
	                {
	                        .base = cfg->intake.retry_base,
	                        .cap = cfg->intake.retry_cap,
	                        .after_cap = cfg->intake.retry_after_cap,
	                },
	        .stats =
	                {
	                        .last_outcome = UPLOAD_OUTCOME_LAST,
	                        .last_error = UPLOAD_OUTCOME_LAST,
	                        .activity = "starting",
	                },
	};

	if (!cfg->intake.url) {
		fprintf(stderr, "scankiosk-uploader: [intake] url is not configured\n");
		goto out;
	}
	if (!load_keys(&u))
		goto out;
	struct spool_limits limits = {.max_bytes = cfg->spool.max_bytes,
	                              .max_count = cfg->spool.max_count};
	enum spool_status st = spool_open(cfg->spool.dir, &limits, &u.spool);
	if (st != SPOOL_OK) {
		fprintf(stderr, "scankiosk-uploader: %s: cannot open the spool: %s\n",
		        cfg->spool.dir, spool_strerror(st));
		goto out;
	}
	u.client = intake_client_create(&cfg->intake);
	if (!u.client || !setup_fds(&u))
		goto out;
	/* Before recovery: a second uploader must not touch a running one's spool. */
	if (!once && !start_control(&u))
		goto out;
	rc = UPLOADER_EXIT_SPOOL;
	/* Recovery quarantines unreadable headers; that counts as "moved" for
	 * --once's exit code like a quarantine while sending. */
	struct spool_stats before, after;
	bool counted = spool_stats(u.spool, &before) == SPOOL_OK;
	st = spool_recover(u.spool);
	if (st != SPOOL_OK) {
		log_error("spool recovery failed: %s", spool_strerror(st));
		goto out;
	}
	if (counted && spool_stats(u.spool, &after) == SPOOL_OK &&
	    after.count[SPOOL_STATE_QUARANTINE] > before.count[SPOOL_STATE_QUARANTINE])
		u.moved = true;

	u.stats.started = wall_now();
	if (cfg->status_file)
		u.stats.last_success = status_read_last_success(cfg->status_file);
	if (!u.stats.last_success && cfg->metrics_textfile)
		u.stats.last_success = status_read_metrics_last_success(cfg->metrics_textfile);
	uint64_t usec = 0;
	if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
		u.watchdog_ms = usec / 2000;
		if (u.watchdog_ms == 0)
			u.watchdog_ms = 1;
	}
	u.stats.activity = "starting";
	if (refresh_queue(&u))
		write_status(&u, true);
	sd_notify(0, "READY=1");
	log_info("uploader started%s: spool %s, retry base %u s, cap %u s", once ? " (once)" : "",
	         cfg->spool.dir, u.policy.base, u.policy.cap);

	u.reaper = reaper_create(u.spool);
	loop(&u);
	if (u.reaper && !reaper_flush(u.reaper))
		u.fatal = true;
	reaper_destroy(u.reaper);
	u.reaper = NULL;
	control_server_destroy(u.control);
	u.control = NULL;

	sd_notify(0, "STOPPING=1");
	u.stats.activity = "stopped";
	if (!u.fatal && refresh_queue(&u))
		write_status(&u, true);
	if (once)
		rc = finish_once(&u);
	else
		rc = u.fatal ? UPLOADER_EXIT_SPOOL : UPLOADER_EXIT_OK;
	log_info("uploader stopped (exit %d)", rc);
out:
	control_server_destroy(u.control);
	reaper_destroy(u.reaper);
	intake_client_destroy(u.client);
	spool_destroy(u.spool);
	if (u.sigfd >= 0)
		close(u.sigfd);
	if (u.infd >= 0)
		close(u.infd);
	free(u.queue);
	free(u.slots);
	sodium_free(u.secret_key);
	sodium_memzero(u.public_key, sizeof(u.public_key));
	return rc;
}
