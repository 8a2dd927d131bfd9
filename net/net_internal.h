/*
 * net_internal.h - the stack's own structures and the calls its layers make to one another.
 *
 * Not for applications (they use net.h). Tests may include it to look inside.
 *
 * Receive path:  net_receive -> ethernet_input -> arp_input
 *                                              -> ipv4_input -> [reassembly_input] -> ipv4_deliver
 *                                                    -> icmp_input | udp_input | tcp_input
 * Transmit path: udp/icmp (replies, errors, pings) -> ipv4_send (fragments, finishes checksums
 *                in software when the interface cannot) -> interface->link_output (Ethernet: ARP
 *                resolves or queues) -> interface_transmit -> the driver's transmit().
 * The loopback interface's link_output queues the frame on the stack; net_poll_timers hands it
 * to ipv4_input. TCP builds its frames itself and sends them with ipv4_send_frame (no copy, no
 * fragmentation, TSO). TCP's own structures are in tcp_internal.h.
 */
#ifndef RINGVISOR_NET_INTERNAL_H
#define RINGVISOR_NET_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "net.h"

/* The IPv4 header's flags-and-fragment-offset field. */
#define IPV4_FLAG_MORE_FRAGMENTS 0x2000
#define IPV4_FRAGMENT_OFFSET 0x1fff
#define IPV4_HEADER_SIZE 20
#define IPV4_MAX_HEADER_SIZE 60
#define IPV4_PROTOCOL_ICMP 1
#define IPV4_PROTOCOL_TCP 6
#define IPV4_PROTOCOL_UDP 17
#define IPV4_DEFAULT_TTL 64
#define IPV4_BROADCAST 0xffffffffu
#define UDP_HEADER_SIZE 8
#define ICMP_HEADER_SIZE 8

/*
 * A frame being built for transmit, or waiting in an ARP queue. The frame itself starts
 * NET_TRANSMIT_HEADROOM bytes into storage, and its first RINGVISOR_ETHERNET_HEADER_BYTES bytes are
 * left for link_output to fill.
 */
struct net_frame {
	struct net_frame *next;
	size_t length; /* of the frame, Ethernet header included */
	struct net_offload offload;
	uint8_t storage[];
};

static inline uint8_t *net_frame_data(struct net_frame *frame)
{
	return frame->storage + NET_TRANSMIT_HEADROOM;
}

enum arp_state {
	ARP_FREE = 0,
	ARP_INCOMPLETE, /* request sent, frames may be waiting */
	ARP_RESOLVED,
};

struct arp_entry {
	enum arp_state state;
	uint32_t address;
	uint8_t mac[6];
	uint64_t deadline_ns;	/* resolved: forget it then; incomplete: retry or give up then */
	uint64_t updated_ns;	/* last confirmed; also for choosing what to evict */
	uint64_t used_ns;	/* resolved: a frame last went out through it */
	uint32_t requests_sent; /* incomplete: so far; resolved: > 0 while refreshing it */
	struct net_frame *pending_head, *pending_tail;
	uint32_t pending_frames;
	size_t pending_bytes;
};

struct net_interface {
	struct net_stack *stack;
	struct net_interface *next;
	struct net_interface_config config;
	uint32_t netmask;
	struct net_interface_counters counters;
	struct arp_entry *arp_cache; /* limits.arp_cache_entries of them; NULL on loopback */
	bool loopback;
	/*
	 * Send an IP datagram's frame (takes ownership of it) to next_hop on this link; broadcast
	 * frames go to everyone on the link.
	 */
	void (*link_output)(struct net_interface *interface, uint32_t next_hop, bool broadcast,
			    struct net_frame *frame);
};

struct reassembly_fragment {
	struct reassembly_fragment *next; /* sorted by offset */
	uint32_t offset;		  /* in bytes, in the datagram's payload */
	uint32_t length;
	uint8_t data[];
};

