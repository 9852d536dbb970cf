/* script.c - scripted input (see script.h). */
#include "script.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow.h"
#include "idle.h"
#include "layout.h"
#include "maintenance.h"
#include "session.h"
#include "shot.h"
#include "ui.h"

#define SCRIPT_STEPS_MAX 200000
#define SCRIPT_LINE_MAX  1024

enum command {
	CMD_TAP,
	CMD_TAP_MM,
	CMD_TYPE,
	CMD_WAIT_SCREEN,
	CMD_WAIT_WIDGET,
	CMD_EXPECT_SCREEN,
	CMD_EXPECT_FIELD,
	CMD_IDLE,
	CMD_SHOT,
	CMD_EXPECT_WIDGET,
	CMD_EXPECT_NO_WIDGET,
	CMD_EXPECT_DISABLED,
	CMD_EXPECT_TEXT,
	CMD_EXPECT_SIDE,
	CMD_TAP_ANY,
	CMD_DRAG_MM,
	CMD_KEY,
	CMD_WAIT_IDLE,
	CMD_POKE,
	CMD_TAP_IF,
	CMD_CHECK_LAYOUT,
	CMD_PRINT_WIDGET,
	CMD_WAIT_BUSY,
	CMD_HOLD_MM,
	CMD_TEXTS,
	CMD_WAIT_TEXT,
};

struct step {
	int line;
	enum command cmd;
	char *arg;       /* id, text, screen name, file */
	double x, y;     /* tap-mm, drag-mm's start */
	double x2, y2;   /* drag-mm's end */
	double secs;     /* wait-screen, wait-widget, wait-idle, idle */
	char *arg2;      /* expect-field's and expect-text's text, shot's masked ids */
	unsigned long n; /* tap-any */
	bool left;       /* expect-widget-side */
	SDL_Keycode key; /* key */
};

struct script {
	struct step *steps;
	size_t count;
	size_t cap;
	size_t next;
	uint64_t wait_until; /* wait-screen: deadline, SDL ticks; 0 not waiting */
	int hold_phase;      /* hold-mm: 0 not begun, 1 finger down, 2 time passed */
};

static void fail_line(int line, const char *what, const char *detail)
{
	fprintf(stderr, "script:%d: %s%s\n", line, what, detail);
}

