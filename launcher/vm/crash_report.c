/*
 * Crash reports (see crash_report.h).
 *
 * Registers come from the vCPU (KVM_GET_REGS/SREGS), not from anything the guest wrote, so a
 * report is right even when the guest's memory is a mess. Stack words and the frame-pointer
 * chain do come from guest memory; each read is bounds-checked and a bad pointer just ends
 * the walk.
 */
#include "vm/crash_report.h"

#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "fail.h"
#include "vm/frame_walk.h"
#include "vm/layout.h"

#define STACK_WORDS 8
#define BACKTRACE_FRAMES 16

static const char *const exception_names[EXCEPTION_VECTORS] = {
	[0] = "divide error (#DE)",
	[1] = "debug exception (#DB)",
	[2] = "non-maskable interrupt (NMI)",
	[3] = "breakpoint (#BP)",
	[4] = "overflow (#OF)",
	[5] = "bound range exceeded (#BR)",
	[6] = "invalid opcode (#UD)",
	[7] = "device not available (#NM)",
	[8] = "double fault (#DF)",
	[10] = "invalid TSS (#TS)",
	[11] = "segment not present (#NP)",
	[12] = "stack-segment fault (#SS)",
	[13] = "general protection fault (#GP)",
	[14] = "page fault (#PF)",
	[16] = "x87 floating-point error (#MF)",
	[17] = "alignment check (#AC)",
	[18] = "machine check (#MC)",
	[19] = "SIMD floating-point exception (#XM)",
	[20] = "virtualization exception (#VE)",
	[21] = "control protection exception (#CP)",
};

/* Vectors where the CPU pushes an error code: the trampolines' frames differ by it. */
static bool exception_has_error_code(unsigned vector)
{
	return vector == 8 || (vector >= 10 && vector <= 14) || vector == 17 || vector == 21 ||
	       vector == 29 || vector == 30;
}

/*
 * "name+0x1c" for a guest code address, or "?" outside any known function. A return address
 * is looked up one byte back: a call to a function that never returns (panic) may be the
 * last instruction of its caller, so the address after it belongs to the next function.
 */
static void describe_code_address(const struct vm *vm, uint64_t address, bool is_return_address,
				  char *out, size_t size)
{
	uint64_t offset;
	const struct elf_symbol *symbol =
		elf_symbolize(&vm->image, address - (is_return_address && address), &offset);
	offset += is_return_address && address;
	if (symbol)
		snprintf(out, size, "%s+0x%llx", symbol->name, (unsigned long long)offset);
	else
		snprintf(out, size, "?");
}

static void describe_address(const struct vm *vm, uint64_t address, char *out, size_t size)
{
	describe_code_address(vm, address, false, out, size);
}

static void print_registers(const struct kvm_regs *r)
{
	fprintf(stderr,
		"  rax %016llx  rbx %016llx  rcx %016llx  rdx %016llx\n"
		"  rsi %016llx  rdi %016llx  rbp %016llx  rsp %016llx\n"
		"  r8  %016llx  r9  %016llx  r10 %016llx  r11 %016llx\n"
		"  r12 %016llx  r13 %016llx  r14 %016llx  r15 %016llx\n"
		"  rip %016llx  rflags %08llx\n",
		r->rax, r->rbx, r->rcx, r->rdx, r->rsi, r->rdi, r->rbp, r->rsp, r->r8, r->r9,
		r->r10, r->r11, r->r12, r->r13, r->r14, r->r15, r->rip, r->rflags);
}

/* The call chain through saved frame pointers (vm/frame_walk.c). */
static void print_backtrace(const struct vm *vm, const struct kvm_regs *r)
{
	uint64_t addresses[BACKTRACE_FRAMES];
	struct frame_walk walk = frame_walk(vm, r, addresses, BACKTRACE_FRAMES);
	fprintf(stderr, "  call trace:\n");
	for (unsigned depth = 0; depth < walk.depth; depth++) {
		char where[256];
		describe_code_address(vm, addresses[depth], depth > 0, where, sizeof where);
		fprintf(stderr, "    #%-2u %016llx  %s\n", depth,
			(unsigned long long)addresses[depth], where);
	}
}

static void print_stack(const struct vm *vm, uint64_t stack_pointer)
{
	fprintf(stderr, "  stack:\n");
	for (int index = 0; index < STACK_WORDS; index++) {
		uint64_t address = stack_pointer + index * 8, word;
		if (!frame_walk_read_word(vm, address, &word)) {
			fprintf(stderr, "    %016llx  (not the guest's memory)\n",
				(unsigned long long)address);
			break;
		}
		char where[256];
		describe_address(vm, word, where, sizeof where);
		fprintf(stderr, "    %016llx: %016llx  %s\n", (unsigned long long)address,
			(unsigned long long)word, strcmp(where, "?") ? where : "");
	}
}

static void print_state(const struct vm *vm, const struct kvm_regs *regs)
{
	print_registers(regs);
	print_backtrace(vm, regs);
	print_stack(vm, regs->rsp);
}

