/*
 * udp.c - UDP (RFC 768) and its sockets.
 *
 * Received datagrams are checked (length field within the IP payload, checksum unless it is 0 or
 * the NIC vouched for it) and queued on the socket bound to their port, preferring a socket bound
 * to the exact destination address over one bound to any address. Each socket queue is bounded
 * (udp_receive_queue_datagrams / _bytes); a datagram for a port nobody listens on is answered
 * with an ICMP port unreachable, which icmp.c rate-limits.
 *
 * Sending is synchronous: net_udp_send_to() builds the header with the pseudo-header partial sum
 * in the checksum field and ipv4_send() either marks the frame NEEDS_CSUM or finishes the sum in
 * software. Ephemeral ports are handed out in order from 49152 (RFC 6056 randomisation needs a
 * random source the operations do not give yet).
 */
#include "byteorder.h"
#include "checksum.h"
#include "net_internal.h"

#define EPHEMERAL_FIRST 49152u
#define EPHEMERAL_COUNT 16384u

static struct net_udp_socket *find_socket(struct net_stack *stack, uint32_t address, uint16_t port)
{
	struct net_udp_socket *socket, *wildcard = NULL;

	for (socket = stack->udp_sockets; socket; socket = socket->next) {
		if (!socket->bound || socket->local_port != port)
			continue;
		if (socket->local_address == address)
			return socket;
		if (socket->local_address == 0)
			wildcard = socket;
	}
	return wildcard;
}

void udp_input(const struct ipv4_packet *packet)
{
	struct net_interface_counters *counters = &packet->interface->counters;
	struct net_stack *stack = packet->interface->stack;
	const uint8_t *header = packet->payload;
	struct net_udp_socket *socket;
	struct udp_datagram *datagram;
	size_t length, data_length;

	if (packet->payload_length < UDP_HEADER_SIZE) {
		counters->udp_truncated++;
		return;
	}
	length = load_be16(header + 4);
	if (length < UDP_HEADER_SIZE || length > packet->payload_length) {
		counters->udp_bad_length++;
		return;
	}
	/* A zero checksum means the sender computed none (allowed over IPv4). */
	if (load_be16(header + 6) != 0 &&
	    !(packet->offload->flags &
	      (RINGVISOR_NET_HEADER_DATA_VALID | RINGVISOR_NET_HEADER_NEEDS_CSUM))) {
		uint16_t sum = checksum_pseudo_header(packet->source, packet->destination,
						      IPV4_PROTOCOL_UDP, (uint16_t)length);

		if (checksum_add(sum, header, length) != 0xffff) {
			counters->udp_bad_checksum++;
			return;
		}
	}

	socket = find_socket(stack, packet->to_broadcast ? 0 : packet->destination,
			     load_be16(header + 2));
	if (!socket) {
		counters->udp_no_socket++;
		icmp_send_unreachable(packet, ICMP_UNREACHABLE_PORT);
		return;
	}
	data_length = length - UDP_HEADER_SIZE;
	if (socket->queued_datagrams >= stack->limits.udp_receive_queue_datagrams ||
	    socket->queued_bytes + data_length > stack->limits.udp_receive_queue_bytes) {
		counters->udp_receive_queue_full++;
		return;
	}
	datagram = net_allocate(stack, sizeof(*datagram) + data_length);
	if (!datagram) {
		counters->no_memory++;
		return;
	}
	datagram->next = NULL;
	datagram->from.address = packet->source;
	datagram->from.port = load_be16(header);
	datagram->length = data_length;
	memcpy(datagram->data, header + UDP_HEADER_SIZE, data_length);
	if (socket->queue_tail)
		socket->queue_tail->next = datagram;
	else
		socket->queue_head = datagram;
	socket->queue_tail = datagram;
	socket->queued_datagrams++;
	socket->queued_bytes += data_length;
	counters->udp_received++;
	if (socket->ready)
		socket->ready(socket, socket->ready_context);
}

struct net_udp_socket *net_udp_open(struct net_stack *stack)
{
	struct net_udp_socket *socket = net_allocate(stack, sizeof(*socket));

	if (!socket)
		return NULL;
	memset(socket, 0, sizeof(*socket));
	socket->stack = stack;
	socket->next = stack->udp_sockets;
	stack->udp_sockets = socket;
	return socket;
}

static bool port_in_use(struct net_stack *stack, uint32_t address, uint16_t port)
{
	struct net_udp_socket *socket;

	for (socket = stack->udp_sockets; socket; socket = socket->next) {
		if (socket->bound && socket->local_port == port &&
		    (socket->local_address == 0 || address == 0 ||
		     socket->local_address == address))
			return true;
	}
	return false;
}

