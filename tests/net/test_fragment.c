/*
 * test_fragment.c - IPv4 fragmentation on send and reassembly on receive: orderings, overlaps,
 * duplicates, limits and the timeout.
 */
#include "net_test.h"

#include <string.h>

#define BIG_PAYLOAD NET_UDP_MAX_PAYLOAD
#define FRAGMENT_BYTES 1480 /* payload of a full fragment at MTU 1500 */

static uint8_t payload[BIG_PAYLOAD];
static uint8_t segment[65536];
static uint8_t reassembled[65536];
static uint8_t received[65536];
static uint8_t frame[BIG_FRAME];

static void fill_payload(void)
{
	size_t i;

	for (i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7 + (i >> 8));
}

static void test_send_fragments_65507_bytes(void **state)
{
	struct net_udp_socket *socket = net_udp_open(test.stack);
	size_t segment_length, i, offset = 0, expected_fragments;
	uint16_t identification = 0;

	(void)state;
	fill_payload();
	resolve_peer();
	assert_int_equal(net_udp_bind(socket, 0, 4000), 0);
	assert_int_equal(net_udp_send_to(socket, PEER_ADDRESS, 5000, payload, BIG_PAYLOAD),
			 BIG_PAYLOAD);
	segment_length = build_udp_segment(segment, OUR_ADDRESS, PEER_ADDRESS, 4000, 5000, payload,
					   BIG_PAYLOAD);
	expected_fragments = (segment_length + FRAGMENT_BYTES - 1) / FRAGMENT_BYTES;
	assert_int_equal(test.frame_count, expected_fragments);
	assert_int_equal(expected_fragments, 45);
	for (i = 0; i < test.frame_count; i++) {
		const struct captured_frame *fragment = &test.frames[i];
		const uint8_t *ip = fragment->data + 14;
		uint16_t field = (uint16_t)(ip[6] << 8 | ip[7]);
		size_t data_length = fragment->length - 34;
		bool last = i + 1 == test.frame_count;

		assert_true(fragment->length <= 1514);
		assert_ipv4_checksums_valid(fragment);
		assert_memory_equal(fragment->data, peer_mac, 6);
		assert_int_equal(fragment->offload.flags, 0);
		if (i == 0)
			identification = (uint16_t)(ip[4] << 8 | ip[5]);
		assert_int_equal(ip[4] << 8 | ip[5], identification);
		assert_int_equal((field & 0x1fff) * 8, offset);
		assert_int_equal((field & 0x2000) != 0, !last);
		if (!last)
			assert_int_equal(data_length, FRAGMENT_BYTES);
		memcpy(reassembled + offset, ip + 20, data_length);
		offset += data_length;
	}
	assert_int_equal(offset, segment_length);
	assert_memory_equal(reassembled, segment, segment_length);
	assert_int_equal(counters()->ipv4_fragments_sent, 45);
	assert_int_equal(counters()->ipv4_sent, 1);
}

static void test_fragments_computed_in_software_despite_offload(void **state)
{
	struct net_udp_socket *socket = net_udp_open(test.stack);
	size_t segment_length, i, offset = 0;

	(void)state;
	fill_payload();
	resolve_peer();
	assert_int_equal(net_udp_bind(socket, 0, 4000), 0);
	assert_int_equal(net_udp_send_to(socket, PEER_ADDRESS, 5000, payload, 3000), 3000);
	segment_length =
		build_udp_segment(segment, OUR_ADDRESS, PEER_ADDRESS, 4000, 5000, payload, 3000);
	assert_int_equal(test.frame_count, 3);
	for (i = 0; i < test.frame_count; i++) {
		assert_int_equal(test.frames[i].offload.flags, 0);
		memcpy(reassembled + offset, test.frames[i].data + 34, test.frames[i].length - 34);
		offset += test.frames[i].length - 34;
	}
	assert_memory_equal(reassembled, segment, segment_length);
}

/* Split a UDP datagram from the peer to port 7 into fragment frames; returns their count. */
static size_t make_fragments(size_t payload_length, size_t *starts, size_t *lengths,
			     uint8_t frames[][1514], uint16_t identification)
{
	size_t segment_length = build_udp_segment(segment, PEER_ADDRESS, OUR_ADDRESS, 40000, 7,
						  payload, payload_length);
	size_t count = 0, offset;

	for (offset = 0; offset < segment_length; offset += FRAGMENT_BYTES) {
		size_t length = segment_length - offset < FRAGMENT_BYTES ? segment_length - offset
									 : FRAGMENT_BYTES;
		uint16_t field = (uint16_t)(offset / 8);

		if (offset + length < segment_length)
			field |= 0x2000;
		starts[count] = offset;
		lengths[count] =
			build_ipv4(frames[count], our_mac, peer_mac, PEER_ADDRESS, OUR_ADDRESS, 17,
				   identification, field, segment + offset, length);
		count++;
	}
	return count;
}

