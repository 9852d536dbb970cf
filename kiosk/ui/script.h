/*
 * script.h - scripted input (`scankiosk --script FILE`) for tests and demos.
 *
 * One command a line; blank lines and lines starting with '#' are skipped:
 *
 *   tap ID                  tap the centre of the widget ID of the frame on screen
 *   tap-mm X Y              tap at X, Y millimetres from the top-left corner
 *   type TEXT               type TEXT (the rest of the line) into the focused field
 *   wait-screen NAME SECS   wait until screen NAME shows, at most SECS seconds
 *   wait-widget ID SECS     wait until widget ID shows and is enabled (a scan ended)
 *   expect-screen NAME      fail unless screen NAME shows
 *   expect-field ID [TEXT]  fail unless field ID shows exactly TEXT (empty: nothing)
 *   idle SECONDS            advance the inactivity clock
 *   shot FILE.png           save the frame on screen as PNG (mode 0600)
 *   check-layout            fail unless the frame on screen passes layout_check()
 *                           (nothing overlaps or is clipped; layout.h)
 *   print-widget ID         print where widget ID is (pixels) on stderr
 *   hold-mm X Y SECONDS     a finger held at X, Y mm for SECONDS (the press
 *                           clock moves on; the technicians' entry)
 *   wait-text ID SECS TEXT  wait until label or button ID shows exactly TEXT
 *   texts FILE              write the next frame's texts to FILE, a line each
 *                           (typed text only as "(typed text)")
 *
 * Taps and typing are pushed as SDL events (finger down/up at the widget's
 * centre, text input), so they take the same path as a real touch or key. A
 * step runs only when the previous one has been handled and drawn. A failing
 * step ends the program with "script:LINE: reason" and exit status 1.
 */
#ifndef SCANKIOSK_UI_SCRIPT_H
#define SCANKIOSK_UI_SCRIPT_H

#include <stddef.h>
#include <stdint.h>

struct script;
struct ui;

enum script_status {
	SCRIPT_RUNNING, /* more steps to come */
	SCRIPT_DONE,    /* every step passed */
	SCRIPT_FAILED,  /* a step failed (reported on stderr) */
};

/* Reads the file. NULL with a message on stderr when it cannot be read or a
 * line is not a command. */
struct script *script_load(const char *path);
void script_destroy(struct script *s); /* accepts NULL */

/* Runs the next step if the UI is ready for it (nothing pending, drawn). */
enum script_status script_step(struct script *s, struct ui *ui);

/* How long the loop may sleep before the script wants to run again, ms. */
int script_wait_ms(const struct script *s);

#endif
