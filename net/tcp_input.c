/*
 * tcp_input.c - a TCP segment arrives (RFC 9293 3.10.7).
 *
 * Checks, each counted when it fails: a whole header, a data offset within the segment, no
 * broadcast destination, the checksum (unless the NIC vouched for it: DATA_VALID, or NEEDS_CSUM
 * on a GRO frame or a loopback one). Options are read only as far as they are well formed; only
 * MSS, window scale and SACK-permitted matter, and only on a SYN; SACK blocks (1 to 4, kind 5
 * of length 2 + 8n) on any segment, for the sender's scoreboard (tcp_congestion.c).
 *
 * Then the segment goes to its connection (found by 4-tuple), else to a listener, else it is
 * answered with a RST. For a connection, in order: the sequence acceptability test (an
 * unacceptable segment gets an ACK), trimming to the window, RST (exact sequence resets, others in
 * the window get a challenge ACK, RFC 5961), SYN (challenge ACK), ACK (advance, congestion,
 * window update, state changes of our FIN), data (in order into the ring, ahead of it as a
 * remembered range), FIN (only once everything before it arrived).
 *
 * ACK policy: immediately for out-of-order data (a duplicate ACK, with SACK blocks if negotiated),
 * a filled hole, a FIN, or every second full-sized segment; at the end of the receive batch for a
 * segment larger than our MSS (a GRO frame from the host: one ACK for all that came together, as
 * soon as they are in, keeps the sender's TSO pipeline full without an ACK frame per 64 KiB);
 * otherwise after tcp_delayed_ack_ns.
 */
#include "byteorder.h"
#include "checksum.h"
#include "tcp_internal.h"

/*
 * The delayed-ACK timer, due now: the stack's timers run once the NIC's batch of frames is in
 * (network_poll in the guest kernel), so every GRO frame of one batch shares one ACK. Measured,
 * host sending one stream to the guest: 12.4 -> 13.4 Gbit/s, with 7.7x fewer ACK frames for the
 * I/O thread to write and the host's TCP to take in (16,753 for 128,504 frames received).
 */
static void acknowledge_at_end_of_batch(struct net_tcp_socket *socket)
{
	if (socket->timers[TCP_TIMER_DELAYED_ACK] > net_now(socket->stack))
		tcp_timer_set(socket, TCP_TIMER_DELAYED_ACK, 0);
}

static void parse_options(struct tcp_segment *segment, const uint8_t *header, size_t header_length)
{
	size_t position = TCP_HEADER_SIZE;

	while (position < header_length) {
		uint8_t kind = header[position], length;

		if (kind == TCP_OPTION_END)
			break;
		if (kind == TCP_OPTION_NOP) {
			position++;
			continue;
		}
		if (position + 1 >= header_length)
			break;
		length = header[position + 1];
		if (length < 2 || position + length > header_length)
			break;
		if (kind == TCP_OPTION_MSS && length == 4) {
			segment->has_mss = true;
			segment->mss = load_be16(header + position + 2);
		} else if (kind == TCP_OPTION_WINDOW_SCALE && length == 3) {
			segment->has_window_scale = true;
			segment->window_scale = header[position + 2];
		} else if (kind == TCP_OPTION_SACK_PERMITTED && length == 2) {
			segment->has_sack_permitted = true;
		} else if (kind == TCP_OPTION_SACK && length >= 10 && (length - 2) % 8 == 0 &&
			   (length - 2) / 8 <= TCP_SACK_MAX_RECEIVED_BLOCKS) {
			uint32_t i;

			segment->sack_count = (uint32_t)(length - 2) / 8;
			for (i = 0; i < segment->sack_count; i++) {
				segment->sack_blocks[i][0] =
					load_be32(header + position + 2 + 8 * i);
				segment->sack_blocks[i][1] =
					load_be32(header + position + 6 + 8 * i);
			}
		}
		position += length;
	}
}

