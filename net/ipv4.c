/*
 * ipv4.c - IPv4 (RFC 791, RFC 1122 as a host): validate and dispatch received packets, route
 * and send datagrams, fragmenting them to the interface MTU.
 *
 * Receive checks, in order, each counted when it fails: a whole header is there, version 4,
 * IHL >= 5, the header fits, total length covers the header and does not exceed the frame (a
 * longer frame is Ethernet padding and is trimmed), the header checksum, a sane source, and a
 * destination that is ours or a broadcast. Options are accepted and ignored. TTL is not a reason
 * to drop: we never forward, and RFC 1122 3.2.1.7 says a host must not discard a datagram for a
 * low TTL; on send it is always 64.
 *
 * Transport checksums are finished here: UDP and ICMP hand down their header with the partial
 * pseudo-header sum in the checksum field (what a NIC's NEEDS_CSUM expects). If the interface can
 * finish it and the datagram goes out as one frame, the frame carries NEEDS_CSUM; otherwise
 * (no offload, or fragments: a NIC cannot checksum across fragments) it is computed here.
 */
#include "byteorder.h"
#include "checksum.h"
#include "net_internal.h"

#define IPV4_MAX_TRANSPORT (65535 - IPV4_HEADER_SIZE)

static bool is_multicast(uint32_t address)
{
	return (address & 0xf0000000u) == 0xe0000000u;
}

void ipv4_input(struct net_interface *interface, const uint8_t *packet, size_t length,
		const struct net_offload *offload)
{
	struct net_interface_counters *counters = &interface->counters;
	struct ipv4_packet parsed;
	size_t header_length, total_length;
	uint16_t fragment;

	if (length < IPV4_HEADER_SIZE) {
		counters->ipv4_truncated_header++;
		return;
	}
	if (packet[0] >> 4 != 4) {
		counters->ipv4_bad_version++;
		return;
	}
	header_length = (size_t)(packet[0] & 0x0f) * 4;
	if (header_length < IPV4_HEADER_SIZE) {
		counters->ipv4_bad_header_length++;
		return;
	}
	if (header_length > length) {
		counters->ipv4_truncated_header++;
		return;
	}
	total_length = load_be16(packet + 2);
	if (total_length < header_length || total_length > length) {
		counters->ipv4_bad_total_length++;
		return;
	}
	/* Verified even with DATA_VALID: that flag speaks for the transport checksum only. */
	if (checksum_add(0, packet, header_length) != 0xffff) {
		counters->ipv4_bad_checksum++;
		return;
	}

	parsed.interface = interface;
	parsed.header = packet;
	parsed.header_length = header_length;
	parsed.payload = packet + header_length;
	parsed.payload_length = total_length - header_length;
	parsed.source = load_be32(packet + 12);
	parsed.destination = load_be32(packet + 16);
	parsed.protocol = packet[9];
	parsed.offload = offload;
	parsed.to_broadcast = interface_is_broadcast(interface, parsed.destination);

	/* Loopback frames are our own: any source and destination we used to send them. */
	if (!interface->loopback &&
	    (is_multicast(parsed.source) || interface_is_broadcast(interface, parsed.source) ||
	     interface_is_our_address(interface, parsed.source))) {
		counters->ipv4_bad_source++;
		return;
	}
	if (!interface->loopback && !interface_is_our_address(interface, parsed.destination) &&
	    !parsed.to_broadcast) {
		counters->ipv4_not_for_us++;
		return;
	}

	fragment = load_be16(packet + 6);
	if (fragment & (IPV4_FLAG_MORE_FRAGMENTS | IPV4_FRAGMENT_OFFSET)) {
		counters->ipv4_fragments_received++;
		reassembly_input(interface, packet, header_length, parsed.payload,
				 parsed.payload_length);
		return;
	}
	ipv4_deliver(&parsed);
}