struct reassembly_datagram {
	struct reassembly_datagram *next;
	struct net_interface *interface;
	uint32_t source, destination;
	uint16_t identification;
	uint8_t protocol;
	uint64_t deadline_ns;
	struct reassembly_fragment *fragments;
	uint32_t fragment_count;
	uint32_t bytes;	       /* payload bytes held */
	uint32_t total_length; /* payload length, known once the last fragment came; else 0 */
	uint8_t first_header[IPV4_MAX_HEADER_SIZE];
	uint8_t first_header_length; /* 0 until the fragment at offset 0 came */
};

struct udp_datagram {
	struct udp_datagram *next;
	struct net_udp_endpoint from;
	size_t length;
	uint8_t data[];
};

struct net_udp_socket {
	struct net_stack *stack;
	struct net_udp_socket *next;
	bool bound;
	uint32_t local_address; /* 0: any */
	uint16_t local_port;
	struct udp_datagram *queue_head, *queue_tail;
	uint32_t queued_datagrams;
	size_t queued_bytes;
	net_udp_ready_function ready;
	void *ready_context;
};

struct ping_reply {
	struct ping_reply *next;
	struct net_ping_reply reply;
	uint8_t data[];
};

struct net_ping {
	struct net_stack *stack;
	struct net_ping *next;
	uint16_t identifier;
	struct ping_reply *queue_head, *queue_tail;
	uint32_t queued_replies;
	size_t queued_bytes;
	net_ping_ready_function ready;
	void *ready_context;
};

#define TCP_HASH_BUCKETS 256

/* The stack's TCP state. */
struct tcp_table {
	struct net_tcp_socket *all; /* every socket, listeners and orphans included */
	struct net_tcp_socket *buckets[TCP_HASH_BUCKETS]; /* connections by 4-tuple */
	uint32_t socket_count;
	uint64_t secret[2]; /* SipHash key for initial sequence numbers and ports */
	uint32_t next_ephemeral;
};

struct net_stack {
	struct net_operations operations;
	struct net_limits limits;
	struct net_interface *interfaces;
	struct reassembly_datagram *reassembly;
	uint32_t reassembly_datagrams;
	uint32_t reassembly_bytes;
	struct net_udp_socket *udp_sockets;
	struct net_ping *pings;
	uint16_t next_ephemeral_port;
	uint16_t next_ipv4_identification;
	uint32_t icmp_error_tokens;
	uint64_t icmp_refill_ns;
	struct tcp_table tcp;
	struct net_interface *loopback;
	struct net_frame *loopback_head, *loopback_tail; /* sent, to be received on the next poll */
};

/* A validated IPv4 packet on its way up. */
struct ipv4_packet {
	struct net_interface *interface;
	const uint8_t *header; /* the whole IP header, options included */
	size_t header_length;
	const uint8_t *payload;
	size_t payload_length;
	uint32_t source, destination;
	uint8_t protocol;
	bool to_broadcast;		   /* limited or directed broadcast */
	const struct net_offload *offload; /* never NULL; flags 0 after reassembly */
};

/* Where a datagram to some destination goes. */
struct ipv4_route {
	struct net_interface *interface;
	uint32_t destination;
	uint32_t source;
	uint32_t next_hop;
	bool broadcast;
};

/* A request to finish a transport checksum: the field at offset (from the transport header)
 * holds the partial sum of the pseudo-header, and the sum over header+payload is still due. */
struct ipv4_checksum_request {
	bool requested;
	uint16_t offset;
};

/* What ipv4_send_frame needs to know about a TCP segment. */
struct ipv4_segment_offload {
	uint16_t checksum_offset; /* from the transport header */
	uint16_t transport_header_length;
	uint16_t gso_size; /* 0: one segment; else the payload is cut into gso_size pieces (TSO) */
};

/* stack.c */
void *net_allocate(struct net_stack *stack, size_t size);
void net_free(struct net_stack *stack, void *pointer);
uint64_t net_now(struct net_stack *stack);
struct net_frame *net_frame_allocate(struct net_stack *stack, size_t frame_length);
void net_frame_free(struct net_stack *stack, struct net_frame *frame);
void interface_transmit(struct net_interface *interface, struct net_frame *frame);
bool interface_is_our_address(const struct net_interface *interface, uint32_t address);
bool interface_is_broadcast(const struct net_interface *interface, uint32_t address);

