/*
 * Unit tests for the guest heap (guest/lib/heap.c), run on the host under ASan/UBSan.
 *
 * Each test builds a heap over a static buffer. The tests know the block layout documented in
 * heap.h (an 8-byte header right before each payload, 16 bytes of tags per block) so they can
 * corrupt it on purpose and check that the corruption callback fires.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "heap.h"

#define ARENA_SIZE (8u << 20)
#define TAG_SIZE 8

static _Alignas(4096) unsigned char arena[ARENA_SIZE];
static struct heap heap;

static int corruption_reports;
static const char *last_corruption;
static const void *last_corruption_address;

static void record_corruption(const char *what, const void *address)
{
	corruption_reports++;
	last_corruption = what;
	last_corruption_address = address;
}

/* A heap over the first `size` bytes of the arena (misaligned by `offset` to test rounding). */
static struct heap *fresh_heap(size_t size, size_t offset)
{
	memset(arena, 0x5a, size + offset);
	heap_init(&heap, record_corruption);
	corruption_reports = 0;
	last_corruption = NULL;
	assert_true(heap_add_region(&heap, arena + offset, size));
	assert_true(heap_check(&heap));
	return &heap;
}

static struct heap_statistics statistics(void)
{
	struct heap_statistics result;

	heap_get_statistics(&heap, &result);
	return result;
}

/* Everything freed: no bytes in use, and (for one region) a single free block again. */
static void assert_single_free_block(void)
{
	struct heap_statistics now = statistics();

	assert_true(heap_check(&heap));
	assert_int_equal(now.used_bytes, 0);
	assert_int_equal(now.live_allocations, 0);
	assert_int_equal(now.free_bytes, now.total_bytes);
	assert_int_equal(now.largest_free_block, now.total_bytes - 16);
}

static void fill(void *pointer, size_t size, unsigned seed)
{
	unsigned char *bytes = pointer;

	for (size_t i = 0; i < size; i++)
		bytes[i] = (unsigned char)(seed * 31 + i * 7);
}

static bool filled(const void *pointer, size_t size, unsigned seed)
{
	const unsigned char *bytes = pointer;

	for (size_t i = 0; i < size; i++) {
		if (bytes[i] != (unsigned char)(seed * 31 + i * 7))
			return false;
	}
	return true;
}

static void test_region_setup(void **state)
{
	(void)state;
	heap_init(&heap, record_corruption);
	assert_false(heap_add_region(&heap, arena, 40));
	assert_false(heap_add_region(&heap, arena, 0));
	assert_int_equal(statistics().total_bytes, 0);
	assert_null(heap_allocate(&heap, 1));
	assert_int_equal(statistics().failed_allocations, 1);

	/* Misaligned start and end are rounded inwards; the overhead is 48 bytes per region. */
	fresh_heap(4096, 3);
	assert_int_equal(statistics().total_bytes, 4096 - 16 - 48);
	assert_single_free_block();
	fresh_heap(1 << 20, 0);
	assert_int_equal(statistics().total_bytes, (1 << 20) - 48);
	assert_single_free_block();
}

static void test_allocations_are_aligned_and_disjoint(void **state)
{
	enum { COUNT = 200 };
	void *pointers[COUNT];

	(void)state;
	fresh_heap(1 << 20, 0);
	for (unsigned i = 0; i < COUNT; i++) {
		size_t size = i * 13 % 700;

		pointers[i] = heap_allocate(&heap, size);
		assert_non_null(pointers[i]);
		assert_int_equal((uintptr_t)pointers[i] % 16, 0);
		assert_true(heap_usable_size(&heap, pointers[i]) >= size);
		assert_true(heap_usable_size(&heap, pointers[i]) < size + 32);
		fill(pointers[i], heap_usable_size(&heap, pointers[i]), i);
	}
	assert_true(heap_check(&heap));
	for (unsigned i = 0; i < COUNT; i++)
		assert_true(filled(pointers[i], heap_usable_size(&heap, pointers[i]), i));
	assert_int_equal(statistics().live_allocations, COUNT);
	for (unsigned i = 0; i < COUNT; i++)
		heap_free(&heap, pointers[i]);
	assert_single_free_block();
	heap_free(&heap, NULL);
	assert_int_equal(corruption_reports, 0);
}

