/*
 * fdio.h - whole writes and fsync through interruptions, for every file the
 * core writes (the spool's submissions and state, containers, key files,
 * metrics, the atomic state-file replace).
 *
 * Both return 0, or -1 with errno set: write()'s or fsync()'s own, or EIO
 * when write() wrote nothing for a non-empty buffer. Callers map errno to
 * their own status enum once.
 */
#ifndef SCANKIOSK_FDIO_H
#define SCANKIOSK_FDIO_H

#include <stddef.h>

/* Writes all len bytes of buf, through short writes and EINTR. */
int fdio_write_all(int fd, const void *buf, size_t len);

/* fsync(fd), again after EINTR (not every file system restarts it). */
int fdio_fsync(int fd);

#endif
