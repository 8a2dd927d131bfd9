/*
 * Unit tests for a share switch link's byte ring (launcher/share_ring.c), on the host under
 * ASan/UBSan: records in and out across the ring's end and across 2^32, full and empty, and
 * every index or length a hostile neighbour could leave that must read as corrupt.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "share/share_ring.h"

#define MINIMUM 26u
#define MAXIMUM (12u + 14u + 65535u)

static struct share_ring_indices *indices;
static uint8_t *data;
static struct share_ring producer, consumer;

static int setup(void **state)
{
	(void)state;
	indices = aligned_alloc(64, sizeof *indices);
	data = malloc(SHARE_RING_BYTES);
	if (!indices || !data)
		return -1;
	memset(data, 0xee, SHARE_RING_BYTES);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(indices);
	free(data);
	return 0;
}

/* Both sides at `start`, an empty ring. */
static void start_at(uint32_t start)
{
	indices->head = indices->tail = start;
	producer = (struct share_ring){ indices, data, start };
	consumer = (struct share_ring){ indices, data, start };
}

static uint8_t pattern(uint32_t record, size_t at)
{
	return (uint8_t)(record * 131 + at * 7 + (at >> 8));
}

static enum share_ring_result write_record(uint32_t record, uint32_t length)
{
	static uint8_t frame[MAXIMUM];
	for (size_t at = 0; at < length; at++)
		frame[at] = pattern(record, at);
	/* The prefix (the launcher's checked copy of the headers) wins over the buffers. */
	uint8_t prefix[MINIMUM];
	memcpy(prefix, frame, sizeof prefix);
	frame[0] ^= 0xff;
	struct iovec halves[2] = { { frame, length / 2 },
				   { frame + length / 2, length - length / 2 } };
	enum share_ring_result result =
		share_ring_write(&producer, prefix, sizeof prefix, halves, 2, length);
	frame[0] ^= 0xff;
	return result;
}

static void read_record(uint32_t record, uint32_t expected_length)
{
	static uint8_t frame[MAXIMUM];
	uint32_t length = 0;
	assert_int_equal(share_ring_peek(&consumer, MINIMUM, MAXIMUM, &length), SHARE_RING_DONE);
	assert_int_equal(length, expected_length);
	struct iovec whole = { frame, length };
	share_ring_copy_out(&consumer, 0, &whole, 1, length);
	for (size_t at = 0; at < length; at++)
		assert_int_equal(frame[at], pattern(record, at));
	/* A copy from an offset gives the same bytes. */
	struct iovec tail_part = { frame, 10 };
	share_ring_copy_out(&consumer, length - 10, &tail_part, 1, 10);
	for (size_t at = 0; at < 10; at++)
		assert_int_equal(frame[at], pattern(record, length - 10 + at));
	share_ring_consume(&consumer, length);
	assert_int_equal(indices->head, consumer.position);
}

static uint32_t length_of(uint32_t record)
{
	static const uint32_t lengths[] = { MINIMUM, 60, 1514 + 12, 9000, MAXIMUM, 777, 65535 };
	return lengths[record % (sizeof lengths / sizeof lengths[0])];
}

/* Many records through a ring that starts just below 2^32 and a little before its own end:
 * both wraps are crossed, many times, with records split across the end. */
static void test_records_across_both_wraps(void **state)
{
	(void)state;
	const uint32_t start = (UINT32_MAX - SHARE_RING_BYTES / 2) & ~7u;
	start_at(start);
	uint32_t written = 0, read = 0;
	while (written < 2000) {
		/* Fill until full, then drain a little: the producer runs ahead of the reader. */
		while (write_record(written, length_of(written)) == SHARE_RING_DONE)
			written++;
		for (int index = 0; index < 5 && read < written; index++, read++)
			read_record(read, length_of(read));
	}
	while (read < written) {
		read_record(read, length_of(read));
		read++;
	}
	uint32_t length;
	assert_int_equal(share_ring_peek(&consumer, MINIMUM, MAXIMUM, &length), SHARE_RING_EMPTY);
	assert_false(share_ring_has_data(&consumer));
	assert_true(consumer.position < start); /* it did wrap past 2^32 */
}

