/*
 * net.h - the public interface of Ringvisor's guest network stack.
 *
 * The stack is portable C: it runs inside the guest kernel (freestanding, ring 3) and, unchanged,
 * in host test programs and fuzzers. It needs nothing from its host beyond what struct
 * net_operations gives it (a clock and a heap) and one transmit function per interface. It keeps
 * no global state: everything lives in a struct net_stack, so a test can build, use and destroy
 * as many as it likes.
 *
 * Threading: none. Every function here must be called from one thread (the guest's event loop).
 *
 * How the kernel drives it (see net/README.md for a complete UDP echo loop):
 *   - net_stack_create() once, net_interface_add() for each NIC;
 *   - net_receive() for every frame the NIC hands up;
 *   - net_poll_timers(now) whenever the clock passes net_next_deadline(), or on every loop turn;
 *   - the interface's transmit() callback is called synchronously from any of the above and
 *     from the socket calls.
 *
 * IPv4 addresses are uint32_t in host byte order (198.18.0.1 is 0xc6120001, see
 * NET_IPV4_ADDRESS); ports are uint16_t in host byte order. Everything on the wire is converted
 * explicitly with the helpers in byteorder.h.
 */
#ifndef RINGVISOR_NET_H
#define RINGVISOR_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../abi/ringvisor_frame.h" /* the virtio-net header, the Ethernet header's length */