static bool parse(struct step *st, int line, char *text)
{
	char *sp = strchr(text, ' ');
	char *rest = sp ? sp + 1 : NULL;
	if (sp)
		*sp = '\0';
	st->line = line;
	char *end = NULL;
	if (strcmp(text, "tap") == 0 && rest && *rest) {
		st->cmd = CMD_TAP;
	} else if (strcmp(text, "poke") == 0 && rest && *rest) {
		st->cmd = CMD_POKE;
	} else if (strcmp(text, "tap-if") == 0 && rest && *rest) {
		st->cmd = CMD_TAP_IF;
	} else if (strcmp(text, "print-widget") == 0 && rest && *rest) {
		st->cmd = CMD_PRINT_WIDGET;
	} else if (strcmp(text, "check-layout") == 0 && !rest) {
		st->cmd = CMD_CHECK_LAYOUT;
	} else if (strcmp(text, "type") == 0 && rest) {
		st->cmd = CMD_TYPE;
	} else if (strcmp(text, "expect-screen") == 0 && rest && *rest) {
		st->cmd = CMD_EXPECT_SCREEN;
	} else if (strcmp(text, "tap-mm") == 0 && rest) {
		st->cmd = CMD_TAP_MM;
		errno = 0;
		st->x = strtod(rest, &end);
		st->y = end ? strtod(end, &end) : 0;
		if (errno || !end || *end || st->x < 0 || st->y < 0)
			return false;
		rest = NULL;
	} else if ((strcmp(text, "wait-screen") == 0 || strcmp(text, "wait-widget") == 0) && rest) {
		st->cmd = strcmp(text, "wait-screen") == 0 ? CMD_WAIT_SCREEN : CMD_WAIT_WIDGET;
		char *s2 = strchr(rest, ' ');
		if (!s2)
			return false;
		*s2 = '\0';
		errno = 0;
		st->secs = strtod(s2 + 1, &end);
		if (errno || *end || st->secs <= 0 || st->secs > 3600)
			return false;
	} else if (strcmp(text, "hold-mm") == 0 && rest) {
		st->cmd = CMD_HOLD_MM;
		errno = 0;
		st->x = strtod(rest, &end);
		st->y = strtod(end, &end);
		st->secs = strtod(end, &end);
		if (errno || *end || st->x < 0 || st->y < 0 || st->secs < 0 || st->secs > 3600)
			return false;
		rest = NULL;
	} else if (strcmp(text, "wait-text") == 0 && rest) {
		/* ID SECONDS TEXT */
		st->cmd = CMD_WAIT_TEXT;
		char *s2 = strchr(rest, ' ');
		if (!s2)
			return false;
		*s2++ = '\0';
		errno = 0;
		st->secs = strtod(s2, &end);
		if (errno || end == s2 || *end != ' ' || st->secs <= 0 || st->secs > 3600)
			return false;
		st->arg2 = strdup(end + 1);
		if (!st->arg2 || !*st->arg2)
			return false;
	} else if (strcmp(text, "texts") == 0 && rest && *rest) {
		st->cmd = CMD_TEXTS;
	} else if (strcmp(text, "idle") == 0 && rest) {
		st->cmd = CMD_IDLE;
		errno = 0;
		st->secs = strtod(rest, &end);
		if (errno || *end || st->secs < 0 || st->secs > 86400)
			return false;
		rest = NULL;
	} else if ((strcmp(text, "expect-widget") == 0 || strcmp(text, "expect-no-widget") == 0 ||
	            strcmp(text, "expect-disabled") == 0) &&
	           rest && *rest) {
		st->cmd = strcmp(text, "expect-widget") == 0      ? CMD_EXPECT_WIDGET
		          : strcmp(text, "expect-no-widget") == 0 ? CMD_EXPECT_NO_WIDGET
		                                                  : CMD_EXPECT_DISABLED;
	} else if (strcmp(text, "expect-widget-side") == 0 && rest) {
		st->cmd = CMD_EXPECT_SIDE;
		char *s2 = strchr(rest, ' ');
		if (!s2)
			return false;
		*s2++ = '\0';
		if (strcmp(s2, "left") != 0 && strcmp(s2, "right") != 0)
			return false;
		st->left = strcmp(s2, "left") == 0;
	} else if (strcmp(text, "tap-any") == 0 && rest) {
		st->cmd = CMD_TAP_ANY;
		errno = 0;
		st->n = strtoul(rest, &end, 10);
		if (errno || *end || end == rest)
			return false;
		rest = NULL;
	} else if (strcmp(text, "drag-mm") == 0 && rest) {
		st->cmd = CMD_DRAG_MM;
		errno = 0;
		st->x = strtod(rest, &end);
		st->y = strtod(end, &end);
		st->x2 = strtod(end, &end);
		st->y2 = strtod(end, &end);
		if (errno || *end || st->x < 0 || st->y < 0 || st->x2 < 0 || st->y2 < 0)
			return false;
		rest = NULL;
	} else if (strcmp(text, "key") == 0 && rest && *rest) {
		st->cmd = CMD_KEY;
		st->key = SDL_GetKeyFromName(rest);
		if (st->key == SDLK_UNKNOWN)
			return false;
	} else if ((strcmp(text, "wait-idle") == 0 || strcmp(text, "wait-busy") == 0) && rest) {
		st->cmd = strcmp(text, "wait-idle") == 0 ? CMD_WAIT_IDLE : CMD_WAIT_BUSY;
		errno = 0;
		st->secs = strtod(rest, &end);
		if (errno || *end || st->secs <= 0 || st->secs > 3600)
			return false;
		rest = NULL;
	} else if ((strcmp(text, "expect-text") == 0 || strcmp(text, "shot") == 0) && rest &&
	           *rest) {
		/* ID TEXT, or FILE [ID ...]: the rest after the first word. */
		st->cmd = strcmp(text, "shot") == 0 ? CMD_SHOT : CMD_EXPECT_TEXT;
		char *s2 = strchr(rest, ' ');
		st->arg2 = strdup(s2 ? s2 + 1 : "");
		if (s2)
			*s2 = '\0';
		if (!st->arg2 || (st->cmd == CMD_EXPECT_TEXT && !*st->arg2))
			return false;
	} else if (strcmp(text, "expect-field") == 0 && rest && *rest) {
		st->cmd = CMD_EXPECT_FIELD;
		char *s2 = strchr(rest, ' ');
		st->arg2 = strdup(s2 ? s2 + 1 : "");
		if (s2)
			*s2 = '\0';
		if (!st->arg2)
			return false;
	} else {
		return false;
	}
	if (rest && !(st->arg = strdup(rest)))
		return false;
	return true;
}

