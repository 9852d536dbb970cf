/*
 * control.h - the uploader's control socket (CONTROL.md).
 *
 * The maintenance menu runs in the UI process, as another user: it cannot
 * signal the uploader, and it must not hold the uploader's credentials. It
 * connects to a Unix socket (SOCK_SEQPACKET, mode 0660, in the spool
 * directory by default) and sends one small JSON request per connection:
 * status, retry-now, discard ID, network-test, log, restart. The answer is
 * one JSON message (the network test sends one more per step first).
 *
 * "log" answers with the last lines of this process's log (log.h's ring).
 * "restart" answers, then sends SIGTERM to this process: the program using
 * the server must block SIGTERM and treat it as "stop cleanly, exit 0" (the
 * uploader reads it from a signalfd), and its service manager must restart
 * it on a clean exit (Restart=always).
 *
 * The socket is served from the uploader's own thread without ever blocking
 * it: control_server_dispatch() accepts, reads and answers only what is
 * ready, one connection at a time, and the uploader calls it from its poll
 * loop and from the progress callback of a running upload. The network test
 * runs on a thread of its own (nettest.h); its connection stays open while it
 * runs and other requests are served meanwhile.
 *
 * Nothing read from the socket is echoed: refusals carry fixed texts, and
 * what is logged is the operation, a checked submission id and the peer's uid
 * (SO_PEERCRED).
 *
 * Threads: everything here belongs to the uploader's thread; the network
 * test's thread touches only its own connection and report.
 */
#ifndef SCANKIOSK_UPLOAD_CONTROL_H
#define SCANKIOSK_UPLOAD_CONTROL_H

#include <cjson/cJSON.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "spool.h"

/* The largest answer the uploader sends, in bytes. */
#define CONTROL_ANSWER_MAX (128u * 1024)
/* A connection that sent no request within this long is closed. */
#define CONTROL_READ_TIMEOUT_MS 2000u
/* Mode of the socket: the UI's user reaches it through the shared group. */
#define CONTROL_SOCKET_MODE 0660
/* Descriptors control_server_poll_fds() fills at most. */
#define CONTROL_POLL_MAX 2

/* What the uploader does for a request, on its own thread. */
struct control_ops {
	/* The status document (status_document()): a new cJSON object the
	 * caller frees, or NULL when it cannot be built. */
	cJSON *(*status)(void *ctx);
	/* Makes every queued submission due now (as SIGUSR1); returns how many
	 * are queued. */
	size_t (*retry_now)(void *ctx);
	/* spool_discard() of id, logged by the uploader. */
	enum spool_status (*discard)(void *ctx, const char *id, enum spool_state *from,
	                             char error_class[SPOOL_CLASS_MAX]);
};

enum control_start {
	CONTROL_STARTED, /* listening */
	CONTROL_IN_USE,  /* another process answers on the socket: a second uploader */
	CONTROL_FAILED,  /* the socket cannot be made (logged) */
};

struct control_server;

/*
 * Listens on path (a stale socket there is removed first; anything else
 * there is left alone and refused). intake (the network test's target), ops
 * and ctx must outlive the server. Returns NULL with *why telling why.
 */
struct control_server *control_server_create(const char *path, const struct config_intake *intake,
                                             const struct control_ops *ops, void *ctx,
                                             enum control_start *why);

/* Stops a running network test (within about a second), closes the
 * connections and removes the socket if it is still this one. Accepts NULL. */
void control_server_destroy(struct control_server *server);

/* Fills up to cap pollfds (POLLIN) the loop should wait on; returns how many. */
size_t control_server_poll_fds(const struct control_server *server, struct pollfd *fds, size_t cap);

/* When (monotonic ms) dispatch is due without an event: a pending
 * connection's read deadline. UINT64_MAX when none. */
uint64_t control_server_deadline(const struct control_server *server);

/* Serves whatever is ready, without blocking; now_ms is CLOCK_MONOTONIC. */
void control_server_dispatch(struct control_server *server, uint64_t now_ms);

#endif
