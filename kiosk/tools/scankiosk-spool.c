/*
 * scankiosk-spool - the offline queue from a shell: make the key pair, enqueue
 * JPEG files as a submission (tests, benchmarks, a technician's re-submission),
 * list what waits, inspect a clear header, verify with the secret key.
 *
 * Nothing it prints is personal: ids, states, ages, sizes and outcome classes.
 * Exit codes are in usage() and kiosk/tools/README.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "container.h"
#include "jpeg.h"
#include "log.h"
#include "secmem.h"
#include "sha256.h"
#include "spool.h"

enum exit_code {
	EXIT_OK = 0,
	EXIT_USAGE = 2,     /* bad command line or config file */
	EXIT_FULL = 3,      /* the spool's capacity bound or the disk is full */
	EXIT_IO = 4,        /* a file could not be read or written */
	EXIT_BAD = 5,       /* verify: a submission does not decrypt or a hash differs */
	EXIT_NOT_FOUND = 6, /* inspect: no such submission */
	EXIT_KEY = 7,       /* a key file is missing or malformed */
};

static void usage(FILE *out)
{
	fputs("usage: scankiosk-spool [--config FILE] [--verbose] COMMAND ...\n"
	      "  check                       read the configuration and its drop-ins\n"
	      "                              (FILE.d/*.conf); its first mistake, if any\n"
	      "  keygen                      write the uploader key pair named in [spool]\n"
	      "  enqueue --case C --name N --birth YYYY-MM-DD --category K --lang L\n"
	      "          [--dpi N] PAGE.jpg...  commit a submission; prints id and receipt\n"
	      "  list                        id, state, age, size of every submission\n"
	      "  inspect ID                  the clear header of one submission\n"
	      "  verify [ID]                 decrypt and check hashes (needs the secret key)\n"
	      "  recover                     what the uploader does at start: remove stray\n"
	      "                              partial files, return claimed ones to new/,\n"
	      "                              quarantine unreadable ones\n"
	      "exit codes: 0 ok, 2 usage or config, 3 spool full, 4 I/O error,\n"
	      "            5 verification failed, 6 no such submission, 7 key file problem\n",
	      out);
}

static int exit_for_spool(enum spool_status status)
{
	switch (status) {
	case SPOOL_OK:
		return EXIT_OK;
	case SPOOL_FULL:
	case SPOOL_NO_SPACE:
		return EXIT_FULL;
	case SPOOL_NOT_FOUND:
		return EXIT_NOT_FOUND;
	case SPOOL_INVALID:
		return EXIT_USAGE;
	case SPOOL_CORRUPT:
		return EXIT_BAD;
	case SPOOL_IO:
	case SPOOL_NOMEM:
	case SPOOL_STATUS_LAST:
		break;
	}
	return EXIT_IO;
}

static int open_spool(const struct config *cfg, struct spool **out)
{
	struct spool_limits limits = {cfg->spool.max_bytes, cfg->spool.max_count};
	enum spool_status st = spool_open(cfg->spool.dir, &limits, out);
	if (st != SPOOL_OK) {
		fprintf(stderr, "scankiosk-spool: cannot open the spool %s: %s\n", cfg->spool.dir,
		        spool_strerror(st));
		return exit_for_spool(st);
	}
	return EXIT_OK;
}

static int load_key(const char *what, const char *path, uint8_t key[CONTAINER_KEY_BYTES])
{
	if (!path) {
		fprintf(stderr, "scankiosk-spool: no %s key file in [spool] of the config\n", what);
		return EXIT_KEY;
	}
	enum container_status st = container_load_key(path, key);
	if (st != CONTAINER_OK) {
		fprintf(stderr, "scankiosk-spool: %s key %s: %s\n", what, path,
		        container_strerror(st));
		return EXIT_KEY;
	}
	return EXIT_OK;
}