void ipv4_deliver(const struct ipv4_packet *packet)
{
	struct net_interface_counters *counters = &packet->interface->counters;

	switch (packet->protocol) {
	case IPV4_PROTOCOL_ICMP:
		counters->ipv4_delivered++;
		icmp_input(packet);
		break;
	case IPV4_PROTOCOL_UDP:
		counters->ipv4_delivered++;
		udp_input(packet);
		break;
	case IPV4_PROTOCOL_TCP:
		counters->ipv4_delivered++;
		tcp_input(packet);
		break;
	default:
		counters->ipv4_unknown_protocol++;
		icmp_send_unreachable(packet, ICMP_UNREACHABLE_PROTOCOL);
		break;
	}
}

bool ipv4_is_loopback_address(uint32_t address)
{
	return (address >> 24) == 127;
}

bool ipv4_is_local_address(struct net_stack *stack, uint32_t address)
{
	struct net_interface *interface;

	if (stack->loopback && ipv4_is_loopback_address(address))
		return true;
	for (interface = stack->interfaces; interface; interface = interface->next) {
		if (interface_is_our_address(interface, address))
			return true;
	}
	return false;
}

int ipv4_route(struct net_stack *stack, uint32_t destination, struct ipv4_route *route)
{
	struct net_interface *interface;

	/* 127/8 and our own addresses go through the loopback interface, if there is one. */
	if (stack->loopback && ipv4_is_local_address(stack, destination)) {
		route->interface = stack->loopback;
		route->destination = destination;
		route->source = ipv4_is_loopback_address(destination)
					? stack->loopback->config.ipv4_address
					: destination;
		route->next_hop = destination;
		route->broadcast = false;
		return 0;
	}
	/* No multicast, no 0.0.0.0, and 127/8 only with a loopback interface. */
	if (destination == 0 || is_multicast(destination) || ipv4_is_loopback_address(destination))
		return NET_ERROR_NO_ROUTE;
	for (interface = stack->interfaces; interface; interface = interface->next) {
		uint32_t address = interface->config.ipv4_address;

		if (destination == IPV4_BROADCAST ||
		    (destination & interface->netmask) == (address & interface->netmask)) {
			if (destination == address)
				return NET_ERROR_NO_ROUTE;
			route->interface = interface;
			route->destination = destination;
			route->source = address;
			route->next_hop = destination;
			route->broadcast = interface_is_broadcast(interface, destination);
			return 0;
		}
	}
	for (interface = stack->interfaces; interface; interface = interface->next) {
		if (interface->config.ipv4_gateway != 0) {
			route->interface = interface;
			route->destination = destination;
			route->source = interface->config.ipv4_address;
			route->next_hop = interface->config.ipv4_gateway;
			route->broadcast = false;
			return 0;
		}
	}
	return NET_ERROR_NO_ROUTE;
}

static void fill_header(uint8_t *header, size_t total_length, uint16_t identification,
			uint16_t fragment, uint8_t protocol, const struct ipv4_route *route)
{
	header[0] = 0x45; /* version 4, 5 words: we send no options */
	header[1] = 0;
	store_be16(header + 2, (uint16_t)total_length);
	store_be16(header + 4, identification);
	store_be16(header + 6, fragment);
	header[8] = IPV4_DEFAULT_TTL;
	header[9] = protocol;
	store_be16(header + 10, 0);
	store_be32(header + 12, route->source);
	store_be32(header + 16, route->destination);
	store_be16(header + 10, checksum_finish(checksum_add(0, header, IPV4_HEADER_SIZE)));
}

/* Copy bytes [offset, offset + length) of the concatenation first ++ second. */
static void copy_span(uint8_t *out, size_t offset, size_t length, const uint8_t *first,
		      size_t first_length, const uint8_t *second)
{
	if (offset < first_length) {
		size_t count = first_length - offset < length ? first_length - offset : length;

		memcpy(out, first + offset, count);
		out += count;
		offset += count;
		length -= count;
	}
	if (length)
		memcpy(out, second + (offset - first_length), length);
}

