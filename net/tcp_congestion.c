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
 *   SACK loss recovery (RFC 6675, simplified; only when SACK was negotiated, else NewReno): the
 *   peer's SACK blocks (validated: within send_unacknowledged..send_max) fill a scoreboard of up
 *   to 8 sorted, merged ranges, pruned as send_unacknowledged advances. Recovery starts on the
 *   third duplicate ACK, as soon as 3 SMSS or more are SACKed above send_unacknowledged, or
 *   when the SACKs reach the end of a tail loss probe (tcp_timers.c):
 *   ssthresh = max(flight / 2, 2 SMSS), cwnd = ssthresh, recover = send_max, and the first hole
 *   is retransmitted at once. Every un-SACKed byte below the highest SACKed one counts as lost;
 *   pipe = flight - SACKed - lost + retransmitted-in-this-recovery, and on each ACK the holes
 *   are retransmitted lowest first, each once per recovery (high_retransmit), as TSO segments
 *   while pipe + segment <= cwnd; then new data under the same pipe limit. Partial ACKs do not
 *   deflate cwnd; the ACK of recover ends recovery as in NewReno.
 *   Timeout: ssthresh as above, cwnd = 1 SMSS (the loss window), recovery abandoned, SACK
 *   scoreboard cleared.
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
		if (socket->sack_permitted)
			return true; /* SACK recovery: the pipe, not cwnd inflation, paces */
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
	if (socket->sack_permitted)
		return; /* tcp_sack_after_ack decides */
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
	socket->sacked_count = 0;
}

void tcp_sack_record(struct net_tcp_socket *socket, const struct tcp_segment *segment)
{
	struct tcp_range ranges[TCP_SACK_SCOREBOARD + TCP_SACK_MAX_RECEIVED_BLOCKS];
	uint32_t count = socket->sacked_count, i, j, kept;

	memcpy(ranges, socket->sacked, count * sizeof(ranges[0]));
	for (i = 0; i < segment->sack_count; i++) {
		uint32_t left = segment->sack_blocks[i][0], right = segment->sack_blocks[i][1];

		if (!seq_lt(left, right) || seq_lt(left, socket->send_unacknowledged) ||
		    seq_gt(right, socket->send_max))
			continue; /* invalid (or a D-SACK below the ACK): ignored */
		ranges[count].start = left;
		ranges[count].end = right;
		count++;
	}
	if (count == socket->sacked_count)
		return;
	/* Sort by start (few entries: insertion sort), then merge overlapping or touching. */
	for (i = 1; i < count; i++) {
		struct tcp_range range = ranges[i];

		for (j = i; j > 0 && seq_gt(ranges[j - 1].start, range.start); j--)
			ranges[j] = ranges[j - 1];
		ranges[j] = range;
	}
	kept = 0;
	for (i = 0; i < count; i++) {
		if (kept > 0 && seq_le(ranges[i].start, ranges[kept - 1].end)) {
			if (seq_gt(ranges[i].end, ranges[kept - 1].end))
				ranges[kept - 1].end = ranges[i].end;
			continue;
		}
		ranges[kept++] = ranges[i];
	}
	/* Too many: forget the highest ranges (that only makes us more conservative). */
	if (kept > TCP_SACK_SCOREBOARD)
		kept = TCP_SACK_SCOREBOARD;
	memcpy(socket->sacked, ranges, kept * sizeof(ranges[0]));
	socket->sacked_count = kept;
}

void tcp_sack_prune(struct net_tcp_socket *socket)
{
	uint32_t una = socket->send_unacknowledged, i, kept = 0;

	for (i = 0; i < socket->sacked_count; i++) {
		struct tcp_range range = socket->sacked[i];

		if (seq_le(range.end, una))
			continue;
		if (seq_lt(range.start, una))
			range.start = una;
		socket->sacked[kept++] = range;
	}
	socket->sacked_count = kept;
}

static uint32_t sacked_bytes(const struct net_tcp_socket *socket)
{
	uint32_t i, total = 0;

	for (i = 0; i < socket->sacked_count; i++)
		total += socket->sacked[i].end - socket->sacked[i].start;
	return total;
}

/* SACKed bytes in [send_unacknowledged, limit). */
static uint32_t sacked_below(const struct net_tcp_socket *socket, uint32_t limit)
{
	uint32_t i, total = 0;

	for (i = 0; i < socket->sacked_count; i++) {
		const struct tcp_range *range = &socket->sacked[i];

		if (seq_ge(range->start, limit))
			break;
		total += (seq_lt(range->end, limit) ? range->end : limit) - range->start;
	}
	return total;
}

