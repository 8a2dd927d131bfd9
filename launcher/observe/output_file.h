/*
 * Opening a file the launcher writes as the guest runs: a capture, the metrics stream, the
 * profile. One way for all three, so they refuse the same things the same way: the file is
 * created (0600: guest traffic is nobody else's to read) or, if it is a regular file of this
 * user's, truncated; a symbolic link, or a file or FIFO that belongs to someone else, is
 * refused. It is opened non-blocking, so that a FIFO with no reader is an error said before the
 * guest starts, never a launcher hanging in open().
 */
#ifndef RINGVISOR_OBSERVE_OUTPUT_FILE_H
#define RINGVISOR_OBSERVE_OUTPUT_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/uio.h>

/* Copies `path` into `copy` (for messages later) and opens it; the fd, still non-blocking, or
 * -1 with the reason in `error`. `what` names the file in messages: "capture", "metrics". */
int output_file_open(const char *what, const char *path, char *copy, size_t copy_size, char *error,
		     size_t error_size);

/*
 * What a non-blocking output the I/O thread writes has not taken yet: records are written
 * whole or not at all, so a reader never sees half of one, and what a slow FIFO reader has not
 * taken waits here, up to `limit` bytes.
 */
struct output_queue {
	char *bytes;
	size_t length, limit;
};

enum output_result {
	OUTPUT_DONE = 0,    /* written, or waiting in the queue */
	OUTPUT_DROPPED = 1, /* the queue is full (the reader is far behind): the record is not */
};

/* Writes what waits, then the record (`count` pieces): OUTPUT_DONE, OUTPUT_DROPPED, or -errno
 * if the file failed (a reader gone: -EPIPE; a full disk: -ENOSPC). */
int output_queue_write(int fd, struct output_queue *queue, const struct iovec *pieces,
		       unsigned count);
/* Writes what the file takes now of what waits: 0, or -errno. */
int output_queue_flush(int fd, struct output_queue *queue);
void output_queue_release(struct output_queue *queue);

/* Makes writes to `fd` block again (a capture or a profile must not lose what a full pipe would
 * not take). False with the reason in `error`. */
bool output_file_blocking(int fd, const char *what, const char *path, char *error,
			  size_t error_size);

#endif
