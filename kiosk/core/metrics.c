/*
 * metrics.c - Prometheus textfiles, built in memory and written atomically
 * (see metrics.h).
 */
#include "metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdio.h"
#include "log.h"

struct metrics_text {
	char buf[METRICS_TEXT_MAX];
	size_t len;
	bool failed;
};

static const char *const type_names[METRICS_TYPE_LAST] = {
        [METRICS_COUNTER] = "counter",
        [METRICS_GAUGE] = "gauge",
};

struct metrics_text *metrics_text_create(void)
{
	struct metrics_text *t = calloc(1, sizeof(*t));
	if (!t)
		log_error("metrics: out of memory");
	return t;
}

void metrics_text_destroy(struct metrics_text *t)
{
	free(t);
}

static bool name_valid(const char *name, bool colon)
{
	if (!name || !*name)
		return false;
	for (const char *p = name; *p; p++) {
		char c = *p;
		bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
		             (colon && c == ':');
		if (!alpha && !(p != name && c >= '0' && c <= '9'))
			return false;
	}
	return true;
}

bool metrics_name_valid(const char *name)
{
	return name_valid(name, true);
}

bool metrics_label_name_valid(const char *name)
{
	/* Names starting with "__" are reserved for Prometheus itself. */
	return name_valid(name, false) && strncmp(name, "__", 2) != 0;
}

static void invalid(struct metrics_text *t, const char *what)
{
	if (!t->failed)
		log_error("metrics: %s", what);
	t->failed = true;
}

__attribute__((format(printf, 2, 3))) static void put(struct metrics_text *t, const char *fmt, ...)
{
	if (t->failed)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(t->buf + t->len, sizeof(t->buf) - t->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(t->buf) - t->len) {
		t->buf[t->len] = '\0';
		invalid(t, "text longer than the limit");
		return;
	}
	t->len += (size_t)n;
}

/* Text with '\\' and newline escaped, and '"' too inside a label value. */
static void put_escaped(struct metrics_text *t, const char *s, bool quote)
{
	for (; *s && !t->failed; s++) {
		if (*s == '\\')
			put(t, "\\\\");
		else if (*s == '\n')
			put(t, "\\n");
		else if (quote && *s == '"')
			put(t, "\\\"");
		else
			put(t, "%c", *s);
	}
}

void metrics_text_family(struct metrics_text *t, const char *name, enum metrics_type type,
                         const char *help)
{
	if (!t)
		return;
	if (!metrics_name_valid(name) || (unsigned)type >= METRICS_TYPE_LAST) {
		invalid(t, "invalid metric name or type");
		return;
	}
	if (help) {
		put(t, "# HELP %s ", name);
		put_escaped(t, help, false);
		put(t, "\n");
	}
	put(t, "# TYPE %s %s\n", name, type_names[type]);
}

static bool sample_head(struct metrics_text *t, const char *name, const char *label,
                        const char *label_value)
{
	if (!t)
		return false;
	if (!metrics_name_valid(name) || (label && !metrics_label_name_valid(label)) ||
	    (label && !label_value)) {
		invalid(t, "invalid metric or label name");
		return false;
	}
	put(t, "%s", name);
	if (label) {
		put(t, "{%s=\"", label);
		put_escaped(t, label_value, true);
		put(t, "\"}");
	}
	return !t->failed;
}

void metrics_text_u64(struct metrics_text *t, const char *name, const char *label,
                      const char *label_value, uint64_t v)
{
	if (sample_head(t, name, label, label_value))
		put(t, " %" PRIu64 "\n", v);
}

void metrics_text_i64(struct metrics_text *t, const char *name, const char *label,
                      const char *label_value, int64_t v)
{
	if (sample_head(t, name, label, label_value))
		put(t, " %" PRId64 "\n", v);
}

bool metrics_text_ok(const struct metrics_text *t)
{
	return t && !t->failed;
}

const char *metrics_text_data(const struct metrics_text *t, size_t *len)
{
	if (len)
		*len = t ? t->len : 0;
	return t ? t->buf : "";
}

bool metrics_text_write(const struct metrics_text *t, const char *path)
{
	if (!metrics_text_ok(t)) {
		log_error("metrics: %s not written: the text is incomplete",
		          path ? path : "(none)");
		return false;
	}
	return metrics_write_atomic(path, t->buf, t->len, METRICS_FILE_MODE);
}

/* The atomic replacement without logging: 0, or the errno of the step that
 * failed, named in *step ("create", "write", "rename"; "path" with
 * ENAMETOOLONG or EINVAL). */
static int write_atomic(const char *path, const void *data, size_t len, mode_t mode,
                        const char **step, char tmp[PATH_MAX])
{
	*step = "path";
	tmp[0] = '\0';
	if (!path)
		return EINVAL;
	/* path.tmp: node_exporter reads *.prom only, so it never sees this one. */
	int n = snprintf(tmp, PATH_MAX, "%s.tmp", path);
	if (n < 0 || n >= PATH_MAX) {
		tmp[0] = '\0';
		return ENAMETOOLONG;
	}
	int rc = 0;
	*step = "create";
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return errno;
	/* The umask must not make it wider or narrower than mode. */
	*step = "write";
	if (fchmod(fd, mode) != 0 || fdio_write_all(fd, data, len) != 0) {
		rc = errno ? errno : EIO;
		goto out;
	}
	int closed = close(fd);
	fd = -1;
	if (closed != 0) {
		rc = errno;
		goto out;
	}
	*step = "rename";
	if (rename(tmp, path) != 0) {
		rc = errno;
		goto out;
	}
out:
	if (fd >= 0)
		close(fd);
	if (rc != 0)
		(void)unlink(tmp);
	return rc;
}

bool metrics_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	char tmp[PATH_MAX];
	const char *step;
	int rc = write_atomic(path, data, len, mode, &step, tmp);
	if (rc == 0)
		return true;
	errno = rc;
	if (!path)
		log_error("metrics: no path");
	else if (!tmp[0])
		log_error("path too long: %s", path);
	else if (strcmp(step, "create") == 0)
		log_error_errno("cannot create %s", tmp);
	else if (strcmp(step, "rename") == 0)
		log_error_errno("cannot rename %s to %s", tmp, path);
	else
		log_error_errno("cannot write %s", tmp);
	return false;
}

int metrics_text_write_quiet(const struct metrics_text *t, const char *path)
{
	if (!metrics_text_ok(t))
		return EINVAL;
	char tmp[PATH_MAX];
	const char *step;
	return write_atomic(path, t->buf, t->len, METRICS_FILE_MODE, &step, tmp);
}
