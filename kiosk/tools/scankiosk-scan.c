/*
 * scankiosk-scan - the technician's scan tool: list scanners, scan pages to JPEG
 * files through the kiosk's own scan pipeline, and write their facts.
 *
 * Exit codes are listed in usage() and kiosk/tools/README.md; each failure prints
 * one line on stderr that says what happened and what to do.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "scan_job.h"
#include "scanner.h"
#include "secmem.h"
#include "sha256.h"

enum exit_code {
	EXIT_OK = 0,
	EXIT_USAGE = 2,        /* bad option or option value */
	EXIT_NO_DEVICE = 3,    /* no scanner found, or not the one named */
	EXIT_FEEDER_EMPTY = 4, /* no paper in the feeder */
	EXIT_JAMMED = 5,       /* paper jam */
	EXIT_COVER_OPEN = 6,   /* cover open */
	EXIT_DEVICE_GONE = 7,  /* scanner disconnected during the scan */
	EXIT_IO_ERROR = 8,     /* other scanner failure */
	EXIT_OUTPUT = 9,       /* the output folder or a file could not be written */
	EXIT_CANCELLED = 10,   /* interrupted (SIGINT/SIGTERM) */
	EXIT_BUSY = 11,        /* the scanner is in use by another program */
	EXIT_UNSUPPORTED = 12, /* the scanner cannot do the requested setting */
	EXIT_NO_MEMORY = 13,   /* out of memory */
};

#define MAX_OPTIONS 32

struct tool_args {
	bool list;
	const char *device;
	const char *out_dir;
	const char *options[MAX_OPTIONS];
	size_t option_count;
	bool verbose;
	bool timings;
	struct scan_options scan;
	bool size_max;
};

static volatile sig_atomic_t interrupted;

static void handle_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static void usage(FILE *f)
{
	fputs("usage: scankiosk-scan --list\n"
	      "       scankiosk-scan [options] --out DIR\n"
	      "\n"
	      "  --list               list the scanners and exit\n"
	      "  --device NAME        scanner as --list shows it (default: the first);\n"
	      "                       sim:SPEC uses the simulated scanner (drivers/sim/README.md)\n"
	      "  --source SRC         flatbed | adf | duplex (default flatbed)\n"
	      "  --dpi N              resolution, 50..1200 (default 300)\n"
	      "  --mode MODE          color | gray | auto (default auto: colour scan, stored\n"
	      "                       grey when the page has no colour)\n"
	      "  --size SIZE          a4 | a5 | letter | max (default a4, clamped to the device)\n"
	      "  --quality Q          JPEG quality 1..100 (default 75)\n"
	      "  --pages N            pages to scan; 0 = until the feeder is empty (default 0;\n"
	      "                       the flatbed scans one page)\n"
	      "  --option NAME=VALUE  a device option (repeatable), e.g. depth=16\n"
	      "  --out DIR            write page-001.jpg ... and pages.json here\n"
	      "  --verbose            technical detail on stderr\n"
	      "  --timings            print each page's delay from its last scanned line to\n"
	      "                       its finished JPEG on stdout (for benchmarks)\n"
	      "\n"
	      "exit status: 0 ok, 2 bad option, 3 no scanner, 4 feeder empty, 5 paper jam,\n"
	      "  6 cover open, 7 scanner disconnected, 8 scanner error, 9 cannot write output,\n"
	      "  10 interrupted, 11 scanner busy, 12 setting not supported, 13 out of memory\n",
	      f);
}

/* The driver's latest error, for the one line a failure prints. */
static char driver_error[256];

