/* Command-line parsing for `ringvisor run` (see options.h and `ringvisor --help`). */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ringvisor_abi.h"
#include "fail.h"
#include "vm/guest_memory.h"
#include "options.h"
#include "observe/metrics_stream.h"
#include "share/share_switch.h"

static const char usage_text[] =
	"usage: ringvisor run [options] GUEST.elf [-- GUEST-ARGUMENTS...]\n"
	"       ringvisor --help | --version\n"
	"\n"
	"Runs GUEST.elf, a static x86-64 ELF linked with the Ringvisor guest kernel, in ring 3\n"
	"of a KVM virtual machine. The launcher's exit status is the guest's exit code (0-%d),\n"
	"%d if the launcher could not run the guest, %d if the guest crashed, 128+N if the\n"
	"launcher was stopped by signal N.\n"
	"\n"
	"options:\n"
	"  -m, --mem SIZE   guest RAM: a number with K, M or G (no suffix: MiB), a multiple of\n"
	"                   2 MiB from 4M to 4G (default 64M)\n"
	"  -n, --net tap,ifname=NAME[,bridge=BR][,KEY=VALUE...]\n"
	"                   a NIC backed by the TAP device NAME (created if absent, set up,\n"
	"                   gone when the launcher exits unless it was persistent), attached\n"
	"                   to bridge BR if given\n"
	"  -n, --net share,name=NAME[,KEY=VALUE...]\n"
	"                   a NIC on switch NAME: every launcher naming NAME is on one virtual\n"
	"                   Ethernet in shared memory (/dev/shm/ringvisor-UID/share-NAME), "
	"without\n"
	"                   the host's network stack; at most %u launchers per switch\n"
	"                   Up to %u --net, of either kind. Keys for both: mac=52:54:00:12:34:56\n"
	"                   (default: random), ip=198.18.0.2/24, gw=198.18.0.1, mtu=1500,\n"
	"                   offload=off (offer the guest no checksum offload or TSO),\n"
	"                   and faults on the link, both ways: loss=P, dup=P, reorder=P,\n"
	"                   corrupt=P (probabilities 0-1), seed=N (default 0: repeatable)\n"
	"                   pcap=FILE on either kind writes every frame the NIC sends and\n"
	"                   receives to FILE (tcpdump -r reads it)\n"
	"  -u, --user USER[:GROUP]\n"
	"                   once /dev/kvm, the TAPs and the switches are open, become USER\n"
	"                   (a name or a number; GROUP: its own group unless given) with no\n"
	"                   supplementary groups; needs root; a switch is then USER's\n"
	"                   (/dev/shm/ringvisor-UID). Without it a launcher started as root\n"
	"                   stays uid 0, though with no capability left\n"
	"  -c, --cpu N      run the guest's vCPU and the launcher's I/O thread on host CPU N\n"
	"                   (default: wherever the scheduler puts them). Together they keep\n"
	"                   the guest's rings and buffers in one core's caches.\n"
	"      --poll USEC  before sleeping, the guest polls its rings and the I/O thread its\n"
	"                   rings and backends for up to USEC microseconds (0 to %u), a window\n"
	"                   that grows while events come that close together and shrinks when\n"
	"                   they do not, so an idle guest never polls (default %u; 0 when the\n"
	"                   two share one CPU, as with --cpu). 0: sleep at once\n"
	"  -s, --stats      print every counter at exit, one `SECTION NAME COUNTER VALUE` a\n"
	"                   line: each NIC's, each launcher thread's CPU time, the vCPU's\n"
	"                   exits by reason (docs/metrics.md); SIGUSR1 prints them any time\n"
	"  -p, --profile FILE[,hz=N]\n"
	"                   sample the guest's call stack N times a second (%u to %u, default\n"
	"                   %u); at exit write FILE (folded stacks), FILE.svg (a flame graph)\n"
	"                   and print the top functions and what sampling cost\n"
	"  -M, --metrics FILE[,interval=MS]\n"
	"                   write every counter as one JSON line every MS milliseconds (%u to\n"
	"                   %u, default %u) and at exit to FILE, which may be a FIFO\n"
	"  -h, --help       print this help and exit\n"
	"  -V, --version    print the version and exit\n";