static int cmd_keygen(const struct config *cfg)
{
	if (!cfg->spool.secret_key) {
		fputs("scankiosk-spool: set secret_key in [spool] to say where the key goes\n",
		      stderr);
		return EXIT_USAGE;
	}
	enum container_status st = container_keygen(cfg->spool.public_key, cfg->spool.secret_key);
	if (st != CONTAINER_OK) {
		fprintf(stderr, "scankiosk-spool: keygen: %s\n", container_strerror(st));
		return st == CONTAINER_INVALID ? EXIT_KEY : EXIT_IO;
	}
	printf("public key: %s\nsecret key: %s\n", cfg->spool.public_key, cfg->spool.secret_key);
	return EXIT_OK;
}

/* Reads a whole file into memory that is zeroed when freed. */
static int read_page(const char *path, struct container_page *page, uint32_t dpi)
{
	int rc = EXIT_IO;
	uint8_t *buf = NULL;
	size_t size = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "scankiosk-spool: %s: %s\n", path, strerror(errno));
		return EXIT_IO;
	}
	struct stat sb;
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_size <= 0 ||
	    (uint64_t)sb.st_size > CONTAINER_MAX_PAGE_SIZE) {
		fprintf(stderr,
		        "scankiosk-spool: %s: not a page file (empty, too large or not a file)\n",
		        path);
		rc = EXIT_USAGE;
		goto out;
	}
	size = (size_t)sb.st_size;
	buf = malloc(size);
	if (!buf) {
		fprintf(stderr, "scankiosk-spool: %s: out of memory\n", path);
		goto out;
	}
	for (size_t got = 0; got < size;) {
		ssize_t n = read(fd, buf + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "scankiosk-spool: %s: read failed\n", path);
			goto out;
		}
		got += (size_t)n;
	}
	int components = 0;
	if (jpeg_probe(buf, size, &page->width, &page->height, &components) < 0) {
		fprintf(stderr, "scankiosk-spool: %s: not a JPEG file\n", path);
		rc = EXIT_USAGE;
		goto out;
	}
	if (!sha256_digest(buf, size, page->sha256)) {
		fprintf(stderr, "scankiosk-spool: %s: hashing failed\n", path);
		goto out;
	}
	page->jpeg = buf;
	page->bytes = size;
	page->dpi = dpi;
	page->color = components == 3;
	page->blank_score = 0.0;
	buf = NULL;
	rc = EXIT_OK;
out:
	secmem_free(buf, size);
	close(fd);
	return rc;
}

static bool valid_date(const char *s)
{
	int y, m, d;
	char tail;
	if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3)
		return false;
	static const int days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (y < 1900 || m < 1 || m > 12 || d < 1 || d > days[m - 1])
		return false;
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return !(m == 2 && d == 29 && !leap);
}

