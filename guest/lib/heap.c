/*
 * The guest kernel's allocator (see heap.h for the interface and its guarantees).
 *
 * Layout of a region:   [record][prologue tag][block][block]...[block][sentinel tag]
 * Layout of a block:    [header tag][payload ...][footer tag]
 *
 * Tags are 8 bytes and blocks a multiple of 16, so headers sit at 8 mod 16 and payloads at
 * 0 mod 16. The prologue and sentinel are tags of size 0 marked in use, which stops merging and
 * block walks at region ends without special cases. A free block keeps its list links in its
 * payload. Invariant: no two free blocks are adjacent (they are merged on every free).
 */
#include "heap.h"

#include <string.h>

#define GRANULE 16
#define TAG_SIZE sizeof(struct tag)
#define BLOCK_OVERHEAD (2 * TAG_SIZE)
#define MIN_BLOCK_SIZE 32 /* header, two list links, footer */
#define MAX_BLOCK_UNITS (SIZE_MAX / GRANULE < UINT32_MAX ? SIZE_MAX / GRANULE : UINT32_MAX)
#define MAX_BLOCK_SIZE (MAX_BLOCK_UNITS * GRANULE)
#define RECORD_SIZE ((sizeof(struct heap_region) + GRANULE - 1) / GRANULE * GRANULE)
#define REGION_OVERHEAD (RECORD_SIZE + 2 * TAG_SIZE)

/* How far into an over-full size class to look for a fit before taking a larger block. */
#define CLASS_SCAN_LIMIT 8

/* check = units ^ one of these; any other value means the tag was overwritten. */
#define TAG_USED 0xa110c8edu
#define TAG_FREE 0xf4eeb10cu

struct tag {
	uint32_t units; /* block size in granules; 0 for the prologue and sentinel */
	uint32_t check;
};

struct heap_free_block {
	struct tag header;
	struct heap_free_block *next;
	struct heap_free_block *previous;
};

struct heap_region {
	struct heap_region *next;
	struct tag *first_block;
	struct tag *sentinel;
};

enum tag_state { TAG_STATE_USED, TAG_STATE_FREE, TAG_STATE_CORRUPT };

static enum tag_state tag_state(const struct tag *tag)
{
	if (tag->check == (tag->units ^ TAG_USED))
		return TAG_STATE_USED;
	if (tag->check == (tag->units ^ TAG_FREE) && tag->units != 0)
		return TAG_STATE_FREE;
	return TAG_STATE_CORRUPT;
}

static size_t block_size(const struct tag *block)
{
	return (size_t)block->units * GRANULE;
}

static struct tag *footer_of(struct tag *block)
{
	return (struct tag *)((char *)block + block_size(block) - TAG_SIZE);
}

static struct tag *next_of(struct tag *block)
{
	return (struct tag *)((char *)block + block_size(block));
}

static struct tag *block_at(struct tag *block, size_t offset)
{
	return (struct tag *)((char *)block + offset);
}

static bool tags_equal(const struct tag *a, const struct tag *b)
{
	return a->units == b->units && a->check == b->check;
}

static void set_tags(struct tag *block, size_t size, bool used)
{
	block->units = (uint32_t)(size / GRANULE);
	block->check = block->units ^ (used ? TAG_USED : TAG_FREE);
	*footer_of(block) = *block;
}

static void report(const struct heap *heap, const char *what, const void *address)
{
	if (heap->corruption != NULL)
		heap->corruption(what, address);
}

static unsigned size_class(size_t size)
{
	size_t units = size / GRANULE;

	if (units < 64)
		return (unsigned)units;
	unsigned log = 63 - (unsigned)__builtin_clzll(units);
	return 64 + (log - 6) * 4 + (unsigned)((units >> (log - 2)) & 3);
}

static void mark_class(struct heap *heap, unsigned class, bool nonempty)
{
	uint64_t bit = UINT64_C(1) << (class % 64);

	if (nonempty)
		heap->nonempty_classes[class / 64] |= bit;
	else
		heap->nonempty_classes[class / 64] &= ~bit;
}

