/*
 * qr.h - the receipt reference as a QR code (libqrencode, ECC level M).
 *
 * The UI draws the module matrix itself, with a quiet zone of QR_QUIET_ZONE
 * light modules around it.
 */
#ifndef SCANKIOSK_QR_H
#define SCANKIOSK_QR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QR_QUIET_ZONE 4 /* light modules on every side, as the standard asks */

struct qr_matrix {
	uint32_t width;   /* modules per side, without the quiet zone */
	uint8_t *modules; /* width * width bytes, row-major; 1 = dark, 0 = light */
};

/* Encodes text (8-bit mode for anything that is not alphanumeric). Returns false
 * when text is empty or too long or memory is short (*out is then zeroed). */
__attribute__((warn_unused_result)) bool qr_encode(const char *text, struct qr_matrix *out);

/* True for a dark module at (x, y); false outside the matrix. */
bool qr_dark(const struct qr_matrix *qr, uint32_t x, uint32_t y);

/* Frees the modules. Accepts a zeroed matrix. */
void qr_matrix_finish(struct qr_matrix *qr);

#endif
