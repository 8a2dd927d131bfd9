/*
 * A test's streams and their life (creation, start, stop, teardown), and TCP data: a sender
 * keeps the connection's send buffer full from the pattern buffer, a receiver drains into the
 * scratch buffer. Both stop at NET_ERROR_WOULD_BLOCK and wait for the next loop turn, which
 * comes when the stack has news (an ACK, data), so an idle test sleeps.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ringvisor/kernel.h>
#include <ringvisor/network.h>

#include "iperf3.h"

/* Bytes moved per stream per loop turn at most, so that one stream cannot starve the others
 * or the control connection. */
#define TURN_BUDGET (1024u * 1024)
#define SCRATCH_MIN (128u * 1024)

static void on_pace_timer(struct timer *timer, void *argument)
{
	(void)timer;
	(void)argument; /* waking the loop is all it is for: the poller sends what is due */
}

static void on_interval_timer(struct timer *timer, void *argument)
{
	struct test *test = argument;
	test->interval_due = true;
	timer_arm(timer, timer->deadline_ns + (uint64_t)test->interval * 1000000000ull);
}

struct stream *test_add_stream(struct test *test, bool sender)
{
	if (test->stream_count >= IPERF_MAX_STREAMS)
		return NULL;
	if (!test->streams) {
		test->streams = calloc(IPERF_MAX_STREAMS, sizeof *test->streams);
		if (!test->streams)
			return NULL;
	}
	struct stream *stream = &test->streams[test->stream_count];
	memset(stream, 0, sizeof *stream);
	/* iperf3 numbers streams 1, 3, 4, 5, ...: 2 was once the control connection. */
	stream->id = test->stream_count == 0 ? 1 : (int)test->stream_count + 2;
	stream->sender = sender;
	test->stream_count++;
	return stream;
}

bool test_prepare(struct test *test, uint32_t interval)
{
	size_t length = test->settings.length;
	test->pattern = malloc(length);
	test->scratch_size = length > SCRATCH_MIN ? length : SCRATCH_MIN;
	if (test->settings.udp && test->scratch_size < IPERF_MAX_UDP_LENGTH)
		test->scratch_size = IPERF_MAX_UDP_LENGTH;
	test->scratch = malloc(test->scratch_size);
	if (!test->pattern || !test->scratch)
		return false;
	/* iperf3 sends a repeating pattern of digits unless told to use random data. */
	for (size_t index = 0; index < length; index++)
		test->pattern[index] = (uint8_t)('0' + index % 10);
	timer_init(&test->pace_timer, on_pace_timer, test);
	timer_init(&test->interval_timer, on_interval_timer, test);
	test->interval = interval;
	return true;
}

void test_start(struct test *test)
{
	uint64_t now = clock_now_ns();
	test->start_ns = now;
	test->interval_start_ns = now;
	test->running = true;
	test->sending = true;
	for (unsigned index = 0; index < test->stream_count; index++) {
		struct stream *stream = &test->streams[index];
		if (stream->tcp) {
			struct net_tcp_statistics statistics;
			net_tcp_get_statistics(stream->tcp, &statistics);
			stream->retransmits_at_start = statistics.retransmits;
		}
	}
	if (test->interval)
		timer_arm(&test->interval_timer, now + (uint64_t)test->interval * 1000000000ull);
}

void test_stop(struct test *test)
{
	if (!test->running)
		return;
	/* What already arrived counts. */
	test->sending = false;
	test_service(test);
	test->running = false;
	test->end_ns = clock_now_ns();
	for (unsigned index = 0; index < test->stream_count; index++) {
		struct stream *stream = &test->streams[index];
		stream->retransmits = -1;
		if (stream->tcp && stream->sender) {
			struct net_tcp_statistics statistics;
			net_tcp_get_statistics(stream->tcp, &statistics);
			stream->retransmits =
				(int64_t)(statistics.retransmits - stream->retransmits_at_start);
		}
	}
	timer_cancel(&test->pace_timer);
	timer_cancel(&test->interval_timer);
	/* The last, partial interval, as iperf3 prints it. */
	if (test->interval && test->end_ns - test->interval_start_ns > 100000000ull)
		print_interval(test);
}

void test_close_streams(struct test *test)
{
	for (unsigned index = 0; index < test->stream_count; index++) {
		struct stream *stream = &test->streams[index];
		if (stream->tcp) {
			/* Unread data would make the close a reset: take it first. */
			while (test->scratch &&
			       net_tcp_receive(stream->tcp, test->scratch, test->scratch_size) > 0)
				;
			net_tcp_close(stream->tcp);
			stream->tcp = NULL;
		}
		/* The server's UDP socket is shared and outlives the test. */
		if (stream->udp && !test->is_server)
			net_udp_close(stream->udp);
		stream->udp = NULL;
		stream->ready = false;
	}
}

