/*
 * Crash reports: when the guest takes an exception, panics, triple-faults or does something
 * KVM cannot run, the launcher says what happened and where, in terms of the guest's own
 * symbols, then exits with STATUS_GUEST_CRASHED.
 */
#ifndef RINGVISOR_CRASH_REPORT_H
#define RINGVISOR_CRASH_REPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "vm/vm.h"

/* The guest reached an exception trampoline (ring3_setup.c) for `vector`. */
int crash_report_exception(struct vm *vm, uint32_t vector);

/* The guest called the panic hypercall; `message` is already a safe local copy. */
int crash_report_panic(struct vm *vm, const char *message, uint64_t caller);

/* Anything else that ends the guest abnormally: `why` says what. Returns `status`. */
int crash_report_stop(struct vm *vm, int status, const char *why);

#endif
