/*
 * The `share` backend's data path (see share_switch.h), run by the I/O thread: sending a
 * guest's frames to the ports they are for, and receiving other guests' frames into ours.
 *
 * Sending copies a frame once, from guest memory into the ring to its destination; receiving
 * copies it once more, from the ring into the guest's buffer. Two copies, the same as a TAP
 * (into the kernel and out again), and none of the host's network stack in between. A 64 KiB
 * TSO frame crosses whole, its virtio-net header with it, unless the receiving guest did not
 * negotiate large frames or checksum offload: then its launcher segments or checksums it
 * (frame_offload.c) on the way in.
 */
#include "share_switch.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "../abi/ringvisor_abi.h"
#include "segments.h"

#define FEATURE(bit) (1ull << (bit))
#define ETHERNET_HEADER_BYTES 14u
/* What routing looks at: the virtio-net header and the Ethernet header. */
#define ROUTE_BYTES (RINGVISOR_NIC_HEADER_BYTES + ETHERNET_HEADER_BYTES)
#define FRAME_BYTES_MAX (RINGVISOR_NIC_HEADER_BYTES + ETHERNET_HEADER_BYTES + 65535)

static bool is_multicast(const uint8_t mac[6])
{
	return mac[0] & 1; /* broadcast included */
}

/* A MAC as a port entry holds it: the address in the low 48 bits, bit 63 for "valid". */
static uint64_t mac_key(const uint8_t mac[6])
{
	uint64_t key = 1ull << 63;
	for (int index = 0; index < 6; index++)
		key |= (uint64_t)mac[index] << (8 * index);
	return key;
}

static struct share_port_entry *entry_of(const struct share_port *port, unsigned index)
{
	return &port->region->ports[index];
}

static bool port_is_active(const struct share_port *port, unsigned index)
{
	return __atomic_load_n(&entry_of(port, index)->state, __ATOMIC_ACQUIRE) ==
	       SHARE_PORT_ACTIVE;
}

static bool port_has_mac(const struct share_port *port, unsigned index, uint64_t key)
{
	for (unsigned slot = 0; slot < SHARE_MACS_PER_PORT; slot++)
		if (__atomic_load_n(&entry_of(port, index)->macs[slot], __ATOMIC_RELAXED) == key)
			return true;
	return false;
}

/* The learning half of the switch: our guest sends from `source`, so frames for it come to
 * us. Only we write our entry's addresses. */
static void learn(struct share_port *port, const uint8_t source[6])
{
	static const uint8_t zero[6];
	if (is_multicast(source) || memcmp(source, zero, 6) == 0)
		return;
	uint64_t key = mac_key(source);
	if (port_has_mac(port, port->port, key))
		return;
	struct share_port_entry *entry = entry_of(port, port->port);
	__atomic_store_n(&entry->macs[port->next_mac_slot], key, __ATOMIC_RELEASE);
	port->next_mac_slot = (port->next_mac_slot + 1) % SHARE_MACS_PER_PORT;
}

/* The port that has published `destination`, or -1 if none has. */
static int find_port(struct share_port *port, const uint8_t destination[6])
{
	uint64_t key = mac_key(destination);
	unsigned cached = port->last_destination_port;
	if (port->last_destination == key && port_is_active(port, cached) &&
	    port_has_mac(port, cached, key))
		return (int)cached;
	for (unsigned index = 0; index < SHARE_PORTS_MAX; index++) {
		if (index != port->port && port_is_active(port, index) &&
		    port_has_mac(port, index, key)) {
			port->last_destination = key;
			port->last_destination_port = index;
			return (int)index;
		}
	}
	return -1;
}

/*
 * A peer's port changed hands since we last looked. A ring we had stopped trusting gets a
 * fresh start: the new owner began reading ours at our tail, and we skip to the tail of
 * theirs (a frame or two of the newcomer's may be lost; the ring was corrupt).
 */
