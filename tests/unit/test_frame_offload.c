/*
 * The launcher's software offloads (launcher/frame_offload.c) against frames built here by hand,
 * field by field, and checked with a checksum routine of the test's own: what a receiver
 * without GUEST_CSUM / GUEST_TSO4 would verify. Hostile frames are copied into buffers of their
 * exact length, so a read past the end is an ASan report.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nic/frame_offload.h"

/* struct virtio_net_hdr_v1, as the virtio spec lays it out. */
#define VNET_BYTES 12u
#define VNET_FLAGS 0
#define VNET_GSO_TYPE 1
#define VNET_HDR_LEN 2
#define VNET_GSO_SIZE 4
#define VNET_CSUM_START 6
#define VNET_CSUM_OFFSET 8
#define VNET_NUM_BUFFERS 10
#define NEEDS_CSUM 1
#define DATA_VALID 2
#define GSO_TCPV4 1

#define ETHERNET_BYTES 14u
#define FIN 0x01
#define PSH 0x08
#define ACK 0x10
#define ECE 0x40
#define CWR 0x80

static const uint8_t source_ip[4] = { 10, 0, 0, 1 };
static const uint8_t destination_ip[4] = { 10, 0, 0, 2 };

/* ---- an independent checksum: 16-bit words, end-around carry at every step ---------------- */

static uint16_t ones_complement_add(uint16_t a, uint16_t b)
{
	uint32_t sum = (uint32_t)a + b;
	return (uint16_t)((sum & 0xffff) + (sum >> 16));
}

/* The ones'-complement sum of `length` bytes starting at an even position of the whole. */
static uint16_t sum_words(uint16_t sum, const uint8_t *bytes, size_t length)
{
	for (size_t i = 0; i < length; i++) {
		uint16_t word = i % 2 == 0 ? (uint16_t)(bytes[i] << 8) : bytes[i];
		sum = ones_complement_add(sum, word);
	}
	return sum;
}

static uint16_t pseudo_header_sum(const uint8_t *source, const uint8_t *destination,
				  uint8_t protocol, size_t transport_bytes)
{
	uint8_t pseudo[12];
	memcpy(pseudo, source, 4);
	memcpy(pseudo + 4, destination, 4);
	pseudo[8] = 0;
	pseudo[9] = protocol;
	pseudo[10] = (uint8_t)(transport_bytes >> 8);
	pseudo[11] = (uint8_t)transport_bytes;
	return sum_words(0, pseudo, sizeof pseudo);
}

static uint16_t be16(const uint8_t *at)
{
	return (uint16_t)(at[0] << 8 | at[1]);
}

static uint32_t be32(const uint8_t *at)
{
	return (uint32_t)at[0] << 24 | (uint32_t)at[1] << 16 | (uint32_t)at[2] << 8 | at[3];
}

static void set_be16(uint8_t *at, uint16_t value)
{
	at[0] = (uint8_t)(value >> 8);
	at[1] = (uint8_t)value;
}

static void set_le16(uint8_t *at, uint16_t value)
{
	at[0] = (uint8_t)value;
	at[1] = (uint8_t)(value >> 8);
}

/* What a receiver checks: IPv4 header sum, and transport sum with the pseudo-header, both
 * 0xffff when right. `ethernet` points at the Ethernet header of an IPv4 frame. */
static void assert_ipv4_checksum_valid(const uint8_t *ethernet)
{
	const uint8_t *ipv4 = ethernet + ETHERNET_BYTES;
	size_t ihl = (size_t)(ipv4[0] & 0x0f) * 4;
	assert_int_equal(sum_words(0, ipv4, ihl), 0xffff);
}

static void assert_transport_checksum_valid(const uint8_t *ethernet)
{
	const uint8_t *ipv4 = ethernet + ETHERNET_BYTES;
	size_t ihl = (size_t)(ipv4[0] & 0x0f) * 4;
	size_t transport_bytes = be16(ipv4 + 2) - ihl;
	uint16_t sum = pseudo_header_sum(ipv4 + 12, ipv4 + 16, ipv4[9], transport_bytes);
	assert_int_equal(sum_words(sum, ipv4 + ihl, transport_bytes), 0xffff);
}

/* ---- frames built by hand ------------------------------------------------------------------ */

static uint8_t payload_byte(size_t i)
{
	return (uint8_t)(i * 131 + (i >> 9) + 7); /* not periodic in any MSS used here */
}

