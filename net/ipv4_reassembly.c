/*
 * ipv4_reassembly.c - putting fragmented IPv4 datagrams back together (RFC 791, RFC 815).
 *
 * Fragments are an old way to exhaust a host's memory, so everything here is bounded: at most
 * reassembly_max_datagrams datagrams in progress (a fragment of a new one beyond that is
 * dropped), reassembly_max_fragments fragments in one datagram (beyond that the datagram is
 * dropped), reassembly_max_bytes of fragment payload held in all, and reassembly_timeout_ns from
 * a datagram's first fragment to its last, after which it is freed.
 *
 * Each datagram keeps its fragments in a list sorted by offset. A fragment overlapping another
 * drops the whole datagram, as Linux does since FragmentSmack (and as RFC 5722 requires for
 * IPv6): overlaps have no legitimate use and are how IDS evasion and reassembly bugs start. An
 * exact duplicate is only dropped itself, since a network can duplicate a packet. With no
 * overlaps and every fragment inside [0, total), the datagram is complete exactly when the bytes
 * held equal the total, so no gap-tracking is needed.
 */
#include "byteorder.h"
#include "checksum.h"
#include "net_internal.h"

static void discard(struct net_stack *stack, struct reassembly_datagram *datagram)
{
	struct reassembly_datagram **link;
	struct reassembly_fragment *fragment, *next;

	for (link = &stack->reassembly; *link; link = &(*link)->next) {
		if (*link == datagram) {
			*link = datagram->next;
			break;
		}
	}
	for (fragment = datagram->fragments; fragment; fragment = next) {
		next = fragment->next;
		net_free(stack, fragment);
	}
	stack->reassembly_bytes -= datagram->bytes;
	stack->reassembly_datagrams--;
	net_free(stack, datagram);
}

static struct reassembly_datagram *find(struct net_stack *stack, uint32_t source,
					uint32_t destination, uint16_t identification,
					uint8_t protocol)
{
	struct reassembly_datagram *datagram;

	for (datagram = stack->reassembly; datagram; datagram = datagram->next) {
		if (datagram->source == source && datagram->destination == destination &&
		    datagram->identification == identification && datagram->protocol == protocol)
			return datagram;
	}
	return NULL;
}

/* Build the whole datagram, hand it up, and free everything. */
static void complete(struct net_stack *stack, struct reassembly_datagram *datagram)
{
	struct net_interface *interface = datagram->interface;
	size_t header_length = datagram->first_header_length;
	size_t total = header_length + datagram->total_length;
	static const struct net_offload no_offload;
	struct reassembly_fragment *fragment;
	struct ipv4_packet packet;
	uint8_t *buffer;

	if (total > 65535) {
		/* Options made the first header longer than the last fragment's end allowed for. */
		interface->counters.ipv4_fragment_bad++;
		discard(stack, datagram);
		return;
	}
	buffer = net_allocate(stack, total);
	if (!buffer) {
		interface->counters.no_memory++;
		discard(stack, datagram);
		return;
	}
	memcpy(buffer, datagram->first_header, header_length);
	store_be16(buffer + 2, (uint16_t)total);
	store_be16(buffer + 6, 0);
	store_be16(buffer + 10, 0);
	store_be16(buffer + 10, checksum_finish(checksum_add(0, buffer, header_length)));
	for (fragment = datagram->fragments; fragment; fragment = fragment->next)
		memcpy(buffer + header_length + fragment->offset, fragment->data, fragment->length);

	packet.interface = interface;
	packet.header = buffer;
	packet.header_length = header_length;
	packet.payload = buffer + header_length;
	packet.payload_length = datagram->total_length;
	packet.source = datagram->source;
	packet.destination = datagram->destination;
	packet.protocol = datagram->protocol;
	packet.to_broadcast = interface_is_broadcast(interface, datagram->destination);
	packet.offload = &no_offload; /* per-frame offload flags say nothing about the whole */
	discard(stack, datagram);

	interface->counters.ipv4_reassembled++;
	ipv4_deliver(&packet);
	net_free(stack, buffer);
}

