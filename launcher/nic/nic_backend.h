/*
 * What the NIC's device model (nic.c) needs of whatever carries its frames, as an operations
 * table, like kvmtool's net_dev_operations: one implementation per backend (tap/tap_backend.c,
 * share/share_backend.c), chosen once by main.c. nic.c calls only these and never asks which
 * backend it has; a backend may wrap another (nic/fault_injection.c sits between the device
 * and the real backend this way).
 *
 * A backend embeds struct nic_backend as its first member. The I/O thread makes every call
 * but destroy, which main.c makes after the I/O thread has stopped.
 */
#ifndef RINGVISOR_NIC_BACKEND_H
#define RINGVISOR_NIC_BACKEND_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/uio.h>

struct nic_backend;

/* Called once per counter, by whatever lists counters (--stats, the metrics stream): `counter`
 * is its stable name (docs/metrics.md), `value` only ever grows. */
typedef void nic_counter_visitor(void *context, const char *counter, uint64_t value);

/* What receive() returns besides a frame's length (> 0); any other negative value is -errno:
 * the backend failed. */
#define NIC_RECEIVE_NOTHING 0		  /* no frame is waiting */
#define NIC_RECEIVE_TRUNCATED (-EMSGSIZE) /* a frame did not fit (or was a runt): dropped */
#define NIC_RECEIVE_DROPPED (-ECANCELED)  /* a frame was dropped on purpose: the buffer is free */

struct nic_backend_operations {
	/* The features the guest negotiated (bits of RINGVISOR_NIC_FEATURE_*), at setup: false,
	 * with a reason in `why`, if the backend cannot give the guest what they promise. */
	bool (*accept_features)(struct nic_backend *backend, uint64_t features, char *why,
				size_t why_size);
	/* Sends one frame (header and Ethernet frame, `length` bytes, straight from guest
	 * memory); false if it was not sent at all. */
	bool (*send)(struct nic_backend *backend, const struct iovec *buffers, unsigned count,
		     size_t length);
	/* The end of a batch of sends (the device looks at its other work now). */
	void (*send_done)(struct nic_backend *backend);
	/* Moves the next frame into `buffers` (the guest's, `room` bytes): its length, or one of
	 * the NIC_RECEIVE_* values, or -errno. */
	long (*receive)(struct nic_backend *backend, const struct iovec *buffers, unsigned count,
			size_t room);
	/* receive() found nothing: from now on a new frame makes `fd` readable. True if one
	 * arrived meanwhile, in which case the device receives again. */
	bool (*wait_for_frames)(struct nic_backend *backend);
	/* The device stops receiving for a while (no guest buffers, or broken): frames wait, and
	 * nobody needs to wake it for them. */
	void (*pause_receiving)(struct nic_backend *backend);
	/* The device stopped with frames maybe still waiting, to give other work a turn: make
	 * `fd` readable again so that the I/O thread comes back. */
	void (*receive_later)(struct nic_backend *backend);
	/* `fd` was readable: consume whatever other than frames made it so. */
	void (*readable)(struct nic_backend *backend);
	/* About once a second. True if frames may be waiting that `fd` did not announce. */
	bool (*tick)(struct nic_backend *backend);
	/* Each of the backend's own counters, in a fixed order. */
	void (*visit_counters)(const struct nic_backend *backend, nic_counter_visitor *visit,
			       void *context);
	/* Closes everything, `fd` included, and frees the backend. */
	void (*destroy)(struct nic_backend *backend);
};

struct nic_backend {
	const struct nic_backend_operations *operations;
	int fd;		     /* what the I/O thread watches for frames */
	const char *failure; /* what an error or hang-up on `fd` means, for the device's message */
};

#endif
