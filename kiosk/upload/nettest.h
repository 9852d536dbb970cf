/*
 * nettest.h - the network test of the maintenance menu: can this kiosk reach
 * its intake, with its own credentials, right now?
 *
 * Four steps against the configured [intake] url, each with its own timeout,
 * result, a stable code (CONTROL.md) and a short reason for people:
 *
 *   dns   getaddrinfo() of the URL's host
 *   tcp   a TCP connection to the URL's port (each address in turn)
 *   tls   the TLS handshake with ca_file, pin and the client certificate:
 *         curl with CURLOPT_CONNECT_ONLY and the uploads' own options
 *         (intake_set_transport()), so it checks exactly what an upload needs
 *   http  GET {url}/v1/health (PROTOCOL.md §9), expecting 200 {"status":"ok"}
 *
 * A step runs only when the one before passed; the rest are skipped. Every
 * step ends within [intake] connect_timeout (the HTTP step within
 * connect_timeout + NETTEST_HTTP_EXTRA_S), and within about 100 ms of *cancel
 * becoming true. Nothing here holds or reports personal data: host names,
 * addresses, ports, status codes and library error texts only.
 *
 * The DNS and TCP steps go to the intake's host directly; the TLS and HTTP
 * steps go through curl, which honours the proxy environment variables.
 *
 * Threads: nettest_run() blocks; the uploader runs it on a thread of its own
 * (control.c). It uses only its own curl handles (curl_global_init() is the
 * caller's).
 */
#ifndef SCANKIOSK_UPLOAD_NETTEST_H
#define SCANKIOSK_UPLOAD_NETTEST_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"

/* The HTTP step's answer may take this much longer than a connection. */
#define NETTEST_HTTP_EXTRA_S 10
/* A reason, printable ASCII, with NUL. */
#define NETTEST_REASON_MAX 128

enum nettest_step {
	NETTEST_DNS,  /* "dns" */
	NETTEST_TCP,  /* "tcp" */
	NETTEST_TLS,  /* "tls" */
	NETTEST_HTTP, /* "http" */
	NETTEST_STEP_LAST
};

enum nettest_result {
	NETTEST_PASSED,  /* "ok" */
	NETTEST_FAILED,  /* "failed" */
	NETTEST_SKIPPED, /* "skipped": an earlier step failed */
	NETTEST_RESULT_LAST
};

struct nettest_step_report {
	enum nettest_result result;
	const char *code;                /* static, stable: "ok", "no_such_host", "pin", ... */
	char reason[NETTEST_REASON_MAX]; /* printable ASCII, for people */
	uint32_t ms;                     /* how long the step took */
};

struct nettest_report {
	struct nettest_step_report steps[NETTEST_STEP_LAST];
	bool passed;                   /* every step passed */
	enum nettest_step failed_step; /* NETTEST_STEP_LAST when passed */
	uint32_t ms;                   /* the whole test */
};

/* Called after each step, skipped ones included, in order. */
typedef void (*nettest_step_fn)(enum nettest_step step, const struct nettest_step_report *r,
                                void *ctx);

const char *nettest_step_name(enum nettest_step step);
const char *nettest_result_name(enum nettest_result result);

/*
 * Runs the four steps against cfg's url and fills *out. on_step may be NULL.
 * cancel may be NULL; when it becomes true the running step ends as failed
 * with code "cancelled" and the rest are skipped.
 */
void nettest_run(const struct config_intake *cfg, atomic_bool *cancel, nettest_step_fn on_step,
                 void *ctx, struct nettest_report *out);

#endif
