/*
 * reaper.h - removes delivered submissions from the spool on a thread of its
 * own, so the next upload starts at once.
 *
 * Removing a 1 MB file costs ext4 about half a millisecond of freeing blocks
 * and journalling; on the uploader's thread that was a fifth of a drain's
 * time. The removal is not synced in any case (spool_done()), so doing it a
 * moment later changes nothing for recovery: a delivered file still in
 * sending/ after a crash is sent again, and the intake answers with a replay
 * of the same receipt.
 *
 * Threads: reaper_done(), reaper_ok(), reaper_flush() and reaper_destroy() are
 * for one
 * owner thread; the spool calls the reaper makes (spool_done() on a file in
 * sending/ the owner no longer touches) are safe beside the owner's.
 */
#ifndef SCANKIOSK_UPLOAD_REAPER_H
#define SCANKIOSK_UPLOAD_REAPER_H

#include <stdbool.h>

#include "spool.h"

struct reaper;

/* Starts the thread. Returns NULL when it cannot: then the caller removes
 * delivered files itself. */
struct reaper *reaper_create(struct spool *spool);

/* Queues the delivered submission id for removal; waits when the queue is
 * full. */
void reaper_done(struct reaper *reaper, const char *id);

/* False when a removal failed since the last flush; does not wait. */
bool reaper_ok(struct reaper *reaper);

/* Waits until everything queued is removed. Returns false when a removal
 * failed since the last flush (the reason is logged). */
__attribute__((warn_unused_result)) bool reaper_flush(struct reaper *reaper);

/* Flushes, stops the thread and frees. Accepts NULL. */
void reaper_destroy(struct reaper *reaper);

#endif
