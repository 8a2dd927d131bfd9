/*
 * Guest RAM as the launcher sees it: one anonymous mapping, guest physical address 0 at
 * `base`. There is one way to turn an address the guest gave us into a host pointer, and it
 * checks (as lguest's check_pointer and Solo5's HVT_CHECKED_GPA_P do): guest_memory_checked()
 * hands out a pointer only for a range inside guest RAM (no integer overflow either) and above
 * the launcher's own low megabyte, or NULL. The launcher's own pages there (page tables, GDT,
 * boot information) are reached through guest_memory_launcher_pages(), which no guest address
 * should ever be given to.
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

/* Records a range the guest cannot write (a non-writable ELF segment, page-rounded). */
void guest_memory_add_read_only(struct guest_memory *memory, uint64_t start, uint64_t end);

/* The host pointer for a buffer the guest hands the launcher, [address, address + length):
 * NULL unless it lies inside RAM and above the launcher's area. A length of 0 is a valid,
 * empty buffer. */
void *guest_memory_checked(const struct guest_memory *memory, uint64_t address, uint64_t length);

/* As guest_memory_checked(), for a buffer the launcher will write on the guest's behalf: NULL
 * also if it overlaps a read-only range (writing there would undo the guest's W^X). */
void *guest_memory_checked_writable(const struct guest_memory *memory, uint64_t address,
				    uint64_t length);

/* The launcher's own pages below RINGVISOR_GUEST_IMAGE_START (vm/layout.h), which the guest
 * never names: for building them. A range outside that area is a launcher bug, and fails. */
void *guest_memory_launcher_pages(const struct guest_memory *memory, uint64_t address,
				  uint64_t length);

/* Copies a range out once, from anywhere in RAM (the crash report reads the launcher's
 * exception stack too); false (and nothing copied) if it is not all in RAM. */
bool guest_memory_read(const struct guest_memory *memory, uint64_t address, void *out,
		       size_t length);

#endif