/* The first non-empty class at or above `class`, or HEAP_SIZE_CLASSES if there is none. */
static unsigned nonempty_class_from(const struct heap *heap, unsigned class)
{
	for (unsigned word = class / 64; word < sizeof(heap->nonempty_classes) / 8; word++) {
		uint64_t bits = heap->nonempty_classes[word];

		if (word == class / 64)
			bits &= ~UINT64_C(0) << (class % 64);
		if (bits != 0)
			return word * 64 + (unsigned)__builtin_ctzll(bits);
	}
	return HEAP_SIZE_CLASSES;
}

static void list_insert(struct heap *heap, struct tag *block)
{
	unsigned class = size_class(block_size(block));
	struct heap_free_block *free_block = (struct heap_free_block *)block;

	free_block->previous = NULL;
	free_block->next = heap->free_lists[class];
	if (free_block->next != NULL)
		free_block->next->previous = free_block;
	heap->free_lists[class] = free_block;
	mark_class(heap, class, true);
}

static void list_remove(struct heap *heap, struct tag *block)
{
	unsigned class = size_class(block_size(block));
	struct heap_free_block *free_block = (struct heap_free_block *)block;

	if (free_block->previous != NULL)
		free_block->previous->next = free_block->next;
	else
		heap->free_lists[class] = free_block->next;
	if (free_block->next != NULL)
		free_block->next->previous = free_block->previous;
	if (heap->free_lists[class] == NULL)
		mark_class(heap, class, false);
}

/* Frees [block, block + size), merging it with the following block if that one is free. */
static void release(struct heap *heap, struct tag *block, size_t size)
{
	struct tag *next = block_at(block, size);
	enum tag_state state = tag_state(next);

	if (state == TAG_STATE_FREE && tags_equal(next, footer_of(next))) {
		list_remove(heap, next);
		size += block_size(next);
	} else if (state == TAG_STATE_FREE) {
		report(heap, "corrupted block footer", footer_of(next));
	} else if (state == TAG_STATE_CORRUPT) {
		report(heap, "corrupted block header", next);
	}
	set_tags(block, size, false);
	list_insert(heap, block);
}

/*
 * Turns the first `needed` of `available` bytes at block (which is off the free lists) into an
 * in-use block, gives any usable tail back, and returns the final block size.
 */
static size_t claim(struct heap *heap, struct tag *block, size_t available, size_t needed)
{
	if (available - needed >= MIN_BLOCK_SIZE) {
		release(heap, block_at(block, needed), available - needed);
		available = needed;
	}
	set_tags(block, available, true);
	return available;
}

static void add_used(struct heap *heap, size_t bytes)
{
	heap->statistics.used_bytes += bytes;
	if (heap->statistics.used_bytes > heap->statistics.peak_used_bytes)
		heap->statistics.peak_used_bytes = heap->statistics.used_bytes;
}

/* The block size for a request, or 0 if no block could be that large. */
static size_t block_size_for(size_t request)
{
	if (request > MAX_BLOCK_SIZE - BLOCK_OVERHEAD - GRANULE)
		return 0;
	size_t size = (request + BLOCK_OVERHEAD + GRANULE - 1) / GRANULE * GRANULE;
	return size < MIN_BLOCK_SIZE ? MIN_BLOCK_SIZE : size;
}

/*
 * First fit within the request's own class (exact-size classes always fit at once), then the
 * first block of the next non-empty class, which is necessarily large enough.
 */
static struct tag *find_free_block(struct heap *heap, size_t needed)
{
	unsigned class = size_class(needed);
	unsigned larger = nonempty_class_from(heap, class + 1);
	size_t scanned = 0;

	for (struct heap_free_block *candidate = heap->free_lists[class]; candidate != NULL;
	     candidate = candidate->next) {
		if (tag_state(&candidate->header) != TAG_STATE_FREE) {
			report(heap, "corrupted free block", candidate);
			return NULL;
		}
		if (block_size(&candidate->header) >= needed)
			return &candidate->header;
		if (++scanned == CLASS_SCAN_LIMIT && larger < HEAP_SIZE_CLASSES)
			break;
	}
	if (larger == HEAP_SIZE_CLASSES)
		return NULL;
	struct tag *block = &heap->free_lists[larger]->header;
	if (tag_state(block) != TAG_STATE_FREE) {
		report(heap, "corrupted free block", block);
		return NULL;
	}
	return block;
}