int net_udp_bind(struct net_udp_socket *socket, uint32_t address, uint16_t port)
{
	struct net_stack *stack = socket->stack;
	uint32_t tries;

	if (socket->bound)
		return NET_ERROR_INVALID;
	if (address != 0 && !ipv4_is_local_address(stack, address))
		return NET_ERROR_INVALID;
	if (port == 0) {
		for (tries = 0; tries < EPHEMERAL_COUNT; tries++) {
			uint16_t candidate = stack->next_ephemeral_port;

			stack->next_ephemeral_port =
				(uint16_t)(EPHEMERAL_FIRST +
					   (candidate + 1u - EPHEMERAL_FIRST) % EPHEMERAL_COUNT);
			if (!port_in_use(stack, address, candidate)) {
				port = candidate;
				break;
			}
		}
		if (port == 0)
			return NET_ERROR_ADDRESS_IN_USE;
	} else if (port_in_use(stack, address, port)) {
		return NET_ERROR_ADDRESS_IN_USE;
	}
	socket->bound = true;
	socket->local_address = address;
	socket->local_port = port;
	return 0;
}

int net_udp_send_to(struct net_udp_socket *socket, uint32_t address, uint16_t port,
		    const void *data, size_t length)
{
	static const struct ipv4_checksum_request udp_checksum = { .requested = true, .offset = 6 };
	struct net_stack *stack = socket->stack;
	uint8_t header[UDP_HEADER_SIZE];
	struct ipv4_route route;
	uint16_t udp_length;
	int result;

	if (length > NET_UDP_MAX_PAYLOAD)
		return NET_ERROR_MESSAGE_TOO_LONG;
	if (port == 0 || (!data && length != 0))
		return NET_ERROR_INVALID;
	if (!socket->bound) {
		result = net_udp_bind(socket, 0, 0);
		if (result < 0)
			return result;
	}
	result = ipv4_route(stack, address, &route);
	if (result < 0)
		return result;
	if (socket->local_address != 0)
		route.source = socket->local_address;

	udp_length = (uint16_t)(UDP_HEADER_SIZE + length);
	store_be16(header, socket->local_port);
	store_be16(header + 2, port);
	store_be16(header + 4, udp_length);
	store_be16(header + 6,
		   checksum_pseudo_header(route.source, address, IPV4_PROTOCOL_UDP, udp_length));
	result = ipv4_send(stack, &route, IPV4_PROTOCOL_UDP, header, sizeof(header), data, length,
			   &udp_checksum);
	if (result < 0)
		return result;
	route.interface->counters.udp_sent++;
	return (int)length;
}

int net_udp_receive_from(struct net_udp_socket *socket, void *buffer, size_t capacity,
			 struct net_udp_endpoint *from)
{
	struct udp_datagram *datagram = socket->queue_head;
	int length;

	if (!datagram)
		return NET_ERROR_WOULD_BLOCK;
	if (!buffer && capacity != 0)
		return NET_ERROR_INVALID;
	socket->queue_head = datagram->next;
	if (!socket->queue_head)
		socket->queue_tail = NULL;
	socket->queued_datagrams--;
	socket->queued_bytes -= datagram->length;
	if (capacity)
		memcpy(buffer, datagram->data,
		       datagram->length < capacity ? datagram->length : capacity);
	if (from)
		*from = datagram->from;
	length = (int)datagram->length;
	net_free(socket->stack, datagram);
	return length;
}

bool net_udp_readable(const struct net_udp_socket *socket)
{
	return socket->queue_head != NULL;
}

void net_udp_set_ready_callback(struct net_udp_socket *socket, net_udp_ready_function callback,
				void *context)
{
	socket->ready = callback;
	socket->ready_context = context;
}

void net_udp_close(struct net_udp_socket *socket)
{
	struct net_stack *stack = socket->stack;
	struct net_udp_socket **link;
	struct udp_datagram *datagram, *next;

	for (link = &stack->udp_sockets; *link; link = &(*link)->next) {
		if (*link == socket) {
			*link = socket->next;
			break;
		}
	}
	for (datagram = socket->queue_head; datagram; datagram = next) {
		next = datagram->next;
		net_free(stack, datagram);
	}
	net_free(stack, socket);
}

void udp_destroy_all(struct net_stack *stack)
{
	while (stack->udp_sockets)
		net_udp_close(stack->udp_sockets);
}
