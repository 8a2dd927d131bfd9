/*
 * kernel_start: what the guest does between the launcher's entry jump and the app's main().
 * Check that we speak the launcher's ABI, start the clock, hand usable RAM to the heap,
 * build argv from the argument pages, run main, exit with what it returns.
 */
#include <stdio.h>
#include <string.h>

#include "kernel_internal.h"

#define ARGUMENTS_MAX RINGVISOR_ARGUMENTS_MAX_COUNT

static const struct ringvisor_boot_info *boot_info;

const struct ringvisor_boot_info *kernel_boot_info(void)
{
	return boot_info;
}

/* The launcher lays the strings out back to back; we only check that they stay in bounds. */
static int build_arguments(char **argv)
{
	const char *next = (const char *)(uintptr_t)boot_info->arguments;
	const char *end = next + boot_info->arguments_bytes;
	int count = 0;
	while (count < (int)boot_info->argument_count && count < (int)ARGUMENTS_MAX && next < end) {
		argv[count++] = (char *)next;
		next += strnlen(next, (size_t)(end - next)) + 1;
	}
	argv[count] = NULL;
	return count;
}

__attribute__((noreturn)) void kernel_start(const struct ringvisor_boot_info *info)
{
	boot_info = info;
	if (info->magic != RINGVISOR_BOOT_MAGIC || info->abi_version != RINGVISOR_ABI_VERSION)
		panic("launcher speaks boot ABI %u (magic %#x); this guest was built for ABI %d",
		      info->abi_version, info->magic, RINGVISOR_ABI_VERSION);
	clock_init(info->tsc_khz);
	memory_init(info);

	static char *argv[ARGUMENTS_MAX + 1];
	int argc = build_arguments(argv);
	kernel_exit(main(argc, argv));
}
