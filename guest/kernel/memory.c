/*
 * The kernel's memory: one heap (guest/lib/heap.c) over every region the boot information
 * calls usable, and the C library's malloc family on top of it. Heap corruption (a double
 * free, a trampled block header) is a bug in the guest, and ends it with a panic that says
 * where.
 */
#include <stdlib.h>

#include "kernel_internal.h"

static struct heap kernel_heap;

static void on_heap_corruption(const char *what, const void *address)
{
	panic("heap corruption: %s at %p", what, address);
}

void memory_init(const struct ringvisor_boot_info *boot_info)
{
	heap_init(&kernel_heap, on_heap_corruption);
	uint32_t count = boot_info->memory_region_count;
	if (count > RINGVISOR_MEMORY_REGIONS_MAX)
		panic("boot information lists %u memory regions, more than %u", count,
		      RINGVISOR_MEMORY_REGIONS_MAX);
	for (uint32_t index = 0; index < count; index++) {
		const struct ringvisor_memory_region *region = &boot_info->memory_regions[index];
		if (region->type != RINGVISOR_MEMORY_USABLE || region->length < 4096)
			continue;
		heap_add_region(&kernel_heap, (void *)(uintptr_t)region->start,
				(size_t)region->length);
	}
}

void *malloc(size_t size)
{
	return heap_allocate(&kernel_heap, size);
}

void *calloc(size_t count, size_t size)
{
	return heap_allocate_zeroed(&kernel_heap, count, size);
}

void *realloc(void *pointer, size_t size)
{
	return heap_reallocate(&kernel_heap, pointer, size);
}

void free(void *pointer)
{
	heap_free(&kernel_heap, pointer);
}

void memory_get_statistics(struct heap_statistics *statistics)
{
	heap_get_statistics(&kernel_heap, statistics);
}

bool memory_check(void)
{
	return heap_check(&kernel_heap);
}
