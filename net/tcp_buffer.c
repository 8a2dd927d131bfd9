/*
 * tcp_buffer.c - the byte rings behind each connection's send and receive buffers, and the
 * out-of-order ranges of the receive side.
 *
 * The send ring holds the bytes from send_unacknowledged on (sent or not): acknowledged bytes are
 * consumed from its head, the application appends at its tail, and segments are copied out of
 * it at any offset, straight into the frame being built.
 *
 * The receive ring holds the bytes the application has not read (used, from head) and, after
 * them, the window. A segment that arrives ahead of receive_next is copied into the window at
 * its place at once, and only its range [start, end) (offsets from receive_next) is remembered,
 * merged with its neighbours; when the hole before it is filled, the ranges that now touch
 * receive_next become readable without moving a byte. At most TCP_OUT_OF_ORDER_RANGES holes are
 * remembered; a segment that would need another is dropped (the peer sends it again).
 */
#include "tcp_internal.h"

int tcp_ring_allocate(struct net_stack *stack, struct tcp_ring *ring, uint32_t size)
{
	ring->data = net_allocate(stack, size);
	if (!ring->data)
		return NET_ERROR_NO_MEMORY;
	ring->size = size;
	ring->head = 0;
	ring->used = 0;
	return 0;
}

void tcp_ring_free(struct net_stack *stack, struct tcp_ring *ring)
{
	net_free(stack, ring->data);
	ring->data = NULL;
	ring->used = 0;
	ring->head = 0;
}

/* Copy length bytes in at offset from head (offset + length <= size); does not change used. */
void tcp_ring_write_at(struct tcp_ring *ring, uint32_t offset, const uint8_t *data, uint32_t length)
{
	uint32_t position = (ring->head + offset) % ring->size;
	uint32_t first = ring->size - position < length ? ring->size - position : length;

	memcpy(ring->data + position, data, first);
	if (length > first)
		memcpy(ring->data, data + first, length - first);
}

uint32_t tcp_ring_append(struct tcp_ring *ring, const uint8_t *data, uint32_t length)
{
	uint32_t room = ring->size - ring->used;

	if (length > room)
		length = room;
	if (length) {
		tcp_ring_write_at(ring, ring->used, data, length);
		ring->used += length;
	}
	return length;
}

void tcp_ring_copy_out(const struct tcp_ring *ring, uint32_t offset, uint8_t *out, uint32_t length)
{
	uint32_t position = (ring->head + offset) % ring->size;
	uint32_t first = ring->size - position < length ? ring->size - position : length;

	memcpy(out, ring->data + position, first);
	if (length > first)
		memcpy(out + first, ring->data, length - first);
}

void tcp_ring_consume(struct tcp_ring *ring, uint32_t length)
{
	if (length > ring->used)
		length = ring->used;
	ring->head = (ring->head + length) % ring->size;
	ring->used -= length;
	/* head is not reset when empty: out-of-order data may lie beyond used. */
}

/* Insert [start, end) into the sorted, disjoint, non-touching ranges, merging. */
static int add_range(struct net_tcp_socket *socket, uint32_t start, uint32_t end)
{
	struct tcp_range *ranges = socket->out_of_order;
	uint32_t count = socket->out_of_order_count, i = 0, j;

	while (i < count && ranges[i].end < start)
		i++;
	/* ranges[i] is the first that ends at or after start: merge all that touch [start, end). */
	j = i;
	while (j < count && ranges[j].start <= end) {
		if (ranges[j].start < start)
			start = ranges[j].start;
		if (ranges[j].end > end)
			end = ranges[j].end;
		j++;
	}
	if (j == i) {
		if (count == TCP_OUT_OF_ORDER_RANGES)
			return -1;
		memmove(&ranges[i + 1], &ranges[i], (count - i) * sizeof(*ranges));
		count++;
	} else if (j > i + 1) {
		memmove(&ranges[i + 1], &ranges[j], (count - j) * sizeof(*ranges));
		count -= j - i - 1;
	}
	ranges[i].start = start;
	ranges[i].end = end;
	socket->out_of_order_count = count;
	return 0;
}

