/*
 * netcheck: a client that tests another machine's network, guest or host: it pings an address,
 * or sends UDP datagrams of chosen sizes to an echo server (apps/udp-echo) and checks every byte
 * that comes back.
 *
 *	ringvisor run --net tap,ifname=rv1,ip=198.18.0.3/24 build/guests/netcheck.elf -- \
 *		ping ADDRESS [COUNT] [SIZE] [--counters]
 *	ringvisor run --net ... build/guests/netcheck.elf -- \
 *		udp ADDRESS PORT [SIZES...] [--quit] [--counters]
 *
 * ping: COUNT (5) echo requests of SIZE (56, at most 65507: fragments and reassembly both ways)
 * data bytes, sequence numbers 1..COUNT, one every 200 ms on a fixed schedule whether or not the
 * previous reply came (as `ping -i 0.2`: several requests may be out at once, and a slow reply
 * does not slow the test down), each with 2 s to be answered. The data is a pattern that depends
 * on the byte's position and the sequence number, so a reply with the right length but data
 * moved, mixed up or from another request is caught. One line per reply, as Linux's ping (`64
 * bytes from 198.18.0.2: icmp_seq=1 time=0.245 ms`; a duplicate is marked `(DUP!)` and not
 * counted), a line per request that timed out, then the summary (`5 packets transmitted, 5
 * received, 0% packet loss` and the round trips). Exit 0 if every request got its reply with
 * the right data in time, else 1.
 *
 * udp: one datagram of each size (1 64 1472 1473 8000 65507: the largest unfragmented at MTU
 * 1500, the smallest fragmented, and the largest there is), one size at a time, filled with a
 * pattern that depends on the byte's position and the size. Without an echo within 1 s the same
 * datagram goes again, 5 times at most. An echo must come from ADDRESS:PORT, have the size and
 * every byte of the pattern; a late echo of an earlier size is recognised and skipped. One line
 * per size, then `udp: N/M sizes echoed intact`. With --quit it then sends `!quit`, which makes
 * udp-echo answer `!bye` and exit (retried like a size; the answer, or its absence, is printed
 * but does not change the exit code: the server may have quit with its `!bye` lost). Exit 0 if
 * every size came back intact, else 1.
 *
 * --counters prints the network's counters before exiting. The first request to a neighbour
 * waits in the stack's ARP queue until its address resolves (it is not lost; its round trip
 * includes the resolution). Exits 1 without a usable NIC, 2 on bad arguments (with the usage).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ringvisor/event_loop.h>
#include <ringvisor/kernel.h>
#include <ringvisor/network.h>

#define PING_INTERVAL_NS 200000000ull
#define PING_TIMEOUT_NS 2000000000ull
#define PING_DEFAULT_COUNT 5
#define PING_DEFAULT_SIZE 56
/* Sequence numbers 1..COUNT then fit in 16 bits and never wrap. */
#define PING_MAX_COUNT 65535
/* Any identifier works: each guest has a stack of its own, and so its own pings. */
#define PING_IDENTIFIER 0x5256

#define UDP_TIMEOUT_NS 1000000000ull
#define UDP_RETRIES 5
#define UDP_MAX_SIZES 64

static const size_t default_udp_sizes[] = { 1, 64, 1472, 1473, 8000, NET_UDP_MAX_PAYLOAD };

enum request_status { REQUEST_WAITING = 1, REQUEST_REPLIED, REQUEST_TIMED_OUT };

static struct net_stack *stack;
static uint32_t peer_address;
static bool print_counters, send_quit;
static uint8_t *send_buffer, *receive_buffer;
static bool replies_ready; /* set by the stack's ready callback, cleared when the queue is read */

static struct {
	unsigned long count;
	size_t size;
	struct net_ping *ping;
	uint64_t *sent_ns;
	uint8_t *status;      /* enum request_status, by sequence number - 1 */
	unsigned long sent;   /* requests handed to the stack: sequence numbers 1..sent */
	unsigned long oldest; /* index of the oldest request that may still be waiting */
	unsigned long received, wrong;
	bool send_due; /* the interval has passed: send when transmit buffers allow */
	uint64_t round_trip_min, round_trip_max, round_trip_sum;
	struct timer interval_timer, timeout_timer;
} ping;

enum udp_phase { UDP_SIZES, UDP_QUIT, UDP_DONE };

static struct {
	uint16_t port;
	size_t sizes[UDP_MAX_SIZES];
	unsigned count;
	unsigned index; /* the size being checked */
	unsigned intact;
	unsigned attempts; /* sends of the current datagram */
	enum udp_phase phase;
	bool send_due;
	uint64_t sent_ns;
	struct net_udp_socket *socket;
	struct timer timeout_timer;
} udp;