static const struct heap_region *region_containing(const struct heap *heap, const void *address)
{
	for (const struct heap_region *region = heap->regions; region != NULL;
	     region = region->next) {
		if ((const char *)address >= (const char *)region->first_block &&
		    (const char *)address < (const char *)region->sentinel)
			return region;
	}
	return NULL;
}

/* The block of a pointer the caller claims is allocated, or NULL (reported) if it is not. */
static struct tag *checked_block(const struct heap *heap, const void *pointer)
{
	const struct heap_region *region = region_containing(heap, pointer);
	struct tag *block = (struct tag *)((char *)pointer - TAG_SIZE);

	if ((uintptr_t)pointer % GRANULE != 0 || region == NULL || block < region->first_block) {
		report(heap, "pointer not allocated from this heap", pointer);
		return NULL;
	}
	switch (tag_state(block)) {
	case TAG_STATE_FREE:
		report(heap, "double free", pointer);
		return NULL;
	case TAG_STATE_CORRUPT:
		report(heap, "corrupted block header", pointer);
		return NULL;
	case TAG_STATE_USED:
		break;
	}
	if (block->units == 0 ||
	    block_size(block) > (size_t)((char *)region->sentinel - (char *)block)) {
		report(heap, "corrupted block header", pointer);
		return NULL;
	}
	if (!tags_equal(block, footer_of(block))) {
		report(heap, "corrupted block footer (written past the end?)", pointer);
		return NULL;
	}
	return block;
}

void heap_init(struct heap *heap, void (*corruption)(const char *what, const void *address))
{
	memset(heap, 0, sizeof(*heap));
	heap->corruption = corruption;
}

static void add_chunk(struct heap *heap, char *begin, size_t size)
{
	struct heap_region *region = (struct heap_region *)begin;
	struct tag *prologue = (struct tag *)(begin + RECORD_SIZE);
	size_t block_bytes = size - REGION_OVERHEAD;

	region->first_block = prologue + 1;
	region->sentinel = block_at(region->first_block, block_bytes);
	*prologue = (struct tag){ .units = 0, .check = TAG_USED };
	*region->sentinel = *prologue;
	region->next = heap->regions;
	heap->regions = region;
	set_tags(region->first_block, block_bytes, false);
	list_insert(heap, region->first_block);
	heap->statistics.total_bytes += block_bytes;
}

/* Regions larger than the biggest block are added as several back-to-back chunks. */
bool heap_add_region(struct heap *heap, void *start, size_t size)
{
	uintptr_t begin = ((uintptr_t)start + GRANULE - 1) / GRANULE * GRANULE;
	uintptr_t end = (uintptr_t)start + size;

	if (end < (uintptr_t)start || begin < (uintptr_t)start)
		return false;
	end = end / GRANULE * GRANULE;
	if (end <= begin || end - begin < REGION_OVERHEAD + MIN_BLOCK_SIZE)
		return false;
	while (end - begin >= REGION_OVERHEAD + MIN_BLOCK_SIZE) {
		size_t chunk = end - begin;

		if (chunk > REGION_OVERHEAD + MAX_BLOCK_SIZE)
			chunk = REGION_OVERHEAD + MAX_BLOCK_SIZE;
		add_chunk(heap, (char *)begin, chunk);
		begin += chunk;
	}
	return true;
}

static void *allocation_failed(struct heap *heap)
{
	heap->statistics.failed_allocations++;
	return NULL;
}

static void *allocation_made(struct heap *heap, struct tag *block, size_t size)
{
	add_used(heap, size);
	heap->statistics.live_allocations++;
	heap->statistics.total_allocations++;
	return block + 1;
}

void *heap_allocate(struct heap *heap, size_t size)
{
	size_t needed = block_size_for(size);
	struct tag *block = needed != 0 ? find_free_block(heap, needed) : NULL;

	if (block == NULL)
		return allocation_failed(heap);
	list_remove(heap, block);
	return allocation_made(heap, block, claim(heap, block, block_size(block), needed));
}

