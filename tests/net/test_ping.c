/*
 * test_ping.c - the ICMP echo client (net_ping_*): the requests it sends, byte for byte and with
 * checksum offload, fragmented and waiting for ARP; which replies it takes (its identifier,
 * checked, whole) and which it does not; its queue bound; closing; allocation failures; and a
 * ping of our own address over loopback.
 */
#include "net_test.h"

#include <string.h>

#define FRAGMENT_BYTES 1480 /* payload of a full fragment at MTU 1500 */
#define IDENTIFIER 0x1234

static uint8_t frame[BIG_FRAME];
static uint8_t expected[BIG_FRAME];
static uint8_t message[65536];
static uint8_t data[NET_PING_MAX_DATA];
static uint8_t received[NET_PING_MAX_DATA + 16];
static const uint8_t ping_data[] = "0123456789abcdefghijklmnopqrstuvwxyz";

static int ready_calls;

static void on_ready(struct net_ping *ping, void *context)
{
	assert_non_null(ping);
	assert_ptr_equal(context, &ready_calls);
	ready_calls++;
}

static void fill_data(void)
{
	size_t i;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 13 + (i >> 8));
}

/* Our n-th datagram carries identification n: patch what build_icmp_echo put there (0x4321). */
static void set_identification(uint8_t *ip, uint16_t identification)
{
	uint16_t checksum;

	ip[4] = (uint8_t)(identification >> 8);
	ip[5] = (uint8_t)identification;
	ip[10] = ip[11] = 0;
	checksum = reference_checksum(ip, 20, 0);
	ip[10] = (uint8_t)(checksum >> 8);
	ip[11] = (uint8_t)checksum;
}

/* An echo reply from source to us, in fragments of FRAGMENT_BYTES when it does not fit. */
static void receive_reply(uint32_t source, uint16_t identifier, uint16_t sequence,
			  const uint8_t *reply_data, size_t length)
{
	size_t total = 8 + length, offset;
	uint16_t checksum;

	message[0] = 0;
	message[1] = 0;
	message[2] = message[3] = 0;
	message[4] = (uint8_t)(identifier >> 8);
	message[5] = (uint8_t)identifier;
	message[6] = (uint8_t)(sequence >> 8);
	message[7] = (uint8_t)sequence;
	memcpy(message + 8, reply_data, length);
	checksum = reference_checksum(message, total, 0);
	message[2] = (uint8_t)(checksum >> 8);
	message[3] = (uint8_t)checksum;
	for (offset = 0; offset < total; offset += FRAGMENT_BYTES) {
		size_t piece = total - offset < FRAGMENT_BYTES ? total - offset : FRAGMENT_BYTES;
		uint16_t field = total <= FRAGMENT_BYTES ? 0 : (uint16_t)(offset / 8);

		if (offset + piece < total)
			field |= 0x2000;
		receive(frame, build_ipv4(frame, our_mac, peer_mac, source, OUR_ADDRESS, 1, 77,
					  field, message + offset, piece));
	}
}

static void test_request_exact_frame(void **state)
{
	struct net_ping *ping = net_ping_open(test.stack, IDENTIFIER);
	size_t length;

	(void)state;
	resolve_peer();
	assert_non_null(ping);
	assert_int_equal(net_ping_identifier(ping), IDENTIFIER);
	assert_int_equal(net_ping_send(ping, PEER_ADDRESS, 7, ping_data, sizeof(ping_data)),
			 sizeof(ping_data));
	assert_int_equal(test.frame_count, 1);
	length = build_icmp_echo(expected, 8, OUR_ADDRESS, PEER_ADDRESS, IDENTIFIER, 7, ping_data,
				 sizeof(ping_data));
	set_identification(expected + 14, 1);
	assert_frame_equal(&test.frames[0], expected, length);
	assert_ipv4_checksums_valid(&test.frames[0]);
	assert_int_equal(test.frames[0].offload.flags, 0);
	assert_int_equal(counters()->icmp_echo_requests_sent, 1);

	/* No data at all is a valid request too: just the 8-byte header. */
	assert_int_equal(net_ping_send(ping, PEER_ADDRESS, 8, NULL, 0), 0);
	length = build_icmp_echo(expected, 8, OUR_ADDRESS, PEER_ADDRESS, IDENTIFIER, 8, NULL, 0);
	set_identification(expected + 14, 2);
	assert_frame_equal(&test.frames[1], expected, length);
	net_ping_close(ping);
}

