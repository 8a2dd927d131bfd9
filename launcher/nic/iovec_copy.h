/*
 * Copying between scattered buffers (struct iovec arrays): a frame in a guest's descriptor
 * chain, in a share ring that wraps at its end, or in one local buffer. The NIC and the share
 * switch both move frames between such places; this is the one copy loop they use.
 */
#ifndef RINGVISOR_IOVEC_COPY_H
#define RINGVISOR_IOVEC_COPY_H

#include <stddef.h>
#include <sys/uio.h>

/* Copies `length` bytes from `from` (skipping its first `from_offset` bytes) to `to` (skipping
 * `to_offset`), stopping early if either runs out. Returns the bytes copied. */
size_t iovec_copy(const struct iovec *to, unsigned to_count, size_t to_offset,
		  const struct iovec *from, unsigned from_count, size_t from_offset, size_t length);

#endif