static void print_usage(FILE *stream)
{
	fprintf(stream, usage_text, RINGVISOR_EXIT_CODE_MAX, STATUS_LAUNCHER_ERROR,
		STATUS_GUEST_CRASHED, SHARE_PORTS_MAX, RINGVISOR_NICS_MAX, POLL_US_MAX,
		POLL_US_DEFAULT, PROFILER_HZ_MIN, PROFILER_HZ_MAX, PROFILER_HZ_DEFAULT,
		METRICS_INTERVAL_MIN_MS, METRICS_INTERVAL_MAX_MS, METRICS_INTERVAL_DEFAULT_MS);
}

__attribute__((noreturn, format(printf, 1, 2))) static void usage_error(const char *format, ...)
{
	va_list arguments;
	va_start(arguments, format);
	fputs("ringvisor: ", stderr);
	vfprintf(stderr, format, arguments);
	fputs("\n(try 'ringvisor --help')\n", stderr);
	va_end(arguments);
	exit(STATUS_LAUNCHER_ERROR);
}

bool options_parse_size(const char *text, uint64_t *bytes)
{
	if (!isdigit((unsigned char)text[0]))
		return false;
	errno = 0;
	char *end;
	unsigned long long number = strtoull(text, &end, 10);
	if (errno == ERANGE)
		return false;
	unsigned shift = 20; /* a bare number is MiB, as in QEMU */
	switch (toupper((unsigned char)*end)) {
	case 'K':
		shift = 10, end++;
		break;
	case 'M':
		shift = 20, end++;
		break;
	case 'G':
		shift = 30, end++;
		break;
	}
	if (*end == 'i' && end[1] == 'B')
		end += 2;
	else if (*end == 'B')
		end++;
	if (*end != '\0' || number > (UINT64_MAX >> shift))
		return false;
	*bytes = number << shift;
	return true;
}

static void parse_memory(struct options *options, const char *text)
{
	uint64_t bytes;
	if (!options_parse_size(text, &bytes))
		usage_error("--mem '%s' is not a size (examples: 64M, 1G)", text);
	if (bytes < GUEST_MEMORY_MINIMUM || bytes > GUEST_MEMORY_MAXIMUM)
		usage_error("--mem %s is out of range: guest RAM must be from %lluM to %lluG", text,
			    GUEST_MEMORY_MINIMUM >> 20, GUEST_MEMORY_MAXIMUM >> 30);
	if (bytes % GUEST_MEMORY_GRANULE != 0)
		usage_error("--mem %s is not a multiple of 2 MiB", text);
	options->memory_bytes = bytes;
}

/* A whole decimal number that fits an id, or -1. */
static long parse_id(const char *text)
{
	char *end;
	errno = 0;
	long value = isdigit((unsigned char)text[0]) ? strtol(text, &end, 10) : -1;
	return value < 0 || errno || *end || value > 0x7fffffff ? -1 : value;
}

/* --user USER[:GROUP]: names or numbers. Root only (nobody else may change its user), and never
 * root itself, which would give nothing up. */
static void parse_user(struct options *options, const char *text)
{
	char user[256];
	const char *colon = strchr(text, ':');
	size_t length = colon ? (size_t)(colon - text) : strlen(text);
	if (length == 0 || length >= sizeof user)
		usage_error("--user '%s' is not USER[:GROUP]", text);
	memcpy(user, text, length);
	user[length] = '\0';
	struct passwd *entry = getpwnam(user);
	long id = parse_id(user);
	if (!entry && id < 0)
		usage_error("--user: no user '%s' on this host", user);
	/* A number that no account has, alone: its group would be a guess. */
	if (!entry && !colon)
		usage_error("--user %s: no such user here; say its group too (%s:GROUP)", user,
			    user);
	options->user_id = entry ? entry->pw_uid : (uid_t)id;
	options->group_id = entry ? entry->pw_gid : (gid_t)id;
	if (colon) {
		struct group *group = getgrnam(colon + 1);
		long group_id = parse_id(colon + 1);
		if (!group && group_id < 0)
			usage_error("--user: no group '%s' on this host", colon + 1);
		options->group_id = group ? group->gr_gid : (gid_t)group_id;
	}
	if (options->user_id == 0 || options->group_id == 0)
		usage_error(
			"--user %s: that is root (user or group 0), which would give nothing up",
			text);
	if (geteuid() != 0)
		usage_error("--user: only a launcher started as root can become another user");
	options->change_user = true;
}

