/*
 * The paravirtual NIC: virtio-net in all but transport (see the NIC section of
 * ringvisor_abi.h), with a backend behind it: a TAP device (tap/tap.c), or a port on a
 * shared-memory switch with other launchers (share/share_switch.h).
 *
 * Two threads touch a NIC. The vCPU thread creates it and serves the guest's setup
 * hypercall; from the moment the NIC is active, only the I/O thread (io_thread.c) moves
 * frames: guest transmit chains go to the backend straight from guest memory (one writev to a
 * TAP, one copy into a switch ring), and frames from the backend go straight into the guest's
 * posted receive buffers (one readv, or one copy out of a ring). The NIC's own code (rings,
 * faults, counters, notification suppression) is the same for both backends.
 */
#ifndef RINGVISOR_NIC_H
#define RINGVISOR_NIC_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ringvisor_abi.h"
#include "nic/fault_injection.h"
#include "nic_config.h"
#include "nic/virtqueue.h"

#define NIC_QUEUE_SIZE_MAX 1024u

/* Every counter, once: the struct fields and what --stats prints come from this list. */
#define NIC_COUNTERS(X)                                                                            \
	X(receive_frames)                                                                          \
	X(receive_bytes)                                                                           \
	X(receive_no_buffer)                                                                       \
	X(receive_truncated)                                                                       \
	X(transmit_frames)                                                                         \
	X(transmit_bytes)                                                                          \
	X(transmit_errors)                                                                         \
	X(receive_doorbells)                                                                       \
	X(transmit_doorbells)                                                                      \
	X(guest_wakeups)                                                                           \
	X(injected_losses)                                                                         \
	X(injected_duplicates)                                                                     \
	X(injected_reorders)                                                                       \
	X(injected_corruptions)

struct nic_counters {
#define NIC_COUNTER_FIELD(name) uint64_t name;
	NIC_COUNTERS(NIC_COUNTER_FIELD)
#undef NIC_COUNTER_FIELD
};

struct vm;
struct share_port;

/* What an epoll event for this NIC is about (io_thread.c keeps pointers to these). */
enum nic_event {
	NIC_EVENT_RECEIVE_DOORBELL,
	NIC_EVENT_TRANSMIT_DOORBELL,
	NIC_EVENT_BACKEND_READABLE, /* the TAP, or the switch port's wakeup FIFO */
};

struct nic_event_source {
	struct nic_device *nic;
	enum nic_event event;
};

struct nic_device {
	struct nic_config config;
	unsigned index;
	struct vm *vm;
	int backend_fd;		  /* epoll'd for frames: the TAP, or the switch port's FIFO */
	struct share_port *share; /* the switch port, for a share NIC */
	int receive_doorbell_fd;  /* eventfds bound to the doorbell ports with KVM_IOEVENTFD */
	int transmit_doorbell_fd;
	int epoll_fd; /* the I/O thread's, for turning backend reading on and off */
	struct nic_event_source sources[3];

	bool active; /* set (release) by the setup hypercall; read (acquire) by the I/O thread */
	bool broken;
	struct virtqueue_device receive_queue;
	struct virtqueue_device transmit_queue;
	bool backend_reading;
	bool backend_watched; /* in the epoll set at all; a failed backend is taken out */

	struct fault_injector receive_faults, transmit_faults;
	bool receive_held; /* reorder: a filled receive chain returned after the next one */
	uint16_t held_head;
	uint32_t held_length;
	bool transmit_held; /* reorder: a transmit frame sent after the next one */
	size_t transmit_held_length;
	uint8_t *transmit_hold; /* a frame's worth each, only with faults configured */
	uint8_t *scratch;

	struct nic_counters counters;
};

/* Opens the TAP or joins the switch, and binds the doorbells. Fails the launcher on any
 * problem. */
void nic_device_create(struct nic_device *nic, struct vm *vm, unsigned index,
		       const struct nic_config *config);
void nic_device_destroy(struct nic_device *nic);

/* The boot information entry for this NIC. */
void nic_device_describe(const struct nic_device *nic, struct ringvisor_nic_info *info);

/* The setup hypercall (vCPU thread): checks the guest's choice and queues, then activates. */
int64_t nic_device_setup(struct nic_device *nic, uint64_t setup_address);

/* I/O thread: something happened on one of this NIC's file descriptors; `failed` when epoll
 * reported an error or hang-up on it. */
void nic_device_handle_event(struct nic_device *nic, enum nic_event event, bool failed);

/* I/O thread, about once a second: a share NIC checks its port entry and its rings (nothing
 * is lost if a wakeup was); a TAP NIC has nothing to do. */
void nic_device_tick(struct nic_device *nic);

/* One `nic NAME COUNTER VALUE` line per counter. */
void nic_device_print_counters(const struct nic_device *nic, FILE *stream);

#endif
