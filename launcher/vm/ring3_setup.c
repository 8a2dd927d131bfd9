/*
 * Building the world a ring-3 guest runs in, and pointing the vCPU at it.
 *
 * On this host, KVM emulates every ring-0 instruction in software (about 1000x slower), so the
 * guest never runs in ring 0, not even for a moment: the vCPU starts in 64-bit mode at CPL 3
 * with everything a kernel would normally set up itself already in place:
 *   - page tables (page_tables.c),
 *   - a GDT holding ring-3 code and data segments and a TSS,
 *   - a TSS whose I/O permission bitmap opens Ringvisor's ports and nothing else (with IOPL
 *     forced to 0, it is the only thing that lets ring 3 execute `out`), and whose IST1
 *     gives exceptions a known-good stack even when the guest's own stack is gone,
 *   - an IDT whose first 32 vectors lead to tiny ring-3 trampolines that report the
 *     exception to the launcher (crash_report.c); there is no ring 0 to run a handler in,
 *     and a report built from the vCPU's registers is one the guest cannot get wrong,
 *   - the boot information page (boot_info.c).
 */
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vm/boot_info.h"
#include "fail.h"
#include "vm/layout.h"
#include "vm/page_tables.h"
#include "vm/vm.h"

#define CR0_PE (1ull << 0)
#define CR0_MP (1ull << 1)
#define CR0_ET (1ull << 4)
#define CR0_NE (1ull << 5)
#define CR0_WP (1ull << 16)
#define CR0_PG (1ull << 31)
#define CR4_PAE (1ull << 5)
#define CR4_OSFXSR (1ull << 9)
#define CR4_OSXMMEXCPT (1ull << 10)
#define CR4_OSXSAVE (1ull << 18)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)

