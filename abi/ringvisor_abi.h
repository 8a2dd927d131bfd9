/*
 * The contract between the Ringvisor launcher (host) and a guest kernel.
 *
 * This header is the only thing the two sides share. It is included by the launcher (glibc,
 * host) and by the guest kernel (freestanding), so it uses nothing but fixed-width integers.
 * Every structure here lives in guest memory, which the launcher treats as hostile: the
 * launcher copies a structure out once, then checks it, then uses its copy.
 *
 * The guest runs in 64-bit ring 3 with all of its RAM identity-mapped (guest virtual address
 * == guest physical address), page 0 unmapped. It talks to the launcher in two ways:
 *   - hypercalls: `out` of a 32-bit value to RINGVISOR_PORT_HYPERCALL; the value is the guest
 *     address of a struct ringvisor_hypercall, which the launcher reads, acts on and answers
 *     by writing its `result` field. Each one is a full exit to the launcher (tens of us).
 *   - doorbells: `out` to a port bound to an ioeventfd in the launcher's I/O thread, which
 *     handles it without an exit to user space; a NIC's data path uses nothing else.
 *
 * Change anything here and bump RINGVISOR_ABI_VERSION: the guest refuses to run on a
 * launcher whose version differs, and the launcher says which versions it speaks.
 */
#ifndef RINGVISOR_ABI_H
#define RINGVISOR_ABI_H

#include <stdint.h>

#include "ringvisor_frame.h" /* what a NIC's buffers hold: the virtio-net header, the frame */

#define RINGVISOR_ABI_VERSION 4

/* ---- Guest physical memory layout ------------------------------------------------------ */

/*
 * The first 1 MiB belongs to the launcher: page tables, descriptor tables, the TSS, the
 * exception trampolines, the boot information and the guest's arguments. The guest image
 * must be linked at or above RINGVISOR_GUEST_IMAGE_START; everything above the image that
 * the memory map calls usable is the guest's to allocate.
 */
#define RINGVISOR_PAGE_SIZE 4096u
#define RINGVISOR_GUEST_IMAGE_START 0x100000u

/* Pages of the launcher's area that the guest may read (all others are supervisor-only). */
#define RINGVISOR_BOOT_INFO_ADDRESS 0xe000u   /* one page, read-only to the guest */
#define RINGVISOR_ARGUMENTS_ADDRESS 0xf000u   /* guest arguments, read-only */
#define RINGVISOR_ARGUMENTS_MAX_BYTES 0x2000u /* two pages of NUL-terminated strings */
#define RINGVISOR_ARGUMENTS_MAX_COUNT 256u

/* ---- I/O ports a ring-3 guest may use (the TSS I/O bitmap opens only these) ------------ */

/* Every port is written with a 32-bit `out`, which the CPU checks against four bits of the
 * I/O bitmap, so ports are four apart. */
#define RINGVISOR_PORT_HYPERCALL 0x0510u
#define RINGVISOR_PORT_EXCEPTION 0x0514u /* used only by the launcher's exception trampolines */
#define RINGVISOR_PORT_DOORBELL_FIRST 0x0520u /* doorbell n is at FIRST + 4 * n */
#define RINGVISOR_PORT_DOORBELL_COUNT 32u

/* ---- Boot information -------------------------------------------------------------------- */

#define RINGVISOR_BOOT_MAGIC 0x52564254u /* "RVBT" */

enum ringvisor_memory_type {
	RINGVISOR_MEMORY_USABLE = 1,   /* free for the guest's allocator */
	RINGVISOR_MEMORY_LAUNCHER = 2, /* the launcher's tables and pages: hands off */
	RINGVISOR_MEMORY_IMAGE = 3,    /* the loaded guest ELF, including its BSS */
};

struct ringvisor_memory_region {
	uint64_t start;
	uint64_t length;
	uint32_t type; /* enum ringvisor_memory_type */
	uint32_t reserved;
};

#define RINGVISOR_MEMORY_REGIONS_MAX 8u

/* ---- Network interfaces (NICs) ----------------------------------------------------------- */

