/*
 * tcp_output.c - building TCP segments and deciding what to send.
 *
 * Every segment is built in place: one frame is allocated with room for the Ethernet, IPv4 and
 * TCP headers and the payload is copied straight from the send ring into it, then
 * ipv4_send_frame() adds the IP header and finishes the checksum or leaves it to the NIC (the
 * checksum field holds the pseudo-header sum, as NEEDS_CSUM wants). On an interface with TSO a
 * segment carries up to tso_max bytes (a multiple of the MSS) and the NIC cuts it.
 *
 * tcp_output() sends as much as min(peer window, congestion window) allows, in MSS (or TSO)
 * pieces, with Nagle's rule (a small segment waits while data is in flight, unless no_delay)
 * and sender-side silly-window avoidance (a window-limited runt waits unless it is at least half
 * the largest window the peer offered); the FIN rides on the last data segment. The receive
 * window we advertise is the free space of the receive ring, never moved left, and moved right
 * only by a useful amount (RFC 1122 4.2.3.3 receiver-side SWS avoidance).
 */
#include "byteorder.h"
#include "checksum.h"
#include "tcp_internal.h"

struct segment_plan {
	uint32_t sequence, acknowledgment;
	uint8_t flags;
	uint16_t window;
	bool syn_options;
	bool sack_permitted_option; /* in a SYN */
	uint32_t sack_count;
	uint32_t sack_blocks[TCP_SACK_MAX_BLOCKS][2];
	const struct tcp_ring *ring; /* payload source, or NULL */
	uint32_t payload_offset, payload_length;
	uint16_t gso_size;
};

/* Build and send one segment. Returns 0 or a negative net_error. */
static int send_raw(struct net_stack *stack, const struct ipv4_route *route, uint16_t source_port,
		    uint16_t destination_port, uint16_t mss, uint8_t window_shift,
		    bool window_scale_option, const struct segment_plan *plan)
{
	uint8_t options[TCP_MAX_HEADER_SIZE - TCP_HEADER_SIZE];
	size_t options_length = 0, header_length, frame_length;
	uint32_t i;
	struct ipv4_segment_offload segment = { .checksum_offset = 16 };
	struct net_frame *frame;
	uint8_t *tcp;

	/* Each option padded with leading NOPs to a 4-byte boundary, as Linux lays them out. */
	if (plan->syn_options) {
		options[0] = TCP_OPTION_MSS;
		options[1] = 4;
		store_be16(options + 2, mss);
		options_length = 4;
		if (plan->sack_permitted_option) {
			options[options_length++] = TCP_OPTION_NOP;
			options[options_length++] = TCP_OPTION_NOP;
			options[options_length++] = TCP_OPTION_SACK_PERMITTED;
			options[options_length++] = 2;
		}
		if (window_scale_option) {
			options[options_length++] = TCP_OPTION_NOP;
			options[options_length++] = TCP_OPTION_WINDOW_SCALE;
			options[options_length++] = 3;
			options[options_length++] = window_shift;
		}
	}
	if (plan->sack_count) {
		options[options_length++] = TCP_OPTION_NOP;
		options[options_length++] = TCP_OPTION_NOP;
		options[options_length++] = TCP_OPTION_SACK;
		options[options_length++] = (uint8_t)(2 + 8 * plan->sack_count);
		for (i = 0; i < plan->sack_count; i++) {
			store_be32(options + options_length, plan->sack_blocks[i][0]);
			store_be32(options + options_length + 4, plan->sack_blocks[i][1]);
			options_length += 8;
		}
	}
	header_length = TCP_HEADER_SIZE + options_length;
	frame_length = RINGVISOR_ETHERNET_HEADER_BYTES + IPV4_HEADER_SIZE + header_length +
		       plan->payload_length;
	frame = net_frame_allocate(stack, frame_length);
	if (!frame) {
		route->interface->counters.no_memory++;
		return NET_ERROR_NO_MEMORY;
	}
	tcp = net_frame_data(frame) + RINGVISOR_ETHERNET_HEADER_BYTES + IPV4_HEADER_SIZE;
	store_be16(tcp, source_port);
	store_be16(tcp + 2, destination_port);
	store_be32(tcp + 4, plan->sequence);
	store_be32(tcp + 8, (plan->flags & TCP_FLAG_ACK) ? plan->acknowledgment : 0);
	tcp[12] = (uint8_t)(header_length / 4) << 4;
	tcp[13] = plan->flags;
	store_be16(tcp + 14, plan->window);
	store_be16(tcp + 16,
		   checksum_pseudo_header(route->source, route->destination, IPV4_PROTOCOL_TCP,
					  (uint16_t)(header_length + plan->payload_length)));
	store_be16(tcp + 18, 0);
	memcpy(tcp + TCP_HEADER_SIZE, options, options_length);
	if (plan->payload_length)
		tcp_ring_copy_out(plan->ring, plan->payload_offset, tcp + header_length,
				  plan->payload_length);
	segment.transport_header_length = (uint16_t)header_length;
	segment.gso_size = plan->gso_size;
	route->interface->counters.tcp_segments_sent++;
	if (plan->flags & TCP_FLAG_RST)
		route->interface->counters.tcp_resets_sent++;
	return ipv4_send_frame(stack, route, IPV4_PROTOCOL_TCP, frame, &segment);
}

