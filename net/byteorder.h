/*
 * byteorder.h - reading and writing wire-format (big-endian) integers.
 *
 * Packets arrive at any alignment and the guest is little-endian, so every multi-byte field is
 * read and written one byte at a time through these helpers. They compile to a load and a bswap;
 * casting a packet pointer to uint16_t * instead would be undefined behaviour (UBSan flags it).
 */
#ifndef RINGVISOR_NET_BYTEORDER_H
#define RINGVISOR_NET_BYTEORDER_H

#include <stdint.h>
#include <string.h>

static inline uint16_t load_be16(const uint8_t *bytes)
{
	return (uint16_t)((uint16_t)bytes[0] << 8 | bytes[1]);
}

static inline uint32_t load_be32(const uint8_t *bytes)
{
	return (uint32_t)bytes[0] << 24 | (uint32_t)bytes[1] << 16 | (uint32_t)bytes[2] << 8 |
	       bytes[3];
}

static inline void store_be16(uint8_t *bytes, uint16_t value)
{
	bytes[0] = (uint8_t)(value >> 8);
	bytes[1] = (uint8_t)value;
}

static inline void store_be32(uint8_t *bytes, uint32_t value)
{
	bytes[0] = (uint8_t)(value >> 24);
	bytes[1] = (uint8_t)(value >> 16);
	bytes[2] = (uint8_t)(value >> 8);
	bytes[3] = (uint8_t)value;
}

/* virtio headers are little-endian. */
static inline uint16_t load_le16(const uint8_t *bytes)
{
	return (uint16_t)((uint16_t)bytes[1] << 8 | bytes[0]);
}

static inline void store_le16(uint8_t *bytes, uint16_t value)
{
	bytes[0] = (uint8_t)value;
	bytes[1] = (uint8_t)(value >> 8);
}

/* A little-endian field of a struct that lives in memory as it does on the wire. */
static inline uint16_t le16_to_host(uint16_t field)
{
	uint8_t bytes[2];
	memcpy(bytes, &field, sizeof field);
	return load_le16(bytes);
}

static inline uint16_t host_to_le16(uint16_t value)
{
	uint8_t bytes[2];
	store_le16(bytes, value);
	uint16_t field;
	memcpy(&field, bytes, sizeof field);
	return field;
}

#endif
