/* output_file.c - see output_file.h. */
#include "observe/output_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int output_file_open(const char *what, const char *path, char *copy, size_t copy_size, char *error,
		     size_t error_size)
{
	if (strlen(path) >= copy_size) {
		snprintf(error, error_size, "%s file name longer than %zu bytes", what,
			 copy_size - 1);
		return -1;
	}
	snprintf(copy, copy_size, "%s", path);
	/* Not O_TRUNC: whose file it is is checked first. Not through a symbolic link: in a shared
	 * directory another user could point one at a file of ours. */
	int fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
		      0600);
	if (fd < 0) {
		snprintf(error, error_size, "cannot open %s file %s: %s%s", what, path,
			 strerror(errno),
			 errno == ENXIO	  ? " (a FIFO with no reader)"
			 : errno == ELOOP ? " (a symbolic link: name the file itself)"
					  : "");
		return -1;
	}
	/* A file or FIFO someone else made (in /tmp, say) would let them read the guest's frames
	 * or counters, or feed a reader of their own: only ours is written. Devices (/dev/null)
	 * are the system's and fine. */
	struct stat status;
	if (fstat(fd, &status) < 0 ||
	    ((S_ISREG(status.st_mode) || S_ISFIFO(status.st_mode)) && status.st_uid != geteuid())) {
		snprintf(error, error_size, "%s file %s belongs to uid %u, not to this user (%u)",
			 what, path, (unsigned)status.st_uid, (unsigned)geteuid());
		close(fd);
		return -1;
	}
	if (S_ISREG(status.st_mode) && ftruncate(fd, 0) < 0) {
		snprintf(error, error_size, "cannot truncate %s file %s: %s", what, path,
			 strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

bool output_file_blocking(int fd, const char *what, const char *path, char *error,
			  size_t error_size)
{
	int flags = fcntl(fd, F_GETFL);
	if (flags >= 0 && fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == 0)
		return true;
	snprintf(error, error_size, "%s file %s: %s", what, path, strerror(errno));
	return false;
}

static bool queue_append(struct output_queue *queue, const struct iovec *pieces, unsigned count,
			 size_t skip)
{
	size_t total = 0;
	for (unsigned index = 0; index < count; index++)
		total += pieces[index].iov_len;
	total -= skip;
	if (queue->length + total > queue->limit)
		return false;
	char *bytes = realloc(queue->bytes, queue->length + total);
	if (!bytes)
		return false;
	queue->bytes = bytes;
	for (unsigned index = 0; index < count; index++) {
		size_t length = pieces[index].iov_len, from = skip < length ? skip : length;
		skip -= from;
		memcpy(bytes + queue->length, (const char *)pieces[index].iov_base + from,
		       length - from);
		queue->length += length - from;
	}
	return true;
}

int output_queue_flush(int fd, struct output_queue *queue)
{
	if (queue->length == 0)
		return 0;
	size_t done = 0;
	while (done < queue->length) {
		ssize_t written = write(fd, queue->bytes + done, queue->length - done);
		if (written < 0 && errno == EINTR)
			continue;
		if (written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break; /* the reader is behind: the rest waits */
		if (written <= 0)
			return written < 0 ? -errno : -EIO;
		done += (size_t)written;
	}
	memmove(queue->bytes, queue->bytes + done, queue->length - done);
	queue->length -= done;
	return 0;
}

int output_queue_write(int fd, struct output_queue *queue, const struct iovec *pieces,
		       unsigned count)
{
	int failure = output_queue_flush(fd, queue);
	if (failure)
		return failure;
	if (queue->length > 0) /* behind already: this one waits behind the others, whole */
		return queue_append(queue, pieces, count, 0) ? OUTPUT_DONE : OUTPUT_DROPPED;
	ssize_t written;
	do
		written = writev(fd, pieces, (int)count);
	while (written < 0 && errno == EINTR);
	if (written < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
		return -errno;
	size_t total = 0;
	for (unsigned index = 0; index < count; index++)
		total += pieces[index].iov_len;
	size_t taken = written > 0 ? (size_t)written : 0;
	if (taken == total)
		return OUTPUT_DONE;
	/* Part of it went out: the rest must follow, or the reader would get half a record. */
	if (queue_append(queue, pieces, count, taken))
		return OUTPUT_DONE;
	return taken ? -ENOBUFS : OUTPUT_DROPPED;
}

void output_queue_release(struct output_queue *queue)
{
	free(queue->bytes);
	queue->bytes = NULL;
	queue->length = 0;
}
