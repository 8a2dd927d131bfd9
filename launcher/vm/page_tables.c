/* Identity page tables for a ring-3 guest (see page_tables.h). */
#include "vm/page_tables.h"

#include <string.h>

#include "fail.h"
#include "vm/layout.h"

#define PAGE_PRESENT (1ull << 0)
#define PAGE_WRITABLE (1ull << 1)
#define PAGE_USER (1ull << 2)
#define PAGE_LARGE (1ull << 7)
#define PAGE_NO_EXECUTE (1ull << 63)

#define PAGE_4K 0x1000ull
#define PAGE_2M 0x200000ull
#define PAGE_1G 0x40000000ull

/* What the launcher's own pages in the first 2 MiB are to the guest. */
static uint64_t launcher_page_flags(uint64_t address)
{
	if (address == 0)
		return 0; /* NULL */
	if (address == LAYOUT_TRAMPOLINES)
		return PAGE_PRESENT | PAGE_USER; /* ring-3 code the guest cannot change */
	if (address >= RINGVISOR_BOOT_INFO_ADDRESS &&
	    address < RINGVISOR_ARGUMENTS_ADDRESS + RINGVISOR_ARGUMENTS_MAX_BYTES)
		return PAGE_PRESENT | PAGE_USER | PAGE_NO_EXECUTE;
	if ((address >= LAYOUT_EXCEPTION_STACK && address < LAYOUT_EXCEPTION_STACK_TOP) ||
	    (address >= LAYOUT_BOOT_STACK && address < LAYOUT_BOOT_STACK_TOP))
		return PAGE_PRESENT | PAGE_USER | PAGE_WRITABLE | PAGE_NO_EXECUTE;
	if (address >= LAYOUT_PML4 && address < LAYOUT_TSS + LAYOUT_TSS_PAGES * PAGE_4K)
		/* Tables the CPU reads on the guest's behalf: supervisor-only, so ring 3 can
		 * neither read nor rewrite them. */
		return PAGE_PRESENT | PAGE_WRITABLE | PAGE_NO_EXECUTE;
	return 0; /* guard pages, unused pages, the page-table pool */
}

/* Flags for a 4 KiB page of guest RAM at or above the image start. */
static uint64_t guest_page_flags(const struct elf_image *image, uint64_t address)
{
	unsigned permissions = 0;
	bool in_image = false;
	for (unsigned index = 0; index < image->segment_count; index++) {
		const struct elf_segment *segment = &image->segments[index];
		uint64_t first = segment->start & ~(PAGE_4K - 1);
		if (address >= first && address < segment->start + segment->memory_bytes) {
			in_image = true;
			permissions |= segment->permissions; /* pages shared by two segments */
		}
	}
	if (!in_image)
		return PAGE_PRESENT | PAGE_USER | PAGE_WRITABLE | PAGE_NO_EXECUTE; /* heap */
	uint64_t flags = PAGE_PRESENT | PAGE_USER;
	if (permissions & SEGMENT_WRITE)
		flags |= PAGE_WRITABLE;
	if (!(permissions & SEGMENT_EXECUTE))
		flags |= PAGE_NO_EXECUTE;
	return flags;
}

static bool region_needs_small_pages(const struct elf_image *image, uint64_t region)
{
	return region == 0 || (region < image->highest && region + PAGE_2M > image->lowest);
}

uint64_t page_tables_build(struct guest_memory *memory, const struct elf_image *image)
{
	uint64_t *pml4 = guest_memory_launcher_pages(memory, LAYOUT_PML4, PAGE_4K);
	uint64_t *pdpt = guest_memory_launcher_pages(memory, LAYOUT_PDPT, PAGE_4K);
	uint64_t next_table = LAYOUT_PAGE_TABLE_POOL;
	const uint64_t table_flags = PAGE_PRESENT | PAGE_WRITABLE | PAGE_USER;

	memset(pml4, 0, PAGE_4K);
	memset(pdpt, 0, PAGE_4K);
	pml4[0] = LAYOUT_PDPT | table_flags;
	for (uint64_t gigabyte = 0; gigabyte * PAGE_1G < memory->size; gigabyte++) {
		uint64_t directory_address = LAYOUT_PAGE_DIRECTORIES + gigabyte * PAGE_4K;
		uint64_t *directory =
			guest_memory_launcher_pages(memory, directory_address, PAGE_4K);
		memset(directory, 0, PAGE_4K);
		pdpt[gigabyte] = directory_address | table_flags;

		for (unsigned slot = 0; slot < 512; slot++) {
			uint64_t region = gigabyte * PAGE_1G + slot * PAGE_2M;
			if (region >= memory->size)
				break;
			if (!region_needs_small_pages(image, region)) {
				directory[slot] = region | PAGE_PRESENT | PAGE_USER |
						  PAGE_WRITABLE | PAGE_LARGE | PAGE_NO_EXECUTE;
				continue;
			}
			if (next_table >= LAYOUT_PAGE_TABLE_POOL_END)
				fail("guest %s is too large: it spans more 2 MiB regions than the "
				     "launcher can map page by page (%llu)",
				     image->path,
				     (LAYOUT_PAGE_TABLE_POOL_END - LAYOUT_PAGE_TABLE_POOL) /
					     PAGE_4K);
			uint64_t *table = guest_memory_launcher_pages(memory, next_table, PAGE_4K);
			directory[slot] = next_table | table_flags;
			next_table += PAGE_4K;
			for (unsigned entry = 0; entry < 512; entry++) {
				uint64_t address = region + entry * PAGE_4K;
				uint64_t flags = address < RINGVISOR_GUEST_IMAGE_START
							 ? launcher_page_flags(address)
							 : guest_page_flags(image, address);
				table[entry] = flags ? (address | flags) : 0;
			}
		}
	}
	return LAYOUT_PML4;
}