/* Depends on the position (within 256 bytes and across blocks of 256) and on a seed. */
static uint8_t pattern_byte(size_t position, uint32_t seed)
{
	return (uint8_t)(position * 7 + (position >> 8) + seed * 31);
}

static void fill_pattern(uint8_t *buffer, size_t length, uint32_t seed)
{
	for (size_t i = 0; i < length; i++)
		buffer[i] = pattern_byte(i, seed);
}

/* The position of the first byte that is not the pattern's, or length if all are. */
static size_t check_pattern(const uint8_t *buffer, size_t length, uint32_t seed)
{
	for (size_t i = 0; i < length; i++)
		if (buffer[i] != pattern_byte(i, seed))
			return i;
	return length;
}

static const char *address_text(uint32_t address)
{
	static char text[NET_IPV4_ADDRESS_TEXT_BYTES]; /* one address per printf, always */
	return net_ipv4_address_format(address, text);
}

static double milliseconds(uint64_t nanoseconds)
{
	return (double)nanoseconds / 1e6;
}

/* ---- ping ------------------------------------------------------------------------------- */

/* Skip requests that are settled; stop the loop once all were sent and all are settled. */
static void ping_advance_oldest(void)
{
	while (ping.oldest < ping.sent && ping.status[ping.oldest] != REQUEST_WAITING)
		ping.oldest++;
	if (ping.oldest < ping.sent)
		timer_arm(&ping.timeout_timer, ping.sent_ns[ping.oldest] + PING_TIMEOUT_NS);
	else
		timer_cancel(&ping.timeout_timer);
	if (ping.sent == ping.count && ping.oldest == ping.sent)
		event_loop_stop();
}

static void ping_send_next(void)
{
	unsigned long index = ping.sent;
	uint16_t sequence = (uint16_t)(index + 1);

	fill_pattern(send_buffer, ping.size, sequence);
	ping.sent_ns[index] = clock_now_ns();
	ping.status[index] = REQUEST_WAITING;
	ping.sent++;
	ping.send_due = false;
	int result = net_ping_send(ping.ping, peer_address, sequence, send_buffer, ping.size);
	if (result < 0) {
		printf("netcheck: cannot send icmp_seq=%u: %s\n", sequence, net_error_name(result));
		ping.status[index] = REQUEST_TIMED_OUT; /* lost, as far as the summary goes */
	}
	if (ping.sent < ping.count)
		timer_arm(&ping.interval_timer, ping.sent_ns[index] + PING_INTERVAL_NS);
	ping_advance_oldest();
}

static void ping_reply_arrived(const struct net_ping_reply *reply, int length)
{
	unsigned long index = (unsigned long)reply->sequence - 1;
	size_t bytes = (size_t)length + 8; /* as Linux counts: ICMP header and data */

	if (reply->source != peer_address) {
		printf("netcheck: ignored a reply from %s, icmp_seq=%u\n",
		       address_text(reply->source), reply->sequence);
		return;
	}
	if (reply->sequence == 0 || index >= ping.sent) {
		printf("netcheck: ignored a reply with icmp_seq=%u, never sent\n", reply->sequence);
		return;
	}
	uint64_t round_trip = reply->received_ns - ping.sent_ns[index];
	if (ping.status[index] == REQUEST_REPLIED) {
		printf("%zu bytes from %s: icmp_seq=%u time=%.3f ms (DUP!)\n", bytes,
		       address_text(reply->source), reply->sequence, milliseconds(round_trip));
		return;
	}
	if (ping.status[index] == REQUEST_TIMED_OUT) {
		printf("netcheck: reply to icmp_seq=%u came after the timeout (%.3f ms), not "
		       "counted\n",
		       reply->sequence, milliseconds(round_trip));
		return;
	}
	ping.status[index] = REQUEST_REPLIED;
	ping.received++;
	if (ping.received == 1 || round_trip < ping.round_trip_min)
		ping.round_trip_min = round_trip;
	if (round_trip > ping.round_trip_max)
		ping.round_trip_max = round_trip;
	ping.round_trip_sum += round_trip;
	printf("%zu bytes from %s: icmp_seq=%u time=%.3f ms\n", bytes, address_text(reply->source),
	       reply->sequence, milliseconds(round_trip));

	if ((size_t)length != ping.size) {
		ping.wrong++;
		printf("netcheck: icmp_seq=%u wrong data: %d bytes, %zu sent\n", reply->sequence,
		       length, ping.size);
		return;
	}
	size_t position = check_pattern(receive_buffer, ping.size, reply->sequence);
	if (position < ping.size) {
		ping.wrong++;
		printf("netcheck: icmp_seq=%u wrong data: byte %zu is 0x%02x, sent 0x%02x\n",
		       reply->sequence, position, receive_buffer[position],
		       pattern_byte(position, reply->sequence));
	}
}

