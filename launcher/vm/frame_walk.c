/* Walking the guest's frame-pointer chain (see frame_walk.h). */
#include "vm/frame_walk.h"

#include <string.h>

bool frame_walk_read_word(const struct vm *vm, uint64_t address, uint64_t *word)
{
	const void *source =
		address % 8 == 0 ? guest_memory_checked(&vm->memory, address, 8) : NULL;
	if (!source)
		return false;
	memcpy(word, source, sizeof *word);
	return true;
}

/*
 * True if RIP's function has already saved the caller's frame pointer and set its own
 * (push %rbp; mov %rsp,%rbp at its start, and RIP past them). Leaf functions are built
 * without that prologue even with -fno-omit-frame-pointer, and a fault can come before it.
 */
static bool frame_is_set_up(const struct vm *vm, uint64_t rip)
{
	static const uint8_t prologue[] = { 0x55, 0x48, 0x89, 0xe5 };
	uint64_t offset;
	const struct elf_symbol *symbol = elf_symbolize(&vm->image, rip, &offset);
	const uint8_t *code =
		symbol ? guest_memory_checked(&vm->memory, symbol->address, sizeof prologue) : NULL;
	if (!code)
		return true; /* unknown: trust the frame pointer */
	return memcmp(code, prologue, sizeof prologue) == 0 && offset >= sizeof prologue;
}

struct frame_walk frame_walk(const struct vm *vm, const struct kvm_regs *regs, uint64_t *addresses,
			     unsigned max)
{
	struct frame_walk walk = { 0, false };
	if (max == 0)
		return walk;
	addresses[walk.depth++] = regs->rip;
	uint64_t return_address, offset;
	if (walk.depth < max && !frame_is_set_up(vm, regs->rip) &&
	    frame_walk_read_word(vm, regs->rsp, &return_address) &&
	    elf_symbolize(&vm->image, return_address - 1, &offset)) {
		/* The caller's return address is still on top of the stack (if the function
		 * pushed registers first, that word is no code address and we skip this). */
		addresses[walk.depth++] = return_address;
	}
	uint64_t frame = regs->rbp;
	while (frame != 0) {
		uint64_t next;
		if (!frame_walk_read_word(vm, frame, &next) ||
		    !frame_walk_read_word(vm, frame + 8, &return_address)) {
			walk.cut = true; /* a frame pointer out of the guest's memory */
			break;
		}
		if (return_address == 0)
			break; /* the chain's end: the kernel's entry leaves a zero */
		if (walk.depth == max) {
			walk.cut = true;
			break;
		}
		addresses[walk.depth++] = return_address;
		if (next == 0)
			break;
		if (next <= frame) { /* frames grow upwards; anything else is a loop or garbage */
			walk.cut = true;
			break;
		}
		frame = next;
	}
	return walk;
}