/* The out-of-order range holding sequence, or -1. */
static int find_range(const struct net_tcp_socket *socket, uint32_t sequence)
{
	uint32_t offset = sequence - socket->receive_next, i;

	for (i = 0; i < socket->out_of_order_count; i++)
		if (socket->out_of_order[i].start <= offset && offset < socket->out_of_order[i].end)
			return (int)i;
	return -1;
}

/* Forget recency entries whose range is gone (now in order) or merged into a newer one's. */
static void prune_sack_recent(struct net_tcp_socket *socket)
{
	uint32_t i, kept = 0, seen = 0;

	for (i = 0; i < socket->sack_recent_count; i++) {
		int range = find_range(socket, socket->sack_recent[i]);

		if (range < 0 || (seen & (1u << range)))
			continue;
		seen |= 1u << range;
		socket->sack_recent[kept++] = socket->sack_recent[i];
	}
	socket->sack_recent_count = kept;
}

/* Out-of-order data arrived at sequence (already in a range): its range goes first. */
static void note_sack_arrival(struct net_tcp_socket *socket, uint32_t sequence)
{
	int range = find_range(socket, sequence);
	uint32_t i, kept = 0;

	prune_sack_recent(socket);
	for (i = 0; i < socket->sack_recent_count; i++)
		if (find_range(socket, socket->sack_recent[i]) != range)
			socket->sack_recent[kept++] = socket->sack_recent[i];
	if (kept == TCP_OUT_OF_ORDER_RANGES)
		kept--; /* cannot happen: one entry per range, and this range has none now */
	memmove(&socket->sack_recent[1], &socket->sack_recent[0],
		kept * sizeof(socket->sack_recent[0]));
	socket->sack_recent[0] = sequence;
	socket->sack_recent_count = kept + 1;
}

uint32_t tcp_sack_blocks(struct net_tcp_socket *socket, uint32_t blocks[TCP_SACK_MAX_BLOCKS][2])
{
	uint32_t count = 0, used = 0, i;

	if (!socket->sack_permitted || socket->out_of_order_count == 0)
		return 0;
	prune_sack_recent(socket);
	/* Newest first, then any range not in the recency list (none, normally). */
	for (i = 0; i < socket->sack_recent_count + socket->out_of_order_count; i++) {
		int range = i < socket->sack_recent_count
				    ? find_range(socket, socket->sack_recent[i])
				    : (int)(i - socket->sack_recent_count);

		if (count == TCP_SACK_MAX_BLOCKS)
			break;
		if (range < 0 || (used & (1u << range)))
			continue;
		used |= 1u << range;
		blocks[count][0] = socket->receive_next + socket->out_of_order[range].start;
		blocks[count][1] = socket->receive_next + socket->out_of_order[range].end;
		count++;
	}
	return count;
}

int64_t tcp_receive_data(struct net_tcp_socket *socket, uint32_t offset, const uint8_t *data,
			 uint32_t length)
{
	struct tcp_ring *ring = &socket->receive_buffer;
	uint32_t in_order = 0, i, shift;

	/* The caller trimmed the segment to the window, so it fits in the free space. */
	if (length == 0 || offset + length > ring->size - ring->used)
		return 0;
	if (offset > 0 && add_range(socket, offset, offset + length) < 0)
		return -1;
	tcp_ring_write_at(ring, ring->used + offset, data, length);
	if (offset > 0) {
		note_sack_arrival(socket, socket->receive_next + offset);
		return 0;
	}
	in_order = length;
	/* Ranges that now touch (or overlap) the in-order data join it. */
	while (socket->out_of_order_count && socket->out_of_order[0].start <= in_order) {
		if (socket->out_of_order[0].end > in_order)
			in_order = socket->out_of_order[0].end;
		memmove(&socket->out_of_order[0], &socket->out_of_order[1],
			(socket->out_of_order_count - 1) * sizeof(struct tcp_range));
		socket->out_of_order_count--;
	}
	/* The remaining ranges are measured from the new receive_next. */
	shift = in_order;
	for (i = 0; i < socket->out_of_order_count; i++) {
		socket->out_of_order[i].start -= shift;
		socket->out_of_order[i].end -= shift;
	}
	ring->used += in_order;
	return in_order;
}
