/*
 * The share backend behind a NIC (nic/nic_backend.h): a port on a shared-memory switch with
 * other launchers (share_switch.h: joining and the switch itself; share_port.h: the data path
 * these operations call).
 */
#ifndef RINGVISOR_SHARE_BACKEND_H
#define RINGVISOR_SHARE_BACKEND_H

#include <stdint.h>

#include "nic/nic_backend.h"

/* Joins switch `name` as the NIC with `mac` and `mtu`. Fails the launcher on any problem. */
struct nic_backend *share_backend_join(const char *name, const uint8_t mac[6], unsigned mtu);

#endif
