/*
 * test_tcp.c - TCP at the packet level, smoltcp style: put the connection in a state, inject
 * the peer's segment, and assert the exact segment(s) the stack sends back.
 *
 * The peer is 198.18.0.1 (resolved by ARP first, so our segments leave at once). The receive
 * buffer is the default 256 KiB, so we announce window scale 3 and MSS 1460 (MTU 1500).
 */
#include "net_test.h"
#include "tcp_internal.h"

#include <string.h>

#define MS 1000000ull
#define PEER_PORT 40000
#define LOCAL_PORT 80
#define PEER_ISN 1000u
#define OUR_WINDOW_SCALE 3

static uint8_t frame[BIG_FRAME];
static uint8_t payload[65536];
static uint8_t received[262144];

/* Options the peer sends in its SYN: MSS 1460, NOP, window scale 7. */
static const uint8_t peer_syn_options[] = { 2, 4, 0x05, 0xb4, 1, 3, 3, 7 };
/* What we send in ours: MSS 1460, NOP, window scale 3. */
static const uint8_t our_syn_options[] = { 2, 4, 0x05, 0xb4, 1, 3, 3, OUR_WINDOW_SCALE };

/* A SYN offering SACK, laid out as Linux does without timestamps: MSS, NOP NOP SACK-permitted,
 * NOP window scale. */
static const uint8_t peer_sack_syn_options[] = { 2, 4, 0x05, 0xb4, 1, 1, 4, 2, 1, 3, 3, 7 };
static const uint8_t our_sack_syn_options[] = { 2, 4, 0x05, 0xb4, 1, 1,
						4, 2, 1,    3,	  3, OUR_WINDOW_SCALE };

static void fill_pattern(uint8_t *data, size_t length, uint32_t seed)
{
	size_t i;

	for (i = 0; i < length; i++)
		data[i] = (uint8_t)((i + seed) * 7 + (i >> 8));
}

/* The peer sends a segment to our port. */
static void peer_sends(uint32_t sequence, uint32_t acknowledgment, uint8_t flags, uint16_t window,
		       const uint8_t *data, size_t length)
{
	struct tcp_spec spec = {
		.source = PEER_ADDRESS,
		.destination = OUR_ADDRESS,
		.source_port = PEER_PORT,
		.destination_port = LOCAL_PORT,
		.sequence = sequence,
		.acknowledgment = acknowledgment,
		.flags = flags,
		.window = window,
		.data = data,
		.length = length,
	};

	receive(frame, build_tcp(frame, &spec));
}

/* What we are expected to send to the peer. */
static struct tcp_spec from_us(uint32_t sequence, uint32_t acknowledgment, uint8_t flags,
			       uint16_t window, const uint8_t *data, size_t length)
{
	struct tcp_spec spec = {
		.source = OUR_ADDRESS,
		.destination = PEER_ADDRESS,
		.source_port = LOCAL_PORT,
		.destination_port = PEER_PORT,
		.sequence = sequence,
		.acknowledgment = acknowledgment,
		.flags = flags,
		.window = window,
		.data = data,
		.length = length,
	};
	return spec;
}

static void expect_frames(size_t count)
{
	if (test.frame_count != count)
		fail_msg("%zu frames sent, expected %zu", test.frame_count, count);
}

static void expect_segment(size_t index, struct tcp_spec spec)
{
	assert_true(index < test.frame_count);
	assert_tcp_frame(&test.frames[index], &spec);
}

static uint32_t full_window(void)
{
	return test.limits.tcp_receive_buffer_bytes >> OUR_WINDOW_SCALE;
}

/* A connection established by the peer to our listener. */
struct established {
	struct net_tcp_socket *listener, *socket;
	uint32_t our_next;  /* our next sequence number */
	uint32_t peer_next; /* the peer's */
};

static struct established passive_open_with(uint16_t peer_window_scaled, const uint8_t *syn_options,
					    size_t syn_options_length)
{
	struct established connection;
	struct tcp_spec syn_ack;

	resolve_peer();
	connection.listener = net_tcp_open(test.stack);
	assert_non_null(connection.listener);
	assert_int_equal(net_tcp_bind(connection.listener, 0, LOCAL_PORT), 0);
	assert_int_equal(net_tcp_listen(connection.listener, 4), 0);
	receive(frame, build_tcp(frame, &(struct tcp_spec){
						.source = PEER_ADDRESS,
						.destination = OUR_ADDRESS,
						.source_port = PEER_PORT,
						.destination_port = LOCAL_PORT,
						.sequence = PEER_ISN,
						.flags = TCP_FLAG_SYN,
						.window = 65535,
						.options = syn_options,
						.options_length = syn_options_length,
					}));
	expect_frames(1);
	parse_tcp(&test.frames[0], &syn_ack);
	clear_frames();
	peer_sends(PEER_ISN + 1, syn_ack.sequence + 1, TCP_FLAG_ACK, peer_window_scaled, NULL, 0);
	expect_frames(0);
	connection.socket = net_tcp_accept(connection.listener, NULL);
	assert_non_null(connection.socket);
	assert_int_equal(net_tcp_state(connection.socket), NET_TCP_ESTABLISHED);
	connection.our_next = syn_ack.sequence + 1;
	connection.peer_next = PEER_ISN + 1;
	return connection;
}

static struct established passive_open(uint16_t peer_window_scaled)
{
	return passive_open_with(peer_window_scaled, peer_syn_options, sizeof(peer_syn_options));
}

static void test_passive_open_exact_segments(void **state)
{
	struct net_tcp_socket *listener = net_tcp_open(test.stack), *socket;
	struct net_tcp_endpoint remote;
	struct tcp_spec syn_ack;
	uint32_t isn;

	(void)state;
	resolve_peer();
	assert_int_equal(net_tcp_bind(listener, 0, LOCAL_PORT), 0);
	assert_int_equal(net_tcp_listen(listener, 4), 0);
	assert_int_equal(net_tcp_state(listener), NET_TCP_LISTEN);
	assert_null(net_tcp_accept(listener, NULL));
	receive(frame, build_tcp(frame, &(struct tcp_spec){
						.source = PEER_ADDRESS,
						.destination = OUR_ADDRESS,
						.source_port = PEER_PORT,
						.destination_port = LOCAL_PORT,
						.sequence = PEER_ISN,
						.flags = TCP_FLAG_SYN,
						.window = 65535,
						.options = peer_syn_options,
						.options_length = sizeof(peer_syn_options),
					}));
	expect_frames(1);
	parse_tcp(&test.frames[0], &syn_ack);
	isn = syn_ack.sequence;
	/* SYN-ACK: unscaled window (65535 of 256 KiB), MSS 1460 from the MTU, our scale 3. */
	syn_ack = from_us(isn, PEER_ISN + 1, TCP_FLAG_SYN | TCP_FLAG_ACK, 65535, NULL, 0);
	syn_ack.options = our_syn_options;
	syn_ack.options_length = sizeof(our_syn_options);
	expect_segment(0, syn_ack);
	assert_null(net_tcp_accept(listener, NULL)); /* not established yet */
	clear_frames();

	peer_sends(PEER_ISN + 1, isn + 1, TCP_FLAG_ACK, 512, NULL, 0);
	expect_frames(0);
	assert_true(net_tcp_events(listener) & NET_TCP_READABLE);
	socket = net_tcp_accept(listener, &remote);
	assert_non_null(socket);
	assert_int_equal(remote.address, PEER_ADDRESS);
	assert_int_equal(remote.port, PEER_PORT);
	assert_int_equal(net_tcp_state(socket), NET_TCP_ESTABLISHED);
	assert_true(net_tcp_events(socket) & NET_TCP_WRITABLE);
	{
		struct net_tcp_statistics statistics;

		net_tcp_get_statistics(socket, &statistics);
		assert_int_equal(statistics.send_mss, 1460);
		assert_int_equal(statistics.send_window, 512u << 7); /* their scale 7 */
		assert_int_equal(statistics.receive_mss, 1460);
	}
	net_tcp_abort(socket);
	net_tcp_close(listener);
}

static void test_active_open_exact_segments(void **state)
{
	struct net_tcp_socket *socket = net_tcp_open(test.stack);
	static const uint8_t syn_ack_options[] = { 2, 4, 0x04, 0xb0, 1, 3, 3, 2 }; /* 1200, 2 */
	struct net_tcp_statistics statistics;
	struct net_tcp_endpoint local;
	struct tcp_spec syn, expected;

	(void)state;
	resolve_peer();
	assert_int_equal(net_tcp_connect(socket, PEER_ADDRESS, 8080), 0);
	assert_int_equal(net_tcp_state(socket), NET_TCP_SYN_SENT);
	assert_int_equal(net_tcp_send(socket, "x", 1), NET_ERROR_WOULD_BLOCK);
	net_tcp_endpoints(socket, &local, NULL);
	assert_int_equal(local.address, OUR_ADDRESS);
	assert_true(local.port >= 49152);
	expect_frames(1);
	parse_tcp(&test.frames[0], &syn);
	expected = (struct tcp_spec){ .source = OUR_ADDRESS,
				      .destination = PEER_ADDRESS,
				      .source_port = local.port,
				      .destination_port = 8080,
				      .sequence = syn.sequence,
				      .flags = TCP_FLAG_SYN,
				      .window = 65535,
				      .options = our_sack_syn_options,
				      .options_length = sizeof(our_sack_syn_options) };
	assert_tcp_frame(&test.frames[0], &expected);
	clear_frames();

	receive(frame, build_tcp(frame, &(struct tcp_spec){
						.source = PEER_ADDRESS,
						.destination = OUR_ADDRESS,
						.source_port = 8080,
						.destination_port = local.port,
						.sequence = 5000,
						.acknowledgment = syn.sequence + 1,
						.flags = TCP_FLAG_SYN | TCP_FLAG_ACK,
						.window = 1000,
						.options = syn_ack_options,
						.options_length = sizeof(syn_ack_options),
					}));
	expect_frames(1);
	expected = (struct tcp_spec){ .source = OUR_ADDRESS,
				      .destination = PEER_ADDRESS,
				      .source_port = local.port,
				      .destination_port = 8080,
				      .sequence = syn.sequence + 1,
				      .acknowledgment = 5001,
				      .flags = TCP_FLAG_ACK,
				      .window = (uint16_t)full_window() };
	assert_tcp_frame(&test.frames[0], &expected);
	assert_int_equal(net_tcp_state(socket), NET_TCP_ESTABLISHED);
	assert_true(net_tcp_events(socket) & NET_TCP_WRITABLE);
	net_tcp_get_statistics(socket, &statistics);
	assert_int_equal(statistics.send_mss, 1200);
	assert_int_equal(statistics.send_window, 1000); /* a SYN's window is never scaled */
	assert_int_equal(statistics.rtt_samples, 1);
	net_tcp_abort(socket);
}

