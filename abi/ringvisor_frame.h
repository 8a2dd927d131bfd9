/*
 * The frame format on a Ringvisor NIC: what every buffer in a NIC's queues holds, both ways.
 *
 * A buffer holds a struct ringvisor_net_header (virtio 1.x's struct virtio_net_hdr_v1, 5.1.6)
 * and then one Ethernet frame. The header says what the frame still needs (a checksum to finish,
 * a 64 KiB TCP segment to cut into MSS-sized ones) or what was already done for it (a checksum
 * checked). It is the TAP's IFF_VNET_HDR header byte for byte, so the launcher moves frames
 * between a TAP and a guest without rewriting them, and it is the record format on a share
 * switch. The launcher, the guest's NIC driver and the network stack all take the layout, the
 * flags and the GSO types from here.
 *
 * Fields are little-endian, as in virtio. Only the stdint types: this is included on both sides.
 */
#ifndef RINGVISOR_FRAME_H
#define RINGVISOR_FRAME_H

#include <stdint.h>

struct ringvisor_net_header {
	uint8_t flags;		  /* RINGVISOR_NET_HEADER_NEEDS_CSUM, _DATA_VALID */
	uint8_t gso_type;	  /* RINGVISOR_NET_GSO_*, with RINGVISOR_NET_GSO_ECN */
	uint16_t header_length;	  /* hdr_len: bytes of headers in front of the GSO payload */
	uint16_t gso_size;	  /* payload bytes per segment when it is cut */
	uint16_t checksum_start;  /* csum_start: from the start of the Ethernet frame */
	uint16_t checksum_offset; /* csum_offset: from checksum_start to the checksum field */
	uint16_t buffer_count;	  /* num_buffers: 0 on transmit; receive buffers are never merged */
};

/* Bytes of struct ringvisor_net_header in front of every frame. */
#define RINGVISOR_NET_HEADER_BYTES 12u
_Static_assert(sizeof(struct ringvisor_net_header) == RINGVISOR_NET_HEADER_BYTES,
	       "struct ringvisor_net_header is virtio_net_hdr_v1: 12 bytes");

/* flags */
#define RINGVISOR_NET_HEADER_NEEDS_CSUM 1u /* checksum_start/offset: a partial sum to finish */
#define RINGVISOR_NET_HEADER_DATA_VALID 2u /* receive only: the transport checksum was checked */

/* gso_type */
#define RINGVISOR_NET_GSO_NONE 0u
#define RINGVISOR_NET_GSO_TCPV4 1u
#define RINGVISOR_NET_GSO_UDP 3u
#define RINGVISOR_NET_GSO_TCPV6 4u
#define RINGVISOR_NET_GSO_UDP_L4 5u
#define RINGVISOR_NET_GSO_ECN 0x80u /* with a TCP type: the segments carry ECN's CWR */

/* The most segments one GSO frame may become, as a device's gso_max_segs is on Linux: a real
 * sender's 64 KiB frame is 45 segments at an MSS of 1,448, 123 at 536. A frame with more is
 * refused (counted, not sent), in a guest's transmit ring and from a switch alike: one 64 KiB
 * frame cut into 24-byte segments, which a floor on gso_size alone allows, would be 2,700
 * frames for a receiver. The device counts from the frame's length, with its headers taken at
 * their smallest (Ethernet, IPv4 and TCP without options: it cannot trust the guest's header
 * lengths), so IP and TCP options count as payload: a sender leaves room for them, as the
 * guest's TCP does. */
#define RINGVISOR_NET_GSO_SEGMENTS_MAX 128u

/* The Ethernet frame after the header. */
#define RINGVISOR_ETHERNET_ADDRESS_BYTES 6u
#define RINGVISOR_ETHERNET_HEADER_BYTES 14u /* destination, source, EtherType; no VLAN tags */
#define RINGVISOR_ETHERTYPE_IPV4 0x0800u
#define RINGVISOR_ETHERTYPE_ARP 0x0806u

/* The largest buffer: a header and a 64 KiB TSO frame (an IPv4 datagram of at most 65,535). */
#define RINGVISOR_FRAME_BYTES_MAX                                                                  \
	(RINGVISOR_NET_HEADER_BYTES + RINGVISOR_ETHERNET_HEADER_BYTES + 65535u)

#endif
