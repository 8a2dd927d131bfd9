/*
 * icmp.c - ICMP for IPv4 (RFC 792, RFC 1122 3.2.2): answer echo requests, send destination
 * unreachable errors for the layers above.
 *
 * Echo replies copy the request's identifier, sequence and data; a large (reassembled) request
 * gets a reply that is fragmented the same way. Requests to a broadcast address are ignored, as
 * Linux does by default, so the guest cannot be used to amplify a smurf attack.
 *
 * Pings (net_ping_*) send echo requests and take back the replies that carry their identifier;
 * a reply is checked like any ICMP message (length, checksum) and then queued on its ping with its
 * source, sequence, arrival time and data. Replies nobody asked for are counted and dropped.
 *
 * Errors quote the offending IP header and the first 8 bytes of its payload. They are never sent
 * about a datagram to a broadcast address, and they pass a token bucket (icmp_error_burst,
 * icmp_errors_per_second) so a flood to closed ports cannot make us flood back. Echo replies are
 * not rate-limited (Linux does not limit them by default either).
 */
#include "byteorder.h"
#include "checksum.h"
#include "net_internal.h"

#define ICMP_ECHO_REPLY 0
#define ICMP_DESTINATION_UNREACHABLE 3
#define ICMP_ECHO_REQUEST 8
#define ICMP_ERROR_QUOTED_PAYLOAD 8

static const struct ipv4_checksum_request icmp_checksum = { .requested = true, .offset = 2 };

static void send_echo_reply(const struct ipv4_packet *request)
{
	struct net_interface *interface = request->interface;
	struct net_stack *stack = interface->stack;
	struct ipv4_route route;
	uint8_t header[ICMP_HEADER_SIZE];

	if (request->to_broadcast) {
		interface->counters.icmp_broadcast_ignored++;
		return;
	}
	if (ipv4_route(stack, request->source, &route) < 0)
		return;
	header[0] = ICMP_ECHO_REPLY;
	header[1] = 0;
	store_be16(header + 2, 0); /* no pseudo-header: the partial sum to start from is 0 */
	memcpy(header + 4, request->payload + 4, 4);
	if (ipv4_send(stack, &route, IPV4_PROTOCOL_ICMP, header, sizeof(header),
		      request->payload + ICMP_HEADER_SIZE,
		      request->payload_length - ICMP_HEADER_SIZE, &icmp_checksum) == 0)
		route.interface->counters.icmp_echo_replies_sent++;
}

static struct net_ping *find_ping(struct net_stack *stack, uint16_t identifier)
{
	struct net_ping *ping;

	for (ping = stack->pings; ping; ping = ping->next) {
		if (ping->identifier == identifier)
			return ping;
	}
	return NULL;
}

/* Queue a checked echo reply on the ping whose identifier it carries. */
static void echo_reply_input(const struct ipv4_packet *packet)
{
	struct net_interface_counters *counters = &packet->interface->counters;
	struct net_stack *stack = packet->interface->stack;
	struct net_ping *ping = find_ping(stack, load_be16(packet->payload + 4));
	size_t data_length = packet->payload_length - ICMP_HEADER_SIZE;
	struct ping_reply *entry;

	if (!ping) {
		counters->icmp_ignored++;
		return;
	}
	/* The same bounds as a UDP socket's queue: a flood of replies cannot eat the heap. */
	if (ping->queued_replies >= stack->limits.udp_receive_queue_datagrams ||
	    ping->queued_bytes + data_length > stack->limits.udp_receive_queue_bytes) {
		counters->icmp_ping_queue_full++;
		return;
	}
	entry = net_allocate(stack, sizeof(*entry) + data_length);
	if (!entry) {
		counters->no_memory++;
		return;
	}
	entry->next = NULL;
	entry->reply.source = packet->source;
	entry->reply.sequence = load_be16(packet->payload + 6);
	entry->reply.length = data_length;
	entry->reply.received_ns = net_now(stack);
	memcpy(entry->data, packet->payload + ICMP_HEADER_SIZE, data_length);
	if (ping->queue_tail)
		ping->queue_tail->next = entry;
	else
		ping->queue_head = entry;
	ping->queue_tail = entry;
	ping->queued_replies++;
	ping->queued_bytes += data_length;
	counters->icmp_echo_replies_received++;
	if (ping->ready)
		ping->ready(ping, ping->ready_context);
}

void icmp_input(const struct ipv4_packet *packet)
{
	struct net_interface_counters *counters = &packet->interface->counters;

	if (packet->payload_length < ICMP_HEADER_SIZE) {
		counters->icmp_truncated++;
		return;
	}
	if (!(packet->offload->flags &
	      (RINGVISOR_NET_HEADER_DATA_VALID | RINGVISOR_NET_HEADER_NEEDS_CSUM)) &&
	    checksum_add(0, packet->payload, packet->payload_length) != 0xffff) {
		counters->icmp_bad_checksum++;
		return;
	}
	if (packet->payload[0] == ICMP_ECHO_REQUEST) {
		counters->icmp_echo_requests++;
		send_echo_reply(packet);
		return;
	}
	if (packet->payload[0] == ICMP_ECHO_REPLY && packet->payload[1] == 0) {
		echo_reply_input(packet);
		return;
	}
	/* Errors would go to sockets we do not tell about them yet (TCP will want them). */
	counters->icmp_ignored++;
}

