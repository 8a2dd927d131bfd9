/*
 * Guest RAM as the launcher sees it: one anonymous mapping, guest physical address 0 at
 * `base`. Every address that comes from the guest goes through guest_memory_check() or one
 * of the copy helpers before the launcher touches it: they refuse ranges that leave guest
 * RAM (including by integer overflow) and, for guest-supplied buffers, ranges that reach
 * into the launcher's own low megabyte.
 */
#ifndef RINGVISOR_GUEST_MEMORY_H
#define RINGVISOR_GUEST_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GUEST_MEMORY_MINIMUM (4ull << 20)
#define GUEST_MEMORY_MAXIMUM (4ull << 30)
#define GUEST_MEMORY_GRANULE (2ull << 20) /* RAM is mapped in 2 MiB pages */

#define GUEST_MEMORY_READ_ONLY_RANGES_MAX 16

struct guest_memory {
	uint8_t *base;
	uint64_t size;
	/* Pages the guest cannot write (its code and read-only data): the launcher must not
	 * write there on its behalf either, or it would undo W^X. */
	unsigned read_only_count;
	struct {
		uint64_t start, end;
	} read_only[GUEST_MEMORY_READ_ONLY_RANGES_MAX];
};

/* Maps `size` bytes of zeroed RAM; fails the launcher if the host refuses. */
void guest_memory_create(struct guest_memory *memory, uint64_t size);
void guest_memory_destroy(struct guest_memory *memory);

/* True if [address, address + length) lies inside guest RAM. */
bool guest_memory_contains(const struct guest_memory *memory, uint64_t address, uint64_t length);

/* True if the guest may hand [address, address + length) to the launcher as a buffer:
 * inside RAM and above the launcher's area. */
bool guest_memory_is_guest_buffer(const struct guest_memory *memory, uint64_t address,
				  uint64_t length);

/* True if the launcher may write [address, address + length) for the guest: a guest buffer
 * (above) that overlaps none of the read-only ranges. */
bool guest_memory_is_writable_guest_buffer(const struct guest_memory *memory, uint64_t address,
					   uint64_t length);

/* Records a range the guest cannot write (a non-writable ELF segment, page-rounded). */
void guest_memory_add_read_only(struct guest_memory *memory, uint64_t start, uint64_t end);

/* Host pointer for a range already checked with one of the functions above. */
static inline void *guest_memory_at(const struct guest_memory *memory, uint64_t address)
{
	return memory->base + address;
}

/* Copies a guest range out once; false (and nothing copied) if it is not all in RAM. */
bool guest_memory_read(const struct guest_memory *memory, uint64_t address, void *out,
		       size_t length);

#endif
