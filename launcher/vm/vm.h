/*
 * One guest: its KVM file descriptors, its RAM, the ELF it runs, and the state its
 * hypercalls change. A launcher process runs exactly one vm (one vCPU).
 */
#ifndef RINGVISOR_VM_H
#define RINGVISOR_VM_H

#include <stdbool.h>
#include <stdint.h>

#include "vm/elf_loader.h"
#include "vm/guest_memory.h"

struct nic_device;

/*
 * Why the vCPU came back to the launcher, one counter each. Doorbells are not here: they never
 * reach user space (the NICs count them). The vCPU thread counts; the metrics stream reads them
 * from the I/O thread, so both go through vm_exit_count()/vm_exit_read().
 */
#define VM_EXIT_REASONS(X)                                                                         \
	X(hypercall_console_write)                                                                 \
	X(hypercall_exit)                                                                          \
	X(hypercall_wait)                                                                          \
	X(hypercall_panic)                                                                         \
	X(hypercall_nic_setup)                                                                     \
	X(hypercall_unknown)                                                                       \
	X(exception)                                                                               \
	X(signal) /* KVM_RUN interrupted: a profiler sample, a stop signal */                      \
	X(other)  /* anything else KVM reports, each the end of the guest */

struct vm_exits {
#define VM_EXIT_FIELD(reason) uint64_t reason;
	VM_EXIT_REASONS(VM_EXIT_FIELD)
#undef VM_EXIT_FIELD
};

static inline void vm_exit_count(uint64_t *counter)
{
	__atomic_store_n(counter, __atomic_load_n(counter, __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
}

static inline uint64_t vm_exit_read(const uint64_t *counter)
{
	return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

struct vm {
	int kvm_fd;
	int vm_fd;
	int vcpu_fd;
	struct kvm_run *run;
	size_t run_bytes;
	struct guest_memory memory;
	struct elf_image image;
	uint64_t tsc_khz;
	uint64_t poll_ns_max; /* --poll: the guest learns it from its boot information */

	/* Written (eventfd semantics) by whatever has news for the guest, such as a device's
	 * I/O thread; a guest blocked in the wait hypercall wakes up on it. */
	int wake_fd;

	/* The guest's NICs (nic.c), owned by main; the setup hypercall finds them here. */
	struct nic_device *nics;
	unsigned nic_count;

	struct vm_exits exits;

	/* Set when the guest has finished, one way or another. */
	bool finished;
	int exit_status;
};

/* Opens KVM, creates the VM with `memory_bytes` of RAM and one vCPU configured for a
 * ring-3 guest (CPUID, XCR0). Fails the launcher with a clear message on any refusal. */
void vm_create(struct vm *vm, uint64_t memory_bytes);

/* Loads the guest ELF, builds the ring-3 world around it and points the vCPU at its entry.
 * arguments[0] is what the guest sees as argv[0]. */
void vm_load_guest(struct vm *vm, const char *path, int argument_count, char **arguments);

/* Runs the guest until it exits or crashes; returns the launcher's exit status. */
int vm_run(struct vm *vm);

/* True once a terminating signal (SIGINT, SIGTERM, SIGHUP) asked the launcher to stop. */
bool vm_stop_requested(void);

void vm_destroy(struct vm *vm);

#endif
