/*
 * The launcher's virtqueue against well-formed and hostile rings: each test lays out rings
 * in a fake guest RAM as a guest would (or as a hostile one would) and checks what
 * virtqueue_pop() makes of them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nic/virtqueue.h"

#define RAM_BYTES (2u << 20)
#define QUEUE_SIZE 8u
#define DESCRIPTORS 0x100000u
#define AVAILABLE 0x101000u
#define USED 0x102000u
#define BUFFERS 0x110000u

struct fixture {
	struct guest_memory memory;
	struct virtqueue_device queue;
	struct virtqueue_chain chain;
};

static int set_up(void **state)
{
	struct fixture *fixture = calloc(1, sizeof *fixture);
	fixture->memory.base = calloc(1, RAM_BYTES);
	fixture->memory.size = RAM_BYTES;
	const char *reason = NULL;
	assert_true(virtqueue_configure(&fixture->queue, &fixture->memory, QUEUE_SIZE, DESCRIPTORS,
					AVAILABLE, USED, &reason));
	*state = fixture;
	return 0;
}

static int tear_down(void **state)
{
	struct fixture *fixture = *state;
	free(fixture->memory.base);
	free(fixture);
	return 0;
}

static struct ringvisor_virtqueue_descriptor *descriptor(struct fixture *fixture, unsigned index)
{
	return (struct ringvisor_virtqueue_descriptor *)(fixture->memory.base + DESCRIPTORS) +
	       index;
}

static struct ringvisor_virtqueue_available *available(struct fixture *fixture)
{
	return (struct ringvisor_virtqueue_available *)(fixture->memory.base + AVAILABLE);
}

static struct ringvisor_virtqueue_used *used(struct fixture *fixture)
{
	return (struct ringvisor_virtqueue_used *)(fixture->memory.base + USED);
}

static void set_descriptor(struct fixture *fixture, unsigned index, uint64_t address,
			   uint32_t length, uint16_t flags, uint16_t next)
{
	*descriptor(fixture, index) = (struct ringvisor_virtqueue_descriptor){
		.address = address, .length = length, .flags = flags, .next = next
	};
}

static void make_available(struct fixture *fixture, uint16_t head)
{
	struct ringvisor_virtqueue_available *ring = available(fixture);
	ring->ring[ring->index % QUEUE_SIZE] = head;
	ring->index++;
}

static void expect_broken(struct fixture *fixture, const char *reason_part)
{
	assert_int_equal(virtqueue_pop(&fixture->queue, &fixture->chain), VIRTQUEUE_BROKEN);
	assert_true(fixture->queue.broken);
	assert_non_null(strstr(fixture->queue.broken_reason, reason_part));
	/* Broken stays broken, and pushes do nothing. */
	uint16_t used_index = used(fixture)->index;
	virtqueue_push(&fixture->queue, 0, 1);
	assert_int_equal(used(fixture)->index, used_index);
	assert_int_equal(virtqueue_pop(&fixture->queue, &fixture->chain), VIRTQUEUE_BROKEN);
}

static void test_empty_queue(void **state)
{
	struct fixture *fixture = *state;
	assert_int_equal(virtqueue_pop(&fixture->queue, &fixture->chain), VIRTQUEUE_EMPTY);
	assert_int_equal(virtqueue_pending(&fixture->queue), 0);
}

static void test_transmit_chain_then_used(void **state)
{
	struct fixture *fixture = *state;
	set_descriptor(fixture, 3, BUFFERS, 12, RINGVISOR_VIRTQUEUE_DESCRIPTOR_NEXT, 5);
	set_descriptor(fixture, 5, BUFFERS + 4096, 1500, 0, 0);
	make_available(fixture, 3);
	assert_int_equal(virtqueue_pending(&fixture->queue), 1);
	assert_int_equal(virtqueue_pop(&fixture->queue, &fixture->chain), VIRTQUEUE_CHAIN);
	assert_int_equal(fixture->chain.head, 3);
	assert_int_equal(fixture->chain.readable_count, 2);
	assert_int_equal(fixture->chain.writable_count, 0);
	assert_int_equal(fixture->chain.readable_bytes, 1512);
	assert_ptr_equal(fixture->chain.buffers[1].iov_base, fixture->memory.base + BUFFERS + 4096);
	assert_int_equal(virtqueue_pop(&fixture->queue, &fixture->chain), VIRTQUEUE_EMPTY);

	virtqueue_push(&fixture->queue, 3, 0);
	assert_int_equal(used(fixture)->index, 1);
	assert_int_equal(used(fixture)->ring[0].id, 3);
	assert_int_equal(used(fixture)->ring[0].length, 0);
}

static void test_receive_chain_is_writable(void **state)
{
	struct fixture *fixture = *state;
	set_descriptor(fixture, 0, BUFFERS, 65536 + 12, RINGVISOR_VIRTQUEUE_DESCRIPTOR_WRITE, 0);
	make_available(fixture, 0);
	assert_int_equal(virtqueue_pop(&fixture->queue, &fixture->chain), VIRTQUEUE_CHAIN);
	assert_int_equal(fixture->chain.writable_count, 1);
	assert_int_equal(fixture->chain.writable_bytes, 65548);
	virtqueue_push(&fixture->queue, 0, 1000);
	assert_int_equal(used(fixture)->ring[0].length, 1000);
}

static void test_indexes_wrap_around(void **state)
{
	struct fixture *fixture = *state;
	set_descriptor(fixture, 1, BUFFERS, 64, 0, 0);
	for (unsigned round = 0; round < 70000; round++) { /* past 65535: the u16 wraps */
		make_available(fixture, 1);
		assert_int_equal(virtqueue_pop(&fixture->queue, &fixture->chain), VIRTQUEUE_CHAIN);
		virtqueue_push(&fixture->queue, 1, 0);
	}
	assert_int_equal(used(fixture)->index, (uint16_t)70000);
	assert_false(fixture->queue.broken);
}

