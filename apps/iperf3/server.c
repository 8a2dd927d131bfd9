/*
 * The server: one test at a time, as iperf3 3.12 runs it.
 *
 *	idle --control connects--> cookie --> PARAM_EXCHANGE, parameters --> CREATE_STREAMS,
 *	streams (TCP connections carrying the cookie, or UDP hellos) --> TEST_START, TEST_RUNNING,
 *	data until the client's TEST_END --> EXCHANGE_RESULTS, the client's results, ours,
 *	DISPLAY_RESULTS --> the client's IPERF_DONE --> idle (or exit with -1).
 *
 * A connection that arrives while a test is on gets ACCESS_DENIED, except in CREATE_STREAMS,
 * when it is read for its cookie first (a wrong one gets ACCESS_DENIED too). Everything runs in
 * server_poll(), one event-loop poller; a lost control connection ends the test and the server
 * goes back to listening.
 *
 * With --loopback (options.loopback) the client in this guest runs the loop: the server listens
 * on 127.0.0.1 only and prints nothing but errors, so the output is the client's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ringvisor/event_loop.h>
#include <ringvisor/kernel.h>
#include <ringvisor/network.h>

#include "iperf3.h"

#define PENDING_MAX (IPERF_MAX_STREAMS + 8)
#define DENIED_MAX 16
#define LINGER_MAX_NS 1000000000ull
#define LINGER_CHECK_NS 1000000ull

enum phase {
	PHASE_IDLE,
	PHASE_COOKIE,
	PHASE_PARAMETERS,
	PHASE_CREATE_STREAMS,
	PHASE_RUNNING,
	PHASE_RESULTS,
	PHASE_DONE,
};

/* A data connection that has not shown its cookie yet. */
struct pending {
	struct net_tcp_socket *socket;
	uint8_t cookie[IPERF_COOKIE_SIZE];
	size_t have;
};

static struct {
	struct options options;
	struct net_tcp_socket *listener;
	struct net_udp_socket *udp;
	struct control control;
	enum phase phase;
	struct test test;
	char cookie[IPERF_COOKIE_SIZE];
	struct pending pending[PENDING_MAX];
	struct net_tcp_socket *denied[DENIED_MAX];
	unsigned test_number;
	int exit_code;
	bool stopping;
	struct timer linger_timer;
	uint64_t linger_until;
	struct poller poller;
} server;

static void print_banner(void)
{
	if (server.options.loopback)
		return;
	printf("-----------------------------------------------------------\n");
	printf("Server listening on %u (test #%u)\n", server.options.port, server.test_number + 1);
	printf("-----------------------------------------------------------\n");
}

static void on_linger(struct timer *timer, void *argument)
{
	(void)argument;
	if (network_idle() || clock_now_ns() >= server.linger_until) {
		event_loop_stop();
		return;
	}
	timer_arm(timer, clock_now_ns() + LINGER_CHECK_NS);
}

static void close_pending(void)
{
	for (unsigned index = 0; index < PENDING_MAX; index++) {
		if (server.pending[index].socket)
			net_tcp_abort(server.pending[index].socket);
		server.pending[index].socket = NULL;
	}
}

/* The test is over, well or badly: back to listening, or out with -1. */
static void finish_test(bool ok)
{
	test_free(&server.test);
	control_free(&server.control);
	close_pending();
	server.phase = PHASE_IDLE;
	server.test_number++;
	if (!ok)
		server.exit_code = 1;
	if (server.options.one_off) {
		server.stopping = true;
		server.linger_until = clock_now_ns() + LINGER_MAX_NS;
		network_flush();
		timer_arm(&server.linger_timer, clock_now_ns());
		return;
	}
	server.exit_code = 0;
	if (server.options.counters && !server.options.loopback) {
		struct heap_statistics heap;
		memory_get_statistics(&heap);
		printf("heap: %zu bytes in %zu live allocations\n", heap.used_bytes,
		       heap.live_allocations);
	}
	print_banner();
}

static void fail_test(const char *format, const char *detail)
{
	printf("iperf3: %serror - ", server.options.loopback ? "server " : "");
	printf(format, detail);
	printf("\n");
	finish_test(false);
}

