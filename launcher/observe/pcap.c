/*
 * pcap.c - writing a NIC's frames as a pcap file (see pcap.h).
 *
 * The format is libpcap's (https://www.tcpdump.org/manpages/pcap-savefile.5.txt): a 24-byte file
 * header, then per frame a 16-byte record header (seconds, nanoseconds, bytes captured, bytes
 * on the wire) and the frame. The nanosecond variant has its own magic number, so readers know
 * the second field is nanoseconds. All fields in our byte order; the magic tells readers which.
 */
#include "observe/pcap.h"
#include "observe/output_file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PCAP_MAGIC_NANOSECONDS 0xa1b23c4du
#define PCAP_LINKTYPE_ETHERNET 1u
#define PCAP_IOV_MAX 66 /* a record header and a chain of at most 64 descriptors, and one spare */

struct pcap_file_header {
	uint32_t magic;
	uint16_t version_major, version_minor;
	int32_t timezone_offset;
	uint32_t timestamp_accuracy;
	uint32_t snap_length;
	uint32_t link_type;
};

struct pcap_record_header {
	uint32_t seconds, nanoseconds;
	uint32_t captured_length, original_length;
};

static void stop(struct pcap_capture *capture, const char *what, int error)
{
	fprintf(stderr, "ringvisor: capture %s: %s: %s; capturing stops, the guest runs on\n",
		capture->path, what, strerror(error));
	close(capture->fd);
	capture->fd = -1;
	output_queue_release(&capture->pending);
}

bool pcap_open(struct pcap_capture *capture, const char *path, char *error, size_t error_size)
{
	memset(capture, 0, sizeof *capture);
	capture->fd = -1;
	capture->pending.limit = PCAP_PENDING_MAX;
	int fd = output_file_open("capture", path, capture->path, sizeof capture->path, error,
				  error_size);
	if (fd < 0)
		return false;
	struct pcap_file_header header = {
		.magic = PCAP_MAGIC_NANOSECONDS,
		.version_major = 2,
		.version_minor = 4,
		.snap_length = PCAP_SNAP_LENGTH,
		.link_type = PCAP_LINKTYPE_ETHERNET,
	};
	struct iovec iov = { &header, sizeof header };
	int result = output_queue_write(fd, &capture->pending, &iov, 1);
	if (result != OUTPUT_DONE) {
		snprintf(error, error_size, "cannot write capture file %s: %s", path,
			 strerror(result < 0 ? -result : ENOBUFS));
		close(fd);
		output_queue_release(&capture->pending);
		return false;
	}
	capture->fd = fd;
	return true;
}

void pcap_write_frame(struct pcap_capture *capture, const struct iovec *iov, unsigned iov_count,
		      size_t length)
{
	if (capture->fd < 0 || length < RINGVISOR_NET_HEADER_BYTES)
		return;
	size_t frame_length = length - RINGVISOR_NET_HEADER_BYTES;
	size_t captured = frame_length < PCAP_SNAP_LENGTH ? frame_length : PCAP_SNAP_LENGTH;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	struct pcap_record_header record = {
		.seconds = (uint32_t)now.tv_sec,
		.nanoseconds = (uint32_t)now.tv_nsec,
		.captured_length = (uint32_t)captured,
		.original_length = frame_length > UINT32_MAX ? UINT32_MAX : (uint32_t)frame_length,
	};

	/* The record header, then the frame's bytes after the virtio-net header, up to `captured`.
	 */
	struct iovec out[PCAP_IOV_MAX];
	int count = 0;
	out[count++] = (struct iovec){ &record, sizeof record };
	size_t skip = RINGVISOR_NET_HEADER_BYTES, want = captured;
	for (unsigned index = 0; index < iov_count && want > 0; index++) {
		if (count == PCAP_IOV_MAX) {
			stop(capture, "a frame in too many pieces", E2BIG);
			return;
		}
		size_t piece = iov[index].iov_len;
		if (skip >= piece) {
			skip -= piece;
			continue;
		}
		size_t take = piece - skip < want ? piece - skip : want;
		out[count++] = (struct iovec){ (uint8_t *)iov[index].iov_base + skip, take };
		want -= take;
		skip = 0;
	}
	if (want >
	    0) { /* the iovecs held less than `length` said: a caller's bug, not the guest's */
		stop(capture, "a frame shorter than its length", EINVAL);
		return;
	}
	int result = output_queue_write(capture->fd, &capture->pending, out, (unsigned)count);
	if (result < 0) {
		stop(capture, "write failed", -result);
		return;
	}
	if (result == OUTPUT_DROPPED) {
		if (capture->frames_left_out++ == 0)
			fprintf(stderr,
				"ringvisor: capture %s: the reader is more than %u MiB behind; "
				"frames are left out of the capture (counted) until it catches "
				"up\n",
				capture->path, PCAP_PENDING_MAX >> 20);
		return;
	}
	capture->frames++;
	capture->bytes += captured;
}

void pcap_close(struct pcap_capture *capture)
{
	if (capture->fd >= 0) {
		/* What still waits: a last try, without waiting for a reader that is not reading.
		 */
		output_queue_flush(capture->fd, &capture->pending);
		if (capture->pending.length)
			fprintf(stderr, "ringvisor: capture %s: %zu bytes the reader never took\n",
				capture->path, capture->pending.length);
		if (capture->frames_left_out)
			fprintf(stderr, "ringvisor: capture %s: %llu frames were left out\n",
				capture->path, (unsigned long long)capture->frames_left_out);
		close(capture->fd);
	}
	capture->fd = -1;
	output_queue_release(&capture->pending);
}
