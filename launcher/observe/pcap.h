/*
 * A packet capture of one NIC, in the pcap format that tcpdump -r and Wireshark read.
 *
 * `--net ...,pcap=FILE` gives a NIC one of these. The NIC (nic/nic.c) hands it every frame its
 * guest sends and every frame delivered to its guest, as the iovecs it already has, with the
 * virtio-net header still in front; the capture strips the header and writes one record per
 * frame (link type Ethernet, nanosecond timestamps). A 64 KiB TSO frame is written whole, as
 * the guest sent it or as the host handed it up, so the snap length is the largest frame:
 * RINGVISOR_ETHERNET_HEADER_BYTES + 65,535.
 *
 * Only the I/O thread writes, and never blocks: the file is non-blocking, what a slow FIFO reader
 * (tcpdump -r -, or one paused) has not taken waits in a queue of at most PCAP_PENDING_MAX, and
 * frames that do not fit are left out, counted and said once. A write that fails (a full disk,
 * a reader gone) stops the capture with one message; the guest runs on either way.
 */
#ifndef RINGVISOR_OBSERVE_PCAP_H
#define RINGVISOR_OBSERVE_PCAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "observe/output_file.h"
#include "ringvisor_frame.h"

#define PCAP_SNAP_LENGTH (RINGVISOR_ETHERNET_HEADER_BYTES + 65535u)

#define PCAP_PENDING_MAX (4u << 20)

struct pcap_capture {
	int fd; /* -1: not capturing (never opened, or stopped after a failed write) */
	char path[256];
	struct output_queue pending; /* what a slow FIFO reader has not taken yet */
	uint64_t frames;
	uint64_t bytes;
	uint64_t frames_left_out; /* the reader was more than PCAP_PENDING_MAX behind */
};

/* Creates (or truncates) FILE and writes the file header. False, with the reason in `error`,
 * if it cannot; the capture is then closed. */
bool pcap_open(struct pcap_capture *capture, const char *path, char *error, size_t error_size);

/* One frame: `length` bytes in `iov`, the first RINGVISOR_NET_HEADER_BYTES of which are the
 * virtio-net header (not written). Frames shorter than the header are not frames: ignored. */
void pcap_write_frame(struct pcap_capture *capture, const struct iovec *iov, unsigned iov_count,
		      size_t length);

void pcap_close(struct pcap_capture *capture);

#endif
