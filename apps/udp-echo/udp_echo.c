/*
 * udp-echo: sends every UDP datagram it receives back to its sender.
 *
 *	ringvisor run --net tap,ifname=rv0,ip=198.18.0.2/24 build/guests/udp-echo.elf -- PORT [IDLE]
 *
 * Listens on PORT of every local address and says `udp-echo: listening on A.B.C.D:PORT` (the
 * first NIC's address) when ready. Exits 0 after answering the 5-byte datagram `!quit` with
 * `!bye`, or after IDLE seconds without a datagram (0, the default: never), printing the NICs'
 * counters first. Exits 1 without a usable NIC, 2 on bad arguments. It runs on the event loop:
 * idle, it sleeps in the wait hypercall until a frame arrives.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ringvisor/event_loop.h>
#include <ringvisor/kernel.h>
#include <ringvisor/network.h>

/* Datagrams echoed per loop turn: as many as a socket queues, so none is lost to a full queue
 * (the NIC hands the stack at most 64 frames per turn). */
#define ECHOES_PER_TURN 64
/* After `!bye`: how long at most to wait for it to leave (ARP may need 3 tries, a second each). */
#define LINGER_MAX_NS 3500000000ull
#define LINGER_CHECK_NS 1000000ull

static struct net_udp_socket *echo_socket;
static uint8_t *buffer;
static uint64_t idle_ns;
static struct timer idle_timer, linger_timer;
static uint64_t linger_until;
static bool quitting;
static uint64_t datagrams, bytes;
static int pending_length = -1; /* a datagram received but not echoed yet: waits for buffers */
static struct net_udp_endpoint pending_from;

static void on_idle(struct timer *timer, void *argument)
{
	(void)timer;
	(void)argument;
	printf("udp-echo: no datagram for %llu s, exiting\n",
	       (unsigned long long)(idle_ns / 1000000000));
	event_loop_stop();
}

static void on_linger(struct timer *timer, void *argument)
{
	(void)argument;
	if (network_idle() || clock_now_ns() >= linger_until) {
		event_loop_stop();
		return;
	}
	timer_arm(timer, clock_now_ns() + LINGER_CHECK_NS);
}

static void start_quitting(void)
{
	quitting = true;
	timer_cancel(&idle_timer);
	linger_until = clock_now_ns() + LINGER_MAX_NS;
	network_flush();
	timer_arm(&linger_timer, clock_now_ns()); /* checks on the next turn, after a poll */
}

static bool echo_poll(void *argument)
{
	(void)argument;
	bool worked = false;
	for (int turn = 0; turn < ECHOES_PER_TURN && !quitting; turn++) {
		if (pending_length < 0) {
			pending_length = net_udp_receive_from(echo_socket, buffer,
							      NET_UDP_MAX_PAYLOAD, &pending_from);
			if (pending_length < 0)
				break;
			worked = true;
			datagrams++;
			bytes += (uint64_t)pending_length;
			if (pending_length > NET_UDP_MAX_PAYLOAD)
				pending_length =
					NET_UDP_MAX_PAYLOAD; /* cannot happen: IPv4 caps it */
		}
		size_t length = (size_t)pending_length;
		/* Not enough transmit buffers for all its fragments: keep it for a later turn (the
		 * network wakes us when buffers come back). */
		if (!network_transmit_ready(length + 8))
			break;
		pending_length = -1;
		worked = true;
		if (length == 5 && memcmp(buffer, "!quit", 5) == 0) {
			net_udp_send_to(echo_socket, pending_from.address, pending_from.port,
					"!bye", 4);
			start_quitting();
			break;
		}
		net_udp_send_to(echo_socket, pending_from.address, pending_from.port, buffer,
				length);
	}
	if (worked && idle_ns && !quitting)
		timer_arm(&idle_timer, clock_now_ns() + idle_ns);
	return worked;
}

static bool parse_number(const char *text, unsigned long maximum, unsigned long *value)
{
	char *end;
	if (text[0] < '0' || text[0] > '9')
		return false;
	*value = strtoul(text, &end, 10);
	return *end == '\0' && *value <= maximum;
}

int main(int argc, char **argv)
{
	unsigned long port, idle_seconds = 0;
	if (argc < 2 || argc > 3 || !parse_number(argv[1], 65535, &port) || port == 0 ||
	    (argc == 3 && !parse_number(argv[2], 1000000, &idle_seconds))) {
		printf("usage: udp-echo PORT [IDLE-SECONDS]\n");
		return 2;
	}
	idle_ns = idle_seconds * 1000000000ull;

	struct net_stack *stack = network_start();
	if (!stack) {
		printf("udp-echo: no usable NIC (see above)\n");
		return 1;
	}
	buffer = malloc(NET_UDP_MAX_PAYLOAD);
	echo_socket = net_udp_open(stack);
	if (!buffer || !echo_socket) {
		printf("udp-echo: out of memory\n");
		return 1;
	}
	int result = net_udp_bind(echo_socket, 0, (uint16_t)port);
	if (result < 0) {
		printf("udp-echo: cannot bind port %lu (error %d)\n", port, result);
		return 1;
	}

	struct poller poller = { .poll = echo_poll };
	event_loop_add_poller(&poller);
	timer_init(&idle_timer, on_idle, NULL);
	timer_init(&linger_timer, on_linger, NULL);
	if (idle_ns)
		timer_arm(&idle_timer, clock_now_ns() + idle_ns);

	char address[NET_IPV4_ADDRESS_TEXT_BYTES];
	printf("udp-echo: listening on %s:%lu\n",
	       net_ipv4_address_format(network_interface_address(0), address), port);

	event_loop_run();

	event_loop_remove_poller(&poller);
	printf("udp-echo: echoed %llu datagrams, %llu bytes; slept %llu times, polled %llu times "
	       "instead; %llu polls ran out\n",
	       (unsigned long long)datagrams, (unsigned long long)bytes,
	       (unsigned long long)event_loop_wait_count(),
	       (unsigned long long)event_loop_polls_that_found_work(),
	       (unsigned long long)event_loop_polls_that_ran_out());
	network_print_counters();
	return 0;
}
