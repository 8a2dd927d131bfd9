/*
 * offload.c - converting offload metadata to and from the virtio-net header.
 *
 * The stack keeps struct net_offload in host byte order; struct ringvisor_net_header
 * (abi/ringvisor_frame.h) is the wire form, little-endian, as virtio and the TAP define it.
 */
#include "byteorder.h"
#include "net_internal.h"

void net_offload_to_virtio_header(const struct net_offload *offload,
				  struct ringvisor_net_header *header)
{
	*header = (struct ringvisor_net_header){
		.flags = offload->flags,
		.gso_type = offload->gso_type,
		.header_length = host_to_le16(offload->header_length),
		.gso_size = host_to_le16(offload->gso_size),
		.checksum_start = host_to_le16(offload->checksum_start),
		.checksum_offset = host_to_le16(offload->checksum_offset),
		.buffer_count = 0,
	};
}

void net_offload_from_virtio_header(struct net_offload *offload,
				    const struct ringvisor_net_header *header)
{
	*offload = (struct net_offload){
		.flags = header->flags,
		.gso_type = header->gso_type,
		.header_length = le16_to_host(header->header_length),
		.gso_size = le16_to_host(header->gso_size),
		.checksum_start = le16_to_host(header->checksum_start),
		.checksum_offset = le16_to_host(header->checksum_offset),
	};
}