static void test_active_open_without_window_scale(void **state)
{
	struct net_tcp_socket *socket = net_tcp_open(test.stack);
	static const uint8_t mss_only[] = { 2, 4, 0x05, 0xb4 };
	struct net_tcp_endpoint local;
	struct tcp_spec syn, ack;

	(void)state;
	resolve_peer();
	assert_int_equal(net_tcp_connect(socket, PEER_ADDRESS, 8080), 0);
	net_tcp_endpoints(socket, &local, NULL);
	parse_tcp(&test.frames[0], &syn);
	clear_frames();
	receive(frame, build_tcp(frame, &(struct tcp_spec){
						.source = PEER_ADDRESS,
						.destination = OUR_ADDRESS,
						.source_port = 8080,
						.destination_port = local.port,
						.sequence = 77,
						.acknowledgment = syn.sequence + 1,
						.flags = TCP_FLAG_SYN | TCP_FLAG_ACK,
						.window = 4000,
						.options = mss_only,
						.options_length = sizeof(mss_only),
					}));
	expect_frames(1);
	parse_tcp(&test.frames[0], &ack);
	assert_int_equal(ack.window, 65535); /* no scaling either way: capped, unscaled */
	assert_int_equal(ack.acknowledgment, 78);
	net_tcp_abort(socket);
}

static void test_data_in_delayed_ack(void **state)
{
	struct established connection = passive_open(1024);
	uint8_t buffer[256];

	(void)state;
	fill_pattern(payload, 100, 1);
	peer_sends(connection.peer_next, connection.our_next, TCP_FLAG_ACK | TCP_FLAG_PSH, 1024,
		   payload, 100);
	expect_frames(0); /* delayed */
	assert_int_equal(net_next_deadline(test.stack), test.now_ns + 40 * MS);
	advance_clock(40 * MS);
	net_poll_timers(test.stack, test.now_ns);
	expect_frames(1);
	expect_segment(0, from_us(connection.our_next, connection.peer_next + 100, TCP_FLAG_ACK,
				  (uint16_t)((262144 - 100) >> 3), NULL, 0));
	assert_true(net_tcp_events(connection.socket) & NET_TCP_READABLE);
	assert_int_equal(net_tcp_receive(connection.socket, buffer, sizeof(buffer)), 100);
	assert_memory_equal(buffer, payload, 100);
	assert_int_equal(net_tcp_receive(connection.socket, buffer, sizeof(buffer)),
			 NET_ERROR_WOULD_BLOCK);
	net_tcp_close(connection.socket);
	net_tcp_close(connection.listener);
}

static void test_every_second_full_segment_acked_at_once(void **state)
{
	struct established connection = passive_open(1024);

	(void)state;
	fill_pattern(payload, 2920, 2);
	peer_sends(connection.peer_next, connection.our_next, TCP_FLAG_ACK, 1024, payload, 1460);
	expect_frames(0);
	peer_sends(connection.peer_next + 1460, connection.our_next, TCP_FLAG_ACK, 1024,
		   payload + 1460, 1460);
	expect_frames(1);
	expect_segment(0, from_us(connection.our_next, connection.peer_next + 2920, TCP_FLAG_ACK,
				  (uint16_t)((262144 - 2920) >> 3), NULL, 0));
	/* The delayed-ACK timer went with it. */
	assert_int_equal(net_next_deadline(test.stack), NET_NO_DEADLINE);
	assert_int_equal(net_tcp_receive(connection.socket, received, sizeof(received)), 2920);
	assert_memory_equal(received, payload, 2920);
	net_tcp_close(connection.socket);
	net_tcp_close(connection.listener);
}

static void test_gro_segment_acked_at_once(void **state)
{
	struct established connection = passive_open(1024);
	struct tcp_spec spec = from_us(0, 0, 0, 0, NULL, 0);

	(void)state;
	fill_pattern(payload, 30000, 3);
	spec = (struct tcp_spec){ .source = PEER_ADDRESS,
				  .destination = OUR_ADDRESS,
				  .source_port = PEER_PORT,
				  .destination_port = LOCAL_PORT,
				  .sequence = connection.peer_next,
				  .acknowledgment = connection.our_next,
				  .flags = TCP_FLAG_ACK,
				  .window = 1024,
				  .data = payload,
				  .length = 30000 };
	/* A host GRO frame: bigger than our MSS, checksum left to "finish" (NEEDS_CSUM). Its ACK
	 * goes once the batch it came in is done: when the stack's timers next run, at once. */
	receive_with_offload(frame, build_tcp(frame, &spec), RINGVISOR_NET_HEADER_NEEDS_CSUM);
	expect_frames(0);
	assert_int_equal(net_next_deadline(test.stack), test.now_ns);
	net_poll_timers(test.stack, test.now_ns);
	expect_frames(1);
	expect_segment(0, from_us(connection.our_next, connection.peer_next + 30000, TCP_FLAG_ACK,
				  (uint16_t)((262144 - 30000) >> 3), NULL, 0));
	assert_int_equal(net_tcp_receive(connection.socket, received, sizeof(received)), 30000);
	assert_memory_equal(received, payload, 30000);
	net_tcp_close(connection.socket);
	net_tcp_close(connection.listener);
}

/* Two GRO frames in one batch (one NIC poll): one ACK, for both, when the batch is done. */
static void test_gro_segments_of_one_batch_share_an_ack(void **state)
{
	struct established connection = passive_open(1024);
	struct tcp_spec spec;

	(void)state;
	fill_pattern(payload, 40000, 5);
	for (unsigned part = 0; part < 2; part++) {
		spec = (struct tcp_spec){ .source = PEER_ADDRESS,
					  .destination = OUR_ADDRESS,
					  .source_port = PEER_PORT,
					  .destination_port = LOCAL_PORT,
					  .sequence = connection.peer_next + 20000 * part,
					  .acknowledgment = connection.our_next,
					  .flags = TCP_FLAG_ACK,
					  .window = 1024,
					  .data = payload + 20000 * part,
					  .length = 20000 };
		receive_with_offload(frame, build_tcp(frame, &spec),
				     RINGVISOR_NET_HEADER_NEEDS_CSUM);
	}
	expect_frames(0);
	net_poll_timers(test.stack, test.now_ns);
	expect_frames(1);
	expect_segment(0, from_us(connection.our_next, connection.peer_next + 40000, TCP_FLAG_ACK,
				  (uint16_t)((262144 - 40000) >> 3), NULL, 0));
	/* Nothing more is owed: no second ACK later. */
	advance_clock(100000000);
	net_poll_timers(test.stack, test.now_ns);
	expect_frames(1);
	assert_int_equal(net_tcp_receive(connection.socket, received, sizeof(received)), 40000);
	assert_memory_equal(received, payload, 40000);
	net_tcp_close(connection.socket);
	net_tcp_close(connection.listener);
}

static void test_data_out_segments_and_nagle(void **state)
{
	struct established connection = passive_open(1024); /* 128 KiB, scale 7 */

	(void)state;
	fill_pattern(payload, 3000, 4);
	assert_int_equal(net_tcp_send(connection.socket, payload, 3000), 3000);
	/* Two full segments; the 80-byte tail waits for the ACK (Nagle). */
	expect_frames(2);
	expect_segment(0, from_us(connection.our_next, connection.peer_next, TCP_FLAG_ACK,
				  (uint16_t)full_window(), payload, 1460));
	expect_segment(1, from_us(connection.our_next + 1460, connection.peer_next, TCP_FLAG_ACK,
				  (uint16_t)full_window(), payload + 1460, 1460));
	clear_frames();
	peer_sends(connection.peer_next, connection.our_next + 2920, TCP_FLAG_ACK, 1024, NULL, 0);
	expect_frames(1);
	expect_segment(0, from_us(connection.our_next + 2920, connection.peer_next,
				  TCP_FLAG_ACK | TCP_FLAG_PSH, (uint16_t)full_window(),
				  payload + 2920, 80));
	clear_frames();
	/* With no_delay a small write goes at once even with data in flight. */
	net_tcp_set_nodelay(connection.socket, true);
	assert_int_equal(net_tcp_send(connection.socket, "ab", 2), 2);
	expect_frames(1);
	expect_segment(0, from_us(connection.our_next + 3000, connection.peer_next,
				  TCP_FLAG_ACK | TCP_FLAG_PSH, (uint16_t)full_window(),
				  (const uint8_t *)"ab", 2));
	net_tcp_abort(connection.socket);
	net_tcp_close(connection.listener);
}

static void test_retransmission_after_rto(void **state)
{
	struct established connection = passive_open(1024);
	struct net_tcp_statistics statistics;

	(void)state;
	assert_int_equal(net_tcp_send(connection.socket, "hello", 5), 5);
	expect_frames(1);
	clear_frames();
	/* The handshake gave an RTT sample of 0: the tail loss probe comes first, after
	 * 2 SRTT + the delayed-ACK allowance (one segment in flight), and sends it again. */
	assert_int_equal(connection.socket->timers[TCP_TIMER_RETRANSMIT], test.now_ns + 200 * MS);
	assert_int_equal(net_next_deadline(test.stack), test.now_ns + 40 * MS);
	advance_clock(40 * MS);
	net_poll_timers(test.stack, test.now_ns);
	expect_frames(1);
	expect_segment(0, from_us(connection.our_next, connection.peer_next,
				  TCP_FLAG_ACK | TCP_FLAG_PSH, (uint16_t)full_window(),
				  (const uint8_t *)"hello", 5));
	clear_frames();
	/* The probe was lost too: the RTO (the 200 ms floor) restarted with it, then fires. */
	assert_int_equal(net_next_deadline(test.stack), test.now_ns + 200 * MS);
	advance_clock(199 * MS);
	net_poll_timers(test.stack, test.now_ns);
	expect_frames(0);
	advance_clock(1 * MS);
	net_poll_timers(test.stack, test.now_ns);
	expect_frames(1);
	expect_segment(0, from_us(connection.our_next, connection.peer_next,
				  TCP_FLAG_ACK | TCP_FLAG_PSH, (uint16_t)full_window(),
				  (const uint8_t *)"hello", 5));
	clear_frames();
	/* Exponential backoff: 400 ms next. */
	advance_clock(399 * MS);
	net_poll_timers(test.stack, test.now_ns);
	expect_frames(0);
	advance_clock(1 * MS);
	net_poll_timers(test.stack, test.now_ns);
	expect_frames(1);
	net_tcp_get_statistics(connection.socket, &statistics);
	assert_int_equal(statistics.retransmits, 3);
	assert_int_equal(statistics.loss_probes, 1);
	assert_int_equal(statistics.timeouts, 2);
	assert_int_equal(statistics.congestion_window, 1460);
	assert_int_equal(counters()->tcp_retransmitted, 3);
	clear_frames();
	/* The ACK ends it: no more timers (Karn: no RTT sample from a retransmission). */
	peer_sends(connection.peer_next, connection.our_next + 5, TCP_FLAG_ACK, 1024, NULL, 0);
	expect_frames(0);
	assert_int_equal(net_next_deadline(test.stack), NET_NO_DEADLINE);
	net_tcp_get_statistics(connection.socket, &statistics);
	assert_int_equal(statistics.rtt_samples, 1);
	assert_int_equal(statistics.bytes_sent, 5);
	net_tcp_abort(connection.socket);
	net_tcp_close(connection.listener);
}

