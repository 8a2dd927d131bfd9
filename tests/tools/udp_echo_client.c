/*
 * udp_echo_client: sends UDP datagrams to an echo server and checks that each comes back whole.
 *
 *   udp_echo_client ADDRESS PORT [--sizes A,B,C | --range FROM:TO:STEP] [--count N]
 *                   [--timeout-ms T] [--first-timeout-ms T] [--allow-loss] [--quit]
 *                   [--rate-test SECONDS] [--verbose]
 *
 * One datagram is in flight at a time: send, then poll() for its echo until the timeout. Payloads
 * are a pattern that depends on the size and the sequence number, so every byte is checked and a
 * late echo of an earlier datagram (after a timeout, or a duplicate) is recognised as such and
 * not taken for the current one. Without --count, each size is sent once; with --count N, N
 * datagrams are sent, cycling through the sizes (0 with --quit: only quit). Sizes are 1 to
 * 65,507 bytes.
 *
 * Prints "sent N received M corrupt K lost L" (then "late X" if echoes of earlier datagrams came
 * back) and exits 0 only if every datagram came back intact, or, with --allow-loss, if none came
 * back corrupt. --rate-test S sends request/response for S seconds with the first size (default
 * 64) and prints "transactions_per_second X". --quit sends "!quit" at the end and waits for
 * "!bye" (retrying up to 10 times). Exit status: 0 success, 1 a check failed, 2 bad usage or a
 * socket error.
 *
 * --first-timeout-ms T waits up to T (instead of --timeout-ms) until the first echo is back: long
 * enough for the server's ARP retries, so that a run under injected loss sends the same frames in
 * the same order every time, whatever the timing (the loss tests compare two runs of one seed).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_PAYLOAD 65507
#define MAX_SIZES 70000
#define LATE_WINDOW 256 /* how many earlier datagrams a stray echo is compared against */

static size_t sizes[MAX_SIZES];
static size_t size_count;
static uint8_t send_buffer[MAX_PAYLOAD];
static uint8_t receive_buffer[MAX_PAYLOAD + 1];
static uint8_t expected_buffer[MAX_PAYLOAD];
static bool verbose;

static void usage(void)
{
	fprintf(stderr,
		"usage: udp_echo_client ADDRESS PORT [--sizes A,B,C | --range FROM:TO:STEP]\n"
		"                       [--count N] [--timeout-ms T] [--first-timeout-ms T]\n"
		"                       [--allow-loss] [--quit]\n"
		"                       [--rate-test SECONDS] [--verbose]\n"
		"Sends datagrams one at a time to a UDP echo server, checks every byte of each "
		"echo,\n"
		"prints 'sent N received M corrupt K lost L' and exits 0 if all came back intact\n"
		"(with --allow-loss: if none came back corrupt). Sizes are 1..65507 bytes.\n");
}

