/*
 * net_receive_fuzz.c - libFuzzer harness: arbitrary sequences of frames into net_receive().
 *
 * Each input builds a fresh stack (one interface, 198.18.0.2/24) with a UDP echo socket on port 7,
 * a TCP listener on port 80 (backlog 4) and one TCP connection already established through it
 * from 198.18.0.1:1234 (the harness plays the peer's SYN and ACK), then plays a script of records:
 *   0, 1: a frame: length (2 bytes, little-endian), offload flags, options, then the frame bytes.
 *         Option bit 0 asks the harness to fix the IPv4 header and ICMP/UDP/TCP checksums first,
 *         so the fuzzer gets past them and explores what lies behind; bit 1 truncates the IPv4
 *         total length to the frame; bit 2 (for a TCP frame of 40 bytes or more) aims it at the
 *         established connection: addresses and ports are set to its 4-tuple and the sequence
 *         and acknowledgment fields are taken as offsets from its receive_next and
 *         send_unacknowledged, so fuzzed segments land in and around the windows.
 *   2:    advance the clock by (next byte) * 100 ms and run the timers;
 *   3:    echo every queued datagram back to its sender (exercises ARP queueing, fragmentation);
 *   4:    a TCP application call chosen by the next byte: send (next byte) * 97 bytes, read
 *         everything, shut down, close the connection, accept (and later close) from the
 *         listener, toggle no_delay or keepalive.
 * The first input byte picks options for the whole run: checksum offload (and TSO), tiny limits,
 * a small MTU. At the end the stack is destroyed and every allocation must have been freed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "byteorder.h"
#include "checksum.h"
#include "net.h"
#include "tcp_internal.h"

static uint64_t fake_clock;
static long live_allocations;
static size_t live_bytes, peak_bytes;
static volatile uint8_t transmitted_xor; /* keeps the reads of transmitted frames */

static uint64_t fuzz_now(void *context)
{
	(void)context;
	return fake_clock;
}

static void *fuzz_allocate(void *context, size_t size)
{
	size_t *block;

	(void)context;
	/* Bounded memory is part of the contract: refuse beyond 16 MiB, and make the stack cope. */
	if (live_bytes + size > 16u << 20)
		return NULL;
	block = malloc(sizeof(size_t) * 2 + size);
	if (!block)
		return NULL;
	block[0] = size;
	live_allocations++;
	live_bytes += size;
	if (live_bytes > peak_bytes)
		peak_bytes = live_bytes;
	return block + 2;
}

static void fuzz_free(void *context, void *pointer)
{
	size_t *block = (size_t *)pointer - 2;

	(void)context;
	live_allocations--;
	live_bytes -= block[0];
	free(block);
}

static int fuzz_transmit(struct net_interface *interface, uint8_t *frame, size_t length,
			 const struct net_offload *offload)
{
	uint8_t sum = 0;
	size_t i;

	(void)interface;
	(void)offload;
	if (length < 14 || length > 14 + 65535)
		abort();
	/* Touch every byte and the headroom so ASan checks the whole buffer. */
	for (i = 0; i < length; i++)
		sum ^= frame[i];
	transmitted_xor ^= sum;
	memset(frame - NET_TRANSMIT_HEADROOM, 0, NET_TRANSMIT_HEADROOM);
	return 0;
}

static void fix_checksums(uint8_t *frame, size_t length, bool fix_total_length)
{
	uint8_t *ip = frame + 14;
	size_t header_length, total;

	if (length < 14 + 20 || load_be16(frame + 12) != 0x0800)
		return;
	header_length = (size_t)(ip[0] & 0xf) * 4;
	if (header_length < 20 || 14 + header_length > length)
		return;
	if (fix_total_length)
		store_be16(ip + 2, (uint16_t)(length - 14));
	total = load_be16(ip + 2);
	if (total > length - 14 || total < header_length)
		total = length - 14;
	store_be16(ip + 10, 0);
	store_be16(ip + 10, checksum_finish(checksum_add(0, ip, header_length)));
	if ((load_be16(ip + 6) & 0x3fff) != 0)
		return; /* fragments: transport checksum is over the whole datagram */
	if (ip[9] == 1 && total - header_length >= 8) {
		store_be16(ip + header_length + 2, 0);
		store_be16(ip + header_length + 2,
			   checksum_finish(
				   checksum_add(0, ip + header_length, total - header_length)));
	} else if (ip[9] == 6 && total - header_length >= 20) {
		uint8_t *tcp = ip + header_length;
		size_t tcp_length = total - header_length;
		uint16_t sum;

		store_be16(tcp + 16, 0);
		sum = checksum_pseudo_header(load_be32(ip + 12), load_be32(ip + 16), 6,
					     (uint16_t)tcp_length);
		store_be16(tcp + 16, checksum_finish(checksum_add(sum, tcp, tcp_length)));
	} else if (ip[9] == 17 && total - header_length >= 8) {
		uint8_t *udp = ip + header_length;
		size_t udp_length = load_be16(udp + 4);
		uint16_t sum;

		if (udp_length < 8 || udp_length > total - header_length)
			return;
		store_be16(udp + 6, 0);
		sum = checksum_pseudo_header(load_be32(ip + 12), load_be32(ip + 16), 17,
					     (uint16_t)udp_length);
		sum = checksum_finish(checksum_add(sum, udp, udp_length));
		store_be16(udp + 6, sum ? sum : 0xffff);
	}
}

