/*
 * The event loop (see event_loop.h). Timers sit in a binary min-heap ordered by deadline,
 * so arming, cancelling and finding the next deadline stay cheap with thousands of them
 * (TCP keeps several per connection). Before it sleeps the loop polls for a while, the window
 * adapting as ringvisor_poll.h says, up to the launcher's --poll: a wait hypercall and the
 * wakeup that ends it cost more than a round trip on the wire.
 */
#include <ringvisor/event_loop.h>
#include <ringvisor/kernel.h>
#include <stdlib.h>

#include "kernel_internal.h"
#include "../../abi/ringvisor_poll.h"

static struct timer **heap;
static unsigned heap_count, heap_capacity;
static struct poller *pollers;
static bool stopping;
static uint64_t wait_count, polls_that_found_work, polls_that_ran_out;
static struct poll_window poll_window;

static void heap_place(unsigned index, struct timer *timer)
{
	heap[index] = timer;
	timer->heap_index = index;
}

static void sift_up(unsigned index)
{
	struct timer *timer = heap[index];
	while (index > 0) {
		unsigned parent = (index - 1) / 2;
		if (heap[parent]->deadline_ns <= timer->deadline_ns)
			break;
		heap_place(index, heap[parent]);
		index = parent;
	}
	heap_place(index, timer);
}

static void sift_down(unsigned index)
{
	struct timer *timer = heap[index];
	for (;;) {
		unsigned child = 2 * index + 1;
		if (child >= heap_count)
			break;
		if (child + 1 < heap_count &&
		    heap[child + 1]->deadline_ns < heap[child]->deadline_ns)
			child++;
		if (timer->deadline_ns <= heap[child]->deadline_ns)
			break;
		heap_place(index, heap[child]);
		index = child;
	}
	heap_place(index, timer);
}

void timer_init(struct timer *timer, timer_callback *callback, void *argument)
{
	timer->deadline_ns = 0;
	timer->callback = callback;
	timer->argument = argument;
	timer->heap_index = 0;
	timer->armed = false;
}

void timer_cancel(struct timer *timer)
{
	if (!timer->armed)
		return;
	unsigned index = timer->heap_index;
	kernel_assert(index < heap_count && heap[index] == timer);
	timer->armed = false;
	heap_count--;
	if (index == heap_count)
		return;
	struct timer *moved = heap[heap_count]; /* the last timer fills the hole */
	heap_place(index, moved);
	sift_up(index);
	sift_down(moved->heap_index);
}

void timer_arm(struct timer *timer, uint64_t deadline_ns)
{
	timer_cancel(timer);
	if (heap_count == heap_capacity) {
		unsigned capacity = heap_capacity ? heap_capacity * 2 : 64;
		struct timer **grown = realloc(heap, capacity * sizeof *grown);
		if (!grown)
			panic("out of memory for %u timers", capacity);
		heap = grown;
		heap_capacity = capacity;
	}
	timer->deadline_ns = deadline_ns;
	timer->armed = true;
	heap_place(heap_count, timer);
	sift_up(heap_count++);
}

void event_loop_add_poller(struct poller *poller)
{
	poller->next = pollers;
	pollers = poller;
}

void event_loop_remove_poller(struct poller *poller)
{
	for (struct poller **link = &pollers; *link; link = &(*link)->next) {
		if (*link == poller) {
			*link = poller->next;
			return;
		}
	}
}

void event_loop_stop(void)
{
	stopping = true;
}

uint64_t event_loop_wait_count(void)
{
	return wait_count;
}

uint64_t event_loop_polls_that_found_work(void)
{
	return polls_that_found_work;
}

uint64_t event_loop_polls_that_ran_out(void)
{
	return polls_that_ran_out;
}

static bool run_expired_timers(uint64_t now)
{
	bool ran = false;
	while (heap_count > 0 && heap[0]->deadline_ns <= now) {
		struct timer *timer = heap[0];
		timer_cancel(timer);
		timer->callback(timer, timer->argument); /* may re-arm itself or others */
		ran = true;
	}
	return ran;
}

bool event_loop_run_once(void)
{
	bool worked = run_expired_timers(clock_now_ns());
	for (struct poller *poller = pollers, *next; poller; poller = next) {
		next = poller->next; /* a poller may remove itself */
		worked |= poller->poll(poller->argument);
	}
	return worked;
}

/* Asks every poller that can wake us to do so; true if one found work, so we must not sleep. */
bool event_loop_prepare_to_sleep(void)
{
	for (struct poller *poller = pollers; poller; poller = poller->next)
		if (poller->prepare_to_sleep && poller->prepare_to_sleep(poller->argument))
			return true;
	return false;
}

static bool worth_polling(void)
{
	for (struct poller *poller = pollers; poller; poller = poller->next)
		if (poller->worth_polling && !poller->worth_polling(poller->argument))
			return false;
	return true;
}

/* Turns of the loop until one does something, a timer is due, or the window is over; true
 * unless the window ran out, when the loop should sleep. */
static bool poll_for_work(void)
{
	uint64_t now = clock_now_ns(), until = now + poll_window.window_ns;
	if (heap_count && heap[0]->deadline_ns < until)
		until = heap[0]->deadline_ns; /* no need to poll past a timer: it is work */
	while (now < until) {
		__builtin_ia32_pause(); /* a spinning hyperthread leaves its sibling the core */
		if (event_loop_run_once()) {
			polls_that_found_work++;
			return true;
		}
		if (stopping)
			return true; /* a poller said so, though it found nothing to do */
		now = clock_now_ns();
	}
	if (heap_count && heap[0]->deadline_ns <= now)
		return true;
	polls_that_ran_out++;
	return false;
}

void event_loop_run(void)
{
	stopping = false;
	poll_window_init(&poll_window, kernel_boot_info()->poll_ns_max);
	while (!stopping) {
		if (event_loop_run_once() || stopping)
			continue;
		if (heap_count == 0 && !pollers)
			break; /* nothing could ever happen again */
		if (poll_window.window_ns && worth_polling() && poll_for_work())
			continue;
		if (event_loop_prepare_to_sleep())
			continue;
		uint64_t deadline = heap_count ? heap[0]->deadline_ns : UINT64_MAX;
		wait_count++;
		uint64_t asleep = clock_now_ns();
		bool woken = kernel_wait_until(deadline);
		poll_window_after_sleep(&poll_window,
					woken ? clock_now_ns() - asleep : POLL_SLEEP_TIMED_OUT);
	}
}
