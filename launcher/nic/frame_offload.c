/*
 * Checksum finishing and TCP segmentation in software, for frames the `share` backend carries
 * to a guest that did not negotiate GUEST_CSUM / GUEST_TSO4 (see frame_offload.h).
 */
#include "nic/frame_offload.h"

#include <string.h>

#include "nic/net_header.h"

#define ETHERNET_TYPE 12 /* offset of the EtherType in the Ethernet header */
#define IPV4_PROTOCOL_TCP 6u
#define IPV4_MORE_FRAGMENTS 0x2000u
#define IPV4_FRAGMENT_OFFSET 0x1fffu
#define TCP_FIN 0x01u
#define TCP_PSH 0x08u
#define TCP_CWR 0x80u
#define UDP_CHECKSUM_OFFSET 6u

/* Offsets into the IPv4 header. */
#define IPV4_TOTAL_LENGTH 2
#define IPV4_ID 4
#define IPV4_FRAGMENT 6
#define IPV4_PROTOCOL 9
#define IPV4_CHECKSUM 10
#define IPV4_SOURCE 12 /* then the destination, 4 bytes on */

/* Offsets into the TCP header. */
#define TCP_SEQUENCE 4
#define TCP_DATA_OFFSET 12
#define TCP_FLAGS 13
#define TCP_CHECKSUM 16

static bool refuse(const char **reason, const char *why)
{
	if (reason)
		*reason = why;
	return false;
}

static uint16_t get_be16(const uint8_t *at)
{
	return (uint16_t)(at[0] << 8 | at[1]);
}

static void put_be16(uint8_t *at, uint16_t value)
{
	at[0] = (uint8_t)(value >> 8);
	at[1] = (uint8_t)value;
}

static uint32_t get_be32(const uint8_t *at)
{
	return (uint32_t)at[0] << 24 | (uint32_t)at[1] << 16 | (uint32_t)at[2] << 8 | at[3];
}

static void put_be32(uint8_t *at, uint32_t value)
{
	put_be16(at, (uint16_t)(value >> 16));
	put_be16(at + 2, (uint16_t)value);
}

/*
 * Adds `length` bytes to a running ones'-complement sum, as big-endian 16-bit words with an odd
 * last byte padded by a zero. Every piece but the last must have an even length, or the words
 * after it would be misaligned. 64 bits cannot overflow for any frame that fits in memory.
 */
static uint64_t add_to_sum(uint64_t sum, const uint8_t *bytes, size_t length)
{
	size_t at = 0;
	for (; at + 1 < length; at += 2)
		sum += (uint32_t)bytes[at] << 8 | bytes[at + 1];
	if (at < length)
		sum += (uint32_t)bytes[at] << 8;
	return sum;
}

