/*
 * The `share` backend's data path (see share_port.h), run by the I/O thread: sending a
 * guest's frames to the ports they are for, and receiving other guests' frames into ours.
 *
 * Sending copies a frame once, from guest memory into the ring to its destination; receiving
 * copies it once more, from the ring into the guest's buffer. Two copies, the same as a TAP
 * (into the kernel and out again), and none of the host's network stack in between. A 64 KiB
 * TSO frame crosses whole, its virtio-net header with it, unless the receiving guest did not
 * negotiate large frames or checksum offload: then its launcher segments or checksums it
 * (frame_offload.c) on the way in.
 */
#include "share/share_port.h"

#include <endian.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "ringvisor_abi.h"
#include "nic/iovec_copy.h"
#include "nic/net_header.h"

/* What routing looks at: the frame's header and its Ethernet header, copied once (out of guest
 * memory, or out of a ring another process writes), and only ever decided on as copied. */
struct route {
	struct ringvisor_net_header header;
	uint8_t destination[RINGVISOR_ETHERNET_ADDRESS_BYTES];
	uint8_t source[RINGVISOR_ETHERNET_ADDRESS_BYTES];
	uint8_t ethertype[2];
};
_Static_assert(sizeof(struct route) == RINGVISOR_NET_HEADER_BYTES + RINGVISOR_ETHERNET_HEADER_BYTES,
	       "a route is the two headers, unpadded");
/* Records that are not for our guest (flooded, malformed) skipped in one receive call, before
 * the I/O thread looks at its other work. */
#define SKIPPED_RECORDS_MAX 64
/* A hostile member could make every ring look corrupt again and again: the first few reports
 * say so, the counter says how often. */
#define CORRUPT_REPORTS_MAX 10
/* How often a live peer whose ring we found full is woken without having asked. */
#define FORCED_WAKEUP_INTERVAL_NS (10ull * 1000000)