static void handle_driver_log(enum scanner_log_level level, const char *msg, void *userdata)
{
	(void)userdata;
	static const enum log_level map[] = {
	        [SCANNER_LOG_ERROR] = LOG_LEVEL_ERROR,
	        [SCANNER_LOG_WARNING] = LOG_LEVEL_WARNING,
	        [SCANNER_LOG_INFO] = LOG_LEVEL_INFO,
	        [SCANNER_LOG_DEBUG] = LOG_LEVEL_DEBUG,
	};
	if (level == SCANNER_LOG_ERROR)
		snprintf(driver_error, sizeof(driver_error), "%s", msg);
	enum log_level l = (unsigned)level <= SCANNER_LOG_DEBUG ? map[level] : LOG_LEVEL_DEBUG;
	log_write(l, "driver", 0, "%s", msg);
}

static int fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("scankiosk-scan: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return code;
}

static bool parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	if (!s || !*s || *s == '-' || *s == '+')
		return false;
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static int parse_args(int argc, char **argv, struct tool_args *a)
{
	static const struct option longopts[] = {
	        {"list", no_argument, NULL, 'L'},          {"device", required_argument, NULL, 'd'},
	        {"source", required_argument, NULL, 's'},  {"dpi", required_argument, NULL, 'r'},
	        {"mode", required_argument, NULL, 'm'},    {"size", required_argument, NULL, 'S'},
	        {"quality", required_argument, NULL, 'q'}, {"pages", required_argument, NULL, 'n'},
	        {"option", required_argument, NULL, 'o'},  {"out", required_argument, NULL, 'O'},
	        {"verbose", no_argument, NULL, 'v'},       {"help", no_argument, NULL, 'h'},
	        {"timings", no_argument, NULL, 't'},       {NULL, 0, NULL, 0},
	};
	memset(a, 0, sizeof(*a));
	scan_options_init(&a->scan);
	opterr = 0;
	int c;
	unsigned long v;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'L':
			a->list = true;
			break;
		case 'd':
			a->device = optarg;
			break;
		case 's':
			if (!strcmp(optarg, "flatbed"))
				a->scan.source = SCANNER_SOURCE_FLATBED;
			else if (!strcmp(optarg, "adf"))
				a->scan.source = SCANNER_SOURCE_FEEDER;
			else if (!strcmp(optarg, "duplex"))
				a->scan.source = SCANNER_SOURCE_DUPLEX;
			else
				return fail(EXIT_USAGE,
				            "--source must be flatbed, adf or duplex, not '%s'",
				            optarg);
			break;
		case 'r':
			if (!parse_uint(optarg, 50, 1200, &v))
				return fail(EXIT_USAGE,
				            "--dpi must be a number from 50 to 1200, not '%s'",
				            optarg);
			a->scan.dpi = (uint32_t)v;
			break;
		case 'm':
			if (!strcmp(optarg, "color") || !strcmp(optarg, "colour"))
				a->scan.color = SCAN_COLOR_KEEP;
			else if (!strcmp(optarg, "gray") || !strcmp(optarg, "grey"))
				a->scan.color = SCAN_COLOR_GRAY;
			else if (!strcmp(optarg, "auto"))
				a->scan.color = SCAN_COLOR_AUTO;
			else
				return fail(EXIT_USAGE,
				            "--mode must be color, gray or auto, not '%s'", optarg);
			break;
		case 'S':
			a->size_max = false;
			if (!strcmp(optarg, "a4")) {
				a->scan.width_mm = 210.0;
				a->scan.height_mm = 297.0;
			} else if (!strcmp(optarg, "a5")) {
				a->scan.width_mm = 148.0;
				a->scan.height_mm = 210.0;
			} else if (!strcmp(optarg, "letter")) {
				a->scan.width_mm = 215.9;
				a->scan.height_mm = 279.4;
			} else if (!strcmp(optarg, "max")) {
				a->size_max = true;
			} else {
				return fail(EXIT_USAGE,
				            "--size must be a4, a5, letter or max, not '%s'",
				            optarg);
			}
			break;
		case 'q':
			if (!parse_uint(optarg, 1, 100, &v))
				return fail(EXIT_USAGE,
				            "--quality must be a number from 1 to 100, not '%s'",
				            optarg);
			a->scan.quality = (int)v;
			break;
		case 'n':
			if (!parse_uint(optarg, 0, 10000, &v))
				return fail(EXIT_USAGE,
				            "--pages must be a number from 0 to 10000, not '%s'",
				            optarg);
			a->scan.max_pages = (unsigned)v;
			break;
		case 'o':
			if (!strchr(optarg, '=') || optarg[0] == '=')
				return fail(EXIT_USAGE, "--option must be NAME=VALUE, not '%s'",
				            optarg);
			if (a->option_count == MAX_OPTIONS)
				return fail(EXIT_USAGE, "at most %d --option values", MAX_OPTIONS);
			a->options[a->option_count++] = optarg;
			break;
		case 'O':
			a->out_dir = optarg;
			break;
		case 'v':
			a->verbose = true;
			break;
		case 't':
			a->timings = true;
			break;
		case 'h':
			usage(stdout);
			exit(EXIT_OK);
		default:
			if (optopt)
				return fail(EXIT_USAGE, "option '%s' needs a value (see --help)",
				            argv[optind - 1]);
			return fail(EXIT_USAGE, "unknown option '%s' (see --help)",
			            argv[optind - 1]);
		}
	}
	if (optind < argc)
		return fail(EXIT_USAGE, "unexpected argument '%s' (see --help)", argv[optind]);
	if (!a->list && !a->out_dir)
		return fail(EXIT_USAGE, "--out DIR is required to scan (see --help)");
	return EXIT_OK;
}

