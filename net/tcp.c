/*
 * tcp.c - TCP sockets: the connection table, ports, initial sequence numbers, and the socket
 * API of net.h.
 *
 * Every socket is on the stack's list (tcp_poll walks it for timers); a connection with a
 * 4-tuple is also in a hash table of TCP_HASH_BUCKETS buckets so arriving segments find it in
 * O(1). Listeners are found by a walk of the list (there are few of them).
 *
 * Initial sequence numbers follow RFC 6528: SipHash-2-4, keyed with a secret drawn once from
 * operations.random, of the 4-tuple, plus the clock in 4 us ticks. Ephemeral ports follow RFC
 * 6056's "double-hash" idea in a simple form: a keyed hash of the destination picks where the
 * search starts, and a counter moves it on.
 *
 * Ownership: the application owns a socket until net_tcp_close(); then it is an orphan that
 * tcp_connection_done() frees when the connection ends. A listener owns its children until
 * net_tcp_accept() hands them over.
 */
#include "byteorder.h"
#include "tcp_internal.h"

#define EPHEMERAL_FIRST 49152u
#define EPHEMERAL_COUNT 16384u

static inline uint64_t rotate_left(uint64_t value, int bits)
{
	return (value << bits) | (value >> (64 - bits));
}

#define SIPHASH_ROUND(v0, v1, v2, v3)                                                              \
	do {                                                                                       \
		v0 += v1;                                                                          \
		v1 = rotate_left(v1, 13);                                                          \
		v1 ^= v0;                                                                          \
		v0 = rotate_left(v0, 32);                                                          \
		v2 += v3;                                                                          \
		v3 = rotate_left(v3, 16);                                                          \
		v3 ^= v2;                                                                          \
		v0 += v3;                                                                          \
		v3 = rotate_left(v3, 21);                                                          \
		v3 ^= v0;                                                                          \
		v2 += v1;                                                                          \
		v1 = rotate_left(v1, 17);                                                          \
		v1 ^= v2;                                                                          \
		v2 = rotate_left(v2, 32);                                                          \
	} while (0)