static bool grow(struct script *s)
{
	size_t cap = s->cap ? s->cap * 2 : 256;
	struct step *steps = realloc(s->steps, cap * sizeof(*steps));
	if (!steps)
		return false;
	memset(steps + s->cap, 0, (cap - s->cap) * sizeof(*steps));
	s->steps = steps;
	s->cap = cap;
	return true;
}

struct script *script_load(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		fprintf(stderr, "script: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	struct script *s = calloc(1, sizeof(*s));
	char buf[SCRIPT_LINE_MAX];
	int line = 0;
	bool ok = s != NULL;
	while (ok && fgets(buf, sizeof(buf), f)) {
		line++;
		size_t n = strlen(buf);
		if (n && buf[n - 1] == '\n')
			buf[--n] = '\0';
		if (n && buf[n - 1] == '\r')
			buf[--n] = '\0';
		if (n == 0 || buf[0] == '#')
			continue;
		if (n == sizeof(buf) - 1) {
			fail_line(line, "line too long", "");
			ok = false;
		} else if (s->count == SCRIPT_STEPS_MAX) {
			fail_line(line, "too many steps", "");
			ok = false;
		} else if (s->count == s->cap && !grow(s)) {
			fail_line(line, "out of memory", "");
			ok = false;
		} else if (!parse(&s->steps[s->count], line, buf)) {
			fail_line(line, "not a command: ", buf);
			ok = false;
		} else {
			s->count++;
		}
	}
	fclose(f);
	if (!ok) {
		script_destroy(s);
		return NULL;
	}
	return s;
}

void script_destroy(struct script *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->count; i++) {
		free(s->steps[i].arg);
		free(s->steps[i].arg2);
	}
	free(s->steps);
	free(s);
}

int script_wait_ms(const struct script *s)
{
	return s->wait_until ? 20 : 0;
}

/* A finger down at (x, y), moved in steps to (x2, y2), up there (pixels). */
static void push_drag(struct ui *ui, int x, int y, int x2, int y2)
{
	SDL_Event e;
	SDL_zero(e);
	e.tfinger.touchId = 1;
	e.tfinger.fingerId = 1;
	e.tfinger.timestamp = SDL_GetTicks();
	e.type = SDL_FINGERDOWN;
	e.tfinger.x = (float)x / (float)ui->w;
	e.tfinger.y = (float)y / (float)ui->h;
	SDL_PushEvent(&e);
	e.type = SDL_FINGERMOTION;
	for (int i = 1; i <= 4; i++) {
		float fx = (float)(x + (x2 - x) * i / 4), fy = (float)(y + (y2 - y) * i / 4);
		e.tfinger.dx = fx / (float)ui->w - e.tfinger.x;
		e.tfinger.dy = fy / (float)ui->h - e.tfinger.y;
		e.tfinger.x = fx / (float)ui->w;
		e.tfinger.y = fy / (float)ui->h;
		SDL_PushEvent(&e);
	}
	e.type = SDL_FINGERUP;
	e.tfinger.dx = e.tfinger.dy = 0;
	SDL_PushEvent(&e);
}

static void push_key(SDL_Keycode key)
{
	SDL_Event e;
	SDL_zero(e);
	e.key.keysym.sym = key;
	e.key.keysym.scancode = SDL_GetScancodeFromKey(key);
	e.key.state = SDL_PRESSED;
	e.type = SDL_KEYDOWN;
	SDL_PushEvent(&e);
	e.key.state = SDL_RELEASED;
	e.type = SDL_KEYUP;
	SDL_PushEvent(&e);
}

/* The n-th (modulo their count) widget a finger could use: buttons, fields,
 * keys and thumbnails that are enabled. NULL when there is none. */
static const struct ui_widget *nth_touchable(const struct ui *ui, unsigned long n)
{
	size_t count = 0;
	for (size_t i = 0; i < ui->widget_count; i++)
		count += ui->widgets[i].enabled && ui->widgets[i].kind != UI_WIDGET_LABEL;
	if (count == 0)
		return NULL;
	size_t want = (size_t)(n % count);
	for (size_t i = 0; i < ui->widget_count; i++) {
		const struct ui_widget *w = &ui->widgets[i];
		if (!w->enabled || w->kind == UI_WIDGET_LABEL)
			continue;
		if (want-- == 0)
			return w;
	}
	return NULL;
}

