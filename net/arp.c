/*
 * arp.c - ARP (RFC 826) for IPv4 over Ethernet: the neighbour cache of one interface.
 *
 * The cache is a fixed array per interface (limits.arp_cache_entries), so a flood of ARP traffic
 * cannot make it grow. An entry is
 *   - INCOMPLETE: a request is out; IP frames for that address wait in a bounded queue
 *     (arp_pending_frames / arp_pending_bytes) and are sent when the reply comes. Requests are
 *     retried every arp_retry_ns; after arp_max_requests the queue is dropped.
 *   - RESOLVED: for arp_reachable_ns after it was last confirmed by an ARP packet from the
 *     neighbour. Then, if nothing used it since, it is forgotten; if frames still go through it
 *     (a long TCP stream, whose peer sends no ARP of its own), it is refreshed as Linux does a
 *     stale entry: frames keep going to the old MAC while requests ask again, and only if
 *     arp_max_requests go unanswered is it forgotten. Forgetting a busy entry would queue a
 *     whole window behind a resolution that the pending limits cannot hold.
 * Following RFC 826's merge rule, an ARP packet updates an entry we already have for its sender,
 * but creates one only if it was aimed at us, so unsolicited ARP traffic cannot fill the cache.
 * An interface announces its address with a gratuitous ARP request when it comes up (RFC 5227).
 */
#include "byteorder.h"
#include "net_internal.h"

#define ARP_PACKET_SIZE 28
#define ARP_HARDWARE_ETHERNET 1
#define ARP_OPERATION_REQUEST 1
#define ARP_OPERATION_REPLY 2

static const uint8_t zero_mac[6];

int arp_init(struct net_interface *interface)
{
	struct net_stack *stack = interface->stack;
	size_t size = sizeof(struct arp_entry) * stack->limits.arp_cache_entries;

	interface->arp_cache = net_allocate(stack, size);
	if (!interface->arp_cache)
		return NET_ERROR_NO_MEMORY;
	memset(interface->arp_cache, 0, size);
	return 0;
}

static void drop_pending(struct net_interface *interface, struct arp_entry *entry)
{
	struct net_frame *frame, *next;

	for (frame = entry->pending_head; frame; frame = next) {
		next = frame->next;
		net_frame_free(interface->stack, frame);
	}
	interface->counters.arp_resolution_failed += entry->pending_frames;
	entry->pending_head = entry->pending_tail = NULL;
	entry->pending_frames = 0;
	entry->pending_bytes = 0;
}

static void free_entry(struct net_interface *interface, struct arp_entry *entry)
{
	drop_pending(interface, entry);
	memset(entry, 0, sizeof(*entry));
}

void arp_destroy(struct net_interface *interface)
{
	uint32_t i;

	if (!interface->arp_cache)
		return;
	for (i = 0; i < interface->stack->limits.arp_cache_entries; i++)
		free_entry(interface, &interface->arp_cache[i]);
	net_free(interface->stack, interface->arp_cache);
	interface->arp_cache = NULL;
}

static void send_arp(struct net_interface *interface, uint16_t operation,
		     const uint8_t ethernet_destination[6], const uint8_t target_mac[6],
		     uint32_t sender_address, uint32_t target_address)
{
	struct net_frame *frame = net_frame_allocate(
		interface->stack, RINGVISOR_ETHERNET_HEADER_BYTES + ARP_PACKET_SIZE);
	uint8_t *packet;

	if (!frame) {
		interface->counters.no_memory++;
		return;
	}
	ethernet_fill_header(net_frame_data(frame), ethernet_destination, interface->config.mac,
			     RINGVISOR_ETHERTYPE_ARP);
	packet = net_frame_data(frame) + RINGVISOR_ETHERNET_HEADER_BYTES;
	store_be16(packet, ARP_HARDWARE_ETHERNET);
	store_be16(packet + 2, RINGVISOR_ETHERTYPE_IPV4);
	packet[4] = 6;
	packet[5] = 4;
	store_be16(packet + 6, operation);
	memcpy(packet + 8, interface->config.mac, 6);
	store_be32(packet + 14, sender_address);
	memcpy(packet + 18, target_mac, 6);
	store_be32(packet + 24, target_address);
	if (operation == ARP_OPERATION_REQUEST)
		interface->counters.arp_requests_sent++;
	else
		interface->counters.arp_replies_sent++;
	interface_transmit(interface, frame);
}