/*
 * Takes a block with room for the request plus a leading gap: when the payload is not aligned,
 * the gap (at least a minimum block) is split off the front and freed.
 */
void *heap_allocate_aligned(struct heap *heap, size_t size, size_t alignment)
{
	if (alignment == 0 || (alignment & (alignment - 1)) != 0)
		return allocation_failed(heap);
	if (alignment <= GRANULE)
		return heap_allocate(heap, size);

	size_t needed = block_size_for(size);
	if (needed == 0 || alignment > MAX_BLOCK_SIZE - MIN_BLOCK_SIZE - needed)
		return allocation_failed(heap);
	struct tag *block = find_free_block(heap, needed + MIN_BLOCK_SIZE + alignment);
	if (block == NULL)
		return allocation_failed(heap);
	list_remove(heap, block);

	size_t available = block_size(block);
	uintptr_t payload = (uintptr_t)(block + 1);
	if (payload % alignment != 0) {
		uintptr_t aligned = (payload + MIN_BLOCK_SIZE + alignment - 1) & ~(alignment - 1);
		size_t gap = aligned - payload;

		/* The block was free, so its predecessor is not: nothing to merge the gap with. */
		set_tags(block, gap, false);
		list_insert(heap, block);
		block = block_at(block, gap);
		available -= gap;
	}
	return allocation_made(heap, block, claim(heap, block, available, needed));
}

void *heap_allocate_zeroed(struct heap *heap, size_t count, size_t size)
{
	if (size != 0 && count > SIZE_MAX / size)
		return allocation_failed(heap);
	void *pointer = heap_allocate(heap, count * size);
	if (pointer != NULL)
		memset(pointer, 0, count * size);
	return pointer;
}

void heap_free(struct heap *heap, void *pointer)
{
	if (pointer == NULL)
		return;
	struct tag *block = checked_block(heap, pointer);
	if (block == NULL)
		return;

	size_t size = block_size(block);
	heap->statistics.used_bytes -= size;
	heap->statistics.live_allocations--;
	heap->statistics.total_frees++;

	/* Tagged free first, so freeing it again is caught even once a neighbour absorbs it. */
	set_tags(block, size, false);
	struct tag *previous_footer = block - 1;
	switch (tag_state(previous_footer)) {
	case TAG_STATE_FREE: {
		struct tag *previous = (struct tag *)((char *)block - block_size(previous_footer));

		if (!tags_equal(previous, previous_footer)) {
			report(heap, "corrupted block header", previous);
			break;
		}
		list_remove(heap, previous);
		size += block_size(previous);
		block = previous;
		break;
	}
	case TAG_STATE_CORRUPT:
		report(heap, "corrupted block footer (written past the end?)", previous_footer);
		break;
	case TAG_STATE_USED:
		break;
	}
	release(heap, block, size);
}

void *heap_reallocate(struct heap *heap, void *pointer, size_t size)
{
	if (pointer == NULL)
		return heap_allocate(heap, size);
	if (size == 0) {
		heap_free(heap, pointer);
		return NULL;
	}
	struct tag *block = checked_block(heap, pointer);
	if (block == NULL)
		return NULL;
	size_t needed = block_size_for(size);
	if (needed == 0)
		return allocation_failed(heap);

	size_t current = block_size(block);
	size_t available = current;
	struct tag *next = next_of(block);
	if (needed > current && tag_state(next) == TAG_STATE_FREE &&
	    current + block_size(next) >= needed && tags_equal(next, footer_of(next))) {
		list_remove(heap, next);
		available += block_size(next);
	}
	if (needed <= available) {
		size_t final = claim(heap, block, available, needed);

		heap->statistics.used_bytes -= current;
		add_used(heap, final);
		return pointer;
	}

	void *moved = heap_allocate(heap, size);
	if (moved != NULL) {
		memcpy(moved, pointer, current - BLOCK_OVERHEAD);
		heap_free(heap, pointer);
	}
	return moved;
}