static void test_rtt_estimation(void **state)
{
	struct established connection = passive_open(1024);
	struct net_tcp_statistics statistics;

	(void)state;
	net_tcp_set_nodelay(connection.socket, true);
	assert_int_equal(net_tcp_send(connection.socket, "a", 1), 1);
	advance_clock(100 * MS);
	peer_sends(connection.peer_next, connection.our_next + 1, TCP_FLAG_ACK, 1024, NULL, 0);
	net_tcp_get_statistics(connection.socket, &statistics);
	/* Second sample (the handshake's was 0): SRTT = 7/8 0 + 1/8 100 ms, RTTVAR = 3/4 0 +
	 * 1/4 100 ms, RTO = 12.5 + 100 ms. */
	assert_int_equal(statistics.rtt_samples, 2);
	assert_int_equal(statistics.smoothed_rtt_ns, 12500000);
	assert_int_equal(statistics.rtt_variation_ns, 25000000);
	assert_int_equal(statistics.rto_ns, 200000000); /* 112.5 ms, raised to the floor */
	net_tcp_abort(connection.socket);
	net_tcp_close(connection.listener);
}

static void test_fast_retransmit_and_new_reno(void **state)
{
	struct established connection = passive_open(1024);
	struct net_tcp_statistics statistics;
	uint32_t start = connection.our_next;
	int i;

	(void)state;
	fill_pattern(payload, 5 * 1460, 5);
	assert_int_equal(net_tcp_send(connection.socket, payload, 5 * 1460), 5 * 1460);
	expect_frames(5);
	clear_frames();
	/* Segment 1 lost: the peer ACKs segments 2..4 with duplicates of `start`. */
	for (i = 0; i < 2; i++) {
		peer_sends(connection.peer_next, start, TCP_FLAG_ACK, 1024, NULL, 0);
		expect_frames(0);
	}
	peer_sends(connection.peer_next, start, TCP_FLAG_ACK, 1024, NULL, 0);
	expect_frames(1);
	expect_segment(0, from_us(start, connection.peer_next, TCP_FLAG_ACK,
				  (uint16_t)full_window(), payload, 1460));
	net_tcp_get_statistics(connection.socket, &statistics);
	assert_int_equal(statistics.fast_retransmits, 1);
	/* ssthresh = flight / 2 = 3650, cwnd = ssthresh + 3 MSS. */
	assert_int_equal(statistics.slow_start_threshold, 3650);
	assert_int_equal(statistics.congestion_window, 3650 + 3 * 1460);
	clear_frames();
	/* Partial ACK (segment 3 was lost too): NewReno retransmits it at once. */
	peer_sends(connection.peer_next, start + 2 * 1460, TCP_FLAG_ACK, 1024, NULL, 0);
	expect_frames(1);
	expect_segment(0, from_us(start + 2 * 1460, connection.peer_next, TCP_FLAG_ACK,
				  (uint16_t)full_window(), payload + 2 * 1460, 1460));
	clear_frames();
	/* Full ACK ends recovery: cwnd = min(ssthresh, max(flight, MSS) + MSS). */
	peer_sends(connection.peer_next, start + 5 * 1460, TCP_FLAG_ACK, 1024, NULL, 0);
	net_tcp_get_statistics(connection.socket, &statistics);
	assert_int_equal(statistics.congestion_window, 2 * 1460);
	assert_int_equal(statistics.retransmits, 2);
	assert_int_equal(net_next_deadline(test.stack), NET_NO_DEADLINE);
	net_tcp_abort(connection.socket);
	net_tcp_close(connection.listener);
}

static void test_out_of_order_reassembled(void **state)
{
	struct established connection = passive_open(1024);
	uint32_t start = connection.peer_next;

	(void)state;
	fill_pattern(payload, 400, 6);
	/* 300..400, then 100..200: each answered by a duplicate ACK for `start`. */
	peer_sends(start + 300, connection.our_next, TCP_FLAG_ACK, 1024, payload + 300, 100);
	expect_frames(1);
	expect_segment(0, from_us(connection.our_next, start, TCP_FLAG_ACK, (uint16_t)full_window(),
				  NULL, 0));
	peer_sends(start + 100, connection.our_next, TCP_FLAG_ACK, 1024, payload + 100, 100);
	expect_frames(2);
	expect_segment(1, from_us(connection.our_next, start, TCP_FLAG_ACK, (uint16_t)full_window(),
				  NULL, 0));
	assert_int_equal(net_tcp_receive(connection.socket, received, sizeof(received)),
			 NET_ERROR_WOULD_BLOCK);
	assert_int_equal(counters()->tcp_out_of_order, 2);
	clear_frames();
	/* 0..150 overlaps the second piece: 0..200 is in order, still a hole at 200..300. */
	peer_sends(start, connection.our_next, TCP_FLAG_ACK, 1024, payload, 150);
	expect_frames(1);
	expect_segment(0, from_us(connection.our_next, start + 200, TCP_FLAG_ACK,
				  (uint16_t)((262144 - 200) >> 3), NULL, 0));
	clear_frames();
	/* The last hole: everything up to 400 at once, acknowledged at once. */
	peer_sends(start + 200, connection.our_next, TCP_FLAG_ACK, 1024, payload + 200, 100);
	expect_frames(1);
	expect_segment(0, from_us(connection.our_next, start + 400, TCP_FLAG_ACK,
				  (uint16_t)((262144 - 400) >> 3), NULL, 0));
	assert_int_equal(net_tcp_receive(connection.socket, received, sizeof(received)), 400);
	assert_memory_equal(received, payload, 400);
	net_tcp_close(connection.socket);
	net_tcp_close(connection.listener);
}

/* A SACK option (NOP NOP, kind 5) of count [left, right) pairs, offsets from base; returns its
 * length. */
static size_t sack_option(uint8_t *out, uint32_t base, size_t count, const uint32_t blocks[][2])
{
	size_t i, length = 4;

	out[0] = 1;
	out[1] = 1;
	out[2] = 5;
	out[3] = (uint8_t)(2 + 8 * count);
	for (i = 0; i < count; i++) {
		uint32_t left = base + blocks[i][0], right = base + blocks[i][1];

		out[length++] = (uint8_t)(left >> 24);
		out[length++] = (uint8_t)(left >> 16);
		out[length++] = (uint8_t)(left >> 8);
		out[length++] = (uint8_t)left;
		out[length++] = (uint8_t)(right >> 24);
		out[length++] = (uint8_t)(right >> 16);
		out[length++] = (uint8_t)(right >> 8);
		out[length++] = (uint8_t)right;
	}
	return length;
}

/* The peer sends payload[from, to) (offsets from start); we must answer at once with exactly one
 * ACK of start + acked carrying the given SACK blocks (none: no option at all). */
static void sack_step(const struct established *connection, uint32_t start, uint32_t from,
		      uint32_t to, uint32_t acked, size_t count, const uint32_t blocks[][2])
{
	uint8_t options[40];
	struct tcp_spec ack;

	clear_frames();
	peer_sends(start + from, connection->our_next, TCP_FLAG_ACK, 1024, payload + from,
		   to - from);
	expect_frames(1); /* at once: no delayed-ACK timer involved */
	ack = from_us(connection->our_next, start + acked, TCP_FLAG_ACK,
		      (uint16_t)((262144 - acked) >> OUR_WINDOW_SCALE), NULL, 0);
	if (count) {
		ack.options = options;
		ack.options_length = sack_option(options, start, count, blocks);
	}
	expect_segment(0, ack);
}

static void test_sack_permitted_passive_open(void **state)
{
	struct net_tcp_socket *listener = net_tcp_open(test.stack);
	struct tcp_spec syn_ack;

	(void)state;
	resolve_peer();
	assert_int_equal(net_tcp_bind(listener, 0, LOCAL_PORT), 0);
	assert_int_equal(net_tcp_listen(listener, 4), 0);
	receive(frame, build_tcp(frame, &(struct tcp_spec){
						.source = PEER_ADDRESS,
						.destination = OUR_ADDRESS,
						.source_port = PEER_PORT,
						.destination_port = LOCAL_PORT,
						.sequence = PEER_ISN,
						.flags = TCP_FLAG_SYN,
						.window = 65535,
						.options = peer_sack_syn_options,
						.options_length = sizeof(peer_sack_syn_options),
					}));
	expect_frames(1);
	parse_tcp(&test.frames[0], &syn_ack);
	/* SACK-permitted echoed, between MSS and window scale, 4-byte aligned with NOPs. */
	syn_ack = from_us(syn_ack.sequence, PEER_ISN + 1, TCP_FLAG_SYN | TCP_FLAG_ACK, 65535, NULL,
			  0);
	syn_ack.options = our_sack_syn_options;
	syn_ack.options_length = sizeof(our_sack_syn_options);
	expect_segment(0, syn_ack);
	/* Retransmitted the same way. */
	clear_frames();
	advance_clock(1000 * MS);
	net_poll_timers(test.stack, test.now_ns);
	expect_frames(1);
	expect_segment(0, syn_ack);
	net_tcp_close(listener);
}

/* Without SACK-permitted in the peer's SYN: none in our SYN-ACK (test_passive_open_exact_segments)
 * and no SACK blocks in our duplicate ACKs. */
static void test_no_sack_blocks_unless_negotiated(void **state)
{
	struct established connection = passive_open(1024);
	uint32_t start = connection.peer_next;

	(void)state;
	fill_pattern(payload, 400, 9);
	sack_step(&connection, start, 300, 400, 0, 0, NULL);
	sack_step(&connection, start, 100, 200, 0, 0, NULL);
	net_tcp_close(connection.socket);
	net_tcp_close(connection.listener);
}

static void test_sack_permitted_active_open(void **state)
{
	/* Unpadded SACK-permitted, then END padding. */
	static const uint8_t sack_syn_ack[] = { 2, 4, 0x05, 0xb4, 4, 2, 1, 3, 3, 2, 0, 0 };
	static const uint8_t plain_syn_ack[] = { 2, 4, 0x05, 0xb4, 1, 3, 3, 2 };
	static const uint32_t block[][2] = { { 300, 400 } };
	int with_sack;

	(void)state;
	resolve_peer();
	for (with_sack = 1; with_sack >= 0; with_sack--) {
		struct net_tcp_socket *socket = net_tcp_open(test.stack);
		struct net_tcp_endpoint local;
		struct tcp_spec syn, expected;
		uint8_t options[40];

		clear_frames();
		assert_int_equal(net_tcp_connect(socket, PEER_ADDRESS, 8080), 0);
		net_tcp_endpoints(socket, &local, NULL);
		expect_frames(1);
		parse_tcp(&test.frames[0], &syn);
		/* We always offer it. */
		assert_int_equal(syn.options_length, sizeof(our_sack_syn_options));
		assert_memory_equal(syn.options, our_sack_syn_options,
				    sizeof(our_sack_syn_options));
		clear_frames();
		receive(frame,
			build_tcp(frame,
				  &(struct tcp_spec){
					  .source = PEER_ADDRESS,
					  .destination = OUR_ADDRESS,
					  .source_port = 8080,
					  .destination_port = local.port,
					  .sequence = 5000,
					  .acknowledgment = syn.sequence + 1,
					  .flags = TCP_FLAG_SYN | TCP_FLAG_ACK,
					  .window = 1000,
					  .options = with_sack ? sack_syn_ack : plain_syn_ack,
					  .options_length = with_sack ? sizeof(sack_syn_ack)
								      : sizeof(plain_syn_ack),
				  }));
		expect_frames(1);
		assert_int_equal(net_tcp_state(socket), NET_TCP_ESTABLISHED);
		clear_frames();
		/* Out-of-order data: SACK blocks only if the SYN-ACK allowed them. */
		fill_pattern(payload, 400, 4);
		receive(frame, build_tcp(frame, &(struct tcp_spec){
							.source = PEER_ADDRESS,
							.destination = OUR_ADDRESS,
							.source_port = 8080,
							.destination_port = local.port,
							.sequence = 5001 + 300,
							.acknowledgment = syn.sequence + 1,
							.flags = TCP_FLAG_ACK,
							.window = 1000,
							.data = payload + 300,
							.length = 100,
						}));
		expect_frames(1);
		expected = (struct tcp_spec){ .source = OUR_ADDRESS,
					      .destination = PEER_ADDRESS,
					      .source_port = local.port,
					      .destination_port = 8080,
					      .sequence = syn.sequence + 1,
					      .acknowledgment = 5001,
					      .flags = TCP_FLAG_ACK,
					      .window = (uint16_t)full_window() };
		if (with_sack) {
			expected.options = options;
			expected.options_length = sack_option(options, 5001, 1, block);
		}
		assert_tcp_frame(&test.frames[0], &expected);
		net_tcp_abort(socket);
	}
}

