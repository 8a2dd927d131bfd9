/*
 * tcp-echo: sends every byte it receives on every TCP connection back on that connection.
 *
 *	ringvisor run --net tap,ifname=rv0,ip=198.18.0.2/24 build/guests/tcp-echo.elf -- PORT
 *
 * Listens on PORT of every local address and says `tcp-echo: listening on A.B.C.D:PORT` (the
 * first NIC's address) when ready. Serves any number of connections at once (as many as the
 * stack allows). A connection whose peer finishes sending (FIN) gets the rest of its echo and
 * then a FIN; one that is reset is counted (`tcp-echo: connection N reset by the peer`, the first
 * few times) and dropped, and the others carry on. A connection whose stream starts with
 * `!quit\n` is answered `!bye\n` and ends the program: every other connection is closed at once,
 * that one when its peer closes its side (tcp_check_host's `quit` does so after the `!bye\n`),
 * the stack is given up to 10 s in all to finish them, and tcp-echo prints what it did, the heap
 *(`tcp-echo: heap live_allocations before B after A`, before = just after the network started, as
 *tcp-check does) and the network counters, then exits 0. Exits 1 without a usable NIC, 2 on bad
 *arguments.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ringvisor/event_loop.h>
#include <ringvisor/kernel.h>
#include <ringvisor/network.h>

#define BUFFER_BYTES 16384
#define QUIT "!quit\n"
#define QUIT_LENGTH 6
#define SETTLE_NS 10000000000ull
#define SETTLE_CHECK_NS 2000000ull
#define RESETS_REPORTED 10

struct connection {
	struct connection *next;
	struct net_tcp_socket *socket;
	unsigned long number;
	uint8_t *pending; /* received, not yet taken by net_tcp_send */
	size_t pending_start, pending_end;
	uint64_t received; /* bytes of the stream so far */
	uint8_t head[QUIT_LENGTH];
	bool eof;
};

static struct net_stack *stack;
static struct net_tcp_socket *listener;
static struct connection *connections;
static unsigned long accepted, finished, resets, failures;
static uint64_t echoed;
static bool quitting;
static struct timer settle_timer;
static uint64_t settle_until;
static struct heap_statistics heap_baseline;

static void drop(struct connection **link, bool abort)
{
	struct connection *connection = *link;
	*link = connection->next;
	if (abort)
		net_tcp_abort(connection->socket);
	else
		net_tcp_close(connection->socket);
	free(connection->pending);
	free(connection);
}

static void on_settle(struct timer *timer, void *argument)
{
	(void)argument;
	if (connections) /* the asker never closed its side: give up on it */
		drop(&connections, false);
	struct heap_statistics now;
	memory_get_statistics(&now);
	if ((now.live_allocations <= heap_baseline.live_allocations &&
	     now.used_bytes <= heap_baseline.used_bytes && network_idle()) ||
	    clock_now_ns() >= settle_until) {
		event_loop_stop();
		return;
	}
	timer_arm(timer, clock_now_ns() + SETTLE_CHECK_NS);
}

/* After `!quit\n`: every other connection goes now; the one that asked gets `!bye\n` and is
 * closed when its peer has finished (its FIN), so that the guest keeps no TIME_WAIT. */
static void start_quitting(struct connection *asker)
{
	quitting = true;
	net_tcp_send(asker->socket, "!bye\n", 5);
	for (struct connection **link = &connections; *link;) {
		if (*link == asker)
			link = &asker->next;
		else
			drop(link, false);
	}
	net_tcp_close(listener);
	listener = NULL;
	network_flush();
	settle_until = clock_now_ns() + SETTLE_NS;
	timer_arm(&settle_timer, settle_until);
}

/* Waits for the asker's FIN, then for the stack to finish every connection (the heap back
 * where it was and nothing left to transmit), at most SETTLE_NS. */
static bool quit_poll(void)
{
	struct connection *asker = connections;
	if (asker) {
		uint8_t ignored[64];
		int length;
		while ((length = net_tcp_receive(asker->socket, ignored, sizeof ignored)) > 0)
			;
		if (length == NET_ERROR_WOULD_BLOCK)
			return false;
		drop(&connections, false); /* closed at the FIN, reset if anything else */
		timer_arm(&settle_timer, clock_now_ns());
		return true;
	}
	return false;
}

/* Moves what can be moved on one connection; true if anything happened. Sets *gone when the
 * connection is finished (closed by us) or broken. */