static int cmd_enqueue(const struct config *cfg, int argc, char **argv)
{
	static const struct option opts[] = {
	        {"case", required_argument, NULL, 'c'},
	        {"name", required_argument, NULL, 'n'},
	        {"birth", required_argument, NULL, 'b'},
	        {"category", required_argument, NULL, 'k'},
	        {"lang", required_argument, NULL, 'l'},
	        {"dpi", required_argument, NULL, 'd'},
	        {NULL, 0, NULL, 0},
	};
	struct container_submission sub = {0};
	unsigned long dpi = 300;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			sub.case_number = optarg;
			break;
		case 'n':
			sub.name = optarg;
			break;
		case 'b':
			sub.birth_date = optarg;
			break;
		case 'k':
			sub.category = optarg;
			break;
		case 'l':
			sub.language = optarg;
			break;
		case 'd': {
			char *end;
			errno = 0;
			dpi = strtoul(optarg, &end, 10);
			if (errno || *end || dpi < 50 || dpi > 2400) {
				fputs("scankiosk-spool: --dpi takes a number from 50 to 2400\n",
				      stderr);
				return EXIT_USAGE;
			}
			break;
		}
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (!sub.case_number || !sub.name || !sub.birth_date || !sub.category || !sub.language ||
	    !*sub.case_number || !*sub.name || !*sub.category || !*sub.language) {
		fputs("scankiosk-spool: enqueue needs --case, --name, --birth, --category and "
		      "--lang\n",
		      stderr);
		return EXIT_USAGE;
	}
	if (!valid_date(sub.birth_date)) {
		fputs("scankiosk-spool: --birth must be a date written YYYY-MM-DD\n", stderr);
		return EXIT_USAGE;
	}
	size_t n = (size_t)(argc - optind);
	if (n == 0 || n > CONTAINER_MAX_PAGES) {
		fprintf(stderr, "scankiosk-spool: give 1 to %d JPEG files\n", CONTAINER_MAX_PAGES);
		return EXIT_USAGE;
	}

	int rc = EXIT_IO;
	struct spool *spool = NULL;
	uint8_t pk[CONTAINER_KEY_BYTES];
	struct container_page *pages = calloc(n, sizeof(*pages));
	if (!pages) {
		fputs("scankiosk-spool: out of memory\n", stderr);
		return EXIT_IO;
	}
	for (size_t i = 0; i < n; i++) {
		rc = read_page(argv[optind + (int)i], &pages[i], (uint32_t)dpi);
		if (rc != EXIT_OK)
			goto out;
	}
	sub.pages = pages;
	sub.page_count = n;
	rc = load_key("public", cfg->spool.public_key, pk);
	if (rc != EXIT_OK)
		goto out;
	rc = open_spool(cfg, &spool);
	if (rc != EXIT_OK)
		goto out;
	struct spool_receipt receipt;
	enum spool_status st = spool_commit(spool, pk, &sub, &receipt);
	if (st != SPOOL_OK) {
		fprintf(stderr, "scankiosk-spool: not queued: %s\n", spool_strerror(st));
		rc = exit_for_spool(st);
		goto out;
	}
	printf("%s %s\n", receipt.id, receipt.reference);
	rc = fflush(stdout) == 0 ? EXIT_OK : EXIT_IO;
out:
	spool_destroy(spool);
	for (size_t i = 0; i < n; i++)
		secmem_free((void *)(uintptr_t)pages[i].jpeg, pages[i].bytes);
	free(pages);
	return rc;
}

static int cmd_list(const struct config *cfg)
{
	struct spool *spool;
	int rc = open_spool(cfg, &spool);
	if (rc != EXIT_OK)
		return rc;
	time_t now = time(NULL);
	printf("%-32s  %-10s  %10s  %10s  %8s  %s\n", "ID", "STATE", "AGE_S", "BYTES", "ATTEMPTS",
	       "LAST_ERROR");
	for (int s = 0; s < SPOOL_STATE_LAST; s++) {
		struct spool_entry *entries = NULL;
		size_t count = 0;
		enum spool_status st = spool_list(spool, (enum spool_state)s, &entries, &count);
		if (st != SPOOL_OK) {
			fprintf(stderr, "scankiosk-spool: cannot list %s: %s\n",
			        spool_state_name((enum spool_state)s), spool_strerror(st));
			rc = exit_for_spool(st);
			continue;
		}
		for (size_t i = 0; i < count; i++) {
			const struct spool_entry *e = &entries[i];
			int64_t age = e->created > 0 && now > e->created ? now - e->created : 0;
			printf("%-32s  %-10s  %10" PRId64 "  %10" PRIu64 "  %8" PRIu32 "  %s\n",
			       e->id, spool_state_name(e->state), age, e->bytes, e->attempts,
			       e->last_error[0] ? e->last_error : "-");
		}
		free(entries);
	}
	spool_destroy(spool);
	if (fflush(stdout) != 0)
		rc = EXIT_IO;
	return rc;
}

