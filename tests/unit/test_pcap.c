/*
 * Unit tests of the NIC capture writer (launcher/observe/pcap.c): the file is the pcap format a
 * reader expects (nanosecond magic, Ethernet, one record per frame with the virtio-net header
 * stripped, a frame split across iovecs joined), and the failures are the documented ones: a
 * FIFO with no reader is refused at open, a reader that leaves stops the capture once.
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

#include "observe/pcap.h"

static char directory[64];

static int make_directory(void **state)
{
	(void)state;
	snprintf(directory, sizeof directory, "/tmp/rv-pcap-test.XXXXXX");
	return mkdtemp(directory) ? 0 : -1;
}

static int remove_directory(void **state)
{
	(void)state;
	char command[128];
	snprintf(command, sizeof command, "rm -rf '%s'", directory);
	return system(command) == 0 ? 0 : -1;
}

static uint32_t word(const uint8_t *bytes)
{
	uint32_t value;
	memcpy(&value, bytes, sizeof value);
	return value;
}

static void test_records_strip_the_header_and_join_iovecs(void **state)
{
	(void)state;
	char path[128], error[256];
	snprintf(path, sizeof path, "%s/capture.pcap", directory);
	struct pcap_capture capture;
	assert_true(pcap_open(&capture, path, error, sizeof error));

	uint8_t header[RINGVISOR_NET_HEADER_BYTES] = { 1, 1, 54, 0 }, frame[100];
	for (unsigned index = 0; index < sizeof frame; index++)
		frame[index] = (uint8_t)index;
	/* The header and the frame's first 20 bytes in one piece, the rest in two more. */
	uint8_t first[RINGVISOR_NET_HEADER_BYTES + 20];
	memcpy(first, header, sizeof header);
	memcpy(first + sizeof header, frame, 20);
	struct iovec pieces[3] = { { first, sizeof first },
				   { frame + 20, 30 },
				   { frame + 50, 50 } };
	pcap_write_frame(&capture, pieces, 3, sizeof header + sizeof frame);
	struct iovec whole[2] = { { header, sizeof header }, { frame, 64 } };
	pcap_write_frame(&capture, whole, 2, sizeof header + 64);
	pcap_write_frame(&capture, whole, 1, 4); /* shorter than a header: not a frame */
	assert_int_equal(capture.frames, 2);
	assert_int_equal(capture.bytes, 164);
	pcap_close(&capture);

	uint8_t file[512];
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	ssize_t length = read(fd, file, sizeof file);
	close(fd);
	assert_int_equal(length, 24 + 16 + 100 + 16 + 64);
	assert_int_equal(word(file), 0xa1b23c4du);
	assert_int_equal(word(file + 16), PCAP_SNAP_LENGTH);
	assert_int_equal(word(file + 20), 1); /* LINKTYPE_ETHERNET */
	assert_int_equal(word(file + 24 + 8), 100);
	assert_int_equal(word(file + 24 + 12), 100);
	assert_true(word(file + 24 + 4) < 1000000000u);
	assert_memory_equal(file + 24 + 16, frame, 100);
	assert_int_equal(word(file + 140 + 8), 64);
	assert_memory_equal(file + 140 + 16, frame, 64);
}

static void test_unwritable_files_are_refused_with_a_reason(void **state)
{
	(void)state;
	char path[128], error[256];
	struct pcap_capture capture;
	snprintf(path, sizeof path, "%s/no/such/dir/capture.pcap", directory);
	assert_false(pcap_open(&capture, path, error, sizeof error));
	assert_non_null(strstr(error, "No such file or directory"));
	assert_false(pcap_open(&capture, "/dev/full", error, sizeof error));
	assert_non_null(strstr(error, "cannot write capture file /dev/full"));
	snprintf(path, sizeof path, "%s/fifo", directory);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_false(pcap_open(&capture, path, error, sizeof error));
	assert_non_null(strstr(error, "a FIFO with no reader"));
	assert_int_equal(capture.fd, -1);
}

static void test_a_reader_that_leaves_stops_the_capture_once(void **state)
{
	(void)state;
	char path[128], error[256];
	snprintf(path, sizeof path, "%s/fifo-reader", directory);
	assert_int_equal(mkfifo(path, 0600), 0);
	int reader = open(path, O_RDONLY | O_NONBLOCK);
	assert_true(reader >= 0);
	struct pcap_capture capture;
	assert_true(pcap_open(&capture, path, error, sizeof error));
	uint8_t buffer[RINGVISOR_NET_HEADER_BYTES + 60] = { 0 };
	struct iovec iov = { buffer, sizeof buffer };
	pcap_write_frame(&capture, &iov, 1, sizeof buffer);
	assert_int_equal(capture.frames, 1);
	close(reader);
	pcap_write_frame(&capture, &iov, 1, sizeof buffer); /* EPIPE: stops, says so */
	assert_int_equal(capture.fd, -1);
	pcap_write_frame(&capture, &iov, 1, sizeof buffer); /* and stays stopped, silently */
	assert_int_equal(capture.frames, 1);
}

static void test_a_slow_reader_never_blocks_the_writer(void **state)
{
	(void)state;
	char path[128], error[256];
	snprintf(path, sizeof path, "%s/fifo-slow", directory);
	assert_int_equal(mkfifo(path, 0600), 0);
	int reader = open(path, O_RDONLY | O_NONBLOCK);
	assert_true(reader >= 0);
	struct pcap_capture capture;
	assert_true(pcap_open(&capture, path, error, sizeof error));
	static uint8_t frame[RINGVISOR_NET_HEADER_BYTES + 60000];
	struct iovec iov = { frame, sizeof frame };
	/* The reader reads nothing: a pipe's worth goes out, 4 MiB wait, the rest is left out;
	 * every call returns (this test would hang if one blocked). */
	for (int index = 0; index < 200; index++)
		pcap_write_frame(&capture, &iov, 1, sizeof frame);
	assert_true(capture.fd >= 0);
	assert_true(capture.frames_left_out > 0);
	assert_int_equal(capture.frames + capture.frames_left_out, 200);
	/* What the reader gets is whole records: the file header, then the first record's. */
	uint8_t start[24 + 16];
	assert_int_equal(read(reader, start, sizeof start), (ssize_t)sizeof start);
	assert_int_equal(word(start + 24 + 8), 60000);
	close(reader);
	pcap_close(&capture);
}

int main(void)
{
	signal(SIGPIPE,
	       SIG_IGN); /* as the launcher does: a reader leaving is an error, not death */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_records_strip_the_header_and_join_iovecs),
		cmocka_unit_test(test_unwritable_files_are_refused_with_a_reason),
		cmocka_unit_test(test_a_reader_that_leaves_stops_the_capture_once),
		cmocka_unit_test(test_a_slow_reader_never_blocks_the_writer),
	};
	return cmocka_run_group_tests(tests, make_directory, remove_directory);
}
