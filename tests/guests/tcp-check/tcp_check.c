/*
 * tcp-check: moves a checked byte stream over TCP, for integrity and lifecycle tests.
 *
 *	ringvisor run --net tap,ifname=rv0,ip=198.18.0.2/24 build/tests/guests/tcp-check.elf -- \
 *		listen PORT | connect ADDRESS PORT
 *		send BYTES | receive BYTES
 *		[cycles N] [concurrent N] [timeout SECONDS] [settle SECONDS]
 *
 * Each connection carries BYTES bytes of the pattern in tcp_check_pattern.h (the host's
 * tests/tools/tcp_check_host.c uses the same one); the receiver checks every byte.
 * cycles N and concurrent K make N * K connections, at most K at a time (as a client it opens
 * them; as a server it accepts them); the defaults are 1 and 1.
 *
 * Each connection ends the same way, so that the guest is never the side that closes first and
 * keeps no TIME_WAIT (its memory would outlive the test):
 *   sender:   sends BYTES; once the peer has acknowledged all of them and sent its FIN, closes.
 *   receiver: receives and checks BYTES; the stream must then end (the peer's FIN); closes.
 * (The host twin, as receiver, shuts down its side once it has everything and sees extra bytes
 * as a failure; as sender, it shuts down after BYTES.) A sender whose peer shuts down early
 * (half-close) still sends everything.
 *
 * Prints `tcp-check: listening on A.B.C.D:PORT` or `tcp-check: connecting to A.B.C.D:PORT`,
 * then `tcp-check: OK BYTES bytes in SECONDS s (MBIT Mbit/s)` (BYTES summed over connections,
 * from the first connection to the last one's end) or `tcp-check: FAILED at byte N: why`. Then,
 * after closing everything and waiting up to `settle` seconds (default 10) for the stack to
 * finish the connections, the heap: `tcp-check: heap live_allocations before B after A` and the
 * same for used_bytes, where "before" is just after the network started (its NICs' buffers are
 * allocated then and stay; before that too, on its own line), then the TCP statistics summed
 * over the connections and the network counters. Exits 0 on OK, 1 on FAILED, 2 on bad usage.
 * `timeout` (default 0: none) fails a run that has not finished after that many seconds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ringvisor/event_loop.h>
#include <ringvisor/kernel.h>
#include <ringvisor/network.h>

#include "tcp_check_pattern.h"

#define CHUNK_BYTES 65536
#define SETTLE_CHECK_NS 2000000ull
#define MAX_CONCURRENT 1000

struct connection {
	struct net_tcp_socket *socket; /* NULL: the slot is free */
	unsigned long index;	       /* in the order connections started */
	uint64_t done;		       /* bytes handed to the stack, or received and checked */
	bool eof;		       /* the peer's FIN came */
};

static bool listening, sending;
static uint32_t peer_address;
static uint16_t port;
static uint64_t bytes_per_connection;
static unsigned long cycles = 1, concurrent = 1;
static uint64_t timeout_ns, settle_ns = 10000000000ull;

static struct net_stack *stack;
static struct net_tcp_socket *listener;
static struct connection *connections;
static uint8_t *chunk;
static unsigned long total, started, completed;
static uint64_t start_ns, end_ns;
static bool finishing, failed;
static struct timer timeout_timer, settle_timer;
static uint64_t settle_until;
static struct heap_statistics heap_before_network, heap_baseline;
static struct net_tcp_statistics totals;

static void add_statistics(struct net_tcp_socket *socket)
{
	struct net_tcp_statistics statistics;
	net_tcp_get_statistics(socket, &statistics);
	totals.segments_sent += statistics.segments_sent;
	totals.segments_received += statistics.segments_received;
	totals.retransmits += statistics.retransmits;
	totals.fast_retransmits += statistics.fast_retransmits;
	totals.timeouts += statistics.timeouts;
}

static void start_settling(void)
{
	finishing = true;
	timer_cancel(&timeout_timer);
	if (listener) {
		net_tcp_close(listener);
		listener = NULL;
	}
	network_flush();
	settle_until = clock_now_ns() + settle_ns;
	timer_arm(&settle_timer, clock_now_ns());
}