/* Learn the peer's MSS and window scale from its SYN, and size our segments. */
static void take_syn_options(struct net_tcp_socket *socket, const struct tcp_segment *segment)
{
	uint32_t mtu_mss = socket->route.interface->config.mtu - IPV4_HEADER_SIZE - TCP_HEADER_SIZE;
	uint32_t features = socket->route.interface->config.features;
	uint32_t mss = segment->has_mss ? segment->mss : TCP_DEFAULT_MSS;

	if (mss > mtu_mss)
		mss = mtu_mss;
	if (mss < 64)
		mss = 64; /* a tiny MSS would only multiply segments (Linux's floor is 48-88) */
	socket->send_mss = (uint16_t)mss;
	socket->tso_max = mss;
	if ((features & NET_INTERFACE_TX_TSO4) && (features & NET_INTERFACE_TX_CHECKSUM)) {
		uint32_t segments = mss < TCP_TSO_MAX_PAYLOAD ? TCP_TSO_MAX_PAYLOAD / mss : 1;
		uint32_t most = socket->route.interface->config.tso_max_segments;
		/* The NIC counts a frame's segments from its length, options as payload: leave
		 * room for the most options a segment carries (SACK blocks on data). */
		if (most) {
			uint32_t room =
				(most * mss - (TCP_MAX_HEADER_SIZE - TCP_HEADER_SIZE)) / mss;
			if (segments > room)
				segments = room; /* a small MSS */
		}
		socket->tso_max = segments * mss;
	}
	/* We offer SACK in every SYN we start with, and echo it only when offered: either way
	 * it is on iff their SYN carried it. */
	socket->sack_permitted = segment->has_sack_permitted;
	if (segment->has_window_scale) {
		socket->window_scaling = true;
		socket->send_window_shift = segment->window_scale > TCP_MAX_WINDOW_SCALE
						    ? TCP_MAX_WINDOW_SCALE
						    : segment->window_scale;
	} else {
		socket->window_scaling = false;
		socket->send_window_shift = 0;
		socket->receive_window_shift = 0;
	}
	socket->receive_segment_estimate =
		socket->receive_mss < TCP_DEFAULT_MSS ? socket->receive_mss : TCP_DEFAULT_MSS;
	tcp_congestion_init(socket);
}

static void set_send_window(struct net_tcp_socket *socket, uint32_t window)
{
	socket->send_window = window;
	if (window > socket->max_send_window)
		socket->max_send_window = window;
	if (window > 0)
		socket->persist_backoff = 0;
}

static void listen_input(struct net_tcp_socket *listener, const struct tcp_segment *segment)
{
	const struct ipv4_packet *packet = segment->packet;
	struct net_interface_counters *counters = &packet->interface->counters;
	struct net_stack *stack = listener->stack;
	struct net_tcp_socket *child, **last;

	if (segment->flags & TCP_FLAG_RST)
		return;
	if (segment->flags & TCP_FLAG_ACK) {
		tcp_send_reset_reply(segment);
		return;
	}
	if (!(segment->flags & TCP_FLAG_SYN))
		return;
	counters->tcp_segments_received++;
	if (listener->child_count >= listener->backlog) {
		counters->tcp_listen_overflow++;
		return;
	}
	child = tcp_socket_allocate(stack);
	if (!child) {
		counters->tcp_connection_limit++;
		return;
	}
	if (ipv4_route(stack, packet->source, &child->route) < 0 || child->route.broadcast) {
		child->orphan = true;
		tcp_connection_done(child, 0);
		return;
	}
	child->route.source = packet->destination;
	child->bound = false; /* it shares the listener's port; bind conflicts are the listener's */
	child->local_address = packet->destination;
	child->local_port = segment->destination_port;
	child->remote_address = packet->source;
	child->remote_port = segment->source_port;
	child->no_delay = listener->no_delay;
	child->keepalive = listener->keepalive;
	child->listener = listener;
	for (last = &listener->children; *last; last = &(*last)->next_child)
		;
	*last = child;
	listener->child_count++;

	child->receive_mss =
		(uint16_t)(child->route.interface->config.mtu - IPV4_HEADER_SIZE - TCP_HEADER_SIZE);
	child->initial_receive_sequence = segment->sequence;
	child->receive_next = segment->sequence + 1;
	child->receive_advertised_edge = child->receive_next;
	child->initial_send_sequence =
		tcp_initial_sequence(stack, child->local_address, child->local_port,
				     child->remote_address, child->remote_port);
	take_syn_options(child, segment);
	set_send_window(child, segment->window); /* never scaled in a SYN */
	child->send_window_update_sequence = segment->sequence;
	child->send_unacknowledged = child->initial_send_sequence;
	child->send_next = child->initial_send_sequence;
	child->send_max = child->initial_send_sequence;
	child->send_buffer_sequence = child->initial_send_sequence + 1;
	child->send_window_update_ack = child->initial_send_sequence;
	tcp_set_state(child, NET_TCP_SYN_RECEIVED);
	tcp_hash_insert(child);
	child->statistics.segments_received++;
	tcp_send_syn(child);
}

