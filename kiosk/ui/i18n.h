/*
 * i18n.h - gettext with switching the language at run time.
 *
 * Strings are marked _("...") (textdomain "scankiosk"; the maintenance screens
 * M_("...") in "scankiosk-maintenance"); the msgids are English
 * and German is the default language. A language without a catalog (or with an
 * untranslated string) shows the English msgid, never an empty label.
 *
 * Switching: glibc ignores LANGUAGE in the "C" locale, so i18n_init() selects
 * C.UTF-8 (built into glibc since 2.35, no locales package needed) and
 * i18n_set() sets LANGUAGE and bumps _nl_msg_cat_cntr, which makes glibc drop
 * its cached translations. Verified with glibc 2.36 (tests/ui/test_i18n.c).
 */
#ifndef SCANKIOSK_UI_I18N_H
#define SCANKIOSK_UI_I18N_H

#include <libintl.h>
#include <stdbool.h>

#define I18N_DOMAIN "scankiosk"
/* The technicians' screens have a catalog of their own (de, en): customers'
 * translators are not asked to translate a service menu. */
#define I18N_MAINT_DOMAIN "scankiosk-maintenance"

#define _(s)  gettext(s)
#define N_(s) (s)
/* A string of the maintenance screens. */
#define M_(s)        dgettext(I18N_MAINT_DOMAIN, s)
#define MN_(s, p, n) dngettext(I18N_MAINT_DOMAIN, s, p, n)
#define M_NOOP(s)    (s) /* marked for the maintenance catalog, translated later */

/* Selects the C.UTF-8 locale and binds the domains to localedir (the
 * maintenance catalog to maint_localedir when not NULL: the build tree keeps
 * it in a folder of its own). Returns false when the locale cannot be
 * selected (translations would be ignored). */
bool i18n_init(const char *localedir, const char *maint_localedir);
/* Switches to the catalog of a language code ("de", "ar", ...). */
void i18n_set(const char *code);

#endif