static void on_ping_interval(struct timer *timer, void *argument)
{
	(void)timer;
	(void)argument;
	ping.send_due = true; /* the poller sends it, once transmit buffers allow */
}

static void on_ping_timeout(struct timer *timer, void *argument)
{
	(void)timer;
	(void)argument;
	uint64_t now = clock_now_ns();
	for (unsigned long index = ping.oldest; index < ping.sent; index++) {
		if (ping.status[index] != REQUEST_WAITING)
			continue;
		if (ping.sent_ns[index] + PING_TIMEOUT_NS > now)
			break; /* sent in order: the later ones have time left too */
		ping.status[index] = REQUEST_TIMED_OUT;
		printf("netcheck: no reply to icmp_seq=%lu within %llu ms\n", index + 1,
		       PING_TIMEOUT_NS / 1000000);
	}
	ping_advance_oldest();
}

static void on_replies_ready(struct net_ping *ready_ping, void *context)
{
	(void)ready_ping;
	*(bool *)context = true; /* just mark it: the stack must not be called from here */
}

static bool ping_poll(void *argument)
{
	(void)argument;
	bool worked = false;
	if (replies_ready) {
		struct net_ping_reply reply;
		int length;
		replies_ready = false;
		while ((length = net_ping_receive(ping.ping, receive_buffer, NET_PING_MAX_DATA,
						  &reply)) >= 0) {
			ping_reply_arrived(&reply, length);
			worked = true;
		}
		ping_advance_oldest();
	}
	/* A large request is many fragments: send it only when the NIC has buffers for all. */
	if (ping.send_due && ping.sent < ping.count && network_transmit_ready(8 + ping.size)) {
		ping_send_next();
		worked = true;
	}
	return worked;
}

static int run_ping(void)
{
	ping.sent_ns = calloc(ping.count, sizeof(*ping.sent_ns));
	ping.status = calloc(ping.count, 1);
	ping.ping = net_ping_open(stack, PING_IDENTIFIER);
	if (!ping.sent_ns || !ping.status || !ping.ping) {
		printf("netcheck: out of memory\n");
		return 1;
	}
	net_ping_set_ready_callback(ping.ping, on_replies_ready, &replies_ready);
	timer_init(&ping.interval_timer, on_ping_interval, NULL);
	timer_init(&ping.timeout_timer, on_ping_timeout, NULL);
	printf("PING %s %zu(%zu) bytes of data.\n", address_text(peer_address), ping.size,
	       ping.size + 28);

	struct poller poller = { .poll = ping_poll };
	event_loop_add_poller(&poller);
	ping.send_due = true;
	event_loop_run();
	event_loop_remove_poller(&poller);

	unsigned long lost = ping.sent - ping.received;
	printf("--- %s ping statistics ---\n", address_text(peer_address));
	printf("%lu packets transmitted, %lu received, %lu%% packet loss\n", ping.sent,
	       ping.received, ping.sent ? lost * 100 / ping.sent : 0);
	if (ping.received)
		printf("rtt min/avg/max = %.3f/%.3f/%.3f ms\n", milliseconds(ping.round_trip_min),
		       milliseconds(ping.round_trip_sum / ping.received),
		       milliseconds(ping.round_trip_max));
	if (ping.wrong)
		printf("netcheck: %lu replies with wrong data\n", ping.wrong);
	net_ping_close(ping.ping);
	return ping.received == ping.count && ping.wrong == 0 ? 0 : 1;
}

/* ---- udp -------------------------------------------------------------------------------- */

static size_t udp_current_length(void)
{
	return udp.phase == UDP_QUIT ? 5 : udp.sizes[udp.index];
}

static void udp_next_datagram(void)
{
	timer_cancel(&udp.timeout_timer);
	udp.attempts = 0;
	if (udp.phase == UDP_SIZES && ++udp.index < udp.count) {
		udp.send_due = true;
		return;
	}
	if (udp.phase == UDP_SIZES && send_quit) {
		udp.phase = UDP_QUIT;
		udp.send_due = true;
		return;
	}
	udp.phase = UDP_DONE;
	event_loop_stop();
}

