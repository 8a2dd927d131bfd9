/*
 * testguest: one guest with a mode per thing the launcher's tests need a guest to do.
 *
 *	ringvisor run build/tests/guests/testguest.elf -- MODE [ARGUMENT]
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

/* wait MS: the wait hypercall sleeps at least as long as asked (by the guest's own clock),
 * and kernel_sleep_until() gets there by sleeping, not spinning. */
static int run_wait(const char *milliseconds_text)
{
	uint64_t milliseconds = strtoul(milliseconds_text, NULL, 0);
	uint64_t worst_late = 0;
	for (int round = 1; round <= 5; round++) {
		uint64_t duration = milliseconds * 1000000 * round / 5;
		uint64_t start = clock_now_ns();
		int64_t result = hypercall(RINGVISOR_HYPERCALL_WAIT, duration, 0, 0);
		uint64_t elapsed = clock_now_ns() - start;
		check(result == 0, "wait reported an event nobody sent");
		check(elapsed >= duration, "the wait hypercall returned early");
		if (elapsed >= duration && elapsed - duration > worst_late)
			worst_late = elapsed - duration;
	}
	uint64_t waits_before = kernel_wait_hypercall_count();
	for (int round = 1; round <= 5; round++) {
		uint64_t duration = milliseconds * 1000000 * round / 5;
		uint64_t deadline = clock_now_ns() + duration;
		kernel_sleep_until(deadline);
		uint64_t now = clock_now_ns();
		check(now >= deadline, "woke before the deadline");
		if (now - deadline > worst_late)
			worst_late = now - deadline;
	}
	uint64_t waits = kernel_wait_hypercall_count() - waits_before;
	check(waits >= 5 && waits <= 15, "sleeping took too many or too few wait hypercalls");
	printf("wait: 10 waits up to %llu ms, %s, latest wake %llu us after its "
	       "deadline, %llu wait hypercalls for 5 sleeps\n",
	       (unsigned long long)milliseconds, failures ? "SOME EARLY" : "none early",
	       (unsigned long long)(worst_late / 1000), (unsigned long long)waits);
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

/*
 * spin MILLIONS: a fixed amount of work, nearly all of it in one known function, for the
 * profiler's tests (that function must top the profile) and its benchmark (the same work with
 * and without sampling). Prints how long it took.
 */
NOINLINE uint64_t profile_hot_function(uint64_t iterations)
{
	uint64_t value = 1;
	for (uint64_t step = 0; step < iterations; step++)
		value = value * 6364136223846793005ull + 1442695040888963407ull;
	return value;
}

static int run_spin(const char *millions_text)
{
	uint64_t millions = strtoul(millions_text, NULL, 0), start = clock_now_ns(), sink = 0;
	for (uint64_t round = 0; round < millions; round++)
		sink += profile_hot_function(1000000);
	printf("spin: %llu million steps in %llu us (%llx)\n", (unsigned long long)millions,
	       (unsigned long long)((clock_now_ns() - start) / 1000), (unsigned long long)sink);
	return 0;
}

/*
 * wild-frames MILLIONS: the same work under a frame-pointer chain a profiler must not follow:
 * in turn a frame that points at itself (a loop), one far outside guest memory, and one in the
 * launcher's own pages (page tables at 0x1000, not the guest's to read).
 */
NOINLINE uint64_t spin_under_frame(uint64_t frame_pointer, uint64_t iterations)
{
	uint64_t value = 1;
	__asm__ volatile("push %%rbp\n\t"
			 "mov %[frame], %%rbp\n\t"
			 "1: imul %[multiplier], %[value]\n\t"
			 "add $1, %[value]\n\t"
			 "dec %[count]\n\t"
			 "jnz 1b\n\t"
			 "pop %%rbp"
			 : [value] "+r"(value), [count] "+r"(iterations)
			 : [frame] "r"(frame_pointer), [multiplier] "r"(6364136223846793005ull)
			 : "cc", "memory");
	return value;
}

static int run_wild_frames(const char *millions_text)
{
	static uint64_t looping_frame[2];
	looping_frame[0] = (uint64_t)(uintptr_t)looping_frame; /* the saved rbp: itself */
	looping_frame[1] = (uint64_t)(uintptr_t)&profile_hot_function;
	const uint64_t frames[] = { (uint64_t)(uintptr_t)looping_frame, 0x7ffffffff000ull, 0x1000 };
	uint64_t millions = strtoul(millions_text, NULL, 0), sink = 0;
	for (uint64_t round = 0; round < millions; round++)
		sink += spin_under_frame(frames[round % 3], 1000000);
	printf("wild-frames: %llu million steps (%llx)\n", (unsigned long long)millions,
	       (unsigned long long)sink);
	return 0;
}

/* escapes: what a hostile guest would print to take over the operator's terminal. */
static int run_escapes(void)
{
	printf("title:\033]0;pwned\007 clear:\033[2J cr:\roverwritten del:\177 tab:\t end\n");
	return 0;
}

/* setup-flood N: asks N times for a NIC setup the launcher must refuse (features it never
 * offered); prints how many were refused. */
static int run_setup_flood(const char *count_text)
{
	static struct ringvisor_nic_setup setup __attribute__((aligned(16)));
	setup.features = ~0ull;
	unsigned long count = strtoul(count_text, NULL, 0), refused = 0;
	for (unsigned long call = 0; call < count; call++)
		refused += hypercall(RINGVISOR_HYPERCALL_NIC_SETUP, 0, (uintptr_t)&setup, 0) ==
			   RINGVISOR_ERROR_BAD_ARGUMENT;
	printf("setup-flood: %lu of %lu refused\n", refused, count);
	return refused == count ? 0 : 1;
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

/* timer-stress: hundreds of timers armed, cancelled from anywhere in the heap and re-armed;
 * they must fire in deadline order, each once, and cancelled ones never. */
enum { STRESS_TIMERS = 600 };
static struct timer_check stress[STRESS_TIMERS];
static uint64_t last_fired_deadline;
static bool stress_in_order = true;

static void on_stress_timer(struct timer *timer, void *argument)
{
	struct timer_check *entry = argument;
	if (entry->deadline < last_fired_deadline)
		stress_in_order = false;
	last_fired_deadline = entry->deadline;
	entry->order = timers_fired++;
	(void)timer;
}

static int run_timer_stress(void)
{
	uint64_t seed = 12345, start = clock_now_ns();
	int expected = 0;
	for (int index = 0; index < STRESS_TIMERS; index++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		stress[index].deadline = start + 1000000 + (seed >> 33) % 30000000;
		stress[index].order = -1;
		timer_init(&stress[index].timer, on_stress_timer, &stress[index]);
		timer_arm(&stress[index].timer, stress[index].deadline);
	}
	for (int index = 0; index < STRESS_TIMERS; index++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		unsigned choice = (unsigned)(seed >> 40) % 3;
		if (choice == 0) {
			timer_cancel(&stress[index].timer);
		} else {
			if (choice == 1) { /* re-arm to a new deadline */
				stress[index].deadline = start + 1000000 + (seed >> 20) % 30000000;
				timer_arm(&stress[index].timer, stress[index].deadline);
			}
			expected++;
		}
	}
	event_loop_run();
	check(timers_fired == expected, "not every armed timer fired exactly once");
	check(stress_in_order, "timers fired out of deadline order");
	for (int index = 0; index < STRESS_TIMERS; index++)
		check(stress[index].timer.armed == false, "a timer is still armed");
	printf("timer-stress: %d of %d timers fired in deadline order\n", timers_fired,
	       STRESS_TIMERS);
	return failures ? 1 : 0;
}

/* big-output: one line longer than a console write may carry. */
static int run_big_output(void)
{
	enum { LENGTH = 100000 };
	char *line = malloc(LENGTH + 1);
	check(line != NULL, "malloc failed");
	memset(line, 'x', LENGTH);
	line[LENGTH] = '\0';
	printf("%s\n", line);
	free(line);
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
	check(hypercall(RINGVISOR_HYPERCALL_CONSOLE_WRITE, 0x1000, 64, 0) ==
		      RINGVISOR_ERROR_BAD_ADDRESS,
	      "console write from the launcher's page tables accepted");
	check(hypercall(999, 0, 0, 0) == RINGVISOR_ERROR_BAD_CALL, "unknown hypercall accepted");
	check(hypercall(RINGVISOR_HYPERCALL_CONSOLE_WRITE, (uintptr_t) "ok\n", 3, 0) == 3,
	      "console write failed");
	return failures ? 1 : 0;
}

/* Crashes on purpose: each in its own function, so reports can be checked for its name. */
static volatile int sink;

NOINLINE static void crash_null_dereference(void)
{
	int *volatile pointer = NULL; /* the compiler cannot know it is NULL */
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

NOINLINE static void crash_forged_exception(void)
{
	__asm__ volatile("outl %0, %w1" : : "a"(14u), "Nd"(RINGVISOR_PORT_EXCEPTION));
}

NOINLINE __attribute__((aligned(16))) static void crash_read_only_request(void)
{
	uint32_t block = (uint32_t)(uintptr_t)&crash_read_only_request; /* in .text */
	__asm__ volatile("outl %0, %w1" : : "a"(block), "Nd"(RINGVISOR_PORT_HYPERCALL));
}

NOINLINE static void crash_panic(void)
{
	panic("testguest panics on purpose, code %d", 42);
}

NOINLINE static void crash_invalid_opcode(void)
{
	__asm__ volatile("ud2");
}

/* syscall and sysenter: a guest has no ring 0 to enter; either must end in a report. */
NOINLINE static void crash_syscall(void)
{
	__asm__ volatile("syscall" : : : "rcx", "r11", "memory");
}

NOINLINE static void crash_sysenter(void)
{
	__asm__ volatile("sysenter" : : : "rcx", "rdx", "memory");
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
CRASH_MODE(crash_forged_exception)
CRASH_MODE(crash_read_only_request)
CRASH_MODE(crash_invalid_opcode)
CRASH_MODE(crash_syscall)
CRASH_MODE(crash_sysenter)

static const struct mode modes[] = {
	{ "timers", run_timers },
	{ "timer-stress", run_timer_stress },
	{ "big-output", run_big_output },
	{ "escapes", run_escapes },
	{ "forge-exception", run_crash_forged_exception },
	{ "read-only-request", run_crash_read_only_request },
	{ "alloc", run_alloc },
	{ "hypercalls", run_hypercalls },
	{ "null", run_crash_null_dereference },
	{ "write-code", run_crash_write_code },
	{ "execute-data", run_crash_execute_data },
	{ "port", run_crash_forbidden_port },
	{ "bad-request", run_crash_bad_request_block },
	{ "panic", run_crash_panic },
	{ "ud2", run_crash_invalid_opcode },
	{ "syscall", run_crash_syscall },
	{ "sysenter", run_crash_sysenter },
};

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "exit") == 0)
		return run_exit(argv[2]);
	if (argc == 3 && strcmp(argv[1], "wait") == 0)
		return run_wait(argv[2]);
	if (argc == 3 && strcmp(argv[1], "sleep") == 0)
		return run_sleep(argv[2]);
	if (argc == 3 && strcmp(argv[1], "setup-flood") == 0)
		return run_setup_flood(argv[2]);
	if (argc == 3 && strcmp(argv[1], "spin") == 0)
		return run_spin(argv[2]);
	if (argc == 3 && strcmp(argv[1], "wild-frames") == 0)
		return run_wild_frames(argv[2]);
	for (size_t index = 0; argc == 2 && index < sizeof modes / sizeof modes[0]; index++)
		if (strcmp(argv[1], modes[index].name) == 0)
			return modes[index].run();
	printf("usage: testguest exit N | wait MS | sleep MS | spin MILLIONS | "
	       "wild-frames MILLIONS | setup-flood N | escapes | timers | timer-stress | "
	       "big-output "
	       "| alloc | hypercalls | null | write-code | execute-data | port | bad-request | "
	       "forge-exception | read-only-request | panic | ud2 | syscall | sysenter\n");
	return 2;
}
