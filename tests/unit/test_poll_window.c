/*
 * The adaptive poll window both sides of the NIC share (abi/ringvisor_poll.h): it grows while
 * sleeps are short, shrinks when they are long, and never polls when told not to; the
 * judgement of bulk traffic, for which neither side polls; and the I/O thread's judgement of
 * contended CPUs (launcher/nic/cpu_contention.c), for which it does not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <cmocka.h>

#include "nic/cpu_contention.h"
#include "ringvisor_poll.h"

#define US 1000u

static void test_starts_without_polling(void **state)
{
	(void)state;
	struct poll_window poll;
	poll_window_init(&poll, 200 * US);
	assert_int_equal(poll.window_ns, 0);
}

static void test_short_sleeps_grow_it_to_the_limit(void **state)
{
	(void)state;
	struct poll_window poll;
	poll_window_init(&poll, 200 * US);
	uint64_t expected[] = { 10 * US, 20 * US, 40 * US, 80 * US, 160 * US, 200 * US, 200 * US };
	for (unsigned index = 0; index < sizeof expected / sizeof expected[0]; index++) {
		poll_window_after_sleep(&poll, 190 * US);
		assert_int_equal(poll.window_ns, expected[index]);
	}
}

static void test_a_sleep_the_window_would_not_have_covered_still_grows_it(void **state)
{
	(void)state;
	struct poll_window poll = { .window_ns = 40 * US, .max_ns = 200 * US };
	poll_window_after_sleep(&poll, 30 * US); /* polling 40 us would have caught it: keep */
	assert_int_equal(poll.window_ns, 40 * US);
	poll_window_after_sleep(&poll, 100 * US);
	assert_int_equal(poll.window_ns, 80 * US);
}

static void test_long_sleeps_shrink_it_to_nothing(void **state)
{
	(void)state;
	struct poll_window poll = { .window_ns = 200 * US, .max_ns = 200 * US };
	uint64_t expected[] = { 100 * US, 50 * US, 25 * US, 12500, 0, 0 };
	for (unsigned index = 0; index < sizeof expected / sizeof expected[0]; index++) {
		poll_window_after_sleep(&poll, 10000 * US);
		assert_int_equal(poll.window_ns, expected[index]);
	}
}

/* A sleep that ended at its own deadline is no reason to poll longer: it counts as long. */
static void test_a_timed_out_sleep_shrinks_it(void **state)
{
	(void)state;
	struct poll_window poll = { .window_ns = 40 * US, .max_ns = 1000000 * US };
	poll_window_after_sleep(&poll, POLL_SLEEP_TIMED_OUT);
	assert_int_equal(poll.window_ns, 20 * US);
}

static void test_a_limit_of_zero_never_polls(void **state)
{
	(void)state;
	struct poll_window poll;
	poll_window_init(&poll, 0);
	poll_window_after_sleep(&poll, 1);
	poll_window_after_sleep(&poll, 0);
	assert_int_equal(poll.window_ns, 0);
}

static void test_a_limit_below_the_first_step_is_the_window(void **state)
{
	(void)state;
	struct poll_window poll;
	poll_window_init(&poll, 5 * US);
	poll_window_after_sleep(&poll, 4 * US);
	assert_int_equal(poll.window_ns, 5 * US);
}

static void test_small_frames_are_not_bulk_and_segments_are(void **state)
{
	(void)state;
	struct poll_traffic traffic = { 0 };
	assert_false(poll_traffic_is_bulk(&traffic, 100, 100 * 64)); /* request/response */
	uint64_t frames = 100, bytes = 100 * 64;
	for (int turn = 0; turn < 8; turn++) { /* then a stream of 64 KiB segments */
		frames += 10, bytes += 10 * 65536;
		poll_traffic_is_bulk(&traffic, frames, bytes);
	}
	assert_true(poll_traffic_is_bulk(&traffic, frames, bytes));
}

static void test_an_ack_amid_a_stream_does_not_end_it(void **state)
{
	(void)state;
	struct poll_traffic traffic = { 0 };
	uint64_t frames = 0, bytes = 0;
	for (int turn = 0; turn < 8; turn++) {
		frames += 4, bytes += 4 * 65536;
		poll_traffic_is_bulk(&traffic, frames, bytes);
	}
	frames += 1, bytes += 66; /* a turn that only sent an ACK */
	assert_true(poll_traffic_is_bulk(&traffic, frames, bytes));
	assert_true(poll_traffic_is_bulk(&traffic, frames, bytes)); /* and one that moved nothing */
	for (int turn = 0; turn < 16; turn++) { /* small frames for a while: no longer bulk */
		frames += 1, bytes += 64;
		poll_traffic_is_bulk(&traffic, frames, bytes);
	}
	assert_false(poll_traffic_is_bulk(&traffic, frames, bytes));
}