/*
 * A NIC is virtio-net in all but transport: two split virtqueues (receive, transmit; layout at
 * the end of this file), every frame preceded by a struct ringvisor_net_header (see
 * ringvisor_frame.h), and the virtio-net feature bits below with their virtio numbers. The boot
 * information lists each NIC with the features the launcher offers; the guest picks a subset, lays
 * out its queues in its own memory and hands them over with RINGVISOR_HYPERCALL_NIC_SETUP. From
 * then on no hypercall is on the data path:
 *   - guest to host: the guest adds chains to a queue's available ring and writes the queue's
 *     doorbell port (an ioeventfd in the launcher's I/O thread, no exit to user space) unless
 *     the used ring's flags say RINGVISOR_VIRTQUEUE_USED_NO_NOTIFY (the I/O thread is already
 *     looking);
 *   - host to guest: the I/O thread fills the used ring and, unless the available ring's flags
 *     say RINGVISOR_VIRTQUEUE_AVAILABLE_NO_INTERRUPT, wakes the guest's vCPU from its wait
 *     hypercall. A guest that is running polls its used rings and sets NO_INTERRUPT; it clears
 *     it, then looks once more, before it waits.
 */
#define RINGVISOR_NICS_MAX 4u

/* virtio-net feature bits (virtio 1.x, 5.1.3), as the bit numbers of `features`. */
#define RINGVISOR_NIC_FEATURE_CSUM 0	   /* the host finishes partial checksums on transmit */
#define RINGVISOR_NIC_FEATURE_GUEST_CSUM 1 /* the guest takes partial/validated checksums */
#define RINGVISOR_NIC_FEATURE_MTU 3	   /* `mtu` is meaningful */
#define RINGVISOR_NIC_FEATURE_MAC 5	   /* `mac` is meaningful */
#define RINGVISOR_NIC_FEATURE_GUEST_TSO4 7 /* the guest takes TCP/IPv4 segments up to 64 KiB */
#define RINGVISOR_NIC_FEATURE_HOST_TSO4 11 /* the host segments TCP/IPv4 the guest sends */
/* A feature bit as the mask `features` holds it. */
#define RINGVISOR_NIC_FEATURE(bit) (1ull << (bit))

struct ringvisor_nic_info {
	uint8_t mac[6];
	uint16_t mtu;		 /* IP MTU: the largest frame is mtu + 14 (Ethernet header) */
	uint8_t ipv4_address[4]; /* 0.0.0.0 if the user gave none */
	uint8_t ipv4_gateway[4]; /* 0.0.0.0: none */
	uint8_t ipv4_prefix_length;
	uint8_t reserved[3];
	uint32_t queue_size_max; /* the largest queue size the launcher accepts */
	uint64_t features;	 /* offered: 1 << RINGVISOR_NIC_FEATURE_... */
	uint32_t receive_doorbell_port;
	uint32_t transmit_doorbell_port;
	char name[16]; /* the host-side name (the TAP's), for messages */
};

struct ringvisor_queue_setup {
	uint32_t size; /* a power of two, at most queue_size_max */
	uint32_t reserved;
	uint64_t descriptors; /* guest addresses, aligned 16 / 2 / 4 */
	uint64_t available;
	uint64_t used;
};

/* What RINGVISOR_HYPERCALL_NIC_SETUP reads, from the guest's memory. */
struct ringvisor_nic_setup {
	uint64_t features; /* accepted: a subset of those offered */
	struct ringvisor_queue_setup receive;
	struct ringvisor_queue_setup transmit;
};

/*
 * At entry RDI holds the address of this structure (RINGVISOR_BOOT_INFO_ADDRESS) and RSP
 * points into a small launcher-provided stack; the guest should switch to its own.
 */
struct ringvisor_boot_info {
	uint32_t magic;	      /* RINGVISOR_BOOT_MAGIC */
	uint32_t abi_version; /* RINGVISOR_ABI_VERSION */
	uint64_t memory_size; /* bytes of guest RAM, starting at guest address 0 */
	uint64_t tsc_khz;     /* the TSC's frequency: the guest's clock */
	/* The longest the guest should poll for events before it waits (ringvisor_poll.h:
	 * an adaptive window up to this); 0: wait at once. The launcher's --poll. */
	uint64_t poll_ns_max;

	/* Arguments after `--` on the launcher's command line, argv[0] being the ELF's name:
	 * argument_count NUL-terminated strings, back to back, at `arguments`. */
	uint64_t arguments;
	uint32_t arguments_bytes;
	uint32_t argument_count;