/* RFC 2018 4: the first block holds the segment that triggered the ACK, then the most recently
 * reported others, at most 3 without timestamps; blocks shrink and go as holes fill. */
static void test_sack_blocks_exact(void **state)
{
	struct established connection =
		passive_open_with(1024, peer_sack_syn_options, sizeof(peer_sack_syn_options));
	uint32_t start = connection.peer_next;

	(void)state;
	fill_pattern(payload, 1300, 5);
	sack_step(&connection, start, 300, 400, 0, 1, (const uint32_t[][2]){ { 300, 400 } });
	sack_step(&connection, start, 600, 700, 0, 2,
		  (const uint32_t[][2]){ { 600, 700 }, { 300, 400 } });
	/* Below the others: still first. */
	sack_step(&connection, start, 100, 200, 0, 3,
		  (const uint32_t[][2]){ { 100, 200 }, { 600, 700 }, { 300, 400 } });
	/* A fourth range: the oldest reported (300..400) does not fit. */
	sack_step(&connection, start, 900, 1000, 0, 3,
		  (const uint32_t[][2]){ { 900, 1000 }, { 100, 200 }, { 600, 700 } });
	/* Growing 300..400 (touching on both sides merges) moves it first again. */
	sack_step(&connection, start, 400, 450, 0, 3,
		  (const uint32_t[][2]){ { 300, 450 }, { 900, 1000 }, { 100, 200 } });
	/* 200..300 joins 100..200 and 300..450 into one block, first. */
	sack_step(&connection, start, 200, 300, 0, 3,
		  (const uint32_t[][2]){ { 100, 450 }, { 900, 1000 }, { 600, 700 } });
	/* A duplicate of data already held: its block first. */
	sack_step(&connection, start, 600, 700, 0, 3,
		  (const uint32_t[][2]){ { 600, 700 }, { 100, 450 }, { 900, 1000 } });
	/* The first hole fills: 0..450 in order; the rest keep their order. */
	sack_step(&connection, start, 0, 100, 450, 2,
		  (const uint32_t[][2]){ { 600, 700 }, { 900, 1000 } });
	/* 450..650 fills the next hole and overlaps 600..700: acknowledged up to 700, one block. */
	sack_step(&connection, start, 450, 650, 700, 1, (const uint32_t[][2]){ { 900, 1000 } });
	/* Data ahead again, then the last holes. */
	sack_step(&connection, start, 1100, 1300, 700, 2,
		  (const uint32_t[][2]){ { 1100, 1300 }, { 900, 1000 } });
	sack_step(&connection, start, 700, 900, 1000, 1, (const uint32_t[][2]){ { 1100, 1300 } });
	sack_step(&connection, start, 1000, 1100, 1300, 0, NULL);
	assert_int_equal(net_tcp_receive(connection.socket, received, sizeof(received)), 1300);
	assert_memory_equal(received, payload, 1300);
	net_tcp_close(connection.socket);
	net_tcp_close(connection.listener);
}

/* Our data segments carry the SACK option while we hold out-of-order data, and their payload
 * shrinks by its size so that they still fit the MTU (RFC 6691). */
static void test_sack_blocks_on_data_segments_fit_the_mtu(void **state)
{
	struct established connection =
		passive_open_with(1024, peer_sack_syn_options, sizeof(peer_sack_syn_options));
	uint32_t start = connection.peer_next;
	static const uint32_t block[][2] = { { 300, 400 } };
	uint8_t options[40], data[3000];
	struct tcp_spec segment;

	(void)state;
	fill_pattern(payload, 400, 8);
	sack_step(&connection, start, 300, 400, 0, 1, block);
	clear_frames();
	fill_pattern(data, sizeof(data), 3);
	assert_int_equal(net_tcp_send(connection.socket, data, sizeof(data)), (int)sizeof(data));
	/* 1460 - 12 = 1448 per segment; the 104-byte rest waits for Nagle. */
	expect_frames(2);
	segment = from_us(connection.our_next, start, TCP_FLAG_ACK, (uint16_t)full_window(), data,
			  1448);
	segment.options = options;
	segment.options_length = sack_option(options, start, 1, block);
	expect_segment(0, segment);
	segment = from_us(connection.our_next + 1448, start, TCP_FLAG_ACK, (uint16_t)full_window(),
			  data + 1448, 1448);
	segment.options = options;
	segment.options_length = sack_option(options, start, 1, block);
	expect_segment(1, segment);
	assert_int_equal(test.frames[0].length, 14 + 1500);
	net_tcp_abort(connection.socket);
	net_tcp_close(connection.listener);
}

static int setup_small_buffers(void **state)
{
	struct net_limits limits = net_default_limits();

	limits.tcp_receive_buffer_bytes = 4096; /* scale 0 */
	limits.tcp_send_buffer_bytes = 4096;
	limits.tcp_msl_ns = 1000 * MS;
	return setup_stack_with_limits(state, &limits);
}

/* The peer ACKs `acknowledgment` carrying the given SACK option bytes. */
static void peer_acks_with_options(const struct established *connection, uint32_t acknowledgment,
				   const uint8_t *options, size_t options_length)
{
	receive(frame, build_tcp(frame, &(struct tcp_spec){
						.source = PEER_ADDRESS,
						.destination = OUR_ADDRESS,
						.source_port = PEER_PORT,
						.destination_port = LOCAL_PORT,
						.sequence = connection->peer_next,
						.acknowledgment = acknowledgment,
						.flags = TCP_FLAG_ACK,
						.window = 1024,
						.options = options,
						.options_length = options_length,
					}));
}

/* The peer ACKs start + acked with SACK blocks in whole segments of 1460 above start. */
static void peer_sacks(const struct established *connection, uint32_t start, uint32_t acked,
		       size_t count, const uint32_t segments[][2])
{
	uint32_t blocks[4][2];
	uint8_t options[40];
	size_t i;

	for (i = 0; i < count; i++) {
		blocks[i][0] = segments[i][0] * 1460;
		blocks[i][1] = segments[i][1] * 1460;
	}
	peer_acks_with_options(connection, start + acked * 1460, options,
			       sack_option(options, start, count, blocks));
}

/* A SACK connection that sent `segments` full segments from `start`. */
static struct established sack_sender(uint32_t segments)
{
	struct established connection =
		passive_open_with(1024, peer_sack_syn_options, sizeof(peer_sack_syn_options));

	assert_true(connection.socket->sack_permitted);
	fill_pattern(payload, segments * 1460, 9);
	assert_int_equal(net_tcp_send(connection.socket, payload, segments * 1460),
			 segments * 1460);
	expect_frames(segments);
	clear_frames();
	return connection;
}

static void expect_retransmit(size_t index, const struct established *connection, uint32_t start,
			      uint32_t segment)
{
	expect_segment(index, from_us(start + segment * 1460, connection->peer_next, TCP_FLAG_ACK,
				      (uint16_t)full_window(), payload + segment * 1460, 1460));
}

static void test_sack_blocks_parsed_and_invalid_ignored(void **state)
{
	struct established connection = sack_sender(8);
	struct net_tcp_socket *socket = connection.socket;
	uint32_t start = connection.our_next;
	static const uint32_t invalid[4][2] = {
		{ 3 * 1460, 3 * 1460 }, /* empty */
		{ 5 * 1460, 4 * 1460 }, /* reversed */
		{ 7 * 1460, 9 * 1460 }, /* beyond what we sent */
		{ -1460u, 1460 },	/* below the ACK */
	};
	static const uint32_t valid[4][2] = {
		{ 6 * 1460, 7 * 1460 },
		{ 2 * 1460, 2 * 1460 + 100 },
		{ 2 * 1460 + 100, 3 * 1460 }, /* touches the previous: merged */
		{ 4 * 1460, 5 * 1460 },
	};
	uint8_t options[40];

	(void)state;
	peer_acks_with_options(&connection, start, options,
			       sack_option(options, start, 4, invalid));
	assert_int_equal(socket->sacked_count, 0);
	/* A malformed SACK option (length not 2 + 8n) is ignored whole. */
	sack_option(options, start, 1, valid);
	options[3] = 12;
	peer_acks_with_options(&connection, start, options, 4 + 8);
	assert_int_equal(socket->sacked_count, 0);
	expect_frames(0);
	/* Four valid blocks in one option: sorted and merged into three ranges. */
	peer_acks_with_options(&connection, start, options, sack_option(options, start, 4, valid));
	assert_int_equal(socket->sacked_count, 3);
	assert_int_equal(socket->sacked[0].start, start + 2 * 1460);
	assert_int_equal(socket->sacked[0].end, start + 3 * 1460);
	assert_int_equal(socket->sacked[1].start, start + 4 * 1460);
	assert_int_equal(socket->sacked[1].end, start + 5 * 1460);
	assert_int_equal(socket->sacked[2].start, start + 6 * 1460);
	assert_int_equal(socket->sacked[2].end, start + 7 * 1460);
	/* 3 segments SACKed on the third duplicate ACK: recovery, holes 0, 3 and 5 as cwnd
	 * (ssthresh = 4 segments) and the pipe allow. */
	assert_true(socket->in_recovery);
	assert_int_equal(socket->congestion_window, 4 * 1460);
	net_tcp_abort(connection.socket);
	net_tcp_close(connection.listener);
}