/* --cpu N: the CPU must exist and be one this process may run on (cgroups, taskset). */
static void parse_cpu(struct options *options, const char *text)
{
	char *end;
	errno = 0;
	long cpu = isdigit((unsigned char)text[0]) ? strtol(text, &end, 10) : -1;
	if (cpu < 0 || errno || *end || cpu >= CPU_SETSIZE)
		usage_error("--cpu '%s' is not a CPU number", text);
	cpu_set_t allowed;
	if (sched_getaffinity(0, sizeof allowed, &allowed) < 0)
		usage_error("--cpu: cannot read which CPUs this process may use: %s",
			    strerror(errno));
	if (!CPU_ISSET(cpu, &allowed)) {
		char list[256] = "";
		for (int index = 0, length = 0; index < CPU_SETSIZE && length < 240; index++)
			if (CPU_ISSET(index, &allowed))
				length += snprintf(list + length, sizeof list - (size_t)length,
						   "%s%d", length ? "," : "", index);
		usage_error("--cpu %ld: this process may not run there (it may use CPUs %s)", cpu,
			    list);
	}
	options->cpu = (int)cpu;
}

static void parse_poll(struct options *options, const char *text)
{
	char *end;
	errno = 0;
	long microseconds = isdigit((unsigned char)text[0]) ? strtol(text, &end, 10) : -1;
	if (microseconds < 0 || errno || *end)
		usage_error("--poll '%s' is not a number of microseconds", text);
	if (microseconds > POLL_US_MAX)
		usage_error("--poll %s is out of range: 0 to %u microseconds", text, POLL_US_MAX);
	options->poll_us = microseconds;
}

uint64_t options_poll_ns_max(const struct options *options)
{
	if (options->poll_us >= 0)
		return (uint64_t)options->poll_us * 1000;
	cpu_set_t allowed;
	bool one_cpu = options->cpu >= 0 || (sched_getaffinity(0, sizeof allowed, &allowed) == 0 &&
					     CPU_COUNT(&allowed) < 2);
	return one_cpu ? 0 : (uint64_t)POLL_US_DEFAULT * 1000;
}

static void parse_nic(struct options *options, const char *text)
{
	if (options->nic_count == RINGVISOR_NICS_MAX)
		usage_error("more than %u --net options", RINGVISOR_NICS_MAX);
	char error[200];
	struct nic_config *config = &options->nics[options->nic_count];
	if (!nic_config_parse(text, config, error, sizeof error))
		usage_error("%s", error);
	for (unsigned index = 0; index < options->nic_count; index++)
		if (strcmp(options->nics[index].name, config->name) == 0)
			usage_error("--net: two NICs on %s", config->name);
	/* Two NICs on one capture file: main.c, once the files are open (one file, many names). */
	options->nic_count++;
}

/*
 * "FILE[,KEY=N]", the shape of --profile and --metrics: the file (a copy, kept for the run) and,
 * if given, N from MINIMUM to MAXIMUM into *value. PLACEHOLDER and UNIT are for the messages.
 */
static const char *parse_file_option(const char *option, const char *text, const char *key,
				     const char *placeholder, unsigned minimum, unsigned maximum,
				     const char *unit, unsigned *value)
{
	const char *comma = strchr(text, ',');
	size_t length = comma ? (size_t)(comma - text) : strlen(text);
	if (length == 0 || length > 255)
		usage_error("%s needs a file name (at most 255 bytes) first", option);
	char *path = strndup(text, length);
	if (!path)
		fail("out of memory");
	if (!comma)
		return path;
	const char *given = comma + 1;
	size_t key_length = strlen(key);
	char *end;
	errno = 0;
	unsigned long number = 0;
	bool parsed = strncmp(given, key, key_length) == 0 && given[key_length] == '=' &&
		      isdigit((unsigned char)given[key_length + 1]);
	if (parsed)
		number = strtoul(given + key_length + 1, &end, 10);
	if (!parsed || errno || *end)
		usage_error("%s %s: after the file name only %s=%s is known", option, text, key,
			    placeholder);
	if (number < minimum || number > maximum)
		usage_error("%s %s is out of range: %u to %u %s", option, given, minimum, maximum,
			    unit);
	*value = (unsigned)number;
	return path;
}

