/*
 * checksum.c - the Internet checksum (RFC 1071).
 *
 * Ones' complement addition is order-independent, so the sum is accumulated in a 64-bit integer
 * and folded once at the end; 64 bits cannot overflow for any packet this stack handles.
 */
#include "checksum.h"

#include "byteorder.h"

static uint16_t fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

uint16_t checksum_add(uint16_t partial, const uint8_t *data, size_t length)
{
	uint64_t sum = partial;
	size_t i = 0;

	/* Four bytes at a time: two words per iteration, still byte loads (any alignment). */
	for (; i + 4 <= length; i += 4)
		sum += load_be32(data + i);
	for (; i + 2 <= length; i += 2)
		sum += load_be16(data + i);
	if (i < length)
		sum += (uint16_t)data[i] << 8; /* an odd last byte is padded with a zero */
	return fold(sum);
}

uint16_t checksum_pseudo_header(uint32_t source, uint32_t destination, uint8_t protocol,
				uint16_t transport_length)
{
	uint64_t sum = (uint64_t)(source >> 16) + (source & 0xffff) + (destination >> 16) +
		       (destination & 0xffff) + protocol + transport_length;
	return fold(sum);
}