static uint8_t *write_ethernet_ipv4(uint8_t *frame, size_t ipv4_options, uint8_t protocol,
				    size_t transport_bytes, uint16_t id)
{
	uint8_t *ethernet = frame + VNET_BYTES;
	static const uint8_t addresses[12] = { 0x52, 0x54, 0, 0, 0, 2, 0x52, 0x54, 0, 0, 0, 1 };
	memcpy(ethernet, addresses, sizeof addresses);
	set_be16(ethernet + 12, 0x0800);
	uint8_t *ipv4 = ethernet + ETHERNET_BYTES;
	size_t ihl = 20 + ipv4_options;
	ipv4[0] = (uint8_t)(0x40 | ihl / 4);
	ipv4[1] = 0;
	set_be16(ipv4 + 2, (uint16_t)(ihl + transport_bytes));
	set_be16(ipv4 + 4, id);
	set_be16(ipv4 + 6, 0x4000); /* DF */
	ipv4[8] = 64;
	ipv4[9] = protocol;
	set_be16(ipv4 + 10, 0);
	memcpy(ipv4 + 12, source_ip, 4);
	memcpy(ipv4 + 16, destination_ip, 4);
	memset(ipv4 + 20, 1, ipv4_options); /* NOPs */
	set_be16(ipv4 + 10, (uint16_t)~sum_words(0, ipv4, ihl));
	return ipv4 + ihl;
}

struct tcp_frame {
	size_t ipv4_options; /* bytes, a multiple of 4 */
	size_t tcp_options;  /* bytes, a multiple of 4 */
	size_t payload;
	uint32_t sequence;
	uint16_t id;
	uint8_t flags;
	uint16_t gso_size;
};

/* A GSO frame as a Linux guest sends it: NEEDS_CSUM with the pseudo-header sum in place. */
static size_t build_tcp_frame(uint8_t *frame, const struct tcp_frame *spec)
{
	size_t tcp_header = 20 + spec->tcp_options;
	size_t tcp_bytes = tcp_header + spec->payload;
	memset(frame, 0, VNET_BYTES);
	uint8_t *tcp = write_ethernet_ipv4(frame, spec->ipv4_options, 6, tcp_bytes, spec->id);
	frame[VNET_FLAGS] = NEEDS_CSUM;
	frame[VNET_GSO_TYPE] = GSO_TCPV4;
	set_le16(frame + VNET_HDR_LEN, 0); /* wrong on purpose: it must not be trusted */
	set_le16(frame + VNET_GSO_SIZE, spec->gso_size);
	set_le16(frame + VNET_CSUM_START, (uint16_t)(tcp - frame - VNET_BYTES));
	set_le16(frame + VNET_CSUM_OFFSET, 16);
	set_be16(tcp, 40000);
	set_be16(tcp + 2, 5201);
	tcp[4] = (uint8_t)(spec->sequence >> 24);
	tcp[5] = (uint8_t)(spec->sequence >> 16);
	tcp[6] = (uint8_t)(spec->sequence >> 8);
	tcp[7] = (uint8_t)spec->sequence;
	memcpy(tcp + 8, "\x11\x22\x33\x44", 4); /* acknowledgment */
	tcp[12] = (uint8_t)(tcp_header / 4 << 4);
	tcp[13] = spec->flags;
	set_be16(tcp + 14, 0xfaf0);
	set_be16(tcp + 16, pseudo_header_sum(source_ip, destination_ip, 6, tcp_bytes));
	set_be16(tcp + 18, 0);
	for (size_t i = 0; i < spec->tcp_options; i++)
		tcp[20 + i] = i + 4 < spec->tcp_options ? 1 : (uint8_t)(0xa0 + i); /* NOPs, junk */
	for (size_t i = 0; i < spec->payload; i++)
		tcp[tcp_header + i] = payload_byte(i);
	return VNET_BYTES + ETHERNET_BYTES + 20 + spec->ipv4_options + tcp_bytes;
}

static size_t build_udp_frame(uint8_t *frame, size_t payload)
{
	size_t udp_bytes = 8 + payload;
	memset(frame, 0, VNET_BYTES);
	uint8_t *udp = write_ethernet_ipv4(frame, 0, 17, udp_bytes, 0x1234);
	frame[VNET_FLAGS] = NEEDS_CSUM | DATA_VALID;
	set_le16(frame + VNET_CSUM_START, ETHERNET_BYTES + 20);
	set_le16(frame + VNET_CSUM_OFFSET, 6);
	set_be16(udp, 7);
	set_be16(udp + 2, 9);
	set_be16(udp + 4, (uint16_t)udp_bytes);
	set_be16(udp + 6, pseudo_header_sum(source_ip, destination_ip, 17, udp_bytes));
	for (size_t i = 0; i < payload; i++)
		udp[8 + i] = payload_byte(i);
	return VNET_BYTES + ETHERNET_BYTES + 20 + udp_bytes;
}

/* A heap copy of exactly `length` bytes, so ASan sees any read beyond it. */
static uint8_t *exact_copy(const uint8_t *frame, size_t length)
{
	uint8_t *copy = malloc(length ? length : 1);
	assert_non_null(copy);
	memcpy(copy, frame, length);
	return copy;
}