#define PEER NET_IPV4_ADDRESS(198, 18, 0, 1)
#define US NET_IPV4_ADDRESS(198, 18, 0, 2)

/* A frame from the peer (02:..:01) to us, with correct checksums. */
static size_t build_peer_tcp(uint8_t *frame, uint32_t sequence, uint32_t acknowledgment,
			     uint8_t flags)
{
	static const uint8_t options[] = { 2, 4, 0x05, 0xb4, 1, 3, 3, 7 };
	size_t options_length = (flags & TCP_FLAG_SYN) ? sizeof(options) : 0;
	size_t length = 14 + 20 + 20 + options_length;
	uint8_t *ip = frame + 14, *tcp = ip + 20;

	memset(frame, 0, length);
	memcpy(frame, (const uint8_t[6]){ 0x02, 0, 0, 0, 0, 0x02 }, 6);
	memcpy(frame + 6, (const uint8_t[6]){ 0x02, 0, 0, 0, 0, 0x01 }, 6);
	store_be16(frame + 12, 0x0800);
	ip[0] = 0x45;
	store_be16(ip + 2, (uint16_t)(length - 14));
	ip[8] = 64;
	ip[9] = 6;
	store_be32(ip + 12, PEER);
	store_be32(ip + 16, US);
	store_be16(tcp, 1234);
	store_be16(tcp + 2, 80);
	store_be32(tcp + 4, sequence);
	store_be32(tcp + 8, acknowledgment);
	tcp[12] = (uint8_t)((20 + options_length) / 4) << 4;
	tcp[13] = flags;
	store_be16(tcp + 14, 1024);
	memcpy(tcp + 20, options, options_length);
	fix_checksums(frame, length, false);
	return length;
}