static void test_sack_hole_retransmitted_on_first_sack(void **state)
{
	struct established connection = sack_sender(5);
	struct net_tcp_statistics statistics;
	uint32_t start = connection.our_next;
	static const uint32_t one_block[1][2] = { { 1, 4 } };

	(void)state;
	/* One duplicate ACK whose block shows 3 segments above the hole: retransmit at once. */
	peer_sacks(&connection, start, 0, 1, one_block);
	expect_frames(1);
	expect_retransmit(0, &connection, start, 0);
	net_tcp_get_statistics(connection.socket, &statistics);
	assert_int_equal(statistics.fast_retransmits, 1);
	assert_int_equal(statistics.slow_start_threshold, 5 * 1460 / 2);
	clear_frames();
	/* Another duplicate with the same news: the hole is not sent twice. */
	peer_sacks(&connection, start, 0, 1, one_block);
	expect_frames(0);
	/* The ACK of everything ends recovery. */
	peer_sacks(&connection, start, 5, 0, NULL);
	assert_false(connection.socket->in_recovery);
	assert_int_equal(connection.socket->sacked_count, 0);
	assert_int_equal(net_next_deadline(test.stack), NET_NO_DEADLINE);
	net_tcp_abort(connection.socket);
	net_tcp_close(connection.listener);
}

static void test_sack_two_holes_in_one_round_trip(void **state)
{
	struct established connection = sack_sender(8);
	uint32_t start = connection.our_next;
	static const uint32_t first[1][2] = { { 1, 3 } };
	static const uint32_t both[2][2] = { { 4, 8 }, { 1, 3 } };

	(void)state;
	/* Not yet: 2 segments SACKed, one duplicate ACK. */
	peer_sacks(&connection, start, 0, 1, first);
	expect_frames(0);
	/* Holes 0 and 3 shown: both go out on this ACK, lowest first. */
	peer_sacks(&connection, start, 0, 2, both);
	expect_frames(2);
	expect_retransmit(0, &connection, start, 0);
	expect_retransmit(1, &connection, start, 3);
	clear_frames();
	/* A partial ACK (hole 0 filled): hole 3 was already retransmitted, nothing more. */
	peer_sacks(&connection, start, 3, 1, both);
	expect_frames(0);
	assert_true(connection.socket->in_recovery);
	peer_sacks(&connection, start, 8, 0, NULL);
	assert_false(connection.socket->in_recovery);
	net_tcp_abort(connection.socket);
	net_tcp_close(connection.listener);
}

static void test_sack_without_negotiation_is_new_reno(void **state)
{
	struct established connection = passive_open(1024);
	uint32_t start = connection.our_next;
	static const uint32_t block[1][2] = { { 1, 4 } };

	(void)state;
	assert_false(connection.socket->sack_permitted);
	fill_pattern(payload, 5 * 1460, 9);
	assert_int_equal(net_tcp_send(connection.socket, payload, 5 * 1460), 5 * 1460);
	clear_frames();
	/* Blocks from a peer that never offered SACK are not used: one duplicate is not enough. */
	peer_sacks(&connection, start, 0, 1, block);
	expect_frames(0);
	assert_int_equal(connection.socket->sacked_count, 0);
	net_tcp_abort(connection.socket);
	net_tcp_close(connection.listener);
}

static void test_sack_scoreboard_pruned_and_cleared_on_rto(void **state)
{
	struct established connection = sack_sender(8);
	struct net_tcp_socket *socket = connection.socket;
	uint32_t start = connection.our_next;
	static const uint32_t blocks[2][2] = { { 2, 4 }, { 5, 6 } };

	(void)state;
	peer_sacks(&connection, start, 1, 2, blocks);
	assert_int_equal(socket->sacked_count, 2);
	clear_frames();
	/* send_unacknowledged to segment 3: the first range is cut to [3, 4). */
	peer_sacks(&connection, start, 3, 1, blocks + 1);
	assert_int_equal(socket->sacked_count, 2);
	assert_int_equal(socket->sacked[0].start, start + 3 * 1460);
	assert_int_equal(socket->sacked[0].end, start + 4 * 1460);
	/* To segment 4: that range is gone. */
	peer_sacks(&connection, start, 4, 1, blocks + 1);
	assert_int_equal(socket->sacked_count, 1);
	assert_int_equal(socket->sacked[0].start, start + 5 * 1460);
	clear_frames();
	/* The retransmission timer: scoreboard cleared, recovery abandoned, go back to 4. */
	advance_clock(net_next_deadline(test.stack) - test.now_ns);
	net_poll_timers(test.stack, test.now_ns);
	assert_int_equal(socket->sacked_count, 0);
	assert_false(socket->in_recovery);
	expect_frames(1);
	expect_retransmit(0, &connection, start, 4);
	net_tcp_abort(connection.socket);
	net_tcp_close(connection.listener);
}

/* Fire whatever timer is due next, checking it is at `delay` from now. */
static void fire_next_timer(uint64_t delay)
{
	assert_int_equal(net_next_deadline(test.stack), test.now_ns + delay);
	advance_clock(delay - 1);
	net_poll_timers(test.stack, test.now_ns);
	expect_frames(0);
	advance_clock(1);
	net_poll_timers(test.stack, test.now_ns);
}

static void test_loss_probe_retransmits_last_segment_then_sack_recovery(void **state)
{
	struct established connection = sack_sender(8);
	struct net_tcp_statistics statistics;
	uint32_t start = connection.our_next;
	static const uint32_t probe[1][2] = { { 7, 8 } };

	(void)state;
	/* The whole flight is lost: no ACK. PTO = 2 SRTT (0 here), at least 10 ms. */
	fire_next_timer(10 * MS);
	expect_frames(1);
	/* The last MSS (all data sent: no new data), PSH as it ends the buffer. */
	expect_segment(0,
		       from_us(start + 7 * 1460, connection.peer_next, TCP_FLAG_ACK | TCP_FLAG_PSH,
			       (uint16_t)full_window(), payload + 7 * 1460, 1460));
	clear_frames();
	/* One probe per tail: the next timer is the RTO, restarted with the probe. */
	assert_int_equal(net_next_deadline(test.stack), test.now_ns + 200 * MS);
	assert_int_equal(connection.socket->timers[TCP_TIMER_LOSS_PROBE], NET_NO_DEADLINE);
	/* The probe's ACK SACKs it: the hole below is lost, SACK recovery resends it (cwnd =
	 * ssthresh = 4 segments, the pipe allows 4 now). */
	peer_sacks(&connection, start, 0, 1, probe);
	assert_true(connection.socket->in_recovery);
	expect_frames(4);
	expect_retransmit(0, &connection, start, 0);
	expect_retransmit(1, &connection, start, 1);
	expect_retransmit(2, &connection, start, 2);
	expect_retransmit(3, &connection, start, 3);
	net_tcp_get_statistics(connection.socket, &statistics);
	assert_int_equal(statistics.loss_probes, 1);
	assert_int_equal(statistics.fast_retransmits, 1);
	assert_int_equal(statistics.timeouts, 0);
	clear_frames();
	/* Everything acknowledged: no timers left. */
	peer_sacks(&connection, start, 8, 0, NULL);
	assert_false(connection.socket->in_recovery);
	assert_int_equal(net_next_deadline(test.stack), NET_NO_DEADLINE);
	net_tcp_abort(connection.socket);
	net_tcp_close(connection.listener);
}

static void test_loss_probe_sends_new_data(void **state)
{
	struct established connection =
		passive_open_with(1024, peer_sack_syn_options, sizeof(peer_sack_syn_options));
	uint32_t start = connection.our_next;

	(void)state;
	fill_pattern(payload, 12 * 1460, 3);
	assert_int_equal(net_tcp_send(connection.socket, payload, 12 * 1460), 12 * 1460);
	expect_frames(10); /* the initial congestion window */
	clear_frames();
	fire_next_timer(10 * MS);
	/* Unsent data and the peer's window allow it: one new segment is the probe. */
	expect_frames(1);
	expect_segment(0, from_us(start + 10 * 1460, connection.peer_next, TCP_FLAG_ACK,
				  (uint16_t)full_window(), payload + 10 * 1460, 1460));
	assert_int_equal(connection.socket->send_max, start + 11 * 1460);
	clear_frames();
	/* No second probe for this tail even after new data went out; the RTO comes next. */
	assert_int_equal(net_next_deadline(test.stack), test.now_ns + 200 * MS);
	/* An ACK of new data (not past the probe) does not re-arm it either. */
	peer_sends(connection.peer_next, start + 2 * 1460, TCP_FLAG_ACK, 1024, NULL, 0);
	clear_frames();
	assert_int_equal(connection.socket->timers[TCP_TIMER_LOSS_PROBE], NET_NO_DEADLINE);
	/* Past the probe: a new tail, a new PTO. */
	peer_sends(connection.peer_next, start + 11 * 1460, TCP_FLAG_ACK, 1024, NULL, 0);
	assert_false(connection.socket->probe_sent);
	assert_true(connection.socket->send_max != connection.socket->send_unacknowledged);
	assert_true(connection.socket->timers[TCP_TIMER_LOSS_PROBE] != NET_NO_DEADLINE);
	net_tcp_abort(connection.socket);
	net_tcp_close(connection.listener);
}

static void test_no_loss_probe_when_nothing_outstanding(void **state)
{
	struct established connection = sack_sender(3);
	uint32_t start = connection.our_next;

	(void)state;
	assert_true(connection.socket->timers[TCP_TIMER_LOSS_PROBE] != NET_NO_DEADLINE);
	peer_sacks(&connection, start, 3, 0, NULL);
	assert_int_equal(connection.socket->timers[TCP_TIMER_LOSS_PROBE], NET_NO_DEADLINE);
	assert_int_equal(net_next_deadline(test.stack), NET_NO_DEADLINE);
	advance_clock(1000 * MS);
	net_poll_timers(test.stack, test.now_ns);
	expect_frames(0);
	assert_int_equal(connection.socket->statistics.loss_probes, 0);
	net_tcp_abort(connection.socket);
	net_tcp_close(connection.listener);
}

static void test_loss_probe_lost_then_rto(void **state)
{
	struct established connection = sack_sender(4);
	struct net_tcp_statistics statistics;
	uint32_t start = connection.our_next;

	(void)state;
	fire_next_timer(10 * MS);
	expect_frames(1);
	expect_segment(0,
		       from_us(start + 3 * 1460, connection.peer_next, TCP_FLAG_ACK | TCP_FLAG_PSH,
			       (uint16_t)full_window(), payload + 3 * 1460, 1460));
	clear_frames();
	/* The probe is lost as well: the RTO fires 200 ms after it, from the first segment. */
	fire_next_timer(200 * MS);
	expect_frames(1);
	expect_retransmit(0, &connection, start, 0);
	net_tcp_get_statistics(connection.socket, &statistics);
	assert_int_equal(statistics.loss_probes, 1);
	assert_int_equal(statistics.timeouts, 1);
	clear_frames();
	/* After a timeout no probe until the tail is acknowledged: the next timer is the RTO. */
	assert_int_equal(connection.socket->timers[TCP_TIMER_LOSS_PROBE], NET_NO_DEADLINE);
	assert_int_equal(net_next_deadline(test.stack), test.now_ns + 400 * MS);
	net_tcp_abort(connection.socket);
	net_tcp_close(connection.listener);
}

