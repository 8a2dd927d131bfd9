/*
 * UDP data: paced sending and iperf3's receive accounting.
 *
 * Each datagram starts with big-endian seconds, microseconds and a packet counter (32 bits, or
 * 64 with udp_counters_64bit) counting from 1. A sender sends while the bytes sent so far are
 * below rate x elapsed time, and otherwise arms the pace timer for when the next datagram is
 * due, so it sleeps between datagrams. A receiver counts as iperf_udp_recv() does: a counter
 * above the highest seen + 1 adds the gap to the lost count, one below it is out of order (and
 * takes one back from the lost count), and jitter is the RFC 1889 running average of transit
 * time differences, in seconds.
 */
#include <stdio.h>
#include <string.h>

#include <ringvisor/kernel.h>
#include <ringvisor/network.h>

#include "iperf3.h"

/* Datagrams per stream per loop turn at most: the NIC's ring holds 256 frames. */
#define SEND_BURST 64
#define RECEIVE_BURST 256

static void store_be32(uint8_t *p, uint32_t value)
{
	p[0] = (uint8_t)(value >> 24);
	p[1] = (uint8_t)(value >> 16);
	p[2] = (uint8_t)(value >> 8);
	p[3] = (uint8_t)value;
}

static uint32_t load_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

bool udp_stream_send(struct test *test, struct stream *stream, uint64_t now_ns,
		     uint64_t *next_due_ns)
{
	size_t length = test->settings.length;
	uint64_t rate = test->settings.bandwidth;
	uint64_t elapsed = now_ns - test->start_ns;
	bool moved = false;
	for (int burst = 0; burst < SEND_BURST; burst++) {
		if (test_send_limit_reached(test))
			break;
		if (rate) {
			/* Due when bits sent <= rate x elapsed. */
			uint64_t due_ns =
				(uint64_t)((double)stream->bytes * 8 * 1e9 / (double)rate);
			if (due_ns > elapsed) {
				uint64_t due = test->start_ns + due_ns;
				if (due < *next_due_ns)
					*next_due_ns = due;
				break;
			}
		}
		/* Keep the datagram rather than lose fragments to a full ring; the network wakes
		 * the loop when buffers come back. */
		if (!network_transmit_ready(length + 8))
			break;
		uint64_t now = clock_now_ns();
		uint8_t *datagram = test->pattern;
		uint64_t counter = stream->packets_sent + 1;
		store_be32(datagram, (uint32_t)(now / 1000000000ull));
		store_be32(datagram + 4, (uint32_t)(now % 1000000000ull / 1000));
		if (test->settings.udp_counters_64bit) {
			store_be32(datagram + 8, (uint32_t)(counter >> 32));
			store_be32(datagram + 12, (uint32_t)counter);
		} else {
			store_be32(datagram + 8, (uint32_t)counter);
		}
		int sent = net_udp_send_to(stream->udp, stream->peer.address, stream->peer.port,
					   datagram, length);
		if (sent < 0)
			break;
		moved = true;
		stream->packets_sent++;
		stream->interval_packets++;
		stream->bytes += length;
		stream->interval_bytes += length;
		test->bytes_sent_total += length;
		test->blocks_sent_total++;
	}
	/* Unlimited rate, or a burst cut short while due: come back on the next turn. */
	if (moved && (!rate || *next_due_ns == UINT64_MAX))
		*next_due_ns = now_ns;
	return moved;
}

void udp_stream_receive(struct test *test, struct stream *stream, const uint8_t *datagram,
			size_t length, uint64_t now_ns)
{
	size_t header = test->settings.udp_counters_64bit ? 16 : 12;
	if (length < header || !test->running)
		return;
	uint32_t seconds = load_be32(datagram);
	uint32_t microseconds = load_be32(datagram + 4);
	uint64_t counter = load_be32(datagram + 8);
	if (test->settings.udp_counters_64bit)
		counter = counter << 32 | load_be32(datagram + 12);

	stream->bytes += length;
	stream->interval_bytes += length;
	stream->packets_received++;
	stream->interval_packets++;
	if (counter >= stream->packet_count + 1) {
		if (counter > stream->packet_count + 1)
			stream->errors += (int64_t)(counter - 1 - stream->packet_count);
		stream->packet_count = counter;
	} else {
		stream->out_of_order++;
		if (stream->errors > 0)
			stream->errors--;
	}

	/*
	 * Transit time: the two clocks differ by a constant (the guest has no wall clock, ours
	 * counts from boot), which cancels in the differences. The first datagram only sets the
	 * reference, so that the offset itself never counts as jitter.
	 */
	double sent = (double)seconds + (double)microseconds / 1e6;
	double arrived = (double)now_ns / 1e9;
	double transit = arrived - sent;
	if (stream->have_transit) {
		double difference = transit - stream->previous_transit;
		if (difference < 0)
			difference = -difference;
		stream->jitter += (difference - stream->jitter) / 16.0;
	}
	stream->previous_transit = transit;
	stream->have_transit = true;
}

bool udp_socket_drain(struct test *test, struct net_udp_socket *socket, struct stream *only)
{
	bool moved = false;
	for (int count = 0; count < RECEIVE_BURST; count++) {
		struct net_udp_endpoint from;
		int length = net_udp_receive_from(socket, test->scratch, test->scratch_size, &from);
		if (length < 0)
			break;
		moved = true;
		struct stream *stream = only ? only : test_find_udp_stream(test, &from);
		if (!stream || stream->sender)
			continue;
		size_t kept =
			(size_t)length < test->scratch_size ? (size_t)length : test->scratch_size;
		udp_stream_receive(test, stream, test->scratch, kept, clock_now_ns());
	}
	return moved;
}