/* The exit code and the line a technician reads for a typed outcome. */
static int report_status(enum scanner_status st, unsigned pages)
{
	switch (st) {
	case SCANNER_OK:
		return EXIT_OK;
	case SCANNER_FEEDER_EMPTY:
		return fail(EXIT_FEEDER_EMPTY,
		            "no paper in the feeder: load the pages and try again");
	case SCANNER_JAMMED:
		return fail(
		        EXIT_JAMMED,
		        "paper jam after %u page(s): open the feeder, remove the paper, try again",
		        pages);
	case SCANNER_COVER_OPEN:
		return fail(EXIT_COVER_OPEN, "the scanner's cover is open: close it and try again");
	case SCANNER_DEVICE_GONE:
		return fail(
		        EXIT_DEVICE_GONE,
		        "the scanner was disconnected after %u page(s): check its cable and power",
		        pages);
	case SCANNER_CANCELLED:
		return fail(EXIT_CANCELLED, "interrupted after %u page(s)", pages);
	case SCANNER_BUSY:
		return fail(EXIT_BUSY, "the scanner is in use by another program");
	case SCANNER_NO_DEVICE:
		return fail(EXIT_NO_DEVICE, "no such scanner (see --list)");
	case SCANNER_UNSUPPORTED:
		return fail(EXIT_UNSUPPORTED, "the scanner cannot do the requested source or mode");
	case SCANNER_INVALID:
		return fail(EXIT_USAGE, "the scanner refused a setting as invalid");
	case SCANNER_NO_MEMORY:
		return fail(EXIT_NO_MEMORY, "out of memory");
	default:
		return fail(EXIT_IO_ERROR, "scanner error after %u page(s): %s (use --verbose)",
		            pages, scanner_strerror(st));
	}
}

static int write_file(const char *dir, const char *name, const void *data, size_t len)
{
	char path[4096];
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return -1;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	const uint8_t *p = data;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(fd);
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return close(fd);
}