static void udp_send(void)
{
	size_t length = udp_current_length();

	if (udp.phase == UDP_QUIT)
		memcpy(send_buffer, "!quit", 5);
	else
		fill_pattern(send_buffer, length, (uint32_t)length);
	udp.send_due = false;
	udp.attempts++;
	udp.sent_ns = clock_now_ns();
	int result = net_udp_send_to(udp.socket, peer_address, udp.port, send_buffer, length);
	if (result < 0)
		printf("netcheck: cannot send %zu bytes: %s\n", length, net_error_name(result));
	timer_arm(&udp.timeout_timer, udp.sent_ns + UDP_TIMEOUT_NS);
}

static void on_udp_timeout(struct timer *timer, void *argument)
{
	(void)timer;
	(void)argument;
	if (udp.attempts <= UDP_RETRIES) {
		udp.send_due = true;
		return;
	}
	if (udp.phase == UDP_QUIT)
		printf("udp: no !bye from the echo server after %u tries\n", udp.attempts);
	else
		printf("udp: %zu bytes NOT echoed: no answer after %u tries, %llu ms each\n",
		       udp.sizes[udp.index], udp.attempts, UDP_TIMEOUT_NS / 1000000);
	udp_next_datagram();
}

/* An echo of a size already checked, arriving late (its first try was slow, not lost). */
static bool udp_late_echo(size_t length)
{
	for (unsigned index = 0; index < udp.index; index++)
		if (udp.sizes[index] == length &&
		    check_pattern(receive_buffer, length, (uint32_t)length) == length)
			return true;
	return false;
}

static void udp_echo_arrived(const struct net_udp_endpoint *from, int length)
{
	if (from->address != peer_address || from->port != udp.port) {
		printf("netcheck: ignored %d bytes from %s:%u\n", length,
		       address_text(from->address), from->port);
		return;
	}
	if (udp.phase == UDP_QUIT) {
		if (length == 4 && memcmp(receive_buffer, "!bye", 4) == 0) {
			printf("udp: the echo server said !bye\n");
			udp_next_datagram();
		}
		return; /* a late echo of a size */
	}
	if (udp.phase != UDP_SIZES)
		return;
	size_t expected = udp.sizes[udp.index];
	size_t received = (size_t)length;
	double round_trip = milliseconds(clock_now_ns() - udp.sent_ns);
	if (received != expected && udp_late_echo(received))
		return;
	if (received != expected) {
		printf("udp: %zu bytes echoed WRONG: %zu bytes came back\n", expected, received);
	} else {
		size_t position = check_pattern(receive_buffer, received, (uint32_t)received);
		if (position < received) {
			printf("udp: %zu bytes echoed WRONG: byte %zu is 0x%02x, sent 0x%02x\n",
			       expected, position, receive_buffer[position],
			       pattern_byte(position, (uint32_t)received));
		} else {
			udp.intact++;
			if (udp.attempts == 1)
				printf("udp: %zu bytes echoed intact in %.3f ms\n", expected,
				       round_trip);
			else
				printf("udp: %zu bytes echoed intact in %.3f ms, on try %u\n",
				       expected, round_trip, udp.attempts);
		}
	}
	udp_next_datagram();
}

static void on_datagrams_ready(struct net_udp_socket *socket, void *context)
{
	(void)socket;
	*(bool *)context = true; /* just mark it: the stack must not be called from here */
}

static bool udp_poll(void *argument)
{
	(void)argument;
	bool worked = false;
	if (replies_ready) {
		struct net_udp_endpoint from;
		int length;
		replies_ready = false;
		while (udp.phase != UDP_DONE &&
		       (length = net_udp_receive_from(udp.socket, receive_buffer,
						      NET_UDP_MAX_PAYLOAD, &from)) >= 0) {
			udp_echo_arrived(&from, length);
			worked = true;
		}
	}
	/* A large datagram is many fragments: send it only when the NIC has buffers for all. */
	if (udp.send_due && udp.phase != UDP_DONE &&
	    network_transmit_ready(8 + udp_current_length())) {
		udp_send();
		worked = true;
	}
	return worked;
}