static void test_request_with_checksum_offload(void **state)
{
	struct net_ping *ping = net_ping_open(test.stack, IDENTIFIER);
	struct captured_frame *sent;
	uint16_t checksum;

	(void)state;
	resolve_peer();
	assert_int_equal(net_ping_send(ping, PEER_ADDRESS, 1, ping_data, 20), 20);
	sent = &test.frames[0];
	assert_int_equal(sent->offload.flags, RINGVISOR_NET_HEADER_NEEDS_CSUM);
	assert_int_equal(sent->offload.checksum_start, 34);
	assert_int_equal(sent->offload.checksum_offset, 2);
	/* ICMP has no pseudo-header: the NIC starts from 0. */
	assert_int_equal(sent->data[36] << 8 | sent->data[37], 0);
	checksum = reference_checksum(sent->data + 34, sent->length - 34, 0);
	sent->data[36] = (uint8_t)(checksum >> 8);
	sent->data[37] = (uint8_t)checksum;
	assert_ipv4_checksums_valid(sent);
	net_ping_close(ping);
}

/* The first request to an unresolved neighbour waits for ARP instead of being lost. */
static void test_first_request_waits_for_arp(void **state)
{
	struct net_ping *ping = net_ping_open(test.stack, IDENTIFIER);
	size_t length;

	(void)state;
	clear_frames();
	assert_int_equal(net_ping_send(ping, OTHER_PEER, 1, ping_data, 10), 10);
	assert_int_equal(test.frame_count, 1); /* the ARP request */
	assert_int_equal(test.frames[0].data[12] << 8 | test.frames[0].data[13], 0x0806);
	clear_frames();
	length = build_arp(frame, 2, our_mac, other_mac, OTHER_PEER, our_mac, OUR_ADDRESS);
	receive(frame, length);
	assert_int_equal(test.frame_count, 1);
	assert_memory_equal(test.frames[0].data, other_mac, 6);
	assert_int_equal(test.frames[0].data[34], 8);
	assert_ipv4_checksums_valid(&test.frames[0]);
	net_ping_close(ping);
}

static void test_matching_reply_delivered(void **state)
{
	struct net_ping *ping = net_ping_open(test.stack, IDENTIFIER);
	struct net_ping_reply reply;

	(void)state;
	ready_calls = 0;
	net_ping_set_ready_callback(ping, on_ready, &ready_calls);
	assert_false(net_ping_readable(ping));
	assert_int_equal(net_ping_receive(ping, received, sizeof(received), &reply),
			 NET_ERROR_WOULD_BLOCK);

	receive_reply(PEER_ADDRESS, IDENTIFIER, 7, ping_data, sizeof(ping_data));
	advance_clock(5000);
	receive_reply(OTHER_PEER, IDENTIFIER, 8, ping_data, 3);
	assert_int_equal(ready_calls, 2);
	assert_true(net_ping_readable(ping));
	assert_int_equal(counters()->icmp_echo_replies_received, 2);
	assert_int_equal(counters()->icmp_ignored, 0);

	memset(&reply, 0, sizeof(reply));
	assert_int_equal(net_ping_receive(ping, received, sizeof(received), &reply),
			 sizeof(ping_data));
	assert_memory_equal(received, ping_data, sizeof(ping_data));
	assert_int_equal(reply.source, PEER_ADDRESS);
	assert_int_equal(reply.sequence, 7);
	assert_int_equal(reply.length, sizeof(ping_data));
	assert_int_equal(reply.received_ns, test.now_ns - 5000);
	/* A short buffer gets what fits; the full length is returned. */
	memset(received, 0, 8);
	assert_int_equal(net_ping_receive(ping, received, 2, &reply), 3);
	assert_memory_equal(received, ping_data, 2);
	assert_int_equal(received[2], 0);
	assert_int_equal(reply.source, OTHER_PEER);
	assert_int_equal(reply.sequence, 8);
	assert_int_equal(reply.received_ns, test.now_ns);
	assert_false(net_ping_readable(ping));
	assert_int_equal(test.frame_count, 1); /* only the announcement: replies are not answered */
	net_ping_close(ping);
}