static void test_available_index_too_far_ahead(void **state)
{
	struct fixture *fixture = *state;
	available(fixture)->index = QUEUE_SIZE + 1;
	expect_broken(fixture, "made 9 chains available in a ring of 8");
}

static void test_head_out_of_range(void **state)
{
	struct fixture *fixture = *state;
	make_available(fixture, QUEUE_SIZE);
	expect_broken(fixture, "names descriptor 8 of 8");
}

static void test_next_out_of_range(void **state)
{
	struct fixture *fixture = *state;
	set_descriptor(fixture, 0, BUFFERS, 10, RINGVISOR_VIRTQUEUE_DESCRIPTOR_NEXT, 200);
	make_available(fixture, 0);
	expect_broken(fixture, "links to descriptor 200 of 8");
}

static void test_loop_is_caught(void **state)
{
	struct fixture *fixture = *state;
	set_descriptor(fixture, 0, BUFFERS, 10, RINGVISOR_VIRTQUEUE_DESCRIPTOR_NEXT, 1);
	set_descriptor(fixture, 1, BUFFERS, 10, RINGVISOR_VIRTQUEUE_DESCRIPTOR_NEXT, 0);
	make_available(fixture, 0);
	expect_broken(fixture, "a loop?");
}

static void test_buffer_outside_ram(void **state)
{
	struct fixture *fixture = *state;
	set_descriptor(fixture, 0, RAM_BYTES - 8, 16, 0, 0);
	make_available(fixture, 0);
	expect_broken(fixture, "is not in the guest's RAM");
}

static void test_buffer_wrapping_address_space(void **state)
{
	struct fixture *fixture = *state;
	set_descriptor(fixture, 0, UINT64_MAX - 4, 16, 0, 0);
	make_available(fixture, 0);
	expect_broken(fixture, "is not in the guest's RAM");
}

static void test_buffer_in_launcher_pages(void **state)
{
	struct fixture *fixture = *state;
	set_descriptor(fixture, 0, 0x1000, 64, RINGVISOR_VIRTQUEUE_DESCRIPTOR_WRITE, 0);
	make_available(fixture, 0);
	expect_broken(fixture, "is not in the guest's writable RAM");
}

static void test_receive_buffer_in_read_only_memory(void **state)
{
	struct fixture *fixture = *state;
	guest_memory_add_read_only(&fixture->memory, BUFFERS, BUFFERS + 0x1000);
	set_descriptor(fixture, 0, BUFFERS, 10, 0, 0); /* reading from there is fine */
	make_available(fixture, 0);
	assert_int_equal(virtqueue_pop(&fixture->queue, &fixture->chain), VIRTQUEUE_CHAIN);
	set_descriptor(fixture, 1, BUFFERS + 0x800, 64, RINGVISOR_VIRTQUEUE_DESCRIPTOR_WRITE, 0);
	make_available(fixture, 1);
	expect_broken(fixture, "is not in the guest's writable RAM");
}

static void test_readable_after_writable(void **state)
{
	struct fixture *fixture = *state;
	set_descriptor(fixture, 0, BUFFERS, 10,
		       RINGVISOR_VIRTQUEUE_DESCRIPTOR_WRITE | RINGVISOR_VIRTQUEUE_DESCRIPTOR_NEXT,
		       1);
	set_descriptor(fixture, 1, BUFFERS, 10, 0, 0);
	make_available(fixture, 0);
	expect_broken(fixture, "readable but follows a writable one");
}

static void test_unknown_flags(void **state)
{
	struct fixture *fixture = *state;
	set_descriptor(fixture, 0, BUFFERS, 10, 4 /* indirect: not offered */, 0);
	make_available(fixture, 0);
	expect_broken(fixture, "unsupported flags 0x4");
}

static void test_bad_layouts_are_refused(void **state)
{
	struct fixture *fixture = *state;
	struct virtqueue_device queue;
	const char *reason = NULL;
	assert_false(virtqueue_configure(&queue, &fixture->memory, 6, DESCRIPTORS, AVAILABLE, USED,
					 &reason));
	assert_non_null(strstr(reason, "power of two"));
	assert_false(virtqueue_configure(&queue, &fixture->memory, 65536, DESCRIPTORS, AVAILABLE,
					 USED, &reason));
	assert_false(virtqueue_configure(&queue, &fixture->memory, 8, DESCRIPTORS + 8, AVAILABLE,
					 USED, &reason));
	assert_non_null(strstr(reason, "misaligned"));
	assert_false(
		virtqueue_configure(&queue, &fixture->memory, 8, 0x1000, AVAILABLE, USED, &reason));
	assert_non_null(strstr(reason, "outside"));
	assert_false(virtqueue_configure(&queue, &fixture->memory, 8, DESCRIPTORS, AVAILABLE,
					 RAM_BYTES - 16, &reason));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define TEST(name) cmocka_unit_test_setup_teardown(name, set_up, tear_down)
		TEST(test_empty_queue),
		TEST(test_transmit_chain_then_used),
		TEST(test_receive_chain_is_writable),
		TEST(test_indexes_wrap_around),
		TEST(test_available_index_too_far_ahead),
		TEST(test_head_out_of_range),
		TEST(test_next_out_of_range),
		TEST(test_loop_is_caught),
		TEST(test_buffer_outside_ram),
		TEST(test_buffer_wrapping_address_space),
		TEST(test_buffer_in_launcher_pages),
		TEST(test_receive_buffer_in_read_only_memory),
		TEST(test_readable_after_writable),
		TEST(test_unknown_flags),
		TEST(test_bad_layouts_are_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
