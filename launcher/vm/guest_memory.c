/* Guest RAM: one mapping, and the one checked way into it (see guest_memory.h). */
#include "vm/guest_memory.h"

#include <string.h>
#include <sys/mman.h>

#include "ringvisor_abi.h"
#include "fail.h"

void guest_memory_create(struct guest_memory *memory, uint64_t size)
{
	/* MAP_NORESERVE: a 4 GiB guest that touches 10 MiB costs the host 10 MiB. */
	void *base = mmap(NULL, size, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED)
		fail_errno("cannot map %llu MiB of guest RAM", (unsigned long long)(size >> 20));
	/* Transparent huge pages where the host allows them: the guest's copies (a network
	 * stack's whole job) take fewer TLB misses, here and in KVM's shadow of its page
	 * tables. Guest-to-guest TCP gained about 5%. A hint: refused, nothing changes. */
	madvise(base, size, MADV_HUGEPAGE);
	/* The guest's memory is the guest's: never in a core dump of the launcher. */
	if (madvise(base, size, MADV_DONTDUMP) < 0)
		fail_errno("cannot keep guest RAM out of core dumps");
	memset(memory, 0, sizeof *memory);
	memory->base = base;
	memory->size = size;
}

void guest_memory_destroy(struct guest_memory *memory)
{
	if (memory->base)
		munmap(memory->base, memory->size);
	memory->base = NULL;
	memory->size = 0;
}

/* Written so that no sum can overflow. */
static bool contains(const struct guest_memory *memory, uint64_t address, uint64_t length)
{
	return address <= memory->size && length <= memory->size - address;
}

static bool overlaps_read_only(const struct guest_memory *memory, uint64_t address, uint64_t length)
{
	for (unsigned index = 0; index < memory->read_only_count; index++)
		if (address < memory->read_only[index].end &&
		    memory->read_only[index].start < address + length)
			return true;
	return false;
}

void guest_memory_add_read_only(struct guest_memory *memory, uint64_t start, uint64_t end)
{
	if (memory->read_only_count == GUEST_MEMORY_READ_ONLY_RANGES_MAX)
		fail("more than %d read-only ranges in guest memory",
		     GUEST_MEMORY_READ_ONLY_RANGES_MAX);
	memory->read_only[memory->read_only_count].start = start;
	memory->read_only[memory->read_only_count].end = end;
	memory->read_only_count++;
}

void *guest_memory_checked(const struct guest_memory *memory, uint64_t address, uint64_t length)
{
	if (address < RINGVISOR_GUEST_IMAGE_START || !contains(memory, address, length))
		return NULL;
	return memory->base + address;
}

void *guest_memory_checked_writable(const struct guest_memory *memory, uint64_t address,
				    uint64_t length)
{
	void *pointer = guest_memory_checked(memory, address, length);
	return pointer && !overlaps_read_only(memory, address, length) ? pointer : NULL;
}

void *guest_memory_launcher_pages(const struct guest_memory *memory, uint64_t address,
				  uint64_t length)
{
	if (address > RINGVISOR_GUEST_IMAGE_START ||
	    length > RINGVISOR_GUEST_IMAGE_START - address || !contains(memory, address, length))
		fail("launcher bug: [%#llx, +%#llx) is not among the launcher's own pages",
		     (unsigned long long)address, (unsigned long long)length);
	return memory->base + address;
}

bool guest_memory_read(const struct guest_memory *memory, uint64_t address, void *out,
		       size_t length)
{
	if (!contains(memory, address, length))
		return false;
	memcpy(out, memory->base + address, length);
	return true;
}
