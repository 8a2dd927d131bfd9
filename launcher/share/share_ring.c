/* A share switch link's byte ring (see share_ring.h). */
#include "share/share_ring.h"

#include <string.h>

#include "nic/iovec_copy.h"

#define RING_MASK (SHARE_RING_BYTES - 1)

/* The ring bytes from `position` for `length` bytes, as one or two buffers (it wraps). */
static unsigned ring_span(const struct share_ring *ring, uint32_t position, size_t length,
			  struct iovec span[2])
{
	uint32_t start = position & RING_MASK;
	size_t first = SHARE_RING_BYTES - start;
	span[0] = (struct iovec){ ring->data + start, length < first ? length : first };
	if (length <= first)
		return 1;
	span[1] = (struct iovec){ ring->data, length - first };
	return 2;
}

enum share_ring_result share_ring_write(struct share_ring *ring, const uint8_t *prefix,
					size_t prefix_length, const struct iovec *buffers,
					unsigned count, uint32_t length)
{
	uint32_t head = __atomic_load_n(&ring->indices->head, __ATOMIC_ACQUIRE);
	uint32_t used = ring->position - head;
	/* Our position came from shared memory once, when we joined: it must be aligned too, or
	 * a record header would straddle the ring's end. */
	if (used > SHARE_RING_BYTES || used % 8 || ring->position % 8)
		return SHARE_RING_CORRUPT; /* the consumer's head is not behind our tail */
	uint32_t bytes = share_record_bytes(length);
	if (bytes > SHARE_RING_BYTES - used)
		return SHARE_RING_FULL;

	uint32_t header[2] = { length, 0 };
	struct iovec span[2], source[1];
	/* The record header is 8-byte aligned and the ring a multiple of 8: it never wraps. */
	memcpy(ring->data + (ring->position & RING_MASK), header, sizeof header);
	unsigned span_count =
		ring_span(ring, ring->position + SHARE_RECORD_HEADER_BYTES, length, span);
	if (prefix_length > length)
		prefix_length = length;
	source[0] = (struct iovec){ (void *)prefix, prefix_length };
	iovec_copy(span, span_count, 0, source, 1, 0, prefix_length);
	iovec_copy(span, span_count, prefix_length, buffers, count, prefix_length,
		   length - prefix_length);
	ring->position += bytes;
	__atomic_store_n(&ring->indices->tail, ring->position, __ATOMIC_RELEASE);
	return SHARE_RING_DONE;
}

enum share_ring_result share_ring_peek(struct share_ring *ring, uint32_t minimum, uint32_t maximum,
				       uint32_t *length)
{
	uint32_t tail = __atomic_load_n(&ring->indices->tail, __ATOMIC_ACQUIRE);
	uint32_t available = tail - ring->position;
	if (available == 0)
		return SHARE_RING_EMPTY;
	if (available > SHARE_RING_BYTES || available % 8 || ring->position % 8)
		return SHARE_RING_CORRUPT;
	uint32_t record_length; /* read once: the producer could change it under us */
	__atomic_load((const uint32_t *)(const void *)(ring->data + (ring->position & RING_MASK)),
		      &record_length, __ATOMIC_RELAXED);
	if (record_length < minimum || record_length > maximum ||
	    share_record_bytes(record_length) > available)
		return SHARE_RING_CORRUPT;
	*length = record_length;
	return SHARE_RING_DONE;
}

void share_ring_copy_out(const struct share_ring *ring, size_t offset, const struct iovec *to,
			 unsigned count, size_t length)
{
	struct iovec span[2];
	unsigned span_count =
		ring_span(ring, ring->position + SHARE_RECORD_HEADER_BYTES, offset + length, span);
	iovec_copy(to, count, 0, span, span_count, offset, length);
}

void share_ring_consume(struct share_ring *ring, uint32_t length)
{
	ring->position += share_record_bytes(length);
	__atomic_store_n(&ring->indices->head, ring->position, __ATOMIC_RELEASE);
}

bool share_ring_has_data(const struct share_ring *ring)
{
	return __atomic_load_n(&ring->indices->tail, __ATOMIC_ACQUIRE) != ring->position;
}
