/*
 * test_tcp_loopback.c - two TCP sockets of one stack talking over the loopback interface: bulk
 * transfers checked byte for byte (with TSO-sized segments, with 1500-byte frames and software
 * checksums, and over a lossy link), and many connections opened and closed without a leak.
 *
 * The event loop is the one a guest would run: do the application's work, net_poll_timers(),
 * and when nothing moved, jump the fake clock to net_next_deadline().
 */
#include "net_test.h"
#include "tcp_internal.h"

#include <stdlib.h>
#include <string.h>

#define LOOPBACK NET_IPV4_ADDRESS(127, 0, 0, 1)
#define TOTAL (1024 * 1024)

static uint8_t *source_data, *sink_data;
static unsigned drop_every; /* 0: no loss */
static unsigned loopback_frames, loopback_dropped;
static int callback_calls;

static int lossy_tap(struct net_interface *interface, uint8_t *frame, size_t length,
		     const struct net_offload *offload)
{
	(void)interface;
	(void)frame;
	(void)length;
	(void)offload;
	loopback_frames++;
	if (drop_every && loopback_frames % drop_every == 0) {
		loopback_dropped++;
		return -1;
	}
	return 0;
}

static void count_callback(struct net_tcp_socket *socket, uint32_t events, void *context)
{
	(void)socket;
	(void)events;
	(void)context;
	callback_calls++;
}

static void add_loopback(uint16_t mtu, uint32_t features)
{
	struct net_interface_config config = { .mtu = mtu,
					       .features = features,
					       .transmit = lossy_tap };

	loopback_frames = loopback_dropped = 0;
	callback_calls = 0;
	assert_non_null(net_loopback_add(test.stack, &config));
	assert_null(net_loopback_add(test.stack, &config)); /* only one */
}

/* One turn of the event loop; jumps the clock when asked to and something is due later. */
static void turn(bool idle)
{
	uint64_t deadline;

	net_poll_timers(test.stack, test.now_ns);
	deadline = net_next_deadline(test.stack);
	if (idle && deadline != NET_NO_DEADLINE && deadline > test.now_ns)
		test.now_ns = deadline;
}

static void transfer(uint32_t address)
{
	struct net_tcp_socket *listener = net_tcp_open(test.stack), *client, *server = NULL;
	size_t sent = 0, got = 0;
	long turns = 0;
	bool client_closed = false, server_done = false;
	size_t i;

	source_data = malloc(TOTAL);
	sink_data = malloc(TOTAL);
	assert_non_null(source_data);
	assert_non_null(sink_data);
	for (i = 0; i < TOTAL; i++)
		source_data[i] = (uint8_t)(i * 131 + (i >> 10) * 7);
	assert_int_equal(net_tcp_bind(listener, address, 5000), 0);
	assert_int_equal(net_tcp_listen(listener, 8), 0);
	net_tcp_set_callback(listener, count_callback, NULL);
	client = net_tcp_open(test.stack);
	assert_int_equal(net_tcp_connect(client, address, 5000), 0);

	while (!server_done) {
		bool progress = false;
		int result;

		assert_true(++turns < 2000000);
		if (!server) {
			server = net_tcp_accept(listener, NULL);
			progress |= server != NULL;
		}
		while (sent < TOTAL &&
		       (result = net_tcp_send(client, source_data + sent, TOTAL - sent)) > 0) {
			sent += (size_t)result;
			progress = true;
		}
		if (sent == TOTAL && !client_closed) {
			net_tcp_close(client); /* FIN after the data; the stack finishes it */
			client_closed = true;
		}
		while (server &&
		       (result = net_tcp_receive(server, sink_data + got, TOTAL + 1 - got)) > 0) {
			got += (size_t)result;
			assert_true(got <= TOTAL);
			progress = true;
		}
		if (server && got == TOTAL && net_tcp_receive(server, sink_data, 1) == 0)
			server_done = true;
		turn(!progress && !test.stack->loopback_head);
	}
	assert_memory_equal(sink_data, source_data, TOTAL);
	assert_true(callback_calls > 0);
	net_tcp_close(server);
	net_tcp_close(listener);
	/* Let the closing handshakes and TIME_WAIT run out. */
	while (test.stack->tcp.socket_count > 0) {
		assert_true(++turns < 2000000);
		turn(!test.stack->loopback_head);
	}
	free(source_data);
	free(sink_data);
}

