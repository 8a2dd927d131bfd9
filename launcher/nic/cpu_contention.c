/* Whether the host's CPUs are contended (see cpu_contention.h). */
#include "nic/cpu_contention.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

bool cpu_contention_parse(const char *line, uint64_t *wait_ns)
{
	char *end;
	errno = 0;
	strtoull(line, &end, 10); /* the time it ran: not needed */
	if (errno || end == line || *end != ' ')
		return false;
	const char *wait = end + 1;
	uint64_t value = strtoull(wait, &end, 10);
	if (errno || end == wait || (*end != ' ' && *end != '\n' && *end != '\0'))
		return false;
	*wait_ns = value;
	return true;
}

bool cpu_contention_judge(uint64_t waited_ns, uint64_t elapsed_ns, bool was_contended)
{
	if (elapsed_ns == 0)
		return was_contended;
	unsigned percent = was_contended ? CALM_WAIT_PERCENT : CONTENDED_WAIT_PERCENT;
	return waited_ns * 100 > elapsed_ns * percent;
}

static bool read_wait(struct cpu_contention *contention, uint64_t *wait_ns)
{
	char line[96];
	ssize_t got = pread(contention->schedstat_fd, line, sizeof line - 1, 0);
	if (got <= 0)
		return false;
	line[got] = '\0';
	return cpu_contention_parse(line, wait_ns);
}

void cpu_contention_open(struct cpu_contention *contention, pid_t tid, uint64_t now_ns)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/self/task/%d/schedstat", (int)tid);
	contention->schedstat_fd = open(path, O_RDONLY | O_CLOEXEC);
	contention->checked_ns = now_ns;
	contention->contended = false;
	if (contention->schedstat_fd >= 0 && !read_wait(contention, &contention->wait_ns))
		cpu_contention_close(contention);
}

void cpu_contention_close(struct cpu_contention *contention)
{
	if (contention->schedstat_fd >= 0)
		close(contention->schedstat_fd);
	contention->schedstat_fd = -1;
}

bool cpu_contention_now(struct cpu_contention *contention, uint64_t now_ns)
{
	if (contention->schedstat_fd < 0 || now_ns - contention->checked_ns < CONTENDED_CHECK_NS)
		return contention->contended;
	uint64_t wait_ns;
	if (!read_wait(contention, &wait_ns)) {
		cpu_contention_close(contention); /* the thread is gone: nothing more to learn */
		return contention->contended = false;
	}
	contention->contended =
		cpu_contention_judge(wait_ns - contention->wait_ns, now_ns - contention->checked_ns,
				     contention->contended);
	contention->wait_ns = wait_ns;
	contention->checked_ns = now_ns;
	return contention->contended;
}