/* Frees in several orders; each must merge everything back into one block. */
static void test_coalescing(void **state)
{
	enum { COUNT = 64 };
	void *pointers[COUNT];
	static const unsigned strides[] = { 1, 2, 7, 63 };

	(void)state;
	fresh_heap(1 << 20, 0);
	for (unsigned order = 0; order < 5; order++) {
		for (unsigned i = 0; i < COUNT; i++)
			pointers[i] = heap_allocate(&heap, 100 + i * 8);
		for (unsigned i = 0; i < COUNT; i++) {
			unsigned index = order < 4 ? i * strides[order] % COUNT : COUNT - 1 - i;

			if (order == 1)
				index = i < COUNT / 2 ? 2 * i : 2 * (i - COUNT / 2) + 1;
			heap_free(&heap, pointers[index]);
			assert_true(heap_check(&heap));
		}
		assert_single_free_block();
	}
	assert_int_equal(corruption_reports, 0);
}

static void test_aligned_allocation(void **state)
{
	void *pointers[17 * 4 * 2];
	unsigned count = 0;

	(void)state;
	fresh_heap(4 << 20, 0);
	for (size_t alignment = 1; alignment <= 65536; alignment *= 2) {
		for (size_t size = 0; size < 3000; size += 997) {
			void *pointer = heap_allocate_aligned(&heap, size, alignment);

			assert_non_null(pointer);
			assert_int_equal((uintptr_t)pointer % alignment, 0);
			assert_int_equal((uintptr_t)pointer % 16, 0);
			fill(pointer, size, count);
			pointers[count++] = pointer;
			/* A small allocation in between so the next one starts misaligned. */
			pointers[count++] = heap_allocate(&heap, 24);
			assert_true(heap_check(&heap));
		}
	}
	for (unsigned i = 0; i < count; i += 2)
		assert_true(filled(pointers[i], (i / 2 % 4) * 997, i));
	for (unsigned i = 0; i < count; i++)
		heap_free(&heap, pointers[i]);
	assert_single_free_block();

	assert_null(heap_allocate_aligned(&heap, 16, 48));
	assert_null(heap_allocate_aligned(&heap, 16, 0));
	assert_null(heap_allocate_aligned(&heap, 16, (size_t)1 << 62));
	assert_int_equal(statistics().failed_allocations, 3);
	assert_int_equal(corruption_reports, 0);
}

static void test_reallocate(void **state)
{
	(void)state;
	fresh_heap(1 << 20, 0);

	/* NULL allocates; growing into the free block after it stays in place. */
	unsigned char *first = heap_reallocate(&heap, NULL, 100);
	assert_non_null(first);
	fill(first, 100, 1);
	unsigned char *grown = heap_reallocate(&heap, first, 5000);
	assert_ptr_equal(grown, first);
	assert_true(filled(grown, 100, 1));
	fill(grown, 5000, 2);

	/* Shrinking keeps the pointer and the contents, and frees the tail. */
	size_t used_before = statistics().used_bytes;
	unsigned char *shrunk = heap_reallocate(&heap, grown, 1000);
	assert_ptr_equal(shrunk, grown);
	assert_true(filled(shrunk, 1000, 2));
	assert_int_equal(statistics().used_bytes, used_before - 4000);

	/* Blocked by a neighbour: the block moves and the contents follow. */
	void *neighbour = heap_allocate(&heap, 64);
	unsigned char *moved = heap_reallocate(&heap, shrunk, 20000);
	assert_non_null(moved);
	assert_ptr_not_equal(moved, shrunk);
	assert_true(filled(moved, 1000, 2));
	assert_true(heap_check(&heap));

	/* A neighbour freed later leaves room to grow in place again. */
	void *second = heap_allocate(&heap, 32);
	void *third = heap_allocate(&heap, 32);
	heap_free(&heap, third);
	assert_ptr_equal(heap_reallocate(&heap, second, 48), second);

	/* Failure leaves the old block alone; size 0 frees. */
	size_t failed = statistics().failed_allocations;
	assert_null(heap_reallocate(&heap, moved, 2 << 20));
	assert_int_equal(statistics().failed_allocations, failed + 1);
	assert_true(filled(moved, 1000, 2));
	assert_null(heap_reallocate(&heap, moved, 0));
	heap_free(&heap, neighbour);
	heap_free(&heap, second);
	assert_single_free_block();
	assert_int_equal(corruption_reports, 0);
}

