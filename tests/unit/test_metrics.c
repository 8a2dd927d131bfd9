/*
 * Unit tests of the metrics stream's pieces (launcher/observe/json_writer.c, metrics_stream.c):
 * JSON comes out well-formed with names escaped, lines reach a file whole, a FIFO whose reader is
 * slow keeps lines pending instead of blocking, one that leaves stops the stream once, and
 * /dev/full (a full disk) stops it too.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "observe/json_writer.h"
#include "observe/metrics_stream.h"

static void test_json_objects_numbers_and_escapes(void **state)
{
	(void)state;
	struct json_writer json;
	json_init(&json);
	json_begin(&json);
	json_number(&json, "time_ns", 18446744073709551615ull);
	json_object(&json, "nic \"rv0\"\\");
	json_number(&json, "receive_frames", 7);
	json_signed(&json, "delta", -3);
	json_end(&json);
	json_string(&json, "note", "a\nb\x01");
	json_object(&json, "empty");
	json_end(&json);
	json_end(&json);
	assert_false(json.failed);
	assert_string_equal(json.text,
			    "{\"time_ns\":18446744073709551615,\"nic \\\"rv0\\\"\\\\\":"
			    "{\"receive_frames\":7,\"delta\":-3},\"note\":\"a\\u000ab\\u0001\","
			    "\"empty\":{}}");
	/* Too many ends, or too deep, is the caller's bug: marked, not written past. */
	json_end(&json);
	assert_true(json.failed);
	json_begin(&json);
	for (int level = 0; level < JSON_DEPTH_MAX + 1; level++)
		json_object(&json, "x");
	assert_true(json.failed);
	/* A big document grows the buffer. */
	json_begin(&json);
	char name[16];
	for (int index = 0; index < 5000; index++) {
		snprintf(name, sizeof name, "n%d", index);
		json_number(&json, name, (uint64_t)index);
	}
	json_end(&json);
	assert_false(json.failed);
	assert_true(json.length > 5000 * 6);
	assert_int_equal(json.text[json.length - 1], '}');
	json_release(&json);
}

static void test_lines_reach_a_file_and_full_disks_stop_the_stream(void **state)
{
	(void)state;
	char path[] = "/tmp/rv-metrics-test.XXXXXX", error[256];
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	struct metrics_stream stream;
	assert_true(metrics_stream_open(&stream, path, error, sizeof error));
	metrics_stream_write_line(&stream, "{\"a\":1}", 7);
	metrics_stream_write_line(&stream, "{\"a\":2}", 7);
	metrics_stream_close(&stream, 100);
	char text[64] = { 0 };
	fd = open(path, O_RDONLY);
	assert_int_equal(read(fd, text, sizeof text - 1), 16);
	close(fd);
	unlink(path);
	assert_string_equal(text, "{\"a\":1}\n{\"a\":2}\n");

	assert_true(metrics_stream_open(&stream, "/dev/full", error, sizeof error));
	metrics_stream_write_line(&stream, "{}", 2); /* ENOSPC: one message, then nothing */
	assert_int_equal(stream.fd, -1);
	metrics_stream_write_line(&stream, "{}", 2);
	metrics_stream_close(&stream, 100);
	assert_false(metrics_stream_open(&stream, "/nonexistent/dir/m.jsonl", error, sizeof error));
	assert_non_null(strstr(error, "cannot open metrics file /nonexistent/dir/m.jsonl"));
}

static void test_fifo_readers_slow_or_gone(void **state)
{
	(void)state;
	char directory[] = "/tmp/rv-metrics-fifo.XXXXXX", path[64], error[256];
	assert_non_null(mkdtemp(directory));
	snprintf(path, sizeof path, "%s/fifo", directory);
	assert_int_equal(mkfifo(path, 0600), 0);
	struct metrics_stream stream;
	assert_false(metrics_stream_open(&stream, path, error, sizeof error));
	assert_non_null(strstr(error, "a FIFO with no reader"));

	int reader = open(path, O_RDONLY | O_NONBLOCK);
	assert_true(reader >= 0);
	assert_true(metrics_stream_open(&stream, path, error, sizeof error));
	/* The reader reads nothing: after a pipe's worth, lines wait here instead of blocking. */
	static char line[4000];
	memset(line, 'x', sizeof line);
	for (int index = 0; index < 40; index++)
		metrics_stream_write_line(&stream, line, sizeof line);
	assert_true(stream.fd >= 0);
	assert_true(stream.pending.length > 0);
	/* It reads one line's worth: what it gets starts with a whole line. */
	char got[sizeof line + 1];
	assert_int_equal(read(reader, got, sizeof got), (ssize_t)sizeof got);
	assert_int_equal(got[sizeof line], '\n');
	close(reader); /* gone: the next write stops the stream once */
	metrics_stream_write_line(&stream, "{}", 2);
	assert_int_equal(stream.fd, -1);
	metrics_stream_close(&stream, 100);
	unlink(path);
	rmdir(directory);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN); /* as the launcher does */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_objects_numbers_and_escapes),
		cmocka_unit_test(test_lines_reach_a_file_and_full_disks_stop_the_stream),
		cmocka_unit_test(test_fifo_readers_slow_or_gone),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
