/*
 * shot.h - the renderer's pixels as a PNG file (libpng), for script mode.
 */
#ifndef SCANKIOSK_UI_SHOT_H
#define SCANKIOSK_UI_SHOT_H

#include <SDL.h>

/* Writes what the renderer drew last to path (created 0600: a frame may show
 * what a customer typed). Returns 0, or -1 with a reason on stderr. */
int shot_png(SDL_Renderer *renderer, const char *path);

#endif
