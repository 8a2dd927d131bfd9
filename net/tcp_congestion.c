/*
 * tcp_congestion.c - how fast a connection may send: RTT estimation and the congestion window.
 *
 *   RTT and RTO (RFC 6298): one segment at a time is timed (never a retransmitted one, Karn's
 *   rule); SRTT and RTTVAR are smoothed with gains 1/8 and 1/4; RTO = SRTT + max(G, 4 RTTVAR),
 *   kept between limits.tcp_minimum_rto_ns and 60 s.
 *   Slow start and congestion avoidance (RFC 5681, with RFC 3465 byte counting, L = 2 SMSS): the
 *   initial window is RFC 6928's 10 segments (at most 14600 bytes, at least 2); below ssthresh
 *   each ACK grows cwnd by what it acknowledged (at most 2 SMSS), above it by one SMSS per cwnd
 *   of acknowledged bytes.
 *   Fast retransmit and NewReno recovery (RFC 6582): the third duplicate ACK retransmits the first
 *   unacknowledged segment, sets ssthresh = max(flight / 2, 2 SMSS), cwnd = ssthresh + 3 SMSS,
 *   recover = send_max; further duplicates inflate cwnd by one SMSS; a partial ACK retransmits
 *   the next hole and deflates cwnd; the full ACK (beyond recover) sets cwnd to
 *   min(ssthresh, flight + SMSS) and ends recovery.
 *   Timeout: ssthresh as above, cwnd = 1 SMSS (the loss window), recovery abandoned.
 */
#include "tcp_internal.h"

#define CLOCK_GRANULARITY_NS 1000000ull
#define MAX_CONGESTION_WINDOW (1u << 30)

uint32_t tcp_flight_size(const struct net_tcp_socket *socket)
{
	return socket->send_max - socket->send_unacknowledged;
}

void tcp_congestion_init(struct net_tcp_socket *socket)
{
	uint32_t mss = socket->send_mss ? socket->send_mss : TCP_DEFAULT_MSS;
	uint32_t initial = TCP_INITIAL_WINDOW_SEGMENTS * mss;

	if (initial > 14600)
		initial = 14600 > 2 * mss ? 14600 : 2 * mss;
	socket->congestion_window = initial;
	socket->slow_start_threshold = MAX_CONGESTION_WINDOW;
	socket->bytes_acked_in_avoidance = 0;
	socket->duplicate_acks = 0;
	socket->in_recovery = false;
	socket->recover = socket->initial_send_sequence;
}

void tcp_rtt_sample(struct net_tcp_socket *socket, uint64_t rtt_ns)
{
	uint64_t minimum = socket->stack->limits.tcp_minimum_rto_ns, variation;

	if (!socket->rtt_measured) {
		socket->smoothed_rtt_ns = rtt_ns;
		socket->rtt_variation_ns = rtt_ns / 2;
		socket->rtt_measured = true;
	} else {
		uint64_t difference = socket->smoothed_rtt_ns > rtt_ns
					      ? socket->smoothed_rtt_ns - rtt_ns
					      : rtt_ns - socket->smoothed_rtt_ns;

		socket->rtt_variation_ns = (3 * socket->rtt_variation_ns + difference) / 4;
		socket->smoothed_rtt_ns = (7 * socket->smoothed_rtt_ns + rtt_ns) / 8;
	}
	socket->statistics.rtt_samples++;
	variation = 4 * socket->rtt_variation_ns;
	if (variation < CLOCK_GRANULARITY_NS)
		variation = CLOCK_GRANULARITY_NS;
	socket->rto_ns = socket->smoothed_rtt_ns + variation;
	if (socket->rto_ns < minimum)
		socket->rto_ns = minimum;
	if (socket->rto_ns > TCP_MAX_RTO_NS)
		socket->rto_ns = TCP_MAX_RTO_NS;
}

static uint32_t half_flight(const struct net_tcp_socket *socket)
{
	uint32_t half = tcp_flight_size(socket) / 2, floor = 2u * socket->send_mss;

	return half > floor ? half : floor;
}

bool tcp_congestion_on_ack(struct net_tcp_socket *socket, uint32_t acknowledgment, uint32_t acked)
{
	uint32_t mss = socket->send_mss, growth;

	if (socket->in_recovery) {
		if (seq_ge(acknowledgment, socket->recover)) {
			uint32_t flight = tcp_flight_size(socket);

			flight = flight > mss ? flight : mss;
			socket->congestion_window = socket->slow_start_threshold < flight + mss
							    ? socket->slow_start_threshold
							    : flight + mss;
			socket->in_recovery = false;
			return false;
		}
		/* Partial ACK: deflate by what it acknowledged, add back one segment. */
		if (acked < socket->congestion_window)
			socket->congestion_window -= acked;
		else
			socket->congestion_window = 0;
		if (acked >= mss)
			socket->congestion_window += mss;
		if (socket->congestion_window < mss)
			socket->congestion_window = mss;
		return true;
	}
	if (socket->congestion_window < socket->slow_start_threshold) {
		growth = acked < 2 * mss ? acked : 2 * mss;
		socket->congestion_window += growth;
	} else {
		socket->bytes_acked_in_avoidance += acked;
		if (socket->bytes_acked_in_avoidance >= socket->congestion_window) {
			socket->bytes_acked_in_avoidance -= socket->congestion_window;
			socket->congestion_window += mss;
		}
	}
	if (socket->congestion_window > MAX_CONGESTION_WINDOW)
		socket->congestion_window = MAX_CONGESTION_WINDOW;
	return false;
}

void tcp_congestion_on_duplicate_ack(struct net_tcp_socket *socket)
{
	uint32_t mss = socket->send_mss;

	socket->duplicate_acks++;
	if (socket->in_recovery) {
		if (socket->congestion_window < MAX_CONGESTION_WINDOW)
			socket->congestion_window += mss;
		return;
	}
	if (socket->duplicate_acks != 3)
		return;
	/* RFC 6582 3.2 step 2: not again for losses of the window already recovered. */
	if (seq_lt(socket->send_unacknowledged, socket->recover))
		return;
	socket->slow_start_threshold = half_flight(socket);
	socket->recover = socket->send_max;
	socket->in_recovery = true;
	socket->congestion_window = socket->slow_start_threshold + 3 * mss;
	socket->statistics.fast_retransmits++;
	tcp_retransmit_first(socket);
}

void tcp_congestion_on_timeout(struct net_tcp_socket *socket)
{
	socket->slow_start_threshold = half_flight(socket);
	socket->congestion_window = socket->send_mss;
	socket->in_recovery = false;
	socket->recover = socket->send_max;
	socket->duplicate_acks = 0;
	socket->bytes_acked_in_avoidance = 0;
}
