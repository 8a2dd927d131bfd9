/*
 * testguest: one guest with a mode per thing the launcher's tests need a guest to do.
 *
 *	ringvisor run build/guests/testguest.elf -- MODE [ARGUMENT]
 *
 * Modes that check something themselves print what they measured and exit 0 on success and
 * 1 on failure; modes that crash on purpose leave the checking to the test reading the
 * launcher's report.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ringvisor/event_loop.h>
#include <ringvisor/hypercall.h>
#include <ringvisor/kernel.h>

/* noipa: the compiler must neither inline these nor reason about what they do. */
#define NOINLINE __attribute__((noipa))

static int failures;

static void check(bool condition, const char *what)
{
	if (!condition) {
		printf("FAILED: %s\n", what);
		failures++;
	}
}

/* exit N: the launcher's status must be N. */
static int run_exit(const char *code)
{
	return (int)strtol(code, NULL, 0);
}

/* wait MS: wait() must never return before its deadline. */
static int run_wait(const char *milliseconds_text)
{
	uint64_t milliseconds = strtoul(milliseconds_text, NULL, 0);
	uint64_t worst_late = 0;
	for (int round = 1; round <= 5; round++) {
		uint64_t duration = milliseconds * 1000000 * round / 5;
		uint64_t deadline = clock_now_ns() + duration;
		kernel_sleep_until(deadline);
		uint64_t now = clock_now_ns();
		check(now >= deadline, "woke before the deadline");
		if (now - deadline > worst_late)
			worst_late = now - deadline;
	}
	printf("wait: 5 waits up to %llu ms, none early, latest wake %llu us after its "
	       "deadline\n",
	       (unsigned long long)milliseconds, (unsigned long long)(worst_late / 1000));
	return failures ? 1 : 0;
}

/* sleep MS: says so, then sleeps; for tests that stop the launcher from outside. */
static int run_sleep(const char *milliseconds_text)
{
	uint64_t milliseconds = strtoul(milliseconds_text, NULL, 0);
	printf("sleeping for %llu ms\n", (unsigned long long)milliseconds);
	kernel_sleep_until(clock_now_ns() + milliseconds * 1000000);
	return 0;
}

/* timers: event-loop timers fire in deadline order, never early, and the loop sleeps. */
struct timer_check {
	struct timer timer;
	uint64_t deadline;
	int order;
};
static int timers_fired;

static void on_timer(struct timer *timer, void *argument)
{
	struct timer_check *entry = argument;
	check(clock_now_ns() >= entry->deadline, "timer fired early");
	entry->order = timers_fired++;
	(void)timer;
}

static int run_timers(void)
{
	enum { COUNT = 8 };
	static const int offsets_ms[COUNT] = { 40, 5, 25, 10, 35, 15, 30, 20 };
	struct timer_check entries[COUNT], cancelled;
	uint64_t start = clock_now_ns();
	for (int index = 0; index < COUNT; index++) {
		entries[index].deadline = start + offsets_ms[index] * 1000000ull;
		timer_init(&entries[index].timer, on_timer, &entries[index]);
		timer_arm(&entries[index].timer, entries[index].deadline);
	}
	cancelled.deadline = start + 12 * 1000000ull;
	cancelled.order = -1;
	timer_init(&cancelled.timer, on_timer, &cancelled);
	timer_arm(&cancelled.timer, cancelled.deadline);
	timer_cancel(&cancelled.timer);

	event_loop_run(); /* returns when no timer is left */
	check(timers_fired == COUNT, "not every timer fired");
	check(cancelled.order == -1, "a cancelled timer fired");
	for (int index = 0; index < COUNT; index++)
		check(entries[index].order == offsets_ms[index] / 5 - 1, "timers out of order");
	check(event_loop_wait_count() > 0, "the loop never slept");
	printf("timers: %d fired in order over %llu ms, loop slept %llu times\n", timers_fired,
	       (unsigned long long)((clock_now_ns() - start) / 1000000),
	       (unsigned long long)event_loop_wait_count());
	return failures ? 1 : 0;
}

/* alloc: a burst of allocations, all freed, leaves the heap where it started. */
static int run_alloc(void)
{
	struct heap_statistics before, during, after;
	memory_get_statistics(&before);
	enum { COUNT = 1000 };
	static void *blocks[COUNT];
	for (int index = 0; index < COUNT; index++) {
		size_t size = (size_t)(index * 7919) % 70000 + 1;
		blocks[index] = malloc(size);
		check(blocks[index] != NULL, "malloc failed");
		if (blocks[index])
			memset(blocks[index], index & 0xff, size);
	}
	memory_get_statistics(&during);
	for (int index = 0; index < COUNT; index += 2)
		free(blocks[index]);
	for (int index = 1; index < COUNT; index += 2)
		blocks[index] = realloc(blocks[index], 100);
	for (int index = 1; index < COUNT; index += 2)
		free(blocks[index]);
	memory_get_statistics(&after);
	check(memory_check(), "heap check failed");
	check(after.used_bytes == before.used_bytes, "memory leaked");
	check(during.live_allocations == before.live_allocations + COUNT, "bad live count");
	printf("alloc: heap of %llu KiB, peak %llu KiB in use, back to %llu bytes after freeing\n",
	       (unsigned long long)(after.total_bytes >> 10),
	       (unsigned long long)(during.used_bytes >> 10), (unsigned long long)after.used_bytes);
	return failures ? 1 : 0;
}

