/*
 * maint_system.c - the system's answers for the maintenance menu (see
 * maint_system.h), and the reboot through systemd-logind.
 */
#include "maint_system.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "maintenance.h"

int maint_disk_space(const char *dir, uint64_t *free_bytes, uint64_t *total_bytes)
{
	*free_bytes = *total_bytes = 0;
	if (!dir || !*dir)
		return EINVAL;
	struct statvfs sv;
	if (statvfs(dir, &sv) != 0)
		return errno;
	uint64_t unit = sv.f_frsize ? sv.f_frsize : sv.f_bsize;
	*free_bytes = (uint64_t)sv.f_bavail * unit;
	*total_bytes = (uint64_t)sv.f_blocks * unit;
	return 0;
}

static uint64_t boot_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t maint_system_uptime(void)
{
	return boot_ms() / 1000;
}

uint64_t maint_process_uptime(void)
{
	char buf[1024];
	int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* The command name may hold blanks and parentheses: count from the last ')'.
	 * Field 22 (starttime, clock ticks since boot) is the 20th after it. */
	const char *p = strrchr(buf, ')');
	if (!p)
		return 0;
	p++;
	for (int field = 3; field < 22; field++) {
		p = strchr(p + 1, ' ');
		if (!p)
			return 0;
	}
	char *end = NULL;
	errno = 0;
	unsigned long long ticks = strtoull(p + 1, &end, 10);
	long hz = sysconf(_SC_CLK_TCK);
	if (errno || end == p + 1 || hz <= 0)
		return 0;
	uint64_t started_ms = (uint64_t)ticks * 1000 / (uint64_t)hz;
	uint64_t now = boot_ms();
	return now > started_ms ? (now - started_ms) / 1000 : 0;
}

bool maintenance_bus_call_system(const struct maintenance_bus_call *call,
                                 char err[MAINTENANCE_ERROR_MAX])
{
	sd_bus *bus = NULL;
	sd_bus_error error = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	bool ok = false;
	err[0] = '\0';
	int r = sd_bus_open_system(&bus);
	if (r < 0) {
		snprintf(err, MAINTENANCE_ERROR_MAX, "no system bus to reach systemd-logind (%s)",
		         strerror(-r));
		goto out;
	}
	r = sd_bus_call_method(bus, call->destination, call->path, call->interface, call->member,
	                       &error, &reply, "b", (int)call->argument);
	if (r < 0) {
		/* The bus's own words: "Access denied", "Interactive authentication
		 * required", "The name is not activatable", ... */
		snprintf(err, MAINTENANCE_ERROR_MAX, "%s.%s refused: %s", call->interface,
		         call->member,
		         sd_bus_error_is_set(&error) && error.message ? error.message
		                                                      : strerror(-r));
		goto out;
	}
	ok = true;
out:
	sd_bus_message_unref(reply);
	sd_bus_error_free(&error);
	sd_bus_flush_close_unref(bus);
	return ok;
}
