/*
 * spool.c - the offline queue: one container file per submission, moved
 * between directories by rename(2), which is atomic within one file system.
 *
 * Every directory is opened once and used through *at() calls. A file that is
 * being committed is held with flock(LOCK_EX) so that recovery in the other
 * process can tell a commit in progress from a stray left by a crash (the
 * kernel drops the lock when the writer dies).
 */
#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "fdio.h"
#include "log.h"

#define FILE_MODE 0640
#define DIR_MODE  0770
/* Free space can_accept() leaves to the rest of the system (logs, journal). */
#define FREE_RESERVE (64u * 1024 * 1024)
/* A state file is three short lines. */
#define STATE_MAX 256
#define CLASS_MAX (sizeof(((struct spool_entry *)0)->last_error))
_Static_assert(CLASS_MAX == SPOOL_CLASS_MAX, "spool_entry.last_error is SPOOL_CLASS_MAX");

/* The four states first, so a spool_state indexes fds[] and paths[] directly. */
enum dir_index { DIR_TMP = SPOOL_STATE_LAST, DIR_STATE, DIR_COUNT };

static const char *const dir_names[DIR_COUNT] = {
        [SPOOL_STATE_NEW] = "new",
        [SPOOL_STATE_SENDING] = "sending",
        [SPOOL_STATE_FAILED] = "failed",
        [SPOOL_STATE_QUARANTINE] = "quarantine",
        [DIR_TMP] = "tmp",
        [DIR_STATE] = "state",
};

struct spool {
	int fds[DIR_COUNT];
	char *paths[DIR_COUNT];
	int root_fd;
	struct spool_limits limits;
};

static const char *const status_names[SPOOL_STATUS_LAST] = {
        [SPOOL_OK] = "ok",
        [SPOOL_FULL] = "spool is full",
        [SPOOL_NO_SPACE] = "no space left on device",
        [SPOOL_IO] = "I/O error",
        [SPOOL_NOMEM] = "out of memory",
        [SPOOL_NOT_FOUND] = "no such submission",
        [SPOOL_CORRUPT] = "submission is unreadable (quarantined)",
        [SPOOL_INVALID] = "invalid argument",
};

const char *spool_strerror(enum spool_status status)
{
	if ((unsigned)status >= SPOOL_STATUS_LAST)
		return "unknown spool status";
	return status_names[status];
}

const char *spool_state_name(enum spool_state state)
{
	if ((unsigned)state >= SPOOL_STATE_LAST)
		return "unknown";
	return dir_names[state];
}

const char *spool_dir(const struct spool *spool, enum spool_state state)
{
	if (!spool || (unsigned)state >= SPOOL_STATE_LAST)
		return NULL;
	return spool->paths[state];
}

/* ---- helpers ------------------------------------------------------------- */

static enum spool_status errno_status(int err)
{
	if (err == ENOSPC || err == EDQUOT)
		return SPOOL_NO_SPACE;
	if (err == ENOMEM)
		return SPOOL_NOMEM;
	return SPOOL_IO;
}

static enum spool_status container_to_spool(enum container_status st)
{
	switch (st) {
	case CONTAINER_OK:
		return SPOOL_OK;
	case CONTAINER_NO_SPACE:
		return SPOOL_NO_SPACE;
	case CONTAINER_NOMEM:
		return SPOOL_NOMEM;
	case CONTAINER_INVALID:
		return SPOOL_INVALID;
	default:
		return SPOOL_IO;
	}
}

