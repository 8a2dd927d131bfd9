/*
 * tcp_internal.h - TCP's structures and the calls between its files.
 *
 *   tcp.c            sockets, the connection table, ports, initial sequence numbers, the API
 *   tcp_buffer.c     the send and receive ring buffers and the out-of-order ranges
 *   tcp_input.c      segment arrival (RFC 9293 3.10.7), for listeners and connections
 *   tcp_output.c     building segments: data, SYN, FIN, ACK, RST, probes; what to send now
 *   tcp_timers.c     retransmission, persist, delayed ACK, keepalive, TIME_WAIT
 *   tcp_congestion.c RTT estimation (RFC 6298), slow start and avoidance (RFC 5681), NewReno,
 *                    SACK scoreboard and loss recovery (RFC 6675, simplified)
 *
 * Sequence space of a connection (all uint32_t, compared modulo 2^32 with the seq_* helpers):
 *   initial_send_sequence (our SYN) ... send_unacknowledged ... send_next ... send_max
 * The send buffer holds the unacknowledged and unsent data; its first byte has sequence
 * send_buffer_sequence (initial_send_sequence + 1 + bytes acknowledged). A FIN, once queued,
 * sits just after the last buffered byte.
 */
#ifndef RINGVISOR_NET_TCP_INTERNAL_H
#define RINGVISOR_NET_TCP_INTERNAL_H

#include "net_internal.h"

#define TCP_HEADER_SIZE 20
#define TCP_MAX_HEADER_SIZE 60
#define TCP_FLAG_FIN 0x01
#define TCP_FLAG_SYN 0x02
#define TCP_FLAG_RST 0x04
#define TCP_FLAG_PSH 0x08
#define TCP_FLAG_ACK 0x10
#define TCP_FLAG_URG 0x20

#define TCP_OPTION_END 0
#define TCP_OPTION_NOP 1
#define TCP_OPTION_MSS 2
#define TCP_OPTION_WINDOW_SCALE 3
#define TCP_OPTION_SACK_PERMITTED 4 /* RFC 2018 */
#define TCP_OPTION_SACK 5

#define TCP_DEFAULT_MSS 536	       /* RFC 9293 3.7.1: assumed when the SYN has no MSS option */
#define TCP_MAX_WINDOW_SCALE 14	       /* RFC 7323 2.3 */
#define TCP_INITIAL_WINDOW_SEGMENTS 10 /* RFC 6928 */
#define TCP_OUT_OF_ORDER_RANGES 8      /* holes we remember; more and the segment is dropped */
#define TCP_SACK_MAX_BLOCKS 3	       /* RFC 2018 3: with NOP NOP, 4 + 8 * 3 = 28 option bytes */
#define TCP_SACK_MAX_RECEIVED_BLOCKS 4 /* in a peer's option: 2 + 8 * 4 = 34 of 40 bytes */
#define TCP_SACK_SCOREBOARD 8	       /* SACKed ranges above send_unacknowledged we remember */
#define TCP_TSO_MAX_PAYLOAD (65535 - IPV4_HEADER_SIZE - TCP_MAX_HEADER_SIZE)
#define TCP_INITIAL_RTO_NS 1000000000ull /* RFC 6298 2.1 */
#define TCP_MAX_RTO_NS 60000000000ull
#define TCP_SYN_RETRIES 6
#define TCP_DATA_RETRIES 15
#define TCP_FIN_WAIT_2_TIMEOUT_NS 60000000000ull /* an orphan waiting for the peer's FIN */
#define TCP_MIN_PROBE_TIMEOUT_NS 10000000ull	 /* RFC 8985 7.2: PTO at least 10 ms */

static inline bool seq_lt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}
static inline bool seq_le(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) <= 0;
}
static inline bool seq_gt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) > 0;
}
static inline bool seq_ge(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) >= 0;
}

/* A byte ring: used bytes start at head. */
struct tcp_ring {
	uint8_t *data;
	uint32_t size;
	uint32_t head;
	uint32_t used;
};