static int run_udp(void)
{
	udp.socket = net_udp_open(stack);
	if (!udp.socket) {
		printf("netcheck: out of memory\n");
		return 1;
	}
	net_udp_set_ready_callback(udp.socket, on_datagrams_ready, &replies_ready);
	timer_init(&udp.timeout_timer, on_udp_timeout, NULL);
	printf("netcheck: udp to %s:%u, %u sizes\n", address_text(peer_address), udp.port,
	       udp.count);

	struct poller poller = { .poll = udp_poll };
	event_loop_add_poller(&poller);
	udp.phase = UDP_SIZES;
	udp.send_due = true;
	event_loop_run();
	event_loop_remove_poller(&poller);

	printf("udp: %u/%u sizes echoed intact\n", udp.intact, udp.count);
	net_udp_close(udp.socket);
	return udp.intact == udp.count ? 0 : 1;
}

/* ---- arguments -------------------------------------------------------------------------- */

static bool parse_number(const char *text, unsigned long maximum, unsigned long *value)
{
	char *end;
	if (text[0] < '0' || text[0] > '9')
		return false;
	*value = strtoul(text, &end, 10);
	return *end == '\0' && *value <= maximum;
}

static int usage(void)
{
	printf("usage: netcheck ping ADDRESS [COUNT] [SIZE] [--counters]\n"
	       "       netcheck udp ADDRESS PORT [SIZES...] [--quit] [--counters]\n"
	       "  ping: COUNT echo requests (5) of SIZE data bytes (56, at most 65507), one every\n"
	       "        200 ms, each with 2 s for its reply; exit 0 if all came back intact\n"
	       "  udp:  one datagram of each size (1 64 1472 1473 8000 65507; at most 65507) to a\n"
	       "        UDP echo server, checked byte for byte, sent again after 1 s without an\n"
	       "        echo (5 times at most); exit 0 if all came back intact\n"
	       "  --quit      udp: then send `!quit`, which stops apps/udp-echo\n"
	       "  --counters  print the network's counters before exiting\n");
	return 2;
}

/* Flags may stand anywhere after the mode; what is left are the positional arguments. */
static bool parse_arguments(int argc, char **argv, bool *is_ping)
{
	char *positional[2 + UDP_MAX_SIZES];
	int count = 0;
	unsigned long value;

	if (argc < 2)
		return false;
	if (strcmp(argv[1], "ping") == 0)
		*is_ping = true;
	else if (strcmp(argv[1], "udp") == 0)
		*is_ping = false;
	else
		return false;
	for (int index = 2; index < argc; index++) {
		if (strcmp(argv[index], "--counters") == 0)
			print_counters = true;
		else if (strcmp(argv[index], "--quit") == 0 && !*is_ping)
			send_quit = true;
		else if (argv[index][0] == '-' || count == 2 + UDP_MAX_SIZES)
			return false;
		else
			positional[count++] = argv[index];
	}
	if (count < 1 || !net_ipv4_address_parse(positional[0], &peer_address))
		return false;

	if (*is_ping) {
		ping.count = PING_DEFAULT_COUNT;
		ping.size = PING_DEFAULT_SIZE;
		if (count > 3)
			return false;
		if (count > 1) {
			if (!parse_number(positional[1], PING_MAX_COUNT, &value) || value == 0)
				return false;
			ping.count = value;
		}
		if (count > 2) {
			if (!parse_number(positional[2], NET_PING_MAX_DATA, &value))
				return false;
			ping.size = value;
		}
		return true;
	}

	if (count < 2 || !parse_number(positional[1], 65535, &value) || value == 0)
		return false;
	udp.port = (uint16_t)value;
	if (count == 2) {
		udp.count = sizeof(default_udp_sizes) / sizeof(default_udp_sizes[0]);
		memcpy(udp.sizes, default_udp_sizes, sizeof(default_udp_sizes));
		return true;
	}
	for (int index = 2; index < count; index++) {
		if (!parse_number(positional[index], NET_UDP_MAX_PAYLOAD, &value))
			return false;
		udp.sizes[udp.count++] = value;
	}
	return true;
}

int main(int argc, char **argv)
{
	bool is_ping = false;
	if (!parse_arguments(argc, argv, &is_ping))
		return usage();

	stack = network_start();
	if (!stack) {
		printf("netcheck: no usable NIC (see above)\n");
		return 1;
	}
	/* One pair of buffers serves both modes. */
	_Static_assert(NET_PING_MAX_DATA == NET_UDP_MAX_PAYLOAD, "one buffer size for both");
	send_buffer = malloc(NET_UDP_MAX_PAYLOAD);
	receive_buffer = malloc(NET_UDP_MAX_PAYLOAD);
	if (!send_buffer || !receive_buffer) {
		printf("netcheck: out of memory\n");
		return 1;
	}

	int status = is_ping ? run_ping() : run_udp();
	if (print_counters)
		network_print_counters();
	free(receive_buffer);
	free(send_buffer);
	return status;
}
