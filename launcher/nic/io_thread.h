/*
 * The I/O thread: one thread, one epoll set, every NIC's file descriptors (its backend's, the
 * two doorbell eventfds), SIGUSR1 for counters on demand, and an eventfd that tells it to stop.
 * The vCPU thread never moves a frame; this thread never runs the guest. Once a second it also
 * gives every NIC a tick (nic_device_tick), for what no file descriptor announces, and with
 * --metrics it writes the metrics stream. Before it sleeps it polls for a while (--poll: an
 * adaptive window, ringvisor_poll.h): the transmit rings, with the guest's doorbells off, and
 * its file descriptors, with epoll_wait's timeout 0, so that neither the guest nor a sender on
 * the host has to wake it; but not while the traffic is bulk (ringvisor_poll.h says why), nor
 * while the host's CPUs are contended (cpu_contention.h).
 */
#ifndef RINGVISOR_IO_THREAD_H
#define RINGVISOR_IO_THREAD_H

#include <pthread.h>

#include "nic/cpu_contention.h"
#include "nic/nic.h"
#include "ringvisor_poll.h"
#include "observe/metrics_stream.h"
#include "observe/statistics.h"

/* How the thread's polling went (--stats: "poll io COUNTER VALUE"). */
#define IO_POLL_COUNTERS(X)                                                                        \
	X(found_work)	/* a poll found frames to send or an event, so the thread did not sleep */ \
	X(ran_out)	/* a poll found nothing in its window, and the thread slept */             \
	X(skipped_bulk) /* the traffic was bulk, so the thread slept without polling */            \
	X(skipped_contended) /* the CPUs were contended, so the thread slept without polling */

struct io_poll_counters {
#define IO_POLL_COUNTER_FIELD(name) uint64_t name;
	IO_POLL_COUNTERS(IO_POLL_COUNTER_FIELD)
#undef IO_POLL_COUNTER_FIELD
};

/* What the thread reports besides moving frames: every statistic on SIGUSR1, and a metrics line
 * every interval if there is a stream. */
struct io_thread_reports {
	struct statistics_sources *statistics; /* the thread writes its own tid here */
	struct metrics_stream *metrics;	       /* NULL: no --metrics */
	unsigned metrics_interval_ms;
	/* Taken by the thread as it stops, while it can still read its own CPU time: what --stats
	 * prints and the metrics stream's last line are this one snapshot. */
	struct statistics_snapshot *final;
};

struct io_thread {
	pthread_t thread;
	int epoll_fd;
	int stop_fd;
	int signal_fd;
	struct nic_device *nics;
	unsigned nic_count;
	struct io_thread_reports reports;
	struct poll_window poll;
	struct poll_traffic traffic; /* every NIC's frames, when it last chose whether to poll */
	struct cpu_contention contention; /* of the vCPU thread: whether a poller is one too many */
	struct io_poll_counters polls;
};

/* Blocks SIGUSR1 in the calling thread (call before starting any other thread), so that it
 * reaches the I/O thread's signalfd. */
void io_thread_block_signals(void);

void io_thread_start(struct io_thread *io, struct nic_device *nics, unsigned nic_count,
		     uint64_t poll_ns_max, const struct io_thread_reports *reports);
void io_thread_stop(struct io_thread *io);

#endif