static void notice_new_owner(struct share_port *port, unsigned index)
{
	struct share_peer *peer = &port->peers[index];
	uint32_t generation = __atomic_load_n(&entry_of(port, index)->generation, __ATOMIC_ACQUIRE);
	if (generation == peer->generation)
		return;
	peer->generation = generation;
	peer->transmit_corrupt = false;
	if (peer->receive_corrupt) {
		peer->receive_corrupt = false;
		peer->receive.position =
			__atomic_load_n(&peer->receive.indices->tail, __ATOMIC_ACQUIRE);
		__atomic_store_n(&peer->receive.indices->head, peer->receive.position,
				 __ATOMIC_RELEASE);
	}
}

/* A hostile member could make every ring look corrupt again and again: the first few reports
 * say so, the counter says how often. */
#define CORRUPT_REPORTS_MAX 10

static void report_corrupt(struct share_port *port, unsigned index, const char *which)
{
	if (port->counters.switch_corrupt++ < CORRUPT_REPORTS_MAX)
		fprintf(stderr,
			"ringvisor: %s: the ring %s port %u is corrupt (an index or a record "
			"length out of range); ignoring it until that port changes hands\n",
			port->display_name, which, index);
}

/* ---- sending -------------------------------------------------------------------------------- */

/* Wakes the peer if it asked to be woken; the fence orders our tail's publication before our
 * look at its flag, as its flag is ordered before its last look at our tail. */
static void wake_peer(struct share_port *port, unsigned index)
{
	uint32_t *wanted = &entry_of(port, index)->wakeup_wanted;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!__atomic_load_n(wanted, __ATOMIC_RELAXED) ||
	    !__atomic_exchange_n(wanted, 0, __ATOMIC_ACQ_REL))
		return;
	int fd = share_peer_wakeup_fd(port, index);
	if (fd < 0)
		return;
	char byte = 1;
	if (write(fd, &byte, 1) == 1)
		port->counters.switch_wakeups_sent++;
	else if (errno != EAGAIN) /* EAGAIN: the FIFO is full of wakeups already */
		share_peer_wakeup_failed(port, index);
}

static void send_to(struct share_port *port, unsigned index, const uint8_t *route,
		    const struct iovec *segments, unsigned count, size_t length)
{
	struct share_peer *peer = &port->peers[index];
	notice_new_owner(port, index);
	if (peer->transmit_corrupt) {
		port->counters.switch_dropped_full++;
		return;
	}
	switch (share_ring_write(&peer->transmit, route, ROUTE_BYTES, segments, count,
				 (uint32_t)length)) {
	case SHARE_RING_DONE:
		wake_peer(port, index);
		break;
	case SHARE_RING_FULL: /* its launcher is slow, or dead: see which */
		port->counters.switch_dropped_full++;
		share_reclaim_if_dead(port, index);
		break;
	case SHARE_RING_CORRUPT:
		peer->transmit_corrupt = true;
		report_corrupt(port, index, "to");
		break;
	case SHARE_RING_EMPTY:
		break;
	}
}

bool share_port_send(struct share_port *port, const struct iovec *segments, unsigned count,
		     size_t length)
{
	uint8_t route[ROUTE_BYTES]; /* read once from guest memory; the ring gets this copy */
	struct iovec route_buffer = { route, sizeof route };
	if (length < ROUTE_BYTES || length > FRAME_BYTES_MAX ||
	    segments_copy(&route_buffer, 1, 0, segments, count, 0, sizeof route) != sizeof route)
		return false;
	const uint8_t *destination = route + RINGVISOR_NIC_HEADER_BYTES;
	learn(port, destination + 6);

	if (!is_multicast(destination)) {
		int index = find_port(port, destination);
		if (index >= 0) {
			send_to(port, (unsigned)index, route, segments, count, length);
			port->counters.switch_sent_unicast++;
			return true;
		}
	}
	/* Broadcast, multicast, or a destination nobody has sent from yet: every other port. */
	bool sent = false;
	for (unsigned index = 0; index < SHARE_PORTS_MAX; index++) {
		if (index != port->port && port_is_active(port, index)) {
			send_to(port, index, route, segments, count, length);
			sent = true;
		}
	}
	if (sent)
		port->counters.switch_sent_flooded++;
	else
		port->counters.switch_dropped_no_port++;
	return true;
}