static void test_zeroed_allocation(void **state)
{
	(void)state;
	fresh_heap(1 << 20, 0);
	unsigned char *dirty = heap_allocate(&heap, 4000);
	memset(dirty, 0xff, 4000);
	heap_free(&heap, dirty);

	unsigned char *zeroed = heap_allocate_zeroed(&heap, 100, 40);
	assert_non_null(zeroed);
	for (size_t i = 0; i < 4000; i++)
		assert_int_equal(zeroed[i], 0);
	heap_free(&heap, zeroed);

	assert_null(heap_allocate_zeroed(&heap, SIZE_MAX / 2 + 1, 2));
	assert_null(heap_allocate_zeroed(&heap, 2, SIZE_MAX / 2 + 1));
	assert_null(heap_allocate_zeroed(&heap, (size_t)1 << 33, (size_t)1 << 33));
	assert_int_equal(statistics().failed_allocations, 3);
	void *nothing = heap_allocate_zeroed(&heap, 0, 10);
	assert_non_null(nothing);
	heap_free(&heap, nothing);
	assert_single_free_block();
}

static void test_exhaustion(void **state)
{
	enum { LIMIT = 2000 };
	void *pointers[LIMIT];
	unsigned count = 0;

	(void)state;
	fresh_heap(1 << 20, 0);
	assert_null(heap_allocate(&heap, SIZE_MAX));
	assert_null(heap_allocate(&heap, SIZE_MAX - 8));
	assert_null(heap_allocate(&heap, 2 << 20));
	assert_int_equal(statistics().failed_allocations, 3);

	while (count < LIMIT && (pointers[count] = heap_allocate(&heap, 1000)) != NULL)
		count++;
	assert_true(count > 1000 && count < LIMIT);
	struct heap_statistics full = statistics();
	assert_int_equal(full.failed_allocations, 4);
	assert_int_equal(full.live_allocations, count);
	assert_int_equal(full.total_allocations, count);
	assert_true(full.free_bytes < 1024);
	assert_int_equal(full.peak_used_bytes, full.used_bytes);

	/* The largest free block reported is always allocatable, here filling the heap. */
	assert_true(full.largest_free_block > 0);
	void *last = heap_allocate(&heap, full.largest_free_block);
	assert_non_null(last);
	assert_int_equal(statistics().used_bytes, full.total_bytes);
	heap_free(&heap, last);
	for (unsigned i = 0; i < count; i++)
		heap_free(&heap, pointers[i]);
	assert_single_free_block();
	struct heap_statistics empty = statistics();
	assert_int_equal(empty.peak_used_bytes, full.total_bytes);
	assert_int_equal(empty.total_frees, count + 1);
}

static void test_multiple_regions(void **state)
{
	enum { LIMIT = 1000 };
	void *pointers[LIMIT];
	unsigned from_region[3] = { 0 };
	unsigned count = 0;
	unsigned char *starts[3] = { arena, arena + (1 << 20), arena + (3 << 20) };
	size_t sizes[3] = { 64 << 10, 256 << 10, 100 << 10 };

	(void)state;
	heap_init(&heap, record_corruption);
	corruption_reports = 0;
	for (unsigned i = 0; i < 3; i++)
		assert_true(heap_add_region(&heap, starts[i], sizes[i]));
	assert_int_equal(statistics().total_bytes, (64 + 256 + 100) * 1024 - 3 * 48);
	assert_true(heap_check(&heap));

	/* Nothing larger than the largest region fits, however much is free in total. */
	assert_null(heap_allocate(&heap, 300 << 10));
	assert_non_null(heap_allocate_aligned(&heap, 200 << 10, 4096));
	assert_null(heap_allocate(&heap, 200 << 10));
	heap_free(&heap, heap_allocate(&heap, 100));

	fresh_heap(64 << 10, 0);
	heap_init(&heap, record_corruption);
	for (unsigned i = 0; i < 3; i++)
		heap_add_region(&heap, starts[i], sizes[i]);
	while (count < LIMIT && (pointers[count] = heap_allocate(&heap, 2000)) != NULL) {
		for (unsigned i = 0; i < 3; i++) {
			if ((unsigned char *)pointers[count] >= starts[i] &&
			    (unsigned char *)pointers[count] < starts[i] + sizes[i])
				from_region[i]++;
		}
		count++;
	}
	assert_true(from_region[0] > 20 && from_region[1] > 100 && from_region[2] > 40);
	assert_int_equal(from_region[0] + from_region[1] + from_region[2], count);
	assert_true(heap_check(&heap));
	for (unsigned i = 0; i < count; i++)
		heap_free(&heap, pointers[count - 1 - i]);
	assert_true(heap_check(&heap));
	assert_int_equal(statistics().used_bytes, 0);
	assert_int_equal(statistics().largest_free_block, (256 << 10) - 48 - 16);
	assert_int_equal(corruption_reports, 0);
}

