/* output_file.c - see output_file.h. */
#include "observe/output_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
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
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0644);
	if (fd < 0)
		snprintf(error, error_size, "cannot open %s file %s: %s%s", what, path,
			 strerror(errno), errno == ENXIO ? " (a FIFO with no reader)" : "");
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