static void syn_sent_input(struct net_tcp_socket *socket, const struct tcp_segment *segment)
{
	struct net_interface_counters *counters = &segment->packet->interface->counters;
	bool has_ack = (segment->flags & TCP_FLAG_ACK) != 0;

	if (has_ack && (seq_le(segment->acknowledgment, socket->initial_send_sequence) ||
			seq_gt(segment->acknowledgment, socket->send_max))) {
		tcp_send_reset_reply(segment);
		return;
	}
	if (segment->flags & TCP_FLAG_RST) {
		if (has_ack) {
			counters->tcp_resets_received++;
			tcp_connection_done(socket, NET_ERROR_CONNECTION_REFUSED);
		}
		return;
	}
	if (!(segment->flags & TCP_FLAG_SYN))
		return;
	counters->tcp_segments_received++;
	socket->statistics.segments_received++;
	socket->initial_receive_sequence = segment->sequence;
	socket->receive_next = segment->sequence + 1;
	socket->receive_advertised_edge = socket->receive_next;
	take_syn_options(socket, segment);
	set_send_window(socket, segment->window);
	socket->send_window_update_sequence = segment->sequence;
	if (!has_ack) {
		/* Simultaneous open: both sent a SYN. */
		tcp_set_state(socket, NET_TCP_SYN_RECEIVED);
		socket->send_max = socket->initial_send_sequence; /* so the SYN-ACK is "first" */
		tcp_send_syn(socket);
		return;
	}
	socket->send_window_update_ack = segment->acknowledgment;
	socket->send_unacknowledged = segment->acknowledgment;
	if (socket->rtt_timing) {
		tcp_rtt_sample(socket, net_now(socket->stack) - socket->rtt_start_ns);
		socket->rtt_timing = false;
	}
	socket->retries = 0;
	tcp_set_state(socket, NET_TCP_ESTABLISHED);
	tcp_timer_stop(socket, TCP_TIMER_RETRANSMIT);
	tcp_restart_keepalive(socket);
	tcp_send_ack(socket);
	tcp_notify(socket);
}

static bool sequence_acceptable(const struct net_tcp_socket *socket, uint32_t sequence,
				uint32_t length, uint32_t window)
{
	uint32_t next = socket->receive_next;

	if (length == 0) {
		if (window == 0)
			return sequence == next;
		return seq_le(next, sequence) && seq_lt(sequence, next + window);
	}
	if (window == 0)
		return false;
	return (seq_le(next, sequence) && seq_lt(sequence, next + window)) ||
	       (seq_le(next, sequence + length - 1) &&
		seq_lt(sequence + length - 1, next + window));
}

static uint32_t acceptance_window(const struct net_tcp_socket *socket)
{
	if (socket->receive_buffer.data)
		return socket->receive_buffer.size - socket->receive_buffer.used;
	if (socket->state == NET_TCP_SYN_RECEIVED)
		return socket->receive_buffer_size;
	return 0;
}

enum ack_result {
	ACK_CONTINUE, /* go on with the segment's data */
	ACK_STOP,     /* drop the rest (send an ACK if ack_now says so) */
	ACK_GONE,     /* the connection ended: the socket may be freed */
};

static enum ack_result process_ack(struct net_tcp_socket *socket, const struct tcp_segment *segment)
{
	uint32_t ack = segment->acknowledgment;
	uint32_t window = (uint32_t)segment->window << socket->send_window_shift;
	uint32_t data_end, acked, data_acked;
	bool fin_acked = false, update_window;

