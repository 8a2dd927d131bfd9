/*
 * test_arp.c - ARP: announcement, replies, resolution with a pending queue, retries, expiry,
 * limits and malformed packets.
 */
#include "net_test.h"

#include <string.h>

static const uint8_t zero_mac[6];
static uint8_t frame[BIG_FRAME];
static uint8_t expected[BIG_FRAME];

static void test_announces_address_on_start(void **state)
{
	size_t length = build_arp(expected, 1, broadcast_mac_address, our_mac, OUR_ADDRESS,
				  zero_mac, OUR_ADDRESS);

	(void)state;
	assert_int_equal(test.frame_count, 1);
	assert_frame_equal(&test.frames[0], expected, length);
	assert_int_equal(test.frames[0].offload.flags, 0);
	assert_int_equal(counters()->arp_requests_sent, 1);
}

static void test_request_gets_reply(void **state)
{
	size_t length = build_arp(frame, 1, broadcast_mac_address, peer_mac, PEER_ADDRESS, zero_mac,
				  OUR_ADDRESS);

	(void)state;
	clear_frames();
	receive(frame, length);
	length = build_arp(expected, 2, peer_mac, our_mac, OUR_ADDRESS, peer_mac, PEER_ADDRESS);
	assert_int_equal(test.frame_count, 1);
	assert_frame_equal(&test.frames[0], expected, length);
	assert_int_equal(counters()->arp_requests_received, 1);
	assert_int_equal(counters()->arp_replies_sent, 1);
}

static void test_padded_request_gets_reply(void **state)
{
	/* A real Ethernet frame is padded to 60 bytes: the padding must not matter. */
	size_t length = build_arp(frame, 1, broadcast_mac_address, peer_mac, PEER_ADDRESS, zero_mac,
				  OUR_ADDRESS);

	(void)state;
	clear_frames();
	memset(frame + length, 0, 60 - length);
	receive(frame, 60);
	assert_int_equal(test.frame_count, 1);
}

static void test_request_for_other_address_ignored(void **state)
{
	struct net_udp_socket *socket;
	size_t length = build_arp(frame, 1, broadcast_mac_address, peer_mac, PEER_ADDRESS, zero_mac,
				  OTHER_PEER);

	(void)state;
	clear_frames();
	receive(frame, length);
	assert_int_equal(test.frame_count, 0);
	/* And it taught us nothing: sending to the peer still needs a request. */
	socket = net_udp_open(test.stack);
	assert_int_equal(net_udp_send_to(socket, PEER_ADDRESS, 9, "x", 1), 1);
	assert_int_equal(test.frame_count, 1);
	length = build_arp(expected, 1, broadcast_mac_address, our_mac, OUR_ADDRESS, zero_mac,
			   PEER_ADDRESS);
	assert_frame_equal(&test.frames[0], expected, length);
}

static void test_unresolved_destination_queues_then_flushes(void **state)
{
	struct net_udp_socket *socket = net_udp_open(test.stack);
	size_t length;

	(void)state;
	clear_frames();
	assert_int_equal(net_udp_bind(socket, 0, 5000), 0);
	assert_int_equal(net_udp_send_to(socket, OTHER_PEER, 7, "hello", 5), 5);
	assert_int_equal(net_udp_send_to(socket, OTHER_PEER, 7, "again", 5), 5);
	/* One request for the address, both datagrams wait. */
	assert_int_equal(test.frame_count, 1);
	length = build_arp(expected, 1, broadcast_mac_address, our_mac, OUR_ADDRESS, zero_mac,
			   OTHER_PEER);
	assert_frame_equal(&test.frames[0], expected, length);
	assert_int_equal(net_next_deadline(test.stack), test.now_ns + 1000000000);
	clear_frames();

	length = build_arp(frame, 2, our_mac, other_mac, OTHER_PEER, our_mac, OUR_ADDRESS);
	receive(frame, length);
	assert_int_equal(test.frame_count, 2);
	assert_int_equal(counters()->arp_replies_received, 1);
	assert_memory_equal(test.frames[0].data, other_mac, 6);
	assert_memory_equal(test.frames[0].data + 6, our_mac, 6);
	assert_memory_equal(test.frames[0].data + 14 + 28, "hello", 5);
	assert_memory_equal(test.frames[1].data + 14 + 28, "again", 5);
	assert_ipv4_checksums_valid(&test.frames[0]);
	assert_ipv4_checksums_valid(&test.frames[1]);
	assert_int_equal(net_next_deadline(test.stack), NET_NO_DEADLINE);

	/* Resolved now: the next datagram goes straight out. */
	clear_frames();
	assert_int_equal(net_udp_send_to(socket, OTHER_PEER, 7, "third", 5), 5);
	assert_int_equal(test.frame_count, 1);
	assert_memory_equal(test.frames[0].data, other_mac, 6);
}

