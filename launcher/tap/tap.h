/*
 * The TAP backend's host side: a TAP device opened (created if absent) with a virtio-net
 * header in front of every frame (IFF_VNET_HDR, 12 bytes), so frames go between the TAP and
 * the guest's rings unchanged, offloads included.
 */
#ifndef RINGVISOR_TAP_H
#define RINGVISOR_TAP_H

#include <stdint.h>

/* Opens or creates the TAP `name`, gives it the guest's MTU, sets it up, and attaches it to
 * `bridge` unless that is empty. Fails the launcher with a message naming the problem.
 * Returns a non-blocking fd. */
int tap_open(const char *name, const char *bridge, unsigned mtu);

/* Tells the kernel what the guest can take (TUNSETOFFLOAD): TUN_F_* flags. 0 on success,
 * else -errno. */
int tap_set_offloads(int fd, unsigned offloads);

#endif