size_t heap_usable_size(const struct heap *heap, const void *pointer)
{
	if (pointer == NULL)
		return 0;
	struct tag *block = checked_block(heap, pointer);
	return block != NULL ? block_size(block) - BLOCK_OVERHEAD : 0;
}

void heap_get_statistics(const struct heap *heap, struct heap_statistics *out)
{
	*out = heap->statistics;
	out->free_bytes = out->total_bytes - out->used_bytes;
	out->largest_free_block = 0;

	/* Only the highest non-empty class can hold the largest block. */
	unsigned top = HEAP_SIZE_CLASSES;
	for (unsigned class = nonempty_class_from(heap, 0); class < HEAP_SIZE_CLASSES;
	     class = nonempty_class_from(heap, class + 1))
		top = class;
	if (top == HEAP_SIZE_CLASSES)
		return;
	for (const struct heap_free_block *block = heap->free_lists[top]; block != NULL;
	     block = block->next) {
		size_t payload = block_size(&block->header) - BLOCK_OVERHEAD;

		if (payload > out->largest_free_block)
			out->largest_free_block = payload;
	}
}

/* Walks a region's blocks, adding up what it finds; false (reported) at the first bad tag. */
static bool check_region(struct heap *heap, const struct heap_region *region, size_t *used_bytes,
			 size_t *free_blocks)
{
	const struct tag *prologue = region->first_block - 1;
	bool previous_free = false;

	if (prologue->units != 0 || tag_state(prologue) != TAG_STATE_USED) {
		report(heap, "corrupted region prologue", prologue);
		return false;
	}
	for (struct tag *block = region->first_block; block != region->sentinel;
	     block = next_of(block)) {
		enum tag_state state = tag_state(block);

		if (state == TAG_STATE_CORRUPT || block->units == 0 ||
		    block_size(block) > (size_t)((char *)region->sentinel - (char *)block)) {
			report(heap, "corrupted block header", block);
			return false;
		}
		if (!tags_equal(block, footer_of(block))) {
			report(heap, "corrupted block footer (written past the end?)", block + 1);
			return false;
		}
		if (state == TAG_STATE_FREE && previous_free) {
			report(heap, "adjacent free blocks were not merged", block);
			return false;
		}
		if (state == TAG_STATE_FREE)
			(*free_blocks)++;
		else
			*used_bytes += block_size(block);
		previous_free = state == TAG_STATE_FREE;
	}
	if (region->sentinel->units != 0 || tag_state(region->sentinel) != TAG_STATE_USED) {
		report(heap, "corrupted region sentinel", region->sentinel);
		return false;
	}
	return true;
}

/* Every listed block must be a free block of the list's class, and every free block listed. */
static bool check_free_lists(struct heap *heap, size_t free_blocks)
{
	size_t listed = 0;

	for (unsigned class = 0; class < HEAP_SIZE_CLASSES; class ++) {
		const struct heap_free_block *previous = NULL;
		bool marked = (heap->nonempty_classes[class / 64] >> (class % 64)) & 1;

		if (marked != (heap->free_lists[class] != NULL)) {
			report(heap, "free-list bitmap out of date", heap->free_lists[class]);
			return false;
		}
		for (const struct heap_free_block *block = heap->free_lists[class]; block != NULL;
		     block = block->next) {
			if (++listed > free_blocks || region_containing(heap, block) == NULL ||
			    tag_state(&block->header) != TAG_STATE_FREE ||
			    size_class(block_size(&block->header)) != class ||
			    block->previous != previous) {
				report(heap, "corrupted free list", block);
				return false;
			}
			previous = block;
		}
	}
	if (listed != free_blocks) {
		report(heap, "free block missing from the free lists", NULL);
		return false;
	}
	return true;
}

bool heap_check(struct heap *heap)
{
	size_t used_bytes = 0;
	size_t free_blocks = 0;

	for (const struct heap_region *region = heap->regions; region != NULL;
	     region = region->next) {
		if (!check_region(heap, region, &used_bytes, &free_blocks))
			return false;
	}
	if (!check_free_lists(heap, free_blocks))
		return false;
	if (used_bytes != heap->statistics.used_bytes) {
		report(heap, "statistics disagree with the blocks", NULL);
		return false;
	}
	return true;
}
