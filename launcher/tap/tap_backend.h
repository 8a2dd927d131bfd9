/*
 * The TAP backend behind a NIC (nic/nic_backend.h): frames go to the TAP with one writev
 * straight from the guest's buffers and come from it with one readv straight into them, the
 * virtio-net header in front of each unchanged (tap.h).
 */
#ifndef RINGVISOR_TAP_BACKEND_H
#define RINGVISOR_TAP_BACKEND_H

#include "nic/nic_backend.h"

/* A backend for the TAP open on `fd` (from tap_open(), or anything with a TAP's datagram
 * semantics); it owns the fd from now on. `name` is for messages. Fails the launcher if out of
 * memory. */
struct nic_backend *tap_backend_create(int fd, const char *name);

#endif
