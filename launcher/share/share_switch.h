/*
 * The `share` backend: guests on one host on one virtual Ethernet segment held in shared
 * memory, without the host's network stack, as lguest's --sharenet was.
 *
 * A switch is a file, /dev/shm/ringvisor-UID/share-NAME, that every launcher of user UID naming
 * NAME maps. The directory is made mode 0700 and checked before each use (ours, 0700, a real
 * directory, not a symbolic link), and every name in it is opened relative to it, so no other
 * user can put a file of their own where a launcher will look (they could, in /dev/shm itself:
 * read two guests' frames, inject frames, or deny a name to everyone).
 * It holds a header, a table of SHARE_PORTS_MAX ports, and a ring for every ordered pair of
 * ports (share_ring.h): port A sends to port B by writing into ring A->B, which only A writes
 * and only B reads. Each launcher is its own half of the switch: it publishes its NIC's MAC in
 * its port entry when it joins, learns any other address its guest sends from (unless another
 * port owns it), and sends a unicast frame only to the port that published its destination
 * (broadcast, multicast and unknown destinations go to every other port). There is no switch
 * process and no lock on the data path.
 *
 * Who is alive is kept by the kernel, not by the file: each member holds an open-file-
 * description lock on its port's byte of the file, which dies with the process however it
 * dies. Joining, leaving and reclaiming a dead member's port happen under another such lock
 * (byte 0). A launcher killed with SIGKILL leaves its port marked active but unlocked; the next
 * launcher to join, or any member that finds that port's ring full or its wakeup FIFO gone,
 * reclaims it. The last launcher out removes the file and the FIFOs.
 *
 * Wakeups: each port has a FIFO, share-NAME@port-N in the same directory ('@' cannot be in a
 * switch name, so no switch's file is another's FIFO), that its launcher's I/O thread watches
 * with epoll. A sender writes a byte to it only when the receiver has said, in its port entry,
 * that it is about to sleep; while it is busy, no wakeups are sent. A wakeup that a sender
 * dying at the wrong moment took with it is made up for: a sender that finds a live peer's ring
 * full wakes it regardless, and every member looks at its rings once a second.
 */
#ifndef RINGVISOR_SHARE_SWITCH_H
#define RINGVISOR_SHARE_SWITCH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/uio.h>
#include <time.h>

#include "nic/frame_offload.h"
#include "share/share_ring.h"

/* The most launchers (NICs) on one switch. The file holds a ring for every ordered pair, so
 * it is SHARE_PORTS_MAX^2 x 4 MiB of sparse memory: only rings in use take pages. */
#define SHARE_PORTS_MAX 16
#define SHARE_NAME_MAX 32
#define SHARE_FILE_NAME_MAX 56	/* "share-" + a name + "@port-15" */
#define SHARE_DIRECTORY_MAX 256 /* "/dev/shm/ringvisor-" + a uid, or $RINGVISOR_SHARE_DIRECTORY */
/* MAC addresses remembered per port, the most recently seen replacing the oldest. */
#define SHARE_MACS_PER_PORT 4

#define SHARE_COUNTERS(X)                                                                          \
	X(switch_sent_unicast)                                                                     \
	X(switch_sent_flooded)                                                                     \
	X(switch_dropped_full)                                                                     \
	X(switch_dropped_corrupt)                                                                  \
	X(switch_dropped_no_space)                                                                 \
	X(switch_dropped_no_port)                                                                  \
	X(switch_dropped_not_offered)                                                              \
	X(switch_received_unicast)                                                                 \
	X(switch_received_broadcast)                                                               \
	X(switch_received_not_ours)                                                                \
	X(switch_received_malformed)                                                               \
	X(switch_segmented)                                                                        \
	X(switch_checksummed)                                                                      \
	X(switch_corrupt)                                                                          \
	X(switch_entry_restored)                                                                   \
	X(switch_reclaimed_ports)                                                                  \
	X(switch_wakeups_sent)                                                                     \
	X(switch_wakeups_forced)                                                                   \
	X(switch_wakeups_received)                                                                 \
	X(switch_wakeups_self)

struct share_counters {
#define SHARE_COUNTER_FIELD(name) uint64_t name;
	SHARE_COUNTERS(SHARE_COUNTER_FIELD)
#undef SHARE_COUNTER_FIELD
};

/* ---- the shared file: every launcher on the switch maps it; any of them may scribble on it */

#define SHARE_MAGIC "ringvisor-share"
#define SHARE_VERSION 1

enum share_port_state {
	SHARE_PORT_FREE = 0,
	SHARE_PORT_ACTIVE = 1,
};

struct share_port_entry {
	uint32_t state;	     /* enum share_port_state; written under the membership lock */
	uint32_t generation; /* counts the launchers that have had this port */
	int32_t owner_pid;   /* for people reading the file; liveness is the lock */
	uint32_t mtu;	     /* its NIC's, so that a newcomer with another can be warned */
	/* MACs, as bit 63 set for a valid entry and the address in the low 48 bits, written only
	 * by this port's launcher: its NIC's own (at join), and others its guest sent from. */
	uint64_t own_mac;
	uint64_t macs[SHARE_MACS_PER_PORT];
	/* Set by the port's launcher when it is about to sleep; the first sender to find it set
	 * clears it and writes to the port's FIFO. */
	_Alignas(64) uint32_t wakeup_wanted;
};

