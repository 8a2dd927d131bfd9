/*
 * ethernet.c - Ethernet II framing: check and dispatch received frames, fill headers on send.
 *
 * Frames come without FCS (virtio and TAP strip it) and may be shorter than the 60-byte Ethernet
 * minimum or carry padding after the IP packet; IPv4 trims to its total length. Frames are not
 * padded on transmit: neither virtio-net nor a TAP needs it. No VLAN tags: an 802.1Q frame is an
 * unknown EtherType.
 */
#include "byteorder.h"
#include "net_internal.h"

const uint8_t ethernet_broadcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

bool ethernet_is_multicast(const uint8_t mac[6])
{
	return (mac[0] & 1) != 0; /* the I/G bit; broadcast is a multicast address too */
}

void ethernet_fill_header(uint8_t *frame, const uint8_t destination[6], const uint8_t source[6],
			  uint16_t type)
{
	memcpy(frame, destination, 6);
	memcpy(frame + 6, source, 6);
	store_be16(frame + 12, type);
}

void ethernet_input(struct net_interface *interface, const uint8_t *frame, size_t length,
		    const struct net_offload *offload)
{
	const uint8_t *destination = frame, *source = frame + 6;

	if (length < RINGVISOR_ETHERNET_HEADER_BYTES) {
		interface->counters.ethernet_runt++;
		return;
	}
	if (memcmp(destination, interface->config.mac, 6) != 0 &&
	    memcmp(destination, ethernet_broadcast, 6) != 0) {
		/* We join no multicast groups, so any other destination is someone else's. */
		interface->counters.ethernet_not_for_us++;
		return;
	}
	if (ethernet_is_multicast(source)) {
		interface->counters.ethernet_bad_source++;
		return;
	}
	switch (load_be16(frame + 12)) {
	case RINGVISOR_ETHERTYPE_ARP:
		arp_input(interface, frame + RINGVISOR_ETHERNET_HEADER_BYTES,
			  length - RINGVISOR_ETHERNET_HEADER_BYTES);
		break;
	case RINGVISOR_ETHERTYPE_IPV4:
		ipv4_input(interface, frame + RINGVISOR_ETHERNET_HEADER_BYTES,
			   length - RINGVISOR_ETHERNET_HEADER_BYTES, offload);
		break;
	default:
		interface->counters.ethernet_unknown_type++;
		break;
	}
}

void ethernet_link_output(struct net_interface *interface, uint32_t next_hop, bool broadcast,
			  struct net_frame *frame)
{
	if (broadcast) {
		ethernet_fill_header(net_frame_data(frame), ethernet_broadcast,
				     interface->config.mac, RINGVISOR_ETHERTYPE_IPV4);
		interface_transmit(interface, frame);
		return;
	}
	arp_resolve_and_send(interface, next_hop, frame);
}
