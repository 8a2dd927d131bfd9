/*
 * The guest's paravirtual NIC driver: virtio-net over two split virtqueues (receive, transmit),
 * set up with one hypercall, then driven only through shared memory and doorbells.
 *
 *	struct nic_driver *nic = nic_driver_create(0);           // negotiate, set up, post receive
 *buffers nic_driver_attach(nic, interface);                 // received frames go to net_receive()
 *	... nic_driver_poll(nic) each event-loop turn; nic_driver_transmit() is the interface's
 *transmit() ...
 *
 * Receive: every receive descriptor holds one writable buffer big enough for the 12-byte
 * virtio_net_hdr_v1 and the largest frame (mtu + 14, plus slack); a finished buffer is handed to
 * the stack and posted again at once, and one receive doorbell is written per batch of reposts.
 * Transmit: header and frame are copied into a buffer from a pool (one per descriptor, one
 * descriptor per frame), added to the ring, with one transmit doorbell per poll
 *(nic_driver_flush()), or at once when the ring is full. Finished transmit buffers are reclaimed
 *lazily.
 */
#ifndef GUEST_KERNEL_NIC_DRIVER_H
#define GUEST_KERNEL_NIC_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <net.h>

#include "../../abi/ringvisor_poll.h"
#include "virtqueue_driver.h"

#define NIC_DRIVER_COUNTERS(X)                                                                     \
	X(rx_frames, "frames received")                                                            \
	X(rx_bytes, "bytes of frames received (without the virtio header)")                        \
	X(rx_errors, "receive buffers returned too short or too long")                             \
	X(rx_doorbells, "receive doorbells written")                                               \
	X(tx_frames, "frames queued for transmission")                                             \
	X(tx_bytes, "bytes of frames queued for transmission")                                     \
	X(tx_no_buffer, "frames dropped: no transmit buffer free")                                 \
	X(tx_too_big, "frames dropped: longer than mtu + 14")                                      \
	X(tx_doorbells, "transmit doorbells written")                                              \
	X(tx_doorbells_suppressed, "transmit doorbells the device said it did not need")

struct nic_driver_counters {
#define NIC_COUNTER_FIELD(name, description) uint64_t name;
	NIC_DRIVER_COUNTERS(NIC_COUNTER_FIELD)
#undef NIC_COUNTER_FIELD
};

struct nic_driver {
	unsigned index; /* in the boot information */
	const struct ringvisor_nic_info *info;
	uint64_t features;	     /* accepted */
	uint32_t frame_max;	     /* the largest frame we can receive (64 KiB with TSO) */
	uint32_t transmit_frame_max; /* the largest frame we may send */
	uint8_t mac[6];
	uint16_t mtu;
	struct virtqueue_driver receive;
	struct virtqueue_driver transmit;
	struct net_interface *interface; /* NULL: received frames are dropped */

	uint8_t *receive_memory;
	uint32_t receive_buffer_bytes;
	uint16_t receive_buffers;
	uint16_t receive_reposted; /* since the last receive doorbell */

	uint8_t *transmit_memory;
	uint32_t transmit_buffer_bytes;
	uint8_t **transmit_free; /* stack of free transmit buffers */
	uint16_t transmit_free_count;
	bool transmit_doorbell_pending;
	bool transmit_wanted; /* a sender waits for buffers: wake us when they come back */
	bool interrupts_enabled;

	struct nic_driver_counters counters;
	struct poll_traffic traffic_when_judged; /* for nic_driver_traffic_is_bulk */
};

/* Sets NIC `index` of the boot information up. Panics with the reason if that fails. */
struct nic_driver *nic_driver_create(unsigned index);
void nic_driver_attach(struct nic_driver *nic, struct net_interface *interface);

static inline bool nic_driver_accepted(const struct nic_driver *nic, unsigned feature)
{
	return (nic->features >> feature) & 1;
}

/* The interface's transmit function (driver_context: the struct nic_driver). */
int nic_driver_transmit(struct net_interface *interface, uint8_t *frame, size_t length,
			const struct net_offload *offload);

/* Drains both used rings (received frames go up to the stack) and reposts receive buffers
 * (ringing the receive doorbell). Transmit doorbells wait for nic_driver_flush(), once per turn,
 * after the stack's timers have sent too. True if anything came back from the device. */
bool nic_driver_poll(struct nic_driver *nic);
/* Writes the transmit doorbell now if frames are waiting for one. */
void nic_driver_flush(struct nic_driver *nic);
/* Before sleeping: flush, ask for receive wakeups, and look once more. True: do not sleep. */
bool nic_driver_prepare_to_sleep(struct nic_driver *nic);
/* Whether the frames sent and received since the last call were bulk (ringvisor_poll.h): then
 * polling before a sleep would not pay. */
bool nic_driver_traffic_is_bulk(struct nic_driver *nic);
/* Transmit buffers free now (finished ones are reclaimed first). If fewer than `wanted`, the
 * next sleep asks the device for a wakeup when transmit buffers come back. */
unsigned nic_driver_transmit_space(struct nic_driver *nic, unsigned wanted);
/* No transmit in flight or waiting for a doorbell. */
bool nic_driver_transmit_idle(const struct nic_driver *nic);

/* Prints the nonzero driver counters and the stack's counters, as `nic NAME counter VALUE`. */
void nic_driver_print_counters(const struct nic_driver *nic);

#endif