/* Out-of-order data already copied into the receive ring, as offsets from receive_next. */
struct tcp_range {
	uint32_t start, end;
};

enum tcp_timer {
	TCP_TIMER_RETRANSMIT, /* also the persist timer: only one of them runs */
	TCP_TIMER_DELAYED_ACK,
	TCP_TIMER_KEEPALIVE,  /* also FIN_WAIT_2 and TIME_WAIT expiry */
	TCP_TIMER_LOSS_PROBE, /* tail loss probe (RFC 8985 7), earlier than the RTO */
	TCP_TIMER_COUNT
};

struct net_tcp_socket {
	struct net_stack *stack;
	struct net_tcp_socket *next_all;    /* every socket of the stack */
	struct net_tcp_socket *next_hashed; /* in its connection-table bucket */
	struct net_tcp_socket *listener;    /* for a child not accepted yet */
	struct net_tcp_socket *next_child;  /* in the listener's queue */
	struct net_tcp_socket *children;    /* listener: handshaking and established, in order */
	uint32_t child_count;
	uint32_t backlog;

	enum net_tcp_state state;
	bool bound, hashed, orphan, no_delay, keepalive, write_shut, fin_queued, fin_received;
	bool window_scaling, persisting, in_recovery, ack_now, force_send, rtt_measured;
	bool sack_permitted; /* both SYNs carried SACK-permitted: our ACKs carry SACK blocks */
	uint32_t persist_backoff;
	int error;

	uint32_t local_address, remote_address;
	uint16_t local_port, remote_port;
	struct ipv4_route route;

	/* Send side. */
	uint32_t initial_send_sequence;
	uint32_t send_unacknowledged, send_next, send_max;
	uint32_t send_buffer_sequence;
	uint32_t send_window;					      /* scaled */
	uint32_t send_window_update_sequence, send_window_update_ack; /* SND.WL1, SND.WL2 */
	uint32_t max_send_window;
	uint8_t send_window_shift;
	uint16_t send_mss; /* payload per segment (the peer's MSS capped by our MTU) */
	uint32_t tso_max;  /* payload per TSO segment, or send_mss */
	struct tcp_ring send_buffer;

	/* Receive side. */
	uint32_t initial_receive_sequence;
	uint32_t receive_next;
	uint32_t receive_advertised_edge; /* receive_next + the window we last advertised */
	uint8_t receive_window_shift;
	uint16_t receive_mss;		   /* the MSS we advertised */
	uint32_t receive_segment_estimate; /* largest segment seen, for "full-sized" */
	uint32_t unacknowledged_bytes;	   /* received since our last ACK */
	struct tcp_ring receive_buffer;
	uint32_t receive_buffer_size; /* before the ring is allocated */
	struct tcp_range out_of_order[TCP_OUT_OF_ORDER_RANGES];
	uint32_t out_of_order_count;
	/* For SACK blocks, most recent first: a sequence number in each range that received data,
	 * one per range (RFC 2018 4: the newest segment's block first, then recently reported). */
	uint32_t sack_recent[TCP_OUT_OF_ORDER_RANGES];
	uint32_t sack_recent_count;

	/* Congestion control and RTT. */
	uint32_t congestion_window, slow_start_threshold, bytes_acked_in_avoidance;
	uint32_t duplicate_acks, recover;
	/* Sender-side SACK (RFC 6675, simplified): the peer's SACKed [start, end) ranges above
	 * send_unacknowledged, sorted, disjoint; and the end of what this recovery retransmitted
	 * (HighRxt: each hole is retransmitted once per recovery). */
	struct tcp_range sacked[TCP_SACK_SCOREBOARD];
	uint32_t sacked_count;
	uint32_t high_retransmit;
	/* Tail loss probe (RFC 8985 7): a probe was sent for this tail and not yet passed by the
	 * ACK; probe_end is send_max after it (an ACK or SACK reaching it ends the episode). */
	bool probe_sent;
	uint32_t probe_end;
	uint64_t smoothed_rtt_ns, rtt_variation_ns, rto_ns;
	bool rtt_timing;
	uint32_t rtt_sequence;
	uint64_t rtt_start_ns;
	uint32_t retries, keepalive_probes_sent;
	uint64_t last_received_ns;