static void expect_report(const char *fragment)
{
	assert_int_equal(corruption_reports, 1);
	assert_non_null(strstr(last_corruption, fragment));
	corruption_reports = 0;
}

static void test_double_free(void **state)
{
	(void)state;
	fresh_heap(1 << 20, 0);
	void *first = heap_allocate(&heap, 100);
	void *second = heap_allocate(&heap, 100);
	void *third = heap_allocate(&heap, 100);

	heap_free(&heap, second);
	struct heap_statistics before = statistics();
	heap_free(&heap, second);
	expect_report("double free");
	assert_ptr_equal(last_corruption_address, second);
	assert_int_equal(statistics().total_frees, before.total_frees);
	assert_true(heap_check(&heap));

	/* Still caught after the block was merged into its free predecessor. */
	heap_free(&heap, third);
	heap_free(&heap, third);
	expect_report("double free");
	heap_free(&heap, first);
	heap_free(&heap, first);
	expect_report("double free");
	assert_single_free_block();
}

static void test_foreign_pointers(void **state)
{
	int on_stack = 0;

	(void)state;
	fresh_heap(1 << 20, 0);
	unsigned char *block = heap_allocate(&heap, 256);
	memset(block, 0, 256);

	heap_free(&heap, &on_stack);
	expect_report("not allocated");
	heap_free(&heap, block + 1);
	expect_report("not allocated");
	heap_free(&heap, block + 64);
	expect_report("corrupted block header");
	assert_int_equal(heap_usable_size(&heap, block + 128), 0);
	expect_report("corrupted block header");
	assert_null(heap_reallocate(&heap, &on_stack, 10));
	expect_report("not allocated");

	assert_true(heap_check(&heap));
	assert_int_equal(statistics().live_allocations, 1);
	heap_free(&heap, block);
	assert_single_free_block();
	assert_int_equal(corruption_reports, 0);
}

static void test_corrupted_tags(void **state)
{
	(void)state;
	fresh_heap(1 << 20, 0);
	unsigned char *first = heap_allocate(&heap, 100);
	unsigned char *second = heap_allocate(&heap, 100);
	unsigned char saved[TAG_SIZE];

	/* A trashed header: free refuses, heap_check notices, nothing else changes. */
	memcpy(saved, first - TAG_SIZE, TAG_SIZE);
	memset(first - TAG_SIZE, 0x41, TAG_SIZE);
	struct heap_statistics before = statistics();
	heap_free(&heap, first);
	expect_report("corrupted block header");
	assert_false(heap_check(&heap));
	expect_report("corrupted block header");
	assert_int_equal(statistics().used_bytes, before.used_bytes);
	memcpy(first - TAG_SIZE, saved, TAG_SIZE);
	assert_true(heap_check(&heap));

	/* Writing one byte past the usable size hits the footer. */
	size_t usable = heap_usable_size(&heap, first);
	first[usable] ^= 0xff;
	heap_free(&heap, first);
	expect_report("footer");
	assert_false(heap_check(&heap));
	expect_report("footer");
	first[usable] ^= 0xff;

	/* A free block whose header is overwritten (use after free) is caught when reused. */
	heap_free(&heap, second);
	unsigned char *after = heap_allocate(&heap, 2000);
	assert_non_null(after);
	assert_true(heap_check(&heap));
	heap_free(&heap, first);
	heap_free(&heap, after);
	assert_single_free_block();
	assert_int_equal(corruption_reports, 0);

	unsigned char *victim = heap_allocate(&heap, 100);
	unsigned char *guard = heap_allocate(&heap, 100);
	heap_free(&heap, victim);
	memset(victim - TAG_SIZE, 0, TAG_SIZE);
	assert_null(heap_allocate(&heap, 100));
	expect_report("corrupted free block");
	assert_int_equal(statistics().failed_allocations, 1);
	(void)guard;
}

