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
#include <stdint.h>
#include <string.h>

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

#endif