static uint32_t receive_space(const struct net_tcp_socket *socket)
{
	if (!socket->receive_buffer.data)
		return socket->state == NET_TCP_TIME_WAIT || socket->state == NET_TCP_CLOSED
			       ? 0
			       : socket->receive_buffer_size;
	return socket->receive_buffer.size - socket->receive_buffer.used;
}

uint32_t tcp_receive_window(struct net_tcp_socket *socket)
{
	uint32_t space = receive_space(socket), current = 0, threshold, window;
	uint32_t size = socket->receive_buffer_size;

	if (seq_gt(socket->receive_advertised_edge, socket->receive_next))
		current = socket->receive_advertised_edge - socket->receive_next;
	threshold = size / 2 < socket->receive_mss ? size / 2 : socket->receive_mss;
	window = space;
	if (space < current)
		window = current; /* never move the right edge back */
	else if (space - current < threshold && current > 0)
		window = current; /* not worth moving it: silly window avoidance */
	return window;
}

/* The window field for a segment, remembering the edge it advertises. */
static uint16_t window_field(struct net_tcp_socket *socket, bool syn)
{
	uint32_t window = tcp_receive_window(socket), value, edge;

	if (syn) {
		value = window > 65535 ? 65535 : window;
		edge = socket->receive_next + value;
	} else {
		value = window >> socket->receive_window_shift;
		if (value > 65535)
			value = 65535;
		edge = socket->receive_next + (value << socket->receive_window_shift);
	}
	if (seq_gt(edge, socket->receive_advertised_edge))
		socket->receive_advertised_edge = edge;
	return (uint16_t)value;
}

/* Payload per segment now: the MSS less the SACK option our segments carry while we hold
 * out-of-order data (RFC 6691: the MSS counts no TCP options, the sender subtracts them). */
static uint32_t current_mss(const struct net_tcp_socket *socket)
{
	uint32_t blocks = socket->out_of_order_count;

	if (!socket->sack_permitted || blocks == 0)
		return socket->send_mss;
	if (blocks > TCP_SACK_MAX_BLOCKS)
		blocks = TCP_SACK_MAX_BLOCKS;
	return socket->send_mss - (4 + 8 * blocks);
}

/* Send a segment of this connection; an ACK in it answers everything received so far (with
 * SACK blocks for the out-of-order data, when SACK was negotiated). */
