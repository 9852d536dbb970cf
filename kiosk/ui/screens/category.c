/*
 * category.c - what kind of document: one button per category key from the
 * configuration ([kiosk] categories), labelled by the configuration's
 * [category.KEY] sections where a site gives one, else through the catalogs.
 */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "language.h"
#include "log.h"
#include "session.h"
#include "ui.h"

static const struct {
	const char *key;
	const char *label;
} known[] = {
        {"continued-benefit", N_("Application for continued benefits")},
        {"payslip", N_("Pay slip")},
        {"bank-statement", N_("Bank statement")},
        {"rent", N_("Rent and utility costs")},
        {"sick-note", N_("Sick note")},
        {"job-search", N_("Proof of job search")},
        {"other", N_("Other document")},
};

const char *ui_category_label(const struct ui *ui, const char *key)
{
	const char *lang = language_code(session_language(ui->session));
	const char *site = config_category_label(ui->cfg, key, lang);
	if (site)
		return site;
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		if (strcmp(known[i].key, key) == 0)
			return _(known[i].label);
	}
	/* A key the site added: the configuration must give it a German label
	 * (config.c refuses it otherwise); other languages fall back to it. */
	site = config_category_label(ui->cfg, key, "de");
	return site ? site : key;
}

static void draw(struct ui *ui)
{
	const struct ui_theme *t = ui->theme;
	double y = ui_chrome(ui, _("What kind of document is it?"));
	double gap = t->gap_mm * 2;
	double bottom = ui->h_mm - ui_footer_mm(ui);
	size_t n = ui->cfg->kiosk.category_count;
	const char *chosen = session_category(ui->session);
	int cols = 2;
	int rows = (int)((n + 1) / 2);
	double bw = (ui->w_mm - 2 * gap - t->gap_mm) / cols;
	/* One height for all: what the longest label needs, up to what fits. */
	double bh = rows ? (bottom - y - t->gap_mm * rows) / rows : t->button_mm;
	bh = SDL_min(bh, t->button_mm * 1.4);
	for (size_t i = 0; i < n; i++)
		bh = SDL_max(bh, ui_button_height_mm(
		                         ui, ui_category_label(ui, ui->cfg->kiosk.categories[i]),
		                         bw, UI_MIN_TARGET_MM));
	for (size_t i = 0; i < n; i++) {
		const char *key = ui->cfg->kiosk.categories[i];
		char id[UI_WIDGET_ID_MAX];
		snprintf(id, sizeof(id), "category-%s", key);
		double x = gap + (double)(i % 2) * (bw + t->gap_mm);
		double yy = y + (double)(i / 2) * (bh + t->gap_mm);
		ui_button(ui, id, ui_px(ui, x, yy, bw, bh), ui_category_label(ui, key),
		          strcmp(chosen, key) == 0 ? UI_STYLE_SELECTED : UI_STYLE_NORMAL, true);
	}
	ui_footer(ui, "back", _("Back"), "next", _("Next"), *chosen != '\0');
}

static void event(struct ui *ui, const struct ui_event *ev)
{
	if (ev->kind != UI_EVENT_TAP)
		return;
	const char *id = ev->widget->id;
	if (strncmp(id, "category-", 9) == 0) {
		enum session_status st = session_set_category(ui->session, id + 9);
		if (st != SESSION_OK)
			log_warning("category not set: %s", session_strerror(st));
	} else if (strcmp(id, "next") == 0 && *session_category(ui->session)) {
		ui_transition(ui, FLOW_SCAN);
	} else if (strcmp(id, "back") == 0) {
		ui_transition(ui, FLOW_CASE);
	}
	ui_dirty(ui);
}

const struct ui_screen_impl ui_screen_category = {
        .name = "category",
        .event = event,
        .draw = draw,
};
