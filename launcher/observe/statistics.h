/*
 * Every number the launcher reports about a running guest, taken at one moment: each NIC's
 * counters (device, fault injection, backend), each launcher thread's CPU time, the vCPU's exits
 * by reason, and the wall time. `--stats` prints a snapshot at exit, SIGUSR1 prints one any time,
 * and the metrics stream writes one per interval and one at exit as a JSON line, so what is
 * printed and what is streamed are the same list under the same names (docs/metrics.md).
 *
 * Printed, a statistic is one line `SECTION NAME COUNTER VALUE`:
 *	nic rv0 receive_frames 1234
 *	thread vcpu guest_ns 880000000
 *	exit vcpu hypercall_wait 57
 *	time launcher wall_ns 1000123456
 * In JSON, the same as {"nic":{"rv0":{"receive_frames":1234}}, "thread":{...}, ...}.
 */
#ifndef RINGVISOR_OBSERVE_STATISTICS_H
#define RINGVISOR_OBSERVE_STATISTICS_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "observe/json_writer.h"

struct vm;
struct nic_device;
struct io_poll_counters;

struct statistics_sources {
	const struct vm *vm;
	const struct nic_device *nics;
	unsigned nic_count;
	pid_t vcpu_tid, io_tid;			 /* 0: not started (yet) */
	uint64_t start_ns;			 /* CLOCK_MONOTONIC when the launcher started */
	const struct io_poll_counters *io_polls; /* the I/O thread's, once it has started */
};

#define STATISTICS_MAX 512u

struct statistic {
	const char *section, *name, *counter; /* static strings, or the NIC's configured name */
	uint64_t value;
};

struct statistics_snapshot {
	uint64_t unix_time_ns; /* when it was taken, CLOCK_REALTIME */
	unsigned count;
	struct statistic entries[STATISTICS_MAX];
};

/* Reads everything now. Call from the I/O thread while it runs, or once it has stopped: the
 * NICs' counters are that thread's. */
void statistics_take(const struct statistics_sources *sources,
		     struct statistics_snapshot *snapshot);

void statistics_print(const struct statistics_snapshot *snapshot, FILE *stream);

/* The snapshot as one JSON object: "unix_time_ns", then a member per section. */
void statistics_write_json(const struct statistics_snapshot *snapshot, struct json_writer *json);

struct metrics_stream;
/* The snapshot as one line of the metrics stream. */
void statistics_stream(const struct statistics_snapshot *snapshot, struct metrics_stream *stream);

uint64_t statistics_monotonic_ns(void);

#endif