static void test_off_link_destination_resolves_gateway(void **state)
{
	struct net_udp_socket *socket = net_udp_open(test.stack);
	size_t length;

	(void)state;
	clear_frames();
	assert_int_equal(net_udp_send_to(socket, FAR_ADDRESS, 7, "far", 3), 3);
	length = build_arp(expected, 1, broadcast_mac_address, our_mac, OUR_ADDRESS, zero_mac,
			   PEER_ADDRESS);
	assert_int_equal(test.frame_count, 1);
	assert_frame_equal(&test.frames[0], expected, length);
	clear_frames();
	length = build_arp(frame, 2, our_mac, peer_mac, PEER_ADDRESS, our_mac, OUR_ADDRESS);
	receive(frame, length);
	assert_int_equal(test.frame_count, 1);
	assert_memory_equal(test.frames[0].data, peer_mac, 6);
	/* The IP destination is the far host, not the gateway. */
	assert_int_equal(test.frames[0].data[14 + 16], 198);
	assert_int_equal(test.frames[0].data[14 + 17], 19);
	assert_ipv4_checksums_valid(&test.frames[0]);
}

static void test_retries_then_gives_up(void **state)
{
	struct net_udp_socket *socket = net_udp_open(test.stack);
	long live_before;

	(void)state;
	clear_frames();
	live_before = test.live_allocations;
	assert_int_equal(net_udp_send_to(socket, OTHER_PEER, 7, "x", 1), 1);
	assert_int_equal(test.frame_count, 1);

	/* Nothing due yet. */
	net_poll_timers(test.stack, test.now_ns + 999999999);
	assert_int_equal(test.frame_count, 1);
	advance_clock(1000000000);
	net_poll_timers(test.stack, test.now_ns);
	assert_int_equal(test.frame_count, 2);
	advance_clock(1000000000);
	net_poll_timers(test.stack, test.now_ns);
	assert_int_equal(test.frame_count, 3);
	assert_int_equal(counters()->arp_requests_sent, 4); /* with the announcement */
	advance_clock(1000000000);
	net_poll_timers(test.stack, test.now_ns);
	assert_int_equal(test.frame_count, 3);
	assert_int_equal(counters()->arp_resolution_failed, 1);
	assert_int_equal(net_next_deadline(test.stack), NET_NO_DEADLINE);
	/* The queued frame was freed with the entry. */
	assert_int_equal(test.live_allocations, live_before);
}

static void test_cache_entry_expires(void **state)
{
	struct net_udp_socket *socket = net_udp_open(test.stack);

	(void)state;
	resolve_peer();
	clear_frames();

	/* Unused since it was confirmed: forgotten at 60 s, and the next frame asks again. */
	advance_clock(61ull * 1000000000);
	net_poll_timers(test.stack, test.now_ns);
	assert_int_equal(test.frame_count, 0);
	assert_int_equal(net_udp_send_to(socket, PEER_ADDRESS, 7, "x", 1), 1);
	assert_int_equal(test.frame_count, 1);
	assert_int_equal(test.frames[0].data[13], 0x06); /* ARP: forgotten, asking again */
}

/* An entry still in use when its time is up is asked about again while frames keep going to
 * the MAC it has; an answer keeps it, silence (arp_max_requests) ends it. */
