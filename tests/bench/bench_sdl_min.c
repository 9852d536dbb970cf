/*
 * bench_sdl_min - the smallest SDL2 + SDL2_ttf program that shows a line of
 * text: the peer scankiosk's start-up is measured against (tests/bench/bench_ui.py).
 *
 *   bench_sdl_min WIDTH HEIGHT FONT.ttf
 *
 * Opens a window, renders one line with SDL2_ttf, presents it and prints
 * "first-frame-ns N" (CLOCK_MONOTONIC right after the first SDL_RenderPresent),
 * then exits. SDL's video and render drivers come from the environment, as for
 * scankiosk.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <SDL.h>
#include <SDL_ttf.h>

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: bench_sdl_min WIDTH HEIGHT FONT.ttf\n");
		return 2;
	}
	char *end = NULL;
	long w = strtol(argv[1], &end, 10);
	if (*end || w < 64 || w > 8192)
		return 2;
	long h = strtol(argv[2], &end, 10);
	if (*end || h < 64 || h > 8192)
		return 2;

	int rc = 1;
	SDL_Window *window = NULL;
	SDL_Renderer *renderer = NULL;
	TTF_Font *font = NULL;
	SDL_Surface *surface = NULL;
	SDL_Texture *texture = NULL;
	if (SDL_Init(SDL_INIT_VIDEO) != 0 || TTF_Init() != 0) {
		fprintf(stderr, "bench_sdl_min: %s\n", SDL_GetError());
		goto end;
	}
	window = SDL_CreateWindow("bench", SDL_WINDOWPOS_UNDEFINED, SDL_WINDOWPOS_UNDEFINED, (int)w,
	                          (int)h, 0);
	renderer = window ? SDL_CreateRenderer(window, -1, 0) : NULL;
	font = renderer ? TTF_OpenFont(argv[3], 32) : NULL;
	if (!font) {
		fprintf(stderr, "bench_sdl_min: %s\n", SDL_GetError());
		goto end;
	}
	surface = TTF_RenderUTF8_Blended(font, "Willkommen", (SDL_Color){20, 20, 20, 255});
	texture = surface ? SDL_CreateTextureFromSurface(renderer, surface) : NULL;
	if (!texture) {
		fprintf(stderr, "bench_sdl_min: %s\n", SDL_GetError());
		goto end;
	}
	SDL_SetRenderDrawColor(renderer, 250, 250, 250, 255);
	SDL_RenderClear(renderer);
	SDL_RenderCopy(renderer, texture, NULL, &(SDL_Rect){20, 20, surface->w, surface->h});
	SDL_RenderPresent(renderer);
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	printf("first-frame-ns %lld\n", (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
	rc = 0;
end:
	if (texture)
		SDL_DestroyTexture(texture);
	if (surface)
		SDL_FreeSurface(surface);
	if (font)
		TTF_CloseFont(font);
	if (renderer)
		SDL_DestroyRenderer(renderer);
	if (window)
		SDL_DestroyWindow(window);
	TTF_Quit();
	SDL_Quit();
	return rc;
}