static void test_full_writes_nothing(void **state)
{
	(void)state;
	start_at(0);
	uint32_t count = 0;
	while (write_record(count, MAXIMUM) == SHARE_RING_DONE)
		count++;
	assert_int_equal(count, SHARE_RING_BYTES / share_record_bytes(MAXIMUM));
	uint32_t tail = indices->tail;
	assert_int_equal(write_record(count, MAXIMUM), SHARE_RING_FULL);
	assert_int_equal(indices->tail, tail);
	read_record(0, MAXIMUM);
	assert_int_equal(write_record(count, MAXIMUM), SHARE_RING_DONE);
}

static void test_hostile_indices_are_corrupt(void **state)
{
	(void)state;
	uint32_t length;
	/* The producer's tail far ahead, or not a multiple of 8, or behind the head. */
	static const uint32_t tails[] = { SHARE_RING_BYTES + 8, 12, 4, UINT32_MAX - 7, 0x80000000 };
	for (size_t index = 0; index < sizeof tails / sizeof tails[0]; index++) {
		start_at(64);
		indices->tail = 64 + tails[index];
		assert_int_equal(share_ring_peek(&consumer, MINIMUM, MAXIMUM, &length),
				 SHARE_RING_CORRUPT);
	}
	/* The consumer's head ahead of our tail, or misaligned. */
	static const uint32_t heads[] = { 72, 60, 64 - SHARE_RING_BYTES - 8 };
	for (size_t index = 0; index < sizeof heads / sizeof heads[0]; index++) {
		start_at(64);
		indices->head = heads[index];
		assert_int_equal(write_record(0, 100), SHARE_RING_CORRUPT);
		assert_int_equal(indices->tail, 64); /* nothing published */
	}
	/* Our own position misaligned (adopted from a vandalized file): neither side uses it. */
	start_at(64);
	producer.position = consumer.position = 68;
	indices->head = 68, indices->tail = 76;
	assert_int_equal(write_record(0, 100), SHARE_RING_CORRUPT);
	assert_int_equal(share_ring_peek(&consumer, MINIMUM, MAXIMUM, &length), SHARE_RING_CORRUPT);
}

static void test_hostile_lengths_are_corrupt(void **state)
{
	(void)state;
	uint32_t length;
	/* A record length too short, too long, or beyond what was published. */
	static const uint32_t lengths[] = { 0, MINIMUM - 1, MAXIMUM + 1, UINT32_MAX, 4096 };
	for (size_t index = 0; index < sizeof lengths / sizeof lengths[0]; index++) {
		start_at(SHARE_RING_BYTES - 8); /* the header sits at the very end */
		memcpy(data + SHARE_RING_BYTES - 8, &lengths[index], 4);
		indices->tail = SHARE_RING_BYTES - 8 + 1024; /* published: 1 KiB */
		assert_int_equal(share_ring_peek(&consumer, MINIMUM, MAXIMUM, &length),
				 SHARE_RING_CORRUPT);
	}
	/* The same ring with a sensible length is fine. */
	uint32_t fine = 1000;
	memcpy(data + SHARE_RING_BYTES - 8, &fine, 4);
	assert_int_equal(share_ring_peek(&consumer, MINIMUM, MAXIMUM, &length), SHARE_RING_DONE);
	assert_int_equal(length, 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_records_across_both_wraps),
		cmocka_unit_test(test_full_writes_nothing),
		cmocka_unit_test(test_hostile_indices_are_corrupt),
		cmocka_unit_test(test_hostile_lengths_are_corrupt),
	};
	return cmocka_run_group_tests_name("share ring", tests, setup, teardown);
}
