/* The host side of a split virtqueue, with every guest value checked (see virtqueue.h). */
#include "nic/virtqueue.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* The index fields are the only ones both sides write concurrently: load them with acquire
 * (what follows must not be read before them), store ours with release (what we wrote
 * before must be visible first). */
static uint16_t load_index(const uint16_t *field)
{
	return __atomic_load_n(field, __ATOMIC_ACQUIRE);
}

static void store_index(uint16_t *field, uint16_t value)
{
	__atomic_store_n(field, value, __ATOMIC_RELEASE);
}

__attribute__((format(printf, 2, 3))) static enum virtqueue_pop_result
mark_broken(struct virtqueue_device *queue, const char *format, ...)
{
	va_list arguments;
	va_start(arguments, format);
	vsnprintf(queue->broken_reason, sizeof queue->broken_reason, format, arguments);
	va_end(arguments);
	queue->broken = true;
	return VIRTQUEUE_BROKEN;
}

bool virtqueue_configure(struct virtqueue_device *queue, const struct guest_memory *memory,
			 uint32_t size, uint64_t descriptor_table, uint64_t available_ring,
			 uint64_t used_ring, const char **reason)
{
	memset(queue, 0, sizeof *queue);
	if (size == 0 || size > RINGVISOR_VIRTQUEUE_SIZE_MAX || (size & (size - 1)) != 0) {
		*reason = "queue size is not a power of two from 1 to 32768";
		return false;
	}
	uint64_t available_bytes = 4 + 2ull * size + 2; /* flags, index, ring, used_event */
	uint64_t used_bytes = 4 + 8ull * size + 2;	/* flags, index, ring, available_event */
	if (descriptor_table % 16 || available_ring % 2 || used_ring % 4) {
		*reason = "a ring is misaligned (descriptors 16, available 2, used 4 bytes)";
		return false;
	}
	queue->descriptors = guest_memory_checked(memory, descriptor_table, 16ull * size);
	queue->available = guest_memory_checked(memory, available_ring, available_bytes);
	queue->used = guest_memory_checked_writable(memory, used_ring, used_bytes);
	if (!queue->descriptors || !queue->available || !queue->used) {
		memset(queue, 0, sizeof *queue);
		*reason =
			"a ring lies outside the guest's RAM, or the used ring in read-only memory";
		return false;
	}
	queue->memory = memory;
	queue->size = (uint16_t)size; /* at most 32768, checked above */
	return true;
}

uint16_t virtqueue_pending(const struct virtqueue_device *queue)
{
	if (queue->broken || !queue->memory)
		return 0;
	return (uint16_t)(load_index(&queue->available->index) - queue->next_available);
}

