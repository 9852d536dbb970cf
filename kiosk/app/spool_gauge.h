/*
 * spool_gauge.h - "can the spool take a submission?" without the UI waiting.
 *
 * Asking the spool lists its directories and reads the file system's free
 * space (spool_can_accept()): local calls, but disk calls, and a UI thread
 * never waits on a disk. A gauge keeps the answer current on its own thread:
 * with its own handle on the spool directory (a struct spool is for one
 * thread), every interval_ms and whenever the UI asks about another size or
 * calls spool_gauge_refresh(). The UI reads the last answer at once.
 *
 * Threads: create, destroy, can_accept and refresh belong to one thread (the
 * UI thread). notify runs on the gauge's thread when an answer changed; it
 * may only wake the UI (push an SDL user event).
 */
#ifndef SCANKIOSK_SPOOL_GAUGE_H
#define SCANKIOSK_SPOOL_GAUGE_H

#include <stdbool.h>
#include <stdint.h>

#include "spool.h"

#define SPOOL_GAUGE_INTERVAL_MS 3000 /* default: how often the answer is renewed */

struct spool_gauge;

/* Opens dir (spool_open(), with limits) on a new thread and starts asking.
 * interval_ms 0: SPOOL_GAUGE_INTERVAL_MS. Returns NULL when memory is short
 * or the thread cannot start (the spool directory is opened on the thread: a
 * spool that cannot be opened reads "cannot accept"). */
struct spool_gauge *spool_gauge_create(const char *dir, const struct spool_limits *limits,
                                       unsigned interval_ms, void (*notify)(void *userdata),
                                       void *userdata);

/* Stops the thread (joining it: it may be inside a directory listing) and
 * frees. Program end. Accepts NULL. */
void spool_gauge_destroy(struct spool_gauge *g);

/*
 * Never blocks. The last answer for a submission of bytes bytes (e.g.
 * session_expected_bytes(s, 1)). When the gauge has not yet answered for this
 * size since the last change of size or refresh, it is asked to, and the
 * answer for the size asked before is returned meanwhile (true before the
 * first answer); *fresh (may be NULL) tells which.
 */
bool spool_gauge_can_accept(struct spool_gauge *g, uint64_t bytes, bool *fresh);

/* Asks for a new answer now (e.g. on entering the scan screen, and right
 * before a scan starts). Never blocks. */
void spool_gauge_refresh(struct spool_gauge *g);

#endif