uint32_t tcp_pipe(const struct net_tcp_socket *socket)
{
	uint32_t una = socket->send_unacknowledged, high, lost, retransmitted, limit;

	if (!socket->in_recovery || !socket->sack_permitted || socket->sacked_count == 0) {
		if (socket->in_recovery && socket->sack_permitted &&
		    seq_gt(socket->high_retransmit, una))
			return socket->send_max - una; /* nothing SACKed: all of it is out there */
		return socket->send_next - una;
	}
	high = socket->sacked[socket->sacked_count - 1].end;
	lost = (high - una) - sacked_bytes(socket);
	limit = seq_lt(socket->high_retransmit, high) ? socket->high_retransmit : high;
	retransmitted = seq_gt(limit, una) ? (limit - una) - sacked_below(socket, limit) : 0;
	return socket->send_max - una - sacked_bytes(socket) - lost + retransmitted;
}

/* The next hole to retransmit: un-SACKed bytes from max(high_retransmit, una) up to the next
 * SACKed range (holes above the highest SACKed byte are not known lost). */
static bool next_hole(const struct net_tcp_socket *socket, uint32_t *start, uint32_t *end)
{
	uint32_t from = socket->send_unacknowledged, i;

	if (seq_gt(socket->high_retransmit, from))
		from = socket->high_retransmit;
	for (i = 0; i < socket->sacked_count; i++) {
		const struct tcp_range *range = &socket->sacked[i];

		if (seq_le(range->end, from))
			continue;
		if (seq_le(range->start, from)) {
			from = range->end;
			continue;
		}
		*start = from;
		*end = range->start;
		return true;
	}
	return false;
}

/* Retransmit holes while the pipe leaves room; the first (on entering recovery) regardless. */
static void retransmit_holes(struct net_tcp_socket *socket, bool first)
{
	uint32_t mss = socket->send_mss, data_end, start, end, length, room, pipe, maximum, sent;

	maximum = socket->tso_max > mss ? socket->tso_max : mss;
	for (;;) {
		data_end = socket->send_buffer_sequence + socket->send_buffer.used;
		if (!next_hole(socket, &start, &end) || !seq_lt(start, data_end))
			return;
		if (seq_gt(end, data_end))
			end = data_end;
		pipe = tcp_pipe(socket);
		room = socket->congestion_window > pipe ? socket->congestion_window - pipe : 0;
		if (room < mss) {
			if (!first)
				return;
			room = mss;
		}
		length = end - start;
		if (length > maximum)
			length = maximum;
		if (length > room)
			length = room;
		if (length > mss && length < end - start)
			length -= length % mss;
		sent = tcp_retransmit_data(socket, start, length);
		if (sent == 0)
			return;
		socket->high_retransmit = start + sent;
		first = false;
	}
}

void tcp_sack_after_ack(struct net_tcp_socket *socket)
{
	uint32_t una = socket->send_unacknowledged;
	bool probe_sacked;

	if (socket->in_recovery) {
		retransmit_holes(socket, false);
		return;
	}
	if (socket->send_max == una || seq_lt(una, socket->recover))
		return; /* nothing out, or losses of a window already recovered (RFC 6582 3.2) */
	/* A loss probe SACKed (RFC 8985 7.4): what lies unSACKed below it was lost. */
	probe_sacked = socket->probe_sent && socket->sacked_count > 0 &&
		       seq_ge(socket->sacked[socket->sacked_count - 1].end, socket->probe_end);
	if (socket->duplicate_acks < 3 && sacked_bytes(socket) < 3u * socket->send_mss &&
	    !probe_sacked)
		return;
	socket->slow_start_threshold = half_flight(socket);
	socket->congestion_window = socket->slow_start_threshold;
	socket->recover = socket->send_max;
	socket->in_recovery = true;
	socket->high_retransmit = una;
	socket->statistics.fast_retransmits++;
	if (socket->sacked_count == 0) {
		/* Duplicate ACKs without blocks: the first segment, as in plain fast retransmit. */
		uint32_t data_end = socket->send_buffer_sequence + socket->send_buffer.used;
		uint32_t length = seq_lt(una, data_end) ? data_end - una : 0;

		if (length > socket->send_mss)
			length = socket->send_mss;
		if (length == 0) {
			tcp_retransmit_first(socket); /* a lone FIN */
			return;
		}
		socket->high_retransmit = una + tcp_retransmit_data(socket, una, length);
		return;
	}
	retransmit_holes(socket, true);
}
