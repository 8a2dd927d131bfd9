/*
 * The struct ringvisor_net_header in front of every frame (abi/ringvisor_frame.h), to and from
 * the bytes of a buffer. A frame in a buffer has no alignment to speak of and its fields are
 * little-endian, so the launcher never reads the header in place or by byte offset: it copies
 * it into the struct once (for a guest's or another launcher's frame, that is also the one read
 * of what it then checks), reads the fields through le16toh(), and copies it back if it changed
 * it.
 */
#ifndef RINGVISOR_NET_HEADER_H
#define RINGVISOR_NET_HEADER_H

#include <endian.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ringvisor_abi.h"
#include "ringvisor_frame.h"

static inline struct ringvisor_net_header net_header_load(const uint8_t *frame)
{
	struct ringvisor_net_header header;
	memcpy(&header, frame, sizeof header);
	return header;
}

static inline void net_header_store(uint8_t *frame, const struct ringvisor_net_header *header)
{
	memcpy(frame, header, sizeof *header);
}

/* The smallest segment size a guest may ask for: the guest stack's floor on the MSS (64) less
 * the most TCP options a segment can carry (40, SACK blocks). Any smaller, and one 64 KiB frame
 * becomes thousands of segments wherever it is segmented (the host's kernel behind a TAP, a
 * switch port for a guest without TSO): one byte a segment made 65,000. */
#define NET_HEADER_GSO_SIZE_MIN 24u

/* How many segments a GSO frame of `frame_length` bytes (after the virtio-net header) can become
 * at most, with segments of `gso_size`: its headers taken at their smallest (Ethernet, IPv4 and
 * TCP without options), so that whatever they really are, it makes no more than this. */
static inline size_t net_header_gso_segments_bound(size_t frame_length, unsigned gso_size)
{
	const size_t headers = RINGVISOR_ETHERNET_HEADER_BYTES + 20 + 20;
	size_t payload = frame_length > headers ? frame_length - headers : 0;
	return gso_size ? (payload + gso_size - 1) / gso_size : SIZE_MAX;
}

/*
 * What a guest's transmitted header may ask of whoever takes the frame next (the host's kernel,
 * another launcher), given the features it accepted and its MTU: NULL if all of it may be
 * asked, else why not. `frame_length` is the frame's length after the header.
 */
static inline const char *net_header_refusal(const struct ringvisor_net_header *header,
					     uint64_t features, unsigned mtu, size_t frame_length)
{
	if (header->flags & ~RINGVISOR_NET_HEADER_NEEDS_CSUM)
		return "header flags other than NEEDS_CSUM";
	if (header->flags & RINGVISOR_NET_HEADER_NEEDS_CSUM) {
		if (!(features & RINGVISOR_NIC_FEATURE(RINGVISOR_NIC_FEATURE_CSUM)))
			return "NEEDS_CSUM, but checksum offload was not negotiated";
		size_t start = le16toh(header->checksum_start);
		if (start + le16toh(header->checksum_offset) + 2 > frame_length)
			return "a checksum to finish outside the frame";
	}
	if (header->gso_type == RINGVISOR_NET_GSO_NONE)
		return NULL;
	if (header->gso_type != RINGVISOR_NET_GSO_TCPV4)
		return "a GSO type other than TCPv4";
	if (!(features & RINGVISOR_NIC_FEATURE(RINGVISOR_NIC_FEATURE_HOST_TSO4)))
		return "a TCPv4 GSO frame, but TSO was not negotiated";
	if (!(header->flags & RINGVISOR_NET_HEADER_NEEDS_CSUM))
		return "a GSO frame without NEEDS_CSUM";
	unsigned segment = le16toh(header->gso_size);
	if (segment < NET_HEADER_GSO_SIZE_MIN || segment + 40 > mtu)
		return "a GSO segment size below 24 or too big for the MTU";
	if (net_header_gso_segments_bound(frame_length, segment) > RINGVISOR_NET_GSO_SEGMENTS_MAX)
		return "a GSO frame of more than 128 segments";
	return NULL;
}

#endif