static bool get_registers(struct vm *vm, struct kvm_regs *regs, struct kvm_sregs *sregs)
{
	if (ioctl(vm->vcpu_fd, KVM_GET_REGS, regs) < 0 ||
	    ioctl(vm->vcpu_fd, KVM_GET_SREGS, sregs) < 0) {
		perror("ringvisor: cannot read the guest's registers");
		return false;
	}
	return true;
}

static void describe_page_fault(uint64_t error_code, uint64_t cr2)
{
	const char *access = (error_code & 16)	? "instruction fetch"
			     : (error_code & 2) ? "write"
						: "read";
	const char *cause = (error_code & 8)   ? "reserved bit set in a page table"
			    : (error_code & 1) ? "page protection"
					       : "page not present";
	fprintf(stderr, "  faulting address (CR2) %016llx: %s, %s%s\n", (unsigned long long)cr2,
		access, cause, cr2 < 4096 ? " (a NULL pointer dereference)" : "");
}

/* `syscall` led to the syscall trampoline: RCX holds where it returns to, R11 the flags. */
static int report_syscall(struct vm *vm, struct kvm_regs *regs)
{
	regs->rip = regs->rcx - 2; /* syscall is 0f 05 */
	regs->rflags = regs->r11;
	char where[256];
	describe_address(vm, regs->rip, where, sizeof where);
	fprintf(stderr,
		"ringvisor: guest crashed: a syscall instruction at %s (%016llx); a Ringvisor "
		"guest has no kernel to call\n",
		where, regs->rip);
	print_state(vm, regs);
	return STATUS_GUEST_CRASHED;
}

int crash_report_exception(struct vm *vm, uint32_t vector)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	if (!get_registers(vm, &regs, &sregs))
		return STATUS_GUEST_CRASHED;
	if (vector == SYSCALL_REPORT) {
		if (regs.rip != LAYOUT_SYSCALL_TRAMPOLINE + SYSCALL_TRAMPOLINE_OUT_END)
			return crash_report_stop(vm, STATUS_GUEST_CRASHED,
						 "the guest wrote to the exception port itself");
		return report_syscall(vm, &regs);
	}
	/* The trampoline ran on IST1: [rdx, rax, (error code), rip, cs, rflags, rsp, ss]. The
	 * port is open to ring 3, so believe the frame only if the vCPU stands right after the
	 * `out` of this vector's trampoline with its stack at that frame. */
	bool has_error = vector < EXCEPTION_VECTORS && exception_has_error_code(vector);
	uint64_t frame_address = LAYOUT_EXCEPTION_STACK_TOP - (has_error ? 6 : 5) * 8 - 16;
	uint64_t after_out = LAYOUT_TRAMPOLINES + vector * TRAMPOLINE_BYTES + TRAMPOLINE_OUT_END;
	if (vector >= EXCEPTION_VECTORS || regs.rip != after_out || regs.rsp != frame_address)
		return crash_report_stop(vm, STATUS_GUEST_CRASHED,
					 "the guest wrote to the exception port itself");
	uint64_t frame[8] = { 0 };
	guest_memory_read(&vm->memory, frame_address, frame, (has_error ? 8 : 7) * 8);
	const uint64_t *hardware = frame + 2 + has_error;
	regs.rdx = frame[0];
	regs.rax = frame[1];
	regs.rip = hardware[0];
	regs.rflags = hardware[2];
	regs.rsp = hardware[3];

	const char *name = exception_names[vector] ? exception_names[vector] : "reserved exception";
	char where[256];
	describe_address(vm, regs.rip, where, sizeof where);
	fprintf(stderr, "ringvisor: guest crashed: %s, vector %u, at %s (%016llx)\n", name, vector,
		where, regs.rip);
	if (has_error)
		fprintf(stderr, "  error code %#llx\n", (unsigned long long)frame[2]);
	if (vector == 14)
		describe_page_fault(frame[2], sregs.cr2);
	print_state(vm, &regs);
	return STATUS_GUEST_CRASHED;
}

int crash_report_panic(struct vm *vm, const char *message, uint64_t caller)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	char where[256];
	describe_code_address(vm, caller, true, where, sizeof where);
	fprintf(stderr, "ringvisor: guest panicked: %s\n  raised at %s (%016llx)\n", message, where,
		(unsigned long long)caller);
	if (get_registers(vm, &regs, &sregs))
		print_state(vm, &regs);
	return STATUS_GUEST_CRASHED;
}

int crash_report_stop(struct vm *vm, int status, const char *why)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	fprintf(stderr, "ringvisor: guest stopped: %s\n", why);
	if (get_registers(vm, &regs, &sregs)) {
		char where[256];
		describe_address(vm, regs.rip, where, sizeof where);
		fprintf(stderr, "  at %s (%016llx), CR2 %016llx\n", where, regs.rip, sregs.cr2);
		print_state(vm, &regs);
	}
	return status;
}
