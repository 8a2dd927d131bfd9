/*
 * stack.c - the stack object: creation, interfaces, timers, counters, and the small helpers
 * (allocation, frames, transmit) every layer shares.
 *
 * All memory comes from the host's allocate()/free(), so the guest heap (or a test's counting
 * allocator) sees every byte, and net_stack_destroy() can give all of it back.
 */
#include "net_internal.h"

struct net_limits net_default_limits(void)
{
	struct net_limits limits = {
		.arp_cache_entries = 32,
		.arp_reachable_ns = 60ull * 1000000000,
		.arp_retry_ns = 1000000000,
		.arp_max_requests = 3,
		.arp_pending_frames = 64,
		.arp_pending_bytes = 128 * 1024,
		.reassembly_max_datagrams = 16,
		.reassembly_max_fragments = 64,
		.reassembly_max_bytes = 256 * 1024,
		.reassembly_timeout_ns = 30ull * 1000000000,
		.icmp_error_burst = 10,
		.icmp_errors_per_second = 100,
		.udp_receive_queue_datagrams = 64,
		.udp_receive_queue_bytes = 256 * 1024,
		.tcp_send_buffer_bytes = 256 * 1024,
		.tcp_receive_buffer_bytes = 256 * 1024,
		.tcp_max_connections = 1024,
		.tcp_msl_ns = 30ull * 1000000000,
		.tcp_minimum_rto_ns = 200000000,
		.tcp_delayed_ack_ns = 40000000,
		.tcp_keepalive_idle_ns = 7200ull * 1000000000,
		.tcp_keepalive_interval_ns = 75ull * 1000000000,
		.tcp_keepalive_probes = 9,
		.random_seed = 0,
	};
	return limits;
}

void *net_allocate(struct net_stack *stack, size_t size)
{
	return stack->operations.allocate(stack->operations.context, size);
}

void net_free(struct net_stack *stack, void *pointer)
{
	if (pointer)
		stack->operations.free(stack->operations.context, pointer);
}

uint64_t net_now(struct net_stack *stack)
{
	return stack->operations.now_ns(stack->operations.context);
}

struct net_frame *net_frame_allocate(struct net_stack *stack, size_t frame_length)
{
	struct net_frame *frame =
		net_allocate(stack, sizeof(*frame) + NET_TRANSMIT_HEADROOM + frame_length);

	if (!frame)
		return NULL;
	frame->next = NULL;
	frame->length = frame_length;
	memset(&frame->offload, 0, sizeof(frame->offload));
	return frame;
}

void net_frame_free(struct net_stack *stack, struct net_frame *frame)
{
	net_free(stack, frame);
}

void interface_transmit(struct net_interface *interface, struct net_frame *frame)
{
	int result = interface->config.transmit(interface, net_frame_data(frame), frame->length,
						&frame->offload);

	if (result < 0) {
		interface->counters.transmit_failed++;
	} else {
		interface->counters.frames_transmitted++;
		interface->counters.bytes_transmitted += frame->length;
	}
	net_frame_free(interface->stack, frame);
}

bool interface_is_our_address(const struct net_interface *interface, uint32_t address)
{
	return address == interface->config.ipv4_address;
}

bool interface_is_broadcast(const struct net_interface *interface, uint32_t address)
{
	uint32_t network = interface->config.ipv4_address & interface->netmask;

	return address == IPV4_BROADCAST || address == (network | ~interface->netmask);
}

struct net_stack *net_stack_create(const struct net_operations *operations,
				   const struct net_limits *limits)
{
	struct net_stack *stack;

	if (!operations || !operations->now_ns || !operations->allocate || !operations->free)
		return NULL;
	stack = operations->allocate(operations->context, sizeof(*stack));
	if (!stack)
		return NULL;
	memset(stack, 0, sizeof(*stack));
	stack->operations = *operations;
	stack->limits = limits ? *limits : net_default_limits();
	if (stack->limits.arp_cache_entries == 0)
		stack->limits.arp_cache_entries = 1;
	stack->next_ephemeral_port = 49152;
	stack->next_ipv4_identification = 1;
	stack->icmp_error_tokens = stack->limits.icmp_error_burst;
	stack->icmp_refill_ns = net_now(stack);
	if (stack->limits.tcp_send_buffer_bytes < 64)
		stack->limits.tcp_send_buffer_bytes = 64;
	if (stack->limits.tcp_receive_buffer_bytes < 64)
		stack->limits.tcp_receive_buffer_bytes = 64;
	/* Keep windows and sequence arithmetic far from 2^31. */
	if (stack->limits.tcp_send_buffer_bytes > (1u << 30))
		stack->limits.tcp_send_buffer_bytes = 1u << 30;
	if (stack->limits.tcp_receive_buffer_bytes > (1u << 30))
		stack->limits.tcp_receive_buffer_bytes = 1u << 30;
	if (operations->random) {
		stack->tcp.secret[0] = operations->random(operations->context);
		stack->tcp.secret[1] = operations->random(operations->context);
	} else {
		stack->tcp.secret[0] = stack->limits.random_seed ^ 0x736f6d6570736575ull;
		stack->tcp.secret[1] = net_now(stack) ^ 0x646f72616e646f6dull;
	}
	stack->tcp.next_ephemeral = (uint32_t)(stack->tcp.secret[0] ^ stack->tcp.secret[1]);
	return stack;
}