static int send_segment(struct net_tcp_socket *socket, uint32_t sequence, uint8_t flags,
			uint32_t payload_offset, uint32_t payload_length)
{
	struct segment_plan plan = {
		.sequence = sequence,
		.acknowledgment = socket->receive_next,
		.flags = flags,
		.syn_options = (flags & TCP_FLAG_SYN) != 0,
		.ring = &socket->send_buffer,
		.payload_offset = payload_offset,
		.payload_length = payload_length,
	};
	bool scale_option = socket->state == NET_TCP_SYN_SENT || socket->window_scaling;
	uint32_t mss = current_mss(socket);
	int result;

	plan.window = window_field(socket, (flags & TCP_FLAG_SYN) != 0);
	if (flags & TCP_FLAG_SYN)
		plan.sack_permitted_option =
			socket->state == NET_TCP_SYN_SENT || socket->sack_permitted;
	else if (flags & TCP_FLAG_ACK)
		plan.sack_count = tcp_sack_blocks(socket, plan.sack_blocks);
	if (payload_length > mss)
		plan.gso_size = (uint16_t)mss;
	result = send_raw(socket->stack, &socket->route, socket->local_port, socket->remote_port,
			  socket->receive_mss, socket->receive_window_shift, scale_option, &plan);
	socket->statistics.segments_sent++;
	if (flags & TCP_FLAG_ACK) {
		socket->ack_now = false;
		socket->unacknowledged_bytes = 0;
		tcp_timer_stop(socket, TCP_TIMER_DELAYED_ACK);
	}
	return result;
}

void tcp_send_syn(struct net_tcp_socket *socket)
{
	uint8_t flags = TCP_FLAG_SYN;

	if (socket->state == NET_TCP_SYN_RECEIVED)
		flags |= TCP_FLAG_ACK;
	if (socket->send_max == socket->initial_send_sequence) {
		/* The first transmission is timed; a retransmitted SYN is not (Karn). */
		socket->rtt_timing = true;
		socket->rtt_sequence = socket->initial_send_sequence;
		socket->rtt_start_ns = net_now(socket->stack);
	} else {
		socket->rtt_timing = false;
		socket->statistics.retransmits++;
		socket->route.interface->counters.tcp_retransmitted++;
	}
	send_segment(socket, socket->initial_send_sequence, flags, 0, 0);
	socket->send_next = socket->initial_send_sequence + 1;
	socket->send_max = socket->send_next;
	if (socket->timers[TCP_TIMER_RETRANSMIT] == NET_NO_DEADLINE)
		tcp_timer_set(socket, TCP_TIMER_RETRANSMIT, socket->rto_ns);
}

void tcp_send_ack(struct net_tcp_socket *socket)
{
	send_segment(socket, socket->send_next, TCP_FLAG_ACK, 0, 0);
}

void tcp_send_window_probe(struct net_tcp_socket *socket)
{
	/* An old sequence number: the peer must answer with an ACK carrying its window. */
	send_segment(socket, socket->send_unacknowledged - 1, TCP_FLAG_ACK, 0, 0);
}

void tcp_send_reset_for(struct net_tcp_socket *socket)
{
	struct segment_plan plan = {
		.sequence = socket->send_next,
		.acknowledgment = socket->receive_next,
		.flags = TCP_FLAG_RST | TCP_FLAG_ACK,
	};

	if (socket->state == NET_TCP_SYN_SENT)
		return; /* nothing synchronised to reset */
	send_raw(socket->stack, &socket->route, socket->local_port, socket->remote_port, 0, 0,
		 false, &plan);
	socket->statistics.segments_sent++;
}

void tcp_send_reset_reply(const struct tcp_segment *segment)
{
	const struct ipv4_packet *packet = segment->packet;
	struct net_stack *stack = packet->interface->stack;
	struct segment_plan plan = { 0 };
	struct ipv4_route route;

	if (segment->flags & TCP_FLAG_RST)
		return;
	if (ipv4_route(stack, packet->source, &route) < 0 || route.broadcast)
		return;
	route.source = packet->destination;
	if (segment->flags & TCP_FLAG_ACK) {
		plan.sequence = segment->acknowledgment;
		plan.flags = TCP_FLAG_RST;
	} else {
		plan.sequence = 0;
		plan.acknowledgment = segment->sequence + tcp_segment_length(segment);
		plan.flags = TCP_FLAG_RST | TCP_FLAG_ACK;
	}
	send_raw(stack, &route, segment->destination_port, segment->source_port, 0, 0, false,
		 &plan);
}