static bool is_id(const char *name)
{
	size_t i = 0;
	for (; name[i]; i++)
		if (i >= CONTAINER_ID_HEX - 1 ||
		    !((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
			return false;
	return i == CONTAINER_ID_HEX - 1;
}

/* An outcome class fit for a log line and a state file: [A-Za-z0-9._:-]. */
static void clean_class(const char *in, char out[CLASS_MAX])
{
	size_t i = 0;
	for (; in && in[i] && i < CLASS_MAX - 1; i++) {
		char c = in[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		          (c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':' || c == '-';
		out[i] = ok ? c : '_';
	}
	out[i] = '\0';
}

static enum spool_status sync_dir(struct spool *spool, int index)
{
	if (fdio_fsync(spool->fds[index]) != 0) {
		log_error_errno("spool: cannot fsync %s/", dir_names[index]);
		return errno_status(errno);
	}
	return SPOOL_OK;
}

static enum spool_status write_all(int fd, const void *buf, size_t len)
{
	return fdio_write_all(fd, buf, len) == 0 ? SPOOL_OK : errno_status(errno);
}

/* The names in one directory that are submission ids, sorted. */
struct id_list {
	char (*ids)[CONTAINER_ID_HEX];
	size_t count, cap;
	size_t foreign; /* entries that are not ids (other than . and ..) */
};

static int compare_ids(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* A directory of the spool as a stream, on a fresh open file description so
 * readdir() offsets are not shared. NULL (logged, errno kept) on failure. */
static DIR *open_dir_stream(struct spool *spool, int index)
{
	int fd = openat(spool->fds[index], ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
	if (!dir) {
		int err = errno;
		log_error_errno("spool: cannot read %s/", dir_names[index]);
		if (fd >= 0)
			close(fd);
		errno = err;
	}
	return dir;
}

static enum spool_status list_ids(struct spool *spool, int index, struct id_list *out)
{
	memset(out, 0, sizeof(*out));
	DIR *dir = open_dir_stream(spool, index);
	if (!dir)
		return errno_status(errno);
	enum spool_status st = SPOOL_OK;
	for (;;) {
		errno = 0;
		struct dirent *de = readdir(dir);
		if (!de) {
			if (errno) {
				log_error_errno("spool: cannot read %s/", dir_names[index]);
				st = errno_status(errno);
			}
			break;
		}
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (!is_id(de->d_name)) {
			out->foreign++;
			continue;
		}
		if (out->count == out->cap) {
			size_t ncap = out->cap ? out->cap * 2 : 64;
			void *n = realloc(out->ids, ncap * sizeof(*out->ids));
			if (!n) {
				st = SPOOL_NOMEM;
				break;
			}
			out->ids = n;
			out->cap = ncap;
		}
		memcpy(out->ids[out->count++], de->d_name, CONTAINER_ID_HEX);
	}
	closedir(dir);
	if (st != SPOOL_OK) {
		free(out->ids);
		memset(out, 0, sizeof(*out));
		return st;
	}
	if (out->count)
		qsort(out->ids, out->count, sizeof(*out->ids), compare_ids);
	return SPOOL_OK;
}

static bool exists_in(struct spool *spool, int index, const char *name)
{
	struct stat sb;
	return fstatat(spool->fds[index], name, &sb, AT_SYMLINK_NOFOLLOW) == 0;
}

/* The commit time an id carries: its first 6 bytes are big-endian
 * milliseconds since the epoch (container_new_id()). Listing by name and stat
 * alone keeps a status update cheap with thousands queued: no file is opened. */
static int64_t id_created(const char *id)
{
	int64_t ms = 0;
	for (int i = 0; i < 12; i++) {
		char c = id[i];
		int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : 0;
		ms = ms * 16 + v;
	}
	return ms / 1000;
}

/* Reads the clear header of a regular file; st_out gets its stat. */
static enum container_status read_header_at(struct spool *spool, int index, const char *id,
                                            struct container_header *h, struct stat *sb)
{
	int fd = openat(spool->fds[index], id, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return CONTAINER_IO;
	enum container_status st = CONTAINER_IO;
	if (fstat(fd, sb) == 0)
		st = S_ISREG(sb->st_mode) ? container_read_header(fd, h) : CONTAINER_NOT_CONTAINER;
	close(fd);
	return st;
}

/* ---- retry state ------------------------------------------------------------ */

struct retry_state {
	uint32_t attempts;
	int64_t next_due;
	char last_error[CLASS_MAX];
};

static void read_state(struct spool *spool, const char *id, struct retry_state *rs)
{
	memset(rs, 0, sizeof(*rs));
	int fd = openat(spool->fds[DIR_STATE], id, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return;
	char text[STATE_MAX + 1];
	size_t len = 0;
	while (len < STATE_MAX) {
		ssize_t n = read(fd, text + len, STATE_MAX - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	text[len] = '\0';
	/* Unknown keys and bad values are ignored: the state is advisory. */
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(line, '=');
		if (!eq)
			continue;
		*eq = '\0';
		const char *value = eq + 1;
		char *end = NULL;
		errno = 0;
		if (strcmp(line, "attempts") == 0) {
			unsigned long long v = strtoull(value, &end, 10);
			if (!errno && end != value && !*end && v <= UINT32_MAX)
				rs->attempts = (uint32_t)v;
		} else if (strcmp(line, "next_due") == 0) {
			long long v = strtoll(value, &end, 10);
			if (!errno && end != value && !*end && v >= 0)
				rs->next_due = v;
		} else if (strcmp(line, "last_error") == 0) {
			clean_class(value, rs->last_error);
		}
	}
}

/* state/ID through state/ID.tmp, fsync, rename, fsync state/. */
static enum spool_status write_state(struct spool *spool, const char *id,
                                     const struct retry_state *rs)
{
	char tmp[CONTAINER_ID_HEX + 8], text[STATE_MAX];
	snprintf(tmp, sizeof(tmp), "%s.tmp", id);
	int len = snprintf(text, sizeof(text),
	                   "attempts=%" PRIu32 "\nnext_due=%" PRId64 "\nlast_error=%s\n",
	                   rs->attempts, rs->next_due, rs->last_error);
	if (len < 0 || (size_t)len >= sizeof(text))
		return SPOOL_INVALID;
	int fd = openat(spool->fds[DIR_STATE], tmp,
	                O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, FILE_MODE);
	if (fd < 0) {
		log_error_errno("spool: %s: cannot create its state file", id);
		return errno_status(errno);
	}
	enum spool_status st = SPOOL_OK;
	if (fchmod(fd, FILE_MODE) != 0)
		st = errno_status(errno);
	if (st == SPOOL_OK)
		st = write_all(fd, text, (size_t)len);
	if (st == SPOOL_OK && fdio_fsync(fd) != 0)
		st = errno_status(errno);
	int err = errno;
	if (close(fd) != 0 && st == SPOOL_OK) {
		err = errno;
		st = errno_status(err);
	}
	if (st == SPOOL_OK &&
	    renameat(spool->fds[DIR_STATE], tmp, spool->fds[DIR_STATE], id) != 0) {
		err = errno;
		st = errno_status(err);
	}
	if (st != SPOOL_OK) {
		errno = err;
		log_error_errno("spool: %s: cannot write its state file", id);
		unlinkat(spool->fds[DIR_STATE], tmp, 0);
		return st;
	}
	return sync_dir(spool, DIR_STATE);
}

/* ---- open and close -------------------------------------------------------- */

void spool_destroy(struct spool *spool)
{
	if (!spool)
		return;
	for (int i = 0; i < DIR_COUNT; i++) {
		if (spool->fds[i] >= 0)
			close(spool->fds[i]);
		free(spool->paths[i]);
	}
	if (spool->root_fd >= 0)
		close(spool->root_fd);
	free(spool);
}

enum spool_status spool_open(const char *dir, const struct spool_limits *limits, struct spool **out)
{
	if (!out)
		return SPOOL_INVALID;
	*out = NULL;
	if (!dir || !*dir)
		return SPOOL_INVALID;
	struct spool *spool = calloc(1, sizeof(*spool));
	if (!spool)
		return SPOOL_NOMEM;
	spool->root_fd = -1;
	for (int i = 0; i < DIR_COUNT; i++)
		spool->fds[i] = -1;
	if (limits)
		spool->limits = *limits;

	enum spool_status st = SPOOL_IO;
	bool created = false;
	if (mkdir(dir, DIR_MODE) == 0) {
		/* Exactly 0770 whatever the umask: both users share the group. */
		if (chmod(dir, DIR_MODE) != 0) {
			log_error_errno("spool: cannot chmod %s", dir);
			goto out;
		}
	} else if (errno != EEXIST) {
		log_error_errno("spool: cannot create %s", dir);
		st = errno_status(errno);
		goto out;
	}
	spool->root_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (spool->root_fd < 0) {
		log_error_errno("spool: cannot open %s", dir);
		goto out;
	}
	for (int i = 0; i < DIR_COUNT; i++) {
		const char *name = dir_names[i];
		if (mkdirat(spool->root_fd, name, DIR_MODE) == 0) {
			created = true;
			if (fchmodat(spool->root_fd, name, DIR_MODE, 0) != 0) {
				log_error_errno("spool: cannot chmod %s/%s", dir, name);
				goto out;
			}
		} else if (errno != EEXIST) {
			log_error_errno("spool: cannot create %s/%s", dir, name);
			st = errno_status(errno);
			goto out;
		}
		spool->fds[i] = openat(spool->root_fd, name,
		                       O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (spool->fds[i] < 0) {
			log_error_errno("spool: cannot open %s/%s", dir, name);
			goto out;
		}
		size_t len = strlen(dir) + strlen(name) + 2;
		spool->paths[i] = malloc(len);
		if (!spool->paths[i]) {
			st = SPOOL_NOMEM;
			goto out;
		}
		snprintf(spool->paths[i], len, "%s/%s", dir, name);
	}
	if (created && fdio_fsync(spool->root_fd) != 0) {
		log_error_errno("spool: cannot fsync %s", dir);
		goto out;
	}
	*out = spool;
	spool = NULL;
	st = SPOOL_OK;
out:
	spool_destroy(spool);
	return st;
}

/* ---- capacity -------------------------------------------------------------- */

/* Submissions and bytes in new/ and sending/. */
static enum spool_status usage(struct spool *spool, uint32_t *count, uint64_t *bytes)
{
	*count = 0;
	*bytes = 0;
	for (int s = SPOOL_STATE_NEW; s <= SPOOL_STATE_SENDING; s++) {
		struct id_list ids;
		enum spool_status st = list_ids(spool, s, &ids);
		if (st != SPOOL_OK)
			return st;
		for (size_t i = 0; i < ids.count; i++) {
			struct stat sb;
			if (fstatat(spool->fds[s], ids.ids[i], &sb, AT_SYMLINK_NOFOLLOW) != 0 ||
			    !S_ISREG(sb.st_mode))
				continue; /* moved meanwhile */
			(*count)++;
			*bytes += (uint64_t)sb.st_size;
		}
		free(ids.ids);
	}
	return SPOOL_OK;
}

static bool within_bounds(const struct spool *spool, uint32_t count, uint64_t bytes, uint64_t more)
{
	if (spool->limits.max_count && count >= spool->limits.max_count)
		return false;
	if (spool->limits.max_bytes &&
	    (more > spool->limits.max_bytes || bytes > spool->limits.max_bytes - more))
		return false;
	return true;
}

/* A container's size for expected_bytes of pages: the chunk overhead and room
 * for the metadata. */
static uint64_t container_estimate(uint64_t expected)
{
	return expected + (expected / (64 * 1024) + CONTAINER_MAX_PAGES + 2) * 21 + 16 * 1024;
}

bool spool_can_accept(struct spool *spool, uint64_t expected_bytes)
{
	if (!spool)
		return false;
	uint32_t count;
	uint64_t bytes;
	if (usage(spool, &count, &bytes) != SPOOL_OK)
		return false;
	uint64_t need = container_estimate(expected_bytes);
	if (!within_bounds(spool, count, bytes, need)) {
		log_info("spool: cannot accept: capacity bound reached (%" PRIu32
		         " queued, %" PRIu64 " bytes)",
		         count, bytes);
		return false;
	}
	struct statvfs vfs;
	if (fstatvfs(spool->root_fd, &vfs) != 0) {
		log_error_errno("spool: cannot read the free space");
		return false;
	}
	uint64_t avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	if (avail < need || avail - need < FREE_RESERVE) {
		log_info("spool: cannot accept: %" PRIu64 " bytes free on the file system", avail);
		return false;
	}
	return true;
}

/* ---- commit ---------------------------------------------------------------- */

enum spool_status spool_commit(struct spool *spool, const uint8_t public_key[CONTAINER_KEY_BYTES],
                               const struct container_submission *sub, struct spool_receipt *out)
{
	if (!spool || !public_key || !sub || !out)
		return SPOOL_INVALID;
	uint32_t count;
	uint64_t bytes, pages = 0;
	enum spool_status st = usage(spool, &count, &bytes);
	if (st != SPOOL_OK)
		return st;
	for (size_t i = 0; i < sub->page_count && sub->pages; i++)
		pages += sub->pages[i].bytes;
	if (!within_bounds(spool, count, bytes, pages)) {
		log_warning("spool: full (%" PRIu32 " queued, %" PRIu64 " bytes); not committed",
		            count, bytes);
		return SPOOL_FULL;
	}

	char id[CONTAINER_ID_HEX];
	container_new_id(id);
	int tmp = spool->fds[DIR_TMP];
	int fd = openat(tmp, id, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, FILE_MODE);
	if (fd < 0) {
		log_error_errno("spool: %s: cannot create tmp file", id);
		return errno_status(errno);
	}
	bool in_tmp = true, in_new = false;
	/* Held until the rename: recovery leaves a locked tmp file alone. */
	if (flock(fd, LOCK_EX | LOCK_NB) != 0 || fchmod(fd, FILE_MODE) != 0) {
		log_error_errno("spool: %s: cannot lock or chmod tmp file", id);
		st = errno_status(errno);
		goto out;
	}
	enum container_status cst = container_write(fd, id, (int64_t)time(NULL), public_key, sub);
	if (cst != CONTAINER_OK) {
		if (cst == CONTAINER_IO || cst == CONTAINER_NO_SPACE)
			log_error_errno("spool: %s: cannot write: %s", id, container_strerror(cst));
		else
			log_error("spool: %s: cannot write: %s", id, container_strerror(cst));
		st = container_to_spool(cst);
		goto out;
	}
	struct stat sb;
	if (fstat(fd, &sb) != 0) {
		log_error_errno("spool: %s: cannot stat tmp file", id);
		st = errno_status(errno);
		goto out;
	}
	if (!within_bounds(spool, count, bytes, (uint64_t)sb.st_size)) {
		log_warning("spool: full (%" PRIu32 " queued, %" PRIu64 " bytes); not committed",
		            count, bytes);
		st = SPOOL_FULL;
		goto out;
	}
	if (fdio_fsync(fd) != 0) {
		log_error_errno("spool: %s: cannot fsync", id);
		st = errno_status(errno);
		goto out;
	}
	if (renameat(tmp, id, spool->fds[SPOOL_STATE_NEW], id) != 0) {
		log_error_errno("spool: %s: cannot rename into new/", id);
		st = errno_status(errno);
		goto out;
	}
	in_tmp = false;
	in_new = true;
	st = sync_dir(spool, SPOOL_STATE_NEW);
	if (st != SPOOL_OK)
		goto out;
	int rc = close(fd);
	fd = -1;
	if (rc != 0) {
		log_error_errno("spool: %s: close failed", id);
		st = errno_status(errno);
		goto out;
	}
	memcpy(out->id, id, CONTAINER_ID_HEX);
	container_reference(id, out->reference);
	log_info("spool: %s committed (%lld bytes, %zu pages)", id, (long long)sb.st_size,
	         sub->page_count);
	in_new = false;
	st = SPOOL_OK;
out:
	if (fd >= 0)
		close(fd);
	/* A failed commit leaves nothing: not in tmp/, and not in new/ if its
	 * name may not be on disk (the customer is told it failed). */
	if (in_tmp)
		unlinkat(tmp, id, 0);
	if (in_new) {
		unlinkat(spool->fds[SPOOL_STATE_NEW], id, 0);
		fdio_fsync(spool->fds[SPOOL_STATE_NEW]);
	}
	return st;
}

/* ---- moves ----------------------------------------------------------------- */

static enum spool_status move(struct spool *spool, int from, int to, const char *id)
{
	if (renameat(spool->fds[from], id, spool->fds[to], id) != 0) {
		if (errno == ENOENT)
			return SPOOL_NOT_FOUND;
		log_error_errno("spool: %s: cannot move %s/ to %s/", id, dir_names[from],
		                dir_names[to]);
		return errno_status(errno);
	}
	enum spool_status st = sync_dir(spool, to);
	if (st == SPOOL_OK)
		st = sync_dir(spool, from);
	return st;
}

enum spool_status spool_claim(struct spool *spool, const char *id, int *fd)
{
	if (fd)
		*fd = -1;
	if (!spool || !id || !fd || !is_id(id))
		return SPOOL_INVALID;
	if (renameat(spool->fds[SPOOL_STATE_NEW], id, spool->fds[SPOOL_STATE_SENDING], id) != 0) {
		if (errno == ENOENT)
			return SPOOL_NOT_FOUND;
		log_error_errno("spool: %s: cannot claim", id);
		return errno_status(errno);
	}
	/* Not synced: if the claim is lost, recovery would move it back anyway. */
	*fd = openat(spool->fds[SPOOL_STATE_SENDING], id, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (*fd < 0) {
		int err = errno;
		log_error_errno("spool: %s: cannot open after claiming", id);
		if (renameat(spool->fds[SPOOL_STATE_SENDING], id, spool->fds[SPOOL_STATE_NEW], id))
			log_error_errno("spool: %s: cannot return to new/", id);
		return errno_status(err);
	}
	log_debug("spool: %s claimed", id);
	return SPOOL_OK;
}

enum spool_status spool_done(struct spool *spool, const char *id)
{
	if (!spool || !id || !is_id(id))
		return SPOOL_INVALID;
	if (unlinkat(spool->fds[SPOOL_STATE_SENDING], id, 0) != 0) {
		if (errno == ENOENT)
			return SPOOL_NOT_FOUND;
		log_error_errno("spool: %s: cannot remove from sending/", id);
		return errno_status(errno);
	}
	if (unlinkat(spool->fds[DIR_STATE], id, 0) != 0 && errno != ENOENT)
		log_warning_errno("spool: %s: cannot remove its state file", id);
	/* Not synced: a removal lost to a power cut brings the file back to
	 * sending/, recovery returns it to new/, and the intake answers its
	 * second upload with a replay of the same receipt (Idempotency-Key).
	 * Nothing is lost or doubled, and a drain saves two directory syncs per
	 * submission. */
	log_info("spool: %s delivered and removed", id);
	return SPOOL_OK;
}

enum spool_status spool_retry_later(struct spool *spool, const char *id, uint32_t attempts,
                                    int64_t next_due, const char *error_class)
{
	if (!spool || !id || !is_id(id) || next_due < 0)
		return SPOOL_INVALID;
	if (!exists_in(spool, SPOOL_STATE_SENDING, id))
		return SPOOL_NOT_FOUND;
	struct retry_state rs = {.attempts = attempts, .next_due = next_due};
	clean_class(error_class, rs.last_error);
	/* The state first: the file is never back in new/ without it. */
	enum spool_status st = write_state(spool, id, &rs);
	if (st != SPOOL_OK)
		return st;
	st = move(spool, SPOOL_STATE_SENDING, SPOOL_STATE_NEW, id);
	if (st == SPOOL_OK)
		log_info("spool: %s retry later (attempt %" PRIu32 ", due %" PRId64 ", %s)", id,
		         attempts, next_due, rs.last_error);
	return st;
}

enum spool_status spool_fail(struct spool *spool, const char *id, const char *error_class)
{
	if (!spool || !id || !is_id(id))
		return SPOOL_INVALID;
	if (!exists_in(spool, SPOOL_STATE_SENDING, id))
		return SPOOL_NOT_FOUND;
	struct retry_state rs;
	read_state(spool, id, &rs);
	rs.next_due = 0;
	clean_class(error_class, rs.last_error);
	enum spool_status st = write_state(spool, id, &rs);
	if (st != SPOOL_OK)
		return st;
	st = move(spool, SPOOL_STATE_SENDING, SPOOL_STATE_FAILED, id);
	if (st == SPOOL_OK)
		log_warning("spool: %s refused for good, kept in failed/ (%s)", id, rs.last_error);
	return st;
}

enum spool_status spool_quarantine(struct spool *spool, enum spool_state from, const char *id,
                                   const char *reason)
{
	if (!spool || !id || !is_id(id) || (unsigned)from >= SPOOL_STATE_QUARANTINE)
		return SPOOL_INVALID;
	char why[CLASS_MAX];
	clean_class(reason, why);
	enum spool_status st = move(spool, from, SPOOL_STATE_QUARANTINE, id);
	if (st != SPOOL_OK)
		return st;
	log_warning("spool: %s quarantined from %s/ (%s)", id, dir_names[from], why);
	/* The reason stays with it for a technician; the move itself is done. */
	struct retry_state rs;
	read_state(spool, id, &rs);
	rs.next_due = 0;
	memcpy(rs.last_error, why, sizeof(why));
	if (write_state(spool, id, &rs) != SPOOL_OK)
		log_warning("spool: %s: quarantine reason not recorded", id);
	return SPOOL_OK;
}

enum spool_status spool_discard(struct spool *spool, const char *id, enum spool_state *from,
                                char error_class[SPOOL_CLASS_MAX])
{
	if (from)
		*from = SPOOL_STATE_LAST;
	if (error_class)
		error_class[0] = '\0';
	if (!spool || !id || !is_id(id))
		return SPOOL_INVALID;
	/* Queued work is the uploader's: never deleted from here. */
	for (int s = SPOOL_STATE_NEW; s <= SPOOL_STATE_SENDING; s++) {
		if (exists_in(spool, s, id)) {
			if (from)
				*from = (enum spool_state)s;
			log_warning("spool: %s is in %s/; only failed/ and quarantine/ items can "
			            "be discarded",
			            id, dir_names[s]);
			return SPOOL_INVALID;
		}
	}
	for (int s = SPOOL_STATE_FAILED; s <= SPOOL_STATE_QUARANTINE; s++) {
		struct retry_state rs;
		read_state(spool, id, &rs);
		if (unlinkat(spool->fds[s], id, 0) != 0) {
			if (errno == ENOENT)
				continue;
			log_error_errno("spool: %s: cannot remove from %s/", id, dir_names[s]);
			return errno_status(errno);
		}
		if (from)
			*from = (enum spool_state)s;
		if (error_class)
			memcpy(error_class, rs.last_error, CLASS_MAX);
		enum spool_status st = sync_dir(spool, s);
		if (unlinkat(spool->fds[DIR_STATE], id, 0) == 0) {
			enum spool_status st2 = sync_dir(spool, DIR_STATE);
			if (st == SPOOL_OK)
				st = st2;
		} else if (errno != ENOENT) {
			/* An orphaned state file is removed by the next recovery. */
			log_warning_errno("spool: %s: cannot remove its state file", id);
		}
		log_info("spool: %s discarded from %s/ (%s)", id, dir_names[s],
		         rs.last_error[0] ? rs.last_error : "no class");
		return st;
	}
	return SPOOL_NOT_FOUND;
}

/* ---- recovery -------------------------------------------------------------- */

static const char *header_class(enum container_status st)
{
	switch (st) {
	case CONTAINER_NOT_CONTAINER:
		return "not_container";
	case CONTAINER_BAD_VERSION:
		return "bad_version";
	case CONTAINER_TRUNCATED:
		return "truncated";
	case CONTAINER_TAMPERED:
		return "bad_header";
	default:
		return NULL; /* I/O or memory: not the file's fault */
	}
}

/* Removes files left in tmp/ by a writer that died. A commit in progress holds
 * its file locked. Foreign names are removed too: nothing else lives here. */
static enum spool_status recover_tmp(struct spool *spool)
{
	DIR *dir = open_dir_stream(spool, DIR_TMP);
	if (!dir)
		return SPOOL_IO;
	struct dirent *de;
	size_t removed = 0;
	while ((de = readdir(dir))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		const char *shown = is_id(de->d_name) ? de->d_name : "(foreign name)";
		int fd = openat(spool->fds[DIR_TMP], de->d_name,
		                O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
		if (fd >= 0) {
			bool busy = flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
			close(fd);
			if (busy) {
				log_debug("spool: tmp/%s is being written; left alone", shown);
				continue;
			}
		}
		if (unlinkat(spool->fds[DIR_TMP], de->d_name, 0) != 0) {
			log_warning_errno("spool: cannot remove tmp/%s", shown);
			continue;
		}
		log_info("spool: removed stray tmp/%s", shown);
		removed++;
	}
	closedir(dir);
	if (removed && sync_dir(spool, DIR_TMP) != SPOOL_OK)
		return SPOOL_IO;
	return SPOOL_OK;
}

enum spool_status spool_recover(struct spool *spool)
{
	if (!spool)
		return SPOOL_INVALID;
	enum spool_status st = recover_tmp(spool);
	if (st != SPOOL_OK)
		return st;

	struct id_list ids;
	st = list_ids(spool, SPOOL_STATE_SENDING, &ids);
	if (st != SPOOL_OK)
		return st;
	for (size_t i = 0; i < ids.count; i++) {
		if (move(spool, SPOOL_STATE_SENDING, SPOOL_STATE_NEW, ids.ids[i]) == SPOOL_OK)
			log_info("spool: %s returned from sending/ to new/", ids.ids[i]);
	}
	if (ids.foreign)
		log_warning("spool: %zu files in sending/ are not submissions; ignored",
		            ids.foreign);
	free(ids.ids);

	st = list_ids(spool, SPOOL_STATE_NEW, &ids);
	if (st != SPOOL_OK)
		return st;
	for (size_t i = 0; i < ids.count; i++) {
		const char *id = ids.ids[i];
		struct container_header h;
		struct stat sb;
		enum container_status cst = read_header_at(spool, SPOOL_STATE_NEW, id, &h, &sb);
		const char *why = NULL;
		if (cst == CONTAINER_OK && strcmp(h.id, id) != 0)
			why = "id_mismatch";
		else if (cst != CONTAINER_OK)
			why = header_class(cst);
		if (why) {
			if (spool_quarantine(spool, SPOOL_STATE_NEW, id, why) != SPOOL_OK)
				log_error("spool: %s: unreadable (%s) but cannot be quarantined",
				          id, why);
		} else if (cst != CONTAINER_OK) {
			log_warning("spool: %s: header not read (%s); left in new/", id,
			            container_strerror(cst));
		}
	}
	if (ids.foreign)
		log_warning("spool: %zu files in new/ are not submissions; ignored", ids.foreign);
	free(ids.ids);

	/* State files without a submission, and temporary state files. */
	DIR *dir = open_dir_stream(spool, DIR_STATE);
	if (!dir)
		return SPOOL_IO;
	struct dirent *de;
	size_t removed = 0;
	while ((de = readdir(dir))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		bool id = is_id(de->d_name);
		if (id && (exists_in(spool, SPOOL_STATE_NEW, de->d_name) ||
		           exists_in(spool, SPOOL_STATE_SENDING, de->d_name) ||
		           exists_in(spool, SPOOL_STATE_FAILED, de->d_name) ||
		           exists_in(spool, SPOOL_STATE_QUARANTINE, de->d_name)))
			continue;
		if (unlinkat(spool->fds[DIR_STATE], de->d_name, 0) != 0) {
			log_warning_errno("spool: cannot remove state/%s",
			                  id ? de->d_name : "(foreign name)");
			continue;
		}
		log_info("spool: removed orphaned state/%s", id ? de->d_name : "(foreign name)");
		removed++;
	}
	closedir(dir);
	if (removed && sync_dir(spool, DIR_STATE) != SPOOL_OK)
		return SPOOL_IO;
	return SPOOL_OK;
}

/* ---- listing --------------------------------------------------------------- */

enum spool_status spool_list(struct spool *spool, enum spool_state state, struct spool_entry **out,
                             size_t *count)
{
	if (out)
		*out = NULL;
	if (count)
		*count = 0;
	if (!spool || !out || !count || (unsigned)state >= SPOOL_STATE_LAST)
		return SPOOL_INVALID;
	struct id_list ids;
	enum spool_status st = list_ids(spool, (int)state, &ids);
	if (st != SPOOL_OK)
		return st;
	struct spool_entry *entries = ids.count ? calloc(ids.count, sizeof(*entries)) : NULL;
	if (ids.count && !entries) {
		free(ids.ids);
		return SPOOL_NOMEM;
	}
	size_t n = 0;
	for (size_t i = 0; i < ids.count; i++) {
		struct spool_entry *e = &entries[n];
		struct stat sb;
		if (fstatat(spool->fds[state], ids.ids[i], &sb, AT_SYMLINK_NOFOLLOW) != 0)
			continue; /* moved meanwhile */
		if (!S_ISREG(sb.st_mode))
			continue;
		memcpy(e->id, ids.ids[i], CONTAINER_ID_HEX);
		e->state = state;
		e->bytes = (uint64_t)sb.st_size;
		e->created = id_created(e->id);
		struct retry_state rs;
		read_state(spool, e->id, &rs);
		e->attempts = rs.attempts;
		e->next_due = rs.next_due;
		memcpy(e->last_error, rs.last_error, sizeof(e->last_error));
		n++;
	}
	free(ids.ids);
	if (n == 0) {
		free(entries);
		entries = NULL;
	}
	*out = entries;
	*count = n;
	return SPOOL_OK;
}

enum spool_status spool_stats(struct spool *spool, struct spool_stats *out)
{
	if (!spool || !out)
		return SPOOL_INVALID;
	memset(out, 0, sizeof(*out));
	for (int s = 0; s < SPOOL_STATE_LAST; s++) {
		struct id_list ids;
		enum spool_status st = list_ids(spool, s, &ids);
		if (st != SPOOL_OK)
			return st;
		bool queued = s == SPOOL_STATE_NEW || s == SPOOL_STATE_SENDING;
		for (size_t i = 0; i < ids.count; i++) {
			struct stat sb;
			if (fstatat(spool->fds[s], ids.ids[i], &sb, AT_SYMLINK_NOFOLLOW) != 0)
				continue;
			int64_t created = id_created(ids.ids[i]);
			if (!S_ISREG(sb.st_mode))
				continue;
			out->count[s]++;
			out->bytes[s] += (uint64_t)sb.st_size;
			if (queued && (out->oldest_created == 0 || created < out->oldest_created))
				out->oldest_created = created;
		}
		free(ids.ids);
	}
	return SPOOL_OK;
}
