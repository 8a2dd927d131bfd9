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
 * This header is not part of the contract between the two sides (ringvisor_abi.h is: it
 * carries `poll_ns_max`); it lives here because it is the one piece of code both sides run.
 */
#ifndef RINGVISOR_POLL_H
#define RINGVISOR_POLL_H

#include <stdint.h>

#define POLL_WINDOW_START_NS 10000u

struct poll_window {
	uint64_t window_ns; /* how long to poll next time */
	uint64_t max_ns;    /* the longest it may grow to; 0: never poll */
};

static inline void poll_window_init(struct poll_window *poll, uint64_t max_ns)
{
	poll->window_ns = 0;
	poll->max_ns = max_ns;
}

/* After a poll of the current window found nothing and a sleep of `slept_ns` followed. */
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

#endif
