/*
 * test_ipv4_icmp_udp.c - IPv4 header validation, ICMP echo and errors, UDP sockets and
 * checksums (software and offloaded).
 */
#include "net_test.h"

#include <string.h>

static uint8_t frame[BIG_FRAME];
static uint8_t expected[BIG_FRAME];
static uint8_t scratch[BIG_FRAME];
static const uint8_t ping_data[] = "0123456789abcdefghijklmnopqrstuvwxyz";

static void refresh_ip_checksum(uint8_t *ip)
{
	size_t header_length = (size_t)(ip[0] & 0xf) * 4;
	uint16_t checksum;

	ip[10] = ip[11] = 0;
	checksum = reference_checksum(ip, header_length, 0);
	ip[10] = (uint8_t)(checksum >> 8);
	ip[11] = (uint8_t)checksum;
}

static void test_echo_request_gets_exact_reply(void **state)
{
	size_t length = build_icmp_echo(frame, 8, PEER_ADDRESS, OUR_ADDRESS, 0xbeef, 7, ping_data,
					sizeof(ping_data));

	(void)state;
	resolve_peer();
	receive(frame, length);
	assert_int_equal(test.frame_count, 1);
	/* Our first datagram: identification 1. build_icmp_echo uses 0x4321: patch it. */
	length = build_icmp_echo(expected, 0, OUR_ADDRESS, PEER_ADDRESS, 0xbeef, 7, ping_data,
				 sizeof(ping_data));
	expected[14 + 4] = 0;
	expected[14 + 5] = 1;
	refresh_ip_checksum(expected + 14);
	assert_frame_equal(&test.frames[0], expected, length);
	assert_ipv4_checksums_valid(&test.frames[0]);
	assert_int_equal(counters()->icmp_echo_requests, 1);
	assert_int_equal(counters()->icmp_echo_replies_sent, 1);
}

static void test_echo_reply_with_checksum_offload(void **state)
{
	size_t length = build_icmp_echo(frame, 8, PEER_ADDRESS, OUR_ADDRESS, 1, 2, ping_data,
					sizeof(ping_data));
	struct captured_frame *reply;
	uint16_t checksum;

	(void)state;
	resolve_peer();
	receive(frame, length);
	assert_int_equal(test.frame_count, 1);
	reply = &test.frames[0];
	assert_int_equal(reply->offload.flags, RINGVISOR_NET_HEADER_NEEDS_CSUM);
	assert_int_equal(reply->offload.checksum_start, 34);
	assert_int_equal(reply->offload.checksum_offset, 2);
	/* Do what the NIC would, then the frame must be valid. */
	checksum = reference_checksum(reply->data + 34, reply->length - 34, 0);
	reply->data[36] = (uint8_t)(checksum >> 8);
	reply->data[37] = (uint8_t)checksum;
	assert_ipv4_checksums_valid(reply);
}

static void test_echo_with_bad_checksum_dropped(void **state)
{
	size_t length = build_icmp_echo(frame, 8, PEER_ADDRESS, OUR_ADDRESS, 1, 2, ping_data,
					sizeof(ping_data));

	(void)state;
	resolve_peer();
	frame[14 + 20 + 8] ^= 1;
	receive(frame, length);
	assert_int_equal(counters()->icmp_bad_checksum, 1);
	assert_int_equal(test.frame_count, 0);
	/* The same frame with DATA_VALID from the NIC is trusted. */
	receive_with_offload(frame, length, RINGVISOR_NET_HEADER_DATA_VALID);
	assert_int_equal(test.frame_count, 1);
}

static void test_echo_to_broadcast_ignored(void **state)
{
	size_t length = build_icmp_echo(frame, 8, PEER_ADDRESS, SUBNET_BROADCAST, 1, 2, ping_data,
					sizeof(ping_data));

	(void)state;
	resolve_peer();
	receive(frame, length);
	assert_int_equal(counters()->icmp_broadcast_ignored, 1);
	assert_int_equal(test.frame_count, 0);
}