/* ---- frame_finish_checksum ----------------------------------------------------------------- */

static void test_udp_checksum_finished(void **state)
{
	(void)state;
	uint8_t frame[2048];
	size_t length = build_udp_frame(frame, 333); /* odd: the last byte is padded */
	const char *reason = NULL;
	assert_true(frame_finish_checksum(frame, length, &reason));
	assert_int_equal(frame[VNET_FLAGS], 0);
	assert_transport_checksum_valid(frame + VNET_BYTES);
	assert_ipv4_checksum_valid(frame + VNET_BYTES);
	uint8_t *udp = frame + VNET_BYTES + ETHERNET_BYTES + 20;
	assert_int_not_equal(be16(udp + 6), 0);
	for (size_t i = 0; i < 333; i++)
		assert_int_equal(udp[8 + i], payload_byte(i));
}

static void test_tcp_checksum_finished(void **state)
{
	(void)state;
	uint8_t frame[2048];
	struct tcp_frame spec = { .ipv4_options = 8,
				  .tcp_options = 12,
				  .payload = 1000,
				  .sequence = 99,
				  .flags = ACK | PSH };
	size_t length = build_tcp_frame(frame, &spec);
	frame[VNET_GSO_TYPE] = 0; /* an ordinary frame with a partial checksum */
	frame[VNET_FLAGS] |= DATA_VALID;
	uint8_t before[2048];
	memcpy(before, frame, length);
	const char *reason = NULL;
	assert_true(frame_finish_checksum(frame, length, &reason));
	assert_int_equal(frame[VNET_FLAGS], 0);
	assert_transport_checksum_valid(frame + VNET_BYTES);
	/* Nothing but the flags and the checksum field changed. */
	size_t field = VNET_BYTES + ETHERNET_BYTES + 28 + 16;
	assert_memory_equal(frame + 1, before + 1, field - 1);
	assert_memory_equal(frame + field + 2, before + field + 2, length - field - 2);
}

/* Sets the last two payload bytes so that the finished checksum comes out 0. */
static void force_zero_checksum(uint8_t *frame, size_t length)
{
	size_t start =
		VNET_BYTES + (size_t)(frame[VNET_CSUM_START] | frame[VNET_CSUM_START + 1] << 8);
	set_be16(frame + length - 2, 0);
	uint16_t sum = sum_words(0, frame + start, length - start);
	set_be16(frame + length - 2, (uint16_t)~sum); /* sum + ~sum = 0xffff: checksum 0 */
	assert_int_equal(sum_words(0, frame + start, length - start), 0xffff);
}

static void test_udp_zero_checksum_becomes_ffff(void **state)
{
	(void)state;
	uint8_t frame[256];
	size_t length = build_udp_frame(frame, 40); /* even, so the last word is payload */
	force_zero_checksum(frame, length);
	assert_true(frame_finish_checksum(frame, length, NULL));
	uint8_t *udp = frame + VNET_BYTES + ETHERNET_BYTES + 20;
	assert_int_equal(be16(udp + 6), 0xffff);
	assert_transport_checksum_valid(frame + VNET_BYTES);
}

static void test_tcp_zero_checksum_stays_zero(void **state)
{
	(void)state;
	uint8_t frame[256];
	struct tcp_frame spec = { .payload = 40, .flags = ACK };
	size_t length = build_tcp_frame(frame, &spec);
	frame[VNET_GSO_TYPE] = 0;
	force_zero_checksum(frame, length);
	assert_true(frame_finish_checksum(frame, length, NULL));
	assert_int_equal(be16(frame + VNET_BYTES + ETHERNET_BYTES + 20 + 16), 0);
	assert_transport_checksum_valid(frame + VNET_BYTES);
}

static void test_no_partial_checksum_only_clears_flags(void **state)
{
	(void)state;
	uint8_t frame[256];
	size_t length = build_udp_frame(frame, 20);
	frame[VNET_FLAGS] = DATA_VALID;
	uint8_t before[256];
	memcpy(before, frame, length);
	assert_true(frame_finish_checksum(frame, length, NULL));
	assert_int_equal(frame[VNET_FLAGS], 0);
	assert_memory_equal(frame + 1, before + 1, length - 1);
	/* A frame of nothing but its virtio-net header is fine too: nothing to finish. */
	uint8_t *bare = exact_copy(frame, VNET_BYTES);
	assert_true(frame_finish_checksum(bare, VNET_BYTES, NULL));
	free(bare);
}

static void assert_finish_refused(const uint8_t *frame, size_t length, const char *why)
{
	uint8_t *copy = exact_copy(frame, length);
	const char *reason = NULL;
	assert_false(frame_finish_checksum(copy, length, &reason));
	assert_non_null(reason);
	assert_non_null(strstr(reason, why));
	assert_memory_equal(copy, frame, length); /* untouched */
	free(copy);
}