static cJSON *page_json(const struct scan_page *page, const char *file)
{
	char hex[SHA256_HEX_BYTES];
	sha256_hex(page->facts.sha256, hex);
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	cJSON_AddNumberToObject(o, "page", page->number);
	cJSON_AddStringToObject(o, "file", file);
	cJSON_AddNumberToObject(o, "width", page->facts.width);
	cJSON_AddNumberToObject(o, "height", page->facts.height);
	cJSON_AddNumberToObject(o, "dpi", page->facts.dpi);
	cJSON_AddNumberToObject(o, "bytes", (double)page->facts.bytes);
	cJSON_AddStringToObject(o, "sha256", hex);
	cJSON_AddStringToObject(o, "scanned", page->facts.scanned_color ? "color" : "gray");
	cJSON_AddStringToObject(o, "stored", page->facts.stored_color ? "color" : "gray");
	cJSON_AddNumberToObject(o, "color_score", page->facts.color_score);
	cJSON_AddNumberToObject(o, "blank_score", page->facts.blank_score);
	cJSON_AddBoolToObject(o, "blank", page->facts.blank);
	cJSON_AddNumberToObject(o, "thumb_width", page->thumb_width);
	cJSON_AddNumberToObject(o, "thumb_height", page->thumb_height);
	return o;
}

static int list_devices(struct scanner_driver *drv)
{
	struct scanner_device *devs = NULL;
	size_t n = 0;
	enum scanner_status st = scanner_driver_list(drv, &devs, &n);
	if (st != SCANNER_OK)
		return report_status(st, 0);
	for (size_t i = 0; i < n; i++)
		printf("%s\t%s %s (%s)\n", devs[i].name, devs[i].vendor, devs[i].model,
		       devs[i].type);
	free(devs);
	if (n == 0)
		return fail(EXIT_NO_DEVICE, "no scanner found: check its cable and power");
	return EXIT_OK;
}

static enum scanner_status apply_options(struct scanner *s, const struct tool_args *a,
                                         const char **bad)
{
	for (size_t i = 0; i < a->option_count; i++) {
		char name[128];
		const char *eq = strchr(a->options[i], '=');
		size_t len = (size_t)(eq - a->options[i]);
		if (len >= sizeof(name))
			len = sizeof(name) - 1;
		memcpy(name, a->options[i], len);
		name[len] = '\0';
		enum scanner_status st = scanner_set_option(s, name, eq + 1);
		if (st != SCANNER_OK) {
			*bad = a->options[i];
			return st;
		}
	}
	return SCANNER_OK;
}

/* Runs the job, writing each page as it arrives. */
static int run_scan(struct scanner *s, const struct tool_args *a)
{
	int rc = EXIT_OK;
	cJSON *pages = cJSON_CreateArray();
	if (!pages)
		return fail(EXIT_NO_MEMORY, "out of memory");
	enum scanner_status st;
	struct scan_job *job = scan_job_start(s, &a->scan, NULL, NULL, &st);
	if (!job) {
		cJSON_Delete(pages);
		return report_status(st, 0);
	}
	bool write_failed = false;
	enum scanner_status final = SCANNER_OK;
	unsigned done = 0;
	for (;;) {
		struct scan_event ev;
		if (interrupted)
			scan_job_cancel(job);
		if (!scan_job_next_event(job, &ev, 200))
			continue;
		if (ev.kind == SCAN_EVENT_FINISHED) {
			final = ev.status;
			done = ev.pages_done;
			break;
		}
		if (ev.kind != SCAN_EVENT_PAGE_READY)
			continue;
		char file[32];
		snprintf(file, sizeof(file), "page-%03u.jpg", ev.result->number);
		if (!write_failed &&
		    write_file(a->out_dir, file, ev.result->jpeg, ev.result->facts.bytes) < 0) {
			write_failed = true;
			fail(EXIT_OUTPUT, "cannot write %s/%s: %s", a->out_dir, file,
			     strerror(errno));
			scan_job_cancel(job);
		}
		if (a->timings)
			printf("page %u ready %.2f ms after its last line\n", ev.result->number,
			       (double)(ev.result->ready_ns - ev.result->last_line_ns) / 1e6);
		cJSON *o = page_json(ev.result, file);
		if (o)
			cJSON_AddItemToArray(pages, o);
		scan_page_destroy(ev.result);
	}
	scan_job_destroy(job);

	if (write_failed) {
		rc = EXIT_OUTPUT;
		goto out;
	}
	/* The facts of the pages that were scanned are written even when the batch
	 * ended in a failure: those pages are good. */
	char *json = cJSON_Print(pages);
	if (!json || write_file(a->out_dir, "pages.json", json, strlen(json)) < 0) {
		rc = fail(EXIT_OUTPUT, "cannot write %s/pages.json", a->out_dir);
		free(json);
		goto out;
	}
	free(json);
	rc = report_status(final, done);
out:
	cJSON_Delete(pages);
	return rc;
}

