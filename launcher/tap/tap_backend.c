/* The TAP backend's operations (see tap_backend.h). */
#include "tap/tap_backend.h"

#include <linux/if_tun.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fail.h"
#include "ringvisor_abi.h"
#include "tap/tap.h"

/* Tells the TAP what the guest can take; without TUN_F_CSUM it finishes checksums and never
 * hands us a frame larger than the MTU. */
static bool accept_features(struct nic_backend *backend, uint64_t features, char *why,
			    size_t why_size)
{
	unsigned offloads = 0;
	if (features & RINGVISOR_NIC_FEATURE(RINGVISOR_NIC_FEATURE_GUEST_CSUM)) {
		offloads |= TUN_F_CSUM;
		if (features & RINGVISOR_NIC_FEATURE(RINGVISOR_NIC_FEATURE_GUEST_TSO4))
			offloads |= TUN_F_TSO4;
	}
	int error = tap_set_offloads(backend->fd, offloads);
	if (error < 0) {
		snprintf(why, why_size, "the TAP refused offloads %#x: %s", offloads,
			 strerror(-error));
		return false;
	}
	return true;
}

static bool send_frame(struct nic_backend *backend, const struct iovec *buffers, unsigned count,
		       size_t length)
{
	return writev(backend->fd, buffers, (int)count) == (ssize_t)length;
}

static long receive(struct nic_backend *backend, const struct iovec *buffers, unsigned count,
		    size_t room)
{
	ssize_t length = readv(backend->fd, buffers, (int)count);
	if (length < 0)
		return errno == EAGAIN || errno == EINTR ? NIC_RECEIVE_NOTHING : -errno;
	if ((size_t)length >= room || /* readv cut it short */
	    length < (ssize_t)(RINGVISOR_NET_HEADER_BYTES + RINGVISOR_ETHERNET_HEADER_BYTES))
		return NIC_RECEIVE_TRUNCATED;
	return length;
}

/* The TAP's readability is the kernel's, and level-triggered: nothing to arrange. */
static bool wait_for_frames(struct nic_backend *backend)
{
	(void)backend;
	return false;
}

static void nothing(struct nic_backend *backend)
{
	(void)backend;
}

static bool tick(struct nic_backend *backend)
{
	(void)backend;
	return false;
}

static void visit_counters(const struct nic_backend *backend, nic_counter_visitor *visit,
			   void *context)
{
	(void)backend, (void)visit, (void)context; /* the TAP's are the kernel's: ip -s link */
}

static void destroy(struct nic_backend *backend)
{
	close(backend->fd);
	free(backend);
}

static const struct nic_backend_operations tap_operations = {
	.accept_features = accept_features,
	.send = send_frame,
	.send_done = nothing,
	.receive = receive,
	.wait_for_frames = wait_for_frames,
	.pause_receiving = nothing,
	.receive_later = nothing, /* level-triggered: epoll brings the I/O thread back */
	.readable = nothing,
	.tick = tick,
	.visit_counters = visit_counters,
	.destroy = destroy,
};

struct nic_backend *tap_backend_create(int fd, const char *name)
{
	/* All a TAP needs is its fd: the backend is the bare struct. */
	struct nic_backend *backend = malloc(sizeof *backend);
	if (!backend)
		fail("out of memory for TAP %s", name);
	*backend = (struct nic_backend){ &tap_operations, fd, "the TAP failed (was it deleted?)" };
	return backend;
}