static void test_checksum_field_out_of_range_refused(void **state)
{
	(void)state;
	uint8_t frame[256];
	size_t length = build_udp_frame(frame, 20); /* the Ethernet frame is 62 bytes */
	size_t ethernet_bytes = length - VNET_BYTES;

	set_le16(frame + VNET_CSUM_START, (uint16_t)(ethernet_bytes + 1));
	set_le16(frame + VNET_CSUM_OFFSET, 0);
	assert_finish_refused(frame, length, "beyond");
	set_le16(frame + VNET_CSUM_START, 0xffff);
	assert_finish_refused(frame, length, "beyond");
	set_le16(frame + VNET_CSUM_START, (uint16_t)ethernet_bytes);
	assert_finish_refused(frame, length, "beyond");
	set_le16(frame + VNET_CSUM_START, (uint16_t)(ethernet_bytes - 1)); /* a 1-byte field */
	assert_finish_refused(frame, length, "beyond");
	set_le16(frame + VNET_CSUM_START, 34);
	set_le16(frame + VNET_CSUM_OFFSET, (uint16_t)(ethernet_bytes - 34 - 1));
	assert_finish_refused(frame, length, "beyond");
	set_le16(frame + VNET_CSUM_OFFSET, 0xffff);
	assert_finish_refused(frame, length, "beyond");

	/* The last two bytes of the frame are a field it can fill (holding a "pseudo-header sum"
	 * of 0, so the range alone then sums to 0xffff). */
	set_le16(frame + VNET_CSUM_OFFSET, (uint16_t)(ethernet_bytes - 34 - 2));
	set_be16(frame + length - 2, 0);
	uint8_t *copy = exact_copy(frame, length);
	assert_true(frame_finish_checksum(copy, length, NULL));
	assert_int_equal(sum_words(0, copy + VNET_BYTES + 34, ethernet_bytes - 34), 0xffff);
	free(copy);
	set_le16(frame + VNET_CSUM_START, (uint16_t)(ethernet_bytes - 2));
	set_le16(frame + VNET_CSUM_OFFSET, 0);
	copy = exact_copy(frame, length);
	assert_true(frame_finish_checksum(copy, length, NULL));
	free(copy);

	/* Shorter than the virtio-net header, every length. */
	for (size_t short_length = 0; short_length < VNET_BYTES; short_length++)
		assert_finish_refused(frame, short_length, "shorter");
}

static void test_checksum_of_gso_frame_refused(void **state)
{
	(void)state;
	uint8_t *frame = malloc(RINGVISOR_FRAME_BYTES_MAX);
	struct tcp_frame spec = { .payload = 3000, .gso_size = 1448, .flags = ACK };
	size_t length = build_tcp_frame(frame, &spec);
	assert_finish_refused(frame, length, "GSO");
	free(frame);
}

/* ---- frame_segmenter ----------------------------------------------------------------------- */

/*
 * Segments the frame into buffers of exactly the announced size and checks each segment as a
 * receiver would, against the original. Returns the number of segments.
 */