/* ethernet.c */
void ethernet_input(struct net_interface *interface, const uint8_t *frame, size_t length,
		    const struct net_offload *offload);
void ethernet_fill_header(uint8_t *frame, const uint8_t destination[6], const uint8_t source[6],
			  uint16_t type);
void ethernet_link_output(struct net_interface *interface, uint32_t next_hop, bool broadcast,
			  struct net_frame *frame);
bool ethernet_is_multicast(const uint8_t mac[6]);
extern const uint8_t ethernet_broadcast[6]; /* ff:ff:ff:ff:ff:ff */

/* arp.c */
int arp_init(struct net_interface *interface);
void arp_destroy(struct net_interface *interface);
void arp_input(struct net_interface *interface, const uint8_t *packet, size_t length);
void arp_announce(struct net_interface *interface);
/* Fill and send the frame, or queue it until next_hop answers. Takes the frame. */
void arp_resolve_and_send(struct net_interface *interface, uint32_t next_hop,
			  struct net_frame *frame);
void arp_poll(struct net_interface *interface, uint64_t now_ns);
uint64_t arp_next_deadline(const struct net_interface *interface);

/* ipv4.c */
void ipv4_input(struct net_interface *interface, const uint8_t *packet, size_t length,
		const struct net_offload *offload);
void ipv4_deliver(const struct ipv4_packet *packet);
int ipv4_route(struct net_stack *stack, uint32_t destination, struct ipv4_route *route);
/*
 * Send transport_header followed by payload as one IP datagram along route, fragmenting to the
 * MTU. Returns 0 or a negative enum net_error.
 */
int ipv4_send(struct net_stack *stack, const struct ipv4_route *route, uint8_t protocol,
	      const uint8_t *transport_header, size_t transport_header_length,
	      const uint8_t *payload, size_t payload_length,
	      const struct ipv4_checksum_request *checksum);

/*
 * Send a frame from net_frame_allocate whose transport header and payload are already in place
 * after RINGVISOR_ETHERNET_HEADER_BYTES + IPV4_HEADER_SIZE bytes: fill the IPv4 header, finish the
 * checksum (or mark the frame NEEDS_CSUM), set the GSO fields. Never fragments: the caller keeps
 * within the MTU unless the interface does TSO. Takes the frame. Returns 0 or a negative net_error.
 */
int ipv4_send_frame(struct net_stack *stack, const struct ipv4_route *route, uint8_t protocol,
		    struct net_frame *frame, const struct ipv4_segment_offload *segment);
bool ipv4_is_loopback_address(uint32_t address);
/* One of ours: an interface's address, or 127/8 when there is a loopback interface. What a
 * socket may bind to. */
bool ipv4_is_local_address(struct net_stack *stack, uint32_t address);

/* loopback.c */
void loopback_poll(struct net_stack *stack);
void loopback_destroy(struct net_stack *stack);

/* ipv4_reassembly.c */
void reassembly_input(struct net_interface *interface, const uint8_t *header, size_t header_length,
		      const uint8_t *payload, size_t payload_length);
void reassembly_poll(struct net_stack *stack, uint64_t now_ns);
uint64_t reassembly_next_deadline(const struct net_stack *stack);
void reassembly_destroy(struct net_stack *stack);

/* icmp.c */
void icmp_input(const struct ipv4_packet *packet);
#define ICMP_UNREACHABLE_PROTOCOL 2
#define ICMP_UNREACHABLE_PORT 3
void icmp_send_unreachable(const struct ipv4_packet *packet, uint8_t code);
/* Close every ping: for net_stack_destroy. */
void icmp_destroy_all(struct net_stack *stack);

/* udp.c */
void udp_input(const struct ipv4_packet *packet);
void udp_destroy_all(struct net_stack *stack);

/* tcp*.c */
void tcp_input(const struct ipv4_packet *packet);
void tcp_poll(struct net_stack *stack, uint64_t now_ns);
uint64_t tcp_next_deadline(const struct net_stack *stack);
void tcp_destroy_all(struct net_stack *stack);

#endif