/* Many 64 KiB network buffers and small objects interleaved, freed in a scattered order. */
static void test_network_pattern(void **state)
{
	enum { BUFFERS = 100 };
	void *buffers[BUFFERS];
	void *small[BUFFERS];

	(void)state;
	fresh_heap(ARENA_SIZE, 0);
	for (unsigned round = 0; round < 20; round++) {
		for (unsigned i = 0; i < BUFFERS; i++) {
			buffers[i] = heap_allocate(&heap, 65536);
			small[i] = heap_allocate(&heap, 48 + i % 5 * 16);
			assert_non_null(buffers[i]);
			assert_non_null(small[i]);
			fill(buffers[i], 64, i);
		}
		for (unsigned i = 0; i < BUFFERS; i++) {
			unsigned index = (i * 37 + round) % BUFFERS;

			assert_true(filled(buffers[index], 64, index));
			heap_free(&heap, buffers[index]);
			heap_free(&heap, small[(index + 1) % BUFFERS]);
		}
		assert_true(heap_check(&heap));
	}
	assert_single_free_block();
	assert_int_equal(statistics().total_allocations, 20 * 2 * BUFFERS);
}

/* xorshift64: a fixed seed makes every run identical. */
static uint64_t random_state = 0x9e3779b97f4a7c15u;

static uint64_t next_random(void)
{
	random_state ^= random_state << 13;
	random_state ^= random_state >> 7;
	random_state ^= random_state << 17;
	return random_state;
}

static size_t random_size(void)
{
	switch (next_random() % 8) {
	case 0:
		return next_random() % 70000;
	case 1:
		return 65536;
	case 2:
		return next_random() % 4096;
	default:
		return next_random() % 256;
	}
}

struct slot {
	unsigned char *pointer;
	size_t size;
	unsigned seed;
};

static void test_randomized_stress(void **state)
{
	enum { SLOTS = 256, STEPS = 20000 };
	static struct slot slots[SLOTS];

	(void)state;
	fresh_heap(4 << 20, 8);
	for (unsigned step = 0; step < STEPS; step++) {
		struct slot *slot = &slots[next_random() % SLOTS];
		unsigned action = (unsigned)(next_random() % 4);

		if (slot->pointer != NULL)
			assert_true(filled(slot->pointer, slot->size, slot->seed));
		if (slot->pointer != NULL && action == 0) {
			heap_free(&heap, slot->pointer);
			slot->pointer = NULL;
		} else if (slot->pointer != NULL) {
			size_t size = random_size();
			unsigned char *moved = heap_reallocate(&heap, slot->pointer, size);

			if (moved != NULL || size == 0) {
				size_t kept = size < slot->size ? size : slot->size;

				if (moved != NULL)
					assert_true(filled(moved, kept, slot->seed));
				slot->pointer = moved;
				slot->size = size;
			}
		} else {
			size_t size = random_size();
			size_t alignment = (size_t)1 << (next_random() % 13);

			slot->pointer = action == 1 ? heap_allocate_aligned(&heap, size, alignment)
						    : heap_allocate(&heap, size);
			if (slot->pointer != NULL && action == 1)
				assert_int_equal((uintptr_t)slot->pointer % alignment, 0);
			slot->size = size;
		}
		if (slot->pointer != NULL) {
			assert_true(heap_usable_size(&heap, slot->pointer) >= slot->size);
			slot->seed = step;
			fill(slot->pointer, slot->size, slot->seed);
		}
		assert_true(heap_check(&heap));
	}

	struct heap_statistics busy = statistics();
	assert_true(busy.failed_allocations > 0); /* the heap was driven to exhaustion */
	for (unsigned i = 0; i < SLOTS; i++) {
		if (slots[i].pointer != NULL) {
			assert_true(filled(slots[i].pointer, slots[i].size, slots[i].seed));
			heap_free(&heap, slots[i].pointer);
		}
	}
	assert_single_free_block();
	assert_int_equal(corruption_reports, 0);
	struct heap_statistics done = statistics();
	assert_int_equal(done.total_allocations, done.total_frees);
	printf("stress: %zu allocations, %zu failed, peak %zu of %zu bytes\n",
	       done.total_allocations, done.failed_allocations, done.peak_used_bytes,
	       done.total_bytes);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_region_setup),
		cmocka_unit_test(test_allocations_are_aligned_and_disjoint),
		cmocka_unit_test(test_coalescing),
		cmocka_unit_test(test_aligned_allocation),
		cmocka_unit_test(test_reallocate),
		cmocka_unit_test(test_zeroed_allocation),
		cmocka_unit_test(test_exhaustion),
		cmocka_unit_test(test_multiple_regions),
		cmocka_unit_test(test_double_free),
		cmocka_unit_test(test_foreign_pointers),
		cmocka_unit_test(test_corrupted_tags),
		cmocka_unit_test(test_network_pattern),
		cmocka_unit_test(test_randomized_stress),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
