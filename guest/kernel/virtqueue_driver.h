/*
 * The driver side of a split virtqueue (layout in abi/ringvisor_abi.h, virtio 1.x 2.7): the guest
 * owns the three rings, hands chains of buffers to the device through the available ring and
 * takes them back, in the order the device finished them, from the used ring.
 *
 *	struct virtqueue_driver queue;
 *	if (!virtqueue_driver_create(&queue, 256, doorbell_port)) ...;   // rings from the heap
 *	struct virtqueue_buffer buffer = { (uintptr_t)data, length, false };
 *	virtqueue_driver_add(&queue, &buffer, 1, data);    // published at once, no doorbell yet
 *	virtqueue_driver_doorbell(&queue);                     // one doorbell for everything added
 *so far
 *	...
 *	while ((token = virtqueue_driver_get_used(&queue, &written)) != NULL) ...;
 *
 * Indices are free-running uint16_t. The available index is published with a release store and
 * the used index read with an acquire load; the doorbell port is written only when the device
 * has not said USED_NO_NOTIFY. Host-to-guest interrupts (wakeups) start disabled.
 *
 * Single-threaded: one vCPU, the event loop's thread.
 */
#ifndef GUEST_KERNEL_VIRTQUEUE_DRIVER_H
#define GUEST_KERNEL_VIRTQUEUE_DRIVER_H

#include <stdbool.h>
#include <stdint.h>

#include <ringvisor/hypercall.h>

struct virtqueue_buffer {
	uint64_t address; /* guest address (== virtual address) */
	uint32_t length;
	bool writable; /* the device writes it (receive); readable buffers must come first */
};

struct virtqueue_driver {
	uint16_t size; /* a power of two */
	uint16_t mask; /* size - 1 */
	struct ringvisor_virtqueue_descriptor *descriptors;
	struct ringvisor_virtqueue_available *available;
	struct ringvisor_virtqueue_used *used;
	uint32_t doorbell_port;

	/* Private to the driver, never read back from shared memory. */
	void **tokens; /* per chain head: what virtqueue_driver_get_used() returns; NULL if free */
	uint16_t *links;  /* per descriptor: the next in its chain, or in the free list */
	uint16_t *counts; /* per chain head: descriptors in the chain */
	uint16_t free_head;
	uint16_t free_count;
	uint16_t next_available; /* our copy of available->index */
	uint16_t last_used;	 /* the next used entry we will take */
	bool doorbell_needed;	 /* chains were added since the last doorbell */

	uint64_t doorbells;	       /* doorbells written */
	uint64_t doorbells_suppressed; /* doorbells the device's NO_NOTIFY made unnecessary */
};

/* Allocates and zeroes the rings and the driver's arrays; false if memory ran out. */
bool virtqueue_driver_create(struct virtqueue_driver *queue, uint16_t size, uint32_t doorbell_port);
/* What the setup hypercall needs to know about the queue. */
void virtqueue_driver_describe(const struct virtqueue_driver *queue,
			       struct ringvisor_queue_setup *setup);

/*
 * Puts a chain of `count` buffers (readable ones first) in the available ring, with `token`
 * (not NULL) to give back when the device is done with it. Returns the chain's head, or -1 if
 * fewer than `count` descriptors are free. The device may see it at once; it is told only by
 * the next virtqueue_driver_doorbell().
 */
int virtqueue_driver_add(struct virtqueue_driver *queue, const struct virtqueue_buffer *buffers,
			 unsigned count, void *token);

/* Writes the doorbell if chains were added since the last doorbell and the device asked for it. */
void virtqueue_driver_doorbell(struct virtqueue_driver *queue);
/* Writes the doorbell unconditionally (hostile-ring tests). */
void virtqueue_driver_doorbell_now(struct virtqueue_driver *queue);

/* True if the device has returned chains that virtqueue_driver_get_used() has not taken. */
bool virtqueue_driver_has_used(const struct virtqueue_driver *queue);
/* Takes the next returned chain: its token, and in *written the bytes the device wrote into it.
 * NULL if none. Panics if the device returns a chain that is not in flight. */
void *virtqueue_driver_get_used(struct virtqueue_driver *queue, uint32_t *written);

/* Chains in flight (added, not yet taken back). */
static inline uint16_t virtqueue_driver_in_flight(const struct virtqueue_driver *queue)
{
	return (uint16_t)(queue->size - queue->free_count);
}

/* Sets NO_INTERRUPT: the device does not wake us when it returns chains. */
void virtqueue_driver_disable_interrupts(struct virtqueue_driver *queue);
/* Clears NO_INTERRUPT, then (after a full barrier) looks at the used ring once more: true if
 * chains are already waiting, in which case the caller must not go to sleep. */
bool virtqueue_driver_enable_interrupts(struct virtqueue_driver *queue);

#endif