static size_t segment_and_check(const uint8_t *frame, size_t length, const struct tcp_frame *spec)
{
	struct frame_segmenter segmenter;
	const char *reason = NULL;
	uint8_t *original = exact_copy(frame, length);
	assert_true(frame_segmenter_start(&segmenter, original, length, &reason));

	size_t ipv4_header = 20 + spec->ipv4_options;
	size_t tcp_header = 20 + spec->tcp_options;
	size_t headers = ETHERNET_BYTES + ipv4_header + tcp_header;
	const uint8_t *original_ipv4 = original + VNET_BYTES + ETHERNET_BYTES;
	const uint8_t *original_tcp = original_ipv4 + ipv4_header;
	uint8_t *reassembled = malloc(spec->payload + 1);
	size_t payload_done = 0;
	size_t count = 0;
	size_t expected_count =
		spec->payload == 0 ? 1 : (spec->payload + spec->gso_size - 1) / spec->gso_size;
	size_t need;
	while ((need = frame_segmenter_next_length(&segmenter)) != 0) {
		assert_true(count < expected_count);
		size_t payload = spec->payload - payload_done;
		if (payload > spec->gso_size)
			payload = spec->gso_size;
		bool last = count + 1 == expected_count;
		assert_int_equal(need, VNET_BYTES + headers + payload);
		uint8_t *out = malloc(need);
		assert_int_equal(frame_segmenter_next(&segmenter, out, need), need);

		/* The virtio-net header: a plain, fully checksummed frame in one buffer. */
		static const uint8_t plain_header[VNET_BYTES] = { [VNET_NUM_BUFFERS] = 1 };
		assert_memory_equal(out, plain_header, VNET_BYTES);
		const uint8_t *ethernet = out + VNET_BYTES;
		const uint8_t *ipv4 = ethernet + ETHERNET_BYTES;
		const uint8_t *tcp = ipv4 + ipv4_header;
		assert_memory_equal(ethernet, original + VNET_BYTES, ETHERNET_BYTES);

		/* IPv4: length and ID per segment, the rest as the original's. */
		assert_int_equal(be16(ipv4 + 2), ipv4_header + tcp_header + payload);
		assert_int_equal(be16(ipv4 + 4), (uint16_t)(spec->id + count));
		assert_memory_equal(ipv4, original_ipv4, 2);
		assert_memory_equal(ipv4 + 6, original_ipv4 + 6, 4);
		assert_memory_equal(ipv4 + 12, original_ipv4 + 12, ipv4_header - 12);
		assert_ipv4_checksum_valid(ethernet);

		/* TCP: sequence advanced by the payload before it, flags split, checksum whole. */
		assert_memory_equal(tcp, original_tcp, 4);
		assert_int_equal(be32(tcp + 4), (uint32_t)(spec->sequence + payload_done));
		assert_memory_equal(tcp + 8, original_tcp + 8, 5);
		uint8_t flags = spec->flags;
		if (!last)
			flags &= ~(FIN | PSH);
		if (count > 0)
			flags &= ~CWR;
		assert_int_equal(tcp[13], flags);
		assert_memory_equal(tcp + 14, original_tcp + 14, 2);
		assert_memory_equal(tcp + 18, original_tcp + 18, tcp_header - 18);
		assert_transport_checksum_valid(ethernet);

		memcpy(reassembled + payload_done, tcp + tcp_header, payload);
		payload_done += payload;
		count++;
		free(out);
	}
	assert_int_equal(count, expected_count);
	assert_int_equal(payload_done, spec->payload);
	for (size_t i = 0; i < spec->payload; i++)
		assert_int_equal(reassembled[i], payload_byte(i));
	uint8_t spare[64];
	assert_int_equal(frame_segmenter_next(&segmenter, spare, sizeof spare), 0);
	assert_int_equal(frame_segmenter_next_length(&segmenter), 0);
	free(reassembled);
	free(original);
	return count;
}

static void test_tso_65000_bytes_mss_1448(void **state)
{
	(void)state;
	uint8_t *frame = malloc(RINGVISOR_FRAME_BYTES_MAX);
	/* Options on both headers, and a sequence number and ID that wrap along the way. */
	struct tcp_frame spec = { .ipv4_options = 4,
				  .tcp_options = 12,
				  .payload = 65000,
				  .sequence = 0xffffffffu - 20000,
				  .id = 0xffe0,
				  .flags = FIN | PSH | ACK | ECE | CWR,
				  .gso_size = 1448 };
	size_t length = build_tcp_frame(frame, &spec);
	assert_int_equal(segment_and_check(frame, length, &spec), 45); /* 44 * 1448 + 1288 */
	free(frame);
}

static void test_tso_largest_frame(void **state)
{
	(void)state;
	uint8_t *frame = malloc(RINGVISOR_FRAME_BYTES_MAX);
	struct tcp_frame spec = { .payload = 65535 - 40, .flags = ACK | PSH, .gso_size = 1460 };
	size_t length = build_tcp_frame(frame, &spec);
	assert_int_equal(segment_and_check(frame, length, &spec), 45);
	/* The largest options, and gso_size bigger than the whole payload. */
	spec = (struct tcp_frame){ .ipv4_options = 40,
				   .tcp_options = 40,
				   .payload = 65535 - 120,
				   .flags = ACK | FIN,
				   .gso_size = 65535 };
	length = build_tcp_frame(frame, &spec);
	assert_int_equal(segment_and_check(frame, length, &spec), 1);
	free(frame);
}

static void test_tso_payload_exactly_one_mss(void **state)
{
	(void)state;
	uint8_t frame[4096];
	struct tcp_frame spec = { .payload = 1448,
				  .flags = FIN | PSH | ACK | CWR,
				  .gso_size = 1448 };
	size_t length = build_tcp_frame(frame, &spec);
	assert_int_equal(segment_and_check(frame, length, &spec), 1);
}

static void test_tso_payload_not_a_multiple_of_mss(void **state)
{
	(void)state;
	uint8_t frame[8192];
	struct tcp_frame spec = { .payload = 2 * 1448 + 1,
				  .sequence = 1000,
				  .flags = PSH | ACK | CWR,
				  .gso_size = 1448 };
	size_t length = build_tcp_frame(frame, &spec);
	assert_int_equal(segment_and_check(frame, length, &spec), 3); /* the last has 1 byte */
	spec.payload = 2 * 1448; /* and an exact multiple: no empty segment at the end */
	length = build_tcp_frame(frame, &spec);
	assert_int_equal(segment_and_check(frame, length, &spec), 2);
	spec.payload = 151; /* odd sizes all round, at the smallest segment size */
	spec.gso_size = 64;
	length = build_tcp_frame(frame, &spec);
	assert_int_equal(segment_and_check(frame, length, &spec), 3);
}

