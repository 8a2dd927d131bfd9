/*
 * Walking a guest's call chain: the sampled RIP, then the return address saved in each frame
 * that the frame-pointer chain leads to (guests are built with -fno-omit-frame-pointer). The
 * crash report prints it; the profiler (observe/profiler.c) counts it.
 *
 * The chain lives in guest memory, so every word is read through guest_memory_checked() and
 * only from the guest's own RAM, and the walk stops ("cut") at a frame pointer that leaves it,
 * that does not move up the stack (a loop, or garbage), or at the depth limit. It never reads
 * a byte outside the guest and never loops.
 */
#ifndef RINGVISOR_VM_FRAME_WALK_H
#define RINGVISOR_VM_FRAME_WALK_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>

#include "vm/vm.h"

struct frame_walk {
	unsigned depth; /* addresses found */
	bool cut;	/* stopped at a frame it would not follow, not at the chain's end */
};

/*
 * Fills addresses[0] with RIP and addresses[1..] with return addresses, at most `max` in all.
 * A leaf function (no frame of its own yet) has its caller found at the top of the stack.
 */
struct frame_walk frame_walk(const struct vm *vm, const struct kvm_regs *regs, uint64_t *addresses,
			     unsigned max);

/* One aligned word of the guest's own memory (not the launcher's pages); false if it is not
 * there. The crash report's stack words come through here too. */
bool frame_walk_read_word(const struct vm *vm, uint64_t address, uint64_t *word);

#endif