/* Waits up to st->secs for done; fails with what when the time is up. */
static enum script_status wait_for(struct script *s, const struct step *st, bool done,
                                   const char *what, const char *screen)
{
	if (done) {
		s->wait_until = 0;
		return SCRIPT_DONE;
	}
	if (!s->wait_until)
		s->wait_until = SDL_GetTicks64() + (uint64_t)(st->secs * 1000);
	if (SDL_GetTicks64() < s->wait_until)
		return SCRIPT_RUNNING;
	fprintf(stderr, "script:%d: %s %s within %g s (on %s)\n", st->line, st->arg ? st->arg : "",
	        what, st->secs, screen);
	return SCRIPT_FAILED;
}

/* Paints the widgets named in ids (space separated) over the frame: parts of a
 * screenshot that differ by design (a random reference number, its QR code). */
static void mask(struct ui *ui, const char *ids)
{
	char buf[SCRIPT_LINE_MAX];
	snprintf(buf, sizeof(buf), "%s", ids);
	char *save = NULL;
	for (char *id = strtok_r(buf, " ", &save); id; id = strtok_r(NULL, " ", &save)) {
		const struct ui_widget *w = ui_widget_find(ui, id);
		if (!w)
			continue;
		SDL_SetRenderDrawColor(ui->renderer, 0xff, 0x00, 0xff, 0xff);
		SDL_RenderFillRect(ui->renderer, &w->rect);
	}
}

/* One finger event at pixel (x, y). */
static void push_finger(struct ui *ui, Uint32 type, int x, int y)
{
	SDL_Event e;
	SDL_zero(e);
	e.tfinger.touchId = 1;
	e.tfinger.fingerId = 1;
	e.tfinger.x = (float)x / (float)ui->w;
	e.tfinger.y = (float)y / (float)ui->h;
	e.tfinger.timestamp = SDL_GetTicks();
	e.type = type;
	SDL_PushEvent(&e);
}

/* A finger down and up at pixel (x, y), as the touch panel would send. */
static void push_tap(struct ui *ui, int x, int y)
{
	push_finger(ui, SDL_FINGERDOWN, x, y);
	push_finger(ui, SDL_FINGERUP, x, y);
}

static void push_text(const char *text)
{
	/* One event per character, as a keyboard sends them. */
	const unsigned char *p = (const unsigned char *)text;
	while (*p) {
		size_t n = 1;
		if (*p >= 0xf0)
			n = 4;
		else if (*p >= 0xe0)
			n = 3;
		else if (*p >= 0xc0)
			n = 2;
		SDL_Event e;
		SDL_zero(e);
		e.type = SDL_TEXTINPUT;
		for (size_t i = 0; i < n && p[i]; i++)
			e.text.text[i] = (char)p[i];
		SDL_PushEvent(&e);
		p += strnlen((const char *)p, n);
	}
}

struct layout_report {
	int line;
	const char *screen;
};

static void report_layout(void *userdata, const char *problem)
{
	const struct layout_report *r = userdata;
	fprintf(stderr, "script:%d: layout of %s: %s\n", r->line, r->screen, problem);
}

static const char *field_text(struct ui *ui, const char *id)
{
	for (int f = 0; f < SESSION_FIELD_LAST; f++) {
		if (strcmp(id, session_field_name((enum session_field)f)) == 0)
			return session_field_text(ui->session, (enum session_field)f);
	}
	return NULL;
}