static void write_gdt(struct vm *vm)
{
	uint64_t *gdt = guest_memory_launcher_pages(&vm->memory, LAYOUT_GDT, 4096);
	memset(gdt, 0, 4096);
	/* Accessed bits preset: the CPU would otherwise write them, into a read-only GDT. */
	gdt[SELECTOR_USER_DATA >> 3] = 0x00cff3000000ffffull; /* present, DPL3, data RW */
	gdt[SELECTOR_USER_CODE >> 3] = 0x00affb000000ffffull; /* present, DPL3, code, 64-bit */

	uint64_t base = LAYOUT_TSS, limit = 0x68 + 8192; /* TSS, bitmap, terminating byte */
	gdt[SELECTOR_TSS >> 3] = (limit & 0xffff) | ((base & 0xffffff) << 16) |
				 (0x89ull << 40) /* present, available 64-bit TSS */ |
				 (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
	gdt[(SELECTOR_TSS >> 3) + 1] = base >> 32;
}

static void write_tss(struct vm *vm)
{
	uint8_t *tss =
		guest_memory_launcher_pages(&vm->memory, LAYOUT_TSS, LAYOUT_TSS_PAGES * 4096);
	memset(tss, 0, LAYOUT_TSS_PAGES * 4096);
	uint64_t stack = LAYOUT_EXCEPTION_STACK_TOP;
	memcpy(tss + 0x04, &stack, 8); /* RSP0: unused, since nothing ever enters ring 0 */
	memcpy(tss + 0x24, &stack, 8); /* IST1: every exception's stack */
	uint16_t bitmap_offset = 0x68;
	memcpy(tss + 0x66, &bitmap_offset, 2);

	uint8_t *bitmap = tss + bitmap_offset;
	memset(bitmap, 0xff, 8192 + 1); /* a set bit refuses the port; the extra byte ends it */
	unsigned open_ports[2 + RINGVISOR_PORT_DOORBELL_COUNT];
	unsigned count = 0;
	open_ports[count++] = RINGVISOR_PORT_HYPERCALL;
	open_ports[count++] = RINGVISOR_PORT_EXCEPTION;
	for (unsigned doorbell = 0; doorbell < RINGVISOR_PORT_DOORBELL_COUNT; doorbell++)
		open_ports[count++] = RINGVISOR_PORT_DOORBELL_FIRST + 4 * doorbell;
	for (unsigned index = 0; index < count; index++)
		for (unsigned port = open_ports[index]; port < open_ports[index] + 4; port++)
			bitmap[port / 8] &= (uint8_t) ~(1u << (port % 8));
}

static void write_exception_trampolines(struct vm *vm)
{
	uint8_t *code = guest_memory_launcher_pages(&vm->memory, LAYOUT_TRAMPOLINES, 4096);
	uint64_t *idt = guest_memory_launcher_pages(&vm->memory, LAYOUT_IDT, 4096);
	memset(code, 0xcc, 4096); /* int3 between the stubs */
	memset(idt, 0, 4096);
	for (unsigned vector = 0; vector < EXCEPTION_VECTORS; vector++) {
		uint8_t *stub = code + vector * TRAMPOLINE_BYTES;
		/* clang-format off */
		const uint8_t body[] = {
			0x50,                               /* push %rax */
			0x52,                               /* push %rdx */
			0xb8, (uint8_t)vector, 0, 0, 0,     /* mov $vector, %eax */
			0x66, 0xba, RINGVISOR_PORT_EXCEPTION & 0xff,
			RINGVISOR_PORT_EXCEPTION >> 8,      /* mov $port, %dx */
			0xef,                               /* out %eax, (%dx) */
			0x0f, 0x0b,                         /* ud2: never resumed */
		};
		/* clang-format on */
		_Static_assert(sizeof body <= TRAMPOLINE_BYTES, "trampoline too long");
		memcpy(stub, body, sizeof body);

		/* A 64-bit interrupt gate into ring-3 code, on IST1. Only the breakpoint gate
		 * may be raised by the guest's own `int3`; `int $n` elsewhere is a #GP. */
		uint64_t handler = LAYOUT_TRAMPOLINES + vector * TRAMPOLINE_BYTES;
		unsigned dpl = vector == 3 ? 3 : 0;
		idt[vector * 2] = (handler & 0xffff) | ((uint64_t)SELECTOR_USER_CODE << 16) |
				  (1ull << 32) /* IST1 */ | ((uint64_t)(0x8e | (dpl << 5)) << 40) |
				  (((handler >> 16) & 0xffff) << 48);
		idt[vector * 2 + 1] = handler >> 32;
	}
	/* clang-format off */
	const uint8_t exit_probe[] = {
		0x66, 0xba, RINGVISOR_PORT_HYPERCALL & 0xff, RINGVISOR_PORT_HYPERCALL >> 8,
		0xef,       /* out %eax, (%dx) */
		0xeb, 0xf9, /* jmp back to the mov */
	};
	/* clang-format on */
	memcpy(code + (LAYOUT_EXIT_PROBE - LAYOUT_TRAMPOLINES), exit_probe, sizeof exit_probe);
	/* clang-format off */
	const uint8_t syscall_report[] = {
		0xb8, SYSCALL_REPORT, 0, 0, 0,      /* mov $SYSCALL_REPORT, %eax */
		0x66, 0xba, RINGVISOR_PORT_EXCEPTION & 0xff,
		RINGVISOR_PORT_EXCEPTION >> 8,      /* mov $port, %dx */
		0xef,                               /* out %eax, (%dx) */
		0x0f, 0x0b,                         /* ud2: never resumed */
	};
	/* clang-format on */
	_Static_assert(sizeof syscall_report <= TRAMPOLINE_BYTES, "syscall trampoline too long");
	memcpy(code + (LAYOUT_SYSCALL_TRAMPOLINE - LAYOUT_TRAMPOLINES), syscall_report,
	       sizeof syscall_report);
}

/* Where `syscall` goes, whatever EFER says: the reporting trampoline (layout.h). sysenter has
 * SYSENTER_CS 0, so it faults (#GP, or #UD under kvm_pvm) and is reported as an exception. */
static void set_syscall_msrs(struct vm *vm)
{
	struct {
		struct kvm_msrs header;
		struct kvm_msr_entry entries[5];
	} msrs = { .header.nmsrs = 5,
		   .entries = {
			   { .index = 0xc0000081 /* STAR */, .data = 0 },
			   { .index = 0xc0000082 /* LSTAR */, .data = LAYOUT_SYSCALL_TRAMPOLINE },
			   { .index = 0xc0000083 /* CSTAR */, .data = LAYOUT_SYSCALL_TRAMPOLINE },
			   { .index = 0xc0000084 /* SFMASK */, .data = 0 },
			   { .index = 0x174 /* SYSENTER_CS */, .data = 0 },
		   } };
	if (ioctl(vm->vcpu_fd, KVM_SET_MSRS, &msrs) != 5)
		fail_errno("KVM_SET_MSRS (where syscall and sysenter lead)");
}

static void set_special_registers(struct vm *vm, uint64_t cr3)
{
	struct kvm_sregs sregs;
	if (ioctl(vm->vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		fail_errno("KVM_GET_SREGS");
	sregs.cr3 = cr3;
	sregs.cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT | CR4_OSXSAVE;
	sregs.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
	sregs.efer = EFER_LME | EFER_LMA | EFER_NXE;
	sregs.gdt.base = LAYOUT_GDT;
	sregs.gdt.limit = (SELECTOR_TSS + 16) - 1;
	sregs.idt.base = LAYOUT_IDT;
	sregs.idt.limit = EXCEPTION_VECTORS * 16 - 1;

	struct kvm_segment code = {
		.base = 0,
		.limit = 0xffffffff,
		.selector = SELECTOR_USER_CODE,
		.type = 11,
		.present = 1,
		.dpl = 3,
		.s = 1,
		.l = 1,
		.g = 1,
	};
	struct kvm_segment data = {
		.base = 0,
		.limit = 0xffffffff,
		.selector = SELECTOR_USER_DATA,
		.type = 3,
		.present = 1,
		.dpl = 3,
		.s = 1,
		.db = 1,
		.g = 1,
	};
	sregs.cs = code;
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
	sregs.tr = (struct kvm_segment){
		.base = LAYOUT_TSS,
		.limit = 0x68 + 8192,
		.selector = SELECTOR_TSS,
		.type = 11 /* busy 64-bit TSS */,
		.present = 1,
	};
	sregs.ldt = (struct kvm_segment){ .type = 2, .present = 1, .unusable = 1 };
	if (ioctl(vm->vcpu_fd, KVM_SET_SREGS, &sregs) < 0)
		fail_errno("KVM_SET_SREGS (entering 64-bit ring 3)");
}

void vm_load_guest(struct vm *vm, const char *path, int argument_count, char **arguments)
{
	elf_load(&vm->image, path, &vm->memory);
	uint64_t cr3 = page_tables_build(&vm->memory, &vm->image);
	write_gdt(vm);
	write_tss(vm);
	write_exception_trampolines(vm);
	set_syscall_msrs(vm);
	boot_info_write(vm, argument_count, arguments);
	set_special_registers(vm, cr3);

	struct kvm_regs regs = {
		.rip = vm->image.entry,
		.rsp = LAYOUT_BOOT_STACK_TOP,
		.rdi = RINGVISOR_BOOT_INFO_ADDRESS,
		.rflags = 0x2, /* bit 1 is always set; interrupts and everything else off */
	};
	if (ioctl(vm->vcpu_fd, KVM_SET_REGS, &regs) < 0)
		fail_errno("KVM_SET_REGS");
}
