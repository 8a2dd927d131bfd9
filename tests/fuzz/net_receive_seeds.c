/*
 * net_receive_seeds.c - writes a starting corpus for net_receive_fuzz into the directory named on
 * the command line.
 *
 * Without seeds the fuzzer spends its first minutes finding an Ethernet type and our MAC; these
 * inputs start it at the interesting places (ARP exchanges, a ping, UDP to the echo port and to a
 * closed one, a fragmented datagram, overlapping fragments). They use the harness's "fix the
 * checksums" option, so they need no checksum code here. Format: see net_receive_fuzz.c.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static uint8_t input[100000];
static size_t input_length;

static const uint8_t our_mac[6] = { 0x02, 0, 0, 0, 0, 0x02 };
static const uint8_t peer_mac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const uint8_t broadcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t our_ip[4] = { 198, 18, 0, 2 };
static const uint8_t peer_ip[4] = { 198, 18, 0, 1 };

static void begin(uint8_t run_options)
{
	input_length = 0;
	input[input_length++] = run_options;
}

static void add_frame_with(const uint8_t *frame, size_t length, uint8_t options)
{
	input[input_length++] = 0;
	input[input_length++] = (uint8_t)length;
	input[input_length++] = (uint8_t)(length >> 8);
	input[input_length++] = 0; /* offload flags */
	input[input_length++] = options;
	memcpy(input + input_length, frame, length);
	input_length += length;
}

static void add_frame(const uint8_t *frame, size_t length)
{
	add_frame_with(frame, length, 1); /* fix checksums */
}

/* A TCP segment; aimed at the harness's connection, sequence and ack are offsets. */
static size_t tcp(uint8_t *out, uint16_t source_port, uint16_t port, uint32_t sequence,
		  uint32_t acknowledgment, uint8_t flags, size_t data_length)
{
	memset(out, 0, 20);
	out[0] = (uint8_t)(source_port >> 8);
	out[1] = (uint8_t)source_port;
	out[2] = (uint8_t)(port >> 8);
	out[3] = (uint8_t)port;
	out[4] = (uint8_t)(sequence >> 24);
	out[5] = (uint8_t)(sequence >> 16);
	out[6] = (uint8_t)(sequence >> 8);
	out[7] = (uint8_t)sequence;
	out[8] = (uint8_t)(acknowledgment >> 24);
	out[9] = (uint8_t)(acknowledgment >> 16);
	out[10] = (uint8_t)(acknowledgment >> 8);
	out[11] = (uint8_t)acknowledgment;
	out[12] = 5 << 4;
	out[13] = flags;
	out[14] = 0x04; /* window 1024 (scaled by 7 for the harness's connection) */
	memset(out + 20, 't', data_length);
	return 20 + data_length;
}

static void add_operation(uint8_t operation, int argument)
{
	input[input_length++] = operation;
	if (argument >= 0)
		input[input_length++] = (uint8_t)argument;
}

static size_t arp(uint8_t *frame, uint8_t operation, const uint8_t *destination)
{
	static const uint8_t header[8] = { 0, 1, 8, 0, 6, 4, 0, 0 };

	memcpy(frame, destination, 6);
	memcpy(frame + 6, peer_mac, 6);
	frame[12] = 0x08;
	frame[13] = 0x06;
	memcpy(frame + 14, header, 8);
	frame[21] = operation;
	memcpy(frame + 22, peer_mac, 6);
	memcpy(frame + 28, peer_ip, 4);
	memcpy(frame + 32, operation == 2 ? our_mac : (const uint8_t[6]){ 0 }, 6);
	memcpy(frame + 38, our_ip, 4);
	return 42;
}

static size_t ipv4(uint8_t *frame, uint8_t protocol, uint16_t fragment, const uint8_t *payload,
		   size_t length)
{
	memcpy(frame, our_mac, 6);
	memcpy(frame + 6, peer_mac, 6);
	frame[12] = 0x08;
	frame[13] = 0x00;
	memset(frame + 14, 0, 20);
	frame[14] = 0x45;
	frame[16] = (uint8_t)((20 + length) >> 8);
	frame[17] = (uint8_t)(20 + length);
	frame[18] = 0x12;
	frame[20] = (uint8_t)(fragment >> 8);
	frame[21] = (uint8_t)fragment;
	frame[22] = 64;
	frame[23] = protocol;
	memcpy(frame + 26, peer_ip, 4);
	memcpy(frame + 30, our_ip, 4);
	memcpy(frame + 34, payload, length);
	return 34 + length;
}

static size_t udp(uint8_t *out, uint16_t port, size_t data_length)
{
	out[0] = 0x9c;
	out[1] = 0x40;
	out[2] = (uint8_t)(port >> 8);
	out[3] = (uint8_t)port;
	out[4] = (uint8_t)((8 + data_length) >> 8);
	out[5] = (uint8_t)(8 + data_length);
	out[6] = out[7] = 0; /* filled by the harness (or none: fragments) */
	memset(out + 8, 'u', data_length);
	return 8 + data_length;
}

