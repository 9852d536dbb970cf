/*
 * scankiosk-pin - makes the configuration line for a new maintenance PIN.
 *
 *   scankiosk-pin hash
 *
 * reads the PIN from standard input: on a terminal without echo, asked twice;
 * from a pipe, the first line. It prints "pin_hash = $argon2id$..." for the
 * [maintenance] section. The digits are read with read(2) into one buffer
 * that is zeroed before exit; they are never printed, logged or written.
 * Exit codes are in usage() and kiosk/tools/README.md.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "pin.h"
#include "secmem.h"

enum exit_code {
	EXIT_OK = 0,
	EXIT_FAIL = 1,  /* out of memory, a terminal or output error */
	EXIT_USAGE = 2, /* bad command line, or the PIN is not 6 to 12 digits */
};

/* Room for a PIN, and a little more so "too long" is told from cut short. */
#define PIN_LINE_MAX 32

static void usage(FILE *out)
{
	fputs("usage: scankiosk-pin hash\n"
	      "  reads a maintenance PIN (6 to 12 digits) from standard input (without\n"
	      "  echo and twice on a terminal; the first line from a pipe) and prints\n"
	      "  the line  pin_hash = $argon2id$...  for the [maintenance] section\n"
	      "exit codes: 0 ok, 1 failure, 2 usage or a PIN that is not 6 to 12 digits\n",
	      out);
}

/* The terminal's settings while echo is off, for the signal handler. */
static struct termios saved_tty;
static volatile sig_atomic_t tty_changed;

static void restore_tty(void)
{
	if (tty_changed) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty);
		tty_changed = 0;
	}
}

static void handle_signal(int sig)
{
	restore_tty();
	signal(sig, SIG_DFL);
	raise(sig);
}

static bool echo_off(void)
{
	if (tcgetattr(STDIN_FILENO, &saved_tty) != 0)
		return false;
	struct termios t = saved_tty;
	t.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK);
	t.c_lflag |= ECHONL;
	struct sigaction sa = {.sa_handler = handle_signal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGQUIT, &sa, NULL);
	tty_changed = 1;
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) != 0) {
		tty_changed = 0;
		return false;
	}
	return true;
}

/*
 * One line from stdin into buf, without its end of line ("\n" or "\r\n"),
 * byte by byte so nothing after the line is consumed or buffered elsewhere.
 * Returns its length; PIN_LINE_MAX when it is longer (the rest of it is
 * consumed); -1 on a read error; -2 at end of input before any byte.
 */
static int read_line(char buf[PIN_LINE_MAX])
{
	size_t len = 0;
	bool any = false, overlong = false;
	for (;;) {
		char c;
		ssize_t n = read(STDIN_FILENO, &c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		any = true;
		if (c == '\n')
			break;
		if (len < PIN_LINE_MAX)
			buf[len++] = c;
		else
			overlong = true;
		c = 0;
	}
	if (!any)
		return -2;
	if (overlong)
		return PIN_LINE_MAX;
	if (len > 0 && buf[len - 1] == '\r')
		buf[--len] = '\0';
	return (int)len;
}

static void say(const char *s)
{
	fputs(s, stderr);
	fflush(stderr);
}

/* Reads the PIN into pin; returns its length, or -1 (reported on stderr). */
static int read_pin(char pin[PIN_LINE_MAX], char again[PIN_LINE_MAX], int *code)
{
	bool tty = isatty(STDIN_FILENO);
	if (tty && !echo_off()) {
		fprintf(stderr, "scankiosk-pin: cannot turn off the terminal's echo: %s\n",
		        strerror(errno));
		*code = EXIT_FAIL;
		return -1;
	}
	if (tty)
		say("New maintenance PIN (6 to 12 digits): ");
	int len = read_line(pin);
	if (tty && len >= 0) {
		say("The same PIN again: ");
		int len2 = read_line(again);
		if (len2 != len || (len > 0 && memcmp(pin, again, (size_t)len) != 0)) {
			restore_tty();
			say("scankiosk-pin: the two entries differ; nothing was printed\n");
			*code = EXIT_USAGE;
			return -1;
		}
	}
	restore_tty();
	if (len == -1) {
		fprintf(stderr, "scankiosk-pin: cannot read the PIN: %s\n", strerror(errno));
		*code = EXIT_FAIL;
		return -1;
	}
	if (len == -2) {
		say("scankiosk-pin: no PIN on standard input\n");
		*code = EXIT_USAGE;
		return -1;
	}
	const char *problem = pin_format_problem(pin, (size_t)len);
	if (problem) {
		fprintf(stderr, "scankiosk-pin: the PIN must be 6 to 12 digits: %s\n", problem);
		*code = EXIT_USAGE;
		return -1;
	}
	return len;
}

int main(int argc, char **argv)
{
	secmem_harden_heap();
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return EXIT_OK;
	}
	if (argc != 2 || strcmp(argv[1], "hash") != 0) {
		usage(stderr);
		return EXIT_USAGE;
	}

	int code = EXIT_FAIL;
	char pin[PIN_LINE_MAX] = {0}, again[PIN_LINE_MAX] = {0};
	char hash[PIN_HASH_MAX];
	int len = read_pin(pin, again, &code);
	if (len < 0)
		goto end;
	enum pin_result r = pin_hash(pin, (size_t)len, hash);
	secmem_zero(pin, sizeof(pin));
	secmem_zero(again, sizeof(again));
	if (r != PIN_OK) {
		fputs("scankiosk-pin: the PIN cannot be hashed (out of memory?)\n", stderr);
		code = r == PIN_MALFORMED ? EXIT_USAGE : EXIT_FAIL;
		goto end;
	}
	if (printf("pin_hash = %s\n", hash) < 0 || fflush(stdout) != 0) {
		fprintf(stderr, "scankiosk-pin: cannot write the line: %s\n", strerror(errno));
		goto end;
	}
	code = EXIT_OK;
end:
	secmem_zero(pin, sizeof(pin));
	secmem_zero(again, sizeof(again));
	return code;
}