/* Note a (re)transmission of [sequence, sequence + length) for RTT timing and statistics. */
static void account_send(struct net_tcp_socket *socket, uint32_t sequence, uint32_t length)
{
	if (seq_lt(sequence, socket->send_max)) {
		socket->statistics.retransmits++;
		socket->route.interface->counters.tcp_retransmitted++;
		socket->rtt_timing = false; /* Karn: an ACK after a retransmission is ambiguous */
	} else if (!socket->rtt_timing && length > 0) {
		socket->rtt_timing = true;
		socket->rtt_sequence = sequence;
		socket->rtt_start_ns = net_now(socket->stack);
	}
}

static bool fin_unacknowledged(const struct net_tcp_socket *socket, uint32_t data_end)
{
	return socket->fin_queued && seq_le(socket->send_unacknowledged, data_end);
}

void tcp_retransmit_first(struct net_tcp_socket *socket)
{
	uint32_t data_end = socket->send_buffer_sequence + socket->send_buffer.used;
	uint32_t sequence = socket->send_unacknowledged, length = 0, end;
	uint8_t flags = TCP_FLAG_ACK;

	if (socket->state == NET_TCP_SYN_SENT || socket->state == NET_TCP_SYN_RECEIVED) {
		tcp_send_syn(socket);
		return;
	}
	if (seq_lt(sequence, data_end)) {
		length = data_end - sequence;
		if (length > current_mss(socket))
			length = current_mss(socket);
	}
	if (sequence + length == data_end && fin_unacknowledged(socket, data_end) &&
	    seq_gt(socket->send_max, data_end))
		flags |= TCP_FLAG_FIN;
	if (length == 0 && !(flags & TCP_FLAG_FIN))
		return;
	if (sequence + length == data_end && length > 0)
		flags |= TCP_FLAG_PSH;
	account_send(socket, sequence, length);
	send_segment(socket, sequence, flags, sequence - socket->send_buffer_sequence, length);
	end = sequence + length + ((flags & TCP_FLAG_FIN) ? 1 : 0);
	if (seq_lt(socket->send_next, end))
		socket->send_next = end;
	tcp_rearm_retransmit(socket, false);
}

uint32_t tcp_retransmit_data(struct net_tcp_socket *socket, uint32_t sequence, uint32_t length)
{
	uint32_t data_end = socket->send_buffer_sequence + socket->send_buffer.used;
	uint32_t mss = current_mss(socket);
	uint8_t flags = TCP_FLAG_ACK;

	if (seq_lt(sequence, socket->send_buffer_sequence) || !seq_lt(sequence, data_end))
		return 0;
	if (length > data_end - sequence)
		length = data_end - sequence;
	if (socket->tso_max <= socket->send_mss && length > mss)
		length = mss; /* no TSO */
	if (length == 0)
		return 0;
	if (sequence + length == data_end)
		flags |= TCP_FLAG_PSH;
	account_send(socket, sequence, length);
	if (send_segment(socket, sequence, flags, sequence - socket->send_buffer_sequence, length) <
	    0)
		return 0;
	if (seq_lt(socket->send_next, sequence + length))
		socket->send_next = sequence + length;
	tcp_rearm_retransmit(socket, false);
	return length;
}