static void test_busy_entry_refreshed_not_dropped(void **state)
{
	struct net_udp_socket *socket = net_udp_open(test.stack);

	(void)state;
	resolve_peer();
	clear_frames();
	advance_clock(59ull * 1000000000);
	assert_int_equal(net_udp_send_to(socket, PEER_ADDRESS, 7, "x", 1), 1);
	assert_int_equal(test.frame_count, 1);
	assert_int_equal(test.frames[0].data[12], 0x08);
	assert_int_equal(test.frames[0].data[13], 0x00); /* IPv4: still cached */
	clear_frames();
	advance_clock(2ull * 1000000000);
	net_poll_timers(test.stack, test.now_ns);
	assert_int_equal(test.frame_count, 1);
	assert_int_equal(test.frames[0].data[13], 0x06); /* a request: refreshing */
	assert_int_equal(net_udp_send_to(socket, PEER_ADDRESS, 7, "x", 1), 1);
	assert_int_equal(test.frame_count, 2);
	assert_int_equal(test.frames[1].data[13], 0x00); /* the frame still goes out at once */
	clear_frames();
	/* The neighbour answers: confirmed for another 60 s, nothing more asked. */
	resolve_peer();
	clear_frames();
	advance_clock(30ull * 1000000000);
	net_poll_timers(test.stack, test.now_ns);
	assert_int_equal(test.frame_count, 0);
	/* In use again at its end, and this time nobody answers: 3 requests, then forgotten. */
	assert_int_equal(net_udp_send_to(socket, PEER_ADDRESS, 7, "x", 1), 1);
	clear_frames();
	for (int second = 0; second < 34; second++) {
		advance_clock(1000000000);
		net_poll_timers(test.stack, test.now_ns);
	}
	assert_int_equal(test.frame_count, 3);
	clear_frames();
	assert_int_equal(net_udp_send_to(socket, PEER_ADDRESS, 7, "x", 1), 1);
	assert_int_equal(test.frames[0].data[13], 0x06); /* forgotten: resolving from scratch */
}

static int setup_small_queue(void **state)
{
	struct net_limits limits = net_default_limits();

	limits.arp_pending_frames = 2;
	limits.arp_cache_entries = 2;
	return setup_stack_with_limits(state, &limits);
}

static void test_pending_queue_limit(void **state)
{
	struct net_udp_socket *socket = net_udp_open(test.stack);
	size_t length;

	(void)state;
	clear_frames();
	assert_int_equal(net_udp_send_to(socket, OTHER_PEER, 7, "1", 1), 1);
	assert_int_equal(net_udp_send_to(socket, OTHER_PEER, 7, "2", 1), 1);
	assert_int_equal(net_udp_send_to(socket, OTHER_PEER, 7, "3", 1), 1);
	assert_int_equal(counters()->arp_queue_full, 1);
	clear_frames();
	length = build_arp(frame, 2, our_mac, other_mac, OTHER_PEER, our_mac, OUR_ADDRESS);
	receive(frame, length);
	assert_int_equal(test.frame_count, 2);
	assert_int_equal(test.frames[0].data[14 + 28], '1');
	assert_int_equal(test.frames[1].data[14 + 28], '2');
}

static void test_cache_evicts_oldest(void **state)
{
	struct net_udp_socket *socket = net_udp_open(test.stack);

	(void)state;
	clear_frames();
	/* Two entries fit; a third address evicts the oldest (with its queue). */
	assert_int_equal(net_udp_send_to(socket, NET_IPV4_ADDRESS(198, 18, 0, 10), 7, "a", 1), 1);
	advance_clock(1000);
	assert_int_equal(net_udp_send_to(socket, NET_IPV4_ADDRESS(198, 18, 0, 11), 7, "b", 1), 1);
	advance_clock(1000);
	assert_int_equal(net_udp_send_to(socket, NET_IPV4_ADDRESS(198, 18, 0, 12), 7, "c", 1), 1);
	assert_int_equal(counters()->arp_cache_evictions, 1);
	assert_int_equal(counters()->arp_resolution_failed, 1);
	assert_int_equal(test.frame_count, 3);
}

static void test_address_conflict_counted(void **state)
{
	size_t length = build_arp(frame, 1, broadcast_mac_address, other_mac, OUR_ADDRESS, zero_mac,
				  OUR_ADDRESS);

	(void)state;
	clear_frames();
	receive(frame, length);
	assert_int_equal(counters()->arp_address_conflict, 1);
	assert_int_equal(test.frame_count, 0);
}