	if (socket->state == NET_TCP_SYN_RECEIVED) {
		if (!seq_lt(socket->send_unacknowledged, ack) || seq_gt(ack, socket->send_max)) {
			tcp_send_reset_reply(segment);
			return ACK_STOP;
		}
		if (tcp_allocate_buffers(socket) < 0) {
			segment->packet->interface->counters.no_memory++;
			tcp_send_reset_for(socket);
			tcp_connection_done(socket, NET_ERROR_NO_MEMORY);
			return ACK_GONE;
		}
		tcp_set_state(socket, NET_TCP_ESTABLISHED);
		set_send_window(socket, window);
		socket->send_window_update_sequence = segment->sequence;
		socket->send_window_update_ack = ack;
		tcp_restart_keepalive(socket);
		if (socket->listener)
			tcp_child_established(socket);
		else
			tcp_notify(socket);
	}
	if (seq_gt(ack, socket->send_max)) {
		socket->ack_now = true; /* acknowledges what we never sent */
		return ACK_STOP;
	}
	update_window = seq_lt(socket->send_window_update_sequence, segment->sequence) ||
			(socket->send_window_update_sequence == segment->sequence &&
			 seq_le(socket->send_window_update_ack, ack));
	if (seq_lt(ack, socket->send_unacknowledged))
		return ACK_CONTINUE; /* an old ACK: its data may still be new */
	if (socket->sack_permitted)
		tcp_sack_record(socket, segment);

	if (ack == socket->send_unacknowledged) {
		if (segment->data_length == 0 &&
		    !(segment->flags & (TCP_FLAG_SYN | TCP_FLAG_FIN)) &&
		    socket->send_max != socket->send_unacknowledged &&
		    (!update_window || window == socket->send_window))
			tcp_congestion_on_duplicate_ack(socket);
	} else {
		acked = ack - socket->send_unacknowledged;
		data_end = socket->send_buffer_sequence + socket->send_buffer.used;
		data_acked = 0;
		if (seq_gt(ack, socket->send_buffer_sequence))
			data_acked = (seq_lt(ack, data_end) ? ack : data_end) -
				     socket->send_buffer_sequence;
		if (socket->fin_queued && seq_gt(ack, data_end))
			fin_acked = true;
		tcp_ring_consume(&socket->send_buffer, data_acked);
		socket->send_buffer_sequence += data_acked;
		socket->statistics.bytes_sent += data_acked;
		if (socket->rtt_timing && seq_gt(ack, socket->rtt_sequence)) {
			tcp_rtt_sample(socket, net_now(socket->stack) - socket->rtt_start_ns);
			socket->rtt_timing = false;
		}
		socket->retries = 0;
		socket->send_unacknowledged = ack;
		if (seq_lt(socket->send_next, ack))
			socket->send_next = ack;
		if (socket->sack_permitted)
			tcp_sack_prune(socket);
		if (tcp_congestion_on_ack(socket, ack, acked) && !socket->sack_permitted)
			tcp_retransmit_first(socket); /* NewReno partial ACK: the next hole */
		socket->duplicate_acks = 0;
		tcp_rearm_retransmit(socket, true);
		if (data_acked)
			tcp_notify(socket);
	}
	if (update_window) {
		set_send_window(socket, window);
		socket->send_window_update_sequence = segment->sequence;
		socket->send_window_update_ack = ack;
	}
	if (socket->sack_permitted)
		tcp_sack_after_ack(socket);

	switch (socket->state) {
	case NET_TCP_FIN_WAIT_1:
		if (fin_acked) {
			tcp_set_state(socket, NET_TCP_FIN_WAIT_2);
			tcp_timer_stop(socket, TCP_TIMER_RETRANSMIT);
			if (socket->orphan)
				tcp_timer_set(socket, TCP_TIMER_KEEPALIVE,
					      TCP_FIN_WAIT_2_TIMEOUT_NS);
		}
		break;
	case NET_TCP_CLOSING:
		if (fin_acked) {
			tcp_enter_time_wait(socket);
			return ACK_STOP;
		}
		break;
	case NET_TCP_LAST_ACK:
		if (fin_acked) {
			tcp_connection_done(socket, 0);
			return ACK_GONE;
		}
		break;
	default:
		break;
	}
	return ACK_CONTINUE;
}

