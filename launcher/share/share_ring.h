/*
 * One direction of a `share` switch link: a single-producer, single-consumer byte ring in
 * the switch's shared memory (share_switch.h has the whole region). Port A's launcher is the
 * only writer of ring A->B's tail, port B's the only writer of its head; frames are records
 * (a 4-byte length, 4 reserved bytes, then the 12-byte virtio-net header and the Ethernet
 * frame, padded to 8 bytes) that wrap byte by byte at the end of the ring.
 *
 * No locks: a launcher killed mid-write leaves at worst an unpublished record, which nobody
 * reads. The other side of every ring is another process and may write anything, so each side
 * keeps its own index in local memory and never reads it back; the other side's index and
 * every record length are read once, then checked, and a ring that fails a check is reported
 * corrupt instead of being trusted.
 */
#ifndef RINGVISOR_SHARE_RING_H
#define RINGVISOR_SHARE_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* Bytes of frame data per ring: a power of two. 4 MiB holds a whole TCP window of the largest
 * guest's (its buffers top out at 4 MiB) in 64 KiB TSO frames, where records add 0.03%; a
 * sender without TSO adds about 1% in records of 1500-byte frames, and may see a drop when its
 * window is full. */
#define SHARE_RING_BYTES (4u << 20)
#define SHARE_RECORD_HEADER_BYTES 8u

/* The two indices, each on its own cache line: the producer writes one, the consumer the
 * other, and neither should slow the other down by sharing a line. Free-running counts of
 * bytes; the position in the ring is the count modulo SHARE_RING_BYTES. */
struct share_ring_indices {
	_Alignas(64) uint32_t head; /* written by the consumer: bytes consumed */
	_Alignas(64) uint32_t tail; /* written by the producer: bytes published */
};

/* One side's view of a ring. */
struct share_ring {
	struct share_ring_indices *indices; /* shared */
	uint8_t *data;			    /* shared, SHARE_RING_BYTES */
	uint32_t position; /* ours: the tail when producing, the head when consuming */
};

enum share_ring_result {
	SHARE_RING_DONE,    /* written; or, when reading, a record is there */
	SHARE_RING_EMPTY,   /* reading: nothing published */
	SHARE_RING_FULL,    /* writing: no room for the record; nothing written */
	SHARE_RING_CORRUPT, /* the other side's index or a record length makes no sense */
};

/* Bytes a record of `length` occupies. */
static inline uint32_t share_record_bytes(uint32_t length)
{
	return SHARE_RECORD_HEADER_BYTES + ((length + 7u) & ~7u);
}

/*
 * Producer. Writes one record of `length` bytes: first `prefix_length` bytes from `prefix`
 * (the launcher's own checked copy of the frame's headers), then the rest from `buffers`
 * (guest memory) starting `prefix_length` bytes in, and publishes it.
 */
enum share_ring_result share_ring_write(struct share_ring *ring, const uint8_t *prefix,
					size_t prefix_length, const struct iovec *buffers,
					unsigned count, uint32_t length);

/*
 * Consumer. Looks at the next record: SHARE_RING_DONE with its length in *length (checked to
 * lie within what was published and within [minimum, maximum]), SHARE_RING_EMPTY, or
 * SHARE_RING_CORRUPT.
 */
enum share_ring_result share_ring_peek(struct share_ring *ring, uint32_t minimum, uint32_t maximum,
				       uint32_t *length);

/* Consumer: copies `length` bytes of the record just peeked, from `offset` into it. */
void share_ring_copy_out(const struct share_ring *ring, size_t offset, const struct iovec *to,
			 unsigned count, size_t length);

/* Consumer: done with the record just peeked (of `length`): its room goes back to the
 * producer. */
void share_ring_consume(struct share_ring *ring, uint32_t length);

/* Consumer: anything published beyond what we have consumed? (No checks: a hint.) */
bool share_ring_has_data(const struct share_ring *ring);

#endif
