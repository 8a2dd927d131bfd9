/*
 * The host side of a split virtqueue (layout in ringvisor_abi.h): taking descriptor chains
 * the guest made available, and returning them as used.
 *
 * Everything in the rings is the guest's, and hostile. virtqueue_pop() reads each index and
 * descriptor from guest memory exactly once into a local copy, then checks the copy: the
 * available index may not run more than a ring ahead, a head or `next` must name a descriptor,
 * a chain may not be longer than the ring (which also ends loops), readable buffers come before
 * writable ones, and every buffer must lie in the guest's own RAM. The first violation marks
 * the queue broken, with the reason, and the queue does nothing more: the device is dead, the
 * launcher and the rest of the guest are not.
 */
#ifndef RINGVISOR_VIRTQUEUE_H
#define RINGVISOR_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "ringvisor_abi.h"
#include "vm/guest_memory.h"

/* Longest chain we accept: a 64 KiB frame in 4 KiB pages plus a header, with room to spare. */
#define VIRTQUEUE_CHAIN_MAX 64

struct virtqueue_device {
	const struct guest_memory *memory;
	uint16_t size; /* entries; a power of two */
	/* The three rings, checked once by virtqueue_configure() and translated then. */
	const struct ringvisor_virtqueue_descriptor *descriptors;
	struct ringvisor_virtqueue_available *available;
	struct ringvisor_virtqueue_used *used;
	uint16_t next_available; /* the next available entry we will take */
	uint16_t next_used;	 /* the next used entry we will fill */
	bool broken;
	char broken_reason[160];
};

/* One chain, as host pointers into guest RAM: readable buffers first, then writable ones. */
struct virtqueue_chain {
	uint16_t head;
	unsigned readable_count;
	unsigned writable_count;
	uint64_t readable_bytes;
	uint64_t writable_bytes;
	struct iovec buffers[VIRTQUEUE_CHAIN_MAX];
};

/* Checks the ring layout the guest asked for; false (with *reason set) if it is unusable. */
bool virtqueue_configure(struct virtqueue_device *queue, const struct guest_memory *memory,
			 uint32_t size, uint64_t descriptor_table, uint64_t available_ring,
			 uint64_t used_ring, const char **reason);

enum virtqueue_pop_result {
	VIRTQUEUE_EMPTY = 0,
	VIRTQUEUE_CHAIN = 1,
	VIRTQUEUE_BROKEN = -1,
};

/* Takes the next available chain, checked, into *chain. */
enum virtqueue_pop_result virtqueue_pop(struct virtqueue_device *queue,
					struct virtqueue_chain *chain);

/* Puts back the chain just popped, unused: the next pop takes (and checks) it again. */
void virtqueue_unpop(struct virtqueue_device *queue);

/* Returns a chain to the guest with `written` bytes filled in, and publishes it. */
void virtqueue_push(struct virtqueue_device *queue, uint16_t head, uint32_t written);

/* Chains the guest has made available that we have not taken yet (0 if broken). */
uint16_t virtqueue_pending(const struct virtqueue_device *queue);

/*
 * Notification suppression, both ways. The guest skips its doorbell while we say we do not
 * need it (we are polling this queue anyway); we skip waking the guest while it says it is
 * running and will look at the used ring by itself. Each side turns its flag back on and then
 * looks at the ring once more before it sleeps, with a full barrier between, so no
 * notification is lost between the look and the sleep.
 */
void virtqueue_set_doorbells_wanted(struct virtqueue_device *queue, bool wanted);
bool virtqueue_guest_wants_wakeup(const struct virtqueue_device *queue);

#endif
