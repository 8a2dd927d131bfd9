/*
 * tcp_check_pattern.h - the byte stream tcp-check (guest) and tcp_check_host (host) send and
 * verify. Included by both, so the two can never disagree.
 *
 * Byte N of a stream is byte N % 8 (little-endian) of splitmix64(N / 8): keyed by the offset
 * alone, so a segment delivered twice, out of place, or damaged shows up at the first wrong byte,
 * and any stretch can be generated or checked without the bytes before it. The first byte is
 * never '!' (tcp-echo's control messages start with one).
 */
#ifndef TCP_CHECK_PATTERN_H
#define TCP_CHECK_PATTERN_H

#include <stddef.h>
#include <stdint.h>

static inline uint64_t tcp_check_word(uint64_t index)
{
	uint64_t z = index * 0x9e3779b97f4a7c15ull + 0x6a09e667f3bcc909ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline uint8_t tcp_check_byte(uint64_t offset)
{
	return (uint8_t)(tcp_check_word(offset >> 3) >> (8 * (offset & 7)));
}

/* Fills buffer with the length bytes of the stream that start at offset. */
static inline void tcp_check_fill(uint8_t *buffer, uint64_t offset, size_t length)
{
	size_t i = 0;
	for (; i < length && ((offset + i) & 7) != 0; i++)
		buffer[i] = tcp_check_byte(offset + i);
	for (; i + 8 <= length; i += 8) {
		uint64_t word = tcp_check_word((offset + i) >> 3);
		for (int j = 0; j < 8; j++)
			buffer[i + j] = (uint8_t)(word >> (8 * j));
	}
	for (; i < length; i++)
		buffer[i] = tcp_check_byte(offset + i);
}

/* Checks length received bytes that sit at offset of the stream: the index of the first wrong
 * byte, or length if all are right. */
static inline size_t tcp_check_verify(const uint8_t *buffer, uint64_t offset, size_t length)
{
	size_t i = 0;
	for (; i < length && ((offset + i) & 7) != 0; i++)
		if (buffer[i] != tcp_check_byte(offset + i))
			return i;
	for (; i + 8 <= length; i += 8) {
		uint64_t word = tcp_check_word((offset + i) >> 3), got = 0;
		for (int j = 0; j < 8; j++)
			got |= (uint64_t)buffer[i + j] << (8 * j);
		if (got != word)
			break; /* the byte loop below finds which */
	}
	for (; i < length; i++)
		if (buffer[i] != tcp_check_byte(offset + i))
			return i;
	return length;
}

#endif