static void test_other_identifier_not_delivered(void **state)
{
	struct net_ping *ping = net_ping_open(test.stack, IDENTIFIER);

	(void)state;
	ready_calls = 0;
	net_ping_set_ready_callback(ping, on_ready, &ready_calls);
	receive_reply(PEER_ADDRESS, IDENTIFIER + 1, 1, ping_data, 10);
	assert_int_equal(counters()->icmp_ignored, 1);
	/* An echo request with our identifier is answered by the stack, not given to the ping. */
	resolve_peer();
	receive(frame,
		build_icmp_echo(frame, 8, PEER_ADDRESS, OUR_ADDRESS, IDENTIFIER, 1, ping_data, 10));
	assert_int_equal(counters()->icmp_echo_replies_sent, 1);
	/* A reply with a code other than 0 is not an echo reply. */
	receive(frame,
		build_icmp_echo(frame, 0, PEER_ADDRESS, OUR_ADDRESS, IDENTIFIER, 1, ping_data, 10));
	frame[34 + 1] = 1;
	frame[34 + 2] = frame[34 + 3] = 0;
	{
		uint16_t checksum = reference_checksum(frame + 34, 18, 0);

		frame[34 + 2] = (uint8_t)(checksum >> 8);
		frame[34 + 3] = (uint8_t)checksum;
	}
	receive(frame, 34 + 18);
	assert_int_equal(counters()->icmp_ignored, 2);
	assert_int_equal(counters()->icmp_echo_replies_received, 1); /* the well-formed one */
	assert_int_equal(net_ping_receive(ping, received, sizeof(received), NULL), 10);
	assert_false(net_ping_readable(ping));
	assert_int_equal(ready_calls, 1);
	net_ping_close(ping);
}

static void test_bad_replies_not_delivered(void **state)
{
	struct net_ping *ping = net_ping_open(test.stack, IDENTIFIER);
	uint8_t header[6] = { 0, 0, 0xff, 0xff, IDENTIFIER >> 8, IDENTIFIER & 0xff };
	size_t length;

	(void)state;
	ready_calls = 0;
	net_ping_set_ready_callback(ping, on_ready, &ready_calls);

	/* A flipped data bit: the checksum no longer holds. */
	length = build_icmp_echo(frame, 0, PEER_ADDRESS, OUR_ADDRESS, IDENTIFIER, 1, ping_data, 10);
	frame[length - 1] ^= 1;
	receive(frame, length);
	assert_int_equal(counters()->icmp_bad_checksum, 1);

	/* An ICMP message shorter than its 8-byte header. */
	length = build_ipv4(frame, our_mac, peer_mac, PEER_ADDRESS, OUR_ADDRESS, 1, 1, 0, header,
			    sizeof(header));
	receive(frame, length);
	assert_int_equal(counters()->icmp_truncated, 1);

	/* A frame cut short of the IP total length. */
	length = build_icmp_echo(frame, 0, PEER_ADDRESS, OUR_ADDRESS, IDENTIFIER, 1, ping_data, 10);
	receive(frame, length - 4);
	assert_int_equal(counters()->ipv4_bad_total_length, 1);

	assert_int_equal(counters()->icmp_echo_replies_received, 0);
	assert_false(net_ping_readable(ping));
	assert_int_equal(ready_calls, 0);

	/* The same reply intact comes through: the drops were for the damage alone. */
	receive(frame, length);
	assert_int_equal(counters()->icmp_echo_replies_received, 1);
	net_ping_close(ping);
}