static uint64_t now_ns(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

/* The payload of datagram `sequence` of `size` bytes: xorshift64* seeded by both. */
static void make_payload(uint8_t *buffer, size_t size, uint64_t sequence)
{
	uint64_t state =
		(sequence + 1) * 0x9e3779b97f4a7c15u ^ (uint64_t)size * 0xbf58476d1ce4e5b9u;
	if (state == 0)
		state = 1;
	for (size_t i = 0; i < size; i += 8) {
		state ^= state >> 12;
		state ^= state << 25;
		state ^= state >> 27;
		uint64_t word = state * 0x2545f4914f6cdd1du;
		for (size_t j = 0; j < 8 && i + j < size; j++)
			buffer[i + j] = (uint8_t)(word >> (8 * j));
	}
	/* Never "!quit" by accident: the echo server's control messages start with '!'. */
	if (buffer[0] == '!')
		buffer[0] = '?';
}

static size_t size_of(uint64_t sequence)
{
	return sizes[sequence % size_count];
}

static bool parse_number(const char *text, unsigned long long minimum, unsigned long long maximum,
			 unsigned long long *value)
{
	char *end;
	errno = 0;
	unsigned long long parsed = strtoull(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || parsed < minimum ||
	    parsed > maximum)
		return false;
	*value = parsed;
	return true;
}

static bool parse_sizes(char *list)
{
	size_count = 0;
	for (char *item = strtok(list, ","); item != NULL; item = strtok(NULL, ",")) {
		unsigned long long size;
		if (!parse_number(item, 1, MAX_PAYLOAD, &size) || size_count == MAX_SIZES)
			return false;
		sizes[size_count++] = (size_t)size;
	}
	return size_count > 0;
}

static bool parse_range(const char *text)
{
	unsigned long from, to, step;
	char extra;
	if (sscanf(text, "%lu:%lu:%lu%c", &from, &to, &step, &extra) != 3 || from < 1 ||
	    to > MAX_PAYLOAD || from > to || step < 1)
		return false;
	size_count = 0;
	for (unsigned long size = from; size <= to; size += step)
		sizes[size_count++] = size;
	return true;
}

/* Waits up to `timeout_ns` for a datagram; returns its length, -1 on timeout, -2 on error. */
static long receive_with_deadline(int sock, uint64_t deadline)
{
	for (;;) {
		uint64_t now = now_ns();
		if (now >= deadline)
			return -1;
		uint64_t left_ms = (deadline - now + 999999) / 1000000;
		struct pollfd pfd = { .fd = sock, .events = POLLIN };
		int ready = poll(&pfd, 1, (int)(left_ms > 60000 ? 60000 : left_ms));
		if (ready < 0) {
			if (errno == EINTR)
				continue;
			perror("udp_echo_client: poll");
			return -2;
		}
		if (ready == 0)
			continue;
		ssize_t got = recv(sock, receive_buffer, sizeof receive_buffer, MSG_DONTWAIT);
		if (got >= 0)
			return got;
		/* ICMP errors (port unreachable before the server listens) surface here. */
		if (errno == ECONNREFUSED || errno == EHOSTUNREACH || errno == ENETUNREACH ||
		    errno == EAGAIN || errno == EINTR)
			continue;
		perror("udp_echo_client: recv");
		return -2;
	}
}

static bool matches(size_t length, uint64_t sequence)
{
	if (length != size_of(sequence))
		return false;
	make_payload(expected_buffer, length, sequence);
	return memcmp(expected_buffer, receive_buffer, length) == 0;
}

static bool is_late_echo(size_t length, uint64_t sequence)
{
	for (uint64_t back = 1; back <= LATE_WINDOW && back <= sequence; back++)
		if (matches(length, sequence - back))
			return true;
	return false;
}

static void report_corrupt(size_t length, uint64_t sequence)
{
	static int reports;
	if (reports++ >= 10)
		return;
	size_t want = size_of(sequence);
	if (length != want) {
		fprintf(stderr, "udp_echo_client: datagram %llu: sent %zu bytes, got back %zu\n",
			(unsigned long long)sequence, want, length);
		return;
	}
	make_payload(expected_buffer, want, sequence);
	size_t first = 0;
	while (first < want && expected_buffer[first] == receive_buffer[first])
		first++;
	size_t wrong = 0;
	for (size_t i = 0; i < want; i++)
		wrong += expected_buffer[i] != receive_buffer[i];
	fprintf(stderr,
		"udp_echo_client: datagram %llu of %zu bytes: %zu bytes differ, the first at "
		"offset "
		"%zu (sent 0x%02x, got 0x%02x)\n",
		(unsigned long long)sequence, want, wrong, first, expected_buffer[first],
		receive_buffer[first]);
}

enum outcome { INTACT, CORRUPT, LOST, FAILED };

/* Sends datagram `sequence` and waits for its echo. *late counts stray earlier echoes. */
static enum outcome transact(int sock, uint64_t sequence, uint64_t timeout_ns,
			     unsigned long long *late)
{
	size_t size = size_of(sequence);
	make_payload(send_buffer, size, sequence);
	for (;;) {
		ssize_t sent = send(sock, send_buffer, size, 0);
		if (sent == (ssize_t)size)
			break;
		/* A pending ICMP error from an earlier datagram is reported by the next call. */
		if (sent < 0 && (errno == ECONNREFUSED || errno == EINTR))
			continue;
		if (sent < 0 && (errno == EHOSTUNREACH || errno == ENETUNREACH || errno == ENOBUFS))
			return LOST;
		perror("udp_echo_client: send");
		return FAILED;
	}
	uint64_t deadline = now_ns() + timeout_ns;
	for (;;) {
		long got = receive_with_deadline(sock, deadline);
		if (got == -2)
			return FAILED;
		if (got == -1) {
			if (verbose)
				fprintf(stderr, "udp_echo_client: datagram %llu (%zu bytes) lost\n",
					(unsigned long long)sequence, size);
			return LOST;
		}
		if (matches((size_t)got, sequence))
			return INTACT;
		if (is_late_echo((size_t)got, sequence)) {
			++*late;
			continue;
		}
		report_corrupt((size_t)got, sequence);
		return CORRUPT;
	}
}

static bool quit(int sock, uint64_t timeout_ns)
{
	for (int attempt = 0; attempt < 10; attempt++) {
		if (send(sock, "!quit", 5, 0) != 5 && errno != ECONNREFUSED) {
			perror("udp_echo_client: send !quit");
			return false;
		}
		uint64_t deadline = now_ns() + timeout_ns;
		for (;;) {
			long got = receive_with_deadline(sock, deadline);
			if (got == -2)
				return false;
			if (got == -1)
				break;
			if (got == 4 && memcmp(receive_buffer, "!bye", 4) == 0) {
				printf("bye\n");
				return true;
			}
		}
	}
	fprintf(stderr, "udp_echo_client: no !bye after 10 times !quit\n");
	return false;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage();
		return 0;
	}
	if (argc < 3) {
		usage();
		return 2;
	}
	const char *address = argv[1];
	unsigned long long port, count = 0, timeout_ms = 1000, rate_seconds = 0,
				 first_timeout_ms = 0;
	bool allow_loss = false, send_quit = false, have_count = false;
	if (!parse_number(argv[2], 1, 65535, &port)) {
		fprintf(stderr, "udp_echo_client: '%s' is not a port\n", argv[2]);
		return 2;
	}
	sizes[0] = 64;
	size_count = 0;
	for (int i = 3; i < argc; i++) {
		const char *option = argv[i];
		const char *value = i + 1 < argc ? argv[i + 1] : NULL;
		bool ok = true;
		if (strcmp(option, "--allow-loss") == 0) {
			allow_loss = true;
			continue;
		} else if (strcmp(option, "--quit") == 0) {
			send_quit = true;
			continue;
		} else if (strcmp(option, "--verbose") == 0) {
			verbose = true;
			continue;
		}
		if (value == NULL) {
			fprintf(stderr, "udp_echo_client: option '%s' needs a value\n", option);
			return 2;
		}
		i++;
		if (strcmp(option, "--sizes") == 0) {
			char copy[1 << 16];
			snprintf(copy, sizeof copy, "%s", value);
			ok = parse_sizes(copy);
		} else if (strcmp(option, "--range") == 0) {
			ok = parse_range(value);
		} else if (strcmp(option, "--count") == 0) {
			ok = parse_number(value, 0, 100000000, &count);
			have_count = true;
		} else if (strcmp(option, "--timeout-ms") == 0) {
			ok = parse_number(value, 1, 600000, &timeout_ms);
		} else if (strcmp(option, "--first-timeout-ms") == 0) {
			ok = parse_number(value, 1, 600000, &first_timeout_ms);
		} else if (strcmp(option, "--rate-test") == 0) {
			ok = parse_number(value, 1, 3600, &rate_seconds);
		} else {
			fprintf(stderr, "udp_echo_client: unknown option '%s'\n", option);
			usage();
			return 2;
		}
		if (!ok) {
			fprintf(stderr, "udp_echo_client: bad value '%s' for %s\n", value, option);
			return 2;
		}
	}
	if (size_count == 0) {
		sizes[0] = 64;
		size_count = 1;
	}
	if (!have_count)
		count = size_count;

	struct sockaddr_in server = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	if (inet_pton(AF_INET, address, &server.sin_addr) != 1) {
		fprintf(stderr, "udp_echo_client: '%s' is not an IPv4 address\n", address);
		return 2;
	}
	int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0) {
		perror("udp_echo_client: socket");
		return 2;
	}
	int buffer_size = 4 << 20;
	setsockopt(sock, SOL_SOCKET, SO_RCVBUF, &buffer_size, sizeof buffer_size);
	setsockopt(sock, SOL_SOCKET, SO_SNDBUF, &buffer_size, sizeof buffer_size);
	/* Let the kernel fragment large datagrams instead of refusing them with EMSGSIZE. */
	int discovery = IP_PMTUDISC_DONT;
	setsockopt(sock, IPPROTO_IP, IP_MTU_DISCOVER, &discovery, sizeof discovery);
	if (connect(sock, (struct sockaddr *)&server, sizeof server) != 0) {
		perror("udp_echo_client: connect");
		return 2;
	}
	uint64_t timeout_ns = timeout_ms * 1000000u;
	uint64_t first_timeout_ns = first_timeout_ms > 0 ? first_timeout_ms * 1000000u : timeout_ns;

	unsigned long long sent = 0, received = 0, corrupt = 0, lost = 0, late = 0;
	if (rate_seconds > 0) {
		/* Request/response for a fixed time, always the same size. */
		size_count = 1;
		uint64_t start = now_ns(), end = start + rate_seconds * 1000000000u, now = start;
		while ((now = now_ns()) < end) {
			enum outcome outcome = transact(sock, sent, timeout_ns, &late);
			if (outcome == FAILED)
				return 2;
			sent++;
			received += outcome == INTACT;
			corrupt += outcome == CORRUPT;
			lost += outcome == LOST;
		}
		double seconds = (double)(now - start) / 1e9;
		printf("transactions_per_second %.0f\n", (double)received / seconds);
		printf("mean_round_trip_us %.1f\n",
		       received > 0 ? seconds * 1e6 / (double)sent : 0.0);
	} else {
		for (uint64_t sequence = 0; sequence < count; sequence++) {
			enum outcome outcome =
				transact(sock, sequence,
					 received > 0 ? timeout_ns : first_timeout_ns, &late);
			if (outcome == FAILED)
				return 2;
			sent++;
			received += outcome == INTACT;
			corrupt += outcome == CORRUPT;
			lost += outcome == LOST;
		}
	}
	printf("sent %llu received %llu corrupt %llu lost %llu\n", sent, received, corrupt, lost);
	if (late > 0)
		printf("late %llu\n", late);
	bool ok = corrupt == 0 && (allow_loss || lost == 0);
	if (send_quit && !quit(sock, timeout_ns) && !allow_loss)
		ok = false;
	fflush(stdout);
	close(sock);
	return ok ? 0 : 1;
}