static void test_short_icmp_and_other_types(void **state)
{
	uint8_t message[4] = { 8, 0, 0, 0 };
	size_t length;

	(void)state;
	resolve_peer();
	length = build_ipv4(frame, our_mac, peer_mac, PEER_ADDRESS, OUR_ADDRESS, 1, 1, 0, message,
			    sizeof(message));
	receive(frame, length);
	assert_int_equal(counters()->icmp_truncated, 1);
	length = build_icmp_echo(frame, 0, PEER_ADDRESS, OUR_ADDRESS, 1, 2, NULL, 0);
	receive(frame, length);
	assert_int_equal(counters()->icmp_ignored, 1);
	assert_int_equal(test.frame_count, 0);
}

static void test_udp_to_closed_port_gets_port_unreachable(void **state)
{
	size_t length = build_udp(frame, PEER_ADDRESS, OUR_ADDRESS, 40000, 9999, ping_data, 20);
	uint8_t quoted[28], message[8 + 28];
	size_t expected_length;

	(void)state;
	resolve_peer();
	receive(frame, length);
	assert_int_equal(counters()->udp_no_socket, 1);
	assert_int_equal(test.frame_count, 1);

	/* Type 3 code 3, quoting the IP header and the first 8 bytes (the UDP header). */
	memcpy(quoted, frame + 14, 28);
	memset(message, 0, 8);
	message[0] = 3;
	message[1] = 3;
	memcpy(message + 8, quoted, 28);
	{
		uint16_t checksum = reference_checksum(message, sizeof(message), 0);

		message[2] = (uint8_t)(checksum >> 8);
		message[3] = (uint8_t)checksum;
	}
	expected_length = build_ipv4(expected, peer_mac, our_mac, OUR_ADDRESS, PEER_ADDRESS, 1, 1,
				     0, message, sizeof(message));
	assert_frame_equal(&test.frames[0], expected, expected_length);
	assert_int_equal(counters()->icmp_errors_sent, 1);
}

static void test_no_port_unreachable_for_broadcast(void **state)
{
	size_t length = build_udp(frame, PEER_ADDRESS, IPV4_BROADCAST, 68, 67, ping_data, 10);

	(void)state;
	resolve_peer();
	receive(frame, length);
	assert_int_equal(counters()->udp_no_socket, 1);
	assert_int_equal(test.frame_count, 0);
}

static void test_icmp_errors_rate_limited(void **state)
{
	size_t length = build_udp(frame, PEER_ADDRESS, OUR_ADDRESS, 40000, 9999, ping_data, 4);
	int i;

	(void)state;
	resolve_peer();
	for (i = 0; i < 15; i++)
		receive(frame, length);
	assert_int_equal(counters()->icmp_errors_sent, 10); /* the burst */
	assert_int_equal(counters()->icmp_errors_rate_limited, 5);
	advance_clock(10000000); /* 10 ms: one token at 100/s */
	receive(frame, length);
	receive(frame, length);
	assert_int_equal(counters()->icmp_errors_sent, 11);
	assert_int_equal(counters()->icmp_errors_rate_limited, 6);
	advance_clock(10ull * 1000000000);
	for (i = 0; i < 12; i++)
		receive(frame, length);
	assert_int_equal(counters()->icmp_errors_sent, 21); /* refilled to the burst, no more */
}

static void test_unknown_protocol_gets_protocol_unreachable(void **state)
{
	/* SCTP (132): TCP (6) used to be the example, until the stack learnt it. */
	size_t length = build_ipv4(frame, our_mac, peer_mac, PEER_ADDRESS, OUR_ADDRESS, 132, 1, 0,
				   ping_data, 20);

	(void)state;
	resolve_peer();
	receive(frame, length);
	assert_int_equal(counters()->ipv4_unknown_protocol, 1);
	assert_int_equal(test.frame_count, 1);
	assert_int_equal(test.frames[0].data[34], 3);
	assert_int_equal(test.frames[0].data[35], 2);
	assert_ipv4_checksums_valid(&test.frames[0]);
}

static int ready_calls;

static void on_ready(struct net_udp_socket *socket, void *context)
{
	(void)socket;
	assert_ptr_equal(context, &ready_calls);
	ready_calls++;
}

