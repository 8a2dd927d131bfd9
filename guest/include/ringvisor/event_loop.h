/*
 * The guest's event loop: timers and pollers, and a wait hypercall when there is nothing
 * to do. There are no interrupts in a Ringvisor guest: a device's news arrives as state in
 * shared memory that a poller checks, and the launcher wakes a waiting guest when it writes
 * such news. So the loop is: run expired timers, run every poller, and if none of that did
 * anything, poll a little longer (a window that adapts to how far apart events come, up to the
 * launcher's --poll), then sleep until the next timer's deadline or the next wakeup.
 *
 *	static void tick(struct timer *timer, void *argument)
 *	{
 *		printf("tick\n");
 *		timer_arm(timer, clock_now_ns() + 1000000000);  // again in a second
 *	}
 *	...
 *	struct timer timer;
 *	timer_init(&timer, tick, NULL);
 *	timer_arm(&timer, clock_now_ns() + 1000000000);
 *	event_loop_run();  // returns after event_loop_stop(), or when nothing is left to wait for
 */
#ifndef GUEST_EVENT_LOOP_H
#define GUEST_EVENT_LOOP_H

#include <stdbool.h>
#include <stdint.h>

struct timer;
typedef void timer_callback(struct timer *timer, void *argument);

struct timer {
	uint64_t deadline_ns;
	timer_callback *callback;
	void *argument;
	unsigned heap_index; /* where it sits in the loop's heap, while armed */
	bool armed;
};

/*
 * Work that the loop checks each turn: poll() returns true if it found something to do.
 *
 * worth_polling (optional) lets a poller veto the loop's polling before a sleep.
 *
 * prepare_to_sleep (optional, may be NULL) is for pollers of devices that wake a sleeping guest:
 * the loop calls it when a whole turn found nothing to do, just before the wait hypercall. It
 * asks the device for a wakeup (a virtqueue clears NO_INTERRUPT), then looks once more, and
 * returns true if work appeared meanwhile, in which case the loop does not sleep. Whatever it
 * enabled stays enabled until the poller's next poll() turns it off again.
 */
struct poller {
	bool (*poll)(void *argument);
	void *argument;
	struct poller *next;
	bool (*prepare_to_sleep)(void *argument);
	/* Optional: false if polling before a sleep would not pay for this poller's work now
	 * (a NIC taking in bulk traffic); the loop then sleeps at once. */
	bool (*worth_polling)(void *argument);
};

void timer_init(struct timer *timer, timer_callback *callback, void *argument);
/* Arms (or re-arms) the timer to fire once, at or after `deadline_ns` (clock_now_ns time). */
void timer_arm(struct timer *timer, uint64_t deadline_ns);
void timer_cancel(struct timer *timer);

void event_loop_add_poller(struct poller *poller);
void event_loop_remove_poller(struct poller *poller);

/* Runs until event_loop_stop() or until no timer is armed and no poller is registered. */
void event_loop_run(void);
void event_loop_stop(void);

/* One turn of the loop without sleeping; true if anything ran. For apps with their own loop. */
bool event_loop_run_once(void);
/* For apps with their own loop, before they wait: runs every poller's prepare_to_sleep; true
 * if one found work, and then the app must not wait (go round again instead). */
bool event_loop_prepare_to_sleep(void);

/* How many times the loop has slept in the wait hypercall: an idle guest sleeps, never spins. */
uint64_t event_loop_wait_count(void);
/* How many times polling before a sleep found work, so the guest did not sleep. */
uint64_t event_loop_polls_that_found_work(void);
/* How many polls found nothing in their window, so the guest slept after all. */
uint64_t event_loop_polls_that_ran_out(void);

#endif
