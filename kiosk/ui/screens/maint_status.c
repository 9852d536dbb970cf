/*
 * maint_status.c - the kiosk at a glance for a technician: the scanner, the
 * queue, the last upload, the network as the uploader last saw it, disk,
 * version, uptimes. Everything comes from the maintenance model's snapshot
 * (the uploader's socket or status file, statvfs, /proc) and the scan
 * service's status: counts, ids, sizes, ages, times and classes only.
 *
 * Widgets: `status-refresh`; labels `status-scanner`, `status-uploader`,
 * `status-queue`, `status-oldest`, `status-spool`, `status-last-upload`,
 * `status-network`, `status-disk`, `status-version`, `status-uptime`.
 */
#include <stdio.h>
#include <string.h>

#include "maint.h"
#include "maintenance.h"

#define ROWS_MAX  12
#define VALUE_MAX 512

/* One fact of the screen. */
struct row {
	const char *id;
	const char *label;
	char value[VALUE_MAX];
	bool bad;
};

static struct {
	size_t first; /* the first row shown (the facts are paged on a small panel) */
	size_t shown; /* rows the last frame showed */
	size_t count; /* rows in all */
} st;

static void enter(struct ui *ui)
{
	st.first = 0;
	maint_keep_fresh(ui);
}

static struct row *add(struct row rows[ROWS_MAX], size_t *n, const char *id, const char *label)
{
	struct row *r = &rows[(*n)++];
	r->id = id;
	r->label = label;
	r->value[0] = '\0';
	r->bad = false;
	return r;
}

/* The facts, most urgent first: what a technician looks at first stays on
 * the first page. */
static size_t collect(struct ui *ui, struct row rows[ROWS_MAX])
{
	const struct maintenance_status *s = maintenance_status(ui->maint);
	const struct upload_control_status *u = &s->upload;
	char a[MAINT_FMT_MAX], b[MAINT_FMT_MAX], c[MAINT_FMT_MAX];
	size_t n = 0;
	struct row *r;

	r = add(rows, &n, "status-scanner", M_("Scanner"));
	maint_scanner_text(ui->maint, r->value, sizeof(r->value), &r->bad);

	r = add(rows, &n, "status-uploader", M_("Upload service"));
	if (s->upload_source == MAINTENANCE_SOURCE_NONE) {
		snprintf(r->value, sizeof(r->value), "%s",
		         s->refreshes ? M_("not running, and no status file") : M_("asking …"));
		r->bad = s->refreshes > 0;
	} else if (s->uploader_running) {
		snprintf(r->value, sizeof(r->value), M_("running (process %lld, %s)"),
		         (long long)u->pid, maint_activity_text(u->activity));
	} else {
		maint_format_age(a, sizeof(a), s->upload_age_seconds);
		if (s->socket_error == UPLOAD_CONTROL_NOT_RUNNING)
			snprintf(r->value, sizeof(r->value),
			         M_("not running; figures from its status file, %s old"), a);
		else
			snprintf(r->value, sizeof(r->value),
			         M_("not reachable (%s); figures from its status file, %s old"),
			         maint_control_error_text(s->socket_error), a);
		r->bad = true;
	}

	r = add(rows, &n, "status-queue", M_("Queue"));
	snprintf(r->value, sizeof(r->value),
	         M_("%u waiting, %u sending, %u failed, %u quarantined"), u->count[SPOOL_STATE_NEW],
	         u->count[SPOOL_STATE_SENDING], u->count[SPOOL_STATE_FAILED],
	         u->count[SPOOL_STATE_QUARANTINE]);
	r->bad = u->count[SPOOL_STATE_FAILED] + u->count[SPOOL_STATE_QUARANTINE] > 0;

	r = add(rows, &n, "status-oldest", M_("Oldest waiting"));
	if (u->count[SPOOL_STATE_NEW] + u->count[SPOOL_STATE_SENDING] > 0)
		maint_format_age(r->value, sizeof(r->value), u->oldest_age_seconds);
	else
		snprintf(r->value, sizeof(r->value), "%s", M_("nothing waiting"));

	r = add(rows, &n, "status-last-upload", M_("Last successful upload"));
	if (u->last_success > 0) {
		maint_format_time(a, sizeof(a), u->last_success);
		maint_format_age(b, sizeof(b), s->read_at - u->last_success);
		snprintf(r->value, sizeof(r->value), M_("%s (%s ago)"), a, b);
	} else {
		snprintf(r->value, sizeof(r->value), "%s", M_("none yet"));
	}

	/* The network as the uploader last met it. */
	r = add(rows, &n, "status-network", M_("Network"));
	if (u->last_attempt <= 0) {
		snprintf(r->value, sizeof(r->value), "%s", M_("no upload attempted yet"));
	} else if (u->last_error_time >= u->last_success && u->last_error[0]) {
		maint_format_time(a, sizeof(a), u->last_error_time);
		if (u->next_attempt > s->read_at) {
			maint_format_age(c, sizeof(c), u->next_attempt - s->read_at);
			snprintf(r->value, sizeof(r->value),
			         M_("last attempt failed: %s (%s); next in %s"), u->last_error, a,
			         c);
		} else {
			snprintf(r->value, sizeof(r->value), M_("last attempt failed: %s (%s)"),
			         u->last_error, a);
		}
		r->bad = true;
	} else {
		maint_format_time(a, sizeof(a), u->last_attempt);
		snprintf(r->value, sizeof(r->value), M_("last attempt: %s (%s)"), u->last_outcome,
		         a);
	}

	r = add(rows, &n, "status-spool", M_("Spool"));
	uint64_t used = 0;
	uint32_t count = 0;
	for (int i = 0; i < SPOOL_STATE_LAST; i++) {
		used += u->bytes[i];
		count += u->count[i];
	}
	maint_format_bytes(a, sizeof(a), used);
	maint_format_bytes(b, sizeof(b), ui->cfg->spool.max_bytes);
	snprintf(r->value, sizeof(r->value), M_("%s of %s, %u of %u submissions"), a, b, count,
	         ui->cfg->spool.max_count);

	r = add(rows, &n, "status-disk", M_("Disk"));
	if (s->disk_error == 0 && s->disk_total_bytes > 0) {
		maint_format_bytes(a, sizeof(a), s->disk_free_bytes);
		maint_format_bytes(b, sizeof(b), s->disk_total_bytes);
		snprintf(r->value, sizeof(r->value), M_("%s free of %s"), a, b);
		r->bad = s->disk_free_bytes < s->disk_total_bytes / 20;
	} else {
		snprintf(r->value, sizeof(r->value), "%s",
		         s->refreshes ? M_("unknown") : M_("asking …"));
		r->bad = s->refreshes > 0;
	}

	r = add(rows, &n, "status-version", M_("Software version"));
	snprintf(r->value, sizeof(r->value), "%s", s->version);

	r = add(rows, &n, "status-uptime", M_("Running for"));
	maint_format_age(a, sizeof(a), (int64_t)s->system_uptime_seconds);
	maint_format_age(b, sizeof(b), (int64_t)s->kiosk_uptime_seconds);
	snprintf(r->value, sizeof(r->value), M_("system %s, kiosk %s"), a, b);
	return n;
}