static bool is_multicast(const uint8_t mac[6])
{
	return mac[0] & 1; /* broadcast included */
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

static bool port_owns_mac(const struct share_port *port, unsigned index, uint64_t key)
{
	return __atomic_load_n(&entry_of(port, index)->own_mac, __ATOMIC_RELAXED) == key;
}

static bool port_learned_mac(const struct share_port *port, unsigned index, uint64_t key)
{
	for (unsigned slot = 0; slot < SHARE_MACS_PER_PORT; slot++)
		if (__atomic_load_n(&entry_of(port, index)->macs[slot], __ATOMIC_RELAXED) == key)
			return true;
	return false;
}

/* Another active port has `key` as its NIC's own MAC. */
static bool owned_elsewhere(const struct share_port *port, uint64_t key)
{
	for (unsigned index = 0; index < SHARE_PORTS_MAX; index++)
		if (index != port->port && port_is_active(port, index) &&
		    port_owns_mac(port, index, key))
			return true;
	return false;
}

/*
 * The learning half of the switch: our guest sends from `source`, so frames for it come to us.
 * Our NIC's own MAC was published when we joined; another one is learned unless another port's
 * NIC owns it, so that a guest sending from a neighbour's address cannot steal its traffic.
 */
static void learn(struct share_port *port, const uint8_t source[6])
{
	static const uint8_t zero[6];
	uint64_t key = share_mac_key(source);
	if (is_multicast(source) || memcmp(source, zero, 6) == 0 ||
	    memcmp(source, port->mac, 6) == 0)
		return;
	for (unsigned slot = 0; slot < SHARE_MACS_PER_PORT; slot++)
		if (port->learned[slot] == key) {
			/* Known; put it back if someone scribbled over it. */
			struct share_port_entry *entry = entry_of(port, port->port);
			if (__atomic_load_n(&entry->macs[slot], __ATOMIC_RELAXED) != key)
				__atomic_store_n(&entry->macs[slot], key, __ATOMIC_RELEASE);
			return;
		}
	if (owned_elsewhere(port, key))
		return;
	port->learned[port->next_mac_slot] = key;
	__atomic_store_n(&entry_of(port, port->port)->macs[port->next_mac_slot], key,
			 __ATOMIC_RELEASE);
	port->next_mac_slot = (port->next_mac_slot + 1) % SHARE_MACS_PER_PORT;
}

static bool is_ours(const struct share_port *port, const uint8_t destination[6])
{
	if (memcmp(destination, port->mac, 6) == 0)
		return true;
	uint64_t key = share_mac_key(destination);
	for (unsigned slot = 0; slot < SHARE_MACS_PER_PORT; slot++)
		if (port->learned[slot] == key)
			return true;
	return false;
}

/* The port for `destination`: the one whose NIC owns it, else one that learned it; -1 if none
 * has published it. */
static int find_port(struct share_port *port, const uint8_t destination[6])
{
	uint64_t key = share_mac_key(destination);
	unsigned cached = port->last_destination_port;
	if (port->last_destination == key && port_is_active(port, cached) &&
	    port_owns_mac(port, cached, key))
		return (int)cached;
	for (int pass = 0; pass < 2; pass++) {
		for (unsigned index = 0; index < SHARE_PORTS_MAX; index++) {
			if (index == port->port || !port_is_active(port, index))
				continue;
			if (pass == 0 && port_owns_mac(port, index, key)) {
				port->last_destination = key;
				port->last_destination_port = index;
				return (int)index;
			}
			if (pass == 1 && port_learned_mac(port, index, key))
				return (int)index;
		}
	}
	return -1;
}

static void report_corrupt(struct share_port *port, unsigned index, const char *which)
{
	if (port->counters.switch_corrupt++ < CORRUPT_REPORTS_MAX)
		fprintf(stderr,
			"ringvisor: %s: the ring %s port %u is corrupt (an index or a record "
			"length out of range); left alone until the next tick repairs it\n",
			port->display_name, which, index);
}

/* ---- sending -------------------------------------------------------------------------------- */

static bool write_wakeup(struct share_port *port, unsigned index)
{
	int fd = share_switch_peer_wakeup_fd(port, index);
	char byte = 1;
	if (fd >= 0 && write(fd, &byte, 1) == 1)
		return true;
	if (fd >= 0 && errno == EAGAIN)
		return true; /* the FIFO is full of wakeups already */
	if (fd >= 0)
		share_switch_peer_wakeup_failed(port, index);
	return false;
}

/*
 * Wakes the peer if it asked to be woken. The fence orders our tail's publication before our
 * look at its flag, as its flag is ordered before its last look at our tail. The first sender
 * to find the flag set takes it; if it then cannot deliver the byte, it puts the flag back, so
 * that the wakeup is not lost with it.
 */
static void wake_peer(struct share_port *port, unsigned index)
{
	uint32_t *wanted = &entry_of(port, index)->wakeup_wanted;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!__atomic_load_n(wanted, __ATOMIC_RELAXED) ||
	    !__atomic_exchange_n(wanted, 0, __ATOMIC_ACQ_REL))
		return;
	if (write_wakeup(port, index))
		port->counters.switch_wakeups_sent++;
	else
		__atomic_store_n(wanted, 1, __ATOMIC_RELEASE);
}

/*
 * The ring to a peer is full. Either its launcher is dead (and its port is reclaimed), or slow,
 * or asleep having lost a wakeup (a sender killed between taking the flag and writing the byte):
 * a live peer is woken anyway, now and then.
 */
static void ring_full(struct share_port *port, unsigned index)
{
	port->counters.switch_dropped_full++;
	if (!share_switch_reclaim_if_dead(port, index))
		return;
	struct share_peer *peer = &port->peers[index];
	uint64_t now = share_now_ns();
	if (now - peer->forced_wakeup_ns < FORCED_WAKEUP_INTERVAL_NS)
		return;
	peer->forced_wakeup_ns = now;
	if (write_wakeup(port, index))
		port->counters.switch_wakeups_forced++;
}

static void send_to(struct share_port *port, unsigned index, const struct route *route,
		    const struct iovec *buffers, unsigned count, size_t length)
{
	struct share_peer *peer = &port->peers[index];
	if (peer->transmit_corrupt) {
		port->counters.switch_dropped_corrupt++;
		return;
	}
	if (!share_switch_reserve_transmit_ring(port, index))
		return; /* no room in /dev/shm: counted and said once */
	switch (share_ring_write(&peer->transmit, (const uint8_t *)route, sizeof *route, buffers,
				 count, (uint32_t)length)) {
	case SHARE_RING_DONE:
		wake_peer(port, index);
		break;
	case SHARE_RING_FULL:
		ring_full(port, index);
		break;
	case SHARE_RING_CORRUPT:
		peer->transmit_corrupt = true;
		port->counters.switch_dropped_corrupt++;
		report_corrupt(port, index, "to");
		break;
	case SHARE_RING_EMPTY:
		break;
	}
}

