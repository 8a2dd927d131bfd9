/*
 * How long to poll before sleeping: one adaptive window, used by both sides of the NIC.
 *
 * Sleeping is what makes a round trip slow here. A guest that waits leaves KVM_RUN (an exit
 * and a re-entry, tens of microseconds on a nested host), and a launcher thread asleep on
 * another CPU is woken by an inter-processor interrupt (about 30 us on these machines, against
 * 1 us on the same CPU). So both sides first poll for a while: the guest its rings in its event
 * loop, the I/O thread its transmit rings and (epoll_wait with no timeout) its backends.
 *
 * The window follows KVM's halt polling (virt/kvm/kvm_main.c): it starts at zero; a sleep
 * that ended sooner than the longest window (`max_ns`) says polling that long would have
 * caught the event, so the window doubles (from POLL_WINDOW_START_NS) up to the longest; a
 * sleep longer than that says events are too far apart to poll for, so it halves (to zero).
 * An idle guest therefore polls not at all, a busy one rides from event to event without
 * sleeping. `max_ns` 0 turns polling off.
 *
 * Polling pays for traffic that waits on round trips (small frames, one or a few at a time),
 * where a wakeup is most of what a frame costs. Bulk traffic (64 KiB segments) keeps a thread
 * busy anyway, and there a poller only takes a CPU from the threads doing the work: measured on
 * 2 CPUs, the I/O thread polling through a bulk stream cost 12% of the guest's receive rate
 * (the host sender copied 1.65x slower per byte), guests polling cost a stream between two
 * of them over share about 10%. So neither side polls while the frames it moved since it last
 * chose averaged POLL_BULK_FRAME_BYTES or more (poll_traffic_is_bulk).
 *
 * This header is not part of the contract between the two sides (ringvisor_abi.h is: it
 * carries `poll_ns_max`); it lives here because it is the one piece of code both sides run.
 */
#ifndef RINGVISOR_POLL_H
#define RINGVISOR_POLL_H

#include <stdbool.h>
#include <stdint.h>

#define POLL_WINDOW_START_NS 10000u
#define POLL_BULK_FRAME_BYTES 8192u

struct poll_window {
	uint64_t window_ns; /* how long to poll next time */
	uint64_t max_ns;    /* the longest it may grow to; 0: never poll */
};

static inline void poll_window_init(struct poll_window *poll, uint64_t max_ns)
{
	poll->window_ns = 0;
	poll->max_ns = max_ns;
}

/* A sleep that ended at its own deadline (a timer, a tick), not at an event: polling would not
 * have caught anything sooner, so it counts as a long one. */
#define POLL_SLEEP_TIMED_OUT UINT64_MAX

/* After a poll of the current window found nothing and a sleep of `slept_ns` followed (or
 * POLL_SLEEP_TIMED_OUT). */
static inline void poll_window_after_sleep(struct poll_window *poll, uint64_t slept_ns)
{
	if (poll->max_ns == 0)
		return;
	if (slept_ns > poll->max_ns) {
		poll->window_ns /= 2;
		if (poll->window_ns < POLL_WINDOW_START_NS)
			poll->window_ns = 0;
	} else if (slept_ns > poll->window_ns) {
		uint64_t grown = poll->window_ns ? poll->window_ns * 2 : POLL_WINDOW_START_NS;
		poll->window_ns = grown < poll->max_ns ? grown : poll->max_ns;
	}
}

/* Frames and bytes seen when the traffic was last judged, and the frames' average size. */
struct poll_traffic {
	uint64_t frames, bytes;
	uint64_t average_bytes; /* a moving average over judgements, each weighing 1/4 */
};

/* Whether the frames lately (counters now at `frames`, `bytes`) are bulk. An average over a few
 * judgements, so that a turn that sent only an ACK in the middle of a stream of 64 KiB segments
 * does not count as small traffic; a turn that moved no frame changes nothing. */
static inline bool poll_traffic_is_bulk(struct poll_traffic *seen, uint64_t frames, uint64_t bytes)
{
	uint64_t new_frames = frames - seen->frames, new_bytes = bytes - seen->bytes;
	if (new_frames > 0) {
		uint64_t average = new_bytes / new_frames;
		seen->average_bytes = (3 * seen->average_bytes + average) / 4;
	}
	seen->frames = frames;
	seen->bytes = bytes;
	return seen->average_bytes >= POLL_BULK_FRAME_BYTES;
}

#endif
