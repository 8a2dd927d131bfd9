/*
 * iperf3 for the Ringvisor guest: options and start-up (see iperf3.h for the files).
 *
 *	ringvisor run --net tap,ifname=rv0,ip=198.18.0.2/24 build/guests/iperf3.elf -- -s
 *	ringvisor run --net ... build/guests/iperf3.elf -- -c 198.18.0.1 -t 5 -P 4
 *	ringvisor run --net ... build/guests/iperf3.elf -- --loopback -t 5 -P 4
 *
 * Exit codes: 0 success, 1 a network or protocol error, 2 bad options (with the usage). The
 * guest has one console, so the usage goes there (there is no separate stderr).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iperf3.h"

static void usage(void)
{
	printf("Usage: iperf3 [-s|-c host|--loopback] [options]\n"
	       "Server or client:\n"
	       "  -p, --port N            server port to listen on/connect to (5201)\n"
	       "  -i, --interval N        seconds between interval reports (1; 0 for none)\n"
	       "Server:\n"
	       "  -s, --server            run in server mode\n"
	       "  -1, --one-off           handle one client connection, then exit\n"
	       "Loopback (both in this guest):\n"
	       "      --loopback          run a quiet server on 127.0.0.1 and a client connected "
	       "to it,\n"
	       "                          on one event loop; takes the client's options\n"
	       "Client:\n"
	       "  -c, --client A.B.C.D    run in client mode, connecting to A.B.C.D\n"
	       "  -u, --udp               use UDP rather than TCP\n"
	       "  -b, --bitrate N[KMG]    UDP target bitrate in bits/sec per stream (1M; 0: no "
	       "limit)\n"
	       "  -t, --time N            seconds to transmit for (10)\n"
	       "  -n, --bytes N[KMG]      bytes to transmit (instead of -t)\n"
	       "  -k, --blockcount N[KMG] blocks (packets) to transmit (instead of -t or -n)\n"
	       "  -l, --length N[KMG]     bytes per write or datagram (TCP 128K, UDP the path "
	       "MSS)\n"
	       "  -P, --parallel N        number of parallel client streams (1)\n"
	       "  -R, --reverse           run in reverse mode (server sends, client receives)\n"
	       "      --bidir             run in bidirectional mode\n"
	       "  -N, --no-delay          set TCP no delay, disabling Nagle's algorithm\n"
	       "      --counters          print the network's counters at exit\n"
	       "  -h, --help              show this message and quit\n"
	       "  -v, --version           show the version and quit\n");
}

static int bad_option(const char *format, const char *detail)
{
	printf("iperf3: parameter error - ");
	printf(format, detail);
	printf("\n");
	usage();
	return 2;
}

/* N[.F][kKmMgGtT]: `binary` picks 1024 (sizes) over 1000 (rates) as iperf3 does. */
static bool parse_quantity(const char *text, bool binary, uint64_t maximum, uint64_t *value)
{
	if (*text < '0' || *text > '9')
		return false;
	char *end;
	uint64_t whole = strtoull(text, &end, 10);
	double fraction = 0, scale = 0.1;
	if (*end == '.') {
		end++;
		while (*end >= '0' && *end <= '9') {
			fraction += (*end - '0') * scale;
			scale /= 10;
			end++;
		}
	}
	uint64_t unit = 1, step = binary ? 1024 : 1000;
	switch (*end) {
	case 't':
	case 'T':
		unit *= step;
		/* fall through */
	case 'g':
	case 'G':
		unit *= step;
		/* fall through */
	case 'm':
	case 'M':
		unit *= step;
		/* fall through */
	case 'k':
	case 'K':
		unit *= step;
		end++;
		break;
	default:
		break;
	}
	if (*end != '\0' || whole > maximum / unit)
		return false;
	double total = ((double)whole + fraction) * (double)unit;
	if (total > (double)maximum)
		return false;
	*value = (uint64_t)total;
	return true;
}

struct option_spec {
	char short_name;
	const char *long_name;
	bool takes_value;
};