/* Deny a connection: ACCESS_DENIED, then close once the peer has gone (or at once if full). */
static void deny(struct net_tcp_socket *socket)
{
	int8_t denied = ACCESS_DENIED;
	net_tcp_send(socket, &denied, 1);
	net_tcp_shutdown(socket);
	for (unsigned index = 0; index < DENIED_MAX; index++) {
		if (!server.denied[index]) {
			server.denied[index] = socket;
			return;
		}
	}
	net_tcp_close(socket);
}

static bool service_denied(void)
{
	bool worked = false;
	uint8_t discard[256];
	for (unsigned index = 0; index < DENIED_MAX; index++) {
		struct net_tcp_socket *socket = server.denied[index];
		if (!socket)
			continue;
		int received;
		while ((received = net_tcp_receive(socket, discard, sizeof discard)) > 0)
			worked = true;
		if (received != NET_ERROR_WOULD_BLOCK) {
			net_tcp_close(socket);
			server.denied[index] = NULL;
			worked = true;
		}
	}
	return worked;
}

static void start_test_if_complete(void)
{
	if (server.test.stream_count < server.test.expected_streams)
		return;
	close_pending();
	test_start(&server.test);
	control_send_state(&server.control, TEST_START);
	control_send_state(&server.control, TEST_RUNNING);
	server.phase = PHASE_RUNNING;
}

/* The n-th stream created receives, except with -R (all send) or --bidir (second half sends). */
static bool next_stream_sends(void)
{
	const struct settings *settings = &server.test.settings;
	if (settings->bidirectional)
		return server.test.stream_count >= settings->parallel;
	return settings->reverse;
}

static void print_stream(const struct stream *stream, const struct net_tcp_endpoint *local,
			 const struct net_tcp_endpoint *remote)
{
	if (server.options.loopback)
		return;
	printf("[%4d] local ", stream->id);
	print_address("", local->address, local->port);
	print_address(" connected to ", remote->address, remote->port);
	printf("\n");
}

static bool accept_connections(void)
{
	bool worked = false;
	struct net_tcp_socket *socket;
	struct net_tcp_endpoint remote;
	while ((socket = net_tcp_accept(server.listener, &remote)) != NULL) {
		worked = true;
		if (server.phase == PHASE_IDLE && !server.stopping) {
			net_tcp_set_nodelay(socket, true);
			control_init(&server.control, socket);
			server.phase = PHASE_COOKIE;
			if (!server.options.loopback) {
				print_address("Accepted connection from ", remote.address,
					      remote.port);
				printf("\n");
			}
			continue;
		}
		if (server.phase == PHASE_CREATE_STREAMS && !server.test.settings.udp) {
			unsigned index;
			for (index = 0; index < PENDING_MAX && server.pending[index].socket;
			     index++)
				;
			if (index < PENDING_MAX) {
				server.pending[index].socket = socket;
				server.pending[index].have = 0;
				continue;
			}
		}
		deny(socket);
	}
	return worked;
}

static bool service_pending(void)
{
	bool worked = false;
	for (unsigned index = 0; index < PENDING_MAX && server.phase == PHASE_CREATE_STREAMS;
	     index++) {
		struct pending *pending = &server.pending[index];
		if (!pending->socket)
			continue;
		int received = net_tcp_receive(pending->socket, pending->cookie + pending->have,
					       IPERF_COOKIE_SIZE - pending->have);
		if (received == NET_ERROR_WOULD_BLOCK)
			continue;
		worked = true;
		if (received <= 0) {
			net_tcp_close(pending->socket);
			pending->socket = NULL;
			continue;
		}
		pending->have += (size_t)received;
		if (pending->have < IPERF_COOKIE_SIZE)
			continue;
		struct net_tcp_socket *socket = pending->socket;
		pending->socket = NULL;
		if (memcmp(pending->cookie, server.cookie, IPERF_COOKIE_SIZE) != 0) {
			deny(socket);
			continue;
		}
		struct stream *stream = test_add_stream(&server.test, next_stream_sends());
		if (!stream) {
			net_tcp_abort(socket);
			continue;
		}
		stream->tcp = socket;
		stream->ready = true;
		net_tcp_set_nodelay(socket, server.test.settings.nodelay);
		struct net_tcp_endpoint local, remote;
		net_tcp_endpoints(socket, &local, &remote);
		print_stream(stream, &local, &remote);
		start_test_if_complete();
	}
	return worked;
}

