/*
 * icmp.c - ICMP for IPv4 (RFC 792, RFC 1122 3.2.2): answer echo requests, send destination
 * unreachable errors for the layers above.
 *
 * Echo replies copy the request's identifier, sequence and data; a large (reassembled) request
 * gets a reply that is fragmented the same way. Requests to a broadcast address are ignored, as
 * Linux does by default, so the guest cannot be used to amplify a smurf attack.
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

void icmp_input(const struct ipv4_packet *packet)
{
	struct net_interface_counters *counters = &packet->interface->counters;

	if (packet->payload_length < ICMP_HEADER_SIZE) {
		counters->icmp_truncated++;
		return;
	}
	if (!(packet->offload->flags & (NET_OFFLOAD_DATA_VALID | NET_OFFLOAD_NEEDS_CSUM)) &&
	    checksum_add(0, packet->payload, packet->payload_length) != 0xffff) {
		counters->icmp_bad_checksum++;
		return;
	}
	if (packet->payload[0] == ICMP_ECHO_REQUEST) {
		counters->icmp_echo_requests++;
		send_echo_reply(packet);
		return;
	}
	/* Echo replies and errors would go to sockets we do not have yet (TCP will want them). */
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
