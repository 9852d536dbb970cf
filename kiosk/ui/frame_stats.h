/*
 * frame_stats.h - frame timings for the benchmark (SCANKIOSK_FRAME_STATS).
 *
 * When the environment variable names a file, the UI records when its first
 * frame was presented and how long each frame took from the start of drawing
 * to after SDL_RenderPresent(), and writes them to that file at exit:
 *
 *   first-frame-ns N   CLOCK_MONOTONIC nanoseconds after the first present
 *   frames N           frames rendered in all
 *   frame-ns D         one line per kept frame, oldest first
 *
 * Only the last FRAME_STATS_KEEP durations are kept (a bounded ring). The file
 * holds timings only, nothing of a session; it is created afresh with mode
 * 0600 (an existing file of that name is removed first, a symlink is not
 * followed).
 */
#ifndef SCANKIOSK_UI_FRAME_STATS_H
#define SCANKIOSK_UI_FRAME_STATS_H

#include <stdint.h>

#define FRAME_STATS_KEEP 100000u

struct frame_stats;

/* Reads SCANKIOSK_FRAME_STATS: NULL when it is unset or empty (nothing is
 * recorded) or when memory is short (logged). */
struct frame_stats *frame_stats_from_env(void);

/* Around each frame: before the first drawing call, after the present. */
void frame_stats_begin(struct frame_stats *fs);
void frame_stats_end(struct frame_stats *fs);

/* Writes the file (logged on failure) and frees. Accepts NULL. */
void frame_stats_finish(struct frame_stats *fs);

#endif
