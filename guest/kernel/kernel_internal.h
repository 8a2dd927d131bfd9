/* Kernel-internal interfaces between the guest kernel's own files (apps use kernel.h). */
#ifndef GUEST_KERNEL_INTERNAL_H
#define GUEST_KERNEL_INTERNAL_H

#include <stdint.h>

#include <ringvisor/hypercall.h>
#include <ringvisor/kernel.h>

void clock_init(uint64_t tsc_khz);
void memory_init(const struct ringvisor_boot_info *boot_info);

/* The app's entry point. */
int main(int argc, char **argv);

#endif
