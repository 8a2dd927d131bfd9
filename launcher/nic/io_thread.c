/* The I/O thread's loop (see io_thread.h). */
#include "nic/io_thread.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "fail.h"
#include "observe/thread_state.h"

/* Stand-ins for the two sources that are not a NIC's: their addresses tell events apart. */
static char stop_source, signal_source;

void io_thread_block_signals(void)
{
	sigset_t signals;
	sigemptyset(&signals);
	sigaddset(&signals, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &signals, NULL);
}

static void watch(struct io_thread *io, int fd, unsigned events, void *source)
{
	struct epoll_event event = { .events = events, .data.ptr = source };
	if (epoll_ctl(io->epoll_fd, EPOLL_CTL_ADD, fd, &event) < 0)
		fail_errno("epoll_ctl");
}

static struct statistics_snapshot snapshot; /* 16 KiB: not on the thread's stack */

static void print_statistics(struct io_thread *io)
{
	statistics_take(io->reports.statistics, &snapshot);
	statistics_print(&snapshot, stderr);
	fflush(stderr);
}

static void stream_metrics(struct io_thread *io)
{
	statistics_take(io->reports.statistics, &snapshot);
	statistics_stream(&snapshot, io->reports.metrics);
}

static uint64_t now_ns(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)now.tv_sec * 1000000000 + (uint64_t)now.tv_nsec;
}

static uint64_t now_ms(void)
{
	return now_ns() / 1000000;
}

/* The I/O thread polls only while the frames it moves are not bulk (ringvisor_poll.h) and the
 * host's CPUs are not contended (cpu_contention.h). */
static bool traffic_is_bulk(struct io_thread *io)
{
	uint64_t frames = 0, bytes = 0;
	for (unsigned index = 0; index < io->nic_count; index++) {
		const struct nic_counters *counters = &io->nics[index].counters;
		frames += counters->receive_frames + counters->transmit_frames;
		bytes += counters->receive_bytes + counters->transmit_bytes;
	}
	bool bulk = poll_traffic_is_bulk(&io->traffic, frames, bytes);
	io->polls.skipped_bulk += bulk;
	return bulk;
}

static bool cpus_contended(struct io_thread *io)
{
	bool contended = cpu_contention_now(&io->contention, now_ns());
	io->polls.skipped_contended += contended;
	return contended;
}

/*
 * Looks for work until some turns up or the window is over: each NIC's transmit ring (the
 * guest rings no doorbell while we look), then every file descriptor without blocking. True
 * if it found some (frames sent, or *count events from epoll), false if the window ran out.
 */
static bool poll_for_work(struct io_thread *io, struct epoll_event *events, int capacity,
			  int *count, uint64_t deadline_ns)
{
	thread_state_set_io(IO_POLLING);
	uint64_t until = now_ns() + io->poll.window_ns;
	if (until > deadline_ns)
		until = deadline_ns; /* the tick or the metrics are due: they are work too */
	do {
		bool sent = false;
		for (unsigned index = 0; index < io->nic_count; index++)
			sent |= nic_device_poll(&io->nics[index]);
		*count = epoll_wait(io->epoll_fd, events, capacity, 0);
		if (sent || *count != 0) {
			io->polls.found_work++;
			return true;
		}
	} while (now_ns() < until);
	io->polls.ran_out++;
	return false;
}

/* No work in the whole window: the guest's doorbells back on, and sleep until an event. */
static int sleep_for_events(struct io_thread *io, struct epoll_event *events, int capacity,
			    int timeout_ms)
{
	for (unsigned index = 0; index < io->nic_count; index++)
		nic_device_stop_polling(&io->nics[index]);
	thread_state_set_io(IO_WAITING);
	uint64_t asleep = now_ns();
	int count = epoll_wait(io->epoll_fd, events, capacity, timeout_ms);
	poll_window_after_sleep(&io->poll, count > 0 ? now_ns() - asleep : POLL_SLEEP_TIMED_OUT);
	return count;
}

/* Once a second, whether or not anything happened: nic_device_tick() (share NICs' safety net). */
#define TICK_MS 1000