static void test_probe_answered(void **state)
{
	/* RFC 5227 probe: sender address 0.0.0.0. Answer it, learn nothing. */
	size_t length =
		build_arp(frame, 1, broadcast_mac_address, peer_mac, 0, zero_mac, OUR_ADDRESS);

	(void)state;
	clear_frames();
	receive(frame, length);
	assert_int_equal(test.frame_count, 1);
	length = build_arp(expected, 2, peer_mac, our_mac, OUR_ADDRESS, peer_mac, 0);
	assert_frame_equal(&test.frames[0], expected, length);
}

static void test_malformed_arp_dropped(void **state)
{
	size_t length = build_arp(frame, 1, broadcast_mac_address, peer_mac, PEER_ADDRESS, zero_mac,
				  OUR_ADDRESS);

	(void)state;
	clear_frames();
	receive(frame, length - 1);
	assert_int_equal(counters()->arp_truncated, 1);

	frame[14 + 1] = 6; /* hardware type 6 */
	receive(frame, length);
	assert_int_equal(counters()->arp_unsupported, 1);
	frame[14 + 1] = 1;

	frame[14 + 7] = 9; /* operation 9 */
	receive(frame, length);
	assert_int_equal(counters()->arp_bad_opcode, 1);
	frame[14 + 7] = 1;

	frame[14 + 8] = 0x01; /* multicast sender hardware address */
	receive(frame, length);
	assert_int_equal(counters()->arp_bad_sender, 1);
	assert_int_equal(test.frame_count, 0);
}

static void test_ethernet_drops(void **state)
{
	size_t length = build_arp(frame, 1, broadcast_mac_address, peer_mac, PEER_ADDRESS, zero_mac,
				  OUR_ADDRESS);

	(void)state;
	clear_frames();
	receive(frame, 13);
	receive(frame, 0);
	assert_int_equal(counters()->ethernet_runt, 2);

	memcpy(frame, other_mac, 6);
	receive(frame, length);
	assert_int_equal(counters()->ethernet_not_for_us, 1);
	memcpy(frame, broadcast_mac_address, 6);

	frame[12] = 0x86; /* IPv6 */
	frame[13] = 0xdd;
	receive(frame, length);
	assert_int_equal(counters()->ethernet_unknown_type, 1);

	frame[12] = 0x08;
	frame[13] = 0x06;
	memcpy(frame + 6, broadcast_mac_address, 6);
	receive(frame, length);
	assert_int_equal(counters()->ethernet_bad_source, 1);
	assert_int_equal(test.frame_count, 0);
	assert_int_equal(counters()->frames_received, 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_announces_address_on_start, setup_stack,
						teardown_stack),
		cmocka_unit_test_setup_teardown(test_request_gets_reply, setup_stack,
						teardown_stack),
		cmocka_unit_test_setup_teardown(test_padded_request_gets_reply, setup_stack,
						teardown_stack),
		cmocka_unit_test_setup_teardown(test_request_for_other_address_ignored, setup_stack,
						teardown_stack),
		cmocka_unit_test_setup_teardown(test_unresolved_destination_queues_then_flushes,
						setup_stack, teardown_stack),
		cmocka_unit_test_setup_teardown(test_off_link_destination_resolves_gateway,
						setup_stack, teardown_stack),
		cmocka_unit_test_setup_teardown(test_retries_then_gives_up, setup_stack,
						teardown_stack),
		cmocka_unit_test_setup_teardown(test_busy_entry_refreshed_not_dropped, setup_stack,
						teardown_stack),
		cmocka_unit_test_setup_teardown(test_cache_entry_expires, setup_stack,
						teardown_stack),
		cmocka_unit_test_setup_teardown(test_pending_queue_limit, setup_small_queue,
						teardown_stack),
		cmocka_unit_test_setup_teardown(test_cache_evicts_oldest, setup_small_queue,
						teardown_stack),
		cmocka_unit_test_setup_teardown(test_address_conflict_counted, setup_stack,
						teardown_stack),
		cmocka_unit_test_setup_teardown(test_probe_answered, setup_stack, teardown_stack),
		cmocka_unit_test_setup_teardown(test_malformed_arp_dropped, setup_stack,
						teardown_stack),
		cmocka_unit_test_setup_teardown(test_ethernet_drops, setup_stack, teardown_stack),
	};

	return cmocka_run_group_tests_name("arp", tests, NULL, NULL);
}
