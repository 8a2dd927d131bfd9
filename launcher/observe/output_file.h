/*
 * Opening a file the launcher writes as the guest runs: a capture, the metrics stream, the
 * profile. One way for all three, so they refuse the same things the same way: the file is
 * created or truncated (0644, close-on-exec), and opened non-blocking, so that a FIFO with no
 * reader is an error said before the guest starts, never a launcher hanging in open().
 */
#ifndef RINGVISOR_OBSERVE_OUTPUT_FILE_H
#define RINGVISOR_OBSERVE_OUTPUT_FILE_H

#include <stdbool.h>
#include <stddef.h>

/* Copies `path` into `copy` (for messages later) and opens it; the fd, still non-blocking, or
 * -1 with the reason in `error`. `what` names the file in messages: "capture", "metrics". */
int output_file_open(const char *what, const char *path, char *copy, size_t copy_size, char *error,
		     size_t error_size);

/* Makes writes to `fd` block again (a capture or a profile must not lose what a full pipe would
 * not take). False with the reason in `error`. */
bool output_file_blocking(int fd, const char *what, const char *path, char *error,
			  size_t error_size);

#endif