/* Ends the run: prints why, resets every connection. */
static void fail(const struct connection *connection, uint64_t at, const char *why, int error)
{
	if (finishing)
		return;
	failed = true;
	printf("tcp-check: FAILED at byte %llu: %s", (unsigned long long)at, why);
	if (error)
		printf(" (%s)", net_error_name(error));
	if (connection)
		printf(" (connection %lu of %lu, state %s)", connection->index + 1, total,
		       net_tcp_state_name(net_tcp_state(connection->socket)));
	printf("\n");
	for (unsigned long slot = 0; slot < concurrent; slot++) {
		if (connections[slot].socket) {
			add_statistics(connections[slot].socket);
			net_tcp_abort(connections[slot].socket);
			connections[slot].socket = NULL;
		}
	}
	start_settling();
}

static void print_heap(const char *what, const struct heap_statistics *statistics)
{
	printf("tcp-check: heap %s: used_bytes %llu live_allocations %llu\n", what,
	       (unsigned long long)statistics->used_bytes,
	       (unsigned long long)statistics->live_allocations);
}

static void finish_connection(struct connection *connection)
{
	add_statistics(connection->socket);
	net_tcp_close(connection->socket);
	connection->socket = NULL;
	completed++;
	if (completed == total) {
		end_ns = clock_now_ns();
		uint64_t elapsed = end_ns - start_ns, sum = bytes_per_connection * total;
		if (elapsed == 0)
			elapsed = 1;
		/* bits per microsecond = Mbit/s; in tenths. */
		uint64_t tenths = sum * 80000 / elapsed;
		printf("tcp-check: OK %llu bytes in %llu.%03llu s (%llu.%llu Mbit/s)\n",
		       (unsigned long long)sum, (unsigned long long)(elapsed / 1000000000),
		       (unsigned long long)(elapsed / 1000000 % 1000),
		       (unsigned long long)(tenths / 10), (unsigned long long)(tenths % 10));
		start_settling();
	}
}

static void begin(struct connection *connection, struct net_tcp_socket *socket)
{
	connection->socket = socket;
	connection->index = started++;
	connection->done = 0;
	connection->eof = false;
	if (start_ns == 0)
		start_ns = clock_now_ns();
}

/* Moves what can be moved on one connection now; true if anything happened. */
static bool service(struct connection *connection)
{
	struct net_tcp_socket *socket = connection->socket;
	bool progress = false;

	while (!connection->eof) {
		int length = net_tcp_receive(socket, chunk, CHUNK_BYTES);
		if (length == NET_ERROR_WOULD_BLOCK)
			break;
		if (length < 0) {
			fail(connection, connection->done, "the connection failed", length);
			return true;
		}
		progress = true;
		if (length == 0) {
			connection->eof = true;
			break;
		}
		if (sending) {
			fail(connection, 0, "the peer sent data to the sender", 0);
			return true;
		}
		uint64_t room = bytes_per_connection - connection->done;
		size_t expected = (uint64_t)length < room ? (size_t)length : (size_t)room;
		size_t good = tcp_check_verify(chunk, connection->done, expected);
		if (good < expected) {
			fail(connection, connection->done + good, "wrong byte", 0);
			return true;
		}
		if ((uint64_t)length > room) {
			fail(connection, bytes_per_connection, "more bytes than were sent", 0);
			return true;
		}
		connection->done += (uint64_t)length;
	}

	if (!sending) {
		if (connection->eof) {
			if (connection->done < bytes_per_connection) {
				fail(connection, connection->done, "the stream ended early", 0);
				return true;
			}
			finish_connection(connection);
			return true;
		}
		return progress;
	}

	while (connection->done < bytes_per_connection) {
		size_t space = net_tcp_send_space(socket);
		if (space == 0) {
			int error = net_tcp_error(socket);
			if (error) {
				fail(connection, connection->done, "the connection failed", error);
				return true;
			}
			break; /* handshake, or the buffer is full */
		}
		uint64_t left = bytes_per_connection - connection->done;
		size_t length = space < CHUNK_BYTES ? space : CHUNK_BYTES;
		if (left < length)
			length = (size_t)left;
		tcp_check_fill(chunk, connection->done, length);
		int sent = net_tcp_send(socket, chunk, length);
		if (sent == NET_ERROR_WOULD_BLOCK)
			break;
		if (sent <= 0) {
			fail(connection, connection->done, "send failed", sent);
			return true;
		}
		connection->done += (uint64_t)sent;
		progress = true;
	}
	if (connection->done == bytes_per_connection && connection->eof) {
		struct net_tcp_statistics statistics;
		net_tcp_get_statistics(socket, &statistics);
		if (statistics.bytes_sent >= bytes_per_connection) {
			finish_connection(connection);
			return true;
		}
		int error = net_tcp_error(socket);
		if (error) {
			fail(connection, statistics.bytes_sent, "the connection failed", error);
			return true;
		}
	}
	return progress;
}

