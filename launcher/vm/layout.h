/*
 * Where the launcher puts its own pages in the guest's first megabyte. Only the boot
 * information and the argument pages are part of the ABI (ringvisor_abi.h); the rest can
 * move without the guest noticing, because the guest never addresses them itself.
 *
 *   0x00000  page 0: never mapped, so a NULL dereference faults
 *   0x01000  PML4, then the PDPT, then four page directories (one per GiB)
 *   0x07000  GDT                  supervisor-only
 *   0x08000  IDT                  supervisor-only
 *   0x09000  TSS + I/O bitmap     supervisor-only (3 pages)
 *   0x0c000  exception trampolines: ring-3 code, read-only
 *   0x0e000  boot information     read-only      (RINGVISOR_BOOT_INFO_ADDRESS)
 *   0x0f000  guest arguments      read-only      (RINGVISOR_ARGUMENTS_ADDRESS, 2 pages)
 *   0x11000  guard page, then the 16 KiB exception stack (IST1)
 *   0x16000  guard page, then the 32 KiB boot stack the guest enters on
 *   0x20000  pool of page tables for the 4 KiB-mapped regions
 *   0x100000 the guest image (RINGVISOR_GUEST_IMAGE_START)
 */
#ifndef RINGVISOR_LAYOUT_H
#define RINGVISOR_LAYOUT_H

#include "ringvisor_abi.h"

#define LAYOUT_PML4 0x1000ull
#define LAYOUT_PDPT 0x2000ull
#define LAYOUT_PAGE_DIRECTORIES 0x3000ull /* four pages */
#define LAYOUT_GDT 0x7000ull
#define LAYOUT_IDT 0x8000ull
#define LAYOUT_TSS 0x9000ull
#define LAYOUT_TSS_PAGES 3
#define LAYOUT_TRAMPOLINES 0xc000ull
#define LAYOUT_EXCEPTION_STACK 0x12000ull
#define LAYOUT_EXCEPTION_STACK_TOP 0x16000ull
#define LAYOUT_BOOT_STACK 0x17000ull
#define LAYOUT_BOOT_STACK_TOP 0x1f000ull
#define LAYOUT_PAGE_TABLE_POOL 0x20000ull
#define LAYOUT_PAGE_TABLE_POOL_END ((unsigned long long)RINGVISOR_GUEST_IMAGE_START)

/* GDT selectors: ring-3 data and code, then the 16-byte TSS descriptor. */
#define SELECTOR_USER_DATA (0x20 | 3)
#define SELECTOR_USER_CODE (0x28 | 3)
#define SELECTOR_TSS 0x30

/* Each exception trampoline: push rax; push rdx; mov $vector, eax; mov $port, dx; out; ud2 */
#define TRAMPOLINE_BYTES 16
#define TRAMPOLINE_OUT_END 12 /* offset just past the `out` */
#define EXCEPTION_VECTORS 32
/* After the trampolines: `1: mov $hypercall-port, %dx; out %eax, (%dx); jmp 1b`, which the
 * profiler runs before the guest starts to measure what one exit costs on this machine. A guest
 * that jumps there only makes hypercalls, as it could itself. */
#define LAYOUT_EXIT_PROBE (LAYOUT_TRAMPOLINES + EXCEPTION_VECTORS * TRAMPOLINE_BYTES)
/* Then where MSR_LSTAR and MSR_CSTAR lead: `mov $SYSCALL_REPORT, %eax; mov $port, %dx; out;
 * ud2`. A guest has no kernel to call, and under kvm_pvm `syscall` does not raise #UD as EFER
 * says it must, but jumps to LSTAR in ring 3: here it is reported, whatever the hypervisor. */
#define LAYOUT_SYSCALL_TRAMPOLINE (LAYOUT_EXIT_PROBE + TRAMPOLINE_BYTES)
#define SYSCALL_TRAMPOLINE_OUT_END 10
#define SYSCALL_REPORT EXCEPTION_VECTORS /* the value its `out` sends: no exception's vector */

#endif
