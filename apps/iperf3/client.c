/*
 * The client: connects the control connection, sends the cookie and, when the server asks, the
 * parameters; opens the data streams one after the other (each must be connected and have sent
 * its cookie, or for UDP have had its hello answered, before the next starts, so the server
 * numbers them in our order); runs the test for `time` seconds, then sends TEST_END, exchanges
 * results, prints the summary and says IPERF_DONE.
 *
 * With --loopback the server (server.c, quiet) listens on 127.0.0.1 in this same guest and its
 * poller shares our event loop; the address to connect to is 127.0.0.1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ringvisor/event_loop.h>
#include <ringvisor/kernel.h>
#include <ringvisor/network.h>

#include "iperf3.h"

#define HELLO_RETRY_NS 1000000000ull
#define HELLO_TRIES 3
#define LINGER_MAX_NS 2000000000ull
#define LINGER_CHECK_NS 1000000ull

static struct {
	struct options options;
	struct net_stack *stack;
	struct control control;
	struct test test;
	char cookie[IPERF_COOKIE_SIZE];
	bool connected;	      /* the control connection is established */
	bool creating;	      /* in CREATE_STREAMS */
	bool waiting_results; /* EXCHANGE_RESULTS: the server's JSON comes next */
	bool waiting_error;   /* SERVER_ERROR: two int32 come next */
	bool finished;	      /* out of the protocol: lingering or failed */
	struct timer duration_timer, hello_timer, linger_timer;
	bool duration_due, hello_due;
	unsigned hello_tries;
	uint64_t linger_until;
	int exit_code;
} client;

static void on_duration(struct timer *timer, void *argument)
{
	(void)timer;
	(void)argument;
	client.duration_due = true;
}

static void on_hello_timer(struct timer *timer, void *argument)
{
	(void)timer;
	(void)argument;
	client.hello_due = true;
}

static void on_linger(struct timer *timer, void *argument)
{
	(void)argument;
	control_service(&client.control);
	if ((control_output_empty(&client.control) && network_idle()) ||
	    clock_now_ns() >= client.linger_until) {
		event_loop_stop();
		return;
	}
	timer_arm(timer, clock_now_ns() + LINGER_CHECK_NS);
}

/* Leave: close everything, let the last bytes go out, stop the loop. */
static void finish(int exit_code)
{
	if (client.finished)
		return;
	client.finished = true;
	client.exit_code = exit_code;
	timer_cancel(&client.duration_timer);
	timer_cancel(&client.hello_timer);
	test_free(&client.test);
	if (client.control.socket) {
		control_service(&client.control);
		net_tcp_shutdown(client.control.socket);
	}
	client.linger_until = clock_now_ns() + LINGER_MAX_NS;
	network_flush();
	timer_arm(&client.linger_timer, clock_now_ns());
}

static void fail(const char *format, const char *detail)
{
	printf("iperf3: error - ");
	printf(format, detail);
	printf("\n");
	finish(1);
}

static bool stream_sends(unsigned index)
{
	const struct settings *settings = &client.test.settings;
	if (settings->bidirectional)
		return index < settings->parallel;
	return !settings->reverse;
}

/* local_port 0: not known (the stack does not say which port a UDP socket got). */
static void print_stream(const struct stream *stream, uint32_t local_address, uint16_t local_port)
{
	char text[NET_IPV4_ADDRESS_TEXT_BYTES];
	printf("[%4d] local ", stream->id);
	if (local_port)
		print_address("", local_address, local_port);
	else
		printf("%s", net_ipv4_address_format(local_address, text));
	print_address(" connected to ", client.options.address, client.options.port);
	printf("\n");
}

static void send_hello(struct stream *stream)
{
	uint32_t hello = IPERF_UDP_CONNECT_MESSAGE; /* host byte order, as iperf3 sends it */
	net_udp_send_to(stream->udp, client.options.address, client.options.port, &hello,
			sizeof hello);
	client.hello_tries++;
	timer_arm(&client.hello_timer, clock_now_ns() + HELLO_RETRY_NS);
}

static void open_stream(void)
{
	struct stream *stream =
		test_add_stream(&client.test, stream_sends(client.test.stream_count));
	if (!stream) {
		fail("%s", "too many streams");
		return;
	}
	if (client.test.settings.udp) {
		stream->udp = net_udp_open(client.stack);
		if (!stream->udp || net_udp_bind(stream->udp, 0, 0) < 0) {
			fail("%s", "unable to open a UDP socket");
			return;
		}
		stream->peer.address = client.options.address;
		stream->peer.port = client.options.port;
		client.hello_tries = 0;
		send_hello(stream);
		return;
	}
	stream->tcp = net_tcp_open(client.stack);
	if (!stream->tcp) {
		fail("%s", "unable to open a TCP socket");
		return;
	}
	net_tcp_set_nodelay(stream->tcp, client.test.settings.nodelay);
	int result = net_tcp_connect(stream->tcp, client.options.address, client.options.port);
	if (result < 0)
		fail("unable to connect stream: %s", net_error_name(result));
}

