/*
 * libFuzzer harness for the launcher's virtqueue: the input becomes a guest's descriptor
 * table, available ring and buffers, and the device side pops every chain it can, reads
 * every readable byte and writes every writable byte, as a NIC would. ASan catches any
 * access outside guest RAM; the harness checks that a queue is either drained or broken.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nic/virtqueue.h"

#define RAM_BYTES (0x100000u + 0x4000u) /* the launcher's megabyte, then 16 KiB of guest */
#define QUEUE_SIZE 16u
#define DESCRIPTORS 0x100000u
#define AVAILABLE (DESCRIPTORS + 16 * QUEUE_SIZE)
#define USED 0x101000u
#define BUFFERS 0x102000u

volatile uint8_t checksum_sink; /* keeps the reads of every readable byte */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct guest_memory memory = { .base = calloc(1, RAM_BYTES), .size = RAM_BYTES };
	size_t copied = size < RAM_BYTES - DESCRIPTORS ? size : RAM_BYTES - DESCRIPTORS;
	memcpy(memory.base + DESCRIPTORS, data, copied); /* descriptors, available ring, ... */
	memset(memory.base + USED, 0, 4 + 8 * QUEUE_SIZE + 2);

	/* Random 64-bit addresses almost never land in RAM, which would leave the fuzzer at the
	 * first check. So a descriptor whose address has its top bit clear is steered into the
	 * guest's buffer area (and its length into a plausible range); one with the top bit set
	 * keeps its raw, hostile values. */
	struct ringvisor_virtqueue_descriptor *table = (void *)(memory.base + DESCRIPTORS);
	for (unsigned index = 0; index < QUEUE_SIZE; index++) {
		if (table[index].address >> 63)
			continue;
		table[index].address = BUFFERS + table[index].address % (RAM_BYTES - BUFFERS);
		table[index].length %= 0x2000;
	}

	struct virtqueue_device queue;
	const char *reason;
	if (!virtqueue_configure(&queue, &memory, QUEUE_SIZE, DESCRIPTORS, AVAILABLE, USED,
				 &reason))
		abort();
	static struct virtqueue_chain chain;
	unsigned popped = 0;
	enum virtqueue_pop_result result;
	while ((result = virtqueue_pop(&queue, &chain)) == VIRTQUEUE_CHAIN) {
		uint8_t sum = 0;
		for (unsigned index = 0; index < chain.readable_count; index++)
			for (size_t at = 0; at < chain.buffers[index].iov_len; at++)
				sum += ((uint8_t *)chain.buffers[index].iov_base)[at];
		checksum_sink = sum;
		for (unsigned index = chain.readable_count;
		     index < chain.readable_count + chain.writable_count; index++)
			memset(chain.buffers[index].iov_base, 0xab, chain.buffers[index].iov_len);
		virtqueue_push(&queue, chain.head, (uint32_t)chain.writable_bytes);
		if (++popped > QUEUE_SIZE)
			abort(); /* more chains than the ring can hold: the index check failed */
	}
	if (result == VIRTQUEUE_BROKEN && queue.broken_reason[0] == '\0')
		abort();
	free(memory.base);
	return 0;
}