/* Take a token from the error bucket, refilling it for the time that passed. */
static bool error_allowed(struct net_stack *stack)
{
	const struct net_limits *limits = &stack->limits;
	uint64_t now_ns = net_now(stack);

	if (limits->icmp_errors_per_second != 0 && now_ns > stack->icmp_refill_ns) {
		uint64_t interval = 1000000000ull / limits->icmp_errors_per_second;
		uint64_t earned = (now_ns - stack->icmp_refill_ns) / (interval ? interval : 1);

		if (earned >= limits->icmp_error_burst ||
		    stack->icmp_error_tokens + earned >= limits->icmp_error_burst) {
			stack->icmp_error_tokens = limits->icmp_error_burst;
			stack->icmp_refill_ns = now_ns;
		} else {
			stack->icmp_error_tokens += (uint32_t)earned;
			stack->icmp_refill_ns += earned * interval;
		}
	}
	if (stack->icmp_error_tokens == 0)
		return false;
	stack->icmp_error_tokens--;
	return true;
}

void icmp_send_unreachable(const struct ipv4_packet *packet, uint8_t code)
{
	struct net_interface *interface = packet->interface;
	struct net_stack *stack = interface->stack;
	struct ipv4_route route;
	uint8_t header[ICMP_HEADER_SIZE] = { ICMP_DESTINATION_UNREACHABLE, code };
	size_t quoted = packet->header_length;

	/* RFC 1122 3.2.2: no errors about broadcasts or from a non-unicast source. */
	if (packet->to_broadcast || packet->source == 0)
		return;
	if (ipv4_route(stack, packet->source, &route) < 0)
		return;
	if (!error_allowed(stack)) {
		interface->counters.icmp_errors_rate_limited++;
		return;
	}
	/* The payload follows the header in memory, for received and reassembled packets alike. */
	quoted += packet->payload_length < ICMP_ERROR_QUOTED_PAYLOAD ? packet->payload_length
								     : ICMP_ERROR_QUOTED_PAYLOAD;
	if (ipv4_send(stack, &route, IPV4_PROTOCOL_ICMP, header, sizeof(header), packet->header,
		      quoted, &icmp_checksum) == 0)
		route.interface->counters.icmp_errors_sent++;
}

struct net_ping *net_ping_open(struct net_stack *stack, uint16_t identifier)
{
	struct net_ping *ping;

	/* Two pings with one identifier could not tell their replies apart. */
	if (find_ping(stack, identifier))
		return NULL;
	ping = net_allocate(stack, sizeof(*ping));
	if (!ping)
		return NULL;
	memset(ping, 0, sizeof(*ping));
	ping->stack = stack;
	ping->identifier = identifier;
	ping->next = stack->pings;
	stack->pings = ping;
	return ping;
}

uint16_t net_ping_identifier(const struct net_ping *ping)
{
	return ping->identifier;
}

int net_ping_send(struct net_ping *ping, uint32_t address, uint16_t sequence, const void *data,
		  size_t length)
{
	struct net_stack *stack = ping->stack;
	uint8_t header[ICMP_HEADER_SIZE];
	struct ipv4_route route;
	int result;

	if (length > NET_PING_MAX_DATA)
		return NET_ERROR_MESSAGE_TOO_LONG;
	if (!data && length != 0)
		return NET_ERROR_INVALID;
	result = ipv4_route(stack, address, &route);
	if (result < 0)
		return result;
	header[0] = ICMP_ECHO_REQUEST;
	header[1] = 0;
	store_be16(header + 2, 0); /* no pseudo-header: the partial sum to start from is 0 */
	store_be16(header + 4, ping->identifier);
	store_be16(header + 6, sequence);
	result = ipv4_send(stack, &route, IPV4_PROTOCOL_ICMP, header, sizeof(header), data, length,
			   &icmp_checksum);
	if (result < 0)
		return result;
	route.interface->counters.icmp_echo_requests_sent++;
	return (int)length;
}

int net_ping_receive(struct net_ping *ping, void *buffer, size_t capacity,
		     struct net_ping_reply *reply)
{
	struct ping_reply *entry = ping->queue_head;
	int length;

	if (!entry)
		return NET_ERROR_WOULD_BLOCK;
	if (!buffer && capacity != 0)
		return NET_ERROR_INVALID;
	ping->queue_head = entry->next;
	if (!ping->queue_head)
		ping->queue_tail = NULL;
	ping->queued_replies--;
	ping->queued_bytes -= entry->reply.length;
	if (capacity)
		memcpy(buffer, entry->data,
		       entry->reply.length < capacity ? entry->reply.length : capacity);
	if (reply)
		*reply = entry->reply;
	length = (int)entry->reply.length;
	net_free(ping->stack, entry);
	return length;
}

bool net_ping_readable(const struct net_ping *ping)
{
	return ping->queue_head != NULL;
}

void net_ping_set_ready_callback(struct net_ping *ping, net_ping_ready_function callback,
				 void *context)
{
	ping->ready = callback;
	ping->ready_context = context;
}

void net_ping_close(struct net_ping *ping)
{
	struct net_stack *stack = ping->stack;
	struct net_ping **link;
	struct ping_reply *entry, *next;

	for (link = &stack->pings; *link; link = &(*link)->next) {
		if (*link == ping) {
			*link = ping->next;
			break;
		}
	}
	for (entry = ping->queue_head; entry; entry = next) {
		next = entry->next;
		net_free(stack, entry);
	}
	net_free(stack, ping);
}

void icmp_destroy_all(struct net_stack *stack)
{
	while (stack->pings)
		net_ping_close(stack->pings);
}