int ipv4_send(struct net_stack *stack, const struct ipv4_route *route, uint8_t protocol,
	      const uint8_t *transport_header, size_t transport_header_length,
	      const uint8_t *payload, size_t payload_length,
	      const struct ipv4_checksum_request *checksum)
{
	struct net_interface *interface = route->interface;
	size_t transport_length = transport_header_length + payload_length;
	size_t mtu = interface->config.mtu, chunk, offset;
	bool fits = IPV4_HEADER_SIZE + transport_length <= mtu;
	bool offload = false;
	uint8_t header_copy[IPV4_MAX_HEADER_SIZE];
	uint16_t identification;
	struct net_frame *frame;

	if (transport_length > IPV4_MAX_TRANSPORT)
		return NET_ERROR_MESSAGE_TOO_LONG;
	if (transport_header_length > sizeof(header_copy))
		return NET_ERROR_INVALID;
	memcpy(header_copy, transport_header, transport_header_length);
	if (checksum && checksum->requested) {
		if (checksum->offset + 2u > transport_header_length)
			return NET_ERROR_INVALID;
		offload = fits && (interface->config.features & NET_INTERFACE_TX_CHECKSUM);
		if (!offload) {
			/* The field holds the pseudo-header sum; add everything else to it. */
			uint16_t sum = checksum_add(0, header_copy, transport_header_length);
			uint16_t value =
				checksum_finish(checksum_add(sum, payload, payload_length));

			/* 0 means "no checksum" to UDP; 0xffff is the same value in ones'
			 * complement. */
			store_be16(header_copy + checksum->offset, value ? value : 0xffff);
		}
	}
	identification = stack->next_ipv4_identification++;

	if (fits) {
		frame = net_frame_allocate(stack, RINGVISOR_ETHERNET_HEADER_BYTES +
							  IPV4_HEADER_SIZE + transport_length);
		if (!frame) {
			interface->counters.no_memory++;
			return NET_ERROR_NO_MEMORY;
		}
		uint8_t *ip = net_frame_data(frame) + RINGVISOR_ETHERNET_HEADER_BYTES;
		fill_header(ip, IPV4_HEADER_SIZE + transport_length, identification, 0, protocol,
			    route);
		copy_span(ip + IPV4_HEADER_SIZE, 0, transport_length, header_copy,
			  transport_header_length, payload);
		if (offload) {
			frame->offload.flags = RINGVISOR_NET_HEADER_NEEDS_CSUM;
			frame->offload.checksum_start =
				RINGVISOR_ETHERNET_HEADER_BYTES + IPV4_HEADER_SIZE;
			frame->offload.checksum_offset = checksum->offset;
		}
		interface->counters.ipv4_sent++;
		interface->link_output(interface, route->next_hop, route->broadcast, frame);
		return 0;
	}

	/* Every fragment but the last carries a multiple of 8 bytes (offsets count 8-byte units).
	 */
	chunk = (mtu - IPV4_HEADER_SIZE) & ~(size_t)7;
	for (offset = 0; offset < transport_length; offset += chunk) {
		size_t length =
			transport_length - offset < chunk ? transport_length - offset : chunk;
		uint16_t fragment = (uint16_t)(offset / 8);

		if (offset + length < transport_length)
			fragment |= IPV4_FLAG_MORE_FRAGMENTS;
		frame = net_frame_allocate(stack, RINGVISOR_ETHERNET_HEADER_BYTES +
							  IPV4_HEADER_SIZE + length);
		if (!frame) {
			interface->counters.no_memory++;
			return NET_ERROR_NO_MEMORY;
		}
		uint8_t *ip = net_frame_data(frame) + RINGVISOR_ETHERNET_HEADER_BYTES;
		fill_header(ip, IPV4_HEADER_SIZE + length, identification, fragment, protocol,
			    route);
		copy_span(ip + IPV4_HEADER_SIZE, offset, length, header_copy,
			  transport_header_length, payload);
		interface->counters.ipv4_fragments_sent++;
		interface->link_output(interface, route->next_hop, route->broadcast, frame);
	}
	interface->counters.ipv4_sent++;
	return 0;
}