/* UDP: datagrams to our port. In CREATE_STREAMS a hello from a new peer makes a stream. */
static bool service_udp(void)
{
	if (server.phase == PHASE_CREATE_STREAMS && server.test.settings.udp) {
		bool worked = false;
		uint8_t datagram[64];
		struct net_udp_endpoint from;
		int length;
		while (server.phase == PHASE_CREATE_STREAMS &&
		       (length = net_udp_receive_from(server.udp, datagram, sizeof datagram,
						      &from)) >= 0) {
			worked = true;
			uint32_t message;
			if (length != 4)
				continue;
			memcpy(&message, datagram, 4); /* host byte order, as iperf3 sends it */
			if (message != IPERF_UDP_CONNECT_MESSAGE ||
			    test_find_udp_stream(&server.test, &from))
				continue;
			struct stream *stream = test_add_stream(&server.test, next_stream_sends());
			if (!stream)
				continue;
			stream->udp = server.udp;
			stream->peer = from;
			stream->ready = true;
			uint32_t reply = IPERF_UDP_CONNECT_REPLY;
			net_udp_send_to(server.udp, from.address, from.port, &reply, sizeof reply);
			if (!server.options.loopback) {
				printf("[%4d] local ", stream->id);
				print_address("", network_interface_address(0),
					      server.options.port);
				print_address(" connected to ", from.address, from.port);
				printf("\n");
			}
			start_test_if_complete();
		}
		return worked;
	}
	if (server.phase == PHASE_RUNNING && server.test.settings.udp)
		return false; /* test_service() drains it */
	/* Stray datagrams (a late hello, a test's tail): drop them. */
	bool worked = false;
	uint8_t datagram[16];
	while (net_udp_receive_from(server.udp, datagram, sizeof datagram, NULL) >= 0)
		worked = true;
	return worked;
}

static bool handle_parameters(const char *text)
{
	char error[128];
	struct settings settings;
	int32_t code;
	if (!parameters_read(text, &settings, error, sizeof error, &code)) {
		uint8_t message[9] = { (uint8_t)SERVER_ERROR,
				       (uint8_t)(code >> 24),
				       (uint8_t)(code >> 16),
				       (uint8_t)(code >> 8),
				       (uint8_t)code,
				       0,
				       0,
				       0,
				       0 };
		control_queue(&server.control, message, sizeof message);
		control_service(&server.control);
		fail_test("bad parameters from the client: %s", error);
		return false;
	}
	memset(&server.test, 0, sizeof server.test);
	server.test.settings = settings;
	server.test.is_server = true;
	server.test.expected_streams = settings.parallel * (settings.bidirectional ? 2 : 1);
	if (!test_prepare(&server.test, server.options.loopback ? 0 : server.options.interval)) {
		fail_test("%s", "out of memory for the test's buffers");
		return false;
	}
	if (settings.udp) {
		/* Hellos that came before the test are stale. */
		uint8_t datagram[16];
		while (net_udp_receive_from(server.udp, datagram, sizeof datagram, NULL) >= 0)
			;
	}
	if (!server.options.loopback)
		printf("Test: %s, %u stream%s, %u-byte %s, %u s%s%s\n",
		       settings.udp ? "UDP" : "TCP", settings.parallel,
		       settings.parallel == 1 ? "" : "s", settings.length,
		       settings.udp ? "datagrams" : "blocks", settings.time,
		       settings.reverse ? ", reverse" : "",
		       settings.bidirectional ? ", bidirectional" : "");
	control_send_state(&server.control, CREATE_STREAMS);
	server.phase = PHASE_CREATE_STREAMS;
	return true;
}

