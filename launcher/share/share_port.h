/*
 * One port's data path on a `share` switch (share_switch.h has the switch itself: the file,
 * membership, wakeups), run by the I/O thread: sending our guest's frames into the rings of
 * the ports they are for, receiving other guests' frames out of our rings into our guest's
 * buffers, and the wakeup FIFO that tells the I/O thread a frame is waiting.
 */
#ifndef RINGVISOR_SHARE_PORT_H
#define RINGVISOR_SHARE_PORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/uio.h>

#include "nic/nic_backend.h"
#include "share/share_switch.h"

/* The I/O thread: the FIFO to watch, and draining it when it is readable. */
int share_port_wakeup_fd(const struct share_port *port);
void share_port_drain_wakeups(struct share_port *port);

/* Sends one frame from the guest (12-byte header + Ethernet frame, `length` bytes, in
 * `buffers`) to the ports it is for. False if it is not a frame (no Ethernet header). A
 * destination whose ring is full drops it (and counts), never making us wait. */
bool share_port_send(struct share_port *port, const struct iovec *buffers, unsigned count,
		     size_t length);

/* Moves the next frame for our guest into `buffers` (room for `room` bytes): returns its
 * length, 0 if none is waiting. A frame too big for the buffer is dropped and reported as
 * -EMSGSIZE. */
long share_port_receive(struct share_port *port, const struct iovec *buffers, unsigned count,
			size_t room);

/* Nothing more to receive: ask senders for a wakeup. Returns true if a frame arrived
 * meanwhile, in which case the caller should receive again (and nobody will wake it). */
bool share_port_ask_for_wakeup(struct share_port *port);

/* More is waiting than one pass takes: a byte in our own FIFO brings the I/O thread back
 * after its other work. */
void share_port_wake_self(struct share_port *port);

/* The guest has no receive buffers: senders should not wake us (frames wait in the rings). */
void share_port_pause_wakeups(struct share_port *port);

void share_port_visit_counters(const struct share_port *port, nic_counter_visitor *visit,
			       void *context);

#endif