static bool check_poll(void *argument)
{
	(void)argument;
	bool progress = false;
	if (finishing)
		return false;
	for (unsigned long slot = 0; slot < concurrent && started < total; slot++) {
		if (connections[slot].socket)
			continue;
		if (listening) {
			struct net_tcp_socket *socket = net_tcp_accept(listener, NULL);
			if (!socket)
				break;
			begin(&connections[slot], socket);
		} else {
			struct net_tcp_socket *socket = net_tcp_open(stack);
			if (!socket) {
				fail(NULL, 0, "no socket (out of memory or connections)", 0);
				return true;
			}
			int result = net_tcp_connect(socket, peer_address, port);
			if (result < 0) {
				net_tcp_close(socket);
				fail(NULL, 0, "connect failed", result);
				return true;
			}
			begin(&connections[slot], socket);
		}
		progress = true;
	}
	for (unsigned long slot = 0; slot < concurrent && !finishing; slot++)
		if (connections[slot].socket)
			progress |= service(&connections[slot]);
	return progress;
}

static void on_timeout(struct timer *timer, void *argument)
{
	(void)timer;
	(void)argument;
	for (unsigned long slot = 0; slot < concurrent; slot++) {
		if (connections[slot].socket) {
			fail(&connections[slot], connections[slot].done, "timed out", 0);
			return;
		}
	}
	fail(NULL, 0, "timed out waiting for a connection", 0);
}

static void on_settle(struct timer *timer, void *argument)
{
	(void)argument;
	struct heap_statistics now;
	memory_get_statistics(&now);
	bool settled = now.live_allocations <= heap_baseline.live_allocations &&
		       now.used_bytes <= heap_baseline.used_bytes && network_idle();
	if (settled || clock_now_ns() >= settle_until) {
		event_loop_stop();
		return;
	}
	timer_arm(timer, clock_now_ns() + SETTLE_CHECK_NS);
}

static bool parse_number(const char *text, unsigned long long maximum, unsigned long long *value)
{
	char *end;
	if (text[0] < '0' || text[0] > '9')
		return false;
	*value = strtoull(text, &end, 10);
	return *end == '\0' && *value <= maximum;
}

static void print_address(uint32_t address)
{
	char text[NET_IPV4_ADDRESS_TEXT_BYTES];
	printf("%s", net_ipv4_address_format(address, text));
}

static int usage(void)
{
	printf("usage: tcp-check listen PORT | connect ADDRESS PORT\n"
	       "                 send BYTES | receive BYTES\n"
	       "                 [cycles N] [concurrent N] [timeout SECONDS] [settle SECONDS]\n");
	return 2;
}

