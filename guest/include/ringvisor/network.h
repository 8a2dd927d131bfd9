/*
 * The guest's network: the stack of net/net.h over every NIC the launcher gave the guest, driven
 * by the event loop.
 *
 *	struct net_stack *stack = network_start();   // NULL (and a message) if there is no NIC
 *	struct net_udp_socket *socket = net_udp_open(stack);
 *	...
 *	event_loop_run();
 *
 * network_start() adds an event-loop poller that hands received frames to the stack, reclaims
 * transmit buffers, writes doorbells (at most one per queue per loop turn) and runs the stack's
 * timers. Before the loop sleeps, the poller asks each NIC to wake the guest when a frame
 * arrives, and looks once more: the guest sleeps in the wait hypercall only when nothing is
 * there.
 */
#ifndef GUEST_NETWORK_H
#define GUEST_NETWORK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <net.h>

/* Sets every NIC up and starts the stack; NULL, after saying why, if no NIC could be used. */
struct net_stack *network_start(void);

/* The stack network_start() made (NULL before). */
struct net_stack *network_stack(void);
/* Interfaces, one per NIC that has an IPv4 address, in boot-information order. */
unsigned network_interface_count(void);
struct net_interface *network_interface(unsigned index);
/* Interface `index`'s IPv4 address (host byte order), 0 if there is no such interface. */
uint32_t network_interface_address(unsigned index);

/*
 * True if every NIC has transmit buffers free for an IPv4 payload of this many bytes (UDP: the
 * datagram plus 8) in as many fragments as its MTU needs, plus one frame for ARP. If not, the
 * network asks for a wakeup when buffers come back, and the caller should keep its datagram and
 * try again on a later loop turn: sending now would drop fragments.
 */
bool network_transmit_ready(size_t ipv4_payload_bytes);

/* Writes every transmit doorbell that is waiting, now. */
void network_flush(void);
/* True when every frame given to a NIC has been sent and no frame waits for an address to
 * resolve (no stack deadline within an ARP retry): safe to exit without losing a last reply. */
bool network_idle(void);

/* Prints every NIC's nonzero counters, driver's and stack's, as `nic NAME counter VALUE`. */
void network_print_counters(void);

#endif
