/*
 * i18n.h - gettext with switching the language at run time.
 *
 * Strings are marked _("...") (textdomain "scankiosk"); the msgids are English
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

#define _(s)  gettext(s)
#define N_(s) (s)

/* Selects the C.UTF-8 locale and binds the domain to localedir. Returns false
 * when the locale cannot be selected (translations would be ignored). */
bool i18n_init(const char *localedir);
/* Switches to the catalog of a language code ("de", "ar", ...). */
void i18n_set(const char *code);

#endif
