/*
 * offload.c - converting offload metadata to and from struct virtio_net_hdr_v1.
 *
 * The stack keeps struct net_offload in host byte order; the virtio header is little-endian with
 * fields at fixed offsets: flags 0, gso_type 1, hdr_len 2, gso_size 4, csum_start 6,
 * csum_offset 8, num_buffers 10. Explicit byte stores keep this right on any host.
 */
#include "byteorder.h"
#include "net_internal.h"

void net_offload_to_virtio_header(const struct net_offload *offload,
				  uint8_t header[NET_VIRTIO_HEADER_SIZE])
{
	header[0] = offload->flags;
	header[1] = offload->gso_type;
	store_le16(header + 2, offload->header_length);
	store_le16(header + 4, offload->gso_size);
	store_le16(header + 6, offload->checksum_start);
	store_le16(header + 8, offload->checksum_offset);
	store_le16(header + 10, 0);
}

void net_offload_from_virtio_header(struct net_offload *offload,
				    const uint8_t header[NET_VIRTIO_HEADER_SIZE])
{
	offload->flags = header[0];
	offload->gso_type = header[1];
	offload->header_length = load_le16(header + 2);
	offload->gso_size = load_le16(header + 4);
	offload->checksum_start = load_le16(header + 6);
	offload->checksum_offset = load_le16(header + 8);
}