static uint8_t fragment_frames[64][1514];
static size_t fragment_starts[64], fragment_lengths[64];

static void receive_big_datagram(const size_t *order, size_t count)
{
	struct net_udp_socket *socket = net_udp_open(test.stack);
	uint64_t fragments_before = counters()->ipv4_fragments_received;
	uint64_t reassembled_before = counters()->ipv4_reassembled;
	struct net_udp_endpoint from;
	size_t i;

	assert_int_equal(net_udp_bind(socket, 0, 7), 0);
	for (i = 0; i < count; i++) {
		assert_false(net_udp_readable(socket));
		receive(fragment_frames[order[i]], fragment_lengths[order[i]]);
	}
	assert_int_equal(counters()->ipv4_fragments_received - fragments_before, count);
	assert_int_equal(counters()->ipv4_reassembled - reassembled_before, 1);
	assert_int_equal(net_udp_receive_from(socket, received, sizeof(received), &from),
			 BIG_PAYLOAD);
	assert_memory_equal(received, payload, BIG_PAYLOAD);
	assert_int_equal(from.address, PEER_ADDRESS);
	assert_int_equal(from.port, 40000);
	assert_null(test.stack->reassembly);
	assert_int_equal(test.stack->reassembly_bytes, 0);
	net_udp_close(socket);
}

static void test_reassembly_in_order(void **state)
{
	size_t order[64], count, i;

	(void)state;
	fill_payload();
	count = make_fragments(BIG_PAYLOAD, fragment_starts, fragment_lengths, fragment_frames, 77);
	for (i = 0; i < count; i++)
		order[i] = i;
	receive_big_datagram(order, count);
}

static void test_reassembly_reversed(void **state)
{
	size_t order[64], count, i;

	(void)state;
	fill_payload();
	count = make_fragments(BIG_PAYLOAD, fragment_starts, fragment_lengths, fragment_frames, 78);
	for (i = 0; i < count; i++)
		order[i] = count - 1 - i;
	receive_big_datagram(order, count);
}

static void test_reassembly_shuffled(void **state)
{
	size_t order[64], count, i, round;
	uint32_t random = 12345;

	(void)state;
	fill_payload();
	for (round = 0; round < 5; round++) {
		count = make_fragments(BIG_PAYLOAD, fragment_starts, fragment_lengths,
				       fragment_frames, (uint16_t)(100 + round));
		for (i = 0; i < count; i++)
			order[i] = i;
		for (i = count - 1; i > 0; i--) { /* Fisher-Yates with a fixed LCG */
			size_t j, swap;

			random = random * 1103515245u + 12345u;
			j = (random >> 8) % (i + 1);
			swap = order[i];
			order[i] = order[j];
			order[j] = swap;
		}
		receive_big_datagram(order, count);
	}
}

static void test_overlapping_fragments_rejected(void **state)
{
	struct net_udp_socket *socket = net_udp_open(test.stack);
	size_t length;
	long live_before;

	(void)state;
	fill_payload();
	assert_int_equal(net_udp_bind(socket, 0, 7), 0);
	live_before = test.live_allocations;
	length = build_ipv4(frame, our_mac, peer_mac, PEER_ADDRESS, OUR_ADDRESS, 17, 5, 0x2000,
			    payload, 1480);
	receive(frame, length);
	assert_int_equal(test.live_allocations, live_before + 2); /* datagram + fragment */
	/* Offset 1472 overlaps the first fragment's last 8 bytes. */
	length = build_ipv4(frame, our_mac, peer_mac, PEER_ADDRESS, OUR_ADDRESS, 17, 5, 184,
			    payload, 100);
	receive(frame, length);
	assert_int_equal(counters()->ipv4_fragment_overlap, 1);
	assert_null(test.stack->reassembly);
	assert_int_equal(test.live_allocations, live_before);

	/* Overlap with the following fragment (the new one arrives first in offset order). */
	length = build_ipv4(frame, our_mac, peer_mac, PEER_ADDRESS, OUR_ADDRESS, 17, 6,
			    0x2000 | 185, payload, 800);
	receive(frame, length);
	length = build_ipv4(frame, our_mac, peer_mac, PEER_ADDRESS, OUR_ADDRESS, 17, 6, 0x2000,
			    payload, 1488);
	receive(frame, length);
	assert_int_equal(counters()->ipv4_fragment_overlap, 2);
	assert_null(test.stack->reassembly);
	assert_int_equal(counters()->ipv4_reassembled, 0);
	assert_int_equal(test.live_allocations, live_before);
}

