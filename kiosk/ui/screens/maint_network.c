/*
 * maint_network.c - the network test, step by step: name lookup (DNS), the
 * connection (TCP), encryption and certificates (TLS: the CA, the pin, the
 * kiosk's client certificate), and the intake's answer (HTTP). It runs in
 * the uploader, which holds the credentials; this screen shows each step as
 * it arrives, which one failed and why (by the step's stable code, with the
 * uploader's own detail: host, port, status).
 *
 * Widgets: `nettest-start`, `nettest-cancel`; labels `step-dns` ...
 * `step-http` (the step's line) with a marker label of the same place named
 * `step-NAME-RESULT` (waiting, running, ok, failed, skipped) for scripts,
 * and `nettest-result`.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "maint.h"
#include "maintenance.h"

static const struct {
	const char *name;
	const char *label; /* M_() at draw time */
} steps[UPLOAD_CONTROL_STEPS] = {
        {"dns", M_NOOP("1. Name lookup (DNS)")},
        {"tcp", M_NOOP("2. Connection (TCP)")},
        {"tls", M_NOOP("3. Encryption and certificates (TLS)")},
        {"http", M_NOOP("4. The intake answers (HTTP)")},
};

/* What a step's code means, for the technician, and *english the same
 * untranslated (the uploader's own reason often says just that). NULL: no
 * words for it (the uploader's detail stands alone). */
static const char *code_text(const char *code, const char **english)
{
	static const struct {
		const char *code, *text;
	} texts[] = {
	        {"no_such_host", M_NOOP("the intake's host name is unknown")},
	        {"dns_unreachable", M_NOOP("no answer from the name server")},
	        {"dns_failed", M_NOOP("the name lookup failed")},
	        {"timeout", M_NOOP("no answer in time")},
	        {"bad_url", M_NOOP("the configured intake URL is not usable")},
	        {"refused", M_NOOP("nothing answers on the intake's port")},
	        {"unreachable", M_NOOP("the intake cannot be reached (no route)")},
	        {"failed", M_NOOP("the connection failed")},
	        {"connect", M_NOOP("the connection failed")},
	        {"network", M_NOOP("network error")},
	        {"ca", M_NOOP("the server's certificate is not signed by the configured CA")},
	        {"host_name", M_NOOP("the server's certificate is not for this host name")},
	        {"pin", M_NOOP("the server's key does not match the configured pin")},
	        {"ca_file", M_NOOP("the configured CA file cannot be read")},
	        {"client_cert_file",
	         M_NOOP("the kiosk's client certificate or key cannot be used")},
	        {"client_cert", M_NOOP("the intake refused the kiosk's client certificate")},
	        {"protocol", M_NOOP("the TLS handshake failed (version or cipher)")},
	        {"not_found", M_NOOP("the intake answered 404: is the base URL right?")},
	        {"unavailable", M_NOOP("the intake is unavailable (503)")},
	        {"server_error", M_NOOP("the intake reported a server error")},
	        {"status", M_NOOP("the intake answered with an unexpected status")},
	        {"bad_answer", M_NOOP("the answer is not the intake's (a captive portal?)")},
	        {"cancelled", M_NOOP("cancelled")},
	        {"local", M_NOOP("the test could not run on the kiosk")},
	};
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		if (strcmp(code, texts[i].code) == 0) {
			*english = texts[i].text;
			return M_(texts[i].text);
		}
	}
	*english = "";
	return NULL;
}

static const struct upload_control_step *arrived(const struct maintenance_nettest *nt,
                                                 const char *name)
{
	for (size_t i = 0; i < nt->step_count && i < UPLOAD_CONTROL_STEPS; i++) {
		if (strcmp(nt->steps[i].name, name) == 0)
			return &nt->steps[i];
	}
	return NULL;
}

/* A step's line and its marker's result word. */
static const char *step_text(const struct maintenance_nettest *nt, size_t i, bool detail, char *buf,
                             size_t size, const char **result, bool *bad)
{
	const struct upload_control_step *s = arrived(nt, steps[i].name);
	*bad = false;
	if (!s) {
		/* The step after the last arrived one runs while the test does. */
		bool next = nt->running && !nt->cancelled && i == nt->step_count;
		*result = next ? "running" : "waiting";
		return next ? M_("running …") : "–";
	}
	switch (s->result) {
	case UPLOAD_CONTROL_STEP_OK:
		*result = "ok";
		snprintf(buf, size, M_("OK (%u ms)"), s->ms);
		return buf;
	case UPLOAD_CONTROL_STEP_SKIPPED:
		*result = "skipped";
		return M_("skipped (an earlier step failed)");
	case UPLOAD_CONTROL_STEP_FAILED:
	case UPLOAD_CONTROL_STEP_RESULT_LAST:
		break;
	}
	*result = "failed";
	*bad = true;
	const char *english = "";
	const char *what = code_text(s->code, &english);
	/* The uploader's reason when it adds something (a host, a port, a status). */
	if (what && detail && s->reason[0] && strcasecmp(s->reason, english) != 0)
		snprintf(buf, size, M_("FAILED: %s (%s)"), what, s->reason);
	else
		snprintf(buf, size, M_("FAILED: %s"),
		         what           ? what
		         : s->reason[0] ? s->reason
		                        : s->code);
	return buf;
}

