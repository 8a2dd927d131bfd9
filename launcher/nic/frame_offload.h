/*
 * Offloads done in software, for a receiving guest that did not negotiate them.
 *
 * A guest that sends with CSUM / HOST_TSO4 hands the launcher frames whose transport checksum
 * is only a pseudo-header sum (NEEDS_CSUM) and TCP/IPv4 frames of up to 64 KiB (gso_type
 * TCPV4), counting on the far end to finish them. Through a TAP the host kernel does that; the
 * `share` backend carries frames from one guest straight to another, so when the receiving
 * guest did not negotiate GUEST_CSUM / GUEST_TSO4 the launcher must do it on the receiver's
 * behalf: frame_finish_checksum() for the first, a frame_segmenter for the second, putting each
 * segment straight into one receive buffer.
 *
 * A frame here is what the NIC carries (abi/ringvisor_frame.h): a struct ringvisor_net_header,
 * then an Ethernet frame. Frames come from a guest and are hostile: every field is checked
 * before it is used, and the header is read once (nic/net_header.h).
 */
#ifndef RINGVISOR_FRAME_OFFLOAD_H
#define RINGVISOR_FRAME_OFFLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ringvisor_frame.h"

/*
 * Finishes a NEEDS_CSUM checksum: csum_start counts from the Ethernet header, and the 16-bit
 * field at csum_start + csum_offset holds the pseudo-header sum; the Internet checksum from
 * csum_start to the end of the frame goes there (0xffff for a UDP checksum, csum_offset 6, that
 * comes out 0, which would mean "none"). Then sets flags to 0, as virtio wants for a guest
 * without GUEST_CSUM, so the receiver checks every checksum itself. Other header fields are
 * left alone.
 *
 * False, with a short reason and the frame unchanged, for a frame shorter than its header, a
 * GSO frame (checksummed per segment by a frame_segmenter instead), or a checksum field outside
 * the frame.
 */
bool frame_finish_checksum(uint8_t *frame, size_t length, const char **reason);

/*
 * Cuts a TCP/IPv4 GSO frame into the segments Linux's TSO would put on the wire, one at a time,
 * so that each can be written straight into a different receive buffer:
 *
 *	struct frame_segmenter segmenter;
 *	if (!frame_segmenter_start(&segmenter, frame, length, &reason))
 *		drop the frame;
 *	size_t need;
 *	while ((need = frame_segmenter_next_length(&segmenter)) != 0) {
 *		take a receive buffer of `room` bytes, or stop;
 *		size_t written = frame_segmenter_next(&segmenter, buffer, room);
 *		written == 0 here means room < need: nothing was written, nothing consumed
 *	}
 *
 * The fields are private.
 */
struct frame_segmenter {
	const uint8_t *payload;	    /* the original frame's TCP payload */
	uint32_t payload_bytes;	    /* its length */
	uint32_t payload_done;	    /* bytes already put into segments */
	uint16_t segment_payload;   /* gso_size: the most payload in one segment */
	uint16_t segments_done;	    /* segments written so far (IPv4 ID = first + this) */
	uint16_t ipv4_header_bytes; /* IHL * 4 */
	uint16_t tcp_header_bytes;  /* data offset * 4 */
	bool done;
	/* The Ethernet, IPv4 and TCP headers, copied before they are checked: a sender changing
	 * its frame after all can garble payload bytes, but not what was checked. */
	uint8_t headers[RINGVISOR_ETHERNET_HEADER_BYTES + 60 + 60];
};

/*
 * Checks a GSO TCPv4 frame (gso_type TCPV4, exactly; no ECN bit) held in memory the caller owns
 * and will not change until the last segment is written. Header lengths come from the IPv4 IHL
 * and the TCP data offset, never from hdr_len, which a guest may leave wrong or 0; csum_start
 * and csum_offset are ignored, as every segment gets its checksums computed in full.
 *
 * False, with a short reason, for gso_size 0, another gso_type, an Ethernet type other than
 * IPv4 (VLAN tags included), a version other than 4, IHL < 5, a fragment (MF or an offset; DF
 * is fine), a protocol other than TCP, a TCP data offset < 5, headers beyond the frame, or an
 * IPv4 total length other than exactly the rest of the frame: a GSO frame comes straight from
 * its sender's stack, never padded to a minimum size.
 *
 * A frame whose payload fits in gso_size bytes, or that has none, yields one segment. The 16-bit
 * IPv4 total length bounds the payload to 64 KiB, so segments never outgrow the original.
 */
bool frame_segmenter_start(struct frame_segmenter *segmenter, const uint8_t *frame, size_t length,
			   const char **reason);

/* Bytes the next segment takes, virtio-net header included; 0 when there are no more. */
size_t frame_segmenter_next_length(const struct frame_segmenter *segmenter);

/*
 * Writes the next segment into `out`: a 12-byte header (flags 0, gso_type NONE, num_buffers 1,
 * everything else 0), the original Ethernet, IPv4 and TCP headers, then up to gso_size payload
 * bytes. In each segment the IPv4 total length, ID (the original's plus the segment's index)
 * and header checksum, the TCP sequence number and the TCP checksum (pseudo-header included)
 * are fixed; FIN and PSH stay only on the last segment, CWR only on the first.
 *
 * Returns the segment's length, or 0 without writing anything if there are no more segments or
 * `room` is less than frame_segmenter_next_length(): tell the two apart with that function.
 */
size_t frame_segmenter_next(struct frame_segmenter *segmenter, uint8_t *out, size_t room);

#endif
