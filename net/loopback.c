/*
 * loopback.c - the loopback interface, 127.0.0.1/8: what the stack sends to itself.
 *
 * ipv4_route() sends datagrams for 127/8 and for the stack's own addresses here. link_output
 * does not transmit: it queues the frame on the stack, and net_poll_timers() hands the frames
 * queued before it started to ipv4_input() (replies they cause wait for the next poll). So a
 * send never re-enters the stack from inside itself, and net_next_deadline() is "now" while
 * frames wait. The frames keep their offload metadata: with the default features (checksum and
 * TSO "offloaded") TCP sends 64 KiB segments that arrive as NEEDS_CSUM, exactly as GRO frames
 * from a host would, and nobody computes a checksum.
 *
 * The loopback interface is not on the stack's list of Ethernet interfaces (no ARP, no
 * gratuitous announcement, no routing by subnet); stack->loopback points to it.
 */
#include "net_internal.h"

static int no_transmit(struct net_interface *interface, uint8_t *frame, size_t length,
		       const struct net_offload *offload)
{
	(void)interface;
	(void)frame;
	(void)length;
	(void)offload;
	return 0;
}

static void loopback_link_output(struct net_interface *interface, uint32_t next_hop, bool broadcast,
				 struct net_frame *frame)
{
	struct net_stack *stack = interface->stack;
	uint8_t *data = net_frame_data(frame);

	(void)next_hop;
	(void)broadcast;
	ethernet_fill_header(data, interface->config.mac, interface->config.mac,
			     RINGVISOR_ETHERTYPE_IPV4);
	/* The tap (a capture, or a test's lossy link) may refuse the frame. */
	if (interface->config.transmit(interface, data, frame->length, &frame->offload) < 0) {
		interface->counters.transmit_failed++;
		net_frame_free(stack, frame);
		return;
	}
	interface->counters.frames_transmitted++;
	interface->counters.bytes_transmitted += frame->length;
	frame->next = NULL;
	if (stack->loopback_tail)
		stack->loopback_tail->next = frame;
	else
		stack->loopback_head = frame;
	stack->loopback_tail = frame;
}

struct net_interface *net_loopback_add(struct net_stack *stack,
				       const struct net_interface_config *config)
{
	struct net_interface *interface;

	if (!stack || stack->loopback)
		return NULL;
	interface = net_allocate(stack, sizeof(*interface));
	if (!interface)
		return NULL;
	memset(interface, 0, sizeof(*interface));
	interface->stack = stack;
	interface->loopback = true;
	interface->config.ipv4_address = NET_IPV4_ADDRESS(127, 0, 0, 1);
	interface->config.ipv4_prefix_length = 8;
	interface->config.mtu = 65535;
	interface->config.features = NET_INTERFACE_TX_CHECKSUM | NET_INTERFACE_TX_TSO4;
	interface->config.transmit = no_transmit;
	if (config) {
		if (config->mtu != 0) {
			if (config->mtu < 68) {
				net_free(stack, interface);
				return NULL;
			}
			interface->config.mtu = config->mtu;
		}
		interface->config.features = config->features;
		if (config->transmit)
			interface->config.transmit = config->transmit;
		interface->config.driver_context = config->driver_context;
	}
	interface->netmask = 0xff000000u;
	interface->link_output = loopback_link_output;
	stack->loopback = interface;
	return interface;
}

void loopback_poll(struct net_stack *stack)
{
	struct net_frame *frame = stack->loopback_head, *next;
	struct net_interface *interface = stack->loopback;

	stack->loopback_head = stack->loopback_tail = NULL;
	for (; frame; frame = next) {
		struct net_offload offload = frame->offload;

		next = frame->next;
		/* What was "checksum to finish" on the way out is "nothing to verify" coming in. */
		interface->counters.frames_received++;
		interface->counters.bytes_received += frame->length;
		ipv4_input(interface, net_frame_data(frame) + RINGVISOR_ETHERNET_HEADER_BYTES,
			   frame->length - RINGVISOR_ETHERNET_HEADER_BYTES, &offload);
		net_frame_free(stack, frame);
	}
}

void loopback_destroy(struct net_stack *stack)
{
	struct net_frame *frame, *next;

	for (frame = stack->loopback_head; frame; frame = next) {
		next = frame->next;
		net_frame_free(stack, frame);
	}
	stack->loopback_head = stack->loopback_tail = NULL;
	net_free(stack, stack->loopback);
	stack->loopback = NULL;
}