void test_free(struct test *test)
{
	test_close_streams(test);
	if (test->pattern) {
		timer_cancel(&test->pace_timer);
		timer_cancel(&test->interval_timer);
	}
	free(test->streams);
	free(test->pattern);
	free(test->scratch);
	memset(test, 0, sizeof *test);
}

struct stream *test_find_udp_stream(struct test *test, const struct net_udp_endpoint *peer)
{
	for (unsigned index = 0; index < test->stream_count; index++) {
		struct stream *stream = &test->streams[index];
		if (stream->peer.address == peer->address && stream->peer.port == peer->port)
			return stream;
	}
	return NULL;
}

uint64_t test_elapsed_ns(const struct test *test)
{
	return (test->running ? clock_now_ns() : test->end_ns) - test->start_ns;
}

bool test_send_limit_reached(const struct test *test)
{
	return (test->settings.bytes && test->bytes_sent_total >= test->settings.bytes) ||
	       (test->settings.blocks && test->blocks_sent_total >= test->settings.blocks);
}

static bool tcp_send(struct test *test, struct stream *stream)
{
	bool moved = false;
	size_t budget = TURN_BUDGET;
	size_t length = test->settings.length;
	while (budget > 0 && test->sending && !test_send_limit_reached(test)) {
		size_t chunk = length - stream->block_offset;
		if (test->settings.bytes && test->settings.bytes - test->bytes_sent_total < chunk)
			chunk = (size_t)(test->settings.bytes - test->bytes_sent_total);
		/*
		 * Small writes (-l 1000 -N) go out as one segment each at once; when the NIC's
		 * ring cannot take them the driver drops them and TCP must retransmit. Wait for
		 * buffers instead (the network wakes the loop when they come back). Large writes
		 * go out as TSO segments, a frame per 64 KiB, and the window limits them anyway.
		 */
		if (chunk < 65536 && !network_transmit_ready(chunk))
			break;
		int sent = net_tcp_send(stream->tcp, test->pattern + stream->block_offset, chunk);
		if (sent == NET_ERROR_WOULD_BLOCK)
			break;
		if (sent < 0) {
			stream->finished = true;
			break;
		}
		moved = true;
		stream->bytes += (uint64_t)sent;
		stream->interval_bytes += (uint64_t)sent;
		test->bytes_sent_total += (uint64_t)sent;
		stream->block_offset += (size_t)sent;
		if (stream->block_offset == length) {
			stream->block_offset = 0;
			test->blocks_sent_total++;
		}
		budget = (size_t)sent >= budget ? 0 : budget - (size_t)sent;
	}
	return moved;
}

static bool tcp_receive(struct test *test, struct stream *stream)
{
	bool moved = false;
	size_t budget = TURN_BUDGET;
	while (budget > 0 && !stream->finished) {
		int received = net_tcp_receive(stream->tcp, test->scratch, test->scratch_size);
		if (received == NET_ERROR_WOULD_BLOCK)
			break;
		moved = true;
		if (received <= 0) {
			stream->finished = true;
			break;
		}
		if (test->running) {
			stream->bytes += (uint64_t)received;
			stream->interval_bytes += (uint64_t)received;
		}
		budget = (size_t)received >= budget ? 0 : budget - (size_t)received;
	}
	return moved;
}

bool tcp_stream_service(struct test *test, struct stream *stream)
{
	if (!stream->tcp || stream->finished)
		return false;
	return stream->sender ? tcp_send(test, stream) : tcp_receive(test, stream);
}

bool test_service(struct test *test)
{
	bool moved = false;
	uint64_t now = clock_now_ns();
	uint64_t next_due = UINT64_MAX;
	bool server_udp_drained = false;
	for (unsigned index = 0; index < test->stream_count; index++) {
		struct stream *stream = &test->streams[index];
		if (!stream->ready)
			continue;
		if (stream->tcp) {
			moved |= tcp_stream_service(test, stream);
		} else if (stream->udp) {
			if (stream->sender) {
				if (test->sending)
					moved |= udp_stream_send(test, stream, now, &next_due);
			} else if (test->is_server) {
				if (!server_udp_drained)
					moved |= udp_socket_drain(test, stream->udp, NULL);
				server_udp_drained = true;
			} else {
				moved |= udp_socket_drain(test, stream->udp, stream);
			}
		}
	}
	if (test->sending && next_due != UINT64_MAX && next_due > now &&
	    (!test->pace_timer.armed || test->pace_timer.deadline_ns != next_due))
		timer_arm(&test->pace_timer, next_due);
	if (test->interval_due) {
		test->interval_due = false;
		if (test->running)
			print_interval(test);
	}
	return moved;
}
