/*
 * Faults on a virtual link, since this host's kernel has no netem: each frame crossing a NIC
 * may be lost, duplicated, held back behind the next one (reordered) or have one byte flipped
 * (corrupted), each with its own probability, in both directions.
 *
 * It sits between the NIC's device model and its real backend, as a backend itself (the same
 * operations table, nic_backend.h) wrapped around the real one: the device hands it every frame
 * the guest sends and asks it for every frame the guest gets, and it passes them on, changed or
 * not, to and from the backend. Neither the device nor the backend knows it is there. It owns
 * the frames it holds back (one per direction for reordering, one duplicate on the way in) and
 * a scratch buffer for corrupting, a frame's worth each.
 *
 * A seeded generator per NIC and direction makes a run repeatable: the same seed and the same
 * frames give the same faults.
 */
#ifndef RINGVISOR_FAULT_INJECTION_H
#define RINGVISOR_FAULT_INJECTION_H

#include <stdbool.h>
#include <stdint.h>

#include "nic/nic_backend.h"

struct fault_settings {
	double loss, duplicate, reorder, corrupt; /* probabilities, 0..1 */
	uint64_t seed;
};

/*
 * `inner` with the faults of `settings` between it and the device. It is there even when no
 * fault is configured, so that its counters are always printed with the NIC's (scripts read
 * them): then it passes every call straight on and holds no buffers. `nic_index` tells apart
 * the generators of NICs sharing one seed. The result owns `inner`: destroying it destroys
 * both. Fails the launcher if out of memory.
 */
struct nic_backend *fault_injection_wrap(struct nic_backend *inner,
					 const struct fault_settings *settings, unsigned nic_index);

#endif