static void send_request(struct net_interface *interface, uint32_t address)
{
	send_arp(interface, ARP_OPERATION_REQUEST, ethernet_broadcast, zero_mac,
		 interface->config.ipv4_address, address);
}

void arp_announce(struct net_interface *interface)
{
	uint32_t address = interface->config.ipv4_address;

	send_arp(interface, ARP_OPERATION_REQUEST, ethernet_broadcast, zero_mac, address, address);
}

static struct arp_entry *find_entry(struct net_interface *interface, uint32_t address)
{
	uint32_t i;

	for (i = 0; i < interface->stack->limits.arp_cache_entries; i++) {
		struct arp_entry *entry = &interface->arp_cache[i];

		if (entry->state != ARP_FREE && entry->address == address)
			return entry;
	}
	return NULL;
}

/* A free entry, or the least recently updated one, emptied. */
static struct arp_entry *claim_entry(struct net_interface *interface, uint32_t address,
				     uint64_t now_ns)
{
	struct arp_entry *victim = NULL;
	uint32_t i;

	for (i = 0; i < interface->stack->limits.arp_cache_entries; i++) {
		struct arp_entry *entry = &interface->arp_cache[i];

		if (entry->state == ARP_FREE) {
			victim = entry;
			break;
		}
		if (!victim || entry->updated_ns < victim->updated_ns)
			victim = entry;
	}
	if (victim->state != ARP_FREE) {
		interface->counters.arp_cache_evictions++;
		free_entry(interface, victim);
	}
	victim->address = address;
	victim->updated_ns = now_ns;
	return victim;
}

static void send_resolved(struct net_interface *interface, const struct arp_entry *entry,
			  struct net_frame *frame)
{
	ethernet_fill_header(net_frame_data(frame), entry->mac, interface->config.mac,
			     RINGVISOR_ETHERTYPE_IPV4);
	interface_transmit(interface, frame);
}

static void mark_resolved(struct net_interface *interface, struct arp_entry *entry,
			  const uint8_t mac[6], uint64_t now_ns)
{
	struct net_frame *frame, *next;

	entry->state = ARP_RESOLVED;
	memcpy(entry->mac, mac, 6);
	entry->updated_ns = now_ns;
	entry->deadline_ns = now_ns + interface->stack->limits.arp_reachable_ns;
	entry->requests_sent = 0;
	frame = entry->pending_head;
	entry->pending_head = entry->pending_tail = NULL;
	entry->pending_frames = 0;
	entry->pending_bytes = 0;
	for (; frame; frame = next) {
		next = frame->next;
		frame->next = NULL;
		send_resolved(interface, entry, frame);
	}
}

/* Addresses that may never be a neighbour's: 0 (a probe), multicast, limited broadcast. */
static bool is_unicast_neighbour(const struct net_interface *interface, uint32_t address)
{
	return address != 0 && address < 0xe0000000u && !interface_is_broadcast(interface, address);
}

void arp_input(struct net_interface *interface, const uint8_t *packet, size_t length)
{
	uint32_t our_address = interface->config.ipv4_address;
	uint64_t now_ns = net_now(interface->stack);
	const uint8_t *sender_mac;
	uint32_t sender_address, target_address;
	uint16_t operation;
	struct arp_entry *entry;

	if (length < ARP_PACKET_SIZE) {
		interface->counters.arp_truncated++;
		return;
	}
	if (load_be16(packet) != ARP_HARDWARE_ETHERNET ||
	    load_be16(packet + 2) != RINGVISOR_ETHERTYPE_IPV4 || packet[4] != 6 || packet[5] != 4) {
		interface->counters.arp_unsupported++;
		return;
	}
	operation = load_be16(packet + 6);
	if (operation != ARP_OPERATION_REQUEST && operation != ARP_OPERATION_REPLY) {
		interface->counters.arp_bad_opcode++;
		return;
	}
	sender_mac = packet + 8;
	sender_address = load_be32(packet + 14);
	target_address = load_be32(packet + 24);
	if (ethernet_is_multicast(sender_mac) || memcmp(sender_mac, zero_mac, 6) == 0) {
		interface->counters.arp_bad_sender++;
		return;
	}
	if (sender_address == our_address) {
		/* Someone else claims our address. We keep it (RFC 5227 defence is future work). */
		interface->counters.arp_address_conflict++;
		return;
	}
	if (operation == ARP_OPERATION_REPLY)
		interface->counters.arp_replies_received++;

	if (is_unicast_neighbour(interface, sender_address)) {
		entry = find_entry(interface, sender_address);
		if (!entry && target_address == our_address)
			entry = claim_entry(interface, sender_address, now_ns);
		if (entry)
			mark_resolved(interface, entry, sender_mac, now_ns);
	}

	if (operation == ARP_OPERATION_REQUEST && target_address == our_address) {
		interface->counters.arp_requests_received++;
		/* A probe (sender 0.0.0.0) is answered too: that is how its sender sees a conflict.
		 */
		send_arp(interface, ARP_OPERATION_REPLY, sender_mac, sender_mac, our_address,
			 sender_address);
	}
}