static void *run(void *argument)
{
	struct io_thread *io = argument;
	io->reports.statistics->io_tid = (pid_t)syscall(SYS_gettid);
	struct epoll_event events[32];
	uint64_t next_tick = now_ms() + TICK_MS;
	unsigned interval = io->reports.metrics ? io->reports.metrics_interval_ms : 0;
	uint64_t next_metrics = interval ? now_ms() + interval : UINT64_MAX;
	for (;;) {
		uint64_t now = now_ms();
		if (now >= next_tick) {
			for (unsigned index = 0; index < io->nic_count; index++)
				nic_device_tick(&io->nics[index]);
			next_tick = now + TICK_MS;
		}
		if (now >= next_metrics) {
			stream_metrics(io);
			/* On the interval's grid, but never a burst to catch up after a stall. */
			next_metrics += interval;
			if (next_metrics <= now)
				next_metrics = now + interval;
		}
		uint64_t wake = next_tick < next_metrics ? next_tick : next_metrics;
		int count = 0;
		if (!io->poll.window_ns || traffic_is_bulk(io) || cpus_contended(io) ||
		    !poll_for_work(io, events, 32, &count, wake * 1000000)) {
			now = now_ms(); /* polling took time: the timeout is from now */
			count = sleep_for_events(io, events, 32,
						 wake > now ? (int)(wake - now) : 0);
		}
		thread_state_set_io(IO_BUSY);
		if (count < 0 && errno == EINTR)
			continue;
		if (count < 0)
			fail_errno("epoll_wait in the I/O thread");
		for (int index = 0; index < count; index++) {
			void *source = events[index].data.ptr;
			if (source == &stop_source) {
				statistics_take(io->reports.statistics, io->reports.final);
				return NULL;
			}
			if (source == &signal_source) {
				struct signalfd_siginfo information;
				if (read(io->signal_fd, &information, sizeof information) > 0)
					print_statistics(io);
				continue;
			}
			struct nic_event_source *nic_source = source;
			nic_device_handle_event(nic_source->nic, nic_source->event,
						events[index].events & (EPOLLERR | EPOLLHUP));
		}
	}
}

void io_thread_start(struct io_thread *io, struct nic_device *nics, unsigned nic_count,
		     uint64_t poll_ns_max, const struct io_thread_reports *reports)
{
	memset(io, 0, sizeof *io);
	io->nics = nics;
	io->nic_count = nic_count;
	io->reports = *reports;
	poll_window_init(&io->poll, poll_ns_max);
	cpu_contention_open(&io->contention, reports->statistics->vcpu_tid, now_ns());
	io->reports.statistics->io_polls = &io->polls;
	io->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	io->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	sigset_t signals;
	sigemptyset(&signals);
	sigaddset(&signals, SIGUSR1);
	io->signal_fd = signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK);
	if (io->epoll_fd < 0 || io->stop_fd < 0 || io->signal_fd < 0)
		fail_errno("setting up the I/O thread");
	watch(io, io->stop_fd, EPOLLIN, &stop_source);
	watch(io, io->signal_fd, EPOLLIN, &signal_source);
	for (unsigned index = 0; index < nic_count; index++)
		nic_device_watch(&nics[index], io->epoll_fd);
	/* The thread starts with every signal blocked: SIGINT and SIGTERM must reach the vCPU
	 * thread (they interrupt KVM_RUN), and SIGUSR1 arrives through the signalfd. */
	sigset_t all, previous;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &previous);
	int error = pthread_create(&io->thread, NULL, run, io);
	pthread_sigmask(SIG_SETMASK, &previous, NULL);
	if (error) {
		errno = error;
		fail_errno("cannot start the I/O thread");
	}
}

void io_thread_stop(struct io_thread *io)
{
	uint64_t one = 1;
	if (write(io->stop_fd, &one, sizeof one) != sizeof one)
		fail_errno("stopping the I/O thread");
	pthread_join(io->thread, NULL);
	close(io->epoll_fd);
	close(io->stop_fd);
	close(io->signal_fd);
	cpu_contention_close(&io->contention);
}
