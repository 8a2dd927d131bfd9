/*
 * The metrics stream: `--metrics FILE[,interval=MS]` writes one JSON object per line to FILE
 * every interval and one at exit (docs/metrics.md names every field). FILE may be a regular file
 * or a FIFO that another program reads as the guest runs.
 *
 * The I/O thread writes, so a slow reader must never stall frames: the file is non-blocking,
 * what the reader has not taken yet waits in a buffer here, and a reader that falls more than
 * METRICS_PENDING_MAX behind, or a write that fails (a full disk, a reader gone), stops the
 * stream with one message. The guest runs on either way.
 */
#ifndef RINGVISOR_OBSERVE_METRICS_STREAM_H
#define RINGVISOR_OBSERVE_METRICS_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "observe/output_file.h"

#define METRICS_INTERVAL_DEFAULT_MS 1000u
#define METRICS_INTERVAL_MIN_MS 10u
#define METRICS_INTERVAL_MAX_MS 3600000u
#define METRICS_PENDING_MAX (1u << 20)

struct metrics_stream {
	int fd; /* -1: not streaming, or stopped */
	char path[256];
	struct output_queue pending; /* finished lines the file has not taken yet */
	uint64_t lines;
};

/* Opens FILE for writing (created or truncated; a FIFO must already have a reader). False, with
 * the reason in `error`, if it cannot. */
bool metrics_stream_open(struct metrics_stream *stream, const char *path, char *error,
			 size_t error_size);

/* Queues one line (`text`, without its newline) and writes what the file will take now. */
void metrics_stream_write_line(struct metrics_stream *stream, const char *text, size_t length);

/* At exit: waits (at most `timeout_ms`) for a FIFO's reader to take what is pending, then
 * closes. */
void metrics_stream_close(struct metrics_stream *stream, unsigned timeout_ms);

#endif
