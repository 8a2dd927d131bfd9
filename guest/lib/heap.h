/*
 * The guest kernel's memory allocator: malloc and friends are thin wrappers over one static heap,
 * and host unit tests run several heaps over their own buffers. Portable C, no globals.
 *
 * Blocks carry boundary tags (a header and a footer, each 8 bytes: size and a check word that also
 * says whether the block is in use), free neighbours are merged immediately, and free blocks sit
 * on segregated lists by size class, so allocation and freeing cost O(1) apart from a short
 * first-fit scan within one class. Every payload is 16-byte aligned and costs 16 bytes of tags;
 * the smallest block is 32 bytes. Each region loses 48 bytes to its record and end sentinels.
 *
 * Misuse that can be detected (double free, a pointer the heap never handed out, a trashed
 * header or footer) is reported through the corruption callback, and the operation is abandoned
 * rather than corrupting the heap further. None of this is thread-safe: callers lock.
 */
#ifndef RINGVISOR_GUEST_HEAP_H
#define RINGVISOR_GUEST_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Classes 0..63 hold one exact size each (in 16-byte steps); above that, four per power of two. */
#define HEAP_SIZE_CLASSES 168

/* Byte counts include the tags, so used_bytes + free_bytes == total_bytes. */
struct heap_statistics {
	size_t total_bytes;
	size_t used_bytes;
	size_t free_bytes;
	size_t peak_used_bytes;
	size_t largest_free_block; /* the largest request that heap_allocate can satisfy now */
	size_t live_allocations;
	size_t total_allocations;
	size_t total_frees;
	size_t failed_allocations;
};

struct heap_free_block;
struct heap_region;

/* Defined here so the kernel can have a static one; only heap.c looks inside. */
struct heap {
	struct heap_free_block *free_lists[HEAP_SIZE_CLASSES];
	uint64_t nonempty_classes[(HEAP_SIZE_CLASSES + 63) / 64];
	struct heap_region *regions;
	void (*corruption)(const char *what, const void *address);
	struct heap_statistics statistics;
};

/* corruption may be NULL, in which case misuse is still contained but not reported. */
void heap_init(struct heap *heap, void (*corruption)(const char *what, const void *address));
/* Hands [start, start + size) to the heap; false if it is too small to hold a block. */
bool heap_add_region(struct heap *heap, void *start, size_t size);

void *heap_allocate(struct heap *heap, size_t size);
/* alignment must be a power of two; any that fits in the heap works. */
void *heap_allocate_aligned(struct heap *heap, size_t size, size_t alignment);
void *heap_allocate_zeroed(struct heap *heap, size_t count, size_t size);
/* Like realloc: NULL allocates, size 0 frees and returns NULL, failure keeps the old block. */
void *heap_reallocate(struct heap *heap, void *pointer, size_t size);
void heap_free(struct heap *heap, void *pointer);

size_t heap_usable_size(const struct heap *heap, const void *pointer);
void heap_get_statistics(const struct heap *heap, struct heap_statistics *out);
/* Walks every block and free list; reports the first inconsistency and returns false. */
bool heap_check(struct heap *heap);

#endif
