/*
 * maint_system.h - what the maintenance menu asks the system (internal to
 * maintenance.c): the spool's free space, the uptimes. Each call reads the
 * disk or /proc: a worker's call, never the UI thread's. The reboot's bus
 * call is maintenance_bus_call_system() (maintenance.h).
 */
#ifndef SCANKIOSK_MAINT_SYSTEM_H
#define SCANKIOSK_MAINT_SYSTEM_H

#include <stdint.h>

/* statvfs() of dir: bytes an unprivileged user may still write (f_bavail)
 * and the file system's size. Returns 0, or an errno value. */
int maint_disk_space(const char *dir, uint64_t *free_bytes, uint64_t *total_bytes);

/* Seconds since boot (CLOCK_BOOTTIME). */
uint64_t maint_system_uptime(void);

/* Seconds since this process started (/proc/self/stat's start time against
 * the boot clock); 0 when it cannot be read. */
uint64_t maint_process_uptime(void);

#endif
