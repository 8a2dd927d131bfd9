/*
 * net_test.h - what the packet-level tests of the network stack share.
 *
 * Each test gets a fresh stack with one interface (198.18.0.2/24, MAC 02:00:00:00:00:02, default
 * gateway 198.18.0.1), a fake clock the test moves by hand, an allocator that counts live
 * allocations (and can be told to fail), and a transmit function that records every frame. The
 * teardown destroys the stack and fails the test if any allocation is still live.
 *
 * Frames are crafted here independently of the stack's code (its own checksum routine is not
 * used), so a test compares the stack against a second implementation, as smoltcp's tests do.
 */
#ifndef RINGVISOR_TESTS_NET_TEST_H
#define RINGVISOR_TESTS_NET_TEST_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdbool.h>
#include <cmocka.h>

#include "net.h"
#include "net_internal.h"

#define OUR_ADDRESS NET_IPV4_ADDRESS(198, 18, 0, 2)
#define PEER_ADDRESS NET_IPV4_ADDRESS(198, 18, 0, 1) /* also the gateway */
#define OTHER_PEER NET_IPV4_ADDRESS(198, 18, 0, 3)
#define FAR_ADDRESS NET_IPV4_ADDRESS(198, 19, 0, 5) /* off-link: through the gateway */
#define SUBNET_BROADCAST NET_IPV4_ADDRESS(198, 18, 0, 255)

extern const uint8_t our_mac[6];
extern const uint8_t peer_mac[6];
extern const uint8_t other_mac[6];
extern const uint8_t broadcast_mac_address[6];

#define MAX_CAPTURED 256
#define BIG_FRAME (14 + 65535 + 64)

struct captured_frame {
	uint8_t *data;
	size_t length;
	struct net_offload offload;
};

struct test_context {
	struct net_stack *stack;
	struct net_interface *interface;
	struct net_limits limits;
	uint64_t now_ns;
	long live_allocations;
	long total_allocations;
	long fail_after; /* fail allocations once this many more succeeded; -1: never */
	struct captured_frame frames[MAX_CAPTURED];
	size_t frame_count;
	int transmit_result;
};

extern struct test_context test;

/* cmocka fixtures. setup_with_limits uses test.limits as left by a test-specific setup. */
int setup_stack(void **state);
int setup_stack_with_checksum_offload(void **state);
int setup_stack_with_limits(void **state, const struct net_limits *limits);
int teardown_stack(void **state);

const struct net_interface_counters *counters(void);
void clear_frames(void);
void advance_clock(uint64_t nanoseconds);

/* Feed one frame to the interface. */
void receive(const uint8_t *frame, size_t length);
void receive_with_offload(const uint8_t *frame, size_t length, uint8_t flags);

/* Make the peer (198.18.0.1) known: it asks for our address, we answer (frames cleared). */
void resolve_peer(void);

/* Reference Internet checksum, written separately from net/checksum.c. */
uint16_t reference_checksum(const uint8_t *data, size_t length, uint32_t initial);

/* Crafting. Each returns the frame length. TTL 64, no options unless said. */
size_t build_ethernet(uint8_t *out, const uint8_t destination[6], const uint8_t source[6],
		      uint16_t type);
size_t build_arp(uint8_t *out, uint16_t operation, const uint8_t ethernet_destination[6],
		 const uint8_t sender_mac[6], uint32_t sender_address, const uint8_t target_mac[6],
		 uint32_t target_address);
size_t build_ipv4(uint8_t *out, const uint8_t destination_mac[6], const uint8_t source_mac[6],
		  uint32_t source, uint32_t destination, uint8_t protocol, uint16_t identification,
		  uint16_t fragment_field, const uint8_t *payload, size_t payload_length);
/* UDP header + data into out (no IP), with a correct checksum; returns 8 + length. */
size_t build_udp_segment(uint8_t *out, uint32_t source, uint32_t destination, uint16_t source_port,
			 uint16_t destination_port, const uint8_t *data, size_t length);
size_t build_udp(uint8_t *out, uint32_t source, uint32_t destination, uint16_t source_port,
		 uint16_t destination_port, const uint8_t *data, size_t length);
size_t build_icmp_echo(uint8_t *out, uint8_t type, uint32_t source, uint32_t destination,
		       uint16_t identifier, uint16_t sequence, const uint8_t *data, size_t length);

/* A TCP segment, to build (from the peer) or as parsed from a captured frame. */
struct tcp_spec {
	uint32_t source, destination; /* addresses */
	uint16_t source_port, destination_port;
	uint32_t sequence, acknowledgment;
	uint8_t flags; /* TCP_FLAG_* */
	uint16_t window;
	const uint8_t *options;
	size_t options_length;
	const uint8_t *data;
	size_t length;
};

/* Ethernet + IPv4 + TCP with correct checksums (MACs chosen as build_udp does). */
size_t build_tcp(uint8_t *out, const struct tcp_spec *spec);
/* Parse a captured IPv4/TCP frame; asserts IP and (unless NEEDS_CSUM) TCP checksums. */
void parse_tcp(const struct captured_frame *frame, struct tcp_spec *out);
/* Assert the captured frame is exactly the segment spec describes (IP identification aside). */
void assert_tcp_frame(const struct captured_frame *frame, const struct tcp_spec *spec);

/* Assert a captured frame equals the expected bytes exactly (prints the first difference). */
void assert_frame_equal(const struct captured_frame *frame, const uint8_t *expected, size_t length);
/* Assert a captured IPv4 frame's header checksum, and its UDP/ICMP checksum when unfragmented. */
void assert_ipv4_checksums_valid(const struct captured_frame *frame);

#endif