enum script_status script_step(struct script *s, struct ui *ui)
{
	if (s->next == s->count)
		return SCRIPT_DONE;
	struct step *st = &s->steps[s->next];
	const char *screen = ui_screen_name(ui);
	switch (st->cmd) {
	case CMD_TAP_IF: {
		/* The monkey's guided steps: a tap when the widget is there and enabled. */
		const struct ui_widget *w = ui_widget_find(ui, st->arg);
		if (w && w->enabled)
			push_tap(ui, w->rect.x + w->rect.w / 2, w->rect.y + w->rect.h / 2);
		break;
	}
	case CMD_TAP:
	case CMD_POKE: {
		/* poke: a finger on the widget whatever its state (a greyed button). */
		const struct ui_widget *w = ui_widget_find(ui, st->arg);
		if (!w) {
			fprintf(stderr, "script:%d: no widget '%s' on screen %s\n", st->line,
			        st->arg, screen);
			return SCRIPT_FAILED;
		}
		if (!w->enabled && st->cmd == CMD_TAP) {
			fprintf(stderr, "script:%d: widget '%s' is disabled\n", st->line, st->arg);
			return SCRIPT_FAILED;
		}
		push_tap(ui, w->rect.x + w->rect.w / 2, w->rect.y + w->rect.h / 2);
		break;
	}
	case CMD_TAP_MM:
		push_tap(ui, ui_mm(ui, st->x), ui_mm(ui, st->y));
		break;
	case CMD_TYPE:
		push_text(st->arg);
		break;
	case CMD_WAIT_SCREEN:
		if (strcmp(screen, st->arg) == 0) {
			s->wait_until = 0;
			break;
		}
		if (!s->wait_until)
			s->wait_until = SDL_GetTicks64() + (uint64_t)(st->secs * 1000);
		if (SDL_GetTicks64() < s->wait_until)
			return SCRIPT_RUNNING;
		fprintf(stderr, "script:%d: screen %s did not show within %g s (on %s)\n", st->line,
		        st->arg, st->secs, screen);
		return SCRIPT_FAILED;
	case CMD_WAIT_WIDGET: {
		/* Shown and enabled; a label only needs to be shown. */
		const struct ui_widget *w = ui_widget_find(ui, st->arg);
		enum script_status ws =
		        wait_for(s, st, w && (w->enabled || w->kind == UI_WIDGET_LABEL),
		                 "not ready", screen);
		if (ws != SCRIPT_DONE)
			return ws;
		break;
	}
	case CMD_WAIT_IDLE:
	case CMD_WAIT_BUSY: {
		/* wait-idle: no scan and no commit running (the inactivity timer
		 * runs again); wait-busy: one is (the timer is held). */
		bool busy = ui->scan_job || ui->committing;
		bool idle = st->cmd == CMD_WAIT_IDLE;
		enum script_status ws = wait_for(s, st, idle ? !busy : busy,
		                                 idle ? "scan or commit still running"
		                                      : "no scan or commit started",
		                                 screen);
		if (ws != SCRIPT_DONE)
			return ws;
		break;
	}
	case CMD_EXPECT_WIDGET:
	case CMD_EXPECT_NO_WIDGET:
	case CMD_EXPECT_DISABLED: {
		const struct ui_widget *w = ui_widget_find(ui, st->arg);
		if (st->cmd == CMD_EXPECT_NO_WIDGET && w) {
			fprintf(stderr, "script:%d: widget '%s' is on screen %s\n", st->line,
			        st->arg, screen);
			return SCRIPT_FAILED;
		}
		if (st->cmd != CMD_EXPECT_NO_WIDGET && !w) {
			fprintf(stderr, "script:%d: no widget '%s' on screen %s\n", st->line,
			        st->arg, screen);
			return SCRIPT_FAILED;
		}
		if (st->cmd == CMD_EXPECT_DISABLED && w->enabled) {
			fprintf(stderr, "script:%d: widget '%s' is enabled\n", st->line, st->arg);
			return SCRIPT_FAILED;
		}
		break;
	}
	case CMD_EXPECT_TEXT: {
		const struct ui_widget *w = ui_widget_find(ui, st->arg);
		if (!w || !w->text_hash) {
			fprintf(stderr, "script:%d: no label '%s' on screen %s\n", st->line,
			        st->arg, screen);
			return SCRIPT_FAILED;
		}
		if (w->text_hash != ui_text_hash(st->arg2)) {
			fprintf(stderr, "script:%d: label '%s' does not show the expected text\n",
			        st->line, st->arg);
			return SCRIPT_FAILED;
		}
		break;
	}
	case CMD_EXPECT_SIDE: {
		const struct ui_widget *w = ui_widget_find(ui, st->arg);
		if (!w) {
			fprintf(stderr, "script:%d: no widget '%s' on screen %s\n", st->line,
			        st->arg, screen);
			return SCRIPT_FAILED;
		}
		bool left = w->rect.x + w->rect.w / 2 < ui->w / 2;
		if (left != st->left) {
			fprintf(stderr, "script:%d: widget '%s' is on the %s half\n", st->line,
			        st->arg, left ? "left" : "right");
			return SCRIPT_FAILED;
		}
		break;
	}
	case CMD_TAP_ANY: {
		const struct ui_widget *w = nth_touchable(ui, st->n);
		if (w)
			push_tap(ui, w->rect.x + w->rect.w / 2, w->rect.y + w->rect.h / 2);
		break;
	}
	case CMD_DRAG_MM:
		push_drag(ui, ui_mm(ui, st->x), ui_mm(ui, st->y), ui_mm(ui, st->x2),
		          ui_mm(ui, st->y2));
		break;
	case CMD_KEY:
		push_key(st->key);
		break;
	case CMD_EXPECT_SCREEN:
		if (strcmp(screen, st->arg) != 0) {
			fprintf(stderr, "script:%d: expected screen %s, on %s\n", st->line, st->arg,
			        screen);
			return SCRIPT_FAILED;
		}
		break;
	case CMD_EXPECT_FIELD: {
		const char *text = field_text(ui, st->arg);
		if (!text) {
			fprintf(stderr, "script:%d: no field '%s'\n", st->line, st->arg);
			return SCRIPT_FAILED;
		}
		if (strcmp(text, st->arg2) != 0) {
			/* Never print what the field holds: it may be personal. */
			fprintf(stderr, "script:%d: field '%s' does not hold the expected text\n",
			        st->line, st->arg);
			return SCRIPT_FAILED;
		}
		break;
	}
	case CMD_IDLE:
		/* Every inactivity clock: the customer's and the menu's. */
		idle_advance(&ui->idle, (uint32_t)st->secs);
		if (ui->maint)
			maintenance_advance(ui->maint, (uint32_t)st->secs);
		break;
	case CMD_HOLD_MM: {
		/* A finger held: down, the press clock moved on by SECS (the loop
		 * sees it held that long, as with a real finger), then up. */
		int x = ui_mm(ui, st->x), y = ui_mm(ui, st->y);
		if (s->hold_phase == 0) {
			push_finger(ui, SDL_FINGERDOWN, x, y);
			s->hold_phase = 1;
			return SCRIPT_RUNNING;
		}
		if (s->hold_phase == 1) {
			ui->clock_offset_ms += (uint64_t)(st->secs * 1000);
			s->hold_phase = 2;
			ui_dirty(ui);
			return SCRIPT_RUNNING;
		}
		push_finger(ui, SDL_FINGERUP, x, y);
		s->hold_phase = 0;
		break;
	}
	case CMD_WAIT_TEXT: {
		/* A label or button that shows exactly TEXT (compared by hash). */
		const struct ui_widget *w = ui_widget_find(ui, st->arg);
		enum script_status ws = wait_for(s, st, w && w->text_hash == ui_text_hash(st->arg2),
		                                 "does not show the expected text", screen);
		if (ws != SCRIPT_DONE)
			return ws;
		break;
	}
	case CMD_TEXTS:
		/* The next frame's texts into the file (ui.c draw()). */
		free(ui->text_dump_path);
		ui->text_dump_path = strdup(st->arg);
		if (!ui->text_dump_path) {
			fprintf(stderr, "script:%d: out of memory\n", st->line);
			return SCRIPT_FAILED;
		}
		break;
	case CMD_CHECK_LAYOUT: {
		/* SCANKIOSK_LAYOUT_KEEP_GOING=1: report and go on (to see every
		 * problem of a change at once). */
		struct layout_report r = {st->line, screen};
		const char *keep = getenv("SCANKIOSK_LAYOUT_KEEP_GOING");
		if (layout_check(ui, report_layout, &r) > 0 && !(keep && strcmp(keep, "1") == 0))
			return SCRIPT_FAILED;
		break;
	}
	case CMD_PRINT_WIDGET: {
		const struct ui_widget *w = ui_widget_find(ui, st->arg);
		if (!w) {
			fprintf(stderr, "script:%d: no widget '%s' on screen %s\n", st->line,
			        st->arg, screen);
			return SCRIPT_FAILED;
		}
		/* Where it is, in pixels (a test crops screenshots with it). */
		fprintf(stderr, "script:%d: widget %s at %d %d %d %d\n", st->line, w->id, w->rect.x,
		        w->rect.y, w->rect.w, w->rect.h);
		break;
	}
	case CMD_SHOT:
		mask(ui, st->arg2);
		if (shot_png(ui->renderer, st->arg) != 0) {
			fprintf(stderr, "script:%d: screenshot %s failed\n", st->line, st->arg);
			return SCRIPT_FAILED;
		}
		break;
	}
	s->next++;
	ui_dirty(ui); /* one more frame, so the next step sees the result */
	return SCRIPT_RUNNING;
}