static void test_loss_probe_is_one_mss_with_tso(void **state)
{
	struct established connection;

	(void)state;
	test.interface->config.features |= NET_INTERFACE_TX_TSO4;
	connection = passive_open_with(1024, peer_sack_syn_options, sizeof(peer_sack_syn_options));
	fill_pattern(payload, 14600, 4);
	assert_int_equal(net_tcp_send(connection.socket, payload, 14600), 14600);
	expect_frames(1); /* one TSO frame */
	clear_frames();
	fire_next_timer(10 * MS);
	expect_frames(1);
	assert_int_equal(test.frames[0].offload.gso_type, RINGVISOR_NET_GSO_NONE);
	expect_segment(0, from_us(connection.our_next + 13140, connection.peer_next,
				  TCP_FLAG_ACK | TCP_FLAG_PSH, (uint16_t)full_window(),
				  payload + 13140, 1460));
	net_tcp_abort(connection.socket);
	net_tcp_close(connection.listener);
}

static void test_zero_window_then_update_when_application_reads(void **state)
{
	struct established connection = passive_open(1024);
	uint32_t start = connection.peer_next;
	int i;

	(void)state;
	fill_pattern(payload, 4096, 7);
	for (i = 0; i < 4; i++)
		peer_sends(start + (uint32_t)i * 1024, connection.our_next, TCP_FLAG_ACK, 1024,
			   payload + i * 1024, 1024);
	/* ACKs after the 2nd and 4th segments; the last says the window is closed. */
	expect_frames(2);
	/* The right edge stays where the SYN-ACK put it: 2048 left after 2048 bytes. */
	expect_segment(0, from_us(connection.our_next, start + 2048, TCP_FLAG_ACK, 2048, NULL, 0));
	expect_segment(1, from_us(connection.our_next, start + 4096, TCP_FLAG_ACK, 0, NULL, 0));
	clear_frames();
	/* The peer probes with one byte: refused, answered with the same zero window. */
	peer_sends(start + 4096, connection.our_next, TCP_FLAG_ACK, 1024, (const uint8_t *)"z", 1);
	expect_frames(1);
	expect_segment(0, from_us(connection.our_next, start + 4096, TCP_FLAG_ACK, 0, NULL, 0));
	clear_frames();
	/* A small read does not reopen the window (silly window avoidance)... */
	assert_int_equal(net_tcp_receive(connection.socket, received, 100), 100);
	expect_frames(0);
	/* ... reading it all does, with a window update. */
	assert_int_equal(net_tcp_receive(connection.socket, received + 100, sizeof(received)),
			 3996);
	assert_memory_equal(received, payload, 4096);
	expect_frames(1);
	expect_segment(0, from_us(connection.our_next, start + 4096, TCP_FLAG_ACK, 4096, NULL, 0));
	net_tcp_close(connection.socket);
	net_tcp_close(connection.listener);
}

static void test_zero_window_probes(void **state)
{
	struct established connection = passive_open(1024);

	(void)state;
	/* The peer closes its window. */
	peer_sends(connection.peer_next, connection.our_next, TCP_FLAG_ACK, 0, NULL, 0);
	assert_int_equal(net_tcp_send(connection.socket, "data", 4), 4);
	expect_frames(0);
	/* Persist timer: a probe (an old sequence number asks for an ACK), backing off. */
	advance_clock(200 * MS);
	net_poll_timers(test.stack, test.now_ns);
	expect_frames(1);
	expect_segment(0, from_us(connection.our_next - 1, connection.peer_next, TCP_FLAG_ACK,
				  (uint16_t)full_window(), NULL, 0));
	clear_frames();
	/* The peer answers, still closed: the next probe comes after twice the delay. */
	peer_sends(connection.peer_next, connection.our_next, TCP_FLAG_ACK, 0, NULL, 0);
	expect_frames(0);
	advance_clock(399 * MS);
	net_poll_timers(test.stack, test.now_ns);
	expect_frames(0);
	advance_clock(1 * MS);
	net_poll_timers(test.stack, test.now_ns);
	expect_frames(1);
	clear_frames();
	/* The window opens: the data goes at once. */
	peer_sends(connection.peer_next, connection.our_next, TCP_FLAG_ACK, 1024, NULL, 0);
	expect_frames(1);
	expect_segment(0, from_us(connection.our_next, connection.peer_next,
				  TCP_FLAG_ACK | TCP_FLAG_PSH, (uint16_t)full_window(),
				  (const uint8_t *)"data", 4));
	net_tcp_abort(connection.socket);
	net_tcp_close(connection.listener);
}

static void test_fin_in_established_then_last_ack(void **state)
{
	struct established connection = passive_open(1024);

	(void)state;
	peer_sends(connection.peer_next, connection.our_next, TCP_FLAG_ACK | TCP_FLAG_FIN, 1024,
		   NULL, 0);
	expect_frames(1);
	expect_segment(0, from_us(connection.our_next, connection.peer_next + 1, TCP_FLAG_ACK,
				  (uint16_t)full_window(), NULL, 0));
	assert_int_equal(net_tcp_state(connection.socket), NET_TCP_CLOSE_WAIT);
	assert_true(net_tcp_events(connection.socket) & NET_TCP_HANGUP);
	assert_int_equal(net_tcp_receive(connection.socket, received, 10), 0);
	clear_frames();
	/* CLOSE_WAIT: we may still send, then close sends our FIN: LAST_ACK. */
	assert_int_equal(net_tcp_send(connection.socket, "bye", 3), 3);
	expect_frames(1);
	clear_frames();
	peer_sends(connection.peer_next + 1, connection.our_next + 3, TCP_FLAG_ACK, 1024, NULL, 0);
	net_tcp_close(connection.socket);
	expect_frames(1);
	expect_segment(0, from_us(connection.our_next + 3, connection.peer_next + 1,
				  TCP_FLAG_ACK | TCP_FLAG_FIN, (uint16_t)full_window(), NULL, 0));
	clear_frames();
	/* The FIN is retransmitted if not acknowledged. */
	advance_clock(200 * MS);
	net_poll_timers(test.stack, test.now_ns);
	expect_frames(1);
	expect_segment(0, from_us(connection.our_next + 3, connection.peer_next + 1,
				  TCP_FLAG_ACK | TCP_FLAG_FIN, (uint16_t)full_window(), NULL, 0));
	clear_frames();
	peer_sends(connection.peer_next + 1, connection.our_next + 4, TCP_FLAG_ACK, 1024, NULL, 0);
	expect_frames(0);
	/* The orphan is gone: only the listener is left. */
	assert_int_equal(test.stack->tcp.socket_count, 1);
	assert_int_equal(net_next_deadline(test.stack), NET_NO_DEADLINE);
	net_tcp_close(connection.listener);
}

static void test_active_close_fin_wait_and_time_wait(void **state)
{
	struct established connection = passive_open(1024);

	(void)state;
	assert_int_equal(net_tcp_shutdown(connection.socket), 0);
	assert_int_equal(net_tcp_state(connection.socket), NET_TCP_FIN_WAIT_1);
	assert_int_equal(net_tcp_send(connection.socket, "x", 1), NET_ERROR_SHUT_DOWN);
	expect_frames(1);
	expect_segment(0, from_us(connection.our_next, connection.peer_next,
				  TCP_FLAG_ACK | TCP_FLAG_FIN, (uint16_t)full_window(), NULL, 0));
	clear_frames();
	peer_sends(connection.peer_next, connection.our_next + 1, TCP_FLAG_ACK, 1024, NULL, 0);
	assert_int_equal(net_tcp_state(connection.socket), NET_TCP_FIN_WAIT_2);
	/* FIN_WAIT_2 still receives. */
	peer_sends(connection.peer_next, connection.our_next + 1, TCP_FLAG_ACK | TCP_FLAG_PSH, 1024,
		   (const uint8_t *)"late", 4);
	assert_int_equal(net_tcp_receive(connection.socket, received, 10), 4);
	peer_sends(connection.peer_next + 4, connection.our_next + 1, TCP_FLAG_ACK | TCP_FLAG_FIN,
		   1024, NULL, 0);
	assert_int_equal(net_tcp_state(connection.socket), NET_TCP_TIME_WAIT);
	expect_frames(1);
	/* 5 sequence numbers in: not worth moving the right edge for (SWS avoidance). */
	expect_segment(0, from_us(connection.our_next + 1, connection.peer_next + 5, TCP_FLAG_ACK,
				  (uint16_t)((262144 - 5) >> 3), NULL, 0));
	clear_frames();
	/* A retransmitted FIN in TIME_WAIT is acknowledged again. */
	peer_sends(connection.peer_next + 4, connection.our_next + 1, TCP_FLAG_ACK | TCP_FLAG_FIN,
		   1024, NULL, 0);
	expect_frames(1);
	struct tcp_spec again;
	parse_tcp(&test.frames[0], &again);
	assert_int_equal(again.flags, TCP_FLAG_ACK);
	assert_int_equal(again.sequence, connection.our_next + 1);
	assert_int_equal(again.acknowledgment, connection.peer_next + 5);
	clear_frames();
	/* 2 MSL (30 s each by default) later it is CLOSED. */
	assert_int_equal(net_next_deadline(test.stack), test.now_ns + 60000 * MS);
	advance_clock(60000 * MS);
	net_poll_timers(test.stack, test.now_ns);
	assert_int_equal(net_tcp_state(connection.socket), NET_TCP_CLOSED);
	assert_int_equal(net_tcp_receive(connection.socket, received, 10), 0);
	net_tcp_close(connection.socket);
	net_tcp_close(connection.listener);
}

static void test_simultaneous_close_closing(void **state)
{
	struct established connection = passive_open(1024);

	(void)state;
	net_tcp_close(connection.socket); /* FIN_WAIT_1, an orphan now */
	expect_frames(1);
	clear_frames();
	/* Their FIN crosses ours (it does not acknowledge ours): CLOSING. */
	peer_sends(connection.peer_next, connection.our_next, TCP_FLAG_ACK | TCP_FLAG_FIN, 1024,
		   NULL, 0);
	expect_frames(1);
	expect_segment(0, from_us(connection.our_next + 1, connection.peer_next + 1, TCP_FLAG_ACK,
				  4095, NULL, 0));
	assert_int_equal(connection.socket->state, NET_TCP_CLOSING);
	clear_frames();
	peer_sends(connection.peer_next + 1, connection.our_next + 1, TCP_FLAG_ACK, 1024, NULL, 0);
	assert_int_equal(connection.socket->state, NET_TCP_TIME_WAIT);
	expect_frames(0);
	advance_clock(2000 * MS); /* 2 MSL of 1 s */
	net_poll_timers(test.stack, test.now_ns);
	assert_int_equal(test.stack->tcp.socket_count, 1);
	net_tcp_close(connection.listener);
}

static void test_fin_wait_1_fin_with_ack_goes_to_time_wait(void **state)
{
	struct established connection = passive_open(1024);

	(void)state;
	assert_int_equal(net_tcp_shutdown(connection.socket), 0);
	clear_frames();
	peer_sends(connection.peer_next, connection.our_next + 1, TCP_FLAG_ACK | TCP_FLAG_FIN, 1024,
		   NULL, 0);
	assert_int_equal(net_tcp_state(connection.socket), NET_TCP_TIME_WAIT);
	expect_frames(1);
	expect_segment(0, from_us(connection.our_next + 1, connection.peer_next + 1, TCP_FLAG_ACK,
				  4095, NULL, 0));
	advance_clock(2000 * MS);
	net_poll_timers(test.stack, test.now_ns);
	assert_int_equal(net_tcp_state(connection.socket), NET_TCP_CLOSED);
	net_tcp_close(connection.socket);
	net_tcp_close(connection.listener);
}