/* hypercalls: bad buffers and unknown calls get error results, not crashes. */
static int run_hypercalls(void)
{
	check(hypercall(RINGVISOR_HYPERCALL_CONSOLE_WRITE, 0xffffffff000ull, 10, 0) ==
		      RINGVISOR_ERROR_BAD_ADDRESS,
	      "console write outside RAM accepted");
	check(hypercall(RINGVISOR_HYPERCALL_CONSOLE_WRITE, 0x100000, 1ull << 40, 0) ==
		      RINGVISOR_ERROR_BAD_ARGUMENT,
	      "huge console write accepted");
	check(hypercall(RINGVISOR_HYPERCALL_CONSOLE_WRITE, UINT64_MAX - 2, 8, 0) ==
		      RINGVISOR_ERROR_BAD_ADDRESS,
	      "wrapping console write accepted");
	check(hypercall(999, 0, 0, 0) == RINGVISOR_ERROR_BAD_CALL, "unknown hypercall accepted");
	check(hypercall(RINGVISOR_HYPERCALL_CONSOLE_WRITE, (uintptr_t) "ok\n", 3, 0) == 3,
	      "console write failed");
	return failures ? 1 : 0;
}

/* Crashes on purpose: each in its own function, so reports can be checked for its name. */
static volatile int sink;

NOINLINE static void crash_null_dereference(void)
{
	volatile int *pointer = NULL;
	sink = *pointer;
}

NOINLINE static void crash_write_code(void)
{
	volatile uint8_t *code = (volatile uint8_t *)(uintptr_t)&crash_write_code;
	*code = 0xc3;
}

NOINLINE static void crash_execute_data(void)
{
	static uint8_t data[16] = { 0xc3 };
	((void (*)(void))(uintptr_t)data)();
}

NOINLINE static void crash_forbidden_port(void)
{
	__asm__ volatile("outb %%al, $0x80" : : "a"(0));
}

NOINLINE static void crash_bad_request_block(void)
{
	__asm__ volatile("outl %0, %w1" : : "a"(0x1001u), "Nd"(RINGVISOR_PORT_HYPERCALL));
}

NOINLINE static void crash_panic(void)
{
	panic("testguest panics on purpose, code %d", 42);
}

NOINLINE static void crash_invalid_opcode(void)
{
	__asm__ volatile("ud2");
}

struct mode {
	const char *name;
	int (*run)(void);
};

#define CRASH_MODE(function)                                                                       \
	static int run_##function(void)                                                            \
	{                                                                                          \
		function();                                                                        \
		return 1; /* still alive: the crash did not happen */                              \
	}
CRASH_MODE(crash_null_dereference)
CRASH_MODE(crash_write_code)
CRASH_MODE(crash_execute_data)
CRASH_MODE(crash_forbidden_port)
CRASH_MODE(crash_bad_request_block)
CRASH_MODE(crash_panic)
CRASH_MODE(crash_invalid_opcode)

static const struct mode modes[] = {
	{ "timers", run_timers },
	{ "alloc", run_alloc },
	{ "hypercalls", run_hypercalls },
	{ "null", run_crash_null_dereference },
	{ "write-code", run_crash_write_code },
	{ "execute-data", run_crash_execute_data },
	{ "port", run_crash_forbidden_port },
	{ "bad-request", run_crash_bad_request_block },
	{ "panic", run_crash_panic },
	{ "ud2", run_crash_invalid_opcode },
};

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "exit") == 0)
		return run_exit(argv[2]);
	if (argc == 3 && strcmp(argv[1], "wait") == 0)
		return run_wait(argv[2]);
	if (argc == 3 && strcmp(argv[1], "sleep") == 0)
		return run_sleep(argv[2]);
	for (size_t index = 0; argc == 2 && index < sizeof modes / sizeof modes[0]; index++)
		if (strcmp(argv[1], modes[index].name) == 0)
			return modes[index].run();
	printf("usage: testguest exit N | wait MS | sleep MS | timers | alloc | hypercalls | null "
	       "| "
	       "write-code | execute-data | port | bad-request | panic | ud2\n");
	return 2;
}
