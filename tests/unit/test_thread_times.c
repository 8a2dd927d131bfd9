/*
 * Unit tests of reading a thread's CPU time from /proc (launcher/observe/thread_times.c): a
 * command name with spaces and parentheses does not shift the fields, a short or garbled line is
 * refused, and this very thread's times can be read and grow when it works.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>

#include "observe/thread_times.h"

static void test_fields_counted_from_the_last_parenthesis(void **state)
{
	(void)state;
	/* utime 250, stime 50, guest_time 200 ticks, in a command name that tries to mislead. */
	const char *line = "4242 (ring) 1 2 (x) S 1 2 3 0 -1 4194304 10 0 0 0 250 50 0 0 20 0 3 0 "
			   "100 1000 10 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 "
			   "200 0 0 0 0 0 0 0 0 0\n";
	struct thread_times times;
	assert_true(thread_times_parse(line, 100, &times));
	assert_int_equal(times.user_ns, 2500000000ull);
	assert_int_equal(times.system_ns, 500000000ull);
	assert_int_equal(times.guest_ns, 2000000000ull);
}

static void test_short_and_garbled_lines_are_refused(void **state)
{
	(void)state;
	struct thread_times times;
	assert_false(thread_times_parse("4242 (ring) S 1 2 3", 100, &times));
	assert_false(thread_times_parse("no parenthesis at all 1 2 3", 100, &times));
	assert_false(thread_times_parse("", 100, &times));
	assert_false(thread_times_parse("1 (a) S 1 2 3 4 5 6 7 8 9 10 11 12 13", 0, &times));
}

static void test_this_thread_is_readable_and_its_time_grows(void **state)
{
	(void)state;
	pid_t tid = (pid_t)syscall(SYS_gettid);
	struct thread_times before, after;
	assert_true(thread_times_read(tid, &before));
	volatile uint64_t sink = 0;
	struct thread_times now;
	/* Work until the kernel has counted at least one tick more (bounded: 2^34 steps). */
	for (uint64_t step = 0; step < (1ull << 34); step++) {
		sink += step;
		if ((step & 0xfffff) == 0 && thread_times_read(tid, &now) &&
		    now.user_ns + now.system_ns > before.user_ns + before.system_ns)
			break;
	}
	assert_true(thread_times_read(tid, &after));
	assert_true(after.user_ns + after.system_ns > before.user_ns + before.system_ns);
	assert_false(thread_times_read(999999999, &after));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fields_counted_from_the_last_parenthesis),
		cmocka_unit_test(test_short_and_garbled_lines_are_refused),
		cmocka_unit_test(test_this_thread_is_readable_and_its_time_grows),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