	uint64_t timers[TCP_TIMER_COUNT]; /* deadlines; NET_NO_DEADLINE when not running */

	struct net_tcp_statistics statistics;
	net_tcp_callback_function callback;
	void *callback_context;
};

/* A parsed, checksummed segment. */
struct tcp_segment {
	const struct ipv4_packet *packet;
	uint32_t sequence, acknowledgment;
	uint16_t source_port, destination_port;
	uint8_t flags;
	uint16_t window; /* unscaled */
	const uint8_t *data;
	uint32_t data_length;
	bool has_mss, has_window_scale, has_sack_permitted;
	uint16_t mss;
	uint8_t window_scale;
	uint32_t sack_count; /* well-formed SACK blocks, absolute [left, right) */
	uint32_t sack_blocks[TCP_SACK_MAX_RECEIVED_BLOCKS][2];
};

static inline uint32_t tcp_segment_length(const struct tcp_segment *segment)
{
	return segment->data_length + ((segment->flags & TCP_FLAG_SYN) ? 1 : 0) +
	       ((segment->flags & TCP_FLAG_FIN) ? 1 : 0);
}

/* tcp.c */
struct net_tcp_socket *tcp_lookup(struct net_stack *stack, uint32_t local_address,
				  uint16_t local_port, uint32_t remote_address,
				  uint16_t remote_port);
struct net_tcp_socket *tcp_find_listener(struct net_stack *stack, uint32_t address, uint16_t port);
struct net_tcp_socket *tcp_socket_allocate(struct net_stack *stack);
void tcp_hash_insert(struct net_tcp_socket *socket);
uint32_t tcp_initial_sequence(struct net_stack *stack, uint32_t local_address, uint16_t local_port,
			      uint32_t remote_address, uint16_t remote_port);
int tcp_allocate_buffers(struct net_tcp_socket *socket);
void tcp_set_state(struct net_tcp_socket *socket, enum net_tcp_state state);
/* The connection is over (reset, timeout, or finished): unhash, free buffers, maybe free. */
void tcp_connection_done(struct net_tcp_socket *socket, int error);
void tcp_notify(struct net_tcp_socket *socket);
/* A child finished its handshake. */
void tcp_child_established(struct net_tcp_socket *child);
uint8_t tcp_window_shift_for(uint32_t buffer_size);

/* tcp_buffer.c */
int tcp_ring_allocate(struct net_stack *stack, struct tcp_ring *ring, uint32_t size);
void tcp_ring_free(struct net_stack *stack, struct tcp_ring *ring);
uint32_t tcp_ring_append(struct tcp_ring *ring, const uint8_t *data, uint32_t length);
void tcp_ring_write_at(struct tcp_ring *ring, uint32_t offset, const uint8_t *data,
		       uint32_t length);
void tcp_ring_copy_out(const struct tcp_ring *ring, uint32_t offset, uint8_t *out, uint32_t length);
void tcp_ring_consume(struct tcp_ring *ring, uint32_t length);
/* Add received data at offset from receive_next (in-order data has offset 0). Returns the
 * bytes now in order (to add to receive_next), or -1 if there is no room for another range. */
int64_t tcp_receive_data(struct net_tcp_socket *socket, uint32_t offset, const uint8_t *data,
			 uint32_t length);

/* The SACK blocks (absolute [left, right) sequence numbers) our next ACK carries, newest first;
 * returns their count (0 without SACK or without out-of-order data). */
uint32_t tcp_sack_blocks(struct net_tcp_socket *socket, uint32_t blocks[TCP_SACK_MAX_BLOCKS][2]);