static void test_udp_socket_receive(void **state)
{
	struct net_udp_socket *socket = net_udp_open(test.stack);
	struct net_udp_endpoint from;
	char buffer[64];
	size_t length;

	(void)state;
	ready_calls = 0;
	assert_int_equal(net_udp_bind(socket, 0, 7), 0);
	net_udp_set_ready_callback(socket, on_ready, &ready_calls);
	assert_false(net_udp_readable(socket));
	assert_int_equal(net_udp_receive_from(socket, buffer, sizeof(buffer), &from),
			 NET_ERROR_WOULD_BLOCK);

	length = build_udp(frame, PEER_ADDRESS, OUR_ADDRESS, 40000, 7, ping_data, 10);
	receive(frame, length);
	length = build_udp(frame, OTHER_PEER, OUR_ADDRESS, 40001, 7, ping_data + 10, 5);
	receive(frame, length);
	assert_int_equal(ready_calls, 2);
	assert_true(net_udp_readable(socket));
	assert_int_equal(counters()->udp_received, 2);

	assert_int_equal(net_udp_receive_from(socket, buffer, sizeof(buffer), &from), 10);
	assert_memory_equal(buffer, ping_data, 10);
	assert_int_equal(from.address, PEER_ADDRESS);
	assert_int_equal(from.port, 40000);
	/* Truncated read: returns the full length, copies what fits. */
	memset(buffer, 0, sizeof(buffer));
	assert_int_equal(net_udp_receive_from(socket, buffer, 3, &from), 5);
	assert_memory_equal(buffer, ping_data + 10, 3);
	assert_int_equal(buffer[3], 0);
	assert_int_equal(from.address, OTHER_PEER);
	assert_false(net_udp_readable(socket));
	assert_int_equal(test.frame_count, 1); /* only the announcement */
}

static void test_udp_socket_send_exact_frame(void **state)
{
	struct net_udp_socket *socket = net_udp_open(test.stack);
	uint8_t segment[64];
	size_t segment_length, length;

	(void)state;
	resolve_peer();
	assert_int_equal(net_udp_bind(socket, OUR_ADDRESS, 5353), 0);
	assert_int_equal(net_udp_send_to(socket, PEER_ADDRESS, 53, ping_data, 16), 16);
	segment_length =
		build_udp_segment(segment, OUR_ADDRESS, PEER_ADDRESS, 5353, 53, ping_data, 16);
	length = build_ipv4(expected, peer_mac, our_mac, OUR_ADDRESS, PEER_ADDRESS, 17, 1, 0,
			    segment, segment_length);
	assert_int_equal(test.frame_count, 1);
	assert_frame_equal(&test.frames[0], expected, length);
	assert_int_equal(test.frames[0].offload.flags, 0);
	assert_int_equal(counters()->udp_sent, 1);
}

static void test_udp_send_with_checksum_offload(void **state)
{
	struct net_udp_socket *socket = net_udp_open(test.stack);
	struct captured_frame *sent;
	uint16_t checksum;
	uint32_t sum;

	(void)state;
	resolve_peer();
	assert_int_equal(net_udp_bind(socket, 0, 5353), 0);
	assert_int_equal(net_udp_send_to(socket, PEER_ADDRESS, 53, ping_data, 17), 17);
	sent = &test.frames[0];
	assert_int_equal(sent->offload.flags, RINGVISOR_NET_HEADER_NEEDS_CSUM);
	assert_int_equal(sent->offload.checksum_start, 34);
	assert_int_equal(sent->offload.checksum_offset, 6);
	assert_int_equal(sent->offload.gso_type, RINGVISOR_NET_GSO_NONE);
	/* The field holds the pseudo-header sum, uncomplemented (as Linux's CHECKSUM_PARTIAL). */
	sum = (198 << 8 | 18) * 2 + 2 + 1 + 17 + 25;
	sum = (sum & 0xffff) + (sum >> 16);
	assert_int_equal(sent->data[40] << 8 | sent->data[41], sum);
	/* Finish it as a NIC would: checksum from checksum_start to the end. */
	checksum = reference_checksum(sent->data + 34, sent->length - 34, 0);
	sent->data[40] = (uint8_t)(checksum >> 8);
	sent->data[41] = (uint8_t)checksum;
	assert_ipv4_checksums_valid(sent);
}