static void test_loopback_megabyte_with_tso(void **state)
{
	(void)state;
	add_loopback(0, NET_INTERFACE_TX_CHECKSUM | NET_INTERFACE_TX_TSO4);
	transfer(LOOPBACK);
	assert_int_equal(loopback_dropped, 0);
}

static void test_loopback_megabyte_plain_frames(void **state)
{
	(void)state;
	/* 1500-byte MTU, checksums computed and verified in software. */
	add_loopback(1500, 0);
	transfer(LOOPBACK);
	/* More than 1 MiB / 1460 data segments, plus ACKs. */
	assert_true(loopback_frames > TOTAL / 1460);
}

static void test_loopback_to_own_address(void **state)
{
	(void)state;
	add_loopback(0, NET_INTERFACE_TX_CHECKSUM | NET_INTERFACE_TX_TSO4);
	clear_frames();			       /* the fixture's gratuitous ARP */
	transfer(OUR_ADDRESS);		       /* our Ethernet address, routed through loopback */
	assert_int_equal(test.frame_count, 0); /* nothing went out on the Ethernet */
}

/* UDP binds 127.0.0.1 as TCP does, once there is a loopback interface, and a datagram to it
 * arrives; without one, binding it is refused. */
static void test_udp_on_loopback(void **state)
{
	(void)state;
	struct net_udp_socket *receiver = net_udp_open(test.stack);
	uint32_t localhost = NET_IPV4_ADDRESS(127, 0, 0, 1);
	assert_int_equal(net_udp_bind(receiver, localhost, 7), NET_ERROR_INVALID);
	add_loopback(0, 0);
	assert_int_equal(net_udp_bind(receiver, localhost, 7), 0);
	struct net_udp_socket *sender = net_udp_open(test.stack);
	assert_int_equal(net_udp_send_to(sender, localhost, 7, "loop", 4), 4);
	turn(false);
	char buffer[8];
	struct net_udp_endpoint from;
	assert_int_equal(net_udp_receive_from(receiver, buffer, sizeof buffer, &from), 4);
	assert_memory_equal(buffer, "loop", 4);
	assert_int_equal(from.address, localhost);
	net_udp_close(sender);
	net_udp_close(receiver);
}

static void test_loopback_lossy_transfer(void **state)
{
	(void)state;
	drop_every = 7;
	add_loopback(1500, NET_INTERFACE_TX_CHECKSUM);
	transfer(LOOPBACK);
	drop_every = 0;
	assert_true(loopback_dropped > 100);
}

static void test_loopback_lossy_tso_transfer(void **state)
{
	(void)state;
	drop_every = 5;
	add_loopback(0, NET_INTERFACE_TX_CHECKSUM | NET_INTERFACE_TX_TSO4);
	transfer(LOOPBACK);
	drop_every = 0;
	assert_true(loopback_dropped > 0);
}

#define CONNECTIONS 300

