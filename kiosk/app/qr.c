/*
 * qr.c - QR codes with libqrencode.
 */
#include "qr.h"

#include <qrencode.h>
#include <stdlib.h>
#include <string.h>

bool qr_encode(const char *text, struct qr_matrix *out)
{
	*out = (struct qr_matrix){0};
	if (!text || !*text)
		return false;
	/* Case-sensitive; libqrencode splits the text into the densest modes
	 * itself (alphanumeric for "XXXX-XXXX-XXXX"), 8-bit for anything else. */
	QRcode *code = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	if (!code)
		return false;
	size_t n = (size_t)code->width * (size_t)code->width;
	uint8_t *modules = malloc(n);
	if (!modules) {
		QRcode_free(code);
		return false;
	}
	/* libqrencode's bit 0 is "dark"; the other bits describe the module's role. */
	for (size_t i = 0; i < n; i++)
		modules[i] = code->data[i] & 1u;
	out->width = (uint32_t)code->width;
	out->modules = modules;
	QRcode_free(code);
	return true;
}

bool qr_dark(const struct qr_matrix *qr, uint32_t x, uint32_t y)
{
	if (!qr->modules || x >= qr->width || y >= qr->width)
		return false;
	return qr->modules[(size_t)y * qr->width + x] != 0;
}

void qr_matrix_finish(struct qr_matrix *qr)
{
	free(qr->modules);
	*qr = (struct qr_matrix){0};
}