static void test_duplicate_fragment_dropped_datagram_completes(void **state)
{
	struct net_udp_socket *socket = net_udp_open(test.stack);
	size_t count, i;

	(void)state;
	fill_payload();
	assert_int_equal(net_udp_bind(socket, 0, 7), 0);
	count = make_fragments(BIG_PAYLOAD, fragment_starts, fragment_lengths, fragment_frames, 9);
	receive(fragment_frames[3], fragment_lengths[3]);
	receive(fragment_frames[3], fragment_lengths[3]);
	assert_int_equal(counters()->ipv4_fragment_duplicate, 1);
	/* The other fragments still complete the datagram. */
	for (i = 0; i < count; i++) {
		if (i != 3)
			receive(fragment_frames[i], fragment_lengths[i]);
	}
	assert_int_equal(net_udp_receive_from(socket, received, sizeof(received), NULL),
			 BIG_PAYLOAD);
	assert_memory_equal(received, payload, BIG_PAYLOAD);
}

static void test_reassembly_timeout_frees_memory(void **state)
{
	size_t length;
	long live_before = test.live_allocations;
	uint64_t started = test.now_ns;

	(void)state;
	fill_payload();
	length = build_ipv4(frame, our_mac, peer_mac, PEER_ADDRESS, OUR_ADDRESS, 17, 11, 0x2000,
			    payload, 1480);
	receive(frame, length);
	advance_clock(1000);
	length = build_ipv4(frame, our_mac, peer_mac, PEER_ADDRESS, OUR_ADDRESS, 17, 11, 370,
			    payload, 100);
	receive(frame, length);
	assert_true(test.live_allocations > live_before);
	assert_int_equal(net_next_deadline(test.stack), started + 30ull * 1000000000);
	net_poll_timers(test.stack, started + 30ull * 1000000000 - 1);
	assert_int_equal(counters()->ipv4_reassembly_timeout, 0);
	net_poll_timers(test.stack, started + 30ull * 1000000000);
	assert_int_equal(counters()->ipv4_reassembly_timeout, 1);
	assert_int_equal(test.live_allocations, live_before);
	assert_int_equal(net_next_deadline(test.stack), NET_NO_DEADLINE);
	assert_int_equal(test.stack->reassembly_bytes, 0);
}

static void test_bad_fragments(void **state)
{
	size_t length;

	(void)state;
	fill_payload();
	/* More fragments, but not a multiple of 8 bytes. */
	length = build_ipv4(frame, our_mac, peer_mac, PEER_ADDRESS, OUR_ADDRESS, 17, 1, 0x2000,
			    payload, 100);
	receive(frame, length);
	/* Ending past 65535 (the ping of death). */
	length = build_ipv4(frame, our_mac, peer_mac, PEER_ADDRESS, OUR_ADDRESS, 17, 2, 8189,
			    payload, 100);
	receive(frame, length);
	/* An empty fragment. */
	length = build_ipv4(frame, our_mac, peer_mac, PEER_ADDRESS, OUR_ADDRESS, 17, 3, 10, payload,
			    0);
	receive(frame, length);
	assert_int_equal(counters()->ipv4_fragment_bad, 3);
	assert_null(test.stack->reassembly);

	/* Two different ends for one datagram. */
	length = build_ipv4(frame, our_mac, peer_mac, PEER_ADDRESS, OUR_ADDRESS, 17, 4, 10, payload,
			    16);
	receive(frame, length);
	length = build_ipv4(frame, our_mac, peer_mac, PEER_ADDRESS, OUR_ADDRESS, 17, 4, 20, payload,
			    16);
	receive(frame, length);
	assert_int_equal(counters()->ipv4_fragment_bad, 4);
	assert_null(test.stack->reassembly);

	/* A fragment past a known end. */
	length = build_ipv4(frame, our_mac, peer_mac, PEER_ADDRESS, OUR_ADDRESS, 17, 5, 10, payload,
			    16);
	receive(frame, length);
	length = build_ipv4(frame, our_mac, peer_mac, PEER_ADDRESS, OUR_ADDRESS, 17, 5, 0x2000 | 12,
			    payload, 16);
	receive(frame, length);
	assert_int_equal(counters()->ipv4_fragment_bad, 5);
	assert_null(test.stack->reassembly);
}

static int setup_small_reassembly(void **state)
{
	struct net_limits limits = net_default_limits();

	limits.reassembly_max_datagrams = 2;
	limits.reassembly_max_fragments = 3;
	limits.reassembly_max_bytes = 4000;
	return setup_stack_with_limits(state, &limits);
}

