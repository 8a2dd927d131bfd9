/*
 * net_test.c - fixtures, fakes and frame builders shared by the stack's packet tests.
 */
#include "net_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const uint8_t our_mac[6] = { 0x02, 0, 0, 0, 0, 0x02 };
const uint8_t peer_mac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
const uint8_t other_mac[6] = { 0x02, 0, 0, 0, 0, 0x03 };
const uint8_t broadcast_mac_address[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

struct test_context test;

static uint64_t fake_now(void *context)
{
	(void)context;
	return test.now_ns;
}

static void *counting_allocate(void *context, size_t size)
{
	void *pointer;

	(void)context;
	if (test.fail_after == 0)
		return NULL;
	if (test.fail_after > 0)
		test.fail_after--;
	pointer = malloc(size ? size : 1);
	if (pointer) {
		test.live_allocations++;
		test.total_allocations++;
	}
	return pointer;
}

static void counting_free(void *context, void *pointer)
{
	(void)context;
	assert_non_null(pointer);
	test.live_allocations--;
	free(pointer);
}

static int recording_transmit(struct net_interface *interface, uint8_t *frame, size_t length,
			      const struct net_offload *offload)
{
	struct captured_frame *captured;

	assert_ptr_equal(interface, test.interface ? test.interface : interface);
	assert_non_null(offload);
	/* The headroom promised to a virtio driver must be writable (ASan checks this). */
	memset(frame - NET_TRANSMIT_HEADROOM, 0xaa, NET_TRANSMIT_HEADROOM);
	assert_true(test.frame_count < MAX_CAPTURED);
	captured = &test.frames[test.frame_count++];
	captured->data = malloc(length);
	assert_non_null(captured->data);
	memcpy(captured->data, frame, length);
	captured->length = length;
	captured->offload = *offload;
	return test.transmit_result;
}

void clear_frames(void)
{
	size_t i;

	for (i = 0; i < test.frame_count; i++)
		free(test.frames[i].data);
	test.frame_count = 0;
}

static int create(uint32_t features, const struct net_limits *limits)
{
	struct net_operations operations = {
		.now_ns = fake_now,
		.allocate = counting_allocate,
		.free = counting_free,
	};
	struct net_interface_config config = {
		.ipv4_address = OUR_ADDRESS,
		.ipv4_prefix_length = 24,
		.ipv4_gateway = PEER_ADDRESS,
		.mtu = 1500,
		.features = features,
		.transmit = recording_transmit,
	};

	memset(&test, 0, sizeof(test));
	test.now_ns = 1000000000; /* not 0, so "0" bugs show */
	test.fail_after = -1;
	test.limits = limits ? *limits : net_default_limits();
	memcpy(config.mac, our_mac, 6);
	test.stack = net_stack_create(&operations, &test.limits);
	if (!test.stack)
		return -1;
	test.interface = net_interface_add(test.stack, &config);
	return test.interface ? 0 : -1;
}

int setup_stack(void **state)
{
	(void)state;
	return create(0, NULL);
}

int setup_stack_with_checksum_offload(void **state)
{
	(void)state;
	return create(NET_INTERFACE_TX_CHECKSUM, NULL);
}

int setup_stack_with_limits(void **state, const struct net_limits *limits)
{
	(void)state;
	return create(0, limits);
}

int teardown_stack(void **state)
{
	(void)state;
	net_stack_destroy(test.stack);
	test.stack = NULL;
	clear_frames();
	if (test.live_allocations != 0) {
		fprintf(stderr, "leak: %ld allocations still live\n", test.live_allocations);
		return -1;
	}
	return 0;
}

const struct net_interface_counters *counters(void)
{
	return net_interface_counters(test.interface);
}

void advance_clock(uint64_t nanoseconds)
{
	test.now_ns += nanoseconds;
}

void receive(const uint8_t *frame, size_t length)
{
	/* Hand over a copy of exactly length bytes, so ASan catches any read past the end. */
	uint8_t *copy = malloc(length ? length : 1);

	assert_non_null(copy);
	memcpy(copy, frame, length);
	net_receive(test.interface, copy, length, NULL);
	free(copy);
}

void receive_with_offload(const uint8_t *frame, size_t length, uint8_t flags)
{
	struct net_offload offload = { .flags = flags };
	uint8_t *copy = malloc(length ? length : 1);

	assert_non_null(copy);
	memcpy(copy, frame, length);
	net_receive(test.interface, copy, length, &offload);
	free(copy);
}

void resolve_peer(void)
{
	uint8_t frame[64];
	size_t length = build_arp(frame, 1, broadcast_mac_address, peer_mac, PEER_ADDRESS,
				  (const uint8_t[6]){ 0 }, OUR_ADDRESS);

	clear_frames();
	receive(frame, length);
	assert_int_equal(test.frame_count, 1);
	clear_frames();
}

uint16_t reference_checksum(const uint8_t *data, size_t length, uint32_t initial)
{
	uint32_t sum = initial;
	size_t i;

	for (i = 0; i < length; i++) {
		sum += (i % 2 == 0) ? (uint32_t)data[i] << 8 : data[i];
		if (sum > 0xffff)
			sum = (sum & 0xffff) + (sum >> 16);
	}
	return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static uint32_t pseudo_sum(uint32_t source, uint32_t destination, uint8_t protocol, size_t length)
{
	uint32_t sum = (source >> 16) + (source & 0xffff) + (destination >> 16) +
		       (destination & 0xffff) + protocol + (uint32_t)length;

	while (sum > 0xffff)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

size_t build_ethernet(uint8_t *out, const uint8_t destination[6], const uint8_t source[6],
		      uint16_t type)
{
	memcpy(out, destination, 6);
	memcpy(out + 6, source, 6);
	put16(out + 12, type);
	return 14;
}

size_t build_arp(uint8_t *out, uint16_t operation, const uint8_t ethernet_destination[6],
		 const uint8_t sender_mac[6], uint32_t sender_address, const uint8_t target_mac[6],
		 uint32_t target_address)
{
	uint8_t *arp = out + build_ethernet(out, ethernet_destination, sender_mac, 0x0806);

	put16(arp, 1);
	put16(arp + 2, 0x0800);
	arp[4] = 6;
	arp[5] = 4;
	put16(arp + 6, operation);
	memcpy(arp + 8, sender_mac, 6);
	put32(arp + 14, sender_address);
	memcpy(arp + 18, target_mac, 6);
	put32(arp + 24, target_address);
	return 14 + 28;
}

size_t build_ipv4(uint8_t *out, const uint8_t destination_mac[6], const uint8_t source_mac[6],
		  uint32_t source, uint32_t destination, uint8_t protocol, uint16_t identification,
		  uint16_t fragment_field, const uint8_t *payload, size_t payload_length)
{
	uint8_t *ip = out + build_ethernet(out, destination_mac, source_mac, 0x0800);

	ip[0] = 0x45;
	ip[1] = 0;
	put16(ip + 2, (uint16_t)(20 + payload_length));
	put16(ip + 4, identification);
	put16(ip + 6, fragment_field);
	ip[8] = 64;
	ip[9] = protocol;
	put16(ip + 10, 0);
	put32(ip + 12, source);
	put32(ip + 16, destination);
	put16(ip + 10, reference_checksum(ip, 20, 0));
	memmove(ip + 20, payload, payload_length);
	return 14 + 20 + payload_length;
}

size_t build_udp_segment(uint8_t *out, uint32_t source, uint32_t destination, uint16_t source_port,
			 uint16_t destination_port, const uint8_t *data, size_t length)
{
	uint16_t checksum;

	put16(out, source_port);
	put16(out + 2, destination_port);
	put16(out + 4, (uint16_t)(8 + length));
	put16(out + 6, 0);
	memmove(out + 8, data, length);
	checksum = reference_checksum(out, 8 + length,
				      pseudo_sum(source, destination, 17, 8 + length));
	put16(out + 6, checksum ? checksum : 0xffff);
	return 8 + length;
}

size_t build_udp(uint8_t *out, uint32_t source, uint32_t destination, uint16_t source_port,
		 uint16_t destination_port, const uint8_t *data, size_t length)
{
	static uint8_t segment[65536];
	size_t segment_length = build_udp_segment(segment, source, destination, source_port,
						  destination_port, data, length);
	const uint8_t *destination_mac = destination == OUR_ADDRESS ? our_mac : peer_mac;
	const uint8_t *source_mac = destination == OUR_ADDRESS ? peer_mac : our_mac;

	if (destination == IPV4_BROADCAST || destination == SUBNET_BROADCAST)
		destination_mac = broadcast_mac_address;
	return build_ipv4(out, destination_mac, source_mac, source, destination, 17, 0x1234, 0,
			  segment, segment_length);
}

size_t build_icmp_echo(uint8_t *out, uint8_t type, uint32_t source, uint32_t destination,
		       uint16_t identifier, uint16_t sequence, const uint8_t *data, size_t length)
{
	static uint8_t message[65536];
	const uint8_t *destination_mac = destination == OUR_ADDRESS ? our_mac : peer_mac;
	const uint8_t *source_mac = destination == OUR_ADDRESS ? peer_mac : our_mac;

	if (destination == IPV4_BROADCAST || destination == SUBNET_BROADCAST)
		destination_mac = broadcast_mac_address;
	message[0] = type;
	message[1] = 0;
	put16(message + 2, 0);
	put16(message + 4, identifier);
	put16(message + 6, sequence);
	if (length)
		memmove(message + 8, data, length);
	put16(message + 2, reference_checksum(message, 8 + length, 0));
	return build_ipv4(out, destination_mac, source_mac, source, destination, 1, 0x4321, 0,
			  message, 8 + length);
}

void assert_frame_equal(const struct captured_frame *frame, const uint8_t *expected, size_t length)
{
	size_t i;

	if (frame->length != length)
		fail_msg("frame length %zu, expected %zu", frame->length, length);
	for (i = 0; i < length; i++) {
		if (frame->data[i] != expected[i])
			fail_msg("frame byte %zu is 0x%02x, expected 0x%02x", i, frame->data[i],
				 expected[i]);
	}
}

void assert_ipv4_checksums_valid(const struct captured_frame *frame)
{
	const uint8_t *ip = frame->data + 14;
	size_t header_length, total;
	uint32_t source, destination;

	assert_true(frame->length >= 14 + 20);
	assert_int_equal(frame->data[12] << 8 | frame->data[13], 0x0800);
	header_length = (size_t)(ip[0] & 0xf) * 4;
	total = (size_t)(ip[2] << 8 | ip[3]);
	assert_int_equal(total, frame->length - 14);
	assert_int_equal(reference_checksum(ip, header_length, 0), 0);
	if ((ip[6] & 0x3f) != 0 || ip[7] != 0)
		return; /* a fragment: the transport checksum covers the whole datagram */
	source = (uint32_t)ip[12] << 24 | (uint32_t)ip[13] << 16 | (uint32_t)ip[14] << 8 | ip[15];
	destination =
		(uint32_t)ip[16] << 24 | (uint32_t)ip[17] << 16 | (uint32_t)ip[18] << 8 | ip[19];
	if (ip[9] == 17)
		assert_int_equal(reference_checksum(ip + header_length, total - header_length,
						    pseudo_sum(source, destination, 17,
							       total - header_length)),
				 0);
	else if (ip[9] == 6 && !(frame->offload.flags & RINGVISOR_NET_HEADER_NEEDS_CSUM))
		assert_int_equal(reference_checksum(
					 ip + header_length, total - header_length,
					 pseudo_sum(source, destination, 6, total - header_length)),
				 0);
	else if (ip[9] == 1)
		assert_int_equal(reference_checksum(ip + header_length, total - header_length, 0),
				 0);
}

size_t build_tcp(uint8_t *out, const struct tcp_spec *spec)
{
	static uint8_t segment[65536];
	size_t header_length = 20 + spec->options_length, total = header_length + spec->length;
	const uint8_t *destination_mac = spec->destination == OUR_ADDRESS ? our_mac : peer_mac;
	const uint8_t *source_mac = spec->destination == OUR_ADDRESS ? peer_mac : our_mac;

	assert_true(spec->options_length % 4 == 0 && header_length <= 60 && total <= 65515);
	put16(segment, spec->source_port);
	put16(segment + 2, spec->destination_port);
	put32(segment + 4, spec->sequence);
	put32(segment + 8, spec->acknowledgment);
	segment[12] = (uint8_t)(header_length / 4) << 4;
	segment[13] = spec->flags;
	put16(segment + 14, spec->window);
	put16(segment + 16, 0);
	put16(segment + 18, 0);
	if (spec->options_length)
		memcpy(segment + 20, spec->options, spec->options_length);
	if (spec->length)
		memcpy(segment + header_length, spec->data, spec->length);
	put16(segment + 16,
	      reference_checksum(segment, total,
				 pseudo_sum(spec->source, spec->destination, 6, total)));
	if (spec->destination == SUBNET_BROADCAST || spec->destination == IPV4_BROADCAST)
		destination_mac = broadcast_mac_address;
	return build_ipv4(out, destination_mac, source_mac, spec->source, spec->destination, 6,
			  0x1234, 0, segment, total);
}

void parse_tcp(const struct captured_frame *frame, struct tcp_spec *out)
{
	const uint8_t *ip = frame->data + 14, *tcp;
	size_t ip_header, total, header_length;

	assert_true(frame->length >= 14 + 20 + 20);
	assert_int_equal(ip[9], 6);
	assert_ipv4_checksums_valid(frame);
	ip_header = (size_t)(ip[0] & 0xf) * 4;
	total = (size_t)(ip[2] << 8 | ip[3]);
	tcp = ip + ip_header;
	header_length = (size_t)(tcp[12] >> 4) * 4;
	assert_true(header_length >= 20 && ip_header + header_length <= total);
	memset(out, 0, sizeof(*out));
	out->source =
		(uint32_t)ip[12] << 24 | (uint32_t)ip[13] << 16 | (uint32_t)ip[14] << 8 | ip[15];
	out->destination =
		(uint32_t)ip[16] << 24 | (uint32_t)ip[17] << 16 | (uint32_t)ip[18] << 8 | ip[19];
	out->source_port = (uint16_t)(tcp[0] << 8 | tcp[1]);
	out->destination_port = (uint16_t)(tcp[2] << 8 | tcp[3]);
	out->sequence =
		(uint32_t)tcp[4] << 24 | (uint32_t)tcp[5] << 16 | (uint32_t)tcp[6] << 8 | tcp[7];
	out->acknowledgment =
		(uint32_t)tcp[8] << 24 | (uint32_t)tcp[9] << 16 | (uint32_t)tcp[10] << 8 | tcp[11];
	out->flags = tcp[13];
	out->window = (uint16_t)(tcp[14] << 8 | tcp[15]);
	out->options = tcp + 20;
	out->options_length = header_length - 20;
	out->data = tcp + header_length;
	out->length = total - ip_header - header_length;
}

void assert_tcp_frame(const struct captured_frame *frame, const struct tcp_spec *spec)
{
	static uint8_t expected[BIG_FRAME];
	struct tcp_spec got;
	size_t length;

	parse_tcp(frame, &got);
	if (got.sequence != spec->sequence || got.acknowledgment != spec->acknowledgment ||
	    got.flags != spec->flags || got.window != spec->window || got.length != spec->length)
		fail_msg("segment seq %u ack %u flags 0x%02x window %u length %zu; expected seq %u "
			 "ack %u flags 0x%02x window %u length %zu",
			 got.sequence, got.acknowledgment, got.flags, got.window, got.length,
			 spec->sequence, spec->acknowledgment, spec->flags, spec->window,
			 spec->length);
	length = build_tcp(expected, spec);
	/* Our identification and the IP checksum that covers it. */
	expected[14 + 4] = frame->data[14 + 4];
	expected[14 + 5] = frame->data[14 + 5];
	expected[14 + 10] = expected[14 + 11] = 0;
	put16(expected + 14 + 10, reference_checksum(expected + 14, 20, 0));
	if (frame->offload.flags & RINGVISOR_NET_HEADER_NEEDS_CSUM) {
		/* The field holds the pseudo-header sum for the NIC to finish. */
		size_t tcp_length = length - 34;

		put16(expected + 34 + 16,
		      (uint16_t)~reference_checksum(
			      NULL, 0, pseudo_sum(spec->source, spec->destination, 6, tcp_length)));
	}
	assert_frame_equal(frame, expected, length);
}