static void test_largest_request_and_reply(void **state)
{
	struct net_ping *ping = net_ping_open(test.stack, IDENTIFIER);
	struct net_ping_reply reply;
	size_t i, offset = 0;

	(void)state;
	fill_data();
	resolve_peer();
	assert_int_equal(net_ping_send(ping, PEER_ADDRESS, 9, data, NET_PING_MAX_DATA + 1),
			 NET_ERROR_MESSAGE_TOO_LONG);
	assert_int_equal(test.frame_count, 0);
	assert_int_equal(net_ping_send(ping, PEER_ADDRESS, 9, data, NET_PING_MAX_DATA),
			 NET_PING_MAX_DATA);
	assert_int_equal(test.frame_count, 45);
	for (i = 0; i < test.frame_count; i++) {
		assert_ipv4_checksums_valid(&test.frames[i]);
		memcpy(message + offset, test.frames[i].data + 34, test.frames[i].length - 34);
		offset += test.frames[i].length - 34;
	}
	assert_int_equal(offset, 8 + NET_PING_MAX_DATA);
	assert_int_equal(reference_checksum(message, offset, 0), 0);
	assert_int_equal(message[0], 8);
	assert_int_equal(message[4] << 8 | message[5], IDENTIFIER);
	assert_int_equal(message[6] << 8 | message[7], 9);
	assert_memory_equal(message + 8, data, NET_PING_MAX_DATA);

	receive_reply(PEER_ADDRESS, IDENTIFIER, 9, data, NET_PING_MAX_DATA);
	assert_int_equal(counters()->ipv4_reassembled, 1);
	assert_int_equal(net_ping_receive(ping, received, sizeof(received), &reply),
			 NET_PING_MAX_DATA);
	assert_int_equal(reply.sequence, 9);
	assert_memory_equal(received, data, NET_PING_MAX_DATA);
	net_ping_close(ping);
}

static void test_open_rules_and_send_errors(void **state)
{
	struct net_ping *first = net_ping_open(test.stack, 1);
	struct net_ping *second = net_ping_open(test.stack, 2);

	(void)state;
	assert_non_null(first);
	assert_non_null(second);
	assert_null(net_ping_open(test.stack, 1)); /* its replies could not be told apart */
	assert_int_equal(net_ping_send(first, PEER_ADDRESS, 1, NULL, 4), NET_ERROR_INVALID);
	assert_int_equal(net_ping_send(first, NET_IPV4_ADDRESS(127, 0, 0, 1), 1, "x", 1),
			 NET_ERROR_NO_ROUTE);
	assert_int_equal(net_ping_send(first, NET_IPV4_ADDRESS(224, 0, 0, 1), 1, "x", 1),
			 NET_ERROR_NO_ROUTE);
	assert_int_equal(counters()->icmp_echo_requests_sent, 0);

	/* Each reply goes to the ping it names. */
	receive_reply(PEER_ADDRESS, 2, 5, ping_data, 4);
	assert_false(net_ping_readable(first));
	assert_true(net_ping_readable(second));
	net_ping_close(first);
	first = net_ping_open(test.stack, 1); /* free again once closed */
	assert_non_null(first);
	net_ping_close(first);
	net_ping_close(second);
}

static int setup_small_queue(void **state)
{
	struct net_limits limits = net_default_limits();

	limits.udp_receive_queue_datagrams = 2;
	limits.udp_receive_queue_bytes = 100;
	return setup_stack_with_limits(state, &limits);
}

static void test_reply_queue_bounded(void **state)
{
	struct net_ping *ping = net_ping_open(test.stack, IDENTIFIER);

	(void)state;
	receive_reply(PEER_ADDRESS, IDENTIFIER, 1, data, 10);
	receive_reply(PEER_ADDRESS, IDENTIFIER, 2, data, 10);
	receive_reply(PEER_ADDRESS, IDENTIFIER, 3, data, 10);
	assert_int_equal(counters()->icmp_echo_replies_received, 2);
	assert_int_equal(counters()->icmp_ping_queue_full, 1);
	assert_int_equal(net_ping_receive(ping, NULL, 0, NULL), 10);
	receive_reply(PEER_ADDRESS, IDENTIFIER, 4, data, 91); /* 10 + 91 bytes: over 100 */
	assert_int_equal(counters()->icmp_ping_queue_full, 2);
	receive_reply(PEER_ADDRESS, IDENTIFIER, 5, data, 90);
	assert_int_equal(counters()->icmp_echo_replies_received, 3);
	net_ping_close(ping);
}