static bool parse_arguments(int argc, char **argv)
{
	unsigned long long value;
	int next;
	if (argc >= 3 && strcmp(argv[1], "listen") == 0) {
		listening = true;
		next = 2;
	} else if (argc >= 4 && strcmp(argv[1], "connect") == 0) {
		if (!net_ipv4_address_parse(argv[2], &peer_address))
			return false;
		next = 3;
	} else {
		return false;
	}
	if (!parse_number(argv[next++], 65535, &value) || value == 0)
		return false;
	port = (uint16_t)value;
	if (next + 1 >= argc)
		return false;
	if (strcmp(argv[next], "send") == 0)
		sending = true;
	else if (strcmp(argv[next], "receive") != 0)
		return false;
	if (!parse_number(argv[next + 1], 1ull << 50, &value))
		return false;
	bytes_per_connection = value;
	for (next += 2; next < argc; next += 2) {
		if (next + 1 >= argc || !parse_number(argv[next + 1], 1ull << 32, &value))
			return false;
		if (strcmp(argv[next], "cycles") == 0 && value >= 1)
			cycles = (unsigned long)value;
		else if (strcmp(argv[next], "concurrent") == 0 && value >= 1 &&
			 value <= MAX_CONCURRENT)
			concurrent = (unsigned long)value;
		else if (strcmp(argv[next], "timeout") == 0)
			timeout_ns = value * 1000000000ull;
		else if (strcmp(argv[next], "settle") == 0)
			settle_ns = value * 1000000000ull;
		else
			return false;
	}
	return true;
}

int main(int argc, char **argv)
{
	if (!parse_arguments(argc, argv))
		return usage();
	total = cycles * concurrent;

	memory_get_statistics(&heap_before_network);
	stack = network_start();
	if (!stack) {
		printf("tcp-check: no usable NIC (see above)\n");
		return 1;
	}
	chunk = malloc(CHUNK_BYTES);
	connections = calloc(concurrent, sizeof *connections);
	if (!chunk || !connections) {
		printf("tcp-check: out of memory\n");
		return 1;
	}
	/* The event loop allocates its timer array at the first timer_arm and keeps it: have that
	 * happen before the baseline. */
	timer_init(&timeout_timer, on_timeout, NULL);
	timer_init(&settle_timer, on_settle, NULL);
	timer_arm(&settle_timer, UINT64_MAX);
	timer_cancel(&settle_timer);
	memory_get_statistics(&heap_baseline);

	if (listening) {
		listener = net_tcp_open(stack);
		int result = listener ? net_tcp_bind(listener, 0, port) : NET_ERROR_NO_MEMORY;
		if (result == 0)
			result = net_tcp_listen(listener, concurrent * 2 + 16);
		if (result < 0) {
			printf("tcp-check: cannot listen on port %u (%s)\n", port,
			       net_error_name(result));
			return 1;
		}
		printf("tcp-check: listening on ");
		print_address(network_interface_address(0));
	} else {
		printf("tcp-check: connecting to ");
		print_address(peer_address);
	}
	printf(":%u, %s %llu bytes x %lu connections, %lu at a time\n", port,
	       sending ? "sending" : "receiving", (unsigned long long)bytes_per_connection, total,
	       concurrent);

	struct poller poller = { .poll = check_poll };
	event_loop_add_poller(&poller);
	if (timeout_ns)
		timer_arm(&timeout_timer, clock_now_ns() + timeout_ns);

	event_loop_run();
	event_loop_remove_poller(&poller);

	struct heap_statistics heap_end;
	memory_get_statistics(&heap_end);
	print_heap("before the network", &heap_before_network);
	print_heap("with the network up, no sockets", &heap_baseline);
	print_heap("at the end", &heap_end);
	printf("tcp-check: heap live_allocations before %llu after %llu\n",
	       (unsigned long long)heap_baseline.live_allocations,
	       (unsigned long long)heap_end.live_allocations);
	printf("tcp-check: heap used_bytes before %llu after %llu\n",
	       (unsigned long long)heap_baseline.used_bytes,
	       (unsigned long long)heap_end.used_bytes);
	printf("tcp-check: tcp connections %lu segments_sent %llu segments_received %llu "
	       "retransmits %llu fast_retransmits %llu timeouts %llu\n",
	       completed, (unsigned long long)totals.segments_sent,
	       (unsigned long long)totals.segments_received, (unsigned long long)totals.retransmits,
	       (unsigned long long)totals.fast_retransmits, (unsigned long long)totals.timeouts);
	network_print_counters();
	free(connections);
	free(chunk);
	return failed ? 1 : 0;
}
