/* Copying between scattered buffers (see iovec_copy.h). */
#include "nic/iovec_copy.h"

#include <stdint.h>
#include <string.h>

/* Moves *index and *offset forward over `skip` bytes of `buffers`. */
static void advance(const struct iovec *buffers, unsigned count, unsigned *index, size_t *offset,
		    size_t skip)
{
	while (*index < count && skip >= buffers[*index].iov_len - *offset) {
		skip -= buffers[*index].iov_len - *offset;
		(*index)++;
		*offset = 0;
	}
	*offset += skip;
}

size_t iovec_copy(const struct iovec *to, unsigned to_count, size_t to_offset,
		  const struct iovec *from, unsigned from_count, size_t from_offset, size_t length)
{
	unsigned to_index = 0, from_index = 0;
	size_t to_at = 0, from_at = 0, copied = 0;
	advance(to, to_count, &to_index, &to_at, to_offset);
	advance(from, from_count, &from_index, &from_at, from_offset);
	while (copied < length && to_index < to_count && from_index < from_count) {
		size_t room = to[to_index].iov_len - to_at;
		size_t have = from[from_index].iov_len - from_at;
		size_t step = room < have ? room : have;
		step = step < length - copied ? step : length - copied;
		memcpy((uint8_t *)to[to_index].iov_base + to_at,
		       (const uint8_t *)from[from_index].iov_base + from_at, step);
		copied += step;
		advance(to, to_count, &to_index, &to_at, step);
		advance(from, from_count, &from_index, &from_at, step);
	}
	return copied;
}