static void test_tso_without_payload_is_one_segment(void **state)
{
	(void)state;
	uint8_t frame[256];
	struct tcp_frame spec = { .payload = 0, .flags = FIN | ACK, .gso_size = 1448 };
	size_t length = build_tcp_frame(frame, &spec);
	assert_int_equal(segment_and_check(frame, length, &spec), 1);
}

static void test_tso_out_buffer_too_small(void **state)
{
	(void)state;
	uint8_t frame[8192];
	struct tcp_frame spec = { .payload = 3000, .flags = ACK, .gso_size = 1448 };
	size_t length = build_tcp_frame(frame, &spec);
	struct frame_segmenter segmenter;
	assert_true(frame_segmenter_start(&segmenter, frame, length, NULL));
	size_t need = frame_segmenter_next_length(&segmenter);
	assert_int_equal(need, VNET_BYTES + 54 + 1448);

	uint8_t out[2048];
	memset(out, 0xa5, sizeof out);
	assert_int_equal(frame_segmenter_next(&segmenter, out, need - 1), 0);
	assert_int_equal(frame_segmenter_next(&segmenter, out, 0), 0);
	for (size_t i = 0; i < sizeof out; i++)
		assert_int_equal(out[i], 0xa5); /* nothing written */
	/* Not done: the same segment is still there for a bigger buffer. */
	assert_int_equal(frame_segmenter_next_length(&segmenter), need);
	assert_int_equal(frame_segmenter_next(&segmenter, out, sizeof out), need);
	assert_int_equal(be32(out + VNET_BYTES + 34 + 4), 0);
	assert_int_equal(frame_segmenter_next(&segmenter, out, sizeof out), need);
	assert_int_equal(be32(out + VNET_BYTES + 34 + 4), 1448);
	assert_int_equal(frame_segmenter_next_length(&segmenter), VNET_BYTES + 54 + 104);
	assert_int_equal(frame_segmenter_next(&segmenter, out, VNET_BYTES + 54 + 103), 0);
	assert_int_equal(frame_segmenter_next(&segmenter, out, VNET_BYTES + 54 + 104),
			 VNET_BYTES + 54 + 104);
	assert_int_equal(frame_segmenter_next_length(&segmenter), 0);
	assert_int_equal(frame_segmenter_next(&segmenter, out, sizeof out), 0);
}

/* The headers are taken once: a sender rewriting them afterwards changes nothing checked. */
static void test_tso_headers_checked_once(void **state)
{
	(void)state;
	uint8_t frame[8192];
	struct tcp_frame spec = { .payload = 3000, .flags = ACK, .gso_size = 1000 };
	size_t length = build_tcp_frame(frame, &spec);
	struct frame_segmenter segmenter;
	assert_true(frame_segmenter_start(&segmenter, frame, length, NULL));
	uint8_t *ipv4 = frame + VNET_BYTES + ETHERNET_BYTES;
	ipv4[0] = 0x4f;	      /* IHL 15 */
	ipv4[20 + 12] = 0xf0; /* data offset 15 */
	size_t need = frame_segmenter_next_length(&segmenter);
	assert_int_equal(need, VNET_BYTES + 54 + 1000);
	uint8_t out[2048];
	assert_int_equal(frame_segmenter_next(&segmenter, out, sizeof out), need);
	assert_int_equal(out[VNET_BYTES + ETHERNET_BYTES], 0x45);
	assert_ipv4_checksum_valid(out + VNET_BYTES);
	assert_transport_checksum_valid(out + VNET_BYTES);
}

static void assert_segmenter_refuses(const uint8_t *frame, size_t length, const char *why)
{
	uint8_t *copy = exact_copy(frame, length);
	struct frame_segmenter segmenter;
	const char *reason = NULL;
	assert_false(frame_segmenter_start(&segmenter, copy, length, &reason));
	assert_non_null(reason);
	if (why && !strstr(reason, why))
		fail_msg("refused with \"%s\", expected \"%s\"", reason, why);
	/* A refused frame yields nothing, even to a caller that ignores the refusal. */
	assert_int_equal(frame_segmenter_next_length(&segmenter), 0);
	uint8_t out[128];
	assert_int_equal(frame_segmenter_next(&segmenter, out, sizeof out), 0);
	free(copy);
}

