/*
 * tcp_timers.c - each connection's three timers and what happens when they fire.
 *
 *   retransmit   RFC 6298: runs while data (or a SYN or FIN) is unacknowledged; on expiry the
 *                first unacknowledged segment goes again, the RTO doubles (up to 60 s), the
 *                congestion window drops to one segment and sending goes back to
 *                send_unacknowledged (go-back-N, paced by the window). TCP_SYN_RETRIES or
 *                TCP_DATA_RETRIES expiries in a row end the connection (NET_ERROR_TIMED_OUT).
 *                When nothing is in flight but data waits for the peer's window, the same slot
 *                is the persist timer: it sends a window probe (or, if the window opened a
 *                little, the waiting runt), backing off but never giving up while the peer
 *                answers.
 *   delayed ACK  at most tcp_delayed_ack_ns after in-order data that was not acknowledged at
 *                once.
 *   loss probe   RFC 8985 7 (tail loss probe): while data is out, nothing is being recovered
 *                (no fast recovery, no RTO since the last new ACK) and all of it has been sent,
 *                fires PTO = 2 SRTT (+ tcp_delayed_ack_ns with one segment or less in flight;
 *                at least 10 ms; not armed if the RTO would come first or before an RTT
 *                sample) after the last new data sent or new ACK. It sends one probe: new data
 *                if the peer's window allows, else the last MSS of the highest data again; the
 *                RTO restarts. One probe per tail: the next only once the ACK passes it. The
 *                ACK it draws (SACKing the probe) starts SACK recovery for the hole below.
 *   keepalive    with keepalive on, probes after tcp_keepalive_idle_ns of silence; the slot
 *                also ends FIN_WAIT_2 for an orphan and TIME_WAIT (2 MSL).
 *
 * Deadlines are absolute; tcp_next_deadline() is the earliest over all connections, and
 * tcp_poll() fires every timer that is due.
 */
#include "tcp_internal.h"

void tcp_timer_set(struct net_tcp_socket *socket, enum tcp_timer timer, uint64_t delay_ns)
{
	socket->timers[timer] = net_now(socket->stack) + delay_ns;
}

void tcp_timer_stop(struct net_tcp_socket *socket, enum tcp_timer timer)
{
	socket->timers[timer] = NET_NO_DEADLINE;
}

static uint64_t persist_delay(const struct net_tcp_socket *socket)
{
	uint32_t shift = socket->persist_backoff < 8 ? socket->persist_backoff : 8;
	uint64_t delay = socket->rto_ns << shift;

	return delay > TCP_MAX_RTO_NS ? TCP_MAX_RTO_NS : delay;
}

static void tcp_rearm_retransmit_only(struct net_tcp_socket *socket, bool restart);

static void rearm_loss_probe(struct net_tcp_socket *socket, bool restart)
{
	uint32_t flight = socket->send_max - socket->send_unacknowledged;
	uint64_t pto, now = net_now(socket->stack);

	if (socket->probe_sent && seq_ge(socket->send_unacknowledged, socket->probe_end))
		socket->probe_sent = false; /* the tail it probed is acknowledged */
	if (flight == 0 || socket->probe_sent || socket->in_recovery || socket->retries != 0 ||
	    !socket->rtt_measured || socket->persisting || socket->send_next != socket->send_max ||
	    !socket->send_buffer.data || socket->timers[TCP_TIMER_RETRANSMIT] == NET_NO_DEADLINE) {
		tcp_timer_stop(socket, TCP_TIMER_LOSS_PROBE);
		return;
	}
	if (!restart && socket->timers[TCP_TIMER_LOSS_PROBE] != NET_NO_DEADLINE)
		return;
	pto = 2 * socket->smoothed_rtt_ns;
	if (flight <= socket->send_mss)
		pto += socket->stack->limits.tcp_delayed_ack_ns; /* the peer may delay its ACK */
	if (pto < TCP_MIN_PROBE_TIMEOUT_NS)
		pto = TCP_MIN_PROBE_TIMEOUT_NS;
	if (now + pto >= socket->timers[TCP_TIMER_RETRANSMIT]) {
		tcp_timer_stop(socket, TCP_TIMER_LOSS_PROBE); /* the RTO comes first anyway */
		return;
	}
	tcp_timer_set(socket, TCP_TIMER_LOSS_PROBE, pto);
}