static bool service(struct connection *connection, bool *gone)
{
	bool progress = false;
	*gone = false;
	for (;;) {
		/* Send what is pending first: nothing is read while the echo cannot leave. */
		while (connection->pending_start < connection->pending_end) {
			int sent = net_tcp_send(
				connection->socket, connection->pending + connection->pending_start,
				connection->pending_end - connection->pending_start);
			if (sent == NET_ERROR_WOULD_BLOCK)
				return progress;
			if (sent < 0)
				goto broken;
			connection->pending_start += (size_t)sent;
			echoed += (uint64_t)sent;
			progress = true;
		}
		if (connection->eof) {
			/* All echoed: the FIN follows it; the stack finishes on its own. */
			finished++;
			*gone = true;
			return true;
		}
		int length = net_tcp_receive(connection->socket, connection->pending, BUFFER_BYTES);
		if (length == NET_ERROR_WOULD_BLOCK)
			return progress;
		if (length < 0)
			goto broken;
		progress = true;
		if (length == 0) {
			connection->eof = true;
			continue;
		}
		for (int i = 0; i < length && connection->received + (uint64_t)i < QUIT_LENGTH; i++)
			connection->head[connection->received + (uint64_t)i] =
				connection->pending[i];
		connection->received += (uint64_t)length;
		connection->pending_start = 0;
		connection->pending_end = (size_t)length;
		if (connection->received >= QUIT_LENGTH &&
		    connection->received - (uint64_t)length < QUIT_LENGTH &&
		    memcmp(connection->head, QUIT, QUIT_LENGTH) == 0) {
			printf("tcp-echo: !quit on connection %lu\n", connection->number);
			start_quitting(connection);
			return true;
		}
	}
broken : {
	int error = net_tcp_error(connection->socket);
	if (error == NET_ERROR_CONNECTION_RESET) {
		if (resets < RESETS_REPORTED)
			printf("tcp-echo: connection %lu reset by the peer after %llu bytes\n",
			       connection->number, (unsigned long long)connection->received);
		resets++;
	} else {
		printf("tcp-echo: connection %lu failed: error %d, state %s\n", connection->number,
		       error, net_tcp_state_name(net_tcp_state(connection->socket)));
		failures++;
	}
	*gone = true;
	return true;
}
}

static bool echo_poll(void *argument)
{
	(void)argument;
	bool progress = false;
	if (quitting)
		return quit_poll();
	struct net_tcp_socket *socket;
	while ((socket = net_tcp_accept(listener, NULL)) != NULL) {
		struct connection *connection = calloc(1, sizeof *connection);
		uint8_t *pending = malloc(BUFFER_BYTES);
		if (!connection || !pending) {
			free(connection);
			free(pending);
			net_tcp_abort(socket);
			printf("tcp-echo: out of memory for a connection\n");
			failures++;
			continue;
		}
		connection->socket = socket;
		connection->pending = pending;
		connection->number = ++accepted;
		connection->next = connections;
		connections = connection;
		progress = true;
	}
	for (struct connection **link = &connections; *link && !quitting;) {
		bool gone;
		struct connection *connection = *link;
		progress |= service(connection, &gone);
		if (quitting)
			break; /* every other connection is gone already */
		if (gone)
			drop(link, false);
		else
			link = &connection->next;
	}
	return progress;
}

int main(int argc, char **argv)
{
	char *end;
	unsigned long port = argc == 2 ? strtoul(argv[1], &end, 10) : 0;
	if (argc != 2 || argv[1][0] < '0' || argv[1][0] > '9' || *end != '\0' || port == 0 ||
	    port > 65535) {
		printf("usage: tcp-echo PORT\n");
		return 2;
	}
	stack = network_start();
	if (!stack) {
		printf("tcp-echo: no usable NIC (see above)\n");
		return 1;
	}
	/* The event loop allocates its timer array at the first timer_arm and keeps it: have that
	 * happen before the baseline. */
	timer_init(&settle_timer, on_settle, NULL);
	timer_arm(&settle_timer, UINT64_MAX);
	timer_cancel(&settle_timer);
	memory_get_statistics(&heap_baseline);
	listener = net_tcp_open(stack);
	int result = listener ? net_tcp_bind(listener, 0, (uint16_t)port) : NET_ERROR_NO_MEMORY;
	if (result == 0)
		result = net_tcp_listen(listener, 128);
	if (result < 0) {
		printf("tcp-echo: cannot listen on port %lu (error %d)\n", port, result);
		return 1;
	}
	struct poller poller = { .poll = echo_poll };
	event_loop_add_poller(&poller);

	char address[NET_IPV4_ADDRESS_TEXT_BYTES];
	printf("tcp-echo: listening on %s:%lu\n",
	       net_ipv4_address_format(network_interface_address(0), address), port);

	event_loop_run();
	event_loop_remove_poller(&poller);

	struct heap_statistics heap_end;
	memory_get_statistics(&heap_end);
	printf("tcp-echo: %lu connections (%lu finished), %llu bytes echoed, %lu reset by the "
	       "peer, "
	       "%lu failed\n",
	       accepted, finished, (unsigned long long)echoed, resets, failures);
	printf("tcp-echo: heap live_allocations before %llu after %llu\n",
	       (unsigned long long)heap_baseline.live_allocations,
	       (unsigned long long)heap_end.live_allocations);
	printf("tcp-echo: heap used_bytes before %llu after %llu\n",
	       (unsigned long long)heap_baseline.used_bytes,
	       (unsigned long long)heap_end.used_bytes);
	network_print_counters();
	return 0;
}
