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
#include <unistd.h>

static void stop(struct metrics_stream *stream, const char *why)
{
	fprintf(stderr, "ringvisor: metrics %s: %s; the stream stops, the guest runs on\n",
		stream->path, why);
	close(stream->fd);
	stream->fd = -1;
	free(stream->pending);
	stream->pending = NULL;
	stream->pending_length = 0;
}

bool metrics_stream_open(struct metrics_stream *stream, const char *path, char *error,
			 size_t error_size)
{
	memset(stream, 0, sizeof *stream);
	/* Left non-blocking: a slow reader's lines wait in `pending`, never the I/O thread. */
	stream->fd = output_file_open("metrics", path, stream->path, sizeof stream->path, error,
				      error_size);
	return stream->fd >= 0;
}

/* Writes what the file takes now; stops the stream on a real failure. */
static void flush_pending(struct metrics_stream *stream)
{
	size_t done = 0;
	while (done < stream->pending_length) {
		ssize_t written =
			write(stream->fd, stream->pending + done, stream->pending_length - done);
		if (written < 0 && errno == EINTR)
			continue;
		if (written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break; /* a FIFO whose reader is behind: the rest waits */
		if (written <= 0) {
			char why[128];
			snprintf(why, sizeof why, "write failed: %s",
				 written < 0 ? strerror(errno) : "nothing written");
			stop(stream, why);
			return;
		}
		done += (size_t)written;
	}
	memmove(stream->pending, stream->pending + done, stream->pending_length - done);
	stream->pending_length -= done;
}

void metrics_stream_write_line(struct metrics_stream *stream, const char *text, size_t length)
{
	if (stream->fd < 0)
		return;
	if (stream->pending_length + length + 1 > METRICS_PENDING_MAX) {
		stop(stream, "the reader fell more than 1 MiB behind");
		return;
	}
	char *pending = realloc(stream->pending, stream->pending_length + length + 1);
	if (!pending) {
		stop(stream, "out of memory");
		return;
	}
	stream->pending = pending;
	memcpy(pending + stream->pending_length, text, length);
	pending[stream->pending_length + length] = '\n';
	stream->pending_length += length + 1;
	stream->lines++;
	flush_pending(stream);
}

void metrics_stream_close(struct metrics_stream *stream, unsigned timeout_ms)
{
	if (stream->fd < 0)
		return;
	/* Bounded: a reader that stopped reading must not keep the launcher from exiting. */
	struct pollfd poller = { .fd = stream->fd, .events = POLLOUT };
	while (stream->fd >= 0 && stream->pending_length > 0 &&
	       poll(&poller, 1, (int)timeout_ms) > 0 && !(poller.revents & (POLLERR | POLLHUP)))
		flush_pending(stream);
	if (stream->fd >= 0 && stream->pending_length > 0)
		fprintf(stderr, "ringvisor: metrics %s: %zu bytes the reader never took\n",
			stream->path, stream->pending_length);
	if (stream->fd >= 0)
		close(stream->fd);
	stream->fd = -1;
	free(stream->pending);
	stream->pending = NULL;
	stream->pending_length = 0;
}