/* Closing gives back the ping and every reply still queued on it. */
static void test_close_frees_everything(void **state)
{
	long live_before = test.live_allocations;
	struct net_ping *ping = net_ping_open(test.stack, IDENTIFIER);
	int i;

	(void)state;
	fill_data();
	for (i = 0; i < 5; i++)
		receive_reply(PEER_ADDRESS, IDENTIFIER, (uint16_t)i, data, 1000 * (size_t)i);
	receive_reply(PEER_ADDRESS, IDENTIFIER, 5, data, 4000); /* reassembled, then queued */
	assert_int_equal(counters()->icmp_echo_replies_received, 6);
	assert_null(test.stack->reassembly);
	assert_true(test.live_allocations > live_before + 6);
	net_ping_close(ping);
	assert_int_equal(test.live_allocations, live_before);
	assert_null(test.stack->pings);
	/* Replies for a closed ping are ignored, not queued anywhere. */
	receive_reply(PEER_ADDRESS, IDENTIFIER, 6, data, 10);
	assert_int_equal(counters()->icmp_ignored, 1);
	assert_int_equal(test.live_allocations, live_before);
}

/* Every allocation failing in turn while pinging: no crash, no leak. */
static void test_allocation_failures(void **state)
{
	long attempt;

	(void)state;
	for (attempt = 0; attempt < 40; attempt++) {
		struct net_ping *ping;

		assert_int_equal(teardown_stack(NULL), 0);
		assert_int_equal(setup_stack(NULL), 0);
		test.fail_after = attempt;
		ping = net_ping_open(test.stack, IDENTIFIER);
		if (ping) {
			net_ping_send(ping, PEER_ADDRESS, 1, ping_data, 30);
			receive(frame, build_arp(frame, 2, our_mac, peer_mac, PEER_ADDRESS, our_mac,
						 OUR_ADDRESS));
			net_ping_send(ping, PEER_ADDRESS, 2, data, 3000);
			receive_reply(PEER_ADDRESS, IDENTIFIER, 1, ping_data, 30);
			receive_reply(PEER_ADDRESS, IDENTIFIER, 2, data, 3000);
		}
		test.fail_after = -1;
		if (ping)
			net_ping_close(ping);
	}
}

/* Our own address over loopback: the stack answers its own request and the ping takes it. */
static void test_ping_ourselves_over_loopback(void **state)
{
	struct net_ping *ping = net_ping_open(test.stack, IDENTIFIER);
	struct net_interface *loopback = net_loopback_add(test.stack, NULL);
	struct net_ping_reply reply;
	int turns;

	(void)state;
	fill_data();
	assert_non_null(loopback);
	clear_frames();
	assert_int_equal(net_ping_send(ping, OUR_ADDRESS, 3, data, NET_PING_MAX_DATA),
			 NET_PING_MAX_DATA);
	for (turns = 0; turns < 4 && !net_ping_readable(ping); turns++)
		net_poll_timers(test.stack, test.now_ns);
	assert_true(net_ping_readable(ping));
	assert_int_equal(net_ping_receive(ping, received, sizeof(received), &reply),
			 NET_PING_MAX_DATA);
	assert_int_equal(reply.source, OUR_ADDRESS);
	assert_int_equal(reply.sequence, 3);
	assert_memory_equal(received, data, NET_PING_MAX_DATA);
	assert_int_equal(net_interface_counters(loopback)->icmp_echo_requests_sent, 1);
	assert_int_equal(net_interface_counters(loopback)->icmp_echo_replies_received, 1);
	assert_int_equal(test.frame_count, 0); /* nothing on the Ethernet interface */
	net_ping_close(ping);
}

int main(void)
{
#define TEST(name) cmocka_unit_test_setup_teardown(name, setup_stack, teardown_stack)
	const struct CMUnitTest tests[] = {
		TEST(test_request_exact_frame),
		cmocka_unit_test_setup_teardown(test_request_with_checksum_offload,
						setup_stack_with_checksum_offload, teardown_stack),
		TEST(test_first_request_waits_for_arp),
		TEST(test_matching_reply_delivered),
		TEST(test_other_identifier_not_delivered),
		TEST(test_bad_replies_not_delivered),
		TEST(test_largest_request_and_reply),
		TEST(test_open_rules_and_send_errors),
		cmocka_unit_test_setup_teardown(test_reply_queue_bounded, setup_small_queue,
						teardown_stack),
		TEST(test_close_frees_everything),
		TEST(test_allocation_failures),
		TEST(test_ping_ourselves_over_loopback),
	};
#undef TEST

	return cmocka_run_group_tests_name("icmp echo client", tests, NULL, NULL);
}