#define NET_IPV4_ADDRESS(a, b, c, d)                                                               \
	(((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d))

/* Reads a dotted quad ("198.18.0.2": four decimal numbers of 0-255, at most three digits each,
 * nothing after) into host byte order; false, leaving *address alone, for anything else. */
bool net_ipv4_address_parse(const char *text, uint32_t *address);

/* Writes an address (host byte order) as a dotted quad into `text`, and returns it. */
#define NET_IPV4_ADDRESS_TEXT_BYTES 16
char *net_ipv4_address_format(uint32_t address, char text[NET_IPV4_ADDRESS_TEXT_BYTES]);

/* No timer is pending: net_next_deadline() returns this. */
#define NET_NO_DEADLINE UINT64_MAX

/*
 * Bytes the stack leaves writable in front of every frame it passes to transmit(), so a
 * virtio-net driver can put its 12-byte struct ringvisor_net_header there and post header and frame
 * as one descriptor, without copying.
 */
#define NET_TRANSMIT_HEADROOM 12

/* The largest UDP payload: 65535 - 20 (IPv4 header) - 8 (UDP header). */
#define NET_UDP_MAX_PAYLOAD 65507

/* Errors are returned as negative values of this enum; 0 or a length means success. */
enum net_error {
	NET_ERROR_WOULD_BLOCK = -1,	   /* nothing to receive yet */
	NET_ERROR_NO_MEMORY = -2,	   /* allocate() failed */
	NET_ERROR_INVALID = -3,		   /* bad argument */
	NET_ERROR_ADDRESS_IN_USE = -4,	   /* bind to a port another socket has */
	NET_ERROR_NO_ROUTE = -5,	   /* no interface reaches the destination */
	NET_ERROR_MESSAGE_TOO_LONG = -6,   /* payload above NET_UDP_MAX_PAYLOAD */
	NET_ERROR_NOT_CONNECTED = -7,	   /* TCP: no connection (yet, or any more) */
	NET_ERROR_CONNECTION_REFUSED = -8, /* TCP: the peer answered the SYN with a reset */
	NET_ERROR_CONNECTION_RESET = -9,   /* TCP: the peer reset the connection */
	NET_ERROR_TIMED_OUT = -10,	   /* TCP: retransmissions or keepalives went unanswered */
	NET_ERROR_SHUT_DOWN = -11,	   /* TCP: send after shutdown() or close */
	NET_ERROR_IS_CONNECTED = -12	   /* TCP: connect or listen on a socket already in use */
};

/* What a net_error means, in a few words, for messages. */
const char *net_error_name(int error);

/*
 * Offload metadata that travels with a frame: struct ringvisor_net_header's fields (the virtio-net
 * header, abi/ringvisor_frame.h, whose flags and GSO types it uses) in host byte order. A virtio
 * driver converts it with net_offload_to_virtio_header()/net_offload_from_virtio_header(); a
 * driver without offloads passes NULL on receive and ignores it on transmit (the stack only asks
 * for offloads an interface announced in its features).
 */
struct net_offload {
	uint8_t flags;		  /* RINGVISOR_NET_HEADER_NEEDS_CSUM, _DATA_VALID */
	uint8_t gso_type;	  /* RINGVISOR_NET_GSO_* */
	uint16_t header_length;	  /* hdr_len: bytes of headers in front of the GSO payload */
	uint16_t gso_size;	  /* payload bytes per segment */
	uint16_t checksum_start;  /* csum_start: from the start of the Ethernet frame */
	uint16_t checksum_offset; /* csum_offset: from checksum_start to the checksum field */
};

/* Encode as the wire header (little-endian fields, buffer_count 0). */
void net_offload_to_virtio_header(const struct net_offload *offload,
				  struct ringvisor_net_header *header);
/* Decode the wire header (buffer_count is the driver's business and is ignored). */
void net_offload_from_virtio_header(struct net_offload *offload,
				    const struct ringvisor_net_header *header);

/* What the stack needs from its host. context is passed back to every call. */
struct net_operations {
	uint64_t (*now_ns)(void *context);	       /* monotonic nanoseconds */
	void *(*allocate)(void *context, size_t size); /* NULL on failure; any alignment >= 8 */
	void (*free)(void *context, void *pointer);    /* pointer from allocate(), never NULL */
	/*
	 * Optional: 64 unpredictable bits (RDRAND, a host-seeded generator). TCP keys its initial
	 * sequence numbers (RFC 6528) and ephemeral ports with it. Without it the stack mixes
	 * limits.random_seed with the clock, which is only as secret as that seed.
	 */
	uint64_t (*random)(void *context);
	void *context;
};

/*
 * Limits and timeouts. net_default_limits() gives the values in the comments; tests shrink them.
 */
struct net_limits {
	uint32_t arp_cache_entries;	      /* 32 per interface */
	uint64_t arp_reachable_ns;	      /* 60 s: a resolved entry is then forgotten */
	uint64_t arp_retry_ns;		      /* 1 s between requests for an unresolved address */
	uint32_t arp_max_requests;	      /* 3 requests, then give up and drop its queue */
	uint32_t arp_pending_frames;	      /* 64 frames queued per unresolved address ... */
	uint32_t arp_pending_bytes;	      /* ... and 128 KiB (a 64 KiB datagram fragments) */
	uint32_t reassembly_max_datagrams;    /* 16 datagrams being reassembled at once */
	uint32_t reassembly_max_fragments;    /* 64 fragments per datagram */
	uint32_t reassembly_max_bytes;	      /* 256 KiB of fragment payload in all */
	uint64_t reassembly_timeout_ns;	      /* 30 s from the first fragment (as Linux) */
	uint32_t icmp_error_burst;	      /* 10 ICMP errors in a burst ... */
	uint32_t icmp_errors_per_second;      /* ... refilled at 100 a second */
	uint32_t udp_receive_queue_datagrams; /* 64 datagrams waiting per socket ... */
	uint32_t udp_receive_queue_bytes;     /* ... and 256 KiB */
	uint32_t tcp_send_buffer_bytes;	      /* 256 KiB per connection (64 bytes at least) */
	uint32_t tcp_receive_buffer_bytes;    /* 256 KiB per connection (64 bytes at least) */
	uint32_t tcp_max_connections;	      /* 1024 connections and listeners per stack */
	uint64_t tcp_msl_ns;		    /* 30 s maximum segment lifetime: TIME_WAIT is 2 MSL */
	uint64_t tcp_minimum_rto_ns;	    /* 200 ms floor of the retransmission timeout */
	uint64_t tcp_delayed_ack_ns;	    /* 40 ms at most before a delayed ACK goes out */
	uint64_t tcp_keepalive_idle_ns;	    /* 2 h idle before the first keepalive probe ... */
	uint64_t tcp_keepalive_interval_ns; /* ... 75 s between probes ... */
	uint32_t tcp_keepalive_probes;	    /* ... 9 unanswered probes reset the connection */
	uint64_t random_seed; /* mixed into the secret when operations.random is NULL */
};

struct net_limits net_default_limits(void);

struct net_stack;
struct net_interface;
struct net_udp_socket;

/*
 * Create a stack; limits may be NULL for the defaults. The operations are copied. Returns NULL if
 * allocate() fails or an operation is missing.
 */
struct net_stack *net_stack_create(const struct net_operations *operations,
				   const struct net_limits *limits);

/*
 * Free everything the stack allocated: interfaces, sockets (their handles become invalid),
 * queued frames, fragments.
 */
void net_stack_destroy(struct net_stack *stack);

/* Interface features: what the driver can do for the stack. */
#define NET_INTERFACE_TX_CHECKSUM (1u << 0) /* it finishes NEEDS_CSUM checksums on transmit */
/*
 * It cuts TCP segments of up to 64 KiB (gso_type RINGVISOR_NET_GSO_TCPV4, gso_size = MSS,
 * header_length = Ethernet + IPv4 + TCP headers) into MSS-sized frames; needs
 * NET_INTERFACE_TX_CHECKSUM too.
 */
#define NET_INTERFACE_TX_TSO4 (1u << 1)

/*
 * The driver's transmit function. frame is an Ethernet frame (no FCS) of length bytes, with
 * NET_TRANSMIT_HEADROOM writable bytes in front of it; offload is never NULL (flags 0 when there
 * is nothing to do). The stack frees the frame when this returns, so the driver copies it (or,
 * later, the API grows an ownership transfer). Return 0, or a negative value if the frame was
 * dropped (it is counted in transmit_failed).
 */
typedef int (*net_transmit_function)(struct net_interface *interface, uint8_t *frame, size_t length,
				     const struct net_offload *offload);

struct net_interface_config {
	uint8_t mac[6];
	uint32_t ipv4_address;
	uint8_t ipv4_prefix_length; /* 1..30 */
	uint32_t ipv4_gateway;	    /* 0: no default route through this interface */
	uint16_t mtu;		    /* IP MTU, 68..65535 (1500 on Ethernet) */
	uint32_t features;	    /* NET_INTERFACE_* */
	uint16_t tso_max_segments;  /* with TSO: the most segments a TSO frame may become, counted
				     * from its length with the options as payload; 0: any */
	net_transmit_function transmit;
	void *driver_context; /* for the driver: see net_interface_driver_context() */
};

/*
 * Add an Ethernet interface and announce its address with a gratuitous ARP. Returns NULL on a bad
 * config or if allocate() fails.
 */
struct net_interface *net_interface_add(struct net_stack *stack,
					const struct net_interface_config *config);

void *net_interface_driver_context(const struct net_interface *interface);

/*
 * Add the loopback interface, 127.0.0.1/8, once per stack: datagrams to 127/8 and to the stack's
 * own addresses go through it. A frame "sent" on it is queued and received back on the next
 * net_poll_timers() (net_next_deadline() is then "now"), never from inside the call that sent it.
 * config may be NULL; otherwise its mtu (0: 65535) and features are used, and its transmit, if
 * set, sees every frame first and drops it by returning a negative value (a capture or a test's
 * lossy link). Returns NULL if there is one already or allocate() fails.
 */
struct net_interface *net_loopback_add(struct net_stack *stack,
				       const struct net_interface_config *config);

/*
 * Hand the stack one received Ethernet frame (no FCS; up to 64 KiB with a GSO/LRO receive
 * buffer). offload may be NULL. The stack copies what it keeps: the frame is the caller's again
 * when this returns. Any answer (ARP reply, ICMP, ...) is transmitted before it returns.
 */
void net_receive(struct net_interface *interface, const uint8_t *frame, size_t length,
		 const struct net_offload *offload);

/* Run the timers that are due at now_ns (ARP retries and expiry, reassembly timeouts). */
void net_poll_timers(struct net_stack *stack, uint64_t now_ns);

/* The earliest time net_poll_timers() has work to do, or NET_NO_DEADLINE. */
uint64_t net_next_deadline(const struct net_stack *stack);

/*
 * Per-interface counters: every packet the stack drops is counted under one reason. The X-macro
 * gives the field names and descriptions in one place, so `--stats` can print them all.
 */
#define NET_INTERFACE_COUNTERS(X)                                                                  \
	X(frames_received, "frames handed to net_receive")                                         \
	X(bytes_received, "bytes handed to net_receive")                                           \
	X(frames_transmitted, "frames passed to transmit")                                         \
	X(bytes_transmitted, "bytes passed to transmit")                                           \
	X(transmit_failed, "frames the driver refused")                                            \
	X(no_memory, "packets dropped because allocate() failed")                                  \
	X(ethernet_runt, "frames shorter than an Ethernet header")                                 \
	X(ethernet_not_for_us, "frames to another MAC or to multicast")                            \
	X(ethernet_bad_source, "frames from a multicast/broadcast MAC")                            \
	X(ethernet_unknown_type, "frames of an EtherType we do not speak")                         \
	X(arp_truncated, "ARP packets shorter than 28 bytes")                                      \
	X(arp_unsupported, "ARP packets not Ethernet/IPv4")                                        \
	X(arp_bad_opcode, "ARP packets neither request nor reply")                                 \
	X(arp_bad_sender, "ARP packets with a multicast or broadcast sender")                      \
	X(arp_address_conflict, "ARP packets claiming our address")                                \
	X(arp_requests_received, "ARP requests for our address")                                   \
	X(arp_replies_received, "ARP replies")                                                     \
	X(arp_requests_sent, "ARP requests and announcements sent")                                \
	X(arp_replies_sent, "ARP replies sent")                                                    \
	X(arp_queue_full, "frames dropped: pending queue of an address full")                      \
	X(arp_resolution_failed, "frames dropped: address never answered")                         \
	X(arp_cache_evictions, "ARP entries evicted to make room")                                 \
	X(ipv4_truncated_header, "IPv4 packets shorter than their header")                         \
	X(ipv4_bad_version, "IPv4 packets with a version other than 4")                            \
	X(ipv4_bad_header_length, "IPv4 packets with IHL below 5")                                 \
	X(ipv4_bad_total_length, "IPv4 total length below header or above frame")                  \
	X(ipv4_bad_checksum, "IPv4 header checksum wrong")                                         \
	X(ipv4_bad_source, "IPv4 from a broadcast, multicast or our own address")                  \
	X(ipv4_not_for_us, "IPv4 to an address not ours")                                          \
	X(ipv4_unknown_protocol, "IPv4 of a protocol we do not speak")                             \
	X(ipv4_delivered, "IPv4 packets handed to ICMP, UDP or TCP")                               \
	X(ipv4_sent, "IPv4 datagrams sent")                                                        \
	X(ipv4_fragments_sent, "IPv4 fragments sent")                                              \
	X(ipv4_fragments_received, "IPv4 fragments received")                                      \
	X(ipv4_fragment_bad, "fragments with a bad length, offset or end")                         \
	X(ipv4_fragment_overlap, "datagrams dropped for overlapping fragments")                    \
	X(ipv4_fragment_duplicate, "exact duplicate fragments dropped")                            \
	X(ipv4_reassembly_limit, "fragments dropped by a reassembly limit")                        \
	X(ipv4_reassembly_timeout, "datagrams dropped incomplete at the timeout")                  \
	X(ipv4_reassembled, "datagrams reassembled")                                               \
	X(icmp_truncated, "ICMP messages shorter than 8 bytes")                                    \
	X(icmp_bad_checksum, "ICMP checksum wrong")                                                \
	X(icmp_echo_requests, "ICMP echo requests received")                                       \
	X(icmp_echo_replies_sent, "ICMP echo replies sent")                                        \
	X(icmp_echo_requests_sent, "ICMP echo requests sent by pings")                             \
	X(icmp_echo_replies_received, "ICMP echo replies queued to a ping")                        \
	X(icmp_ping_queue_full, "ICMP echo replies dropped: ping queue full")                      \
	X(icmp_broadcast_ignored, "ICMP echo requests to a broadcast address")                     \
	X(icmp_ignored, "ICMP messages of other types or for no open ping, ignored")               \
	X(icmp_errors_sent, "ICMP errors sent")                                                    \
	X(icmp_errors_rate_limited, "ICMP errors not sent: rate limit")                            \
	X(udp_truncated, "UDP datagrams shorter than their header")                                \
	X(udp_bad_length, "UDP length field below 8 or above the IP payload")                      \
	X(udp_bad_checksum, "UDP checksum wrong")                                                  \
	X(udp_no_socket, "UDP datagrams to a port nobody listens on")                              \
	X(udp_receive_queue_full, "UDP datagrams dropped: socket queue full")                      \
	X(udp_received, "UDP datagrams queued to a socket")                                        \
	X(udp_sent, "UDP datagrams sent")                                                          \
	X(tcp_truncated, "TCP segments shorter than their header")                                 \
	X(tcp_bad_header_length, "TCP data offset below 5 or beyond the segment")                  \
	X(tcp_bad_checksum, "TCP checksum wrong")                                                  \
	X(tcp_broadcast, "TCP segments to a broadcast address")                                    \
	X(tcp_no_connection, "TCP segments for no connection or listener")                         \
	X(tcp_listen_overflow, "SYNs dropped: listen backlog full")                                \
	X(tcp_connection_limit, "SYNs dropped: tcp_max_connections reached")                       \
	X(tcp_out_of_window, "TCP segments outside the receive window")                            \
	X(tcp_out_of_order, "TCP segments queued out of order")                                    \
	X(tcp_segments_received, "TCP segments accepted by a connection or listener")              \
	X(tcp_segments_sent, "TCP segments sent (a TSO segment counts once)")                      \
	X(tcp_retransmitted, "TCP segments retransmitted")                                         \
	X(tcp_resets_sent, "TCP resets sent")                                                      \
	X(tcp_resets_received, "TCP resets accepted")

struct net_interface_counters {
#define NET_COUNTER_FIELD(name, description) uint64_t name;
	NET_INTERFACE_COUNTERS(NET_COUNTER_FIELD)
#undef NET_COUNTER_FIELD
};

const struct net_interface_counters *net_interface_counters(const struct net_interface *interface);

/* For printing all counters: how many, and the name/description/value of the i-th. */
size_t net_counter_count(void);
const char *net_counter_name(size_t index);
const char *net_counter_description(size_t index);
uint64_t net_counter_value(const struct net_interface_counters *counters, size_t index);

/*
 * UDP sockets. All calls are non-blocking. A socket is always writable (send_to transmits before
 * it returns, or fails); it is readable when net_udp_readable() says so, and the optional ready
 * callback is called (from inside net_receive) each time a datagram is queued, so an event loop
 * can mark the socket and come back to it. Do not call back into the stack from the callback.
 */
struct net_udp_endpoint {
	uint32_t address;
	uint16_t port;
};

typedef void (*net_udp_ready_function)(struct net_udp_socket *socket, void *context);

struct net_udp_socket *net_udp_open(struct net_stack *stack);

/* Bind to a local address (0: any of ours) and port (0: an ephemeral port). */
int net_udp_bind(struct net_udp_socket *socket, uint32_t address, uint16_t port);

/*
 * Send one datagram of up to NET_UDP_MAX_PAYLOAD bytes (IP fragments it to the MTU). An unbound
 * socket is first bound to an ephemeral port. Returns length or a negative enum net_error. If
 * the next hop is not resolved yet the datagram waits in the ARP queue and this still succeeds.
 */
int net_udp_send_to(struct net_udp_socket *socket, uint32_t address, uint16_t port,
		    const void *data, size_t length);

/*
 * Take the oldest queued datagram: copy up to capacity bytes of it into buffer, fill *from (may
 * be NULL), and return its full length (more than capacity: the rest was discarded, as recv with
 * MSG_TRUNC). NET_ERROR_WOULD_BLOCK if none is queued.
 */
int net_udp_receive_from(struct net_udp_socket *socket, void *buffer, size_t capacity,
			 struct net_udp_endpoint *from);

bool net_udp_readable(const struct net_udp_socket *socket);

void net_udp_set_ready_callback(struct net_udp_socket *socket, net_udp_ready_function callback,
				void *context);

/* Close the socket and free the datagrams still queued on it. */
void net_udp_close(struct net_udp_socket *socket);

/*
 * ICMP echo ("ping") clients. A ping is identified by the identifier its requests carry: echo
 * replies with that identifier are queued on it (bounded as a UDP socket's queue is, by
 * udp_receive_queue_datagrams / _bytes), other replies are counted in icmp_ignored. Echo
 * requests from others are answered by the stack whether or not a ping is open. The stack keeps
 * no copy of what was sent: a reply hands back its data, and the caller compares.
 *
 * As for UDP, every call is non-blocking, sending transmits before it returns (or waits in the
 * ARP queue while the next hop resolves, and still succeeds), and the optional ready callback is
 * called from inside net_receive each time a reply is queued; do not call back into the stack
 * from it.
 */
struct net_ping;

/* The most data an echo request can carry: 65535 - 20 (IPv4 header) - 8 (ICMP header). */
#define NET_PING_MAX_DATA 65507

struct net_ping_reply {
	uint32_t source;      /* who answered */
	uint16_t sequence;    /* as the reply carried it */
	size_t length;	      /* data bytes after the 8-byte ICMP header */
	uint64_t received_ns; /* operations.now_ns() when the stack took it, for round trips */
};

typedef void (*net_ping_ready_function)(struct net_ping *ping, void *context);

/* NULL if allocate() fails or another open ping has this identifier. */
struct net_ping *net_ping_open(struct net_stack *stack, uint16_t identifier);

uint16_t net_ping_identifier(const struct net_ping *ping);

/*
 * Send one echo request with up to NET_PING_MAX_DATA bytes of data (IP fragments it to the MTU)
 * to address. Returns length or a negative enum net_error.
 */
int net_ping_send(struct net_ping *ping, uint32_t address, uint16_t sequence, const void *data,
		  size_t length);

/*
 * Take the oldest queued reply: copy up to capacity bytes of its data into buffer, fill *reply
 * (may be NULL), and return its full data length (more than capacity: the rest was discarded).
 * NET_ERROR_WOULD_BLOCK if none is queued.
 */
int net_ping_receive(struct net_ping *ping, void *buffer, size_t capacity,
		     struct net_ping_reply *reply);

bool net_ping_readable(const struct net_ping *ping);

void net_ping_set_ready_callback(struct net_ping *ping, net_ping_ready_function callback,
				 void *context);

/* Close the ping and free the replies still queued on it (net_stack_destroy() closes any left
 * open). */
void net_ping_close(struct net_ping *ping);

/*
 * TCP sockets (RFC 9293). All calls are non-blocking and every socket is in one stack.
 *
 * A listener: net_tcp_open, net_tcp_bind (port), net_tcp_listen (backlog), then net_tcp_accept
 * whenever it is readable. A client: net_tcp_open, net_tcp_connect (returns once the SYN is out;
 * the socket becomes writable when the connection is established, or gets NET_TCP_ERROR).
 *
 * Readiness: net_tcp_events() says what a call would do now. The optional callback is called
 * (from inside net_receive, net_poll_timers or a socket call) whenever the events may have
 * changed, so an event loop can mark the socket; do not call back into the stack from it.
 *
 * Lifetime: the handle is the application's until net_tcp_close(); after that the stack
 * finishes the connection (FIN, TIME_WAIT) on its own and frees it. A listener's connections
 * become the application's when net_tcp_accept() returns them; closing a listener resets the
 * ones not yet accepted.
 */
struct net_tcp_socket;

enum net_tcp_state {
	NET_TCP_CLOSED = 0,
	NET_TCP_LISTEN,
	NET_TCP_SYN_SENT,
	NET_TCP_SYN_RECEIVED,
	NET_TCP_ESTABLISHED,
	NET_TCP_FIN_WAIT_1,
	NET_TCP_FIN_WAIT_2,
	NET_TCP_CLOSE_WAIT,
	NET_TCP_CLOSING,
	NET_TCP_LAST_ACK,
	NET_TCP_TIME_WAIT,
};

#define NET_TCP_READABLE (1u << 0) /* receive returns data or 0 (end); accept has a connection */
#define NET_TCP_WRITABLE (1u << 1) /* established and the send buffer has room */
#define NET_TCP_HANGUP (1u << 2)   /* the peer finished sending (its FIN came) */
#define NET_TCP_ERROR (1u << 3)	   /* reset, refused or timed out: see net_tcp_error() */

struct net_tcp_endpoint {
	uint32_t address;
	uint16_t port;
};

struct net_tcp_statistics {
	uint64_t segments_sent;
	uint64_t segments_received;
	uint64_t bytes_sent;	 /* payload bytes acknowledged by the peer */
	uint64_t bytes_received; /* payload bytes delivered in order */
	uint64_t retransmits;	 /* segments sent again, for any reason */
	uint64_t fast_retransmits;
	uint64_t timeouts;    /* retransmission timer expiries */
	uint64_t loss_probes; /* tail loss probes sent (RFC 8985 7) */
	uint64_t rtt_samples;
	uint64_t smoothed_rtt_ns;   /* SRTT, 0 before the first sample */
	uint64_t rtt_variation_ns;  /* RTTVAR */
	uint64_t rto_ns;	    /* current retransmission timeout */
	uint32_t congestion_window; /* bytes */
	uint32_t slow_start_threshold;
	uint32_t send_window; /* the peer's window, scaled */
	uint32_t send_mss;    /* payload bytes per segment we send */
	uint32_t receive_mss; /* what we advertised */
};

typedef void (*net_tcp_callback_function)(struct net_tcp_socket *socket, uint32_t events,
					  void *context);

/* NULL if allocate() fails or tcp_max_connections sockets exist. */
struct net_tcp_socket *net_tcp_open(struct net_stack *stack);

/* Bind to a local address (0: any of ours) and port (0: an ephemeral port). */
int net_tcp_bind(struct net_tcp_socket *socket, uint32_t address, uint16_t port);

/* Listen (binds an ephemeral port if unbound); backlog >= 1 counts handshakes and unaccepted
 * connections together; SYNs beyond it are dropped (the peer retries). */
int net_tcp_listen(struct net_tcp_socket *socket, uint32_t backlog);

/* An established connection from the listener's queue (remote may be NULL), or NULL if none. */
struct net_tcp_socket *net_tcp_accept(struct net_tcp_socket *listener,
				      struct net_tcp_endpoint *remote);

/* Send the SYN to address:port. 0 when it is out (or waits for ARP), or a negative error. */
int net_tcp_connect(struct net_tcp_socket *socket, uint32_t address, uint16_t port);

/*
 * Copy up to length bytes into the send buffer (and send what the windows allow). Returns the
 * bytes taken (> 0), NET_ERROR_WOULD_BLOCK when the buffer is full or the handshake has not
 * finished, or another negative error.
 */
int net_tcp_send(struct net_tcp_socket *socket, const void *data, size_t length);

/*
 * Copy up to capacity received bytes. Returns the count, 0 at the end of the stream (the peer's
 * FIN, all data read), NET_ERROR_WOULD_BLOCK, or the connection's error.
 */
int net_tcp_receive(struct net_tcp_socket *socket, void *buffer, size_t capacity);

/* No more sending: a FIN follows the buffered data. Receiving goes on. */
int net_tcp_shutdown(struct net_tcp_socket *socket);

/*
 * Give the socket back. A connection with unread received data, or one never established, is
 * reset; otherwise the FIN follows the buffered data and the stack finishes on its own.
 */
void net_tcp_close(struct net_tcp_socket *socket);

/* Reset the connection (if any) and free the socket at once. */
void net_tcp_abort(struct net_tcp_socket *socket);

/* Nagle's algorithm is on by default; no_delay sends small segments at once. */
void net_tcp_set_nodelay(struct net_tcp_socket *socket, bool no_delay);
/* Keepalive probes after tcp_keepalive_idle_ns of silence; off by default. */
void net_tcp_set_keepalive(struct net_tcp_socket *socket, bool enabled);
void net_tcp_set_callback(struct net_tcp_socket *socket, net_tcp_callback_function callback,
			  void *context);

enum net_tcp_state net_tcp_state(const struct net_tcp_socket *socket);
const char *net_tcp_state_name(enum net_tcp_state state);
uint32_t net_tcp_events(const struct net_tcp_socket *socket); /* NET_TCP_* bits */
int net_tcp_error(const struct net_tcp_socket *socket);	      /* 0 or a negative net_error */
/* Bytes net_tcp_send would take now. */
size_t net_tcp_send_space(const struct net_tcp_socket *socket);
/* Either pointer may be NULL. */
void net_tcp_endpoints(const struct net_tcp_socket *socket, struct net_tcp_endpoint *local,
		       struct net_tcp_endpoint *remote);
void net_tcp_get_statistics(const struct net_tcp_socket *socket,
			    struct net_tcp_statistics *statistics);

#endif