static int failures;

static void save(const char *directory, const char *name)
{
	char path[4096];
	FILE *file;

	snprintf(path, sizeof(path), "%s/%s", directory, name);
	file = fopen(path, "wb");
	if (!file || fwrite(input, 1, input_length, file) != input_length || fclose(file) != 0) {
		perror(path);
		failures++;
	}
}

int main(int argc, char **argv)
{
	static uint8_t frame[70000], payload[70000];
	size_t length, offset;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIRECTORY\n", argv[0]);
		return 2;
	}

	/* ARP request, then UDP to the echo port, echoed back. */
	begin(0);
	add_frame(frame, arp(frame, 1, broadcast));
	length = udp(payload, 7, 32);
	add_frame(frame, ipv4(frame, 17, 0, payload, length));
	add_operation(3, -1);
	add_operation(2, 20);
	save(argv[1], "seed-arp-udp-echo");

	/* Echo reply to an unresolved peer (queued), then the ARP reply, a ping, a closed port. */
	begin(1);
	length = udp(payload, 7, 3000);
	add_frame(frame, ipv4(frame, 17, 0, payload, length));
	add_operation(3, -1);
	add_frame(frame, arp(frame, 2, our_mac));
	memset(payload, 0, 64);
	payload[0] = 8;
	add_frame(frame, ipv4(frame, 1, 0, payload, 64));
	length = udp(payload, 9999, 10);
	add_frame(frame, ipv4(frame, 17, 0, payload, length));
	add_operation(2, 50);
	save(argv[1], "seed-queue-ping-closed");

	/* A fragmented datagram to the echo port (no UDP checksum), then overlapping fragments. */
	begin(2);
	length = udp(payload, 7, 3000);
	for (offset = 0; offset < length; offset += 1480) {
		size_t part = length - offset < 1480 ? length - offset : 1480;
		uint16_t field = (uint16_t)(offset / 8) | (offset + part < length ? 0x2000 : 0);

		add_frame(frame, ipv4(frame, 17, field, payload + offset, part));
	}
	add_frame(frame, ipv4(frame, 17, 0x2000, payload, 1480));
	add_frame(frame, ipv4(frame, 17, 0x2000 | 100, payload, 1480));
	add_operation(3, -1);
	add_operation(2, 255);
	save(argv[1], "seed-fragments");

	/* The established connection: data in order, out of order, a read, a send, its ACK, dup
	 * ACKs, a FIN, timers. Option 5: fix checksums and aim at the connection. */
	begin(0);
	length = tcp(payload, 0, 0, 0, 0, 0x18, 1000);
	add_frame_with(frame, ipv4(frame, 6, 0, payload, length), 5);
	length = tcp(payload, 0, 0, 2000, 0, 0x10, 500);
	add_frame_with(frame, ipv4(frame, 6, 0, payload, length), 5);
	add_operation(4, 1);
	add_operation(4, 0 | (40 << 3));
	length = tcp(payload, 0, 0, 0, 1000, 0x10, 0);
	add_frame_with(frame, ipv4(frame, 6, 0, payload, length), 5);
	add_frame_with(frame, ipv4(frame, 6, 0, payload, length), 5);
	add_frame_with(frame, ipv4(frame, 6, 0, payload, length), 5);
	add_frame_with(frame, ipv4(frame, 6, 0, payload, length), 5);
	length = tcp(payload, 0, 0, 0, 3880, 0x11, 0);
	add_frame_with(frame, ipv4(frame, 6, 0, payload, length), 5);
	add_operation(4, 3);
	add_operation(2, 3);
	add_operation(2, 255);
	save(argv[1], "seed-tcp-connection");

	/* The listener: a SYN from another port, a second, an ACK that fits nothing, a RST; a SYN
	 * to a closed port; accepting. */
	begin(0);
	length = tcp(payload, 2000, 80, 77, 0, 0x02, 0);
	add_frame(frame, ipv4(frame, 6, 0, payload, length));
	length = tcp(payload, 2001, 80, 77, 0, 0x02, 0);
	add_frame(frame, ipv4(frame, 6, 0, payload, length));
	length = tcp(payload, 2000, 80, 78, 12345, 0x10, 0);
	add_frame(frame, ipv4(frame, 6, 0, payload, length));
	length = tcp(payload, 2001, 80, 78, 0, 0x04, 0);
	add_frame(frame, ipv4(frame, 6, 0, payload, length));
	length = tcp(payload, 2002, 81, 1, 0, 0x02, 10);
	add_frame(frame, ipv4(frame, 6, 0, payload, length));
	add_operation(4, 4);
	add_operation(2, 30);
	save(argv[1], "seed-tcp-listener");
	return failures ? 1 : 0;
}