void tcp_rearm_retransmit(struct net_tcp_socket *socket, bool restart)
{
	tcp_rearm_retransmit_only(socket, restart);
	rearm_loss_probe(socket, restart);
}

static void tcp_rearm_retransmit_only(struct net_tcp_socket *socket, bool restart)
{
	uint32_t data_end = socket->send_buffer_sequence + socket->send_buffer.used;

	if (socket->state == NET_TCP_SYN_SENT || socket->state == NET_TCP_SYN_RECEIVED)
		return; /* tcp_send_syn runs it */
	if (socket->send_max != socket->send_unacknowledged) {
		if (restart || socket->persisting ||
		    socket->timers[TCP_TIMER_RETRANSMIT] == NET_NO_DEADLINE)
			tcp_timer_set(socket, TCP_TIMER_RETRANSMIT, socket->rto_ns);
		socket->persisting = false;
	} else if (seq_lt(socket->send_next, data_end)) {
		/* Data waits and nothing is in flight: only the window holds it back. */
		if (!socket->persisting || socket->timers[TCP_TIMER_RETRANSMIT] == NET_NO_DEADLINE)
			tcp_timer_set(socket, TCP_TIMER_RETRANSMIT, persist_delay(socket));
		socket->persisting = true;
	} else {
		tcp_timer_stop(socket, TCP_TIMER_RETRANSMIT);
		socket->persisting = false;
	}
}

void tcp_enter_time_wait(struct net_tcp_socket *socket)
{
	struct net_stack *stack = socket->stack;

	tcp_set_state(socket, NET_TCP_TIME_WAIT);
	tcp_timer_stop(socket, TCP_TIMER_RETRANSMIT);
	tcp_timer_stop(socket, TCP_TIMER_LOSS_PROBE);
	tcp_timer_stop(socket, TCP_TIMER_DELAYED_ACK);
	tcp_timer_set(socket, TCP_TIMER_KEEPALIVE, 2 * stack->limits.tcp_msl_ns);
	socket->persisting = false;
	/* Only the 4-tuple and sequence numbers matter now: give the memory back. */
	tcp_ring_free(stack, &socket->send_buffer);
	if (socket->orphan || socket->receive_buffer.used == 0)
		tcp_ring_free(stack, &socket->receive_buffer);
}

void tcp_restart_keepalive(struct net_tcp_socket *socket)
{
	if (socket->state != NET_TCP_ESTABLISHED && socket->state != NET_TCP_CLOSE_WAIT)
		return;
	socket->keepalive_probes_sent = 0;
	if (socket->keepalive)
		tcp_timer_set(socket, TCP_TIMER_KEEPALIVE,
			      socket->stack->limits.tcp_keepalive_idle_ns);
	else
		tcp_timer_stop(socket, TCP_TIMER_KEEPALIVE);
}

/* Each returns true if the connection ended (the socket may be freed). */
static bool retransmit_expired(struct net_tcp_socket *socket)
{
	if (socket->persisting) {
		socket->persist_backoff++;
		if (socket->send_window == 0) {
			tcp_send_window_probe(socket);
		} else {
			socket->force_send = true;
			tcp_output(socket);
			socket->force_send = false;
		}
		tcp_timer_set(socket, TCP_TIMER_RETRANSMIT, persist_delay(socket));
		return false;
	}
	socket->retries++;
	if (socket->retries >
	    (socket->state == NET_TCP_SYN_SENT || socket->state == NET_TCP_SYN_RECEIVED
		     ? TCP_SYN_RETRIES
		     : TCP_DATA_RETRIES)) {
		tcp_send_reset_for(socket);
		tcp_connection_done(socket, NET_ERROR_TIMED_OUT);
		return true;
	}
	socket->statistics.timeouts++;
	socket->rto_ns *= 2;
	if (socket->rto_ns > TCP_MAX_RTO_NS)
		socket->rto_ns = TCP_MAX_RTO_NS;
	socket->rtt_timing = false;
	if (socket->state == NET_TCP_SYN_SENT || socket->state == NET_TCP_SYN_RECEIVED) {
		tcp_timer_set(socket, TCP_TIMER_RETRANSMIT, socket->rto_ns);
		tcp_send_syn(socket);
		return false;
	}
	tcp_congestion_on_timeout(socket);
	socket->send_next = socket->send_unacknowledged;
	tcp_retransmit_first(socket);
	tcp_timer_set(socket, TCP_TIMER_RETRANSMIT, socket->rto_ns);
	return false;
}

