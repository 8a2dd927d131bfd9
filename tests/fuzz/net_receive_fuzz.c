/*
 * net_receive_fuzz.c - libFuzzer harness: arbitrary sequences of frames into net_receive().
 *
 * Each input builds a fresh stack (one interface, 198.18.0.2/24) with a UDP echo socket on port 7
 * and plays a script of records:
 *   0, 1: a frame: length (2 bytes, little-endian), offload flags, options, then the frame bytes.
 *         Option bit 0 asks the harness to fix the IPv4 header and ICMP/UDP checksums first, so
 *         the fuzzer gets past them and explores what lies behind; bit 1 truncates the IPv4
 *         total length to the frame.
 *   2:    advance the clock by (next byte) * 100 ms and run the timers;
 *   3:    echo every queued datagram back to its sender (exercises ARP queueing, fragmentation).
 * The first input byte picks options for the whole run: checksum offload, tiny limits.
 * At the end the stack is destroyed and every allocation must have been freed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "byteorder.h"
#include "checksum.h"
#include "net.h"

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
	struct net_interface *interface;
	struct net_udp_socket *socket;
	struct net_stack *stack;
	size_t position = 1;

	if (size < 1)
		return 0;
	fake_clock = 1000000000;
	if (data[0] & 1)
		config.features |= NET_INTERFACE_TX_CHECKSUM;
	if (data[0] & 2) {
		limits.arp_cache_entries = 2;
		limits.arp_pending_frames = 2;
		limits.reassembly_max_datagrams = 2;
		limits.reassembly_max_fragments = 4;
		limits.reassembly_max_bytes = 4096;
		limits.udp_receive_queue_datagrams = 2;
		limits.icmp_error_burst = 1;
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

	while (position < size) {
		uint8_t operation = data[position++] % 4;

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
