/* i18n.c - languages and gettext switching (see i18n.h). */
#include "i18n.h"

#include <locale.h>
#include <stdlib.h>

#include "log.h"

/* glibc's catalog generation counter; bumping it invalidates cached lookups. */
extern int _nl_msg_cat_cntr;

bool i18n_init(const char *localedir, const char *maint_localedir)
{
	bool ok = setlocale(LC_ALL, "C.UTF-8") != NULL;
	if (!ok)
		log_warning("locale C.UTF-8 unavailable: the UI shows English only");
	bindtextdomain(I18N_DOMAIN, localedir);
	bind_textdomain_codeset(I18N_DOMAIN, "UTF-8");
	bindtextdomain(I18N_MAINT_DOMAIN, maint_localedir ? maint_localedir : localedir);
	bind_textdomain_codeset(I18N_MAINT_DOMAIN, "UTF-8");
	textdomain(I18N_DOMAIN);
	i18n_set("de");
	return ok;
}

void i18n_set(const char *code)
{
	/* i18n_init() adds LANGUAGE before any thread starts; later calls only
	 * replace the entry (the environment array is not reallocated) and glibc
	 * keeps every string it handed out, so a worker thread reading the
	 * environment meanwhile never sees freed memory. */
	setenv("LANGUAGE", code, 1);
	++_nl_msg_cat_cntr;
}
