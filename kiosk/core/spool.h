/*
 * spool.h - the offline queue on local disk, the only place submissions rest.
 *
 *   DIR/tmp/         being written; never read; stray files removed on recovery
 *   DIR/new/         committed, waiting for (another) upload attempt
 *   DIR/sending/     claimed by the uploader; returned to new/ on recovery
 *   DIR/failed/      refused for good by the intake; kept for a technician
 *   DIR/quarantine/  unreadable files (truncated, tampered, unknown version)
 *   DIR/state/       per-submission retry state (attempts, next due time)
 *
 * Commit: write the container to tmp/ID, fsync it, rename to new/ID, fsync
 * new/. A submission is wholly in new/ or absent. Files are created 0640 and
 * directories 0770 (the UI's and the uploader's users share the group).
 *
 * File names are submission ids (32 hex digits). They sort in commit order.
 * One struct spool is used by one thread at a time.
 */
#ifndef SCANKIOSK_SPOOL_H
#define SCANKIOSK_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "container.h"

enum spool_status {
	SPOOL_OK,        /* success */
	SPOOL_FULL,      /* the capacity bound (max_bytes or max_count) would be exceeded */
	SPOOL_NO_SPACE,  /* the file system is full (ENOSPC, EDQUOT) */
	SPOOL_IO,        /* a write, fsync, rename or read failed (logged with errno) */
	SPOOL_NOMEM,     /* out of memory */
	SPOOL_NOT_FOUND, /* no such submission in that state */
	SPOOL_CORRUPT,   /* the file is unreadable; it was moved to quarantine/ */
	SPOOL_INVALID,   /* the caller passed something unusable */
	SPOOL_STATUS_LAST
};

const char *spool_strerror(enum spool_status status);

enum spool_state {
	SPOOL_STATE_NEW,
	SPOOL_STATE_SENDING,
	SPOOL_STATE_FAILED,
	SPOOL_STATE_QUARANTINE,
	SPOOL_STATE_LAST
};

const char *spool_state_name(enum spool_state state); /* "new", "sending", ... */

struct spool_limits {
	uint64_t max_bytes; /* 0 = no bound */
	uint32_t max_count; /* 0 = no bound */
};

struct spool;

/* Opens (creating missing directories) the spool at dir. Does not recover. */
__attribute__((warn_unused_result)) enum spool_status
spool_open(const char *dir, const struct spool_limits *limits, struct spool **out);
void spool_destroy(struct spool *spool); /* accepts NULL */

/*
 * True when a submission of about expected_bytes fits both the capacity bound
 * (counting new/ and sending/, not failed/ or quarantine/) and the free space
 * of the file system (keeping a reserve). The UI asks before a customer scans.
 */
bool spool_can_accept(struct spool *spool, uint64_t expected_bytes);

/* The receipt of a committed submission. */
struct spool_receipt {
	char id[CONTAINER_ID_HEX];
	char reference[CONTAINER_REFERENCE_LEN];
};

/*
 * Seals sub to public_key and commits it (tmp, fsync, rename, fsync dir).
 * SPOOL_FULL or SPOOL_NO_SPACE or SPOOL_IO leave nothing behind and evict
 * nothing already queued; success means the file and its name are on disk.
 */
__attribute__((warn_unused_result)) enum spool_status
spool_commit(struct spool *spool, const uint8_t public_key[CONTAINER_KEY_BYTES],
             const struct container_submission *sub, struct spool_receipt *out);

/*
 * The uploader's start: removes stray tmp/ files and orphaned state/ files,
 * moves sending/ back to new/ (keeping the retry state), and quarantines files
 * in new/ whose clear header is unreadable. Logs one line per file moved.
 */
__attribute__((warn_unused_result)) enum spool_status spool_recover(struct spool *spool);

/* An outcome class as the spool records it, with NUL. */
#define SPOOL_CLASS_MAX 32

struct spool_entry {
	char id[CONTAINER_ID_HEX];
	enum spool_state state;
	uint64_t bytes;      /* file size */
	int64_t created;     /* commit time, unix seconds, from the id (no file is opened) */
	uint32_t attempts;   /* upload attempts so far */
	int64_t next_due;    /* unix seconds; 0 = due now */
	char last_error[32]; /* outcome class of the last attempt, "" if none (SPOOL_CLASS_MAX) */
};

/* Entries in one state, sorted by id (commit order). Free with free(). */
__attribute__((warn_unused_result)) enum spool_status
spool_list(struct spool *spool, enum spool_state state, struct spool_entry **out, size_t *count);

/* Moves new/ID to sending/ID and opens it read-only (*fd owned by the caller). */
__attribute__((warn_unused_result)) enum spool_status spool_claim(struct spool *spool,
                                                                  const char *id, int *fd);

/* Delivered: removes sending/ID and its state. Not synced: should a power cut
 * undo the removal, the file is sent again and the intake replays its receipt. */
__attribute__((warn_unused_result)) enum spool_status spool_done(struct spool *spool,
                                                                 const char *id);

/* Not delivered yet: persists attempts, next_due and the error class (write a
 * temp file, fsync, rename), then moves sending/ID back to new/. */
__attribute__((warn_unused_result)) enum spool_status
spool_retry_later(struct spool *spool, const char *id, uint32_t attempts, int64_t next_due,
                  const char *error_class);

/* Refused for good: moves sending/ID to failed/ID, records the class. */
__attribute__((warn_unused_result)) enum spool_status
spool_fail(struct spool *spool, const char *id, const char *error_class);

/* Moves ID from state to quarantine/ with a log line giving the reason class. */
__attribute__((warn_unused_result)) enum spool_status
spool_quarantine(struct spool *spool, enum spool_state from, const char *id, const char *reason);

/*
 * A technician gives up on a submission: removes ID and its state file from
 * failed/ or quarantine/, synced (a discard that returned SPOOL_OK stays done).
 * Only those two: a submission still queued (new/ or sending/) is refused with
 * SPOOL_INVALID and nothing changes. SPOOL_NOT_FOUND when ID is in no state.
 * *from (may be NULL) gets the state ID was found in (SPOOL_STATE_LAST when
 * none), error_class (may be NULL) the class recorded for it ("" if none).
 * Logged with the id, the state and the class.
 */
__attribute__((warn_unused_result)) enum spool_status
spool_discard(struct spool *spool, const char *id, enum spool_state *from,
              char error_class[SPOOL_CLASS_MAX]);

/* Counts and bytes per state, and the oldest created time in new/+sending/. */
struct spool_stats {
	uint32_t count[SPOOL_STATE_LAST];
	uint64_t bytes[SPOOL_STATE_LAST];
	int64_t oldest_created; /* 0 when new/ and sending/ are empty */
};
__attribute__((warn_unused_result)) enum spool_status spool_stats(struct spool *spool,
                                                                  struct spool_stats *out);

/* The directory of a state, for inotify (owned by spool). */
const char *spool_dir(const struct spool *spool, enum spool_state state);

#endif
