/*
 * Hypercalls: the guest's requests to the launcher, one `out` each (see ringvisor_abi.h).
 */
#ifndef RINGVISOR_HYPERCALL_H
#define RINGVISOR_HYPERCALL_H

#include <stdint.h>

#include "vm/vm.h"

/* Serves the request block at guest address `block`. Sets vm->finished when the guest
 * exits or must be stopped. */
void hypercall_handle(struct vm *vm, uint32_t block);

#endif