static void test_udp_receive_checks(void **state)
{
	struct net_udp_socket *socket = net_udp_open(test.stack);
	size_t length;

	(void)state;
	assert_int_equal(net_udp_bind(socket, 0, 7), 0);

	length = build_udp(frame, PEER_ADDRESS, OUR_ADDRESS, 1, 7, ping_data, 10);
	frame[length - 1] ^= 0x40;
	receive(frame, length);
	assert_int_equal(counters()->udp_bad_checksum, 1);
	receive_with_offload(frame, length, RINGVISOR_NET_HEADER_NEEDS_CSUM);
	assert_int_equal(counters()->udp_received, 1);

	/* Zero checksum: the sender did not compute one; accepted. */
	length = build_udp(frame, PEER_ADDRESS, OUR_ADDRESS, 1, 7, ping_data, 10);
	frame[40] = frame[41] = 0;
	receive(frame, length);
	assert_int_equal(counters()->udp_received, 2);

	/* UDP length field above the IP payload, and below 8. */
	length = build_udp(frame, PEER_ADDRESS, OUR_ADDRESS, 1, 7, ping_data, 10);
	frame[39] = 19;
	receive(frame, length);
	frame[39] = 7;
	receive(frame, length);
	assert_int_equal(counters()->udp_bad_length, 2);

	/* IP payload shorter than a UDP header. */
	length = build_ipv4(frame, our_mac, peer_mac, PEER_ADDRESS, OUR_ADDRESS, 17, 1, 0,
			    ping_data, 7);
	receive(frame, length);
	assert_int_equal(counters()->udp_truncated, 1);

	/* UDP length below the IP payload: the rest is ignored, not delivered. */
	length = build_udp_segment(scratch, PEER_ADDRESS, OUR_ADDRESS, 1, 7, ping_data, 4);
	memset(scratch + length, 0xee, 6);
	length = build_ipv4(frame, our_mac, peer_mac, PEER_ADDRESS, OUR_ADDRESS, 17, 1, 0, scratch,
			    12 + 6);
	receive(frame, length);
	assert_int_equal(counters()->udp_received, 3);
	/* The two earlier good datagrams (10 bytes each), then this one's 4 bytes, not 10. */
	assert_int_equal(net_udp_receive_from(socket, scratch, sizeof(scratch), NULL), 10);
	assert_int_equal(net_udp_receive_from(socket, scratch, sizeof(scratch), NULL), 10);
	assert_int_equal(net_udp_receive_from(socket, scratch, sizeof(scratch), NULL), 4);
	assert_memory_equal(scratch, ping_data, 4);
	assert_int_equal(net_udp_receive_from(socket, scratch, sizeof(scratch), NULL),
			 NET_ERROR_WOULD_BLOCK);
}

static int setup_small_socket_queue(void **state)
{
	struct net_limits limits = net_default_limits();

	limits.udp_receive_queue_datagrams = 2;
	return setup_stack_with_limits(state, &limits);
}

static void test_udp_receive_queue_limit(void **state)
{
	struct net_udp_socket *socket = net_udp_open(test.stack);
	size_t length = build_udp(frame, PEER_ADDRESS, OUR_ADDRESS, 1, 7, ping_data, 10);

	(void)state;
	assert_int_equal(net_udp_bind(socket, 0, 7), 0);
	receive(frame, length);
	receive(frame, length);
	receive(frame, length);
	assert_int_equal(counters()->udp_received, 2);
	assert_int_equal(counters()->udp_receive_queue_full, 1);
	/* Queued datagrams are freed by net_stack_destroy (the teardown checks). */
}

static void test_udp_bind_rules(void **state)
{
	struct net_udp_socket *first = net_udp_open(test.stack);
	struct net_udp_socket *second = net_udp_open(test.stack);
	struct net_udp_socket *third = net_udp_open(test.stack);

	(void)state;
	assert_int_equal(net_udp_bind(first, 0, 7), 0);
	assert_int_equal(net_udp_bind(first, 0, 8), NET_ERROR_INVALID); /* already bound */
	assert_int_equal(net_udp_bind(second, OUR_ADDRESS, 7), NET_ERROR_ADDRESS_IN_USE);
	assert_int_equal(net_udp_bind(second, PEER_ADDRESS, 8), NET_ERROR_INVALID); /* not ours */
	assert_int_equal(net_udp_bind(second, 0, 0), 0);
	assert_int_equal(second->local_port, 49152);
	assert_int_equal(net_udp_bind(third, 0, 0), 0);
	assert_int_equal(third->local_port, 49153);
	net_udp_close(second);
	assert_int_equal(net_udp_send_to(third, PEER_ADDRESS, 0, "x", 1), NET_ERROR_INVALID);
	assert_int_equal(net_udp_send_to(third, PEER_ADDRESS, 9, "x", NET_UDP_MAX_PAYLOAD + 1),
			 NET_ERROR_MESSAGE_TOO_LONG);
	assert_int_equal(net_udp_send_to(third, NET_IPV4_ADDRESS(127, 0, 0, 1), 9, "x", 1),
			 NET_ERROR_NO_ROUTE);
	assert_int_equal(net_udp_send_to(third, NET_IPV4_ADDRESS(224, 0, 0, 1), 9, "x", 1),
			 NET_ERROR_NO_ROUTE);
}