void reassembly_input(struct net_interface *interface, const uint8_t *header, size_t header_length,
		      const uint8_t *payload, size_t payload_length)
{
	struct net_stack *stack = interface->stack;
	const struct net_limits *limits = &stack->limits;
	struct net_interface_counters *counters = &interface->counters;
	uint16_t fragment_field = load_be16(header + 6);
	bool more = (fragment_field & IPV4_FLAG_MORE_FRAGMENTS) != 0;
	uint32_t offset = (uint32_t)(fragment_field & IPV4_FRAGMENT_OFFSET) * 8;
	uint32_t end = offset + (uint32_t)payload_length;
	uint32_t source = load_be32(header + 12), destination = load_be32(header + 16);
	uint16_t identification = load_be16(header + 4);
	uint8_t protocol = header[9];
	struct reassembly_datagram *datagram;
	struct reassembly_fragment **link, *fragment, *previous = NULL;

	/* A fragment must carry data, all but the last a multiple of 8 bytes, none past 64 KiB. */
	if (payload_length == 0 || (more && payload_length % 8 != 0) ||
	    end > 65535 - header_length) {
		counters->ipv4_fragment_bad++;
		return;
	}

	datagram = find(stack, source, destination, identification, protocol);
	if (!datagram) {
		if (stack->reassembly_datagrams >= limits->reassembly_max_datagrams) {
			counters->ipv4_reassembly_limit++;
			return;
		}
		datagram = net_allocate(stack, sizeof(*datagram));
		if (!datagram) {
			counters->no_memory++;
			return;
		}
		memset(datagram, 0, sizeof(*datagram));
		datagram->interface = interface;
		datagram->source = source;
		datagram->destination = destination;
		datagram->identification = identification;
		datagram->protocol = protocol;
		datagram->deadline_ns = net_now(stack) + limits->reassembly_timeout_ns;
		datagram->next = stack->reassembly;
		stack->reassembly = datagram;
		stack->reassembly_datagrams++;
	}

	if (datagram->fragment_count >= limits->reassembly_max_fragments) {
		counters->ipv4_reassembly_limit++;
		discard(stack, datagram);
		return;
	}
	if (stack->reassembly_bytes + payload_length > limits->reassembly_max_bytes) {
		counters->ipv4_reassembly_limit++;
		if (datagram->fragment_count == 0)
			discard(stack, datagram);
		return;
	}

	/* The end of the datagram: set once by the last fragment, never passed by any other. */
	if (!more) {
		bool conflict = datagram->total_length != 0 && datagram->total_length != end;

		for (fragment = datagram->fragments; fragment; fragment = fragment->next) {
			if (fragment->offset + fragment->length > end)
				conflict = true;
		}
		if (conflict) {
			counters->ipv4_fragment_bad++;
			discard(stack, datagram);
			return;
		}
	} else if (datagram->total_length != 0 && end > datagram->total_length) {
		counters->ipv4_fragment_bad++;
		discard(stack, datagram);
		return;
	}

	/* Find the place in offset order and check both neighbours for overlap. */
	for (link = &datagram->fragments; *link && (*link)->offset < offset; link = &(*link)->next)
		previous = *link;
	if (*link && (*link)->offset == offset && (*link)->length == payload_length) {
		counters->ipv4_fragment_duplicate++;
		if (datagram->fragment_count == 0)
			discard(stack, datagram);
		return;
	}
	if ((previous && previous->offset + previous->length > offset) ||
	    (*link && end > (*link)->offset)) {
		counters->ipv4_fragment_overlap++;
		discard(stack, datagram);
		return;
	}

	fragment = net_allocate(stack, sizeof(*fragment) + payload_length);
	if (!fragment) {
		counters->no_memory++;
		if (datagram->fragment_count == 0)
			discard(stack, datagram);
		return;
	}
	fragment->offset = offset;
	fragment->length = (uint32_t)payload_length;
	memcpy(fragment->data, payload, payload_length);
	fragment->next = *link;
	*link = fragment;
	datagram->fragment_count++;
	datagram->bytes += (uint32_t)payload_length;
	stack->reassembly_bytes += (uint32_t)payload_length;
	if (!more)
		datagram->total_length = end;
	if (offset == 0) {
		memcpy(datagram->first_header, header, header_length);
		datagram->first_header_length = (uint8_t)header_length;
	}

	if (datagram->total_length != 0 && datagram->bytes == datagram->total_length)
		complete(stack, datagram);
}

void reassembly_poll(struct net_stack *stack, uint64_t now_ns)
{
	struct reassembly_datagram *datagram = stack->reassembly, *next;

	for (; datagram; datagram = next) {
		next = datagram->next;
		if (now_ns >= datagram->deadline_ns) {
			/* RFC 792 allows an ICMP time exceeded here; Linux sends one. Not yet. */
			datagram->interface->counters.ipv4_reassembly_timeout++;
			discard(stack, datagram);
		}
	}
}

uint64_t reassembly_next_deadline(const struct net_stack *stack)
{
	const struct reassembly_datagram *datagram;
	uint64_t deadline = NET_NO_DEADLINE;

	for (datagram = stack->reassembly; datagram; datagram = datagram->next) {
		if (datagram->deadline_ns < deadline)
			deadline = datagram->deadline_ns;
	}
	return deadline;
}

void reassembly_destroy(struct net_stack *stack)
{
	while (stack->reassembly)
		discard(stack, stack->reassembly);
}
