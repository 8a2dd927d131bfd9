/*
 * The paravirtual NIC's device model: virtio-net in all but transport (see the NIC section of
 * ringvisor_abi.h), with a backend behind it (nic_backend.h, an operations table): a TAP
 * device (tap/), or a port on a shared-memory switch with other launchers (share/). The device
 * never asks which.
 *
 * Two threads touch a NIC. The vCPU thread creates it and serves the guest's setup
 * hypercall; from the moment the NIC is active, only the I/O thread (io_thread.c) moves
 * frames: guest transmit chains go to the backend straight from guest memory (one writev to a
 * TAP, one copy into a switch ring), and frames from the backend go straight into the guest's
 * posted receive buffers (one readv, or one copy out of a ring). The NIC's own code (rings,
 * counters, notification suppression, a broken device) is the same whatever the backend;
 * faults on the link are the fault injector's (fault_injection.h), a backend in front of the
 * real one.
 */
#ifndef RINGVISOR_NIC_H
#define RINGVISOR_NIC_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ringvisor_abi.h"
#include "nic/nic_backend.h"
#include "nic_config.h"
#include "nic/virtqueue.h"
#include "observe/pcap.h"

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
	X(transmit_refused)                                                                        \
	X(receive_doorbells)                                                                       \
	X(transmit_doorbells)                                                                      \
	X(guest_wakeups)

struct nic_counters {
#define NIC_COUNTER_FIELD(name) uint64_t name;
	NIC_COUNTERS(NIC_COUNTER_FIELD)
#undef NIC_COUNTER_FIELD
};

struct vm;

/* What an epoll event for this NIC is about (io_thread.c keeps pointers to these). */
enum nic_event {
	NIC_EVENT_RECEIVE_DOORBELL,
	NIC_EVENT_TRANSMIT_DOORBELL,
	NIC_EVENT_BACKEND_READABLE, /* the backend's fd */
};

struct nic_event_source {
	struct nic_device *nic;
	enum nic_event event;
};

struct nic_device {
	struct nic_config config;
	unsigned index;
	struct vm *vm;
	struct nic_backend *backend; /* its fd is epoll'd for frames */
	int receive_doorbell_fd;     /* eventfds bound to the doorbell ports with KVM_IOEVENTFD */
	int transmit_doorbell_fd;
	int epoll_fd; /* the I/O thread's, for turning backend reading on and off */
	struct nic_event_source sources[3];

	bool active; /* set (release) by the setup hypercall; read (acquire) by the I/O thread */
	bool broken;
	struct virtqueue_device receive_queue;
	struct virtqueue_device transmit_queue;
	bool backend_reading;
	bool backend_watched; /* in the epoll set at all; a failed backend is taken out */

	struct nic_counters counters;
	uint64_t setup_refusals; /* the vCPU thread's (setup is a hypercall): read atomically */
	uint64_t features;	 /* what the guest accepted at setup (published with `active`) */
	/* pcap= on --net: every frame the guest sent (before faults on the way out) and every frame
	 * it got (after faults on the way in), as the counters count them; fd -1: none. */
	struct pcap_capture capture;
};

/* A NIC in front of `backend` (which it owns from now on), with its doorbells' eventfds. Only
 * the guest's memory and wakeup eventfd are taken from `vm`. Fails the launcher on any problem.
 * The MAC is the config's: see nic_config_choose_mac(). */
void nic_device_create(struct nic_device *nic, struct vm *vm, unsigned index,
		       const struct nic_config *config, struct nic_backend *backend);

/* Captures the NIC's frames into `path` from now on (pcap= on --net). Fails the launcher if the
 * file cannot be written. */
void nic_device_capture(struct nic_device *nic, const char *path);

/* Binds the doorbell eventfds to the NIC's ports (KVM_IOEVENTFD), so that a guest's `out` to
 * one reaches the I/O thread without a vCPU exit to user space. */
void nic_device_bind_doorbells(struct nic_device *nic, struct vm *vm);

/* Adds the NIC's doorbells and its backend's fd (not readable-watched yet: the first receive
 * doorbell turns that on) to the I/O thread's epoll set, each event's data a struct
 * nic_event_source. */
void nic_device_watch(struct nic_device *nic, int epoll_fd);

/* Destroys the backend too. */
void nic_device_destroy(struct nic_device *nic);

/* The boot information entry for this NIC. */
void nic_device_describe(const struct nic_device *nic, struct ringvisor_nic_info *info);

/* The setup hypercall (vCPU thread): checks the guest's choice and queues, then activates. */
int64_t nic_device_setup(struct nic_device *nic, uint64_t setup_address);

/* I/O thread: something happened on one of this NIC's file descriptors; `failed` when epoll
 * reported an error or hang-up on it. */
void nic_device_handle_event(struct nic_device *nic, enum nic_event event, bool failed);

/* I/O thread, about once a second: the backend's tick, and a look for frames it says may be
 * waiting unannounced (a share port's, when a wakeup was lost). */
void nic_device_tick(struct nic_device *nic);

/* The I/O thread polls (io_thread.h): sends whatever the guest queued, asking it for no
 * doorbells meanwhile; true if there was anything. nic_device_stop_polling() asks for
 * doorbells again (and sends what slipped in), before the thread sleeps. */
bool nic_device_poll(struct nic_device *nic);
void nic_device_stop_polling(struct nic_device *nic);

/* Each counter, one call each: --stats, SIGUSR1 and the metrics stream list them this way
 * (observe/statistics.c). */
void nic_device_visit_counters(const struct nic_device *nic, nic_counter_visitor *visit,
			       void *context);

#endif