static void parse_profile(struct options *options, const char *text)
{
	options->profile.hz = PROFILER_HZ_DEFAULT;
	options->profile.path =
		parse_file_option("--profile", text, "hz", "N", PROFILER_HZ_MIN, PROFILER_HZ_MAX,
				  "samples a second", &options->profile.hz);
}

static void parse_metrics(struct options *options, const char *text)
{
	options->metrics_interval_ms = METRICS_INTERVAL_DEFAULT_MS;
	options->metrics_path = parse_file_option("--metrics", text, "interval", "MS",
						  METRICS_INTERVAL_MIN_MS, METRICS_INTERVAL_MAX_MS,
						  "milliseconds", &options->metrics_interval_ms);
}

/* Long options without a letter. */
enum { OPTION_POLL = 256 };

void options_parse(struct options *options, int argc, char **argv)
{
	static const struct option long_options[] = {
		{ "mem", required_argument, NULL, 'm' },
		{ "net", required_argument, NULL, 'n' },
		{ "stats", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "cpu", required_argument, NULL, 'c' },
		{ "user", required_argument, NULL, 'u' },
		{ "profile", required_argument, NULL, 'p' },
		{ "metrics", required_argument, NULL, 'M' },
		{ "poll", required_argument, NULL, OPTION_POLL },
		{ NULL, 0, NULL, 0 },
	};
	memset(options, 0, sizeof *options);
	options->memory_bytes = 64ull << 20;
	options->cpu = -1;
	options->poll_us = -1;

	/* The one command so far is `run`; --help and --version also work without it. */
	int first = 1;
	if (argc > 1 && strcmp(argv[1], "run") == 0)
		first = 2;
	else if (argc > 1 && argv[1][0] != '-')
		usage_error("unknown command '%s'", argv[1]);

	optind = first;
	opterr = 0;
	int option;
	/* "+": stop at the guest's path, so options after it are never taken for ours. */
	while ((option = getopt_long(argc, argv, "+:m:n:c:u:p:M:shV", long_options, NULL)) != -1) {
		switch (option) {
		case 'm':
			parse_memory(options, optarg);
			break;
		case 'n':
			parse_nic(options, optarg);
			break;
		case 's':
			options->print_statistics = true;
			break;
		case 'c':
			parse_cpu(options, optarg);
			break;
		case 'u':
			parse_user(options, optarg);
			break;
		case OPTION_POLL:
			parse_poll(options, optarg);
			break;
		case 'p':
			parse_profile(options, optarg);
			break;
		case 'M':
			parse_metrics(options, optarg);
			break;
		case 'h':
			print_usage(stdout);
			exit(0);
		case 'V':
			printf("ringvisor %s (guest ABI %d)\n", RINGVISOR_VERSION,
			       RINGVISOR_ABI_VERSION);
			exit(0);
		case ':': /* name the option as it was written: --mem, or -m inside -Vm */
			if (strncmp(argv[optind - 1], "--", 2) == 0)
				usage_error("option '%s' needs a value", argv[optind - 1]);
			usage_error("option '-%c' needs a value", optopt);
		default:
			if (optopt)
				usage_error("unknown option '-%c'", optopt);
			usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (first == 1)
		usage_error("no command given: say 'ringvisor run GUEST.elf'");
	if (optind >= argc)
		usage_error("no guest given: say which ELF to run");
	options->guest_path = argv[optind++];
	if (optind < argc && strcmp(argv[optind], "--") != 0)
		usage_error("unexpected argument '%s' after the guest; guest arguments go after --",
			    argv[optind]);
	if (optind < argc)
		optind++; /* the -- */

	/* The guest's argv: its own name, then whatever followed --. We overwrite the slot
	 * before the guest arguments (the -- or the path) with the name; argv is ours. */
	const char *slash = strrchr(options->guest_path, '/');
	argv[optind - 1] = (char *)(slash ? slash + 1 : options->guest_path);
	options->guest_arguments = &argv[optind - 1];
	options->guest_argument_count = argc - optind + 1;
}
