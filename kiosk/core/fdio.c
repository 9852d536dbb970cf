/* fdio.c - whole writes and fsync through interruptions (see fdio.h). */
#include "fdio.h"

#include <errno.h>
#include <unistd.h>

int fdio_write_all(int fd, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int fdio_fsync(int fd)
{
	int rc;
	do {
		rc = fsync(fd);
	} while (rc != 0 && errno == EINTR);
	return rc;
}