static void draw(struct ui *ui)
{
	const struct ui_theme *t = ui->theme;
	const struct maintenance_status *s = maintenance_status(ui->maint);
	double y = maint_chrome(ui, NULL);
	double bottom = maint_footer(ui, M_("Back to the kiosk"));
	double lw = SDL_min(70.0, maint_width(ui) * 0.32);
	double vw = maint_width(ui) - lw - t->gap_mm;
	struct row rows[ROWS_MAX];
	size_t n = collect(ui, rows);

	/* The buttons' row at the bottom; the facts above it, a page at a time. */
	double by = bottom - t->button_mm;
	double limit = by - t->gap_mm;
	if (st.first >= n)
		st.first = 0;
	size_t shown = 0;
	for (size_t i = st.first; i < n; i++, shown++) {
		double h = SDL_max(ui_text_height_mm(ui, rows[i].label, TEXT_BODY, lw),
		                   ui_text_height_mm(ui, rows[i].value, TEXT_BOLD, vw));
		if (y + h > limit && shown > 0)
			break;
		y = maint_row(ui, y, lw, rows[i].id, rows[i].label, rows[i].value,
		              rows[i].bad ? t->error : t->fg);
	}
	st.shown = shown;
	st.count = n;
	bool paged = st.first > 0 || st.first + shown < n;

	double bw = SDL_min(60.0, maint_width(ui) / 4);
	double x = maint_margin(ui);
	ui_button(ui, "status-refresh", ui_px(ui, x, by, bw, t->button_mm), M_("Refresh"),
	          UI_STYLE_NORMAL, !s->refreshing);
	x += bw + t->gap_mm;
	if (paged) {
		bool more = st.first + shown < n;
		ui_button(ui, "status-more", ui_px(ui, x, by, bw, t->button_mm),
		          more ? M_("More") : M_("First page"), UI_STYLE_NORMAL, true);
		x += bw + t->gap_mm;
	}
	char v[128], a[MAINT_FMT_MAX];
	if (s->refreshes) {
		maint_format_time(a, sizeof(a), s->read_at);
		snprintf(v, sizeof(v), M_("As of %s"), a);
	} else {
		snprintf(v, sizeof(v), "%s", M_("asking …"));
	}
	double tw = ui->w_mm - maint_margin(ui) - x;
	double th = ui_text_height_mm(ui, v, TEXT_BODY, tw);
	ui_text(ui, v, TEXT_BODY, ui_px(ui, x, by + SDL_max(0.0, (t->button_mm - th) / 2), tw, th),
	        UI_ALIGN_START, t->muted);
}

static void event(struct ui *ui, const struct ui_event *ev)
{
	if (ev->kind == UI_EVENT_TICK) {
		maint_keep_fresh(ui);
		return;
	}
	if (ev->kind == UI_EVENT_TAP) {
		if (maint_tap(ui, ev->widget->id))
			return;
		if (strcmp(ev->widget->id, "status-refresh") == 0) {
			(void)maintenance_status_refresh(ui->maint);
		} else if (strcmp(ev->widget->id, "status-more") == 0) {
			/* The next page, or back to the first from the last. */
			st.first = st.first + st.shown < st.count ? st.first + st.shown : 0;
		}
	}
	ui_dirty(ui);
}

const struct ui_screen_impl ui_screen_maint_status = {
        .name = "maint-status",
        .enter = enter,
        .event = event,
        .draw = draw,
};