static void test_udp_broadcast_send(void **state)
{
	struct net_udp_socket *socket = net_udp_open(test.stack);

	(void)state;
	clear_frames();
	assert_int_equal(net_udp_send_to(socket, SUBNET_BROADCAST, 9, "x", 1), 1);
	assert_int_equal(net_udp_send_to(socket, IPV4_BROADCAST, 9, "y", 1), 1);
	assert_int_equal(test.frame_count, 2); /* no ARP needed */
	assert_memory_equal(test.frames[0].data, broadcast_mac_address, 6);
	assert_memory_equal(test.frames[1].data, broadcast_mac_address, 6);
	assert_ipv4_checksums_valid(&test.frames[0]);
	assert_ipv4_checksums_valid(&test.frames[1]);
}

/* IPv4 header validation: each lie is counted under its own name and nothing is answered. */
static void test_ipv4_header_validation(void **state)
{
	struct net_udp_socket *socket = net_udp_open(test.stack);
	size_t length;

	(void)state;
	resolve_peer();
	assert_int_equal(net_udp_bind(socket, 0, 7), 0);
	length = build_udp(frame, PEER_ADDRESS, OUR_ADDRESS, 1, 7, ping_data, 10);

	receive(frame, 14 + 19); /* shorter than a header */
	assert_int_equal(counters()->ipv4_truncated_header, 1);

	memcpy(scratch, frame, length);
	scratch[14] = 0x65; /* version 6 */
	receive(scratch, length);
	assert_int_equal(counters()->ipv4_bad_version, 1);

	memcpy(scratch, frame, length);
	scratch[14] = 0x44; /* IHL 4 */
	receive(scratch, length);
	assert_int_equal(counters()->ipv4_bad_header_length, 1);

	memcpy(scratch, frame, length);
	scratch[14] = 0x4f; /* IHL 15: 60 bytes, frame has 38 */
	receive(scratch, length);
	assert_int_equal(counters()->ipv4_truncated_header, 2);

	memcpy(scratch, frame, length);
	scratch[14 + 3] += 1; /* total length one more than the frame */
	refresh_ip_checksum(scratch + 14);
	receive(scratch, length);
	memcpy(scratch, frame, length);
	scratch[14 + 2] = 0;
	scratch[14 + 3] = 19; /* total length below the header */
	refresh_ip_checksum(scratch + 14);
	receive(scratch, length);
	assert_int_equal(counters()->ipv4_bad_total_length, 2);

	memcpy(scratch, frame, length);
	scratch[14 + 8] = 63; /* TTL changed, checksum not */
	receive(scratch, length);
	assert_int_equal(counters()->ipv4_bad_checksum, 1);

	memcpy(scratch, frame, length);
	scratch[14 + 19] = 9; /* to 198.18.0.9 */
	refresh_ip_checksum(scratch + 14);
	receive(scratch, length);
	assert_int_equal(counters()->ipv4_not_for_us, 1);

	memcpy(scratch, frame, length);
	scratch[14 + 12] = 224; /* from multicast */
	refresh_ip_checksum(scratch + 14);
	receive(scratch, length);
	assert_int_equal(counters()->ipv4_bad_source, 1);

	assert_int_equal(counters()->udp_received, 0);
	assert_int_equal(test.frame_count, 0);

	/* TTL 1 is fine for a host (RFC 1122 3.2.1.7), and Ethernet padding is trimmed. */
	memcpy(scratch, frame, length);
	scratch[14 + 8] = 1;
	refresh_ip_checksum(scratch + 14);
	memset(scratch + length, 0xee, 20);
	receive(scratch, length + 20);
	assert_int_equal(counters()->udp_received, 1);
	assert_int_equal(net_udp_receive_from(socket, scratch, sizeof(scratch), NULL), 10);
	assert_memory_equal(scratch, ping_data, 10);
}