/* SipHash-2-4 of two 64-bit words (the message is 16 bytes, so the length byte is 16). */
static uint64_t siphash(const uint64_t key[2], uint64_t first, uint64_t second)
{
	uint64_t v0 = key[0] ^ 0x736f6d6570736575ull, v1 = key[1] ^ 0x646f72616e646f6dull;
	uint64_t v2 = key[0] ^ 0x6c7967656e657261ull, v3 = key[1] ^ 0x7465646279746573ull;
	uint64_t words[3] = { first, second, (uint64_t)16 << 56 };
	int i;

	for (i = 0; i < 3; i++) {
		v3 ^= words[i];
		SIPHASH_ROUND(v0, v1, v2, v3);
		SIPHASH_ROUND(v0, v1, v2, v3);
		v0 ^= words[i];
	}
	v2 ^= 0xff;
	for (i = 0; i < 4; i++)
		SIPHASH_ROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

uint32_t tcp_initial_sequence(struct net_stack *stack, uint32_t local_address, uint16_t local_port,
			      uint32_t remote_address, uint16_t remote_port)
{
	uint64_t hash = siphash(stack->tcp.secret, (uint64_t)local_address << 32 | remote_address,
				(uint64_t)local_port << 16 | remote_port);

	return (uint32_t)hash + (uint32_t)(net_now(stack) / 4000);
}

static uint32_t bucket_of(uint32_t local_address, uint16_t local_port, uint32_t remote_address,
			  uint16_t remote_port)
{
	uint32_t hash = local_address * 0x9e3779b1u ^ remote_address * 0x85ebca6bu ^
			((uint32_t)local_port << 16 | remote_port) * 0xc2b2ae35u;

	return (hash ^ hash >> 16) % TCP_HASH_BUCKETS;
}

struct net_tcp_socket *tcp_lookup(struct net_stack *stack, uint32_t local_address,
				  uint16_t local_port, uint32_t remote_address,
				  uint16_t remote_port)
{
	struct net_tcp_socket *socket =
		stack->tcp
			.buckets[bucket_of(local_address, local_port, remote_address, remote_port)];

	for (; socket; socket = socket->next_hashed) {
		if (socket->local_address == local_address && socket->local_port == local_port &&
		    socket->remote_address == remote_address && socket->remote_port == remote_port)
			return socket;
	}
	return NULL;
}

struct net_tcp_socket *tcp_find_listener(struct net_stack *stack, uint32_t address, uint16_t port)
{
	struct net_tcp_socket *socket, *wildcard = NULL;

	for (socket = stack->tcp.all; socket; socket = socket->next_all) {
		if (socket->state != NET_TCP_LISTEN || socket->local_port != port)
			continue;
		if (socket->local_address == address)
			return socket;
		if (socket->local_address == 0)
			wildcard = socket;
	}
	return wildcard;
}

void tcp_hash_insert(struct net_tcp_socket *socket)
{
	struct net_tcp_socket **bucket =
		&socket->stack->tcp.buckets[bucket_of(socket->local_address, socket->local_port,
						      socket->remote_address, socket->remote_port)];

	socket->next_hashed = *bucket;
	*bucket = socket;
	socket->hashed = true;
}

static void hash_remove(struct net_tcp_socket *socket)
{
	struct net_tcp_socket **link =
		&socket->stack->tcp.buckets[bucket_of(socket->local_address, socket->local_port,
						      socket->remote_address, socket->remote_port)];

	if (!socket->hashed)
		return;
	for (; *link; link = &(*link)->next_hashed) {
		if (*link == socket) {
			*link = socket->next_hashed;
			break;
		}
	}
	socket->hashed = false;
}

uint8_t tcp_window_shift_for(uint32_t buffer_size)
{
	uint8_t shift = 0;

	while (shift < TCP_MAX_WINDOW_SCALE && (buffer_size >> shift) > 65535)
		shift++;
	return shift;
}

struct net_tcp_socket *tcp_socket_allocate(struct net_stack *stack)
{
	struct net_tcp_socket *socket;
	int i;

	if (stack->tcp.socket_count >= stack->limits.tcp_max_connections)
		return NULL;
	socket = net_allocate(stack, sizeof(*socket));
	if (!socket)
		return NULL;
	memset(socket, 0, sizeof(*socket));
	socket->stack = stack;
	socket->state = NET_TCP_CLOSED;
	for (i = 0; i < TCP_TIMER_COUNT; i++)
		socket->timers[i] = NET_NO_DEADLINE;
	socket->receive_buffer_size = stack->limits.tcp_receive_buffer_bytes;
	socket->receive_window_shift = tcp_window_shift_for(socket->receive_buffer_size);
	socket->rto_ns = TCP_INITIAL_RTO_NS;
	socket->next_all = stack->tcp.all;
	stack->tcp.all = socket;
	stack->tcp.socket_count++;
	return socket;
}

int tcp_allocate_buffers(struct net_tcp_socket *socket)
{
	struct net_stack *stack = socket->stack;

	if (!socket->send_buffer.data &&
	    tcp_ring_allocate(stack, &socket->send_buffer, stack->limits.tcp_send_buffer_bytes) < 0)
		return NET_ERROR_NO_MEMORY;
	if (!socket->receive_buffer.data &&
	    tcp_ring_allocate(stack, &socket->receive_buffer, socket->receive_buffer_size) < 0) {
		tcp_ring_free(stack, &socket->send_buffer);
		return NET_ERROR_NO_MEMORY;
	}
	return 0;
}

static void free_socket(struct net_tcp_socket *socket)
{
	struct net_stack *stack = socket->stack;
	struct net_tcp_socket **link;

	hash_remove(socket);
	for (link = &stack->tcp.all; *link; link = &(*link)->next_all) {
		if (*link == socket) {
			*link = socket->next_all;
			break;
		}
	}
	stack->tcp.socket_count--;
	tcp_ring_free(stack, &socket->send_buffer);
	tcp_ring_free(stack, &socket->receive_buffer);
	net_free(stack, socket);
}

static void unlink_child(struct net_tcp_socket *child)
{
	struct net_tcp_socket *listener = child->listener, **link;

	if (!listener)
		return;
	for (link = &listener->children; *link; link = &(*link)->next_child) {
		if (*link == child) {
			*link = child->next_child;
			break;
		}
	}
	listener->child_count--;
	child->listener = NULL;
	child->next_child = NULL;
}

void tcp_set_state(struct net_tcp_socket *socket, enum net_tcp_state state)
{
	socket->state = state;
}

uint32_t net_tcp_events(const struct net_tcp_socket *socket)
{
	uint32_t events = 0;
	const struct net_tcp_socket *child;

	if (socket->state == NET_TCP_LISTEN) {
		for (child = socket->children; child; child = child->next_child) {
			if (child->state != NET_TCP_SYN_RECEIVED)
				return NET_TCP_READABLE;
		}
		return 0;
	}
	if (socket->receive_buffer.used > 0 || socket->fin_received || socket->error)
		events |= NET_TCP_READABLE;
	if ((socket->state == NET_TCP_ESTABLISHED || socket->state == NET_TCP_CLOSE_WAIT) &&
	    !socket->write_shut && socket->send_buffer.used < socket->send_buffer.size)
		events |= NET_TCP_WRITABLE;
	if (socket->fin_received)
		events |= NET_TCP_HANGUP;
	if (socket->error)
		events |= NET_TCP_ERROR;
	return events;
}

void tcp_notify(struct net_tcp_socket *socket)
{
	if (socket->listener)
		socket = socket->listener; /* not accepted yet: the listener is who cares */
	if (socket->orphan || !socket->callback)
		return;
	socket->callback(socket, net_tcp_events(socket), socket->callback_context);
}

void tcp_child_established(struct net_tcp_socket *child)
{
	tcp_notify(child);
}

void tcp_connection_done(struct net_tcp_socket *socket, int error)
{
	struct net_stack *stack = socket->stack;
	int i;

	for (i = 0; i < TCP_TIMER_COUNT; i++)
		socket->timers[i] = NET_NO_DEADLINE;
	hash_remove(socket);
	socket->state = NET_TCP_CLOSED;
	if (error && !socket->error)
		socket->error = error;
	if (socket->listener) {
		/* A connection nobody accepted yet: it just goes. */
		unlink_child(socket);
		free_socket(socket);
		return;
	}
	if (socket->orphan) {
		free_socket(socket);
		return;
	}
	/* The application still holds it: keep what it may read unless the connection failed. */
	tcp_ring_free(stack, &socket->send_buffer);
	if (socket->error)
		tcp_ring_free(stack, &socket->receive_buffer);
	tcp_notify(socket);
}

/* Another socket holds port on an overlapping address (children use their listener's port). */
static bool port_in_use(struct net_stack *stack, const struct net_tcp_socket *self,
			uint32_t address, uint16_t port)
{
	struct net_tcp_socket *socket;

	for (socket = stack->tcp.all; socket; socket = socket->next_all) {
		if (socket == self || !socket->bound || socket->local_port != port ||
		    socket->state == NET_TCP_TIME_WAIT || socket->orphan)
			continue;
		if (socket->local_address == 0 || address == 0 || socket->local_address == address)
			return true;
	}
	return false;
}

/* Pick an ephemeral port for a connection (remote_address may be 0 for bind/listen). */
static int choose_port(struct net_tcp_socket *socket, uint32_t local_address,
		       uint32_t remote_address, uint16_t remote_port)
{
	struct net_stack *stack = socket->stack;
	uint32_t offset = (uint32_t)siphash(stack->tcp.secret, remote_address,
					    (uint64_t)remote_port << 32 | local_address);
	uint32_t tries;

	for (tries = 0; tries < EPHEMERAL_COUNT; tries++) {
		uint16_t port =
			(uint16_t)(EPHEMERAL_FIRST +
				   (offset + stack->tcp.next_ephemeral + tries) % EPHEMERAL_COUNT);

		if (port_in_use(stack, socket, local_address, port) ||
		    (remote_address &&
		     tcp_lookup(stack, local_address, port, remote_address, remote_port)))
			continue;
		stack->tcp.next_ephemeral += tries + 1;
		return port;
	}
	return NET_ERROR_ADDRESS_IN_USE;
}

struct net_tcp_socket *net_tcp_open(struct net_stack *stack)
{
	return tcp_socket_allocate(stack);
}

int net_tcp_bind(struct net_tcp_socket *socket, uint32_t address, uint16_t port)
{
	struct net_stack *stack = socket->stack;
	int chosen;

	if (socket->bound || socket->state != NET_TCP_CLOSED)
		return NET_ERROR_INVALID;
	if (address != 0 && !ipv4_is_local_address(stack, address))
		return NET_ERROR_INVALID;
	if (port == 0) {
		chosen = choose_port(socket, address, 0, 0);
		if (chosen < 0)
			return chosen;
		port = (uint16_t)chosen;
	} else if (port_in_use(stack, socket, address, port)) {
		return NET_ERROR_ADDRESS_IN_USE;
	}
	socket->bound = true;
	socket->local_address = address;
	socket->local_port = port;
	return 0;
}

int net_tcp_listen(struct net_tcp_socket *socket, uint32_t backlog)
{
	int result;

	if (socket->state == NET_TCP_LISTEN) {
		socket->backlog = backlog ? backlog : 1;
		return 0;
	}
	if (socket->state != NET_TCP_CLOSED || socket->error || socket->remote_port)
		return NET_ERROR_IS_CONNECTED;
	if (!socket->bound) {
		result = net_tcp_bind(socket, 0, 0);
		if (result < 0)
			return result;
	}
	socket->backlog = backlog ? backlog : 1;
	tcp_set_state(socket, NET_TCP_LISTEN);
	return 0;
}

struct net_tcp_socket *net_tcp_accept(struct net_tcp_socket *listener,
				      struct net_tcp_endpoint *remote)
{
	struct net_tcp_socket *child;

	if (listener->state != NET_TCP_LISTEN)
		return NULL;
	for (child = listener->children; child; child = child->next_child) {
		if (child->state != NET_TCP_SYN_RECEIVED)
			break;
	}
	if (!child)
		return NULL;
	unlink_child(child);
	if (remote) {
		remote->address = child->remote_address;
		remote->port = child->remote_port;
	}
	return child;
}

int net_tcp_connect(struct net_tcp_socket *socket, uint32_t address, uint16_t port)
{
	struct net_stack *stack = socket->stack;
	struct ipv4_route route;
	uint32_t local_address;
	int result;

	if (socket->state != NET_TCP_CLOSED || socket->error || socket->remote_port)
		return NET_ERROR_IS_CONNECTED;
	if (port == 0)
		return NET_ERROR_INVALID;
	result = ipv4_route(stack, address, &route);
	if (result < 0)
		return result;
	if (route.broadcast)
		return NET_ERROR_INVALID;
	local_address = socket->local_address ? socket->local_address : route.source;
	route.source = local_address;
	if (!socket->bound) {
		result = choose_port(socket, local_address, address, port);
		if (result < 0)
			return result;
		socket->local_port = (uint16_t)result;
		socket->bound = true;
	} else if (tcp_lookup(stack, local_address, socket->local_port, address, port)) {
		return NET_ERROR_ADDRESS_IN_USE;
	}
	result = tcp_allocate_buffers(socket);
	if (result < 0)
		return result;
	socket->local_address = local_address;
	socket->remote_address = address;
	socket->remote_port = port;
	socket->route = route;
	socket->receive_mss =
		(uint16_t)(route.interface->config.mtu - IPV4_HEADER_SIZE - TCP_HEADER_SIZE);
	socket->initial_send_sequence =
		tcp_initial_sequence(stack, local_address, socket->local_port, address, port);
	socket->send_unacknowledged = socket->initial_send_sequence;
	socket->send_next = socket->initial_send_sequence;
	socket->send_max = socket->initial_send_sequence;
	socket->send_buffer_sequence = socket->initial_send_sequence + 1;
	tcp_congestion_init(socket);
	tcp_set_state(socket, NET_TCP_SYN_SENT);
	tcp_hash_insert(socket);
	tcp_send_syn(socket);
	return 0;
}

int net_tcp_send(struct net_tcp_socket *socket, const void *data, size_t length)
{
	uint32_t taken;

	if (socket->error)
		return socket->error;
	if (socket->write_shut)
		return NET_ERROR_SHUT_DOWN;
	if (socket->state == NET_TCP_SYN_SENT || socket->state == NET_TCP_SYN_RECEIVED)
		return NET_ERROR_WOULD_BLOCK;
	if (socket->state != NET_TCP_ESTABLISHED && socket->state != NET_TCP_CLOSE_WAIT)
		return NET_ERROR_NOT_CONNECTED;
	if (!data && length != 0)
		return NET_ERROR_INVALID;
	if (length > 0x7fffffff)
		length = 0x7fffffff;
	taken = tcp_ring_append(&socket->send_buffer, data, (uint32_t)length);
	if (taken == 0)
		return length == 0 ? 0 : NET_ERROR_WOULD_BLOCK;
	tcp_output(socket);
	return (int)taken;
}

int net_tcp_receive(struct net_tcp_socket *socket, void *buffer, size_t capacity)
{
	struct tcp_ring *ring = &socket->receive_buffer;
	uint32_t count;

	if (!buffer && capacity != 0)
		return NET_ERROR_INVALID;
	if (ring->data && ring->used > 0) {
		if (capacity > 0x7fffffff)
			capacity = 0x7fffffff;
		count = ring->used < capacity ? ring->used : (uint32_t)capacity;
		tcp_ring_copy_out(ring, 0, buffer, count);
		tcp_ring_consume(ring, count);
		/* Out-of-order ranges are relative to receive_next, which did not move. */
		if (socket->state != NET_TCP_CLOSED)
			tcp_maybe_window_update(socket);
		return (int)count;
	}
	if (socket->error)
		return socket->error;
	if (socket->fin_received)
		return 0;
	switch (socket->state) {
	case NET_TCP_SYN_SENT:
	case NET_TCP_SYN_RECEIVED:
	case NET_TCP_ESTABLISHED:
	case NET_TCP_FIN_WAIT_1:
	case NET_TCP_FIN_WAIT_2:
		return NET_ERROR_WOULD_BLOCK;
	default:
		return NET_ERROR_NOT_CONNECTED;
	}
}

int net_tcp_shutdown(struct net_tcp_socket *socket)
{
	if (socket->write_shut)
		return 0;
	switch (socket->state) {
	case NET_TCP_SYN_SENT:
		socket->write_shut = true;
		tcp_connection_done(socket, 0);
		return 0;
	case NET_TCP_ESTABLISHED:
		tcp_set_state(socket, NET_TCP_FIN_WAIT_1);
		break;
	case NET_TCP_CLOSE_WAIT:
		tcp_set_state(socket, NET_TCP_LAST_ACK);
		break;
	default:
		return socket->error ? socket->error : NET_ERROR_NOT_CONNECTED;
	}
	socket->write_shut = true;
	socket->fin_queued = true;
	tcp_output(socket);
	return 0;
}

static void reset_and_free(struct net_tcp_socket *socket)
{
	switch (socket->state) {
	case NET_TCP_SYN_RECEIVED:
	case NET_TCP_ESTABLISHED:
	case NET_TCP_FIN_WAIT_1:
	case NET_TCP_FIN_WAIT_2:
	case NET_TCP_CLOSE_WAIT:
		tcp_send_reset_for(socket);
		break;
	default:
		break;
	}
	socket->orphan = true;
	if (socket->state == NET_TCP_CLOSED && !socket->listener) {
		free_socket(socket);
		return;
	}
	tcp_connection_done(socket, 0);
}

static void close_listener(struct net_tcp_socket *listener)
{
	while (listener->children)
		reset_and_free(listener->children);
	free_socket(listener);
}

void net_tcp_abort(struct net_tcp_socket *socket)
{
	if (socket->state == NET_TCP_LISTEN) {
		close_listener(socket);
		return;
	}
	reset_and_free(socket);
}

void net_tcp_close(struct net_tcp_socket *socket)
{
	switch (socket->state) {
	case NET_TCP_LISTEN:
		close_listener(socket);
		return;
	case NET_TCP_CLOSED:
		free_socket(socket);
		return;
	case NET_TCP_SYN_SENT:
		socket->orphan = true;
		tcp_connection_done(socket, 0);
		return;
	default:
		break;
	}
	/* RFC 2525 2.17: data the application will never read means the peer must know. */
	if (socket->receive_buffer.used > 0) {
		reset_and_free(socket);
		return;
	}
	socket->orphan = true;
	socket->callback = NULL;
	if (!socket->write_shut)
		net_tcp_shutdown(socket);
	if (socket->state == NET_TCP_FIN_WAIT_2)
		tcp_timer_set(socket, TCP_TIMER_KEEPALIVE, TCP_FIN_WAIT_2_TIMEOUT_NS);
}

void net_tcp_set_nodelay(struct net_tcp_socket *socket, bool no_delay)
{
	socket->no_delay = no_delay;
	if (no_delay && socket->send_buffer.data)
		tcp_output(socket);
}

void net_tcp_set_keepalive(struct net_tcp_socket *socket, bool enabled)
{
	socket->keepalive = enabled;
	tcp_restart_keepalive(socket);
}

void net_tcp_set_callback(struct net_tcp_socket *socket, net_tcp_callback_function callback,
			  void *context)
{
	socket->callback = callback;
	socket->callback_context = context;
}

enum net_tcp_state net_tcp_state(const struct net_tcp_socket *socket)
{
	return socket->state;
}

const char *net_tcp_state_name(enum net_tcp_state state)
{
	static const char *const names[] = {
		"CLOSED",     "LISTEN",	    "SYN_SENT", "SYN_RECEIVED", "ESTABLISHED", "FIN_WAIT_1",
		"FIN_WAIT_2", "CLOSE_WAIT", "CLOSING",	"LAST_ACK",	"TIME_WAIT",
	};

	return (unsigned)state < sizeof(names) / sizeof(names[0]) ? names[state] : "?";
}

int net_tcp_error(const struct net_tcp_socket *socket)
{
	return socket->error;
}

size_t net_tcp_send_space(const struct net_tcp_socket *socket)
{
	if (socket->write_shut || socket->error ||
	    (socket->state != NET_TCP_ESTABLISHED && socket->state != NET_TCP_CLOSE_WAIT))
		return 0;
	return socket->send_buffer.size - socket->send_buffer.used;
}

void net_tcp_endpoints(const struct net_tcp_socket *socket, struct net_tcp_endpoint *local,
		       struct net_tcp_endpoint *remote)
{
	if (local) {
		local->address = socket->local_address;
		local->port = socket->local_port;
	}
	if (remote) {
		remote->address = socket->remote_address;
		remote->port = socket->remote_port;
	}
}

void net_tcp_get_statistics(const struct net_tcp_socket *socket,
			    struct net_tcp_statistics *statistics)
{
	*statistics = socket->statistics;
	statistics->smoothed_rtt_ns = socket->smoothed_rtt_ns;
	statistics->rtt_variation_ns = socket->rtt_variation_ns;
	statistics->rto_ns = socket->rto_ns;
	statistics->congestion_window = socket->congestion_window;
	statistics->slow_start_threshold = socket->slow_start_threshold;
	statistics->send_window = socket->send_window;
	statistics->send_mss = socket->send_mss;
	statistics->receive_mss = socket->receive_mss;
}

void tcp_destroy_all(struct net_stack *stack)
{
	while (stack->tcp.all)
		free_socket(stack->tcp.all);
}