/* Point a fuzzed TCP frame at the established connection, relative to its sequence space. */
static void aim_at_connection(uint8_t *frame, size_t length, const struct net_tcp_socket *socket)
{
	uint8_t *ip = frame + 14, *tcp;
	size_t header_length;

	if (!socket || length < 14 + 20 + 20 || load_be16(frame + 12) != 0x0800)
		return;
	header_length = (size_t)(ip[0] & 0xf) * 4;
	if (header_length < 20 || 14 + header_length + 20 > length)
		return;
	tcp = ip + header_length;
	ip[9] = 6;
	store_be16(ip + 6, 0); /* not a fragment */
	store_be32(ip + 12, socket->remote_address);
	store_be32(ip + 16, socket->local_address);
	store_be16(tcp, socket->remote_port);
	store_be16(tcp + 2, socket->local_port);
	store_be32(tcp + 4, load_be32(tcp + 4) + socket->receive_next);
	store_be32(tcp + 8, load_be32(tcp + 8) + socket->send_unacknowledged);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct net_operations operations = { .now_ns = fuzz_now,
					     .allocate = fuzz_allocate,
					     .free = fuzz_free };
	struct net_interface_config config = {
		.mac = { 0x02, 0, 0, 0, 0, 0x02 },
		.ipv4_address = NET_IPV4_ADDRESS(198, 18, 0, 2),
		.ipv4_prefix_length = 24,
		.ipv4_gateway = NET_IPV4_ADDRESS(198, 18, 0, 1),
		.mtu = 1500,
		.transmit = fuzz_transmit,
	};
	struct net_limits limits = net_default_limits();
	static uint8_t frame[14 + 65535 + 16];
	static uint8_t datagram[65536];
	static uint8_t tcp_buffer[65536];
	struct net_interface *interface;
	struct net_udp_socket *socket;
	struct net_tcp_socket *listener, *connection, *accepted = NULL;
	struct net_stack *stack;
	size_t position = 1, length;
	uint32_t server_isn;

	if (size < 1)
		return 0;
	fake_clock = 1000000000;
	if (data[0] & 1)
		config.features |= NET_INTERFACE_TX_CHECKSUM;
	if (data[0] & 8)
		config.features |= NET_INTERFACE_TX_CHECKSUM | NET_INTERFACE_TX_TSO4;
	if (data[0] & 2) {
		limits.arp_cache_entries = 2;
		limits.arp_pending_frames = 2;
		limits.reassembly_max_datagrams = 2;
		limits.reassembly_max_fragments = 4;
		limits.reassembly_max_bytes = 4096;
		limits.udp_receive_queue_datagrams = 2;
		limits.icmp_error_burst = 1;
		limits.tcp_send_buffer_bytes = 3000;
		limits.tcp_receive_buffer_bytes = 3000;
		limits.tcp_max_connections = 3;
	}
	if (data[0] & 4)
		config.mtu = 576;
	stack = net_stack_create(&operations, &limits);
	if (!stack)
		abort();
	interface = net_interface_add(stack, &config);
	socket = net_udp_open(stack);
	if (!interface || !socket || net_udp_bind(socket, 0, 7) != 0)
		abort();

	/* The peer: known by ARP (it asks for us), then SYN, our SYN-ACK, its ACK. */
	memset(frame, 0, 42);
	memset(frame, 0xff, 6);
	memcpy(frame + 6, (const uint8_t[6]){ 0x02, 0, 0, 0, 0, 0x01 }, 6);
	store_be16(frame + 12, 0x0806);
	memcpy(frame + 14, (const uint8_t[8]){ 0, 1, 8, 0, 6, 4, 0, 1 }, 8);
	memcpy(frame + 22, (const uint8_t[6]){ 0x02, 0, 0, 0, 0, 0x01 }, 6);
	store_be32(frame + 28, PEER);
	store_be32(frame + 38, US);
	net_receive(interface, frame, 42, NULL);
	listener = net_tcp_open(stack);
	if (!listener || net_tcp_bind(listener, 0, 80) != 0 || net_tcp_listen(listener, 4) != 0)
		abort();
	length = build_peer_tcp(frame, 5000, 0, TCP_FLAG_SYN);
	net_receive(interface, frame, length, NULL);
	if (!listener->children)
		abort();
	server_isn = listener->children->initial_send_sequence;
	length = build_peer_tcp(frame, 5001, server_isn + 1, TCP_FLAG_ACK);
	net_receive(interface, frame, length, NULL);
	connection = net_tcp_accept(listener, NULL);
	if (!connection || net_tcp_state(connection) != NET_TCP_ESTABLISHED)
		abort();

	while (position < size) {
		uint8_t operation = data[position++] % 5;

		if (operation <= 1) {
			struct net_offload offload = { 0 };
			size_t length;
			uint8_t options;

			if (size - position < 4)
				break;
			length = load_le16(data + position);
			offload.flags = data[position + 2];
			options = data[position + 3];
			position += 4;
			if (length > size - position)
				length = size - position;
			memcpy(frame, data + position, length);
			position += length;
			if (options & 4)
				aim_at_connection(frame, length, connection);
			if (options & 1)
				fix_checksums(frame, length, options & 2);
			net_receive(interface, frame, length, &offload);
		} else if (operation == 2) {
			if (position >= size)
				break;
			fake_clock += (uint64_t)data[position++] * 100000000;
			net_poll_timers(stack, fake_clock);
			if (net_next_deadline(stack) < fake_clock)
				abort(); /* a deadline in the past after polling: a timer bug */
		} else if (operation == 4) {
			uint8_t call;

			if (position >= size)
				break;
			call = data[position++];
			switch (call % 8) {
			case 0:
				if (connection)
					net_tcp_send(connection, tcp_buffer,
						     (size_t)(call / 8) * 97);
				break;
			case 1:
				while (connection && net_tcp_receive(connection, tcp_buffer,
								     sizeof(tcp_buffer)) > 0)
					;
				break;
			case 2:
				if (connection)
					net_tcp_shutdown(connection);
				break;
			case 3:
				if (connection)
					net_tcp_close(connection);
				connection = NULL;
				break;
			case 4:
				if (!accepted)
					accepted = net_tcp_accept(listener, NULL);
				else {
					net_tcp_close(accepted);
					accepted = NULL;
				}
				break;
			case 5:
				if (connection)
					net_tcp_set_nodelay(connection, call & 8);
				break;
			case 6:
				if (connection)
					net_tcp_set_keepalive(connection, call & 8);
				break;
			default:
				if (connection)
					net_tcp_events(connection);
				break;
			}
		} else {
			struct net_udp_endpoint from;
			int length;

			while ((length = net_udp_receive_from(socket, datagram, sizeof(datagram),
							      &from)) >= 0)
				net_udp_send_to(socket, from.address, from.port, datagram,
						(size_t)length);
		}
	}

	net_stack_destroy(stack);
	if (live_allocations != 0 || live_bytes != 0) {
		fprintf(stderr, "leak: %ld allocations, %zu bytes live\n", live_allocations,
			live_bytes);
		abort();
	}
	return 0;
}
