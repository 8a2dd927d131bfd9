/*
 * What iperf3 prints: interval lines while a test runs and the sender/receiver summary at the
 * end. Transfers are in binary units (KBytes = 1024 bytes) and, for scripts, also in bytes;
 * bitrates are always in Mbits/sec (10^6 bits per second).
 */
#include <stdio.h>
#include <string.h>

#include <ringvisor/kernel.h>

#include "iperf3.h"

const char *format_bytes(char *buffer, size_t size, double bytes)
{
	static const char *const units[] = { "Bytes", "KBytes", "MBytes", "GBytes", "TBytes" };
	unsigned unit = 0;
	while (bytes >= 1024 && unit < 4) {
		bytes /= 1024;
		unit++;
	}
	int precision = bytes < 9.995 ? 2 : bytes < 99.95 ? 1 : 0;
	if (unit == 0)
		precision = 0;
	snprintf(buffer, size, "%.*f %s", precision, bytes, units[unit]);
	return buffer;
}

static double megabits(uint64_t bytes, double seconds)
{
	return seconds > 0 ? (double)bytes * 8 / seconds / 1e6 : 0;
}

void print_address(const char *prefix, uint32_t address, uint16_t port)
{
	char text[NET_IPV4_ADDRESS_TEXT_BYTES];
	printf("%s%s port %u", prefix, net_ipv4_address_format(address, text), port);
}

static void print_rate_line(const char *id, double from, double to, uint64_t bytes,
			    const char *tail)
{
	char transfer[32];
	printf("[%4s] %6.2f-%-6.2f sec  %11s  %12llu bytes  %10.2f Mbits/sec%s\n", id, from, to,
	       format_bytes(transfer, sizeof transfer, (double)bytes), (unsigned long long)bytes,
	       megabits(bytes, to - from), tail);
}

void print_interval(struct test *test)
{
	uint64_t now = test->running ? clock_now_ns() : test->end_ns;
	double from = (double)(test->interval_start_ns - test->start_ns) / 1e9;
	double to = (double)(now - test->start_ns) / 1e9;
	if (test->interval_start_ns == test->start_ns)
		printf("[  ID] Interval           Transfer                  Bytes          "
		       "Bitrate\n");
	uint64_t sums[2] = { 0, 0 };
	unsigned counts[2] = { 0, 0 };
	for (unsigned index = 0; index < test->stream_count; index++) {
		struct stream *stream = &test->streams[index];
		char id[8], tail[64] = "";
		snprintf(id, sizeof id, "%d", stream->id);
		if (test->settings.udp)
			snprintf(tail, sizeof tail, "  %llu datagrams",
				 (unsigned long long)stream->interval_packets);
		if (test->settings.bidirectional)
			snprintf(tail + strlen(tail), sizeof tail - strlen(tail), "  %s",
				 stream->sender ? "TX" : "RX");
		print_rate_line(id, from, to, stream->interval_bytes, tail);
		sums[stream->sender] += stream->interval_bytes;
		counts[stream->sender]++;
		stream->interval_bytes = 0;
		stream->interval_packets = 0;
	}
	for (int direction = 0; direction < 2; direction++)
		if (counts[direction] > 1)
			print_rate_line("SUM", from, to, sums[direction],
					test->settings.bidirectional ? (direction ? "  TX" : "  RX")
								     : "");
	test->interval_start_ns = now;
}

/* One line of the summary for one side of one stream (or the sum). */
struct side {
	uint64_t bytes;
	double seconds;
	int64_t retransmits; /* -1: none to show */
	bool udp;
	double jitter;
	int64_t lost, packets;
};

/* A percentage with two significant digits, as iperf3's "%.2g" shows it. */
static void format_percent(char *buffer, size_t size, double percent)
{
	int decimals = 0;
	if (percent > 0 && percent < 10) {
		double scaled = percent;
		for (decimals = 1; scaled < 1 && decimals < 9; decimals++)
			scaled *= 10;
	}
	snprintf(buffer, size, "%.*f", decimals, percent);
}