static void test_rst_in_syn_sent(void **state)
{
	struct net_tcp_socket *socket = net_tcp_open(test.stack);
	struct net_tcp_endpoint local;
	struct tcp_spec syn;

	(void)state;
	resolve_peer();
	assert_int_equal(net_tcp_connect(socket, PEER_ADDRESS, 8080), 0);
	net_tcp_endpoints(socket, &local, NULL);
	parse_tcp(&test.frames[0], &syn);
	clear_frames();
	/* A RST whose ACK is not for our SYN is ignored. */
	receive(frame,
		build_tcp(frame, &(struct tcp_spec){ .source = PEER_ADDRESS,
						     .destination = OUR_ADDRESS,
						     .source_port = 8080,
						     .destination_port = local.port,
						     .acknowledgment = syn.sequence + 7,
						     .flags = TCP_FLAG_RST | TCP_FLAG_ACK }));
	assert_int_equal(net_tcp_state(socket), NET_TCP_SYN_SENT);
	expect_frames(0);
	receive(frame,
		build_tcp(frame, &(struct tcp_spec){ .source = PEER_ADDRESS,
						     .destination = OUR_ADDRESS,
						     .source_port = 8080,
						     .destination_port = local.port,
						     .acknowledgment = syn.sequence + 1,
						     .flags = TCP_FLAG_RST | TCP_FLAG_ACK }));
	assert_int_equal(net_tcp_state(socket), NET_TCP_CLOSED);
	assert_int_equal(net_tcp_error(socket), NET_ERROR_CONNECTION_REFUSED);
	assert_true(net_tcp_events(socket) & NET_TCP_ERROR);
	assert_int_equal(net_tcp_receive(socket, received, 10), NET_ERROR_CONNECTION_REFUSED);
	expect_frames(0);
	assert_int_equal(net_next_deadline(test.stack), NET_NO_DEADLINE);
	net_tcp_close(socket);
}

static void test_rst_in_syn_received(void **state)
{
	struct net_tcp_socket *listener = net_tcp_open(test.stack);
	struct tcp_spec syn_ack;

	(void)state;
	resolve_peer();
	assert_int_equal(net_tcp_bind(listener, 0, LOCAL_PORT), 0);
	assert_int_equal(net_tcp_listen(listener, 4), 0);
	peer_sends(PEER_ISN, 0, TCP_FLAG_SYN, 65535, NULL, 0);
	parse_tcp(&test.frames[0], &syn_ack);
	assert_int_equal(listener->child_count, 1);
	clear_frames();
	peer_sends(PEER_ISN + 1, 0, TCP_FLAG_RST, 0, NULL, 0);
	assert_int_equal(listener->child_count, 0);
	assert_null(net_tcp_accept(listener, NULL));
	expect_frames(0);
	assert_int_equal(net_next_deadline(test.stack), NET_NO_DEADLINE);
	net_tcp_close(listener);
}

static void test_rst_in_established(void **state)
{
	struct established connection = passive_open(1024);

	(void)state;
	/* In the window but not exactly at receive_next: a challenge ACK (RFC 5961). */
	peer_sends(connection.peer_next + 10, 0, TCP_FLAG_RST, 0, NULL, 0);
	expect_frames(1);
	expect_segment(0, from_us(connection.our_next, connection.peer_next, TCP_FLAG_ACK,
				  (uint16_t)full_window(), NULL, 0));
	assert_int_equal(net_tcp_state(connection.socket), NET_TCP_ESTABLISHED);
	clear_frames();
	peer_sends(connection.peer_next, 0, TCP_FLAG_RST, 0, NULL, 0);
	expect_frames(0);
	assert_int_equal(net_tcp_state(connection.socket), NET_TCP_CLOSED);
	assert_int_equal(net_tcp_receive(connection.socket, received, 10),
			 NET_ERROR_CONNECTION_RESET);
	assert_int_equal(net_tcp_send(connection.socket, "x", 1), NET_ERROR_CONNECTION_RESET);
	assert_int_equal(counters()->tcp_resets_received, 1);
	net_tcp_close(connection.socket);
	net_tcp_close(connection.listener);
}

static void test_syn_in_established_gets_challenge_ack(void **state)
{
	struct established connection = passive_open(1024);

	(void)state;
	peer_sends(connection.peer_next + 5, 0, TCP_FLAG_SYN, 1024, NULL, 0);
	expect_frames(1);
	expect_segment(0, from_us(connection.our_next, connection.peer_next, TCP_FLAG_ACK,
				  (uint16_t)full_window(), NULL, 0));
	assert_int_equal(net_tcp_state(connection.socket), NET_TCP_ESTABLISHED);
	net_tcp_abort(connection.socket);
	net_tcp_close(connection.listener);
}

static void test_rst_for_no_connection(void **state)
{
	struct tcp_spec reset;

	(void)state;
	resolve_peer();
	/* A SYN to a closed port: RST|ACK, sequence 0, acknowledging the SYN and its data. */
	peer_sends(PEER_ISN, 0, TCP_FLAG_SYN, 1024, (const uint8_t *)"abc", 3);
	expect_frames(1);
	reset = from_us(0, PEER_ISN + 4, TCP_FLAG_RST | TCP_FLAG_ACK, 0, NULL, 0);
	expect_segment(0, reset);
	clear_frames();
	/* A segment with an ACK: RST with its acknowledgment as sequence. */
	peer_sends(PEER_ISN, 123456, TCP_FLAG_ACK, 1024, NULL, 0);
	expect_frames(1);
	expect_segment(0, from_us(123456, 0, TCP_FLAG_RST, 0, NULL, 0));
	clear_frames();
	/* Never a RST for a RST. */
	peer_sends(PEER_ISN, 0, TCP_FLAG_RST, 0, NULL, 0);
	expect_frames(0);
	assert_int_equal(counters()->tcp_no_connection, 3);
	assert_int_equal(counters()->tcp_resets_sent, 2);
}

static void test_listen_backlog_full(void **state)
{
	struct net_tcp_socket *listener = net_tcp_open(test.stack);

	(void)state;
	resolve_peer();
	assert_int_equal(net_tcp_bind(listener, 0, LOCAL_PORT), 0);
	assert_int_equal(net_tcp_listen(listener, 1), 0);
	peer_sends(PEER_ISN, 0, TCP_FLAG_SYN, 1024, NULL, 0);
	expect_frames(1);
	clear_frames();
	/* A second peer port: the backlog of one is taken, the SYN is dropped silently. */
	receive(frame, build_tcp(frame, &(struct tcp_spec){ .source = PEER_ADDRESS,
							    .destination = OUR_ADDRESS,
							    .source_port = PEER_PORT + 1,
							    .destination_port = LOCAL_PORT,
							    .sequence = 9,
							    .flags = TCP_FLAG_SYN,
							    .window = 1024 }));
	expect_frames(0);
	assert_int_equal(counters()->tcp_listen_overflow, 1);
	assert_int_equal(listener->child_count, 1);
	net_tcp_close(listener); /* resets the half-open connection */
	expect_frames(1);
	struct tcp_spec reset;
	parse_tcp(&test.frames[0], &reset);
	assert_true(reset.flags & TCP_FLAG_RST);
	assert_int_equal(reset.destination_port, PEER_PORT);
	assert_int_equal(test.stack->tcp.socket_count, 0);
}

static void test_syn_received_retransmits_syn_ack_then_gives_up(void **state)
{
	struct net_tcp_socket *listener = net_tcp_open(test.stack);
	struct tcp_spec first, again;
	int i;

	(void)state;
	resolve_peer();
	assert_int_equal(net_tcp_bind(listener, 0, LOCAL_PORT), 0);
	assert_int_equal(net_tcp_listen(listener, 4), 0);
	peer_sends(PEER_ISN, 0, TCP_FLAG_SYN, 1024, NULL, 0);
	parse_tcp(&test.frames[0], &first);
	clear_frames();
	/* Their SYN again (our SYN-ACK was lost): the SYN-ACK again. */
	peer_sends(PEER_ISN, 0, TCP_FLAG_SYN, 1024, NULL, 0);
	expect_frames(1);
	parse_tcp(&test.frames[0], &again);
	assert_int_equal(again.sequence, first.sequence);
	assert_int_equal(again.flags, TCP_FLAG_SYN | TCP_FLAG_ACK);
	clear_frames();
	/* Then the timer: 1 s, 2 s, ... 32 s: 6 retries, and 60 s (the RTO cap) after the last the
	 * half-open connection goes (other deadlines on the way are ARP's). */
	{
		uint64_t start = test.now_ns;

		for (i = 0; i < 40 && listener->child_count > 0; i++) {
			advance_clock(net_next_deadline(test.stack) - test.now_ns);
			net_poll_timers(test.stack, test.now_ns);
		}
		assert_int_equal(test.now_ns - start, 123000 * MS);
	}
	assert_int_equal(listener->child_count, 0);
	assert_int_equal(test.stack->tcp.socket_count, 1);
	net_tcp_close(listener);
}

static void test_receive_checks(void **state)
{
	struct net_tcp_socket *listener = net_tcp_open(test.stack);
	size_t length;

	(void)state;
	resolve_peer();
	assert_int_equal(net_tcp_bind(listener, 0, LOCAL_PORT), 0);
	assert_int_equal(net_tcp_listen(listener, 4), 0);
	length = build_tcp(frame, &(struct tcp_spec){ .source = PEER_ADDRESS,
						      .destination = OUR_ADDRESS,
						      .source_port = PEER_PORT,
						      .destination_port = LOCAL_PORT,
						      .sequence = 1,
						      .flags = TCP_FLAG_SYN,
						      .window = 1024 });
	frame[14 + 20 + 4] ^= 1; /* the sequence number, under the checksum */
	receive(frame, length);
	assert_int_equal(counters()->tcp_bad_checksum, 1);
	/* The same frame vouched for by the NIC is taken. */
	receive_with_offload(frame, length, RINGVISOR_NET_HEADER_DATA_VALID);
	expect_frames(1);
	clear_frames();
	/* A header cut short: 19 bytes of TCP. */
	receive(frame, build_ipv4(frame, our_mac, peer_mac, PEER_ADDRESS, OUR_ADDRESS, 6, 1, 0,
				  payload, 19));
	assert_int_equal(counters()->tcp_truncated, 1);
	/* Data offset 15 words in a 20-byte segment. */
	memset(payload, 0, 20);
	payload[12] = 0xf0;
	receive(frame, build_ipv4(frame, our_mac, peer_mac, PEER_ADDRESS, OUR_ADDRESS, 6, 1, 0,
				  payload, 20));
	assert_int_equal(counters()->tcp_bad_header_length, 1);
	/* Options that run past the header are ignored, not trusted. */
	{
		static const uint8_t bad_options[] = { 1, 2, 40, 0 }; /* MSS with length 40 */

		receive(frame, build_tcp(frame, &(struct tcp_spec){
							.source = PEER_ADDRESS,
							.destination = OUR_ADDRESS,
							.source_port = PEER_PORT + 1,
							.destination_port = LOCAL_PORT,
							.sequence = 1,
							.flags = TCP_FLAG_SYN,
							.window = 1024,
							.options = bad_options,
							.options_length = sizeof(bad_options),
						}));
		expect_frames(1); /* a SYN-ACK, with the default MSS assumed */
	}
	/* To the subnet broadcast: dropped. */
	receive(frame, build_tcp(frame, &(struct tcp_spec){ .source = PEER_ADDRESS,
							    .destination = SUBNET_BROADCAST,
							    .source_port = PEER_PORT + 2,
							    .destination_port = LOCAL_PORT,
							    .sequence = 1,
							    .flags = TCP_FLAG_SYN,
							    .window = 1024 }));
	assert_int_equal(counters()->tcp_broadcast, 1);
	expect_frames(1);
	net_tcp_close(listener);
}

