/*
 * The paravirtual NIC driver (see nic_driver.h): virtio-net with the 12-byte ringvisor_net_header
 * in front of every frame, over the driver side of two split virtqueues.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel_internal.h"
#include "nic_driver.h"

/* The features we take if offered. The TSO pair (64 KiB segments both ways, which is where TCP
 * throughput comes from) needs 64 KiB buffers, so only a guest with room for them takes it. */
#define NIC_FEATURES_WANTED                                                                        \
	((1ull << RINGVISOR_NIC_FEATURE_CSUM) | (1ull << RINGVISOR_NIC_FEATURE_GUEST_CSUM) |       \
	 (1ull << RINGVISOR_NIC_FEATURE_MTU) | (1ull << RINGVISOR_NIC_FEATURE_MAC))
#define NIC_FEATURES_TSO                                                                           \
	((1ull << RINGVISOR_NIC_FEATURE_GUEST_TSO4) | (1ull << RINGVISOR_NIC_FEATURE_HOST_TSO4))
#define NIC_TSO_MEMORY_MIN (32ull << 20)
/* The largest frame with TSO: an Ethernet header and a 64 KiB IPv4 packet. */
#define NIC_TSO_FRAME_MAX (RINGVISOR_ETHERNET_HEADER_BYTES + 65535u)

#define NIC_QUEUE_SIZE 256u
#define NIC_DEFAULT_MTU 1500u
#define NIC_RECEIVE_SLACK 4u /* a VLAN tag, should one slip through */
/* Large MTUs get fewer buffers rather than tens of MiB of them: each direction's buffers take at
 * most 8 MiB and an eighth of guest RAM, but never fewer than 16 buffers. */
#define NIC_BUFFER_MEMORY_MAX (8ull << 20)
#define NIC_BUFFERS_MIN 16u
/* Frames handed to the stack per poll: no more than a UDP socket queues (64), so an app that
 * empties its sockets every loop turn never loses a datagram to a full queue. */
#define NIC_RECEIVE_BATCH 64u

_Static_assert(RINGVISOR_NET_HEADER_BYTES == RINGVISOR_NET_HEADER_BYTES,
	       "virtio header sizes differ");
_Static_assert(NET_TRANSMIT_HEADROOM >= RINGVISOR_NET_HEADER_BYTES,
	       "no room for the virtio header");

static uint32_t round_up(uint32_t value, uint32_t multiple)
{
	return (value + multiple - 1) / multiple * multiple;
}

/* How many buffers of `bytes` one direction gets, for a queue of `size`. */
static uint32_t buffer_count(uint32_t bytes, uint16_t size)
{
	uint64_t memory = kernel_boot_info()->memory_size / 8;
	if (memory > NIC_BUFFER_MEMORY_MAX)
		memory = NIC_BUFFER_MEMORY_MAX;
	uint64_t count = memory / bytes;
	if (count < NIC_BUFFERS_MIN)
		count = NIC_BUFFERS_MIN;
	return count < size ? (uint32_t)count : size;
}

static uint16_t queue_size_for(const struct ringvisor_nic_info *info)
{
	uint32_t size = NIC_QUEUE_SIZE;
	if (info->queue_size_max == 0)
		panic("nic %.16s: the launcher accepts no queue size (queue_size_max 0)",
		      info->name);
	while (size > info->queue_size_max)
		size /= 2;
	if (size == 0)
		panic("nic %.16s: queue_size_max %u", info->name, info->queue_size_max);
	return (uint16_t)size;
}

static void check_doorbell(const struct ringvisor_nic_info *info, uint32_t port)
{
	/* Only these ports are open to ring 3: any other `out` would be a #GP. */
	uint32_t first = RINGVISOR_PORT_DOORBELL_FIRST;
	if (port < first || port >= first + 4 * RINGVISOR_PORT_DOORBELL_COUNT ||
	    (port - first) % 4 != 0)
		panic("nic %.16s: doorbell port %#x is not one of the doorbell ports", info->name,
		      port);
}

static void post_receive_buffer(struct nic_driver *nic, uint8_t *buffer)
{
	struct virtqueue_buffer descriptor = {
		.address = (uintptr_t)buffer,
		.length = nic->receive_buffer_bytes,
		.writable = true,
	};
	if (virtqueue_driver_add(&nic->receive, &descriptor, 1, buffer) < 0)
		panic("nic %.16s: no free receive descriptor for a returned buffer",
		      nic->info->name);
	nic->receive_reposted++;
}

