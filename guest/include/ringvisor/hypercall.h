/*
 * The guest's side of the hypercall interface (see abi/ringvisor_abi.h): one request block,
 * one `out`. Each call costs a full exit to the launcher, so nothing on a data path uses one.
 */
#ifndef GUEST_HYPERCALL_H
#define GUEST_HYPERCALL_H

#include <stdint.h>

#include "../../../abi/ringvisor_abi.h"

int64_t hypercall(uint32_t number, uint64_t argument0, uint64_t argument1, uint64_t argument2);

#endif