int main(int argc, char **argv)
{
	secmem_harden_heap();
	struct tool_args a;
	struct scanner_driver *drv = NULL;
	struct scanner *s = NULL;
	int rc = parse_args(argc, argv, &a);
	if (rc != EXIT_OK)
		return rc;
	/* Only the one-line messages below, unless asked for detail. */
	log_set_level(LOG_LEVEL_DEBUG);
	log_set_quiet(!a.verbose);

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handle_signal;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	if (a.out_dir && mkdir(a.out_dir, 0700) < 0 && errno != EEXIST) {
		rc = fail(EXIT_OUTPUT, "cannot create %s: %s", a.out_dir, strerror(errno));
		goto end;
	}
	bool sim = a.device && !strncmp(a.device, "sim:", 4);
	drv = sim ? scanner_sim_create(a.device + 4, handle_driver_log, NULL)
	          : scanner_sane_create();
	if (!drv) {
		rc = sim ? fail(EXIT_USAGE, "bad simulator spec: %s",
		                driver_error[0] ? driver_error : a.device + 4)
		         : fail(EXIT_IO_ERROR, "the scanner library (SANE) failed to start");
		goto end;
	}
	scanner_driver_set_log(drv, handle_driver_log, NULL);
	if (a.list) {
		rc = list_devices(drv);
		goto end;
	}
	enum scanner_status st = scanner_driver_open(drv, sim ? "" : a.device, &s);
	if (st != SCANNER_OK) {
		rc = st == SCANNER_NO_DEVICE
		             ? fail(EXIT_NO_DEVICE,
		                    a.device ? "no scanner named '%s' (see --list)"
		                             : "no scanner found%s: check its cable "
		                               "and power",
		                    a.device ? a.device : "")
		             : report_status(st, 0);
		goto end;
	}
	const char *bad = NULL;
	st = apply_options(s, &a, &bad);
	if (st == SCANNER_UNSUPPORTED || st == SCANNER_INVALID) {
		rc = fail(st == SCANNER_UNSUPPORTED ? EXIT_UNSUPPORTED : EXIT_USAGE,
		          "the scanner does not accept --option %s (%s)", bad,
		          scanner_strerror(st));
		goto end;
	}
	if (st != SCANNER_OK) {
		rc = report_status(st, 0);
		goto end;
	}
	struct scanner_caps caps;
	scanner_caps(s, &caps);
	if (a.size_max || a.scan.width_mm > caps.max_width_mm)
		a.scan.width_mm = caps.max_width_mm;
	if (a.size_max || a.scan.height_mm > caps.max_height_mm)
		a.scan.height_mm = caps.max_height_mm;
	if (!(caps.sources & (1u << a.scan.source))) {
		rc = fail(EXIT_UNSUPPORTED, "this scanner has no %s",
		          a.scan.source == SCANNER_SOURCE_FLATBED  ? "flatbed (glass)"
		          : a.scan.source == SCANNER_SOURCE_FEEDER ? "document feeder"
		                                                   : "duplex feeder");
		goto end;
	}
	/* Interrupted while the device was opened (that can take seconds): stop
	 * before a feeder pulls in a sheet. */
	rc = interrupted ? report_status(SCANNER_CANCELLED, 0) : run_scan(s, &a);
end:
	scanner_close(s);
	scanner_driver_destroy(drv);
	return rc;
}