/* Data and FIN of an acceptable, trimmed segment. Returns false if the connection is gone. */
static bool process_data(struct net_tcp_socket *socket, const struct tcp_segment *segment,
			 uint32_t sequence, const uint8_t *data, uint32_t length, bool fin)
{
	struct net_interface_counters *counters = &segment->packet->interface->counters;
	uint32_t offset = sequence - socket->receive_next;
	bool had_holes = socket->out_of_order_count > 0, in_order = false;
	int64_t advanced;

	if (socket->state != NET_TCP_ESTABLISHED && socket->state != NET_TCP_FIN_WAIT_1 &&
	    socket->state != NET_TCP_FIN_WAIT_2)
		return true; /* their FIN came already: anything more is a duplicate */
	if (length > 0) {
		if (socket->orphan) {
			/* Nobody will read it (RFC 9293 3.10.7.4 and Linux): reset. */
			tcp_send_reset_for(socket);
			tcp_connection_done(socket, NET_ERROR_CONNECTION_RESET);
			return false;
		}
		advanced = tcp_receive_data(socket, offset, data, length);
		if (advanced < 0 || offset > 0) {
			counters->tcp_out_of_order++;
			socket->ack_now = true; /* a duplicate ACK tells the sender of the hole */
		} else {
			in_order = true;
			socket->receive_next += (uint32_t)advanced;
			socket->statistics.bytes_received += (uint64_t)advanced;
			socket->unacknowledged_bytes += (uint32_t)advanced;
			if (length > socket->receive_segment_estimate)
				socket->receive_segment_estimate =
					length < socket->receive_mss ? length : socket->receive_mss;
			if (!had_holes && length > socket->receive_mss)
				acknowledge_at_end_of_batch(socket);
			else if (had_holes || socket->unacknowledged_bytes >=
						      2 * socket->receive_segment_estimate)
				socket->ack_now = true;
			else if (socket->timers[TCP_TIMER_DELAYED_ACK] == NET_NO_DEADLINE)
				tcp_timer_set(socket, TCP_TIMER_DELAYED_ACK,
					      socket->stack->limits.tcp_delayed_ack_ns);
		}
	} else {
		in_order = offset == 0;
	}
	if (fin && in_order && sequence + length == socket->receive_next) {
		socket->receive_next++;
		socket->fin_received = true;
		socket->ack_now = true;
		switch (socket->state) {
		case NET_TCP_ESTABLISHED:
			tcp_set_state(socket, NET_TCP_CLOSE_WAIT);
			break;
		case NET_TCP_FIN_WAIT_1:
			if (seq_gt(socket->send_unacknowledged,
				   socket->send_buffer_sequence + socket->send_buffer.used)) {
				tcp_send_ack(socket);
				tcp_enter_time_wait(socket);
				tcp_notify(socket);
				return false;
			}
			tcp_set_state(socket, NET_TCP_CLOSING);
			break;
		case NET_TCP_FIN_WAIT_2:
			tcp_send_ack(socket);
			tcp_enter_time_wait(socket);
			tcp_notify(socket);
			return false;
		default:
			break;
		}
	}
	if (length > 0 || fin)
		tcp_notify(socket);
	return true;
}

