/*
 * utf8.h - decoding UTF-8, for the checks of typed text (internal to kiosk/app).
 */
#ifndef SCANKIOSK_UTF8_H
#define SCANKIOSK_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Decodes one sequence at s (shortest form only, no surrogates, at most
 * U+10FFFF). Returns its length in bytes, or 0 when s does not start with one. */
size_t utf8_decode(const char *s, uint32_t *cp);

#endif