static void test_a_schedstat_line_gives_its_wait(void **state)
{
	(void)state;
	uint64_t wait = 0;
	assert_true(cpu_contention_parse("123456 7890 12\n", &wait));
	assert_int_equal(wait, 7890);
	assert_true(cpu_contention_parse("0 18446744073709551615 1", &wait));
	assert_int_equal(wait, UINT64_MAX);
	assert_false(cpu_contention_parse("", &wait));
	assert_false(cpu_contention_parse("123456", &wait));
	assert_false(cpu_contention_parse("123456 ", &wait));
	assert_false(cpu_contention_parse("123456 x 1", &wait));
	assert_false(cpu_contention_parse("1 2x 3", &wait));
	assert_false(cpu_contention_parse("1 99999999999999999999 3", &wait)); /* overflows */
}

static void test_contended_above_its_share_of_waiting_until_calm_again(void **state)
{
	(void)state;
	const uint64_t look = 10000000; /* 10 ms */
	assert_false(cpu_contention_judge(0, look, false));
	assert_false(cpu_contention_judge(look / 100 * CONTENDED_WAIT_PERCENT, look, false));
	assert_true(cpu_contention_judge(look / 100 * CONTENDED_WAIT_PERCENT + 1, look, false));
	assert_true(cpu_contention_judge(look * 40 / 100, look, false)); /* one core kept busy */
	assert_false(cpu_contention_judge(look * 4 / 100, look, false)); /* a quiet machine */
	/* Contended, it stays so until the wait falls below the calm share. */
	assert_true(cpu_contention_judge(look * 7 / 100, look, true));
	assert_true(cpu_contention_judge(look / 100 * CALM_WAIT_PERCENT + 1, look, true));
	assert_false(cpu_contention_judge(look / 100 * CALM_WAIT_PERCENT, look, true));
	/* No time passed: the judgement stands. */
	assert_true(cpu_contention_judge(5, 0, true));
	assert_false(cpu_contention_judge(5, 0, false));
}

/* This thread's own schedstat, looked at over a made-up 10 s: whatever it waited really (a few
 * microseconds between two reads) is far below 10% of that. Not looked at again before
 * CONTENDED_CHECK_NS have passed. */
static void test_a_real_thread_is_watched(void **state)
{
	(void)state;
	struct cpu_contention contention;
	cpu_contention_open(&contention, (pid_t)syscall(SYS_gettid), 1000);
	assert_true(contention.schedstat_fd >= 0);
	uint64_t first_wait = contention.wait_ns;
	assert_false(cpu_contention_now(&contention, 1000 + CONTENDED_CHECK_NS - 1));
	assert_int_equal(contention.checked_ns, 1000); /* too soon: not looked at */
	assert_false(cpu_contention_now(&contention, 1000 + 10000000000u));
	assert_int_equal(contention.checked_ns, 1000 + 10000000000u);
	assert_true(contention.wait_ns >= first_wait);
	cpu_contention_close(&contention);
}

static void test_a_thread_the_kernel_does_not_know_is_never_contended(void **state)
{
	(void)state;
	struct cpu_contention contention;
	cpu_contention_open(&contention, -1, 0);
	assert_int_equal(contention.schedstat_fd, -1);
	assert_false(cpu_contention_now(&contention, 100000000000u));
	cpu_contention_close(&contention);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_starts_without_polling),
		cmocka_unit_test(test_short_sleeps_grow_it_to_the_limit),
		cmocka_unit_test(test_a_sleep_the_window_would_not_have_covered_still_grows_it),
		cmocka_unit_test(test_long_sleeps_shrink_it_to_nothing),
		cmocka_unit_test(test_a_timed_out_sleep_shrinks_it),
		cmocka_unit_test(test_a_limit_of_zero_never_polls),
		cmocka_unit_test(test_a_limit_below_the_first_step_is_the_window),
		cmocka_unit_test(test_small_frames_are_not_bulk_and_segments_are),
		cmocka_unit_test(test_an_ack_amid_a_stream_does_not_end_it),
		cmocka_unit_test(test_a_schedstat_line_gives_its_wait),
		cmocka_unit_test(test_contended_above_its_share_of_waiting_until_calm_again),
		cmocka_unit_test(test_a_real_thread_is_watched),
		cmocka_unit_test(test_a_thread_the_kernel_does_not_know_is_never_contended),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