static void test_ipv4_options_accepted(void **state)
{
	struct net_udp_socket *socket = net_udp_open(test.stack);
	uint8_t segment[64];
	size_t segment_length, length;
	uint8_t *ip = frame + 14;

	(void)state;
	assert_int_equal(net_udp_bind(socket, 0, 7), 0);
	segment_length = build_udp_segment(segment, PEER_ADDRESS, OUR_ADDRESS, 1, 7, ping_data, 5);
	length = build_ipv4(frame, our_mac, peer_mac, PEER_ADDRESS, OUR_ADDRESS, 17, 1, 0, segment,
			    segment_length);
	/* Insert 4 bytes of options (NOPs): IHL 6. */
	memmove(ip + 24, ip + 20, segment_length);
	memset(ip + 20, 1, 4);
	ip[0] = 0x46;
	ip[3] += 4;
	refresh_ip_checksum(ip);
	receive(frame, length + 4);
	assert_int_equal(counters()->udp_received, 1);
}

static void test_counter_table(void **state)
{
	size_t i, count = net_counter_count();

	(void)state;
	assert_int_equal(count, sizeof(struct net_interface_counters) / sizeof(uint64_t));
	assert_string_equal(net_counter_name(0), "frames_received");
	assert_null(net_counter_name(count));
	for (i = 0; i < count; i++) {
		assert_non_null(net_counter_description(i));
		if (strcmp(net_counter_name(i), "arp_requests_sent") == 0)
			assert_int_equal(net_counter_value(counters(), i), 1);
	}
}

static void test_transmit_failure_counted(void **state)
{
	struct net_udp_socket *socket = net_udp_open(test.stack);

	(void)state;
	resolve_peer();
	test.transmit_result = -1;
	assert_int_equal(net_udp_send_to(socket, PEER_ADDRESS, 9, "x", 1), 1);
	assert_int_equal(counters()->transmit_failed, 1);
}

static void test_virtio_header_conversion(void **state)
{
	struct net_offload offload = { .flags = RINGVISOR_NET_HEADER_NEEDS_CSUM,
				       .gso_type = RINGVISOR_NET_GSO_TCPV4,
				       .header_length = 54,
				       .gso_size = 1448,
				       .checksum_start = 34,
				       .checksum_offset = 16 },
			   back;
	const uint8_t wire[12] = { 1, 1, 54, 0, 0xa8, 0x05, 34, 0, 16, 0, 0, 0 };
	struct ringvisor_net_header header, from_wire;

	(void)state;
	net_offload_to_virtio_header(&offload, &header);
	assert_memory_equal(&header, wire,
			    12); /* the layout is virtio_net_hdr_v1's, byte for byte */
	memcpy(&from_wire, wire, sizeof from_wire);
	net_offload_from_virtio_header(&back, &from_wire);
	assert_memory_equal(&back, &offload, sizeof(offload));
}

/* Every allocation failing in turn during a busy exchange: no crash, no leak. */
static void test_allocation_failures(void **state)
{
	long attempt;

	(void)state;
	for (attempt = 0; attempt < 40; attempt++) {
		struct net_udp_socket *socket;
		size_t length;

		assert_int_equal(teardown_stack(NULL), 0);
		assert_int_equal(setup_stack(NULL), 0);
		test.fail_after = attempt;
		socket = net_udp_open(test.stack);
		if (socket) {
			net_udp_bind(socket, 0, 7);
			net_udp_send_to(socket, PEER_ADDRESS, 9, ping_data, 30);
		}
		length = build_arp(frame, 2, our_mac, peer_mac, PEER_ADDRESS, our_mac, OUR_ADDRESS);
		receive(frame, length);
		length = build_icmp_echo(frame, 8, PEER_ADDRESS, OUR_ADDRESS, 1, 1, ping_data, 30);
		receive(frame, length);
		length = build_udp(frame, PEER_ADDRESS, OUR_ADDRESS, 1, 7, ping_data, 30);
		receive(frame, length);
		length = build_udp(frame, PEER_ADDRESS, OUR_ADDRESS, 1, 8, ping_data, 30);
		receive(frame, length);
		test.fail_after = -1;
	}
}