/* Bring the newest stream up; open the next one when it is. */
static bool service_creation(void)
{
	if (!client.creating || client.finished)
		return false;
	bool worked = false;
	if (client.test.stream_count == 0) {
		open_stream();
		worked = true;
	}
	while (!client.finished && client.test.stream_count > 0) {
		struct stream *stream = &client.test.streams[client.test.stream_count - 1];
		if (stream->tcp) {
			/* block_offset counts cookie bytes until the stream is ready. */
			int sent = net_tcp_send(stream->tcp, client.cookie + stream->block_offset,
						IPERF_COOKIE_SIZE - stream->block_offset);
			if (sent == NET_ERROR_WOULD_BLOCK)
				return worked;
			if (sent < 0) {
				fail("unable to connect stream: %s", net_error_name(sent));
				return true;
			}
			worked = true;
			stream->block_offset += (size_t)sent;
			if (stream->block_offset < IPERF_COOKIE_SIZE)
				continue;
			stream->block_offset = 0;
			struct net_tcp_endpoint local;
			net_tcp_endpoints(stream->tcp, &local, NULL);
			print_stream(stream, local.address, local.port);
		} else {
			uint8_t reply[16];
			struct net_udp_endpoint from;
			int length = net_udp_receive_from(stream->udp, reply, sizeof reply, &from);
			if (length < 0) {
				if (client.hello_due) {
					client.hello_due = false;
					if (client.hello_tries >= HELLO_TRIES) {
						fail("%s", "no answer to the UDP stream's hello");
						return true;
					}
					send_hello(stream);
				}
				return worked;
			}
			worked = true;
			uint32_t message;
			memcpy(&message, reply, 4);
			if (length != 4 || message != IPERF_UDP_CONNECT_REPLY)
				continue;
			timer_cancel(&client.hello_timer);
			client.hello_due = false;
			print_stream(stream,
				     client.options.loopback ? IPERF_LOOPBACK_ADDRESS
							     : network_interface_address(0),
				     0);
		}
		stream->ready = true;
		if (client.test.stream_count == client.test.expected_streams) {
			client.creating = false;
			return true;
		}
		open_stream();
	}
	return worked;
}

static void end_test(void)
{
	if (!client.test.running)
		return;
	timer_cancel(&client.duration_timer);
	test_stop(&client.test);
	control_send_state(&client.control, TEST_END);
}

static void send_parameters(void)
{
	struct settings *settings = &client.test.settings;
	if (settings->udp && !client.options.length_given) {
		/* iperf3's default datagram: the control connection's MSS. */
		struct net_tcp_statistics statistics;
		net_tcp_get_statistics(client.control.socket, &statistics);
		if (statistics.send_mss >= 16 && statistics.send_mss <= IPERF_MAX_UDP_LENGTH)
			settings->length = statistics.send_mss;
	}
	if (!test_prepare(&client.test, client.options.interval)) {
		fail("%s", "out of memory for the test's buffers");
		return;
	}
	size_t length;
	char *text = parameters_write(settings, &length);
	if (!text) {
		fail("%s", "out of memory for the parameters");
		return;
	}
	control_send_json(&client.control, text, length);
	free(text);
}

static void handle_state(int8_t state)
{
	switch (state) {
	case PARAM_EXCHANGE:
		send_parameters();
		break;
	case CREATE_STREAMS:
		client.creating = true;
		break;
	case TEST_START:
		if (client.creating && client.test.settings.udp &&
		    client.test.stream_count == client.test.expected_streams) {
			/* The server took our last hello, so its reply is on the way or was lost:
			 * either way the stream is up. */
			client.test.streams[client.test.stream_count - 1].ready = true;
			client.creating = false;
			timer_cancel(&client.hello_timer);
		}
		if (client.creating || client.test.stream_count != client.test.expected_streams)
			fail("%s", "TEST_START before every stream was up");
		break;
	case TEST_RUNNING:
		test_start(&client.test);
		if (client.test.settings.time)
			timer_arm(&client.duration_timer,
				  client.test.start_ns +
					  (uint64_t)client.test.settings.time * 1000000000ull);
		break;
	case EXCHANGE_RESULTS: {
		end_test();
		size_t length;
		char *text = results_write(&client.test, &length);
		if (!text) {
			fail("%s", "out of memory for the results");
			return;
		}
		control_send_json(&client.control, text, length);
		free(text);
		client.waiting_results = true;
		break;
	}
	case DISPLAY_RESULTS:
		print_summary(&client.test);
		control_send_state(&client.control, IPERF_DONE);
		printf("\niperf Done.\n");
		finish(0);
		break;
	case ACCESS_DENIED:
		fail("%s", "the server is busy running a test. try again later");
		break;
	case SERVER_ERROR:
		client.waiting_error = true;
		break;
	case SERVER_TERMINATE:
		fail("%s", "the server has terminated");
		break;
	default: {
		char detail[64];
		snprintf(detail, sizeof detail, "%d (%s)", state, state_name(state));
		fail("unexpected state %s from the server", detail);
		break;
	}
	}
}