static void connection_input(struct net_tcp_socket *socket, struct tcp_segment *segment)
{
	struct net_interface_counters *counters = &segment->packet->interface->counters;
	uint32_t sequence = segment->sequence, window, length, cut;
	const uint8_t *data = segment->data;
	uint32_t data_length = segment->data_length;
	uint8_t flags = segment->flags;

	if (socket->state == NET_TCP_SYN_SENT) {
		syn_sent_input(socket, segment);
		return;
	}
	socket->last_received_ns = net_now(socket->stack);
	window = acceptance_window(socket);
	length = tcp_segment_length(segment);
	if (!sequence_acceptable(socket, sequence, length, window)) {
		counters->tcp_out_of_window++;
		if (flags & TCP_FLAG_RST)
			return;
		if (socket->state == NET_TCP_SYN_RECEIVED) {
			tcp_send_syn(socket); /* their SYN again: our SYN-ACK was lost */
			return;
		}
		if (socket->state == NET_TCP_TIME_WAIT && (flags & TCP_FLAG_FIN))
			tcp_enter_time_wait(socket); /* their FIN again: restart 2 MSL */
		tcp_send_ack(socket);
		return;
	}
	counters->tcp_segments_received++;
	socket->statistics.segments_received++;
	if (socket->keepalive)
		tcp_restart_keepalive(socket);

	/* Trim to the window: what is before receive_next, and what is beyond its end. */
	if (seq_lt(sequence, socket->receive_next)) {
		cut = socket->receive_next - sequence;
		if (flags & TCP_FLAG_SYN) {
			flags &= (uint8_t)~TCP_FLAG_SYN;
			cut--;
			sequence++;
		}
		if (cut >= data_length) {
			if (cut > data_length)
				flags &= (uint8_t)~TCP_FLAG_FIN;
			data += data_length;
			sequence += data_length;
			data_length = 0;
		} else {
			data += cut;
			sequence += cut;
			data_length -= cut;
		}
	}
	if (data_length > 0 && seq_gt(sequence + data_length, socket->receive_next + window)) {
		data_length = socket->receive_next + window - sequence;
		flags &= (uint8_t)~TCP_FLAG_FIN;
	}

	if (flags & TCP_FLAG_RST) {
		if (segment->sequence != socket->receive_next) {
			tcp_send_ack(socket); /* RFC 5961 3.2: a challenge ACK */
			return;
		}
		counters->tcp_resets_received++;
		switch (socket->state) {
		case NET_TCP_SYN_RECEIVED:
			tcp_connection_done(socket,
					    socket->listener ? 0 : NET_ERROR_CONNECTION_REFUSED);
			break;
		case NET_TCP_ESTABLISHED:
		case NET_TCP_FIN_WAIT_1:
		case NET_TCP_FIN_WAIT_2:
		case NET_TCP_CLOSE_WAIT:
			tcp_connection_done(socket, NET_ERROR_CONNECTION_RESET);
			break;
		default:
			tcp_connection_done(socket, 0);
			break;
		}
		return;
	}
	if (flags & TCP_FLAG_SYN) {
		tcp_send_ack(socket); /* RFC 5961 4.2: a SYN in a synchronised state */
		return;
	}
	if (!(flags & TCP_FLAG_ACK))
		return;
	if (socket->state == NET_TCP_TIME_WAIT) {
		if (flags & TCP_FLAG_FIN) {
			tcp_send_ack(socket);
			tcp_enter_time_wait(socket);
		}
		return;
	}
	switch (process_ack(socket, segment)) {
	case ACK_GONE:
		return;
	case ACK_STOP:
		if (socket->ack_now)
			tcp_send_ack(socket);
		return;
	case ACK_CONTINUE:
		break;
	}
	if (!process_data(socket, segment, sequence, data, data_length,
			  (flags & TCP_FLAG_FIN) != 0))
		return;
	tcp_output(socket);
	if (socket->ack_now)
		tcp_send_ack(socket);
}

void tcp_input(const struct ipv4_packet *packet)
{
	struct net_interface_counters *counters = &packet->interface->counters;
	struct net_stack *stack = packet->interface->stack;
	const uint8_t *header = packet->payload;
	size_t length = packet->payload_length, header_length;
	struct tcp_segment segment;
	struct net_tcp_socket *socket;

	if (length < TCP_HEADER_SIZE) {
		counters->tcp_truncated++;
		return;
	}
	header_length = (size_t)(header[12] >> 4) * 4;
	if (header_length < TCP_HEADER_SIZE || header_length > length) {
		counters->tcp_bad_header_length++;
		return;
	}
	if (packet->to_broadcast) {
		counters->tcp_broadcast++;
		return;
	}
	if (!(packet->offload->flags &
	      (RINGVISOR_NET_HEADER_DATA_VALID | RINGVISOR_NET_HEADER_NEEDS_CSUM))) {
		uint16_t sum = checksum_pseudo_header(packet->source, packet->destination,
						      IPV4_PROTOCOL_TCP, (uint16_t)length);

		if (checksum_add(sum, header, length) != 0xffff) {
			counters->tcp_bad_checksum++;
			return;
		}
	}
	memset(&segment, 0, sizeof(segment));
	segment.packet = packet;
	segment.source_port = load_be16(header);
	segment.destination_port = load_be16(header + 2);
	segment.sequence = load_be32(header + 4);
	segment.acknowledgment = load_be32(header + 8);
	segment.flags = header[13] & 0x3f;
	segment.window = load_be16(header + 14);
	segment.data = header + header_length;
	segment.data_length = (uint32_t)(length - header_length);
	parse_options(&segment, header, header_length);

	socket = tcp_lookup(stack, packet->destination, segment.destination_port, packet->source,
			    segment.source_port);
	if (socket) {
		connection_input(socket, &segment);
		return;
	}
	socket = tcp_find_listener(stack, packet->destination, segment.destination_port);
	if (socket) {
		listen_input(socket, &segment);
		return;
	}
	counters->tcp_no_connection++;
	tcp_send_reset_reply(&segment);
}