bool share_port_send(struct share_port *port, const struct iovec *buffers, unsigned count,
		     size_t length)
{
	struct route route; /* read once from guest memory; the ring gets this copy */
	struct iovec route_buffer = { &route, sizeof route };
	if (length < sizeof route || length > RINGVISOR_FRAME_BYTES_MAX ||
	    iovec_copy(&route_buffer, 1, 0, buffers, count, 0, sizeof route) != sizeof route)
		return false;
	/* The device checked the header already (nic.c); the switch is another boundary, and
	 * the receiving launcher must not have to guess: the same check, once more. */
	if (net_header_refusal(&route.header, port->guest_features, port->mtu,
			       length - sizeof route.header)) {
		port->counters.switch_dropped_not_offered++;
		return false;
	}
	/* DATA_VALID is a receiver's word, not a sender's */
	route.header.flags &= RINGVISOR_NET_HEADER_NEEDS_CSUM;
	const uint8_t *destination = route.destination;
	learn(port, route.source);

	if (!is_multicast(destination)) {
		int index = find_port(port, destination);
		if (index >= 0) {
			send_to(port, (unsigned)index, &route, buffers, count, length);
			port->counters.switch_sent_unicast++;
			return true;
		}
	}
	/* Broadcast, multicast, or a destination nobody has published: every other port. */
	bool sent = false;
	for (unsigned index = 0; index < SHARE_PORTS_MAX; index++) {
		if (index != port->port && port_is_active(port, index)) {
			send_to(port, index, &route, buffers, count, length);
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
static long next_segment(struct share_port *port, const struct iovec *buffers, unsigned count,
			 size_t room)
{
	size_t need = frame_segmenter_next_length(&port->segmenter);
	if (need == 0) {
		port->segmenting = false;
		return 0;
	}
	if (count == 1 && need <= room) /* straight into the guest's buffer */
		return (long)frame_segmenter_next(&port->segmenter, buffers[0].iov_base, room);
	size_t length = frame_segmenter_next(&port->segmenter, port->segment_frame,
					     RINGVISOR_FRAME_BYTES_MAX);
	if (length > room)
		return -EMSGSIZE;
	struct iovec whole = { port->segment_frame, length };
	iovec_copy(buffers, count, 0, &whole, 1, 0, length);
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
 * delivered into `buffers`, 0 if it was not for us (or was bad, or is being segmented), or
 * -EMSGSIZE if it did not fit.
 */
static long receive_record(struct share_port *port, struct share_peer *peer, unsigned index,
			   const struct iovec *buffers, unsigned count, size_t room)
{
	uint32_t length;
	enum share_ring_result result = share_ring_peek(&peer->receive, sizeof(struct route),
							RINGVISOR_FRAME_BYTES_MAX, &length);
	if (result != SHARE_RING_DONE) {
		if (result == SHARE_RING_CORRUPT) {
			peer->receive_corrupt = true;
			report_corrupt(port, index, "from");
		}
		return 0;
	}
	struct route route; /* our copy: what we decide on is what the guest gets */
	struct iovec route_buffer = { &route, sizeof route };
	share_ring_copy_out(&peer->receive, 0, &route_buffer, 1, sizeof route);
	const uint8_t *destination = route.destination;
	if (!is_multicast(destination) && !is_ours(port, destination)) {
		port->counters.switch_received_not_ours++; /* flooded, or misrouted */
		share_ring_consume(&peer->receive, length);
		return 0;
	}
	uint8_t flags = route.header.flags, gso_type = route.header.gso_type;
	if ((flags & ~RINGVISOR_NET_HEADER_NEEDS_CSUM) ||
	    (gso_type != RINGVISOR_NET_GSO_NONE && gso_type != RINGVISOR_NET_GSO_TCPV4)) {
		port->counters.switch_received_malformed++; /* no launcher of ours sends these */
		share_ring_consume(&peer->receive, length);
		return 0;
	}
	if (is_multicast(destination))
		port->counters.switch_received_broadcast++;
	else
		port->counters.switch_received_unicast++;
	/* Large frames need checksum offload too (the TSO segments' checksums are partial). */
	const uint64_t large = RINGVISOR_NIC_FEATURE(RINGVISOR_NIC_FEATURE_GUEST_TSO4) |
			       RINGVISOR_NIC_FEATURE(RINGVISOR_NIC_FEATURE_GUEST_CSUM);
	bool segment =
		gso_type != RINGVISOR_NET_GSO_NONE && (port->guest_features & large) != large;
	bool checksum =
		(flags & RINGVISOR_NET_HEADER_NEEDS_CSUM) &&
		!(port->guest_features & RINGVISOR_NIC_FEATURE(RINGVISOR_NIC_FEATURE_GUEST_CSUM));
	route.header.buffer_count = htole16(1); /* one buffer per frame, always */

	if (!segment && !checksum) { /* the fast path: straight into the guest's buffer */
		long delivered = -EMSGSIZE;
		if (length <= room) {
			share_ring_copy_out(&peer->receive, 0, buffers, count, length);
			iovec_copy(buffers, count, 0, &route_buffer, 1, 0, sizeof route);
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
	memcpy(port->offload_frame, &route, sizeof route);
	const char *reason;
	if (segment) {
		if (!frame_segmenter_start(&port->segmenter, port->offload_frame, length,
					   &reason)) {
			port->counters.switch_received_malformed++;
			return 0;
		}
		port->segmenting = true;
		port->counters.switch_segmented++;
		return next_segment(port, buffers, count, room);
	}
	if (!frame_finish_checksum(port->offload_frame, length, &reason)) {
		port->counters.switch_received_malformed++;
		return 0;
	}
	port->counters.switch_checksummed++;
	if (length > room)
		return -EMSGSIZE;
	iovec_copy(buffers, count, 0, &whole, 1, 0, length);
	return length;
}

long share_port_receive(struct share_port *port, const struct iovec *buffers, unsigned count,
			size_t room)
{
	if (port->segmenting) {
		long length = next_segment(port, buffers, count, room);
		if (length != 0)
			return length;
	}
	unsigned index;
	struct share_peer *peer;
	for (unsigned skipped = 0; skipped < SKIPPED_RECORDS_MAX; skipped++) {
		if (!(peer = next_ring_with_data(port, &index)))
			break;
		long length = receive_record(port, peer, index, buffers, count, room);
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
	return false; /* (never segmenting here: receive finishes a frame's segments first) */
}

void share_port_pause_wakeups(struct share_port *port)
{
	__atomic_store_n(&entry_of(port, port->port)->wakeup_wanted, 0, __ATOMIC_RELAXED);
}

void share_port_wake_self(struct share_port *port)
{
	char byte = 1;
	if (write(port->wakeup_fd, &byte, 1) == 1)
		port->counters.switch_wakeups_self++;
}

int share_port_wakeup_fd(const struct share_port *port)
{
	return port->wakeup_fd;
}

/* A few reads at most: anyone may write to the FIFO, and a writer that never stops must not
 * keep the I/O thread here (epoll is level-triggered: what is left brings us back). */
void share_port_drain_wakeups(struct share_port *port)
{
	char bytes[4096];
	for (int reads = 0; reads < 4; reads++) {
		ssize_t count = read(port->wakeup_fd, bytes, sizeof bytes);
		if (count <= 0)
			break;
		port->counters.switch_wakeups_received += (uint64_t)count;
		if (count < (ssize_t)sizeof bytes)
			break; /* emptied: no second read just to hear EAGAIN */
	}
}

void share_port_visit_counters(const struct share_port *port, nic_counter_visitor *visit,
			       void *context)
{
#define SHARE_VISIT_COUNTER(counter) visit(context, #counter, port->counters.counter);
	SHARE_COUNTERS(SHARE_VISIT_COUNTER)
#undef SHARE_VISIT_COUNTER
	visit(context, "switch_port", port->port); /* not a counter: which port we hold */
}
