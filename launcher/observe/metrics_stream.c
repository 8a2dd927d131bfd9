/*
 * metrics_stream.c - writing JSON lines without ever blocking the I/O thread (see
 * metrics_stream.h).
 */
#include "observe/metrics_stream.h"
#include "observe/output_file.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void stop(struct metrics_stream *stream, const char *why)
{
	fprintf(stderr, "ringvisor: metrics %s: %s; the stream stops, the guest runs on\n",
		stream->path, why);
	close(stream->fd);
	stream->fd = -1;
	output_queue_release(&stream->pending);
}

bool metrics_stream_open(struct metrics_stream *stream, const char *path, char *error,
			 size_t error_size)
{
	memset(stream, 0, sizeof *stream);
	stream->pending.limit = METRICS_PENDING_MAX;
	/* Left non-blocking: a slow reader's lines wait in `pending`, never the I/O thread. */
	stream->fd = output_file_open("metrics", path, stream->path, sizeof stream->path, error,
				      error_size);
	return stream->fd >= 0;
}

void metrics_stream_write_line(struct metrics_stream *stream, const char *text, size_t length)
{
	if (stream->fd < 0)
		return;
	struct iovec line[2] = { { (void *)text, length }, { "\n", 1 } };
	int result = output_queue_write(stream->fd, &stream->pending, line, 2);
	char why[128];
	if (result == OUTPUT_DROPPED) {
		/* A gap would make the counters look like they went back: stop instead. */
		stop(stream, "the reader fell more than 1 MiB behind");
	} else if (result < 0) {
		snprintf(why, sizeof why, "write failed: %s", strerror(-result));
		stop(stream, why);
	} else {
		stream->lines++;
	}
}

void metrics_stream_close(struct metrics_stream *stream, unsigned timeout_ms)
{
	if (stream->fd < 0)
		return;
	/* Bounded, in all: a reader that stopped reading (or reads a page at a time) must not keep
	 * the launcher from exiting. */
	struct pollfd poller = { .fd = stream->fd, .events = POLLOUT };
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	int64_t deadline_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000 + timeout_ms;
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		int64_t left = deadline_ms - ((int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000);
		if (stream->fd < 0 || stream->pending.length == 0 || left <= 0 ||
		    poll(&poller, 1, (int)left) <= 0 || (poller.revents & (POLLERR | POLLHUP)))
			break;
		if (output_queue_flush(stream->fd, &stream->pending) < 0)
			break;
	}
	if (stream->fd >= 0 && stream->pending.length > 0)
		fprintf(stderr, "ringvisor: metrics %s: %zu bytes the reader never took\n",
			stream->path, stream->pending.length);
	if (stream->fd >= 0)
		close(stream->fd);
	stream->fd = -1;
	output_queue_release(&stream->pending);
}