static void receive_doorbell(struct nic_driver *nic)
{
	if (nic->receive_reposted == 0)
		return;
	nic->receive_reposted = 0;
	uint64_t before = nic->receive.doorbells;
	virtqueue_driver_doorbell(&nic->receive);
	nic->counters.rx_doorbells += nic->receive.doorbells - before;
}

struct nic_driver *nic_driver_create(unsigned index)
{
	const struct ringvisor_boot_info *boot_info = kernel_boot_info();
	if (index >= boot_info->nic_count || index >= RINGVISOR_NICS_MAX)
		panic("nic %u: the launcher gave this guest %u NIC(s)", index,
		      boot_info->nic_count);
	const struct ringvisor_nic_info *info = &boot_info->nics[index];
	struct nic_driver *nic = calloc(1, sizeof *nic);
	if (!nic)
		panic("nic %.16s: out of memory", info->name);
	nic->index = index;
	nic->info = info;
	nic->features = info->features & NIC_FEATURES_WANTED;
	uint64_t checksums =
		(1ull << RINGVISOR_NIC_FEATURE_CSUM) | (1ull << RINGVISOR_NIC_FEATURE_GUEST_CSUM);
	if ((info->features & NIC_FEATURES_TSO) == NIC_FEATURES_TSO &&
	    (nic->features & checksums) == checksums &&
	    boot_info->memory_size >= NIC_TSO_MEMORY_MIN)
		nic->features |= NIC_FEATURES_TSO; /* TSO needs checksum offload both ways */

	if (nic_driver_accepted(nic, RINGVISOR_NIC_FEATURE_MAC)) {
		memcpy(nic->mac, info->mac, sizeof nic->mac);
	} else {
		/* Locally administered, unicast, unique per NIC of this guest. */
		static const uint8_t base[6] = { 0x02, 0x52, 0x56, 0x00, 0x00, 0x00 };
		memcpy(nic->mac, base, sizeof nic->mac);
		nic->mac[5] = (uint8_t)(index + 1);
	}
	nic->mtu = NIC_DEFAULT_MTU;
	if (nic_driver_accepted(nic, RINGVISOR_NIC_FEATURE_MTU))
		nic->mtu = info->mtu;
	if (nic->mtu < 68)
		panic("nic %.16s: MTU %u is below IPv4's minimum of 68", info->name, nic->mtu);

	check_doorbell(info, info->receive_doorbell_port);
	check_doorbell(info, info->transmit_doorbell_port);
	uint16_t size = queue_size_for(info);
	if (!virtqueue_driver_create(&nic->receive, size, info->receive_doorbell_port) ||
	    !virtqueue_driver_create(&nic->transmit, size, info->transmit_doorbell_port))
		panic("nic %.16s: out of memory for queues of %u", info->name, size);

	/* Receive buffers: header + the largest frame + slack, 64-byte multiples. */
	nic->frame_max = nic_driver_accepted(nic, RINGVISOR_NIC_FEATURE_GUEST_TSO4)
				 ? NIC_TSO_FRAME_MAX
				 : RINGVISOR_ETHERNET_HEADER_BYTES + nic->mtu;
	nic->receive_buffer_bytes =
		round_up(RINGVISOR_NET_HEADER_BYTES + nic->frame_max + NIC_RECEIVE_SLACK, 64);
	uint32_t buffers = buffer_count(nic->receive_buffer_bytes, size);
	nic->receive_buffers = (uint16_t)buffers;
	nic->receive_memory = malloc((size_t)buffers * nic->receive_buffer_bytes);

	/* Transmit buffers: header + the largest frame, at most one per descriptor, so that a
	 * free buffer always means a free descriptor. */
	nic->transmit_frame_max = nic_driver_accepted(nic, RINGVISOR_NIC_FEATURE_HOST_TSO4)
					  ? NIC_TSO_FRAME_MAX
					  : RINGVISOR_ETHERNET_HEADER_BYTES + nic->mtu;
	nic->transmit_buffer_bytes =
		round_up(RINGVISOR_NET_HEADER_BYTES + nic->transmit_frame_max, 64);
	uint32_t transmit_buffers = buffer_count(nic->transmit_buffer_bytes, size);
	nic->transmit_memory = malloc((size_t)transmit_buffers * nic->transmit_buffer_bytes);
	nic->transmit_free = malloc(sizeof *nic->transmit_free * transmit_buffers);
	if (!nic->receive_memory || !nic->transmit_memory || !nic->transmit_free)
		panic("nic %.16s: out of memory for %u receive buffers of %u bytes and %u transmit "
		      "buffers of %u bytes",
		      info->name, buffers, nic->receive_buffer_bytes, transmit_buffers,
		      nic->transmit_buffer_bytes);
	for (uint32_t buffer = 0; buffer < transmit_buffers; buffer++)
		nic->transmit_free[buffer] =
			nic->transmit_memory +
			(size_t)(transmit_buffers - 1 - buffer) * nic->transmit_buffer_bytes;
	nic->transmit_free_count = (uint16_t)transmit_buffers;

