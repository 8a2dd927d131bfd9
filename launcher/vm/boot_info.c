/* Writing the boot information page (see boot_info.h and ringvisor_abi.h). */
#include "vm/boot_info.h"

#include <string.h>

#include "ringvisor_abi.h"
#include "fail.h"
#include "nic/nic.h"

static void add_region(struct ringvisor_boot_info *info, uint64_t start, uint64_t end,
		       uint32_t type)
{
	if (end <= start)
		return;
	info->memory_regions[info->memory_region_count++] = (struct ringvisor_memory_region){
		.start = start,
		.length = end - start,
		.type = type,
	};
}

_Static_assert(sizeof(struct ringvisor_boot_info) <= RINGVISOR_PAGE_SIZE,
	       "the boot information must fit its page");

void boot_info_write(struct vm *vm, int argument_count, char **arguments)
{
	struct ringvisor_boot_info *info =
		guest_memory_launcher_pages(&vm->memory, RINGVISOR_BOOT_INFO_ADDRESS, sizeof *info);
	memset(info, 0, sizeof *info);
	info->magic = RINGVISOR_BOOT_MAGIC;
	info->abi_version = RINGVISOR_ABI_VERSION;
	info->memory_size = vm->memory.size;
	info->tsc_khz = vm->tsc_khz;
	info->poll_ns_max = vm->poll_ns_max;

	/* The image may start above RINGVISOR_GUEST_IMAGE_START; the gap is usable too. The
	 * segments between lowest and highest are reported as one image region. */
	add_region(info, 0, RINGVISOR_GUEST_IMAGE_START, RINGVISOR_MEMORY_LAUNCHER);
	add_region(info, RINGVISOR_GUEST_IMAGE_START, vm->image.lowest & ~0xfffull,
		   RINGVISOR_MEMORY_USABLE);
	uint64_t image_end = (vm->image.highest + 0xfff) & ~0xfffull;
	add_region(info, vm->image.lowest & ~0xfffull, image_end, RINGVISOR_MEMORY_IMAGE);
	add_region(info, image_end, vm->memory.size, RINGVISOR_MEMORY_USABLE);

	if ((unsigned)argument_count > RINGVISOR_ARGUMENTS_MAX_COUNT)
		fail("the guest has %d arguments, more than the %u it can be given",
		     argument_count - 1, RINGVISOR_ARGUMENTS_MAX_COUNT - 1);
	info->nic_count = vm->nic_count;
	for (unsigned index = 0; index < vm->nic_count; index++)
		nic_device_describe(&vm->nics[index], &info->nics[index]);

	char *strings = guest_memory_launcher_pages(&vm->memory, RINGVISOR_ARGUMENTS_ADDRESS,
						    RINGVISOR_ARGUMENTS_MAX_BYTES);
	size_t used = 0;
	for (int index = 0; index < argument_count; index++) {
		size_t length = strlen(arguments[index]) + 1;
		if (length > RINGVISOR_ARGUMENTS_MAX_BYTES - used)
			fail("the guest's arguments take more than %u bytes",
			     RINGVISOR_ARGUMENTS_MAX_BYTES);
		memcpy(strings + used, arguments[index], length);
		used += length;
	}
	info->arguments = RINGVISOR_ARGUMENTS_ADDRESS;
	info->arguments_bytes = (uint32_t)used;
	info->argument_count = (uint32_t)argument_count;
}