/* ---- receiving ------------------------------------------------------------------------------ */

/* The next segment of a frame being segmented for our guest; 0 when there are no more. A
 * segment too big for the buffer is dropped, so that the next call moves on. */
static long next_segment(struct share_port *port, const struct iovec *segments, unsigned count,
			 size_t room)
{
	size_t need = frame_segmenter_next_length(&port->segmenter);
	if (need == 0) {
		port->segmenting = false;
		return 0;
	}
	if (count == 1 && need <= room) /* straight into the guest's buffer */
		return (long)frame_segmenter_next(&port->segmenter, segments[0].iov_base, room);
	size_t length =
		frame_segmenter_next(&port->segmenter, port->segment_frame, FRAME_BYTES_MAX);
	if (length > room)
		return -EMSGSIZE;
	struct iovec whole = { port->segment_frame, length };
	segments_copy(segments, count, 0, &whole, 1, 0, length);
	return (long)length;
}

/* The next ring with a record for us, round-robin so that no sender starves the others. */
static struct share_peer *next_ring_with_data(struct share_port *port, unsigned *found)
{
	for (unsigned step = 0; step < SHARE_PORTS_MAX; step++) {
		unsigned index = (port->next_peer + step) % SHARE_PORTS_MAX;
		struct share_peer *peer = &port->peers[index];
		if (index == port->port)
			continue;
		notice_new_owner(port, index);
		if (!peer->receive_corrupt && share_ring_has_data(&peer->receive)) {
			port->next_peer = (index + 1) % SHARE_PORTS_MAX;
			*found = index;
			return peer;
		}
	}
	return NULL;
}

/*
 * Takes one record off a ring and decides what our guest gets of it: returns its length
 * delivered into `segments`, 0 if it was not for us (or was bad, or is being segmented), or
 * -EMSGSIZE if it did not fit.
 */
static long receive_record(struct share_port *port, struct share_peer *peer, unsigned index,
			   const struct iovec *segments, unsigned count, size_t room)
{
	uint32_t length;
	enum share_ring_result result =
		share_ring_peek(&peer->receive, ROUTE_BYTES, FRAME_BYTES_MAX, &length);
	if (result != SHARE_RING_DONE) {
		if (result == SHARE_RING_CORRUPT) {
			peer->receive_corrupt = true;
			report_corrupt(port, index, "from");
		}
		return 0;
	}
	uint8_t route[ROUTE_BYTES]; /* our copy: what we decide on is what the guest gets */
	struct iovec route_buffer = { route, sizeof route };
	share_ring_copy_out(&peer->receive, 0, &route_buffer, 1, sizeof route);
	const uint8_t *destination = route + RINGVISOR_NIC_HEADER_BYTES;
	if (is_multicast(destination)) {
		port->counters.switch_received_broadcast++;
	} else if (memcmp(destination, port->mac, 6) != 0) {
		port->counters.switch_received_not_ours++; /* flooded, or misrouted */
		share_ring_consume(&peer->receive, length);
		return 0;
	} else {
		port->counters.switch_received_unicast++;
	}

	uint8_t flags = route[0], gso_type = route[1];
	/* Large frames need checksum offload too (the TSO segments' checksums are partial). */
	const uint64_t large = FEATURE(RINGVISOR_NIC_FEATURE_GUEST_TSO4) |
			       FEATURE(RINGVISOR_NIC_FEATURE_GUEST_CSUM);
	bool segment = gso_type != FRAME_GSO_NONE && (port->guest_features & large) != large;
	bool checksum = (flags & FRAME_FLAG_NEEDS_CSUM) &&
			!(port->guest_features & FEATURE(RINGVISOR_NIC_FEATURE_GUEST_CSUM));
	if (!(port->guest_features & FEATURE(RINGVISOR_NIC_FEATURE_GUEST_CSUM)))
		route[0] &= (uint8_t)~FRAME_FLAG_DATA_VALID; /* not ours to claim for it */
	if (gso_type != FRAME_GSO_NONE && gso_type != FRAME_GSO_TCPV4) {
		port->counters.switch_corrupt++; /* no guest of ours makes any other kind */
		share_ring_consume(&peer->receive, length);
		return 0;
	}

	if (!segment && !checksum) { /* the fast path: straight into the guest's buffer */
		long delivered = -EMSGSIZE;
		if (length <= room) {
			share_ring_copy_out(&peer->receive, 0, segments, count, length);
			segments_copy(segments, count, 0, &route_buffer, 1, 0, sizeof route);
			delivered = length;
		}
		share_ring_consume(&peer->receive, length);
		return delivered;
	}

	/* The guest cannot take it as it is: a private copy, which no other process can
	 * change while we work on it. */
	struct iovec whole = { port->offload_frame, length };
	share_ring_copy_out(&peer->receive, 0, &whole, 1, length);
	share_ring_consume(&peer->receive, length);
	memcpy(port->offload_frame, route, sizeof route);
	const char *reason;
	if (segment) {
		if (!frame_segmenter_start(&port->segmenter, port->offload_frame, length,
					   &reason)) {
			port->counters.switch_corrupt++;
			return 0;
		}
		port->segmenting = true;
		port->counters.switch_segmented++;
		return next_segment(port, segments, count, room);
	}
	if (!frame_finish_checksum(port->offload_frame, length, &reason)) {
		port->counters.switch_corrupt++;
		return 0;
	}
	port->counters.switch_checksummed++;
	if (length > room)
		return -EMSGSIZE;
	segments_copy(segments, count, 0, &whole, 1, 0, length);
	return length;
}