struct share_region {
	struct share_header {
		char magic[16];
		uint32_t version;
		uint32_t ports_max;
		uint32_t ring_bytes;
		uint32_t reserved;
		uint64_t region_bytes;
	} header;
	_Alignas(64) struct share_port_entry ports[SHARE_PORTS_MAX];
	struct share_ring_indices indices[SHARE_PORTS_MAX][SHARE_PORTS_MAX]; /* [from][to] */
	_Alignas(4096) uint8_t rings[SHARE_PORTS_MAX][SHARE_PORTS_MAX][SHARE_RING_BYTES];
};

/* CLOCK_MONOTONIC in nanoseconds, for the switch's rate limits. */
static inline uint64_t share_now_ns(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)now.tv_sec * 1000000000 + (uint64_t)now.tv_nsec;
}

/* A MAC as a port entry holds it: the address in the low 48 bits, bit 63 for "valid". */
static inline uint64_t share_mac_key(const uint8_t mac[6])
{
	uint64_t key = 1ull << 63;
	for (int index = 0; index < 6; index++)
		key |= (uint64_t)mac[index] << (8 * index);
	return key;
}

/* ---- what one launcher keeps for itself ------------------------------------------------ */

/* What this launcher knows of one other port, kept in its own memory. */
struct share_peer {
	struct share_ring transmit; /* ring us->peer: we produce */
	struct share_ring receive;  /* ring peer->us: we consume */
	int wakeup_fd;		    /* the peer's FIFO, open for writing; -1 if not open */
	uint32_t wakeup_generation; /* the generation wakeup_fd belongs to */
	bool receive_corrupt;	    /* ring peer->us failed a check: left alone until the tick */
	bool transmit_corrupt;
	bool transmit_reserved;	      /* ring us->peer has its memory (fallocate) */
	uint64_t liveness_checked_ns; /* when we last asked the kernel if the peer is alive */
	uint64_t forced_wakeup_ns;    /* when we last woke it without being asked */
	/* After a failed fallocate of ring us->peer, or a failed open of its FIFO: not before
	 * then again (each costs a system call, and the frames keep coming). */
	uint64_t reserve_retry_ns, wakeup_open_retry_ns;
};

/* One NIC's membership of a switch. */
struct share_port {
	char switch_name[SHARE_NAME_MAX + 1];
	char display_name[SHARE_NAME_MAX + 8]; /* "share:NAME", for messages */
	int region_fd;	  /* our own open file description: our locks are held through it */
	int directory_fd; /* the per-user directory every name of the switch is opened in */
	char directory[SHARE_DIRECTORY_MAX]; /* its path, for messages */
	struct share_region *region;
	bool joined;	     /* our port is ours (share_switch_leave clears it first) */
	bool created_region; /* this join made the switch file: a failed join removes it */
	unsigned port;	     /* our index */
	uint32_t generation; /* our port's, as we published it */
	int wakeup_fd;	     /* our FIFO, open for reading */
	uint8_t mac[6];
	unsigned mtu;
	uint64_t guest_features; /* what our guest negotiated: decides what offloads we finish */
	struct share_peer peers[SHARE_PORTS_MAX];
	unsigned next_peer;		       /* receive round-robin */
	uint64_t learned[SHARE_MACS_PER_PORT]; /* our own copy of what we published */
	unsigned next_mac_slot;		       /* the learned-address slot to overwrite next */
	uint64_t last_destination; /* a one-entry cache of the unicast route: MAC key and port */
	unsigned last_destination_port;

	/* A frame our guest cannot take as it is, copied out of its ring and being checksummed
	 * or segmented on the guest's behalf. */
	uint8_t *offload_frame;
	uint8_t *segment_frame; /* one segment of it, when the guest's buffer is scattered */
	bool segmenting;
	struct frame_segmenter segmenter;

	struct share_counters counters;
};

/* Checks a switch name: 1-32 of [A-Za-z0-9_.-], not starting with '.'. */
bool share_switch_name_is_valid(const char *name);

/* Joins switch `name` (creating it if no launcher has), as the NIC with `mac` and `mtu`. Fails
 * the launcher with a message naming the problem (a full switch, a file that is not a switch);
 * warns if a member has another MTU. */
void share_switch_join(struct share_port *port, const char *name, const uint8_t mac[6],
		       unsigned mtu);

/* Leaves the switch; the last member out removes its files. Safe to call twice. */
void share_switch_leave(struct share_port *port);

/* Once a second, from the I/O thread: puts our port entry back if someone overwrote it. */
void share_switch_tick(struct share_port *port);

/* ---- for share_port.c (the data path): membership questions it meets on the way ---- */

/* Frees a peer's port if its launcher is dead (at most every 100 ms per peer; never waits).
 * True if the peer is (still) alive, as far as we can tell. */
bool share_switch_reclaim_if_dead(struct share_port *port, unsigned index);
/* Gives ring us->peer its memory, once, so that a full /dev/shm is an error we report rather
 * than a SIGBUS; false (reported once) if there is no room. */
bool share_switch_reserve_transmit_ring(struct share_port *port, unsigned index);
/* The peer's wakeup FIFO, opened for writing (again if the port changed hands); -1 if none. */
int share_switch_peer_wakeup_fd(struct share_port *port, unsigned index);
/* Writing the FIFO failed: forget it, and see whether the peer is dead. */
void share_switch_peer_wakeup_failed(struct share_port *port, unsigned index);

#endif