	uint32_t memory_region_count;
	uint32_t nic_count;
	struct ringvisor_memory_region memory_regions[RINGVISOR_MEMORY_REGIONS_MAX];
	struct ringvisor_nic_info nics[RINGVISOR_NICS_MAX];
};

/* ---- Hypercalls -------------------------------------------------------------------------- */

enum ringvisor_hypercall_number {
	/* argument[0]: address of bytes, argument[1]: length (at most 64 KiB).
	 * result: bytes written, or a negative ringvisor_error. */
	RINGVISOR_HYPERCALL_CONSOLE_WRITE = 1,
	/* argument[0]: exit code, 0..RINGVISOR_EXIT_CODE_MAX. Does not return. */
	RINGVISOR_HYPERCALL_EXIT = 2,
	/* argument[0]: nanoseconds to wait at most (0: just check). Returns early when an event
	 * (a host-to-guest notification) is pending. result: 1 woken by an event, 0 timed out. */
	RINGVISOR_HYPERCALL_WAIT = 3,
	/* argument[0]: address of a message, argument[1]: its length (at most 4 KiB),
	 * argument[2]: the code address the panic was raised from (for the report).
	 * Does not return: the launcher prints a crash report and exits. */
	RINGVISOR_HYPERCALL_PANIC = 4,
	/* argument[0]: NIC index, argument[1]: address of a struct ringvisor_nic_setup.
	 * result: 0, or a negative ringvisor_error (the launcher prints why). Once per NIC. */
	RINGVISOR_HYPERCALL_NIC_SETUP = 5,
};

enum ringvisor_error {
	RINGVISOR_ERROR_BAD_CALL = -1,	  /* no such hypercall */
	RINGVISOR_ERROR_BAD_ADDRESS = -2, /* a buffer outside guest RAM or in launcher pages */
	RINGVISOR_ERROR_BAD_ARGUMENT = -3,
};

#define RINGVISOR_EXIT_CODE_MAX 124
#define RINGVISOR_CONSOLE_WRITE_MAX (64u << 10)

/* Written by the guest, read once by the launcher. 16-byte aligned; must lie in guest RAM. */
struct ringvisor_hypercall {
	uint32_t number; /* enum ringvisor_hypercall_number */
	uint32_t reserved;
	int64_t result;
	uint64_t argument[4];
};

/* ---- Virtqueues -------------------------------------------------------------------------- */

/*
 * A NIC's queues are virtio 1.x split virtqueues in guest memory, laid out as the virtio spec
 * says (2.7), so that a reader who knows virtio knows these: a descriptor table, an "available"
 * ring the guest fills with chain heads, and a "used" ring the host fills with finished chains.
 * All fields are little-endian (the only byte order both sides have). The guest owns the
 * memory; the launcher copies every descriptor out once and checks it before use.
 */
#define RINGVISOR_VIRTQUEUE_SIZE_MAX 32768u

enum ringvisor_virtqueue_descriptor_flags {
	RINGVISOR_VIRTQUEUE_DESCRIPTOR_NEXT = 1,  /* the chain continues at `next` */
	RINGVISOR_VIRTQUEUE_DESCRIPTOR_WRITE = 2, /* the host writes this buffer (receive) */
};

struct ringvisor_virtqueue_descriptor {
	uint64_t address; /* guest address of the buffer */
	uint32_t length;
	uint16_t flags;
	uint16_t next;
};

/* Available ring: flags, index, ring[size], then used_event (with event indexes). */
struct ringvisor_virtqueue_available {
	uint16_t flags; /* RINGVISOR_VIRTQUEUE_AVAILABLE_NO_INTERRUPT */
	uint16_t index; /* where the guest will put its next entry, free-running */
	uint16_t ring[];
};
#define RINGVISOR_VIRTQUEUE_AVAILABLE_NO_INTERRUPT 1

struct ringvisor_virtqueue_used_element {
	uint32_t id;	 /* head of the finished chain */
	uint32_t length; /* bytes the host wrote into it */
};

/* Used ring: flags, index, ring[size], then available_event (with event indexes). */
struct ringvisor_virtqueue_used {
	uint16_t flags; /* RINGVISOR_VIRTQUEUE_USED_NO_NOTIFY */
	uint16_t index;
	struct ringvisor_virtqueue_used_element ring[];
};
#define RINGVISOR_VIRTQUEUE_USED_NO_NOTIFY 1

#endif