long share_port_receive(struct share_port *port, const struct iovec *segments, unsigned count,
			size_t room)
{
	if (port->segmenting) {
		long length = next_segment(port, segments, count, room);
		if (length != 0)
			return length;
	}
	unsigned index;
	struct share_peer *peer;
	while ((peer = next_ring_with_data(port, &index))) {
		long length = receive_record(port, peer, index, segments, count, room);
		if (length != 0)
			return length;
	}
	return 0;
}

bool share_port_ask_for_wakeup(struct share_port *port)
{
	uint32_t *wanted = &entry_of(port, port->port)->wakeup_wanted;
	__atomic_store_n(wanted, 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (unsigned index = 0; index < SHARE_PORTS_MAX; index++) {
		struct share_peer *peer = &port->peers[index];
		if (index != port->port && !peer->receive_corrupt &&
		    share_ring_has_data(&peer->receive)) {
			__atomic_store_n(wanted, 0, __ATOMIC_RELAXED);
			return true;
		}
	}
	return port->segmenting;
}

void share_port_pause_wakeups(struct share_port *port)
{
	__atomic_store_n(&entry_of(port, port->port)->wakeup_wanted, 0, __ATOMIC_RELAXED);
}

int share_port_wakeup_fd(const struct share_port *port)
{
	return port->wakeup_fd;
}

void share_port_wake_self(struct share_port *port)
{
	char byte = 1;
	if (write(port->wakeup_fd, &byte, 1) == 1)
		port->counters.switch_wakeups_received--; /* not a peer's: drain counts it */
}

void share_port_drain_wakeups(struct share_port *port)
{
	char bytes[256];
	ssize_t count;
	while ((count = read(port->wakeup_fd, bytes, sizeof bytes)) > 0)
		port->counters.switch_wakeups_received += (uint64_t)count;
}

void share_port_print_counters(const struct share_port *port, const char *nic_name, FILE *stream)
{
#define SHARE_PRINT_COUNTER(name)                                                                  \
	fprintf(stream, "nic %s %s %llu\n", nic_name, #name,                                       \
		(unsigned long long)port->counters.name);
	SHARE_COUNTERS(SHARE_PRINT_COUNTER)
#undef SHARE_PRINT_COUNTER
	fprintf(stream, "nic %s switch_port %u\n", nic_name, port->port);
}