static const struct option_spec option_specs[] = {
	{ 's', "server", false },   { 'c', "client", true },	 { 'p', "port", true },
	{ '1', "one-off", false },  { 'i', "interval", true },	 { 'u', "udp", false },
	{ 'b', "bitrate", true },   { 'b', "bandwidth", true },	 { 't', "time", true },
	{ 'n', "bytes", true },	    { 'k', "blockcount", true }, { 'l', "length", true },
	{ 'P', "parallel", true },  { 'R', "reverse", false },	 { 'B', "bidir", false },
	{ 'N', "no-delay", false }, { 'h', "help", false },	 { 'v', "version", false },
	{ 'C', "counters", false }, { 'L', "loopback", false },
};

static const struct option_spec *find_short(char name)
{
	for (size_t index = 0; index < sizeof option_specs / sizeof option_specs[0]; index++)
		if (option_specs[index].short_name == name && name != 'B' && name != 'C' &&
		    name != 'L')
			return &option_specs[index];
	return NULL;
}

static const struct option_spec *find_long(const char *name, size_t length)
{
	for (size_t index = 0; index < sizeof option_specs / sizeof option_specs[0]; index++)
		if (strlen(option_specs[index].long_name) == length &&
		    strncmp(option_specs[index].long_name, name, length) == 0)
			return &option_specs[index];
	return NULL;
}

/* Returns -1 to go on, or an exit code. */
static int apply_option(struct options *options, char name, const char *value, bool *client_only)
{
	uint64_t number;
	struct settings *settings = &options->settings;
	switch (name) {
	case 's':
		options->server = true;
		break;
	case 'c':
		if (!net_ipv4_address_parse(value, &options->address))
			return bad_option("\"%s\" is not an IPv4 address (A.B.C.D)", value);
		break;
	case 'p':
		if (!parse_quantity(value, false, 65535, &number) || number == 0 ||
		    strchr(value, '.'))
			return bad_option("bad port \"%s\" (1 to 65535)", value);
		options->port = (uint16_t)number;
		break;
	case '1':
		options->one_off = true;
		break;
	case 'i':
		if (!parse_quantity(value, false, 60, &number))
			return bad_option("bad interval \"%s\" (0 to 60 seconds)", value);
		options->interval = (uint32_t)number;
		break;
	case 'u':
		settings->udp = true;
		*client_only = true;
		break;
	case 'b':
		if (!parse_quantity(value, false, UINT64_MAX >> 2, &number))
			return bad_option("bad bitrate \"%s\"", value);
		settings->bandwidth = number;
		options->bandwidth_given = true;
		*client_only = true;
		break;
	case 't':
		if (!parse_quantity(value, false, 86400, &number) || number == 0)
			return bad_option("bad time \"%s\" (1 to 86400 seconds)", value);
		settings->time = (uint32_t)number;
		*client_only = true;
		break;
	case 'n':
		if (!parse_quantity(value, true, UINT64_MAX >> 2, &number) || number == 0)
			return bad_option("bad byte count \"%s\"", value);
		settings->bytes = number;
		*client_only = true;
		break;
	case 'k':
		if (!parse_quantity(value, true, UINT64_MAX >> 2, &number) || number == 0)
			return bad_option("bad block count \"%s\"", value);
		settings->blocks = number;
		*client_only = true;
		break;
	case 'l':
		if (!parse_quantity(value, true, IPERF_MAX_TCP_LENGTH, &number) || number == 0)
			return bad_option("bad length \"%s\"", value);
		settings->length = (uint32_t)number;
		options->length_given = true;
		*client_only = true;
		break;
	case 'P':
		if (!parse_quantity(value, false, IPERF_MAX_STREAMS, &number) || number == 0)
			return bad_option("bad stream count \"%s\" (1 to 128)", value);
		settings->parallel = (uint32_t)number;
		*client_only = true;
		break;
	case 'R':
		settings->reverse = true;
		*client_only = true;
		break;
	case 'B':
		settings->bidirectional = true;
		*client_only = true;
		break;
	case 'N':
		settings->nodelay = true;
		*client_only = true;
		break;
	case 'C':
		options->counters = true;
		break;
	case 'L':
		options->loopback = true;
		options->address = IPERF_LOOPBACK_ADDRESS;
		break;
	case 'h':
		usage();
		return 0;
	case 'v':
		printf("iperf 3.12 (Ringvisor guest edition: TCP and UDP, IPv4)\n");
		return 0;
	}
	return -1;
}