static void handle_control(void)
{
	while (!client.finished) {
		if (client.waiting_error) {
			uint8_t numbers[8];
			if (!control_take(&client.control, numbers, sizeof numbers))
				break;
			int code = (int)((uint32_t)numbers[0] << 24 | (uint32_t)numbers[1] << 16 |
					 (uint32_t)numbers[2] << 8 | numbers[3]);
			int error = (int)((uint32_t)numbers[4] << 24 | (uint32_t)numbers[5] << 16 |
					  (uint32_t)numbers[6] << 8 | numbers[7]);
			const char *meaning =
				code == IPERF_ERROR_STREAMS	 ? "too many parallel streams"
				: code == IPERF_ERROR_BLOCK_SIZE ? "block size too large"
				: code == IPERF_ERROR_RECEIVE_PARAMETERS
					? "unable to receive parameters from client"
					: "see iperf3's i_errno";
			char detail[128];
			snprintf(detail, sizeof detail, "iperf3 error %d (%s), errno %d", code,
				 meaning, error);
			fail("the server reported an error: %s", detail);
			return;
		}
		if (client.waiting_results) {
			char *text = NULL;
			int got = control_take_json(&client.control, &text);
			if (got == 0)
				break;
			if (got < 0) {
				fail("%s", "the server's results are too long or memory ran out");
				return;
			}
			char error[128];
			bool ok = results_read(text, &client.test, error, sizeof error);
			free(text);
			if (!ok) {
				fail("bad results from the server: %s", error);
				return;
			}
			client.waiting_results = false;
			continue;
		}
		int8_t state;
		if (!control_take(&client.control, &state, 1))
			break;
		handle_state(state);
	}
	if (client.finished)
		return;
	if (client.control.error)
		fail("control connection: %s", net_error_name(client.control.error));
	else if (client.control.closed)
		fail("%s", "control socket has closed unexpectedly");
}

/* -n/-k: our streams sent it all, or (-R) received it all. */
static bool byte_limit_reached(void)
{
	const struct test *test = &client.test;
	if (!test->settings.reverse)
		return test_send_limit_reached(test);
	uint64_t received = 0;
	for (unsigned index = 0; index < test->stream_count; index++)
		received += test->streams[index].bytes;
	return (test->settings.bytes && received >= test->settings.bytes) ||
	       (test->settings.blocks &&
		received >= test->settings.blocks * (uint64_t)test->settings.length);
}

static bool client_poll(void *argument)
{
	(void)argument;
	if (client.finished)
		return control_service(&client.control);
	bool worked = control_service(&client.control);
	if (!client.connected && client.control.output_length == 0 && !client.control.error) {
		/* The cookie went out: the control connection is up. */
		client.connected = true;
		uint32_t address = client.options.address;
		if (client.test.settings.reverse)
			printf("Reverse mode, remote host %u.%u.%u.%u is sending\n", address >> 24,
			       (address >> 16) & 0xff, (address >> 8) & 0xff, address & 0xff);
	}
	/* Streams first: a UDP hello's reply comes before the TEST_START that follows it. */
	worked |= service_creation();
	handle_control();
	if (client.finished)
		return true;
	worked |= test_service(&client.test);
	if (client.test.running && (client.duration_due || byte_limit_reached())) {
		client.duration_due = false;
		end_test();
		worked = true;
	}
	worked |= control_service(&client.control);
	return worked;
}

int client_run(const struct options *options)
{
	client.options = *options;
	client.stack = network_start();
	if (!client.stack) {
		printf("iperf3: error - no usable NIC (see above)\n");
		return 1;
	}
	if (options->loopback) {
		int result = server_start(options);
		if (result >= 0)
			return result;
	}
	client.test.settings = options->settings;
	client.test.expected_streams =
		options->settings.parallel * (options->settings.bidirectional ? 2 : 1);
	timer_init(&client.duration_timer, on_duration, NULL);
	timer_init(&client.hello_timer, on_hello_timer, NULL);
	timer_init(&client.linger_timer, on_linger, NULL);

	struct net_tcp_socket *socket = net_tcp_open(client.stack);
	if (!socket) {
		printf("iperf3: error - out of memory for a socket\n");
		return 1;
	}
	net_tcp_set_nodelay(socket, true);
	control_init(&client.control, socket);
	print_address("Connecting to host ", options->address, options->port);
	printf("\n");
	int result = net_tcp_connect(socket, options->address, options->port);
	if (result < 0) {
		printf("iperf3: error - unable to connect to server: %s\n", net_error_name(result));
		control_free(&client.control);
		if (options->loopback)
			server_stop();
		return 1;
	}
	cookie_make(client.cookie);
	control_queue(&client.control, client.cookie, IPERF_COOKIE_SIZE);

	struct poller poller = { .poll = client_poll };
	event_loop_add_poller(&poller);
	event_loop_run();
	event_loop_remove_poller(&poller);
	control_free(&client.control);
	if (options->loopback)
		server_stop();
	if (options->counters)
		network_print_counters();
	return client.exit_code;
}