void tcp_output(struct net_tcp_socket *socket)
{
	if (!tcp_state_sends_data(socket->state))
		return;
	if (!socket->send_buffer.data)
		return;
	for (;;) {
		uint32_t data_end = socket->send_buffer_sequence + socket->send_buffer.used;
		uint32_t available = 0, window, in_flight, usable, length, maximum;
		bool fin = false;
		uint8_t flags = TCP_FLAG_ACK;
		uint32_t mss = current_mss(socket);

		if (seq_lt(socket->send_next, data_end))
			available = data_end - socket->send_next;
		window = socket->send_window < socket->congestion_window
				 ? socket->send_window
				 : socket->congestion_window;
		in_flight = socket->send_next - socket->send_unacknowledged;
		usable = socket->send_window > in_flight ? socket->send_window - in_flight : 0;
		if (socket->in_recovery && socket->sack_permitted) {
			/* SACK recovery: new data as the pipe, not the whole flight, allows. */
			uint32_t pipe = tcp_pipe(socket);
			uint32_t room = socket->congestion_window > pipe
						? socket->congestion_window - pipe
						: 0;

			if (room < usable)
				usable = room;
		} else {
			usable = window > in_flight ? window - in_flight : 0;
		}
		maximum = socket->tso_max > socket->send_mss ? socket->tso_max : mss; /* no TSO */
		length = available < usable ? available : usable;
		if (length > maximum)
			length = maximum;
		/* Whole MSS pieces in a TSO segment unless it empties the buffer. */
		if (length > mss && length < available)
			length -= length % mss;
		if (length == available && fin_unacknowledged(socket, data_end) &&
		    seq_le(socket->send_next + length, data_end))
			fin = true;
		if (length == 0 && !fin)
			break;
		if (length < mss && !fin && !socket->force_send) {
			if (length < available) {
				/* Window-limited runt: wait unless it is a good part of the
				 * peer's largest window. */
				if (length < socket->max_send_window / 2)
					break;
			} else if (!socket->no_delay && in_flight > 0) {
				break; /* Nagle: one small segment in flight at a time */
			}
		}
		if (fin)
			flags |= TCP_FLAG_FIN;
		if (socket->send_next + length == data_end && length > 0)
			flags |= TCP_FLAG_PSH;
		account_send(socket, socket->send_next, length);
		if (send_segment(socket, socket->send_next, flags,
				 socket->send_next - socket->send_buffer_sequence, length) < 0)
			break;
		socket->send_next += length + (fin ? 1 : 0);
		if (seq_gt(socket->send_next, socket->send_max)) {
			socket->send_max = socket->send_next;
			tcp_timer_stop(socket,
				       TCP_TIMER_LOSS_PROBE); /* new data: restart the PTO */
		}
		socket->force_send = false;
		if (fin)
			break;
	}
	tcp_rearm_retransmit(socket, false);
}

void tcp_send_loss_probe(struct net_tcp_socket *socket)
{
	uint32_t data_end = socket->send_buffer_sequence + socket->send_buffer.used;
	uint32_t mss = current_mss(socket), start, end, length;
	uint32_t in_flight = socket->send_next - socket->send_unacknowledged;
	uint8_t flags = TCP_FLAG_ACK;

	socket->probe_sent = true;
	socket->statistics.loss_probes++;
	if (seq_lt(socket->send_next, data_end) && socket->send_window > in_flight) {
		/* New data: it probes and makes progress (RFC 8985 7.3). */
		length = data_end - socket->send_next;
		if (length > mss)
			length = mss;
		if (length > socket->send_window - in_flight)
			length = socket->send_window - in_flight;
		if (socket->send_next + length == data_end)
			flags |= TCP_FLAG_PSH;
		account_send(socket, socket->send_next, length);
		if (send_segment(socket, socket->send_next, flags,
				 socket->send_next - socket->send_buffer_sequence, length) == 0) {
			socket->send_next += length;
			if (seq_gt(socket->send_next, socket->send_max))
				socket->send_max = socket->send_next;
		}
		socket->probe_end = socket->send_max;
		return;
	}
	/* Else the last MSS of the highest data sent, alone (never a TSO segment). */
	socket->probe_end = socket->send_max;
	end = seq_lt(socket->send_max, data_end) ? socket->send_max : data_end;
	if (!seq_gt(end, socket->send_unacknowledged)) {
		tcp_retransmit_first(socket); /* only the FIN is out */
		return;
	}
	start = end - socket->send_unacknowledged > mss ? end - mss : socket->send_unacknowledged;
	tcp_retransmit_data(socket, start, end - start);
}

void tcp_maybe_window_update(struct net_tcp_socket *socket)
{
	uint32_t current = 0, space, threshold;

	if (socket->state != NET_TCP_ESTABLISHED && socket->state != NET_TCP_FIN_WAIT_1 &&
	    socket->state != NET_TCP_FIN_WAIT_2)
		return;
	if (seq_gt(socket->receive_advertised_edge, socket->receive_next))
		current = socket->receive_advertised_edge - socket->receive_next;
	space = receive_space(socket);
	threshold = socket->receive_buffer_size / 2 < socket->receive_mss
			    ? socket->receive_buffer_size / 2
			    : socket->receive_mss;
	/* Worth a segment when the window at least doubles by a useful amount. */
	if (space >= current + threshold && space >= 2 * current)
		tcp_send_ack(socket);
}