/* tcp_output.c */
/* Send what the windows, Nagle and the state allow (data, FIN, SYN retransmission). */
void tcp_output(struct net_tcp_socket *socket);
void tcp_send_syn(struct net_tcp_socket *socket);
void tcp_send_ack(struct net_tcp_socket *socket);
void tcp_send_reset_for(struct net_tcp_socket *socket);
/* Answer an unwanted segment with a RST (RFC 9293 3.10.7.1), unless it is one. */
void tcp_send_reset_reply(const struct tcp_segment *segment);
void tcp_send_window_probe(struct net_tcp_socket *socket);
/* Tail loss probe: up to one MSS of new data if the peer's window allows, else the last MSS of
 * the highest data sent again (the FIN alone if only it is out). */
void tcp_send_loss_probe(struct net_tcp_socket *socket);
/* Retransmit the segment at send_unacknowledged (fast retransmit, partial ACKs). */
void tcp_retransmit_first(struct net_tcp_socket *socket);
/* Retransmit data [sequence, sequence + length) (within the send buffer) in one segment, a TSO
 * one if longer than the MSS; returns the bytes sent (0 if nothing could be). */
uint32_t tcp_retransmit_data(struct net_tcp_socket *socket, uint32_t sequence, uint32_t length);
uint32_t tcp_receive_window(struct net_tcp_socket *socket);
/* After the application read: send a window update if the window opened enough. */
void tcp_maybe_window_update(struct net_tcp_socket *socket);

/* tcp_timers.c */
void tcp_timer_set(struct net_tcp_socket *socket, enum tcp_timer timer, uint64_t delay_ns);
void tcp_timer_stop(struct net_tcp_socket *socket, enum tcp_timer timer);
/* After sending or acknowledging: run the retransmit timer iff data is outstanding, and the
 * loss probe timer too while not recovering (restarted if restart or not running). */
void tcp_rearm_retransmit(struct net_tcp_socket *socket, bool restart);
void tcp_enter_time_wait(struct net_tcp_socket *socket);
void tcp_restart_keepalive(struct net_tcp_socket *socket);

/* tcp_congestion.c */
void tcp_congestion_init(struct net_tcp_socket *socket);
void tcp_rtt_sample(struct net_tcp_socket *socket, uint64_t rtt_ns);
/* A new ACK covering acked bytes (may end a recovery); returns true if it was a partial ACK. */
bool tcp_congestion_on_ack(struct net_tcp_socket *socket, uint32_t acknowledgment, uint32_t acked);
/* A duplicate ACK; may start fast retransmit. */
void tcp_congestion_on_duplicate_ack(struct net_tcp_socket *socket);
void tcp_congestion_on_timeout(struct net_tcp_socket *socket);
uint32_t tcp_flight_size(const struct net_tcp_socket *socket);
/* SACK: record an ACK's blocks (call before send_unacknowledged advances to it; invalid blocks
 * are ignored), drop what send_unacknowledged passed, and after the ACK is processed, enter
 * recovery or retransmit holes as the scoreboard and the pipe allow. */
void tcp_sack_record(struct net_tcp_socket *socket, const struct tcp_segment *segment);
void tcp_sack_prune(struct net_tcp_socket *socket);
void tcp_sack_after_ack(struct net_tcp_socket *socket);
/* Bytes estimated in the network (RFC 6675 pipe) during SACK recovery, else send_next - una. */
uint32_t tcp_pipe(const struct net_tcp_socket *socket);

/* The states in which a connection may (re)send data or a FIN: it is synchronized and our side
 * has not finished sending everything. */
static inline bool tcp_state_sends_data(enum net_tcp_state state)
{
	return state == NET_TCP_ESTABLISHED || state == NET_TCP_CLOSE_WAIT ||
	       state == NET_TCP_FIN_WAIT_1 || state == NET_TCP_CLOSING || state == NET_TCP_LAST_ACK;
}

#endif
