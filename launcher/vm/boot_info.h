/*
 * The boot information page: what the guest learns about its world at entry (ABI version,
 * memory map, TSC frequency, its arguments). See struct ringvisor_boot_info.
 */
#ifndef RINGVISOR_BOOT_INFO_H
#define RINGVISOR_BOOT_INFO_H

#include "vm/vm.h"

/* Fills the boot information and argument pages; fails if the arguments do not fit. */
void boot_info_write(struct vm *vm, int argument_count, char **arguments);

#endif
