/*
 * thread_times.c - a thread's CPU time from /proc (see thread_times.h).
 *
 * The second field of a stat line is the command name in parentheses, which may itself hold
 * spaces and parentheses, so fields are counted from the last ')'.
 */
#include "observe/thread_times.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool thread_times_parse(const char *line, long ticks_per_second, struct thread_times *times)
{
	const char *field = strrchr(line, ')');
	if (!field || ticks_per_second <= 0)
		return false;
	field++;
	/* After ')' comes field 3 (state); utime is 14, stime 15, guest_time 43. */
	unsigned long long value[44] = { 0 };
	unsigned number = 3;
	while (number <= 43) {
		while (*field == ' ')
			field++;
		if (*field == '\0' || *field == '\n')
			return false;
		char *end;
		value[number] = strtoull(field, &end, 10);
		if (end == field) /* the state letter, field 3 */
			while (*end && *end != ' ')
				end++;
		field = end;
		number++;
	}
	uint64_t tick_ns = 1000000000ull / (uint64_t)ticks_per_second;
	times->user_ns = value[14] * tick_ns;
	times->system_ns = value[15] * tick_ns;
	times->guest_ns = value[43] * tick_ns;
	return true;
}

bool thread_times_read(pid_t tid, struct thread_times *times)
{
	char path[64], line[1024];
	snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t length = read(fd, line, sizeof line - 1);
	close(fd);
	if (length <= 0)
		return false;
	line[length] = '\0';
	return thread_times_parse(line, sysconf(_SC_CLK_TCK), times);
}