/* Work through what the control connection brought; false once the test is gone. */
static bool handle_control(void)
{
	for (;;) {
		enum phase phase = server.phase;
		if (phase == PHASE_IDLE)
			return false;
		if (phase == PHASE_COOKIE) {
			if (!control_take(&server.control, server.cookie, IPERF_COOKIE_SIZE))
				break;
			control_send_state(&server.control, PARAM_EXCHANGE);
			server.phase = PHASE_PARAMETERS;
			continue;
		}
		if (phase == PHASE_PARAMETERS || phase == PHASE_RESULTS) {
			char *text = NULL;
			int got = control_take_json(&server.control, &text);
			if (got == 0)
				break;
			if (got < 0) {
				fail_test("%s", "a JSON message from the client is too long or "
						"memory ran out");
				return false;
			}
			bool ok;
			if (phase == PHASE_PARAMETERS) {
				ok = handle_parameters(text);
			} else {
				char error[128];
				ok = results_read(text, &server.test, error, sizeof error);
				if (!ok) {
					fail_test("bad results from the client: %s", error);
				} else {
					size_t length;
					char *ours = results_write(&server.test, &length);
					if (!ours) {
						fail_test("%s", "out of memory for the results");
						ok = false;
					} else {
						control_send_json(&server.control, ours, length);
						free(ours);
						control_send_state(&server.control,
								   DISPLAY_RESULTS);
						if (!server.options.loopback)
							print_summary(&server.test);
						server.phase = PHASE_DONE;
					}
				}
			}
			free(text);
			if (!ok)
				return false;
			continue;
		}
		int8_t state;
		if (!control_take(&server.control, &state, 1))
			break;
		if (state == TEST_END && phase == PHASE_RUNNING) {
			test_stop(&server.test);
			test_close_streams(&server.test);
			control_send_state(&server.control, EXCHANGE_RESULTS);
			server.phase = PHASE_RESULTS;
		} else if (state == IPERF_DONE && phase == PHASE_DONE) {
			finish_test(true);
			return false;
		} else if (state == CLIENT_TERMINATE) {
			if (!server.options.loopback)
				printf("iperf3: the client has terminated\n");
			finish_test(true);
			return false;
		} else {
			char detail[64];
			snprintf(detail, sizeof detail, "%d (%s)", state, state_name(state));
			fail_test("unexpected state %s from the client", detail);
			return false;
		}
	}
	if (server.control.error || server.control.closed) {
		fail_test("the control connection %s",
			  server.control.error ? net_error_name(server.control.error)
					       : "was closed by the client");
		return false;
	}
	return true;
}

static bool server_poll(void *argument)
{
	(void)argument;
	bool worked = accept_connections();
	worked |= service_denied();
	if (server.phase != PHASE_IDLE) {
		worked |= control_service(&server.control);
		handle_control();
	}
	if (server.phase == PHASE_CREATE_STREAMS)
		worked |= service_pending();
	worked |= service_udp();
	if (server.phase == PHASE_RUNNING)
		worked |= test_service(&server.test);
	if (server.phase != PHASE_IDLE)
		worked |= control_service(&server.control);
	return worked;
}

int server_start(const struct options *options)
{
	struct net_stack *stack = network_start();
	if (!stack) {
		printf("iperf3: error - no usable NIC (see above)\n");
		return 1;
	}
	server.options = *options;
	uint32_t address = options->loopback ? IPERF_LOOPBACK_ADDRESS : 0;
	server.listener = net_tcp_open(stack);
	server.udp = net_udp_open(stack);
	if (!server.listener || !server.udp) {
		printf("iperf3: error - out of memory for sockets\n");
		return 1;
	}
	int result = net_tcp_bind(server.listener, address, options->port);
	if (result == 0)
		result = net_tcp_listen(server.listener, 2 * IPERF_MAX_STREAMS);
	if (result == 0)
		result = net_udp_bind(server.udp, 0, options->port); /* UDP: no 127/8 bind */
	if (result < 0) {
		printf("iperf3: error - unable to listen on port %u: %s\n", options->port,
		       net_error_name(result));
		return 1;
	}
	timer_init(&server.linger_timer, on_linger, NULL);
	print_banner();

	server.poller = (struct poller){ .poll = server_poll };
	event_loop_add_poller(&server.poller);
	return -1;
}

void server_stop(void)
{
	event_loop_remove_poller(&server.poller);
}

int server_run(const struct options *options)
{
	int result = server_start(options);
	if (result >= 0)
		return result;
	event_loop_run();
	server_stop();
	if (options->counters)
		network_print_counters();
	return server.exit_code;
}