static void test_tso_refusals(void **state)
{
	(void)state;
	uint8_t good[4096], frame[4096];
	struct tcp_frame spec = {
		.ipv4_options = 0, .payload = 2000, .flags = ACK, .gso_size = 1448
	};
	size_t length = build_tcp_frame(good, &spec);
	uint8_t *ipv4 = frame + VNET_BYTES + ETHERNET_BYTES;
	uint8_t *tcp = ipv4 + 20;
#define FROM_GOOD() memcpy(frame, good, length)

	FROM_GOOD();
	set_le16(frame + VNET_GSO_SIZE, 0);
	assert_segmenter_refuses(frame, length, "gso_size");
	FROM_GOOD(); /* one byte a segment: 2,000 frames from one */
	set_le16(frame + VNET_GSO_SIZE, 1);
	assert_segmenter_refuses(frame, length, "gso_size below 24");
	set_le16(frame + VNET_GSO_SIZE, 23);
	assert_segmenter_refuses(frame, length, "gso_size below 24");

	FROM_GOOD();
	frame[VNET_GSO_TYPE] = 0;
	assert_segmenter_refuses(frame, length, "gso_type");
	frame[VNET_GSO_TYPE] = 0x81; /* TCPv4 with ECN, which is not offered */
	assert_segmenter_refuses(frame, length, "gso_type");
	frame[VNET_GSO_TYPE] = 4; /* TCPv6 */
	assert_segmenter_refuses(frame, length, "gso_type");

	FROM_GOOD();
	set_be16(frame + VNET_BYTES + 12, 0x86dd); /* IPv6 */
	assert_segmenter_refuses(frame, length, "IPv4");
	set_be16(frame + VNET_BYTES + 12, 0x8100); /* a VLAN tag */
	assert_segmenter_refuses(frame, length, "IPv4");
	set_be16(frame + VNET_BYTES + 12, 0x0806); /* ARP */
	assert_segmenter_refuses(frame, length, "IPv4");

	FROM_GOOD();
	ipv4[0] = 0x65; /* version 6 behind an IPv4 type */
	assert_segmenter_refuses(frame, length, "version");

	FROM_GOOD();
	ipv4[9] = 17; /* UDP */
	assert_segmenter_refuses(frame, length, "TCP");
	ipv4[9] = 1; /* ICMP */
	assert_segmenter_refuses(frame, length, "TCP");

	for (uint8_t ihl = 0; ihl < 5; ihl++) {
		FROM_GOOD();
		ipv4[0] = (uint8_t)(0x40 | ihl);
		assert_segmenter_refuses(frame, length, "IHL");
	}

	for (uint8_t offset = 0; offset < 5; offset++) {
		FROM_GOOD();
		tcp[12] = (uint8_t)(offset << 4);
		assert_segmenter_refuses(frame, length, "data offset");
	}

	/* A data offset reaching past the end: a header-only frame claiming 60 header bytes. */
	struct tcp_frame bare = { .payload = 0, .flags = ACK, .gso_size = 1448 };
	size_t bare_length = build_tcp_frame(frame, &bare);
	tcp[12] = 0xf0;
	assert_segmenter_refuses(frame, bare_length, "data offset");
	tcp[12] = 0x60; /* 24 bytes: just 4 too many */
	assert_segmenter_refuses(frame, bare_length, "data offset");
	/* And an IHL reaching past it. */
	bare_length = build_tcp_frame(frame, &bare);
	ipv4[0] = 0x4f;
	assert_segmenter_refuses(frame, bare_length, NULL);

	FROM_GOOD();
	set_be16(ipv4 + 2, (uint16_t)(be16(ipv4 + 2) + 1));
	assert_segmenter_refuses(frame, length, "total length");
	set_be16(ipv4 + 2, (uint16_t)(be16(ipv4 + 2) - 2));
	assert_segmenter_refuses(frame, length, "total length");
	set_be16(ipv4 + 2, 0);
	assert_segmenter_refuses(frame, length, "total length");
	set_be16(ipv4 + 2, 0xffff);
	assert_segmenter_refuses(frame, length, "total length");
	/* Padding after the IPv4 packet: not what a sender's stack hands its NIC. */
	FROM_GOOD();
	memset(frame + length, 0, 6);
	assert_segmenter_refuses(frame, length + 6, "total length");

	FROM_GOOD();
	set_be16(ipv4 + 6, 0x2000); /* more fragments */
	assert_segmenter_refuses(frame, length, "fragment");
	set_be16(ipv4 + 6, 0x0001); /* an offset */
	assert_segmenter_refuses(frame, length, "fragment");
	set_be16(ipv4 + 6, 0x4000); /* DF alone is fine */
	struct frame_segmenter segmenter;
	assert_true(frame_segmenter_start(&segmenter, frame, length, NULL));
#undef FROM_GOOD
}

/* A frame that would become more than RINGVISOR_NET_GSO_SEGMENTS_MAX segments is refused, at
 * any gso_size the floor allows: 60,000 bytes in segments of 24 would be 2,500 frames. At the
 * limit it still passes. */