static const char *result_text(const struct maintenance_nettest *nt, char *buf, size_t size,
                               bool *bad)
{
	*bad = false;
	if (nt->running)
		return M_("The test runs in the upload service …");
	if (nt->cancelled)
		return M_("Test cancelled.");
	if (!nt->done)
		return M_("The test checks the way to the intake one step after the other, with "
		          "the upload service's own certificates.");
	*bad = true;
	if (nt->error != UPLOAD_CONTROL_OK) {
		if (nt->error == UPLOAD_CONTROL_REFUSED && nt->refusal.message[0])
			snprintf(buf, size, M_("The test could not run: %s"), nt->refusal.message);
		else
			snprintf(buf, size, M_("The test could not run: %s"),
			         maint_control_error_text(nt->error));
		return buf;
	}
	if (nt->passed) {
		*bad = false;
		return M_("All steps passed: the kiosk reaches the intake.");
	}
	const char *label = nt->failed_step;
	for (size_t i = 0; i < UPLOAD_CONTROL_STEPS; i++) {
		if (strcmp(steps[i].name, nt->failed_step) == 0)
			label = M_(steps[i].label);
	}
	snprintf(buf, size, M_("The test failed at: %s"), label);
	return buf;
}

static void draw(struct ui *ui)
{
	const struct ui_theme *t = ui->theme;
	struct maintenance_nettest nt;
	maintenance_nettest(ui->maint, &nt);
	double y = maint_chrome(ui, NULL);
	double bottom = maint_footer(ui, M_("Back to the kiosk"));
	char buf[512];
	bool bad = false;

	/* The button, and beside it what the test says as a whole. */
	const char *res = result_text(&nt, buf, sizeof(buf), &bad);
	double bw = SDL_min(60.0, maint_width(ui) / 4);
	ui_button(ui, nt.running ? "nettest-cancel" : "nettest-start",
	          ui_px(ui, maint_margin(ui), y, bw, t->button_mm),
	          nt.running ? M_("Cancel test") : M_("Start test"),
	          nt.running ? UI_STYLE_NORMAL : UI_STYLE_PRIMARY, true);
	double rx = maint_margin(ui) + bw + t->gap_mm * 2;
	double rw = ui->w_mm - maint_margin(ui) - rx;
	double rh = ui_text_height_mm(ui, res, TEXT_BOLD, rw);
	SDL_Rect rr = ui_px(ui, rx, y + SDL_max(0.0, (t->button_mm - rh) / 2), rw, rh);
	ui_text(ui, res, TEXT_BOLD, rr, UI_ALIGN_START,
	        bad                    ? t->error
	        : nt.done && nt.passed ? t->ok
	                               : t->fg);
	ui_label(ui, "nettest-result", rr, res);
	y += SDL_max(t->button_mm, rh) + t->gap_mm * 2;

	double lw = SDL_min(95.0, maint_width(ui) * 0.38);
	double vw = maint_width(ui) - lw - t->gap_mm;
	/* The uploader's detail (host, port, status) when the rows fit with it. */
	bool detail = true;
	for (int pass = 0; pass < 2; pass++) {
		double h = 0;
		for (size_t i = 0; i < UPLOAD_CONTROL_STEPS; i++) {
			char line[512];
			const char *result = "waiting";
			const char *text =
			        step_text(&nt, i, detail, line, sizeof(line), &result, &bad);
			h += SDL_max(ui_text_height_mm(ui, M_(steps[i].label), TEXT_BODY, lw),
			             ui_text_height_mm(ui, text, TEXT_BOLD, vw)) +
			     t->gap_mm * 0.6;
		}
		if (y + h <= bottom)
			break;
		detail = false;
	}
	for (size_t i = 0; i < UPLOAD_CONTROL_STEPS; i++) {
		char line[512];
		const char *result = "waiting";
		const char *text = step_text(&nt, i, detail, line, sizeof(line), &result, &bad);
		char id[32];
		snprintf(id, sizeof(id), "step-%s", steps[i].name);
		double ny = maint_row(ui, y, lw, id, M_(steps[i].label), text,
		                      bad                         ? t->error
		                      : strcmp(result, "ok") == 0 ? t->ok
		                                                  : t->fg);
		snprintf(id, sizeof(id), "step-%s-%s", steps[i].name, result);
		ui_label(ui, id, ui_px(ui, maint_margin(ui) + lw + t->gap_mm, y, vw, ny - y), NULL);
		y = ny;
	}
}

static void event(struct ui *ui, const struct ui_event *ev)
{
	if (ev->kind == UI_EVENT_TAP) {
		const char *id = ev->widget->id;
		if (maint_tap(ui, id))
			return;
		if (strcmp(id, "nettest-start") == 0)
			(void)maintenance_nettest_start(ui->maint);
		else if (strcmp(id, "nettest-cancel") == 0)
			maintenance_nettest_cancel(ui->maint);
	}
	ui_dirty(ui);
}

const struct ui_screen_impl ui_screen_maint_network = {
        .name = "maint-network",
        .enter = NULL,
        .event = event,
        .draw = draw,
};