static int parse_options(int argc, char **argv, struct options *options)
{
	bool client = false, client_only = false;
	memset(options, 0, sizeof *options);
	options->port = IPERF_DEFAULT_PORT;
	options->interval = 1;
	options->settings.time = 10;
	options->settings.parallel = 1;
	options->settings.bandwidth = IPERF_DEFAULT_UDP_RATE;
	for (int index = 1; index < argc; index++) {
		const char *argument = argv[index];
		const struct option_spec *spec = NULL;
		const char *value = NULL;
		if (argument[0] == '-' && argument[1] == '-' && argument[2] != '\0') {
			const char *name = argument + 2;
			const char *equals = strchr(name, '=');
			size_t length = equals ? (size_t)(equals - name) : strlen(name);
			spec = find_long(name, length);
			if (!spec)
				return bad_option("unknown option \"%s\"", argument);
			if (equals) {
				if (!spec->takes_value)
					return bad_option("option \"%s\" takes no value", argument);
				value = equals + 1;
			}
			if (spec->takes_value && !value) {
				if (index + 1 >= argc)
					return bad_option("option \"%s\" needs a value", argument);
				value = argv[++index];
			}
			if (spec->short_name == 'c')
				client = true;
			int result = apply_option(options, spec->short_name, value, &client_only);
			if (result >= 0)
				return result;
			continue;
		}
		if (argument[0] != '-' || argument[1] == '\0')
			return bad_option("unexpected argument \"%s\"", argument);
		/* A cluster of short options, the last of which may take a value: -uR, -P4. */
		for (const char *p = argument + 1; *p; p++) {
			spec = find_short(*p);
			if (!spec) {
				char name[3] = { '-', *p, '\0' };
				return bad_option("unknown option \"%s\"", name);
			}
			value = NULL;
			if (spec->takes_value) {
				if (p[1] != '\0') {
					value = p + 1;
				} else {
					if (index + 1 >= argc)
						return bad_option("option \"%s\" needs a value",
								  argument);
					value = argv[++index];
				}
			}
			if (spec->short_name == 'c')
				client = true;
			int result = apply_option(options, spec->short_name, value, &client_only);
			if (result >= 0)
				return result;
			if (value)
				break;
		}
	}
	if (options->loopback) {
		if (options->server || client)
			return bad_option("%s", "--loopback excludes -s and -c");
		client = true;
	}
	if (options->server == client)
		return bad_option("%s", options->server
						? "-s and -c exclude each other"
						: "must either be a client (-c) or server (-s)");
	if (options->server && client_only)
		return bad_option("%s", "some option you are trying to set is client only");
	if (client && options->one_off)
		return bad_option("%s", "-1 is for the server only");
	struct settings *settings = &options->settings;
	if (settings->reverse && settings->bidirectional)
		return bad_option("%s", "--bidir and -R exclude each other");
	if (options->bandwidth_given && !settings->udp)
		return bad_option("%s", "-b is for UDP only here (TCP is not paced)");
	if (settings->udp) {
		if (!options->length_given)
			settings->length = IPERF_DEFAULT_UDP_LENGTH;
		if (settings->length < 16 || settings->length > IPERF_MAX_UDP_LENGTH)
			return bad_option("%s", "UDP length must be from 16 to 65507 bytes");
	} else if (!options->length_given) {
		settings->length = IPERF_DEFAULT_TCP_LENGTH;
	}
	if (settings->bytes || settings->blocks)
		settings->time = 0;
	if (settings->bidirectional && 2 * settings->parallel > IPERF_MAX_STREAMS)
		return bad_option("%s", "--bidir allows at most 64 streams each way");
	return -1;
}

int main(int argc, char **argv)
{
	struct options options;
	int result = parse_options(argc, argv, &options);
	if (result >= 0)
		return result;
	return options.server ? server_run(&options) : client_run(&options);
}