static int setup_tso(void **state)
{
	(void)state;
	return setup_stack_with_checksum_offload(state);
}

static void test_tso_and_checksum_offload(void **state)
{
	struct established connection;
	struct captured_frame *sent;
	struct tcp_spec spec;

	(void)state;
	/* Turn TSO on for the interface the fixture made. */
	test.interface->config.features |= NET_INTERFACE_TX_TSO4;
	connection = passive_open(1024);
	fill_pattern(payload, 20000, 8);
	assert_int_equal(net_tcp_send(connection.socket, payload, 20000), 20000);
	/* The initial window is 10 segments: one TSO frame of 14600 bytes. */
	expect_frames(1);
	sent = &test.frames[0];
	assert_int_equal(sent->offload.flags, RINGVISOR_NET_HEADER_NEEDS_CSUM);
	assert_int_equal(sent->offload.gso_type, RINGVISOR_NET_GSO_TCPV4);
	assert_int_equal(sent->offload.gso_size, 1460);
	assert_int_equal(sent->offload.header_length, 14 + 20 + 20);
	assert_int_equal(sent->offload.checksum_start, 34);
	assert_int_equal(sent->offload.checksum_offset, 16);
	spec = from_us(connection.our_next, connection.peer_next, TCP_FLAG_ACK,
		       (uint16_t)full_window(), payload, 14600);
	assert_tcp_frame(sent, &spec);
	clear_frames();
	/* The ACK opens cwnd by 2 MSS (byte counting, L = 2): the rest goes, one frame. */
	peer_sends(connection.peer_next, connection.our_next + 14600, TCP_FLAG_ACK, 1024, NULL, 0);
	expect_frames(1);
	spec = from_us(connection.our_next + 14600, connection.peer_next,
		       TCP_FLAG_ACK | TCP_FLAG_PSH, (uint16_t)full_window(), payload + 14600, 5400);
	assert_tcp_frame(&test.frames[0], &spec);
	assert_int_equal(test.frames[0].offload.gso_size, 1460);
	net_tcp_abort(connection.socket);
	net_tcp_close(connection.listener);
}

/* A NIC that takes TSO frames of at most N segments (RINGVISOR_NET_GSO_SEGMENTS_MAX for ours,
 * which refuses more), counted from the frame's length with TCP options as payload: the stack's
 * TSO frames never hold more, whatever the MSS and with room for the most options (40 bytes),
 * so 4 allowed segments of 1460 carry 3. */
static void test_tso_frames_stay_within_the_nics_segments(void **state)
{
	struct established connection;
	struct tcp_spec spec;

	(void)state;
	test.interface->config.features |= NET_INTERFACE_TX_TSO4;
	test.interface->config.tso_max_segments = 4;
	connection = passive_open(1024);
	fill_pattern(payload, 20000, 8);
	assert_int_equal(net_tcp_send(connection.socket, payload, 20000), 20000);
	/* The initial window, 10 segments of 1460, as TSO frames of 3. */
	expect_frames(4);
	for (unsigned index = 0; index < 4; index++) {
		uint32_t offset = index * 3 * 1460, length = index < 3 ? 3 * 1460 : 1460;
		spec = from_us(connection.our_next + offset, connection.peer_next, TCP_FLAG_ACK,
			       (uint16_t)full_window(), payload + offset, length);
		assert_tcp_frame(&test.frames[index], &spec);
		if (length > 1460)
			assert_int_equal(test.frames[index].offload.gso_size, 1460);
	}
	net_tcp_abort(connection.socket);
	net_tcp_close(connection.listener);
}

static int setup_long_arp(void **state)
{
	struct net_limits limits = net_default_limits();

	limits.arp_reachable_ns = 1000000000 * MS; /* the peer stays resolved for hours */
	return setup_stack_with_limits(state, &limits);
}

static void test_keepalive_probes_then_timeout(void **state)
{
	struct established connection = passive_open(1024);
	uint32_t i;

	(void)state;
	net_tcp_set_keepalive(connection.socket, true);
	assert_int_equal(net_next_deadline(test.stack), test.now_ns + 7200000 * MS);
	advance_clock(7200000 * MS);
	net_poll_timers(test.stack, test.now_ns);
	/* The probe: an old sequence number (and no data) asks for an ACK. */
	expect_frames(1);
	expect_segment(0, from_us(connection.our_next - 1, connection.peer_next, TCP_FLAG_ACK,
				  (uint16_t)full_window(), NULL, 0));
	clear_frames();
	/* The peer answers: idle again. */
	peer_sends(connection.peer_next, connection.our_next, TCP_FLAG_ACK, 1024, NULL, 0);
	assert_int_equal(net_next_deadline(test.stack), test.now_ns + 7200000 * MS);
	/* Then silence: 9 probes 75 s apart, then a reset. */
	advance_clock(7200000 * MS);
	net_poll_timers(test.stack, test.now_ns);
	for (i = 1; i < 10; i++) {
		advance_clock(75000 * MS);
		net_poll_timers(test.stack, test.now_ns);
	}
	assert_int_equal(net_tcp_state(connection.socket), NET_TCP_CLOSED);
	assert_int_equal(net_tcp_error(connection.socket), NET_ERROR_TIMED_OUT);
	/* 9 probes in the silence, then the RST. */
	expect_frames(10);
	parse_tcp(&test.frames[9], &(struct tcp_spec){ 0 });
	assert_int_equal(test.frames[9].data[14 + 20 + 13], TCP_FLAG_RST | TCP_FLAG_ACK);
	assert_int_equal(counters()->tcp_resets_sent, 1);
	net_tcp_close(connection.socket);
	net_tcp_close(connection.listener);
}

static void test_isn_keyed_per_connection_and_clocked(void **state)
{
	uint32_t a = tcp_initial_sequence(test.stack, OUR_ADDRESS, 1, PEER_ADDRESS, 2);
	uint32_t b = tcp_initial_sequence(test.stack, OUR_ADDRESS, 1, PEER_ADDRESS, 3);
	uint32_t later;

	(void)state;
	assert_int_not_equal(a, b);
	advance_clock(4000 * 1000); /* 4 ms = 1000 ticks of 4 us */
	later = tcp_initial_sequence(test.stack, OUR_ADDRESS, 1, PEER_ADDRESS, 2);
	assert_int_equal(later - a, 1000);
}

static void test_callbacks_and_bind_rules(void **state)
{
	struct net_tcp_socket *first = net_tcp_open(test.stack);
	struct net_tcp_socket *second = net_tcp_open(test.stack);

	(void)state;
	assert_int_equal(net_tcp_bind(first, 0, 8080), 0);
	assert_int_equal(net_tcp_bind(second, OUR_ADDRESS, 8080), NET_ERROR_ADDRESS_IN_USE);
	assert_int_equal(net_tcp_bind(second, NET_IPV4_ADDRESS(10, 0, 0, 1), 8081),
			 NET_ERROR_INVALID);
	assert_int_equal(net_tcp_listen(first, 2), 0);
	assert_int_equal(net_tcp_connect(first, PEER_ADDRESS, 1), NET_ERROR_IS_CONNECTED);
	assert_int_equal(net_tcp_receive(second, received, 1), NET_ERROR_NOT_CONNECTED);
	assert_int_equal(net_tcp_send(second, "x", 1), NET_ERROR_NOT_CONNECTED);
	assert_string_equal(net_tcp_state_name(NET_TCP_TIME_WAIT), "TIME_WAIT");
	net_tcp_close(second);
	net_tcp_close(first);
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup_stack, teardown_stack)
#define SMALL(name) cmocka_unit_test_setup_teardown(name, setup_small_buffers, teardown_stack)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_passive_open_exact_segments),
		TEST(test_active_open_exact_segments),
		TEST(test_active_open_without_window_scale),
		TEST(test_data_in_delayed_ack),
		TEST(test_every_second_full_segment_acked_at_once),
		TEST(test_gro_segment_acked_at_once),
		TEST(test_gro_segments_of_one_batch_share_an_ack),
		TEST(test_data_out_segments_and_nagle),
		TEST(test_retransmission_after_rto),
		TEST(test_rtt_estimation),
		TEST(test_fast_retransmit_and_new_reno),
		TEST(test_out_of_order_reassembled),
		TEST(test_sack_permitted_passive_open),
		TEST(test_no_sack_blocks_unless_negotiated),
		TEST(test_sack_permitted_active_open),
		TEST(test_sack_blocks_exact),
		TEST(test_sack_blocks_on_data_segments_fit_the_mtu),
		TEST(test_sack_blocks_parsed_and_invalid_ignored),
		TEST(test_sack_hole_retransmitted_on_first_sack),
		TEST(test_sack_two_holes_in_one_round_trip),
		TEST(test_sack_without_negotiation_is_new_reno),
		TEST(test_sack_scoreboard_pruned_and_cleared_on_rto),
		TEST(test_loss_probe_retransmits_last_segment_then_sack_recovery),
		TEST(test_loss_probe_sends_new_data),
		TEST(test_no_loss_probe_when_nothing_outstanding),
		TEST(test_loss_probe_lost_then_rto),
		cmocka_unit_test_setup_teardown(test_loss_probe_is_one_mss_with_tso, setup_tso,
						teardown_stack),
		SMALL(test_zero_window_then_update_when_application_reads),
		TEST(test_zero_window_probes),
		TEST(test_fin_in_established_then_last_ack),
		TEST(test_active_close_fin_wait_and_time_wait),
		SMALL(test_simultaneous_close_closing),
		SMALL(test_fin_wait_1_fin_with_ack_goes_to_time_wait),
		TEST(test_rst_in_syn_sent),
		TEST(test_rst_in_syn_received),
		TEST(test_rst_in_established),
		TEST(test_syn_in_established_gets_challenge_ack),
		TEST(test_rst_for_no_connection),
		TEST(test_listen_backlog_full),
		TEST(test_syn_received_retransmits_syn_ack_then_gives_up),
		TEST(test_receive_checks),
		cmocka_unit_test_setup_teardown(test_tso_and_checksum_offload, setup_tso,
						teardown_stack),
		cmocka_unit_test_setup_teardown(test_tso_frames_stay_within_the_nics_segments,
						setup_tso, teardown_stack),
		cmocka_unit_test_setup_teardown(test_keepalive_probes_then_timeout, setup_long_arp,
						teardown_stack),
		TEST(test_isn_keyed_per_connection_and_clocked),
		TEST(test_callbacks_and_bind_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