void virtqueue_set_doorbells_wanted(struct virtqueue_device *queue, bool wanted)
{
	if (queue->broken || !queue->memory)
		return;
	__atomic_store_n(&queue->used->flags, wanted ? 0 : RINGVISOR_VIRTQUEUE_USED_NO_NOTIFY,
			 __ATOMIC_RELAXED);
	if (wanted) /* the flag before our next look at the ring; turning it off needs no fence */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

bool virtqueue_guest_wants_wakeup(const struct virtqueue_device *queue)
{
	if (queue->broken || !queue->memory)
		return false;
	__atomic_thread_fence(__ATOMIC_SEQ_CST); /* our used index before the guest's flag */
	uint16_t flags = __atomic_load_n(&queue->available->flags, __ATOMIC_RELAXED);
	return !(flags & RINGVISOR_VIRTQUEUE_AVAILABLE_NO_INTERRUPT);
}

enum virtqueue_pop_result virtqueue_pop(struct virtqueue_device *queue,
					struct virtqueue_chain *chain)
{
	if (queue->broken)
		return VIRTQUEUE_BROKEN;
	uint16_t pending = virtqueue_pending(queue);
	if (pending == 0)
		return VIRTQUEUE_EMPTY;
	if (pending > queue->size)
		return mark_broken(queue, "the guest made %u chains available in a ring of %u",
				   pending, queue->size);

	uint16_t slot = queue->next_available & (queue->size - 1);
	uint16_t head = __atomic_load_n(&queue->available->ring[slot], __ATOMIC_RELAXED);
	if (head >= queue->size)
		return mark_broken(queue, "available entry %u names descriptor %u of %u", slot,
				   head, queue->size);

	memset(chain, 0, offsetof(struct virtqueue_chain, buffers));
	chain->head = head;
	const struct ringvisor_virtqueue_descriptor *table = queue->descriptors;
	uint16_t index = head;
	for (unsigned count = 0;; count++) {
		/* A chain longer than the ring must revisit a descriptor: it is a loop. */
		if (count == queue->size || count == VIRTQUEUE_CHAIN_MAX)
			return mark_broken(queue,
					   "chain at descriptor %u is longer than %u descriptors "
					   "(a loop?)",
					   head, count);
		/* The one read of this descriptor: two loads the compiler may not repeat. */
		struct ringvisor_virtqueue_descriptor descriptor;
		const uint64_t *words = (const uint64_t *)&table[index];
		uint64_t first = __atomic_load_n(&words[0], __ATOMIC_RELAXED);
		uint64_t second = __atomic_load_n(&words[1], __ATOMIC_RELAXED);
		memcpy(&descriptor, &first, 8);
		memcpy((uint8_t *)&descriptor + 8, &second, 8);

		if (descriptor.flags &
		    ~(RINGVISOR_VIRTQUEUE_DESCRIPTOR_NEXT | RINGVISOR_VIRTQUEUE_DESCRIPTOR_WRITE))
			return mark_broken(queue, "descriptor %u has unsupported flags %#x", index,
					   descriptor.flags);
		bool writable = descriptor.flags & RINGVISOR_VIRTQUEUE_DESCRIPTOR_WRITE;
		void *buffer =
			writable ? guest_memory_checked_writable(queue->memory, descriptor.address,
								 descriptor.length)
				 : guest_memory_checked(queue->memory, descriptor.address,
							descriptor.length);
		if (!buffer)
			return mark_broken(queue,
					   "descriptor %u's buffer [%#llx, +%u) is not in the "
					   "guest's %sRAM",
					   index, (unsigned long long)descriptor.address,
					   descriptor.length, writable ? "writable " : "");
		if (!writable && chain->writable_count > 0)
			return mark_broken(queue,
					   "descriptor %u is readable but follows a writable one",
					   index);
		if (descriptor.length > 0) {
			struct iovec *entry =
				&chain->buffers[chain->readable_count + chain->writable_count];
			entry->iov_base = buffer;
			entry->iov_len = descriptor.length;
			if (writable) {
				chain->writable_count++;
				chain->writable_bytes += descriptor.length;
			} else {
				chain->readable_count++;
				chain->readable_bytes += descriptor.length;
			}
		}
		if (!(descriptor.flags & RINGVISOR_VIRTQUEUE_DESCRIPTOR_NEXT))
			break;
		if (descriptor.next >= queue->size)
			return mark_broken(queue, "descriptor %u links to descriptor %u of %u",
					   index, descriptor.next, queue->size);
		index = descriptor.next;
	}
	queue->next_available++;
	return VIRTQUEUE_CHAIN;
}

void virtqueue_unpop(struct virtqueue_device *queue)
{
	queue->next_available--;
}

void virtqueue_push(struct virtqueue_device *queue, uint16_t head, uint32_t written)
{
	if (queue->broken)
		return;
	struct ringvisor_virtqueue_used_element element = { .id = head, .length = written };
	struct ringvisor_virtqueue_used *ring = queue->used;
	memcpy(&ring->ring[queue->next_used & (queue->size - 1)], &element, sizeof element);
	queue->next_used++;
	store_index(&ring->index, queue->next_used);
}