void net_stack_destroy(struct net_stack *stack)
{
	struct net_interface *interface, *next;

	if (!stack)
		return;
	tcp_destroy_all(stack);
	udp_destroy_all(stack);
	icmp_destroy_all(stack);
	reassembly_destroy(stack);
	loopback_destroy(stack);
	for (interface = stack->interfaces; interface; interface = next) {
		next = interface->next;
		arp_destroy(interface);
		net_free(stack, interface);
	}
	net_free(stack, stack);
}

struct net_interface *net_interface_add(struct net_stack *stack,
					const struct net_interface_config *config)
{
	struct net_interface *interface, **last;

	if (!stack || !config || !config->transmit || config->mtu < 68 ||
	    config->ipv4_prefix_length < 1 || config->ipv4_prefix_length > 30 ||
	    ethernet_is_multicast(config->mac))
		return NULL;
	interface = net_allocate(stack, sizeof(*interface));
	if (!interface)
		return NULL;
	memset(interface, 0, sizeof(*interface));
	interface->stack = stack;
	interface->config = *config;
	interface->netmask = ~0u << (32 - config->ipv4_prefix_length);
	interface->link_output = ethernet_link_output;
	if (arp_init(interface) < 0) {
		net_free(stack, interface);
		return NULL;
	}
	/* Append, so the first interface added is the first one routing tries. */
	for (last = &stack->interfaces; *last; last = &(*last)->next)
		;
	*last = interface;
	arp_announce(interface);
	return interface;
}

void *net_interface_driver_context(const struct net_interface *interface)
{
	return interface->config.driver_context;
}

void net_receive(struct net_interface *interface, const uint8_t *frame, size_t length,
		 const struct net_offload *offload)
{
	static const struct net_offload no_offload;

	interface->counters.frames_received++;
	interface->counters.bytes_received += length;
	ethernet_input(interface, frame, length, offload ? offload : &no_offload);
}

void net_poll_timers(struct net_stack *stack, uint64_t now_ns)
{
	struct net_interface *interface;

	for (interface = stack->interfaces; interface; interface = interface->next)
		arp_poll(interface, now_ns);
	reassembly_poll(stack, now_ns);
	loopback_poll(stack);
	tcp_poll(stack, now_ns);
}

uint64_t net_next_deadline(const struct net_stack *stack)
{
	uint64_t deadline = reassembly_next_deadline(stack);
	uint64_t tcp_deadline = tcp_next_deadline(stack);
	const struct net_interface *interface;

	if (stack->loopback_head)
		return 0; /* frames to deliver: now */
	if (tcp_deadline < deadline)
		deadline = tcp_deadline;

	for (interface = stack->interfaces; interface; interface = interface->next) {
		uint64_t arp_deadline = arp_next_deadline(interface);

		if (arp_deadline < deadline)
			deadline = arp_deadline;
	}
	return deadline;
}

const struct net_interface_counters *net_interface_counters(const struct net_interface *interface)
{
	return &interface->counters;
}

static const struct {
	const char *name;
	const char *description;
	size_t offset;
} counter_table[] = {
#define NET_COUNTER_ENTRY(field, text)                                                             \
	{ #field, text, offsetof(struct net_interface_counters, field) },
	NET_INTERFACE_COUNTERS(NET_COUNTER_ENTRY)
#undef NET_COUNTER_ENTRY
};

size_t net_counter_count(void)
{
	return sizeof(counter_table) / sizeof(counter_table[0]);
}

const char *net_counter_name(size_t index)
{
	return index < net_counter_count() ? counter_table[index].name : NULL;
}

const char *net_counter_description(size_t index)
{
	return index < net_counter_count() ? counter_table[index].description : NULL;
}

uint64_t net_counter_value(const struct net_interface_counters *counters, size_t index)
{
	uint64_t value;

	if (index >= net_counter_count())
		return 0;
	memcpy(&value, (const uint8_t *)counters + counter_table[index].offset, sizeof(value));
	return value;
}

const char *net_error_name(int error)
{
	switch (error) {
	case NET_ERROR_WOULD_BLOCK:
		return "would block";
	case NET_ERROR_NO_MEMORY:
		return "out of memory";
	case NET_ERROR_INVALID:
		return "invalid argument";
	case NET_ERROR_ADDRESS_IN_USE:
		return "address in use";
	case NET_ERROR_NO_ROUTE:
		return "no route to host";
	case NET_ERROR_MESSAGE_TOO_LONG:
		return "message too long";
	case NET_ERROR_NOT_CONNECTED:
		return "not connected";
	case NET_ERROR_CONNECTION_REFUSED:
		return "connection refused";
	case NET_ERROR_CONNECTION_RESET:
		return "connection reset by peer";
	case NET_ERROR_TIMED_OUT:
		return "connection timed out";
	case NET_ERROR_SHUT_DOWN:
		return "connection shut down";
	case NET_ERROR_IS_CONNECTED:
		return "already connected";
	default:
		return "unknown error";
	}
}