static bool valid_id(const char *id)
{
	if (strlen(id) != CONTAINER_ID_HEX - 1)
		return false;
	for (const char *p = id; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

/* Opens ID in whichever state holds it. */
static int open_entry(struct spool *spool, const char *id, enum spool_state *state, int *fd)
{
	if (!valid_id(id)) {
		fprintf(stderr, "scankiosk-spool: '%s' is not a submission id (32 hex digits)\n",
		        id);
		return EXIT_USAGE;
	}
	for (int s = 0; s < SPOOL_STATE_LAST; s++) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", spool_dir(spool, (enum spool_state)s), id);
		*fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (*fd >= 0) {
			*state = (enum spool_state)s;
			return EXIT_OK;
		}
	}
	fprintf(stderr, "scankiosk-spool: no submission %s in the spool\n", id);
	return EXIT_NOT_FOUND;
}

static void print_time(const char *label, int64_t t)
{
	char buf[64] = "-";
	time_t tt = (time_t)t;
	struct tm tm;
	if (t > 0 && gmtime_r(&tt, &tm))
		strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	printf("%-12s %s\n", label, buf);
}

static int cmd_recover(const struct config *cfg)
{
	struct spool *spool;
	int rc = open_spool(cfg, &spool);
	if (rc != EXIT_OK)
		return rc;
	enum spool_status st = spool_recover(spool);
	if (st != SPOOL_OK) {
		fprintf(stderr, "scankiosk-spool: recovery failed: %s\n", spool_strerror(st));
		rc = exit_for_spool(st);
	}
	spool_destroy(spool);
	return rc;
}

static int cmd_inspect(const struct config *cfg, const char *id)
{
	struct spool *spool;
	int rc = open_spool(cfg, &spool);
	if (rc != EXIT_OK)
		return rc;
	enum spool_state state;
	int fd = -1;
	rc = open_entry(spool, id, &state, &fd);
	if (rc != EXIT_OK)
		goto out;
	struct container_header h;
	enum container_status st = container_read_header(fd, &h);
	printf("%-12s %s\n", "id", id);
	printf("%-12s %s\n", "state", spool_state_name(state));
	if (st != CONTAINER_OK) {
		printf("%-12s %s\n", "header", container_strerror(st));
		rc = EXIT_BAD;
		goto out;
	}
	char ref[CONTAINER_REFERENCE_LEN];
	container_reference(h.id, ref);
	printf("%-12s %s\n", "reference", ref);
	printf("%-12s %" PRIu16 "\n", "version", h.version);
	print_time("created", h.created);
	printf("%-12s %" PRIu32 "\n", "pages", h.page_count);
	printf("%-12s %" PRIu64 "\n", "plain_bytes", h.plain_bytes);
	printf("%-12s %" PRIu64 "\n", "file_bytes", h.file_bytes);
	struct spool_entry *entries = NULL;
	size_t count = 0;
	if (spool_list(spool, state, &entries, &count) == SPOOL_OK) {
		for (size_t i = 0; i < count; i++) {
			if (strcmp(entries[i].id, id) != 0)
				continue;
			printf("%-12s %" PRIu32 "\n", "attempts", entries[i].attempts);
			print_time("next_due", entries[i].next_due);
			printf("%-12s %s\n", "last_error",
			       entries[i].last_error[0] ? entries[i].last_error : "-");
		}
		free(entries);
	}
out:
	if (fd >= 0)
		close(fd);
	spool_destroy(spool);
	return rc;
}

static int cmd_verify(const struct config *cfg, const char *only)
{
	uint8_t sk[CONTAINER_KEY_BYTES], pk[CONTAINER_KEY_BYTES];
	int rc = load_key("secret", cfg->spool.secret_key, sk);
	if (rc != EXIT_OK)
		return rc;
	container_public_from_secret(sk, pk);
	struct spool *spool = NULL;
	rc = open_spool(cfg, &spool);
	if (rc != EXIT_OK)
		goto out;
	if (only) {
		enum spool_state state;
		int fd;
		rc = open_entry(spool, only, &state, &fd);
		if (rc != EXIT_OK)
			goto out;
		enum container_status st = container_verify(fd, pk, sk);
		close(fd);
		printf("%s %s %s\n", only, spool_state_name(state),
		       st == CONTAINER_OK ? "ok" : container_strerror(st));
		rc = st == CONTAINER_OK ? EXIT_OK : EXIT_BAD;
		goto out;
	}
	size_t checked = 0, bad = 0;
	for (int s = 0; s < SPOOL_STATE_LAST; s++) {
		struct spool_entry *entries = NULL;
		size_t count = 0;
		if (spool_list(spool, (enum spool_state)s, &entries, &count) != SPOOL_OK) {
			rc = EXIT_IO;
			continue;
		}
		for (size_t i = 0; i < count; i++) {
			enum spool_state state;
			int fd;
			if (open_entry(spool, entries[i].id, &state, &fd) != EXIT_OK)
				continue; /* moved on by the uploader meanwhile */
			enum container_status st = container_verify(fd, pk, sk);
			close(fd);
			checked++;
			if (st != CONTAINER_OK)
				bad++;
			printf("%s %s %s\n", entries[i].id, spool_state_name(state),
			       st == CONTAINER_OK ? "ok" : container_strerror(st));
		}
		free(entries);
	}
	printf("verified %zu, failed %zu\n", checked, bad);
	if (bad && rc == EXIT_OK)
		rc = EXIT_BAD;
out:
	secmem_zero(sk, sizeof(sk));
	spool_destroy(spool);
	return rc;
}

int main(int argc, char **argv)
{
	secmem_harden_heap();
	const char *config_path = CONFIG_DEFAULT_PATH;
	bool verbose = false;
	int argi = 1;
	while (argi < argc && argv[argi][0] == '-') {
		if (strcmp(argv[argi], "--config") == 0 && argi + 1 < argc) {
			config_path = argv[argi + 1];
			argi += 2;
		} else if (strcmp(argv[argi], "--verbose") == 0) {
			verbose = true;
			argi++;
		} else if (strcmp(argv[argi], "--help") == 0 || strcmp(argv[argi], "-h") == 0) {
			usage(stdout);
			return EXIT_OK;
		} else {
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (argi >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	/* Files this tool creates are not for the world. */
	umask(027);

	struct config cfg;
	char err[CONFIG_ERROR_MAX];
	config_init(&cfg);
	int rc = EXIT_USAGE;
	if (!config_load(&cfg, config_path, err)) {
		fprintf(stderr, "scankiosk-spool: %s\n", err);
		goto out;
	}
	log_set_level(cfg.log_level);
	/* A command speaks for itself in one line; the library's log lines (with
	 * source locations) are for --verbose. recover reports what it moved. */
	log_set_quiet(!verbose && strcmp(argv[argi], "recover") != 0);

	const char *cmd = argv[argi];
	int sub_argc = argc - argi;
	char **sub_argv = argv + argi;
	/* A secret key given as credential:NAME lives in $CREDENTIALS_DIRECTORY
	 * (the uploader's unit); outside it, CREDENTIALS_DIRECTORY=/etc/scankiosk
	 * names the folder the unit loads it from. Only the commands that use the
	 * secret key need it. */
	bool secret = strcmp(cmd, "keygen") == 0 || strcmp(cmd, "verify") == 0;
	if (secret && !config_resolve_credentials(&cfg, err)) {
		fprintf(stderr, "scankiosk-spool: %s\n", err);
		goto out;
	}
	if (strcmp(cmd, "check") == 0 && sub_argc == 1) {
		rc = EXIT_OK; /* the configuration and its drop-ins were read */
	} else if (strcmp(cmd, "keygen") == 0 && sub_argc == 1) {
		rc = cmd_keygen(&cfg);
	} else if (strcmp(cmd, "enqueue") == 0) {
		rc = cmd_enqueue(&cfg, sub_argc, sub_argv);
	} else if (strcmp(cmd, "list") == 0 && sub_argc == 1) {
		rc = cmd_list(&cfg);
	} else if (strcmp(cmd, "recover") == 0 && sub_argc == 1) {
		rc = cmd_recover(&cfg);
	} else if (strcmp(cmd, "inspect") == 0 && sub_argc == 2) {
		rc = cmd_inspect(&cfg, sub_argv[1]);
	} else if (strcmp(cmd, "verify") == 0 && sub_argc <= 2) {
		rc = cmd_verify(&cfg, sub_argc == 2 ? sub_argv[1] : NULL);
	} else {
		usage(stderr);
	}
out:
	config_finish(&cfg);
	return rc;
}