static void test_reassembly_limits(void **state)
{
	size_t length;
	uint16_t offset;

	(void)state;
	fill_payload();
	/* Two datagrams in progress; a third is refused. */
	length = build_ipv4(frame, our_mac, peer_mac, PEER_ADDRESS, OUR_ADDRESS, 17, 1, 0x2000,
			    payload, 8);
	receive(frame, length);
	length = build_ipv4(frame, our_mac, peer_mac, PEER_ADDRESS, OUR_ADDRESS, 17, 2, 0x2000,
			    payload, 8);
	receive(frame, length);
	length = build_ipv4(frame, our_mac, peer_mac, PEER_ADDRESS, OUR_ADDRESS, 17, 3, 0x2000,
			    payload, 8);
	receive(frame, length);
	assert_int_equal(counters()->ipv4_reassembly_limit, 1);
	assert_int_equal(test.stack->reassembly_datagrams, 2);

	/* The fourth fragment of datagram 1 drops it (at most 3 fragments each). */
	for (offset = 1; offset <= 3; offset++) {
		length = build_ipv4(frame, our_mac, peer_mac, PEER_ADDRESS, OUR_ADDRESS, 17, 1,
				    (uint16_t)(0x2000 | offset * 2), payload, 8);
		receive(frame, length);
	}
	assert_int_equal(counters()->ipv4_reassembly_limit, 2);
	assert_int_equal(test.stack->reassembly_datagrams, 1);

	/* Byte budget: 4000 in all; datagram 2 holds 8, a 3992+ fragment does not fit. */
	length = build_ipv4(frame, our_mac, peer_mac, PEER_ADDRESS, OUR_ADDRESS, 17, 2, 0x2000 | 1,
			    payload, 4000);
	receive(frame, length);
	assert_int_equal(counters()->ipv4_reassembly_limit, 3);
	assert_int_equal(test.stack->reassembly_bytes, 8);
}

static void test_fragmented_ping_gets_fragmented_reply(void **state)
{
	static uint8_t message[4008];
	size_t offset, i, total = 0;

	(void)state;
	fill_payload();
	resolve_peer();
	message[0] = 8;
	message[4] = 0x12;
	message[7] = 1;
	memcpy(message + 8, payload, 4000);
	{
		uint16_t checksum = reference_checksum(message, sizeof(message), 0);

		message[2] = (uint8_t)(checksum >> 8);
		message[3] = (uint8_t)checksum;
	}
	for (offset = 0; offset < sizeof(message); offset += FRAGMENT_BYTES) {
		size_t length = sizeof(message) - offset < FRAGMENT_BYTES ? sizeof(message) - offset
									  : FRAGMENT_BYTES;
		uint16_t field = (uint16_t)(offset / 8);

		if (offset + length < sizeof(message))
			field |= 0x2000;
		length = build_ipv4(frame, our_mac, peer_mac, PEER_ADDRESS, OUR_ADDRESS, 1, 99,
				    field, message + offset, length);
		receive(frame, length);
	}
	assert_int_equal(counters()->icmp_echo_replies_sent, 1);
	assert_int_equal(test.frame_count, 3);
	for (i = 0; i < test.frame_count; i++) {
		assert_ipv4_checksums_valid(&test.frames[i]);
		memcpy(reassembled + total, test.frames[i].data + 34, test.frames[i].length - 34);
		total += test.frames[i].length - 34;
	}
	assert_int_equal(total, sizeof(message));
	assert_int_equal(reassembled[0], 0);
	assert_int_equal(reference_checksum(reassembled, total, 0), 0);
	assert_memory_equal(reassembled + 4, message + 4, sizeof(message) - 4);
}

int main(void)
{
#define TEST(name) cmocka_unit_test_setup_teardown(name, setup_stack, teardown_stack)
	const struct CMUnitTest tests[] = {
		TEST(test_send_fragments_65507_bytes),
		cmocka_unit_test_setup_teardown(test_fragments_computed_in_software_despite_offload,
						setup_stack_with_checksum_offload, teardown_stack),
		TEST(test_reassembly_in_order),
		TEST(test_reassembly_reversed),
		TEST(test_reassembly_shuffled),
		TEST(test_overlapping_fragments_rejected),
		TEST(test_duplicate_fragment_dropped_datagram_completes),
		TEST(test_reassembly_timeout_frees_memory),
		TEST(test_bad_fragments),
		cmocka_unit_test_setup_teardown(test_reassembly_limits, setup_small_reassembly,
						teardown_stack),
		TEST(test_fragmented_ping_gets_fragmented_reply),
	};
#undef TEST

	return cmocka_run_group_tests_name("ipv4 fragments", tests, NULL, NULL);
}
