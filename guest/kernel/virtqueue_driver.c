/*
 * The driver side of a split virtqueue (see virtqueue.h). The device (the launcher's I/O thread)
 * reads and writes the rings concurrently; the only fields both sides touch are the indices and
 * the flags, and everything the driver needs to remember about a chain (its token, its links,
 * the free list) lives in private arrays, never read back from shared memory.
 */
#include <stdlib.h>
#include <string.h>

#include "kernel_internal.h"
#include "virtqueue_driver.h"

static uint16_t load_acquire(const uint16_t *field)
{
	return __atomic_load_n(field, __ATOMIC_ACQUIRE);
}

static void store_release(uint16_t *field, uint16_t value)
{
	__atomic_store_n(field, value, __ATOMIC_RELEASE);
}

/* Allocated with malloc: 16-byte aligned, more than any ring needs (16 / 2 / 4). */
static void *allocate_zeroed(size_t bytes)
{
	void *memory = malloc(bytes);
	if (memory)
		memset(memory, 0, bytes);
	return memory;
}

bool virtqueue_driver_create(struct virtqueue_driver *queue, uint16_t size, uint32_t doorbell_port)
{
	kernel_assert(size > 0 && (size & (size - 1)) == 0);
	memset(queue, 0, sizeof *queue);
	queue->size = size;
	queue->mask = (uint16_t)(size - 1);
	queue->doorbell_port = doorbell_port;
	queue->descriptors = allocate_zeroed(sizeof *queue->descriptors * size);
	queue->available = allocate_zeroed(sizeof *queue->available + 2u * size + 2);
	queue->used = allocate_zeroed(sizeof *queue->used + sizeof queue->used->ring[0] * size + 2);
	queue->tokens = allocate_zeroed(sizeof *queue->tokens * size);
	queue->links = allocate_zeroed(sizeof *queue->links * size);
	queue->counts = allocate_zeroed(sizeof *queue->counts * size);
	if (!queue->descriptors || !queue->available || !queue->used || !queue->tokens ||
	    !queue->links || !queue->counts)
		return false; /* the caller panics: no point freeing */
	for (uint16_t index = 0; index < size; index++)
		queue->links[index] = (uint16_t)(index + 1); /* the last link is never followed */
	queue->free_head = 0;
	queue->free_count = size;
	queue->available->flags = RINGVISOR_VIRTQUEUE_AVAILABLE_NO_INTERRUPT;
	return true;
}

void virtqueue_driver_describe(const struct virtqueue_driver *queue,
			       struct ringvisor_queue_setup *setup)
{
	setup->size = queue->size;
	setup->reserved = 0;
	setup->descriptors = (uintptr_t)queue->descriptors;
	setup->available = (uintptr_t)queue->available;
	setup->used = (uintptr_t)queue->used;
}

int virtqueue_driver_add(struct virtqueue_driver *queue, const struct virtqueue_buffer *buffers,
			 unsigned count, void *token)
{
	kernel_assert(count > 0 && token != NULL);
	if (count > queue->free_count)
		return -1;
	uint16_t head = queue->free_head, index = head;
	for (unsigned position = 0; position < count; position++) {
		struct ringvisor_virtqueue_descriptor *descriptor = &queue->descriptors[index];
		descriptor->address = buffers[position].address;
		descriptor->length = buffers[position].length;
		uint16_t flags =
			buffers[position].writable ? RINGVISOR_VIRTQUEUE_DESCRIPTOR_WRITE : 0;
		index = queue->links[index];
		if (position + 1 < count) {
			flags |= RINGVISOR_VIRTQUEUE_DESCRIPTOR_NEXT;
			descriptor->next = index;
		} else {
			descriptor->next = 0;
		}
		descriptor->flags = flags;
	}
	queue->free_head = index;
	queue->free_count = (uint16_t)(queue->free_count - count);
	queue->tokens[head] = token;
	queue->counts[head] = (uint16_t)count;

	/* The descriptors and the ring entry first, then (release) the index that publishes them.
	 */
	queue->available->ring[queue->next_available & queue->mask] = head;
	queue->next_available++;
	store_release(&queue->available->index, queue->next_available);
	queue->doorbell_needed = true;
	return head;
}

void virtqueue_driver_doorbell_now(struct virtqueue_driver *queue)
{
	uint32_t value = 0;
	__asm__ volatile("outl %0, %w1"
			 :
			 : "a"(value), "Nd"((uint16_t)queue->doorbell_port)
			 : "memory");
	queue->doorbells++;
}

void virtqueue_driver_doorbell(struct virtqueue_driver *queue)
{
	if (!queue->doorbell_needed)
		return;
	queue->doorbell_needed = false;
	/* Our index store must be visible before we read the device's flags: if the device sets
	 * NO_NOTIFY, then looks at the index one last time, one of us sees the other. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&queue->used->flags, __ATOMIC_RELAXED) &
	    RINGVISOR_VIRTQUEUE_USED_NO_NOTIFY) {
		queue->doorbells_suppressed++;
		return;
	}
	virtqueue_driver_doorbell_now(queue);
}

bool virtqueue_driver_has_used(const struct virtqueue_driver *queue)
{
	return load_acquire(&queue->used->index) != queue->last_used;
}

void *virtqueue_driver_get_used(struct virtqueue_driver *queue, uint32_t *written)
{
	if (load_acquire(&queue->used->index) == queue->last_used)
		return NULL;
	const struct ringvisor_virtqueue_used_element *element =
		&queue->used->ring[queue->last_used & queue->mask];
	uint32_t id = __atomic_load_n(&element->id, __ATOMIC_RELAXED);
	uint32_t length = __atomic_load_n(&element->length, __ATOMIC_RELAXED);
	if (id >= queue->size || queue->tokens[id] == NULL)
		panic("virtqueue: the device returned descriptor %u, which is not in flight "
		      "(queue of %u)",
		      id, queue->size);
	queue->last_used++;

	void *token = queue->tokens[id];
	queue->tokens[id] = NULL;
	/* Give the chain back to the free list, following our own links, not the device's. */
	uint16_t count = queue->counts[id], tail = (uint16_t)id;
	for (uint16_t position = 1; position < count; position++)
		tail = queue->links[tail];
	queue->links[tail] = queue->free_head;
	queue->free_head = (uint16_t)id;
	queue->free_count = (uint16_t)(queue->free_count + count);
	if (written)
		*written = length;
	return token;
}

void virtqueue_driver_disable_interrupts(struct virtqueue_driver *queue)
{
	uint16_t flags = queue->available->flags;
	if (!(flags & RINGVISOR_VIRTQUEUE_AVAILABLE_NO_INTERRUPT))
		__atomic_store_n(&queue->available->flags,
				 (uint16_t)(flags | RINGVISOR_VIRTQUEUE_AVAILABLE_NO_INTERRUPT),
				 __ATOMIC_RELAXED);
}

bool virtqueue_driver_enable_interrupts(struct virtqueue_driver *queue)
{
	uint16_t flags = queue->available->flags;
	if (flags & RINGVISOR_VIRTQUEUE_AVAILABLE_NO_INTERRUPT)
		__atomic_store_n(&queue->available->flags,
				 (uint16_t)(flags & ~RINGVISOR_VIRTQUEUE_AVAILABLE_NO_INTERRUPT),
				 __ATOMIC_RELAXED);
	/* The flag store must be visible before we read the used index: the device writes the
	 * index, then reads our flag; one of us sees the other's write. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return virtqueue_driver_has_used(queue);
}