static void test_tso_more_segments_than_a_sender_makes_refused(void **state)
{
	(void)state;
	uint8_t *frame = malloc(RINGVISOR_FRAME_BYTES_MAX);
	struct tcp_frame spec = { .payload = 60000, .flags = ACK, .gso_size = 24 };
	size_t length = build_tcp_frame(frame, &spec);
	assert_segmenter_refuses(frame, length, "more than 128 segments");
	spec.gso_size = 468; /* 60,000 / 468: 129 segments */
	length = build_tcp_frame(frame, &spec);
	assert_segmenter_refuses(frame, length, "more than 128 segments");
	spec.gso_size = 469; /* 128 */
	length = build_tcp_frame(frame, &spec);
	assert_int_equal(segment_and_check(frame, length, &spec), 128);
	spec = (struct tcp_frame){ .payload = 128 * 24, .flags = ACK, .gso_size = 24 };
	length = build_tcp_frame(frame, &spec);
	assert_int_equal(segment_and_check(frame, length, &spec), 128);
	/* Options count as payload (the headers' lengths are the sender's word): 128 full
	 * segments with 36 bytes of SACK are refused, 127 pass, which is what the guest's TCP
	 * sends at most. */
	spec = (struct tcp_frame){
		.tcp_options = 36, .payload = 128 * 469, .flags = ACK, .gso_size = 469
	};
	length = build_tcp_frame(frame, &spec);
	assert_segmenter_refuses(frame, length, "more than 128 segments");
	spec.payload = 127 * 469;
	length = build_tcp_frame(frame, &spec);
	assert_int_equal(segment_and_check(frame, length, &spec), 127);
	free(frame);
}

static void test_tso_truncated_frames_refused(void **state)
{
	(void)state;
	uint8_t frame[4096];
	/* With options, so the headers are longer than the minimum. */
	struct tcp_frame spec = {
		.ipv4_options = 8, .tcp_options = 20, .payload = 100, .flags = ACK, .gso_size = 1448
	};
	size_t length = build_tcp_frame(frame, &spec);
	size_t headers = VNET_BYTES + ETHERNET_BYTES + 28 + 40;
	/* Every cut, through the headers and through the payload. */
	for (size_t cut = 0; cut < length; cut++)
		assert_segmenter_refuses(frame, cut, NULL);
	assert_true(headers < length);

	/* And a header-only frame with IPv4 total length lowered to match each cut: the headers
	 * themselves must still fit. */
	struct tcp_frame bare = spec;
	bare.payload = 0;
	length = build_tcp_frame(frame, &bare);
	assert_int_equal(length, headers);
	uint8_t *ipv4 = frame + VNET_BYTES + ETHERNET_BYTES;
	for (size_t cut = 0; cut < headers; cut++) {
		if (cut >= VNET_BYTES + ETHERNET_BYTES + 4)
			set_be16(ipv4 + 2, (uint16_t)(cut - VNET_BYTES - ETHERNET_BYTES));
		const char *why = "data offset beyond"; /* the last 20 cuts: TCP options */
		if (cut < VNET_BYTES)
			why = "shorter";
		else if (cut < VNET_BYTES + ETHERNET_BYTES + 28 + 20)
			why = "too short";
		assert_segmenter_refuses(frame, cut, why);
	}
	set_be16(ipv4 + 2, (uint16_t)(headers - VNET_BYTES - ETHERNET_BYTES));
	struct frame_segmenter segmenter;
	assert_true(frame_segmenter_start(&segmenter, frame, headers, NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_udp_checksum_finished),
		cmocka_unit_test(test_tcp_checksum_finished),
		cmocka_unit_test(test_udp_zero_checksum_becomes_ffff),
		cmocka_unit_test(test_tcp_zero_checksum_stays_zero),
		cmocka_unit_test(test_no_partial_checksum_only_clears_flags),
		cmocka_unit_test(test_checksum_field_out_of_range_refused),
		cmocka_unit_test(test_checksum_of_gso_frame_refused),
		cmocka_unit_test(test_tso_65000_bytes_mss_1448),
		cmocka_unit_test(test_tso_largest_frame),
		cmocka_unit_test(test_tso_payload_exactly_one_mss),
		cmocka_unit_test(test_tso_payload_not_a_multiple_of_mss),
		cmocka_unit_test(test_tso_without_payload_is_one_segment),
		cmocka_unit_test(test_tso_out_buffer_too_small),
		cmocka_unit_test(test_tso_headers_checked_once),
		cmocka_unit_test(test_tso_refusals),
		cmocka_unit_test(test_tso_more_segments_than_a_sender_makes_refused),
		cmocka_unit_test(test_tso_truncated_frames_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