int ipv4_send_frame(struct net_stack *stack, const struct ipv4_route *route, uint8_t protocol,
		    struct net_frame *frame, const struct ipv4_segment_offload *segment)
{
	struct net_interface *interface = route->interface;
	uint8_t *ip = net_frame_data(frame) + RINGVISOR_ETHERNET_HEADER_BYTES;
	uint8_t *transport = ip + IPV4_HEADER_SIZE;
	size_t transport_length =
		frame->length - RINGVISOR_ETHERNET_HEADER_BYTES - IPV4_HEADER_SIZE;
	uint32_t features = interface->config.features;
	bool offload = (features & NET_INTERFACE_TX_CHECKSUM) != 0;

	if (frame->length < RINGVISOR_ETHERNET_HEADER_BYTES + IPV4_HEADER_SIZE ||
	    transport_length > IPV4_MAX_TRANSPORT ||
	    segment->checksum_offset + 2u > segment->transport_header_length ||
	    segment->transport_header_length > transport_length ||
	    (IPV4_HEADER_SIZE + transport_length > interface->config.mtu &&
	     !(segment->gso_size && offload && (features & NET_INTERFACE_TX_TSO4)))) {
		net_frame_free(stack, frame);
		return NET_ERROR_INVALID;
	}
	fill_header(ip, IPV4_HEADER_SIZE + transport_length, stack->next_ipv4_identification++, 0,
		    protocol, route);
	if (offload) {
		frame->offload.flags = RINGVISOR_NET_HEADER_NEEDS_CSUM;
		frame->offload.checksum_start = RINGVISOR_ETHERNET_HEADER_BYTES + IPV4_HEADER_SIZE;
		frame->offload.checksum_offset = segment->checksum_offset;
		if (segment->gso_size &&
		    transport_length - segment->transport_header_length > segment->gso_size) {
			frame->offload.gso_type = RINGVISOR_NET_GSO_TCPV4;
			frame->offload.gso_size = segment->gso_size;
			frame->offload.header_length =
				(uint16_t)(RINGVISOR_ETHERNET_HEADER_BYTES + IPV4_HEADER_SIZE +
					   segment->transport_header_length);
		}
	} else {
		/* The field holds the pseudo-header sum; add everything else to it. */
		uint16_t value = checksum_finish(checksum_add(0, transport, transport_length));

		store_be16(transport + segment->checksum_offset, value);
	}
	interface->counters.ipv4_sent++;
	interface->link_output(interface, route->next_hop, route->broadcast, frame);
	return 0;
}

bool net_ipv4_address_parse(const char *text, uint32_t *address)
{
	uint32_t result = 0;
	for (int part = 0; part < 4; part++) {
		unsigned value = 0, digits = 0;
		for (; *text >= '0' && *text <= '9' && digits < 4; text++, digits++)
			value = value * 10 + (unsigned)(*text - '0');
		if (digits == 0 || digits > 3 || value > 255)
			return false;
		result = result << 8 | value;
		if (part < 3 && *text++ != '.')
			return false;
	}
	if (*text != '\0')
		return false;
	*address = result;
	return true;
}

char *net_ipv4_address_format(uint32_t address, char text[NET_IPV4_ADDRESS_TEXT_BYTES])
{
	char *at = text;
	for (int shift = 24; shift >= 0; shift -= 8) {
		unsigned byte = (address >> shift) & 0xff;
		if (byte >= 100)
			*at++ = (char)('0' + byte / 100);
		if (byte >= 10)
			*at++ = (char)('0' + byte / 10 % 10);
		*at++ = (char)('0' + byte % 10);
		*at++ = shift ? '.' : '\0';
	}
	return text;
}