/* A resolved entry past its time that is still in use: ask again, and keep using it meanwhile. */
static void refresh(struct net_interface *interface, struct arp_entry *entry, uint64_t now_ns)
{
	entry->requests_sent++;
	entry->deadline_ns = now_ns + interface->stack->limits.arp_retry_ns;
	send_request(interface, entry->address);
}

void arp_resolve_and_send(struct net_interface *interface, uint32_t next_hop,
			  struct net_frame *frame)
{
	const struct net_limits *limits = &interface->stack->limits;
	uint64_t now_ns = net_now(interface->stack);
	struct arp_entry *entry = find_entry(interface, next_hop);

	if (entry && entry->state == ARP_RESOLVED) {
		entry->used_ns = now_ns;
		if (now_ns >= entry->deadline_ns && entry->requests_sent == 0)
			refresh(interface, entry, now_ns);
		send_resolved(interface, entry, frame);
		return;
	}
	if (!entry) {
		entry = claim_entry(interface, next_hop, now_ns);
		entry->state = ARP_INCOMPLETE;
		entry->requests_sent = 1;
		entry->deadline_ns = now_ns + limits->arp_retry_ns;
		send_request(interface, next_hop);
	}
	if (entry->pending_frames >= limits->arp_pending_frames ||
	    entry->pending_bytes + frame->length > limits->arp_pending_bytes) {
		interface->counters.arp_queue_full++;
		net_frame_free(interface->stack, frame);
		return;
	}
	frame->next = NULL;
	if (entry->pending_tail)
		entry->pending_tail->next = frame;
	else
		entry->pending_head = frame;
	entry->pending_tail = frame;
	entry->pending_frames++;
	entry->pending_bytes += frame->length;
}

void arp_poll(struct net_interface *interface, uint64_t now_ns)
{
	const struct net_limits *limits = &interface->stack->limits;
	uint32_t i;

	for (i = 0; i < limits->arp_cache_entries; i++) {
		struct arp_entry *entry = &interface->arp_cache[i];

		if (entry->state == ARP_FREE || now_ns < entry->deadline_ns)
			continue;
		if (entry->state == ARP_RESOLVED && entry->requests_sent == 0 &&
		    entry->used_ns >= entry->updated_ns) {
			refresh(interface, entry, now_ns); /* still in use: ask, keep using it */
			continue;
		}
		if ((entry->state == ARP_RESOLVED && entry->requests_sent == 0) ||
		    entry->requests_sent >= limits->arp_max_requests) {
			free_entry(interface, entry); /* unused, or nobody answers any more */
			continue;
		}
		entry->requests_sent++;
		entry->deadline_ns = now_ns + limits->arp_retry_ns;
		send_request(interface, entry->address);
	}
}

uint64_t arp_next_deadline(const struct net_interface *interface)
{
	uint64_t deadline = NET_NO_DEADLINE;
	uint32_t i;

	/* Resolved entries expire lazily (on use or on a poll), so only retries need a wake-up. */
	for (i = 0; i < interface->stack->limits.arp_cache_entries; i++) {
		const struct arp_entry *entry = &interface->arp_cache[i];

		if (entry->state == ARP_INCOMPLETE && entry->deadline_ns < deadline)
			deadline = entry->deadline_ns;
	}
	return deadline;
}