static void print_side(const char *id, const struct side *side, bool show_retransmits,
		       const char *role)
{
	char tail[128];
	if (side->udp) {
		double percent =
			side->packets > 0 ? 100.0 * (double)side->lost / (double)side->packets : 0;
		char shown[32];
		format_percent(shown, sizeof shown, percent);
		snprintf(tail, sizeof tail, "  %.3f ms  %lld/%lld (%s%%)  %s", side->jitter * 1000,
			 (long long)side->lost, (long long)side->packets, shown, role);
	} else if (show_retransmits && side->retransmits >= 0) {
		snprintf(tail, sizeof tail, "  %4lld  %s", (long long)side->retransmits, role);
	} else {
		snprintf(tail, sizeof tail, "        %s", role);
	}
	print_rate_line(id, 0, side->seconds, side->bytes, tail);
}

void print_summary(const struct test *test)
{
	double local_seconds = (double)(test->end_ns - test->start_ns) / 1e9;
	bool udp = test->settings.udp;
	printf("- - - - - - - - - - - - - - - - - - - - - - - - -\n");
	if (udp)
		printf("[  ID] Interval           Transfer                  Bytes          Bitrate"
		       "     Jitter    Lost/Total Datagrams\n");
	else
		printf("[  ID] Interval           Transfer                  Bytes          Bitrate"
		       "     Retr\n");
	for (int direction = 0; direction < 2; direction++) {
		/* Our sending streams first, then our receiving ones (as iperf3 -R prints). */
		bool local_sends = direction == 0;
		struct side sum_sender = { .udp = udp }, sum_receiver = { .udp = udp };
		unsigned count = 0;
		for (unsigned index = 0; index < test->stream_count; index++) {
			const struct stream *stream = &test->streams[index];
			if (stream->sender != local_sends)
				continue;
			const struct peer_stream_result *peer = &stream->peer_result;
			struct side sender = { .udp = udp }, receiver = { .udp = udp };
			if (local_sends) {
				sender.bytes = stream->bytes;
				sender.seconds = local_seconds;
				sender.retransmits = stream->retransmits;
				sender.packets = (int64_t)stream->packets_sent;
				receiver.bytes = peer->bytes;
				receiver.seconds =
					peer->end_time > 0 ? peer->end_time : local_seconds;
				receiver.jitter = peer->jitter;
				receiver.lost = peer->errors;
				receiver.packets = peer->packets;
			} else {
				sender.bytes = peer->bytes;
				sender.seconds =
					peer->end_time > 0 ? peer->end_time : local_seconds;
				sender.retransmits = peer->retransmits;
				sender.packets = peer->packets;
				receiver.bytes = stream->bytes;
				receiver.seconds = local_seconds;
				receiver.jitter = stream->jitter;
				receiver.lost = stream->errors;
				receiver.packets = (int64_t)stream->packet_count;
			}
			char id[8];
			snprintf(id, sizeof id, "%d", stream->id);
			print_side(id, &sender, true, "sender");
			if (peer->present || !local_sends)
				print_side(id, &receiver, false, "receiver");
			if (udp && !local_sends && stream->out_of_order)
				printf("[%4s] %llu datagrams received out-of-order\n", id,
				       (unsigned long long)stream->out_of_order);
			count++;
			sum_sender.bytes += sender.bytes;
			if (sender.seconds > sum_sender.seconds)
				sum_sender.seconds = sender.seconds;
			sum_sender.retransmits += sender.retransmits > 0 ? sender.retransmits : 0;
			sum_sender.packets += sender.packets;
			sum_receiver.bytes += receiver.bytes;
			if (receiver.seconds > sum_receiver.seconds)
				sum_receiver.seconds = receiver.seconds;
			sum_receiver.jitter += receiver.jitter;
			sum_receiver.lost += receiver.lost;
			sum_receiver.packets += receiver.packets;
		}
		if (count > 1) {
			sum_receiver.jitter /= count;
			print_side("SUM", &sum_sender, true, "sender");
			print_side("SUM", &sum_receiver, false, "receiver");
		}
	}
}