static void test_many_connections_no_leak(void **state)
{
	static struct net_tcp_socket *clients[CONNECTIONS], *servers[CONNECTIONS];
	struct net_tcp_socket *listener;
	long baseline, turns = 0;
	size_t accepted = 0, echoed = 0, i;
	char buffer[16];

	(void)state;
	add_loopback(0, NET_INTERFACE_TX_CHECKSUM | NET_INTERFACE_TX_TSO4);
	baseline = test.live_allocations;
	listener = net_tcp_open(test.stack);
	assert_int_equal(net_tcp_bind(listener, LOOPBACK, 7), 0);
	assert_int_equal(net_tcp_listen(listener, CONNECTIONS), 0);
	for (i = 0; i < CONNECTIONS; i++) {
		clients[i] = net_tcp_open(test.stack);
		assert_non_null(clients[i]);
		assert_int_equal(net_tcp_connect(clients[i], LOOPBACK, 7), 0);
	}
	while (accepted < CONNECTIONS) {
		struct net_tcp_socket *server;

		assert_true(++turns < 100000);
		while ((server = net_tcp_accept(listener, NULL)) != NULL)
			servers[accepted++] = server;
		turn(!test.stack->loopback_head);
	}
	/* Distinct 4-tuples, all established; each says its number. */
	for (i = 0; i < CONNECTIONS; i++) {
		assert_int_equal(net_tcp_state(clients[i]), NET_TCP_ESTABLISHED);
		assert_int_equal(net_tcp_send(clients[i], &i, sizeof(i)), (int)sizeof(i));
	}
	while (echoed < CONNECTIONS) {
		assert_true(++turns < 100000);
		turn(!test.stack->loopback_head);
		echoed = 0;
		for (i = 0; i < CONNECTIONS; i++)
			echoed += (net_tcp_events(servers[i]) & NET_TCP_READABLE) != 0;
	}
	for (i = 0; i < CONNECTIONS; i++) {
		struct net_tcp_endpoint remote, local;

		assert_int_equal(net_tcp_receive(servers[i], buffer, sizeof(buffer)),
				 (int)sizeof(i));
		int said;
		memcpy(&said, buffer, sizeof said);
		assert_int_equal(said, i); /* each server got its own client's number */
		net_tcp_endpoints(servers[i], NULL, &remote);
		net_tcp_endpoints(clients[i], &local, NULL);
		/* Accepted in the order connected. */
		assert_int_equal(remote.port, local.port);
		net_tcp_close(clients[i]);
		net_tcp_close(servers[i]);
	}
	net_tcp_close(listener);
	while (test.stack->tcp.socket_count > 0) {
		assert_true(++turns < 100000);
		turn(!test.stack->loopback_head);
	}
	assert_int_equal(net_next_deadline(test.stack), NET_NO_DEADLINE);
	assert_int_equal(test.live_allocations, baseline);
}

static void test_refused_and_reset_over_loopback(void **state)
{
	struct net_tcp_socket *client;
	int turns = 0;

	(void)state;
	add_loopback(0, 0);
	client = net_tcp_open(test.stack);
	assert_int_equal(net_tcp_connect(client, LOOPBACK, 9), 0);
	while (net_tcp_state(client) != NET_TCP_CLOSED) {
		assert_true(++turns < 100);
		turn(!test.stack->loopback_head);
	}
	assert_int_equal(net_tcp_error(client), NET_ERROR_CONNECTION_REFUSED);
	net_tcp_close(client);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_loopback_megabyte_with_tso, setup_stack,
						teardown_stack),
		cmocka_unit_test_setup_teardown(test_loopback_megabyte_plain_frames, setup_stack,
						teardown_stack),
		cmocka_unit_test_setup_teardown(test_udp_on_loopback, setup_stack, teardown_stack),
		cmocka_unit_test_setup_teardown(test_loopback_to_own_address, setup_stack,
						teardown_stack),
		cmocka_unit_test_setup_teardown(test_loopback_lossy_transfer, setup_stack,
						teardown_stack),
		cmocka_unit_test_setup_teardown(test_loopback_lossy_tso_transfer, setup_stack,
						teardown_stack),
		cmocka_unit_test_setup_teardown(test_many_connections_no_leak, setup_stack,
						teardown_stack),
		cmocka_unit_test_setup_teardown(test_refused_and_reset_over_loopback, setup_stack,
						teardown_stack),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