static void loss_probe_expired(struct net_tcp_socket *socket)
{
	if (socket->send_max == socket->send_unacknowledged || socket->probe_sent ||
	    socket->in_recovery || socket->retries != 0 || socket->persisting ||
	    socket->send_next != socket->send_max || !socket->send_buffer.data)
		return;
	if (!tcp_state_sends_data(socket->state))
		return;
	tcp_send_loss_probe(socket);
	tcp_timer_stop(socket, TCP_TIMER_LOSS_PROBE);
	tcp_timer_set(socket, TCP_TIMER_RETRANSMIT, socket->rto_ns);
}

static bool keepalive_expired(struct net_tcp_socket *socket)
{
	struct net_stack *stack = socket->stack;

	switch (socket->state) {
	case NET_TCP_TIME_WAIT:
	case NET_TCP_FIN_WAIT_2:
		tcp_connection_done(socket, 0);
		return true;
	case NET_TCP_ESTABLISHED:
	case NET_TCP_CLOSE_WAIT:
		if (!socket->keepalive)
			return false;
		if (socket->keepalive_probes_sent >= stack->limits.tcp_keepalive_probes) {
			tcp_send_reset_for(socket);
			tcp_connection_done(socket, NET_ERROR_TIMED_OUT);
			return true;
		}
		socket->keepalive_probes_sent++;
		tcp_send_window_probe(
			socket); /* same shape: an old sequence number asks for an ACK */
		tcp_timer_set(socket, TCP_TIMER_KEEPALIVE, stack->limits.tcp_keepalive_interval_ns);
		return false;
	default:
		return false;
	}
}

void tcp_poll(struct net_stack *stack, uint64_t now_ns)
{
	struct net_tcp_socket *socket, *next;

	for (socket = stack->tcp.all; socket; socket = next) {
		next = socket->next_all;
		if (socket->timers[TCP_TIMER_DELAYED_ACK] <= now_ns) {
			socket->timers[TCP_TIMER_DELAYED_ACK] = NET_NO_DEADLINE;
			tcp_send_ack(socket);
		}
		if (socket->timers[TCP_TIMER_RETRANSMIT] <= now_ns) {
			socket->timers[TCP_TIMER_RETRANSMIT] = NET_NO_DEADLINE;
			if (retransmit_expired(socket))
				continue;
		}
		if (socket->timers[TCP_TIMER_LOSS_PROBE] <= now_ns) {
			socket->timers[TCP_TIMER_LOSS_PROBE] = NET_NO_DEADLINE;
			loss_probe_expired(socket);
		}
		if (socket->timers[TCP_TIMER_KEEPALIVE] <= now_ns) {
			socket->timers[TCP_TIMER_KEEPALIVE] = NET_NO_DEADLINE;
			if (keepalive_expired(socket))
				continue;
		}
	}
}

uint64_t tcp_next_deadline(const struct net_stack *stack)
{
	const struct net_tcp_socket *socket;
	uint64_t deadline = NET_NO_DEADLINE;
	int i;

	for (socket = stack->tcp.all; socket; socket = socket->next_all) {
		for (i = 0; i < TCP_TIMER_COUNT; i++) {
			if (socket->timers[i] < deadline)
				deadline = socket->timers[i];
		}
	}
	return deadline;
}
