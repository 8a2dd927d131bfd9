/*
 * Faults on a virtual link, since this host's kernel has no netem: each frame crossing a NIC
 * may be lost, duplicated, held back behind the next one (reordered) or have one byte flipped
 * (corrupted), each with its own probability, in both directions. A seeded generator per NIC
 * and direction makes a run repeatable: the same seed and the same frames give the same faults.
 */
#ifndef RINGVISOR_FAULT_INJECTION_H
#define RINGVISOR_FAULT_INJECTION_H

#include <stdbool.h>
#include <stdint.h>

struct fault_settings {
	double loss, duplicate, reorder, corrupt; /* probabilities, 0..1 */
	uint64_t seed;
};

struct fault_injector {
	uint64_t state;
	uint32_t loss, duplicate, reorder, corrupt; /* thresholds out of 2^32 */
};

/* `stream` tells apart the generators sharing one seed (each NIC, each direction). */
void fault_injector_init(struct fault_injector *injector, const struct fault_settings *settings,
			 uint64_t stream);

/* True when any fault is configured; the data path skips all this when not. */
bool fault_injector_active(const struct fault_injector *injector);

/* One decision each; every call draws from the generator, so call them in a fixed order. */
bool fault_roll(struct fault_injector *injector, uint32_t threshold);

/* A number below `limit`, for choosing which byte to corrupt. */
uint32_t fault_random_below(struct fault_injector *injector, uint32_t limit);

#endif
