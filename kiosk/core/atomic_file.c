/*
 * atomic_file.c - NAME.tmp, write, fsync, rename, fsync of the directory
 * (see atomic_file.h).
 */
#include "atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdio.h"

int atomic_file_replace_at(int dir_fd, const char *name, const void *data, size_t len, mode_t mode,
                           const char **what)
{
	const char *step = "create";
	int rc = -1, err = 0, fd = -1;
	bool tmp_exists = false;
	char tmp[NAME_MAX + 1];

	if (!name || !*name || strchr(name, '/')) {
		err = EINVAL;
		goto out;
	}
	int n = snprintf(tmp, sizeof(tmp), "%s.tmp", name);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		err = ENAMETOOLONG;
		goto out;
	}
	fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0) {
		err = errno;
		goto out;
	}
	tmp_exists = true;
	/* The mode asked for, whatever the umask, and also for a leftover
	 * temp file that had another. */
	if (fchmod(fd, mode) != 0) {
		err = errno;
		goto out;
	}
	step = "write";
	if (fdio_write_all(fd, data, len) != 0) {
		err = errno;
		goto out;
	}
	step = "fsync";
	if (fdio_fsync(fd) != 0) {
		err = errno;
		goto out;
	}
	step = "close";
	int c = close(fd);
	fd = -1;
	if (c != 0) {
		err = errno;
		goto out;
	}
	step = "rename";
	if (renameat(dir_fd, tmp, dir_fd, name) != 0) {
		err = errno;
		goto out;
	}
	tmp_exists = false;
	step = "fsync the directory";
	if (fdio_fsync(dir_fd) != 0) {
		err = errno;
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (tmp_exists)
		unlinkat(dir_fd, tmp, 0);
	if (rc != 0) {
		if (what)
			*what = step;
		errno = err;
	}
	return rc;
}

bool atomic_file_replace(const char *path, const void *data, size_t len, mode_t mode,
                         char err[ATOMIC_FILE_ERROR_MAX])
{
	bool ok = false;
	int dir_fd = -1;
	char *dir = NULL;
	const char *what = "open the directory";
	err[0] = '\0';

	const char *slash = path ? strrchr(path, '/') : NULL;
	if (!path || !*path || (slash && !slash[1])) {
		snprintf(err, ATOMIC_FILE_ERROR_MAX, "%s: not a file name", path ? path : "(none)");
		return false;
	}
	dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
	if (!dir) {
		snprintf(err, ATOMIC_FILE_ERROR_MAX, "%s: out of memory", path);
		goto out;
	}
	dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir_fd < 0 ||
	    atomic_file_replace_at(dir_fd, slash ? slash + 1 : path, data, len, mode, &what) != 0) {
		snprintf(err, ATOMIC_FILE_ERROR_MAX, "%s: cannot %s: %s", path, what,
		         strerror(errno));
		goto out;
	}
	ok = true;
out:
	if (dir_fd >= 0)
		close(dir_fd);
	free(dir);
	return ok;
}