	static struct ringvisor_nic_setup setup __attribute__((aligned(16)));
	memset(&setup, 0, sizeof setup);
	setup.features = nic->features;
	virtqueue_driver_describe(&nic->receive, &setup.receive);
	virtqueue_driver_describe(&nic->transmit, &setup.transmit);
	int64_t result = hypercall(RINGVISOR_HYPERCALL_NIC_SETUP, index, (uintptr_t)&setup, 0);
	if (result != 0)
		panic("nic %.16s: the launcher refused the setup (error %lld; features %#llx, "
		      "queues of %u); its message says why",
		      info->name, (long long)result, (unsigned long long)nic->features, size);

	/* All receive buffers up front, one doorbell for them all. */
	for (uint32_t buffer = 0; buffer < buffers; buffer++)
		post_receive_buffer(nic, nic->receive_memory +
						 (size_t)buffer * nic->receive_buffer_bytes);
	receive_doorbell(nic);
	return nic;
}

void nic_driver_attach(struct nic_driver *nic, struct net_interface *interface)
{
	nic->interface = interface;
}

static void flush_transmit(struct nic_driver *nic)
{
	if (!nic->transmit_doorbell_pending)
		return;
	nic->transmit_doorbell_pending = false;
	uint64_t doorbells = nic->transmit.doorbells,
		 suppressed = nic->transmit.doorbells_suppressed;
	virtqueue_driver_doorbell(&nic->transmit);
	nic->counters.tx_doorbells += nic->transmit.doorbells - doorbells;
	nic->counters.tx_doorbells_suppressed += nic->transmit.doorbells_suppressed - suppressed;
}

void nic_driver_flush(struct nic_driver *nic)
{
	flush_transmit(nic);
}

/* Takes back every transmit buffer the device is done with; true if there was any. */
static bool reclaim_transmit(struct nic_driver *nic)
{
	bool any = false;
	void *buffer;
	while ((buffer = virtqueue_driver_get_used(&nic->transmit, NULL)) != NULL) {
		nic->transmit_free[nic->transmit_free_count++] = buffer;
		any = true;
	}
	return any;
}

int nic_driver_transmit(struct net_interface *interface, uint8_t *frame, size_t length,
			const struct net_offload *offload)
{
	struct nic_driver *nic = net_interface_driver_context(interface);
	if (length > nic->transmit_frame_max) {
		nic->counters.tx_too_big++;
		return -1;
	}
	if (nic->transmit_free_count == 0) {
		reclaim_transmit(nic);
		if (nic->transmit_free_count == 0) {
			/* The ring is full: make sure the device knows, and drop this one. */
			flush_transmit(nic);
			nic->counters.tx_no_buffer++;
			return -1;
		}
	}
	uint8_t *buffer = nic->transmit_free[--nic->transmit_free_count];
	struct ringvisor_net_header header;
	net_offload_to_virtio_header(offload, &header);
	memcpy(buffer, &header, sizeof header);
	memcpy(buffer + RINGVISOR_NET_HEADER_BYTES, frame, length);
	struct virtqueue_buffer descriptor = {
		.address = (uintptr_t)buffer,
		.length = (uint32_t)(RINGVISOR_NET_HEADER_BYTES + length),
		.writable = false,
	};
	/* No more buffers than descriptors: a free buffer means a free descriptor. */
	if (virtqueue_driver_add(&nic->transmit, &descriptor, 1, buffer) < 0)
		panic("nic %.16s: transmit buffers and descriptors disagree", nic->info->name);
	nic->counters.tx_frames++;
	nic->counters.tx_bytes += length;
	nic->transmit_doorbell_pending = true;
	if (nic->transmit_free_count == 0)
		flush_transmit(nic); /* the ring is full: let the device start on it now */
	return 0;
}