/* The Internet checksum (RFC 1071) that makes `sum` plus itself come to 0xffff. */
static uint16_t checksum_of(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

bool frame_finish_checksum(uint8_t *frame, size_t length, const char **reason)
{
	const size_t header = RINGVISOR_NET_HEADER_BYTES;
	if (length < header)
		return refuse(reason, "frame shorter than its virtio-net header");
	struct ringvisor_net_header net = net_header_load(frame);
	if (net.gso_type != RINGVISOR_NET_GSO_NONE)
		return refuse(reason, "a GSO frame is checksummed when it is segmented");
	if (net.flags & RINGVISOR_NET_HEADER_NEEDS_CSUM) {
		size_t start = header + le16toh(net.checksum_start);
		size_t offset = le16toh(net.checksum_offset);
		if (start > length || offset + 2 > length - start)
			return refuse(reason, "csum_start/csum_offset beyond the frame");
		uint16_t checksum = checksum_of(add_to_sum(0, frame + start, length - start));
		if (checksum == 0 && offset == UDP_CHECKSUM_OFFSET)
			checksum = 0xffff; /* UDP's 0 means "no checksum"; 0xffff is the same sum */
		put_be16(frame + start + offset, checksum);
	}
	/* Neither NEEDS_CSUM nor DATA_VALID: virtio's flags for a guest without GUEST_CSUM. */
	net.flags = 0;
	net_header_store(frame, &net);
	return true;
}

bool frame_segmenter_start(struct frame_segmenter *segmenter, const uint8_t *frame, size_t length,
			   const char **reason)
{
	const size_t header = RINGVISOR_NET_HEADER_BYTES;
	memset(segmenter, 0, sizeof *segmenter);
	segmenter->done =
		true; /* until the frame passes every check, there is nothing to segment */

	/* The virtio-net header. */
	if (length < header)
		return refuse(reason, "frame shorter than its virtio-net header");
	struct ringvisor_net_header net = net_header_load(frame);
	if (net.gso_type != RINGVISOR_NET_GSO_TCPV4)
		return refuse(reason, "gso_type is not TCPv4");
	uint16_t gso_size = le16toh(net.gso_size);
	/* A frame from another launcher's ring may ask anything: one byte a segment would make a
	 * 64 KiB frame 65,000 frames for our guest. The floor senders are held to (net_header.h).
	 */
	if (gso_size < NET_HEADER_GSO_SIZE_MIN)
		return refuse(reason, "gso_size below 24");
	if (net_header_gso_segments_bound(length - header, gso_size) >
	    RINGVISOR_NET_GSO_SEGMENTS_MAX)
		return refuse(reason, "a GSO frame of more than 128 segments");
	/* Checks run on a copy of the headers, so what is checked is what goes into every
	 * segment even if the sender rewrites its frame meanwhile. */
	size_t ethernet_bytes = length - header;
	const uint8_t *ethernet = segmenter->headers;
	memcpy(segmenter->headers, frame + header,
	       ethernet_bytes < sizeof segmenter->headers ? ethernet_bytes
							  : sizeof segmenter->headers);

	/* Ethernet and the fixed part of IPv4. */
	if (ethernet_bytes < RINGVISOR_ETHERNET_HEADER_BYTES + 20)
		return refuse(reason, "frame too short for Ethernet and IPv4 headers");
	if (get_be16(ethernet + ETHERNET_TYPE) != RINGVISOR_ETHERTYPE_IPV4)
		return refuse(reason, "not an IPv4 frame (VLAN tags are not supported)");
	const uint8_t *ipv4 = ethernet + RINGVISOR_ETHERNET_HEADER_BYTES;
	size_t ipv4_bytes = ethernet_bytes - RINGVISOR_ETHERNET_HEADER_BYTES;
	if (ipv4[0] >> 4 != 4)
		return refuse(reason, "IP version is not 4");
	size_t ipv4_header_bytes = (size_t)(ipv4[0] & 0x0f) * 4;
	if (ipv4_header_bytes < 20)
		return refuse(reason, "IPv4 IHL below 5");
	/* Exactly: a GSO frame is never padded, and trailing bytes would be sent as payload. */
	size_t total_length = get_be16(ipv4 + IPV4_TOTAL_LENGTH);
	if (total_length != ipv4_bytes)
		return refuse(reason, "IPv4 total length is not the rest of the frame");
	if (get_be16(ipv4 + IPV4_FRAGMENT) & (IPV4_MORE_FRAGMENTS | IPV4_FRAGMENT_OFFSET))
		return refuse(reason, "an IPv4 fragment cannot be segmented");
	if (ipv4[IPV4_PROTOCOL] != IPV4_PROTOCOL_TCP)
		return refuse(reason, "IPv4 protocol is not TCP");

	/* The TCP header, after the IPv4 options; within the copy, as IHL and data offset are at
	 * most 15 words each. */
	if (total_length < ipv4_header_bytes + 20)
		return refuse(reason, "frame too short for IPv4 options and a TCP header");
	const uint8_t *tcp = ipv4 + ipv4_header_bytes;
	size_t tcp_header_bytes = (size_t)(tcp[TCP_DATA_OFFSET] >> 4) * 4;
	if (tcp_header_bytes < 20)
		return refuse(reason, "TCP data offset below 5");
	if (total_length < ipv4_header_bytes + tcp_header_bytes)
		return refuse(reason, "TCP data offset beyond the frame");

	segmenter->payload = frame + header + RINGVISOR_ETHERNET_HEADER_BYTES + ipv4_header_bytes +
			     tcp_header_bytes;
	segmenter->payload_bytes = (uint32_t)(total_length - ipv4_header_bytes - tcp_header_bytes);
	segmenter->segment_payload = gso_size;
	segmenter->ipv4_header_bytes = (uint16_t)ipv4_header_bytes;
	segmenter->tcp_header_bytes = (uint16_t)tcp_header_bytes;
	segmenter->done = false;
	return true;
}

static size_t next_payload_bytes(const struct frame_segmenter *segmenter)
{
	uint32_t left = segmenter->payload_bytes - segmenter->payload_done;
	return left < segmenter->segment_payload ? left : segmenter->segment_payload;
}

size_t frame_segmenter_next_length(const struct frame_segmenter *segmenter)
{
	if (segmenter->done)
		return 0;
	return RINGVISOR_NET_HEADER_BYTES + RINGVISOR_ETHERNET_HEADER_BYTES +
	       segmenter->ipv4_header_bytes + segmenter->tcp_header_bytes +
	       next_payload_bytes(segmenter);
}

size_t frame_segmenter_next(struct frame_segmenter *segmenter, uint8_t *out, size_t room)
{
	size_t length = frame_segmenter_next_length(segmenter);
	if (length == 0 || room < length)
		return 0;
	size_t payload_bytes = next_payload_bytes(segmenter);
	bool last = segmenter->payload_done + payload_bytes == segmenter->payload_bytes;
	size_t ipv4_header_bytes = segmenter->ipv4_header_bytes;
	size_t tcp_bytes = segmenter->tcp_header_bytes + payload_bytes;

	/* One buffer per segment: virtio's num_buffers without MRG_RXBUF. */
	const struct ringvisor_net_header net = { .buffer_count = htole16(1) };
	net_header_store(out, &net);
	uint8_t *ethernet = out + RINGVISOR_NET_HEADER_BYTES;
	memcpy(ethernet, segmenter->headers,
	       RINGVISOR_ETHERNET_HEADER_BYTES + ipv4_header_bytes + segmenter->tcp_header_bytes);
	uint8_t *ipv4 = ethernet + RINGVISOR_ETHERNET_HEADER_BYTES;
	uint8_t *tcp = ipv4 + ipv4_header_bytes;
	memcpy(tcp + segmenter->tcp_header_bytes, segmenter->payload + segmenter->payload_done,
	       payload_bytes);

	/* At most the original's total length, so it fits in 16 bits. */
	put_be16(ipv4 + IPV4_TOTAL_LENGTH, (uint16_t)(ipv4_header_bytes + tcp_bytes));
	put_be16(ipv4 + IPV4_ID, (uint16_t)(get_be16(ipv4 + IPV4_ID) + segmenter->segments_done));
	put_be16(ipv4 + IPV4_CHECKSUM, 0);
	put_be16(ipv4 + IPV4_CHECKSUM, checksum_of(add_to_sum(0, ipv4, ipv4_header_bytes)));

	put_be32(tcp + TCP_SEQUENCE, get_be32(tcp + TCP_SEQUENCE) + segmenter->payload_done);
	/* As Linux: the end of the burst (FIN, PSH) belongs to its last segment, and the
	 * congestion-window-reduced signal to its first only. */
	if (!last)
		tcp[TCP_FLAGS] = (uint8_t)(tcp[TCP_FLAGS] & ~(TCP_FIN | TCP_PSH));
	if (segmenter->segments_done > 0)
		tcp[TCP_FLAGS] = (uint8_t)(tcp[TCP_FLAGS] & ~TCP_CWR);
	uint8_t pseudo_header[12];
	memcpy(pseudo_header, ipv4 + IPV4_SOURCE, 8);
	pseudo_header[8] = 0;
	pseudo_header[9] = IPV4_PROTOCOL_TCP;
	put_be16(pseudo_header + 10, (uint16_t)tcp_bytes);
	put_be16(tcp + TCP_CHECKSUM, 0);
	uint64_t sum = add_to_sum(0, pseudo_header, sizeof pseudo_header);
	put_be16(tcp + TCP_CHECKSUM, checksum_of(add_to_sum(sum, tcp, tcp_bytes)));

	segmenter->payload_done += (uint32_t)payload_bytes;
	segmenter->segments_done++;
	segmenter->done = last;
	return length;
}