static void test_address_parsing(void **state)
{
	(void)state;
	uint32_t address = 7;
	assert_true(net_ipv4_address_parse("198.18.0.2", &address));
	assert_int_equal(address, NET_IPV4_ADDRESS(198, 18, 0, 2));
	assert_true(net_ipv4_address_parse("0.0.0.0", &address));
	assert_int_equal(address, 0);
	assert_true(net_ipv4_address_parse("255.255.255.255", &address));
	assert_int_equal(address, 0xffffffffu);
	assert_true(net_ipv4_address_parse("010.001.0.9", &address)); /* decimal, not octal */
	assert_int_equal(address, NET_IPV4_ADDRESS(10, 1, 0, 9));
	static const char *const refused[] = {
		"",	     "1",	   "1.2.3",	 "1.2.3.4.", "1.2.3.4.5", "256.0.0.1",
		"1.2.3.256", "1..2.3",	   ".1.2.3",	 "1.2.3.4 ", " 1.2.3.4",  "1.2.3.-4",
		"1.2.3.0x4", "1111.2.3.4", "0001.2.3.4", "1.2.3.4x", "a.b.c.d",
	};
	for (size_t index = 0; index < sizeof refused / sizeof refused[0]; index++) {
		address = 7;
		assert_false(net_ipv4_address_parse(refused[index], &address));
		assert_int_equal(address, 7);
	}
	/* Formatting, and back: every width of each byte. */
	static const uint32_t samples[] = { 0, 0xffffffffu, NET_IPV4_ADDRESS(198, 18, 0, 2),
					    NET_IPV4_ADDRESS(9, 10, 99, 100) };
	char text[NET_IPV4_ADDRESS_TEXT_BYTES];
	assert_string_equal(net_ipv4_address_format(samples[2], text), "198.18.0.2");
	assert_string_equal(net_ipv4_address_format(samples[1], text), "255.255.255.255");
	for (size_t index = 0; index < sizeof samples / sizeof samples[0]; index++) {
		assert_true(net_ipv4_address_parse(net_ipv4_address_format(samples[index], text),
						   &address));
		assert_int_equal(address, samples[index]);
	}
}

int main(void)
{
#define TEST(name) cmocka_unit_test_setup_teardown(name, setup_stack, teardown_stack)
	const struct CMUnitTest tests[] = {
		TEST(test_echo_request_gets_exact_reply),
		cmocka_unit_test_setup_teardown(test_echo_reply_with_checksum_offload,
						setup_stack_with_checksum_offload, teardown_stack),
		TEST(test_echo_with_bad_checksum_dropped),
		TEST(test_echo_to_broadcast_ignored),
		TEST(test_short_icmp_and_other_types),
		TEST(test_udp_to_closed_port_gets_port_unreachable),
		TEST(test_no_port_unreachable_for_broadcast),
		TEST(test_icmp_errors_rate_limited),
		TEST(test_unknown_protocol_gets_protocol_unreachable),
		TEST(test_udp_socket_receive),
		TEST(test_udp_socket_send_exact_frame),
		cmocka_unit_test_setup_teardown(test_udp_send_with_checksum_offload,
						setup_stack_with_checksum_offload, teardown_stack),
		TEST(test_udp_receive_checks),
		cmocka_unit_test_setup_teardown(test_udp_receive_queue_limit,
						setup_small_socket_queue, teardown_stack),
		TEST(test_udp_bind_rules),
		TEST(test_udp_broadcast_send),
		TEST(test_ipv4_header_validation),
		TEST(test_ipv4_options_accepted),
		TEST(test_counter_table),
		TEST(test_transmit_failure_counted),
		TEST(test_virtio_header_conversion),
		TEST(test_allocation_failures),
		cmocka_unit_test(test_address_parsing),
	};
#undef TEST

	return cmocka_run_group_tests_name("ipv4, icmp, udp", tests, NULL, NULL);
}
