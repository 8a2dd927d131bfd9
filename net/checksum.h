/*
 * checksum.h - the Internet checksum (RFC 1071) used by IPv4, ICMP and UDP.
 *
 * A checksum is built in two steps: checksum_add() accumulates 16-bit big-endian words into a
 * partial sum (kept folded to 16 bits, so partial sums can be stored in a packet, as a
 * NEEDS_CSUM offload wants), and checksum_finish() folds and complements it. Pieces chained with
 * checksum_add() must each have an even length, except the last.
 */
#ifndef RINGVISOR_NET_CHECKSUM_H
#define RINGVISOR_NET_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

/* Add length bytes of data to a partial sum; returns the new partial sum (0..0xffff). */
uint16_t checksum_add(uint16_t partial, const uint8_t *data, size_t length);

/* The complemented checksum to store in a header. */
static inline uint16_t checksum_finish(uint16_t partial)
{
	return (uint16_t)~partial;
}

/* The partial sum of the IPv4 pseudo-header that UDP and TCP checksums cover. */
uint16_t checksum_pseudo_header(uint32_t source, uint32_t destination, uint8_t protocol,
				uint16_t transport_length);

#endif
