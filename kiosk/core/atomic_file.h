/*
 * atomic_file.h - replacing a small state file so that a power cut leaves
 * either the old file or the new one, whole.
 *
 * The way the PIN guard's state file and the scanner settings file are
 * written: NAME.tmp in the same directory (created with the mode given,
 * whatever the umask, never through a symlink), written, fsynced, closed,
 * renamed over NAME, then the directory fsynced so the rename itself is on
 * disk. On any failure before the rename NAME.tmp is removed and NAME is
 * untouched. A NAME.tmp left by a power cut is harmless: the next write
 * truncates it (callers that care remove it when they start, as pin.c does).
 *
 * The spool's commits follow the same steps with their own names and locks
 * (spool.c); metrics textfiles are rewritten often and skip the fsyncs
 * (metrics_write_atomic()).
 *
 * Threads: no shared state; blocking (fsync), so a worker's call.
 */
#ifndef SCANKIOSK_ATOMIC_FILE_H
#define SCANKIOSK_ATOMIC_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define ATOMIC_FILE_ERROR_MAX 512

/*
 * Replaces name (a file name, no '/') in the directory dir_fd with len bytes
 * of data, mode `mode`. Returns 0, or -1 with errno set and *what (may be
 * NULL) naming the step that failed: "create", "write", "fsync", "close",
 * "rename" (name is unchanged; the temp file is gone) or "fsync the
 * directory" (name is the new file, but the rename may not survive a power
 * cut).
 */
__attribute__((warn_unused_result)) int atomic_file_replace_at(int dir_fd, const char *name,
                                                               const void *data, size_t len,
                                                               mode_t mode, const char **what);

/*
 * The same for a path: its directory is opened for the call. Returns true,
 * or false with "PATH: cannot STEP: strerror" in err. The directory must
 * exist.
 */
__attribute__((warn_unused_result)) bool atomic_file_replace(const char *path, const void *data,
                                                             size_t len, mode_t mode,
                                                             char err[ATOMIC_FILE_ERROR_MAX]);

#endif