static bool drain_receive(struct nic_driver *nic)
{
	bool any = false;
	uint32_t written;
	uint8_t *buffer;
	bool offloads = nic_driver_accepted(nic, RINGVISOR_NIC_FEATURE_GUEST_CSUM);
	for (unsigned batch = 0;
	     batch < NIC_RECEIVE_BATCH &&
	     (buffer = virtqueue_driver_get_used(&nic->receive, &written)) != NULL;
	     batch++) {
		any = true;
		if (written < RINGVISOR_NET_HEADER_BYTES + RINGVISOR_ETHERNET_HEADER_BYTES ||
		    written > nic->receive_buffer_bytes) {
			nic->counters.rx_errors++;
		} else {
			size_t length = written - RINGVISOR_NET_HEADER_BYTES;
			nic->counters.rx_frames++;
			nic->counters.rx_bytes += length;
			if (nic->interface) {
				struct ringvisor_net_header header;
				struct net_offload offload;
				memcpy(&header, buffer, sizeof header);
				net_offload_from_virtio_header(&offload, &header);
				/* Without GUEST_CSUM, the header's flags mean nothing to us. */
				net_receive(nic->interface, buffer + RINGVISOR_NET_HEADER_BYTES,
					    length, offloads ? &offload : NULL);
			}
		}
		post_receive_buffer(nic, buffer);
	}
	receive_doorbell(nic);
	return any;
}

bool nic_driver_poll(struct nic_driver *nic)
{
	if (nic->interrupts_enabled) {
		virtqueue_driver_disable_interrupts(&nic->receive);
		virtqueue_driver_disable_interrupts(&nic->transmit);
		nic->interrupts_enabled = false;
	}
	bool worked = drain_receive(nic);
	/* Transmit buffers are reclaimed lazily, unless a sender is waiting for them. */
	if (reclaim_transmit(nic) && nic->transmit_wanted) {
		nic->transmit_wanted = false;
		worked = true; /* the sender gets another turn */
	}
	return worked; /* network_poll rings the doorbells once, after the stack's timers too */
}

unsigned nic_driver_transmit_space(struct nic_driver *nic, unsigned wanted)
{
	if (nic->transmit_free_count < wanted)
		reclaim_transmit(nic);
	if (nic->transmit_free_count < wanted) {
		nic->transmit_wanted = true;
		flush_transmit(nic);
	}
	return nic->transmit_free_count;
}

bool nic_driver_prepare_to_sleep(struct nic_driver *nic)
{
	flush_transmit(nic);
	/* Receive may always wake us. A finished transmit only frees a buffer, which can wait
	 * until we next transmit (waking for it would cost a wait hypercall per reply), unless
	 * a sender is waiting for buffers. */
	nic->interrupts_enabled = true;
	bool work = virtqueue_driver_enable_interrupts(&nic->receive);
	if (nic->transmit_wanted)
		work |= virtqueue_driver_enable_interrupts(&nic->transmit);
	return work;
}

bool nic_driver_traffic_is_bulk(struct nic_driver *nic)
{
	const struct nic_driver_counters *counters = &nic->counters;
	return poll_traffic_is_bulk(&nic->traffic_when_judged,
				    counters->rx_frames + counters->tx_frames,
				    counters->rx_bytes + counters->tx_bytes);
}

bool nic_driver_transmit_idle(const struct nic_driver *nic)
{
	return !nic->transmit_doorbell_pending && virtqueue_driver_in_flight(&nic->transmit) == 0;
}

void nic_driver_print_counters(const struct nic_driver *nic)
{
	const char *name = nic->info->name[0] ? nic->info->name : "nic";
	int width = (int)strnlen(name, sizeof nic->info->name);
#define NIC_COUNTER_PRINT(field, description)                                                      \
	if (nic->counters.field)                                                                   \
		printf("nic %.*s %s %llu\n", width, name, #field,                                  \
		       (unsigned long long)nic->counters.field);
	NIC_DRIVER_COUNTERS(NIC_COUNTER_PRINT)
#undef NIC_COUNTER_PRINT
	if (!nic->interface)
		return;
	const struct net_interface_counters *counters = net_interface_counters(nic->interface);
	for (size_t index = 0; index < net_counter_count(); index++) {
		uint64_t value = net_counter_value(counters, index);
		if (value)
			printf("nic %.*s %s %llu\n", width, name, net_counter_name(index),
			       (unsigned long long)value);
	}
}
