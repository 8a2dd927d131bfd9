/*
 * The NIC's device model (launcher/nic/nic.c) on its own: each test lays out a guest's rings in
 * real guest memory (vm/guest_memory.c), sets the NIC up through the same call the guest's
 * hypercall makes, rings doorbells as KVM would, and drives the device through the I/O
 * thread's one entry point. Behind it is a backend of the tests' own, a real one through the
 * operations table (nic/nic_backend.h) that keeps what it is sent and hands out frames the test
 * queued; the fault injection tests put the real fault injector between the two.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cmocka.h>

#include "nic/fault_injection.h"
#include "nic/iovec_copy.h"
#include "nic/nic.h"
#include "vm/vm.h"

#define RAM_BYTES (4u << 20)
#define QUEUE_SIZE 8u
#define RECEIVE_RING 0x100000u /* descriptors; available at +0x800, used at +0x1000 */
#define TRANSMIT_RING 0x110000u
#define SETUP 0x120000u
#define BUFFERS 0x200000u /* one 4 KiB buffer per descriptor, receive then transmit */
#define FRAMES_MAX 16
#define FRAME_ROOM 2048
#define FRAME_BYTES 100 /* header + Ethernet header + 74 bytes of payload */

/* ---- the tests' backend: frames to hand out, and frames it was sent -------------------------- */

struct test_backend {
	struct nic_backend backend;
	uint8_t inbox[FRAMES_MAX][FRAME_ROOM];
	size_t inbox_length[FRAMES_MAX];
	unsigned inbox_next, inbox_count;
	uint8_t sent[FRAMES_MAX][FRAME_ROOM];
	size_t sent_length[FRAMES_MAX];
	unsigned sent_count;
	unsigned send_done_calls, pause_calls, wait_calls;
	uint64_t features;
	bool refuse_features, destroyed;
	const uint8_t *guest_ram;	 /* the fixture's, to tell guest memory from ours */
	bool first_buffer_outside_guest; /* of the last frame sent */
};

static struct test_backend *test_backend_of(struct nic_backend *backend)
{
	return (struct test_backend *)backend;
}

static bool test_accept_features(struct nic_backend *backend, uint64_t features, char *why,
				 size_t why_size)
{
	struct test_backend *test = test_backend_of(backend);
	test->features = features;
	if (test->refuse_features)
		snprintf(why, why_size, "the test backend refuses");
	return !test->refuse_features;
}

static bool test_send(struct nic_backend *backend, const struct iovec *buffers, unsigned count,
		      size_t length)
{
	struct test_backend *test = test_backend_of(backend);
	if (test->sent_count == FRAMES_MAX || length > FRAME_ROOM)
		return false;
	struct iovec to = { test->sent[test->sent_count], FRAME_ROOM };
	assert_int_equal(iovec_copy(&to, 1, 0, buffers, count, 0, length), length);
	uint8_t *first = buffers[0].iov_base;
	test->first_buffer_outside_guest = first + buffers[0].iov_len <= test->guest_ram ||
					   first >= test->guest_ram + RAM_BYTES;
	test->sent_length[test->sent_count++] = length;
	return true;
}

static void test_send_done(struct nic_backend *backend)
{
	test_backend_of(backend)->send_done_calls++;
}

/* As a TAP would: a frame that does not fit is dropped and said so. */
static long test_receive(struct nic_backend *backend, const struct iovec *buffers, unsigned count,
			 size_t room)
{
	struct test_backend *test = test_backend_of(backend);
	if (test->inbox_next == test->inbox_count)
		return NIC_RECEIVE_NOTHING;
	unsigned next = test->inbox_next++;
	size_t length = test->inbox_length[next];
	if (length > room)
		return NIC_RECEIVE_TRUNCATED;
	struct iovec from = { test->inbox[next], length };
	iovec_copy(buffers, count, 0, &from, 1, 0, length);
	return (long)length;
}

static bool test_wait_for_frames(struct nic_backend *backend)
{
	test_backend_of(backend)->wait_calls++;
	return false;
}

static void test_pause_receiving(struct nic_backend *backend)
{
	test_backend_of(backend)->pause_calls++;
}

static void test_nothing(struct nic_backend *backend)
{
	(void)backend;
}

static bool test_tick(struct nic_backend *backend)
{
	(void)backend;
	return false;
}

static void test_visit_counters(const struct nic_backend *backend, nic_counter_visitor *visit,
				void *context)
{
	const struct test_backend *test = (const struct test_backend *)backend;
	visit(context, "test_sent", test->sent_count);
}

static void test_destroy(struct nic_backend *backend)
{
	close(backend->fd);
	test_backend_of(backend)->destroyed = true; /* the fixture frees it */
}

static const struct nic_backend_operations test_operations = {
	.accept_features = test_accept_features,
	.send = test_send,
	.send_done = test_send_done,
	.receive = test_receive,
	.wait_for_frames = test_wait_for_frames,
	.pause_receiving = test_pause_receiving,
	.receive_later = test_nothing,
	.readable = test_nothing,
	.tick = test_tick,
	.visit_counters = test_visit_counters,
	.destroy = test_destroy,
};

/* ---- the fixture: a VM's memory, a NIC, the I/O thread's epoll set ----------------------------
 */

struct fixture {
	struct vm vm;
	struct nic_device nic;
	struct nic_config config;
	struct test_backend *backend;
	int epoll_fd;
	uint16_t receive_posted, transmit_posted; /* descriptors the guest has used so far */
};

static struct fixture *create(const struct fault_settings *faults)
{
	struct fixture *fixture = calloc(1, sizeof *fixture);
	guest_memory_create(&fixture->vm.memory, RAM_BYTES);
	fixture->vm.wake_fd = eventfd(0, EFD_NONBLOCK);
	fixture->backend = calloc(1, sizeof *fixture->backend);
	fixture->backend->guest_ram = fixture->vm.memory.base;
	fixture->backend->backend =
		(struct nic_backend){ &test_operations, eventfd(0, EFD_NONBLOCK), "test failed" };
	snprintf(fixture->config.name, sizeof fixture->config.name, "test0");
	fixture->config.mtu = 1500;
	if (faults)
		fixture->config.faults = *faults;
	struct nic_backend *backend =
		fault_injection_wrap(&fixture->backend->backend, &fixture->config.faults, 0);
	nic_device_create(&fixture->nic, &fixture->vm, 0, &fixture->config, backend);
	fixture->epoll_fd = epoll_create1(0);
	nic_device_watch(&fixture->nic, fixture->epoll_fd);
	return fixture;
}

static int set_up(void **state)
{
	*state = create(NULL);
	return 0;
}

static int tear_down(void **state)
{
	struct fixture *fixture = *state;
	nic_device_destroy(&fixture->nic);
	assert_true(fixture->backend->destroyed);
	close(fixture->epoll_fd);
	close(fixture->vm.wake_fd);
	guest_memory_destroy(&fixture->vm.memory);
	free(fixture->backend);
	free(fixture);
	return 0;
}

static uint8_t *guest(struct fixture *fixture, uint64_t address)
{
	return fixture->vm.memory.base + address;
}

static struct ringvisor_virtqueue_descriptor *descriptors(struct fixture *fixture, uint64_t ring)
{
	return (struct ringvisor_virtqueue_descriptor *)guest(fixture, ring);
}

static struct ringvisor_virtqueue_available *available(struct fixture *fixture, uint64_t ring)
{
	return (struct ringvisor_virtqueue_available *)guest(fixture, ring + 0x800);
}

static struct ringvisor_virtqueue_used *used(struct fixture *fixture, uint64_t ring)
{
	return (struct ringvisor_virtqueue_used *)guest(fixture, ring + 0x1000);
}

static void queue_setup(struct ringvisor_queue_setup *setup, uint64_t ring)
{
	*setup = (struct ringvisor_queue_setup){ .size = QUEUE_SIZE,
						 .descriptors = ring,
						 .available = ring + 0x800,
						 .used = ring + 0x1000 };
}

/* The guest's setup hypercall, as it would make it; the launcher's answer. */
static int64_t guest_setup(struct fixture *fixture, uint64_t features)
{
	struct ringvisor_nic_setup setup = { .features = features };
	queue_setup(&setup.receive, RECEIVE_RING);
	queue_setup(&setup.transmit, TRANSMIT_RING);
	memcpy(guest(fixture, SETUP), &setup, sizeof setup);
	return nic_device_setup(&fixture->nic, SETUP);
}

/* A guest's `out` to a doorbell port (KVM writes the eventfd), then the I/O thread's turn. */
static void doorbell(struct fixture *fixture, enum nic_event event)
{
	uint64_t one = 1;
	int fd = event == NIC_EVENT_RECEIVE_DOORBELL ? fixture->nic.receive_doorbell_fd
						     : fixture->nic.transmit_doorbell_fd;
	assert_int_equal(write(fd, &one, sizeof one), sizeof one);
	nic_device_handle_event(&fixture->nic, event, false);
}

/* Set up, and the I/O thread has seen the doorbell setup rings to start it. */
static void start(struct fixture *fixture)
{
	assert_int_equal(guest_setup(fixture, RINGVISOR_NIC_FEATURE(RINGVISOR_NIC_FEATURE_MAC)), 0);
	nic_device_handle_event(&fixture->nic, NIC_EVENT_RECEIVE_DOORBELL, false);
}

static void make_available(struct fixture *fixture, uint64_t ring, uint16_t head)
{
	struct ringvisor_virtqueue_available *ring_available = available(fixture, ring);
	ring_available->ring[ring_available->index % QUEUE_SIZE] = head;
	ring_available->index++;
}

/* Posts one receive buffer of `bytes`; returns its guest address. */
static uint64_t post_receive_buffer(struct fixture *fixture, uint32_t bytes)
{
	uint16_t index = fixture->receive_posted++ % QUEUE_SIZE;
	uint64_t address = BUFFERS + 0x1000u * index;
	descriptors(fixture, RECEIVE_RING)[index] = (struct ringvisor_virtqueue_descriptor){
		.address = address, .length = bytes, .flags = RINGVISOR_VIRTQUEUE_DESCRIPTOR_WRITE
	};
	make_available(fixture, RECEIVE_RING, index);
	return address;
}

/* Queues one frame for transmit as a chain of two descriptors: the header, then the rest. */
static void post_transmit(struct fixture *fixture, const uint8_t *frame, size_t length)
{
	uint16_t first = (uint16_t)(fixture->transmit_posted++ % (QUEUE_SIZE / 2) * 2);
	uint64_t address = BUFFERS + 0x1000u * (QUEUE_SIZE + first);
	memcpy(guest(fixture, address), frame, length);
	struct ringvisor_virtqueue_descriptor *table = descriptors(fixture, TRANSMIT_RING);
	table[first] = (struct ringvisor_virtqueue_descriptor){
		.address = address,
		.length = RINGVISOR_NET_HEADER_BYTES,
		.flags = RINGVISOR_VIRTQUEUE_DESCRIPTOR_NEXT,
		.next = (uint16_t)(first + 1),
	};
	table[first + 1] = (struct ringvisor_virtqueue_descriptor){
		.address = address + RINGVISOR_NET_HEADER_BYTES,
		.length = (uint32_t)(length - RINGVISOR_NET_HEADER_BYTES),
	};
	make_available(fixture, TRANSMIT_RING, first);
}

/* A frame of FRAME_BYTES: a plain header, broadcast, IPv4, and a payload told apart by `tag`. */
static void make_frame(uint8_t *frame, uint8_t tag)
{
	memset(frame, 0, FRAME_BYTES);
	memset(frame + RINGVISOR_NET_HEADER_BYTES, 0xff, RINGVISOR_ETHERNET_ADDRESS_BYTES);
	uint8_t *ethernet = frame + RINGVISOR_NET_HEADER_BYTES;
	ethernet[6] = 0x52, ethernet[11] = tag;
	ethernet[12] = RINGVISOR_ETHERTYPE_IPV4 >> 8;
	for (size_t at = RINGVISOR_NET_HEADER_BYTES + RINGVISOR_ETHERNET_HEADER_BYTES;
	     at < FRAME_BYTES; at++)
		frame[at] = (uint8_t)(tag + at);
}

static void queue_for_guest(struct fixture *fixture, uint8_t tag, size_t length)
{
	struct test_backend *backend = fixture->backend;
	make_frame(backend->inbox[backend->inbox_count], tag);
	backend->inbox_length[backend->inbox_count++] = length;
}

static bool guest_was_woken(struct fixture *fixture)
{
	uint64_t count;
	return read(fixture->vm.wake_fd, &count, sizeof count) == sizeof count;
}

static void print_counter(void *context, const char *counter, uint64_t value)
{
	fprintf(context, "nic test0 %s %llu\n", counter, (unsigned long long)value);
}

/* The counters as --stats prints them, for the lines that are not struct fields. */
static char *printed_counters(struct fixture *fixture)
{
	char *text = NULL;
	size_t size = 0;
	FILE *stream = open_memstream(&text, &size);
	nic_device_visit_counters(&fixture->nic, print_counter, stream);
	fclose(stream);
	return text;
}

/* ---- setup ------------------------------------------------------------------------------------
 */

static void test_setup_offers_and_accepts(void **state)
{
	struct fixture *fixture = *state;
	struct ringvisor_nic_info info;
	nic_device_describe(&fixture->nic, &info);
	assert_int_equal(info.queue_size_max, NIC_QUEUE_SIZE_MAX);
	assert_true(info.features & RINGVISOR_NIC_FEATURE(RINGVISOR_NIC_FEATURE_HOST_TSO4));
	uint64_t features = RINGVISOR_NIC_FEATURE(RINGVISOR_NIC_FEATURE_MAC) |
			    RINGVISOR_NIC_FEATURE(RINGVISOR_NIC_FEATURE_CSUM);
	assert_int_equal(guest_setup(fixture, features), 0);
	assert_int_equal(fixture->backend->features, features); /* the backend was told */
	assert_int_equal(guest_setup(fixture, features), RINGVISOR_ERROR_BAD_ARGUMENT); /* twice */
}

static void test_setup_refuses_what_was_not_offered(void **state)
{
	struct fixture *fixture = *state;
	assert_int_equal(guest_setup(fixture, 1ull << 40), RINGVISOR_ERROR_BAD_ARGUMENT);
	assert_int_equal(nic_device_setup(&fixture->nic, 0x1000), RINGVISOR_ERROR_BAD_ADDRESS);
	assert_int_equal(nic_device_setup(&fixture->nic, RAM_BYTES - 8),
			 RINGVISOR_ERROR_BAD_ADDRESS);
	fixture->backend->refuse_features = true;
	assert_int_equal(guest_setup(fixture, 0), RINGVISOR_ERROR_BAD_ARGUMENT);
	/* Still not active: a doorbell moves nothing. */
	uint8_t frame[FRAME_BYTES];
	make_frame(frame, 1);
	post_transmit(fixture, frame, sizeof frame);
	doorbell(fixture, NIC_EVENT_TRANSMIT_DOORBELL);
	assert_int_equal(fixture->backend->sent_count, 0);
}

/* ---- guest to host ------------------------------------------------------------------------------
 */

static void test_transmit_reaches_the_backend(void **state)
{
	struct fixture *fixture = *state;
	start(fixture);
	uint8_t frames[3][FRAME_BYTES];
	for (uint8_t tag = 0; tag < 3; tag++) {
		make_frame(frames[tag], tag);
		post_transmit(fixture, frames[tag], FRAME_BYTES);
	}
	doorbell(fixture, NIC_EVENT_TRANSMIT_DOORBELL);

	struct test_backend *backend = fixture->backend;
	assert_int_equal(backend->sent_count, 3);
	for (unsigned index = 0; index < 3; index++) {
		assert_int_equal(backend->sent_length[index], FRAME_BYTES);
		assert_memory_equal(backend->sent[index], frames[index], FRAME_BYTES);
	}
	assert_int_equal(backend->send_done_calls, 1); /* one batch */
	struct ringvisor_virtqueue_used *ring = used(fixture, TRANSMIT_RING);
	assert_int_equal(ring->index, 3);
	assert_int_equal(ring->ring[0].id, 0);
	assert_int_equal(ring->ring[1].id, 2);
	assert_int_equal(ring->ring[2].length, 0);
	assert_int_equal(fixture->nic.counters.transmit_frames, 3);
	assert_int_equal(fixture->nic.counters.transmit_bytes, 3 * (FRAME_BYTES - 12));
	assert_int_equal(fixture->nic.counters.transmit_doorbells, 1);
	/* Idle again: the device wants the next doorbell, and the guest (who did not say it
	 * polls) is woken for its used entries. */
	assert_int_equal(ring->flags & RINGVISOR_VIRTQUEUE_USED_NO_NOTIFY, 0);
	assert_true(guest_was_woken(fixture));
}

static void test_transmit_without_wakeup_when_the_guest_polls(void **state)
{
	struct fixture *fixture = *state;
	start(fixture);
	guest_was_woken(fixture); /* whatever start left */
	available(fixture, TRANSMIT_RING)->flags = RINGVISOR_VIRTQUEUE_AVAILABLE_NO_INTERRUPT;
	uint8_t frame[FRAME_BYTES];
	make_frame(frame, 7);
	post_transmit(fixture, frame, sizeof frame);
	doorbell(fixture, NIC_EVENT_TRANSMIT_DOORBELL);
	assert_int_equal(fixture->backend->sent_count, 1);
	assert_false(guest_was_woken(fixture));
	assert_int_equal(fixture->nic.counters.guest_wakeups, 0);
}

static void expect_broken(struct fixture *fixture, uint64_t ring);

/* The I/O thread polling: frames go without a doorbell, and doorbells stay off until it stops. */
static void test_polling_sends_without_doorbells(void **state)
{
	struct fixture *fixture = *state;
	start(fixture);
	assert_false(nic_device_poll(&fixture->nic)); /* nothing queued */
	struct ringvisor_virtqueue_used *ring = used(fixture, TRANSMIT_RING);
	assert_int_equal(ring->flags & RINGVISOR_VIRTQUEUE_USED_NO_NOTIFY,
			 RINGVISOR_VIRTQUEUE_USED_NO_NOTIFY);
	uint8_t frames[2][FRAME_BYTES];
	for (uint8_t tag = 0; tag < 2; tag++) {
		make_frame(frames[tag], tag);
		post_transmit(fixture, frames[tag], FRAME_BYTES);
	}
	assert_true(nic_device_poll(&fixture->nic));
	assert_int_equal(fixture->backend->sent_count, 2);
	assert_memory_equal(fixture->backend->sent[1], frames[1], FRAME_BYTES);
	assert_int_equal(ring->index, 2);
	assert_int_equal(fixture->nic.counters.transmit_doorbells, 0);
	/* Still polling: the guest is told it need not ring. */
	assert_int_equal(ring->flags & RINGVISOR_VIRTQUEUE_USED_NO_NOTIFY,
			 RINGVISOR_VIRTQUEUE_USED_NO_NOTIFY);

	/* A frame queued as polling ends is sent, not left waiting for a doorbell that the
	 * guest was told not to ring; then doorbells are wanted again. */
	make_frame(frames[0], 5);
	post_transmit(fixture, frames[0], FRAME_BYTES);
	nic_device_stop_polling(&fixture->nic);
	assert_int_equal(fixture->backend->sent_count, 3);
	assert_int_equal(ring->flags & RINGVISOR_VIRTQUEUE_USED_NO_NOTIFY, 0);
}

static void test_polling_a_looping_chain_breaks_the_device(void **state)
{
	struct fixture *fixture = *state;
	start(fixture);
	struct ringvisor_virtqueue_descriptor *table = descriptors(fixture, TRANSMIT_RING);
	table[0] = (struct ringvisor_virtqueue_descriptor){
		.address = BUFFERS, .length = 12, .flags = RINGVISOR_VIRTQUEUE_DESCRIPTOR_NEXT
	};
	make_available(fixture, TRANSMIT_RING, 0);
	nic_device_poll(&fixture->nic);
	expect_broken(fixture, TRANSMIT_RING);
	assert_false(nic_device_poll(&fixture->nic)); /* a broken NIC is not polled */
	nic_device_stop_polling(&fixture->nic);
	assert_int_equal(fixture->backend->sent_count, 0);
}

/* Sends one frame with `header` in front; true if the backend got it. */
static bool send_with_header(struct fixture *fixture, const struct ringvisor_net_header *header)
{
	uint8_t frame[FRAME_BYTES];
	make_frame(frame, 3);
	memcpy(frame, header, sizeof *header);
	unsigned sent = fixture->backend->sent_count;
	post_transmit(fixture, frame, sizeof frame);
	doorbell(fixture, NIC_EVENT_TRANSMIT_DOORBELL);
	return fixture->backend->sent_count == sent + 1;
}

/* What the header asks of the host must be what the guest negotiated (issue: a guest without
 * offloads sent 64 KiB GSO frames with gso_size 1, and the kernel took them). */
static void test_a_header_asking_for_what_was_not_negotiated_is_refused(void **state)
{
	struct fixture *fixture = *state;
	start(fixture); /* MAC only: no checksum offload, no TSO */
	struct ringvisor_net_header gso = { .flags = RINGVISOR_NET_HEADER_NEEDS_CSUM,
					    .gso_type = RINGVISOR_NET_GSO_TCPV4,
					    .gso_size = htole16(1448),
					    .checksum_start = htole16(34),
					    .checksum_offset = htole16(16) };
	struct ringvisor_net_header checksum = { .flags = RINGVISOR_NET_HEADER_NEEDS_CSUM,
						 .checksum_start = htole16(34),
						 .checksum_offset = htole16(6) };
	struct ringvisor_net_header valid = { .flags = RINGVISOR_NET_HEADER_DATA_VALID };
	struct ringvisor_net_header plain = { 0 };
	assert_false(send_with_header(fixture, &gso));
	assert_false(send_with_header(fixture, &checksum));
	assert_false(send_with_header(fixture, &valid)); /* a receiver's flag */
	assert_true(send_with_header(fixture, &plain));
	assert_int_equal(fixture->nic.counters.transmit_refused, 3);
	assert_int_equal(fixture->nic.counters.transmit_frames, 1);
	assert_false(fixture->nic.broken); /* a refused frame is not a broken ring */
	assert_int_equal(used(fixture, TRANSMIT_RING)->index, 4); /* each buffer given back */
}

static void test_offloads_are_checked_against_the_frame_and_the_mtu(void **state)
{
	struct fixture *fixture = *state;
	const uint64_t offloads = RINGVISOR_NIC_FEATURE(RINGVISOR_NIC_FEATURE_MAC) |
				  RINGVISOR_NIC_FEATURE(RINGVISOR_NIC_FEATURE_CSUM) |
				  RINGVISOR_NIC_FEATURE(RINGVISOR_NIC_FEATURE_HOST_TSO4);
	assert_int_equal(guest_setup(fixture, offloads), 0);
	nic_device_handle_event(&fixture->nic, NIC_EVENT_RECEIVE_DOORBELL, false);
	struct ringvisor_net_header gso = { .flags = RINGVISOR_NET_HEADER_NEEDS_CSUM,
					    .gso_type = RINGVISOR_NET_GSO_TCPV4,
					    .gso_size = htole16(1448),
					    .checksum_start = htole16(34),
					    .checksum_offset = htole16(16) };
	assert_true(send_with_header(fixture, &gso));
	gso.gso_size = htole16(1); /* 65,000 segments from one frame */
	assert_false(send_with_header(fixture, &gso));
	gso.gso_size = htole16(1461); /* segments bigger than the MTU */
	assert_false(send_with_header(fixture, &gso));
	gso.gso_size = htole16(1448);
	gso.flags = 0; /* TSO without a checksum to finish */
	assert_false(send_with_header(fixture, &gso));
	gso.flags = RINGVISOR_NET_HEADER_NEEDS_CSUM;
	gso.gso_type = RINGVISOR_NET_GSO_UDP;
	assert_false(send_with_header(fixture, &gso));
	struct ringvisor_net_header outside = { .flags = RINGVISOR_NET_HEADER_NEEDS_CSUM,
						.checksum_start = htole16(80),
						.checksum_offset = htole16(16) };
	assert_false(send_with_header(fixture, &outside)); /* 80 + 16 + 2 > 88 bytes of frame */
	assert_int_equal(fixture->nic.counters.transmit_refused, 5);
	char *text = printed_counters(fixture);
	assert_non_null(strstr(text, "nic test0 transmit_refused 5\n"));
	free(text);
}

/* The backend gets the launcher's checked copy of the header, not the guest's bytes again. */
static void test_the_backend_gets_the_checked_copy_of_the_header(void **state)
{
	struct fixture *fixture = *state;
	start(fixture);
	struct ringvisor_net_header plain = { 0 };
	assert_true(send_with_header(fixture, &plain));
	assert_memory_equal(fixture->backend->sent[0], &plain, sizeof plain);
	assert_true(fixture->backend->first_buffer_outside_guest);
}

static void test_transmit_of_no_frame_is_an_error_not_a_break(void **state)
{
	struct fixture *fixture = *state;
	start(fixture);
	uint8_t frame[FRAME_BYTES];
	make_frame(frame, 1);
	descriptors(fixture, TRANSMIT_RING)[0] =
		(struct ringvisor_virtqueue_descriptor){ .address = BUFFERS,
							 .length = RINGVISOR_NET_HEADER_BYTES - 1 };
	make_available(fixture, TRANSMIT_RING, 0);
	fixture->transmit_posted = 1;
	post_transmit(fixture, frame, sizeof frame);
	doorbell(fixture, NIC_EVENT_TRANSMIT_DOORBELL);
	assert_int_equal(fixture->nic.counters.transmit_errors, 1);
	assert_int_equal(fixture->backend->sent_count, 1);
	assert_int_equal(used(fixture, TRANSMIT_RING)->index, 2); /* both returned */
	assert_false(fixture->nic.broken);
}

/* ---- host to guest ------------------------------------------------------------------------------
 */

static void test_receive_into_the_guest_buffer(void **state)
{
	struct fixture *fixture = *state;
	start(fixture);
	guest_was_woken(fixture);
	queue_for_guest(fixture, 5, FRAME_BYTES);
	uint64_t buffer = post_receive_buffer(fixture, 1600);
	post_receive_buffer(fixture, 1600); /* one to spare: the backend is asked for more */
	doorbell(fixture, NIC_EVENT_RECEIVE_DOORBELL);

	struct ringvisor_virtqueue_used *ring = used(fixture, RECEIVE_RING);
	assert_int_equal(ring->index, 1);
	assert_int_equal(ring->ring[0].id, 0);
	assert_int_equal(ring->ring[0].length, FRAME_BYTES);
	assert_memory_equal(guest(fixture, buffer), fixture->backend->inbox[0], FRAME_BYTES);
	assert_int_equal(fixture->nic.counters.receive_frames, 1);
	assert_int_equal(fixture->nic.counters.receive_bytes, FRAME_BYTES - 12);
	assert_true(guest_was_woken(fixture));
	assert_true(fixture->backend->wait_calls > 0); /* drained: the backend arms its wakeup */
}

static void test_out_of_buffers_pauses_the_backend(void **state)
{
	struct fixture *fixture = *state;
	start(fixture);
	for (uint8_t tag = 0; tag < 3; tag++)
		queue_for_guest(fixture, tag, FRAME_BYTES);
	post_receive_buffer(fixture, 1600);
	post_receive_buffer(fixture, 1600);
	unsigned paused = fixture->backend->pause_calls;
	doorbell(fixture, NIC_EVENT_RECEIVE_DOORBELL);
	assert_int_equal(used(fixture, RECEIVE_RING)->index, 2);
	assert_true(fixture->nic.counters.receive_no_buffer >= 1);
	assert_true(fixture->backend->pause_calls > paused);
	/* The device wants to hear of the next buffer. */
	assert_int_equal(used(fixture, RECEIVE_RING)->flags & RINGVISOR_VIRTQUEUE_USED_NO_NOTIFY,
			 0);

	uint64_t buffer = post_receive_buffer(fixture, 1600);
	doorbell(fixture, NIC_EVENT_RECEIVE_DOORBELL);
	assert_int_equal(used(fixture, RECEIVE_RING)->index, 3);
	assert_memory_equal(guest(fixture, buffer), fixture->backend->inbox[2], FRAME_BYTES);
	assert_int_equal(fixture->nic.counters.receive_frames, 3);
}

static void test_a_frame_too_big_is_dropped_and_the_buffer_reused(void **state)
{
	struct fixture *fixture = *state;
	start(fixture);
	queue_for_guest(fixture, 1, 1500);
	queue_for_guest(fixture, 2, FRAME_BYTES);
	uint64_t buffer = post_receive_buffer(fixture, 1000);
	doorbell(fixture, NIC_EVENT_RECEIVE_DOORBELL);
	assert_int_equal(fixture->nic.counters.receive_truncated, 1);
	assert_int_equal(used(fixture, RECEIVE_RING)->index, 1);
	assert_memory_equal(guest(fixture, buffer), fixture->backend->inbox[1], FRAME_BYTES);
}

/* ---- a hostile guest
 * ------------------------------------------------------------------------------ */

static void expect_broken(struct fixture *fixture, uint64_t ring)
{
	assert_true(fixture->nic.broken);
	char *text = printed_counters(fixture);
	assert_non_null(strstr(text, "nic test0 broken 1\n"));
	free(text);
	/* Broken stays broken: nothing moves, nothing is pushed. */
	uint16_t used_index = used(fixture, ring)->index;
	uint8_t frame[FRAME_BYTES];
	make_frame(frame, 9);
	post_transmit(fixture, frame, sizeof frame);
	queue_for_guest(fixture, 9, FRAME_BYTES);
	post_receive_buffer(fixture, 1600);
	unsigned sent = fixture->backend->sent_count;
	doorbell(fixture, NIC_EVENT_TRANSMIT_DOORBELL);
	doorbell(fixture, NIC_EVENT_RECEIVE_DOORBELL);
	assert_int_equal(fixture->backend->sent_count, sent);
	assert_int_equal(used(fixture, ring)->index, used_index);
}

static void test_a_buffer_outside_ram_breaks_the_device(void **state)
{
	struct fixture *fixture = *state;
	start(fixture);
	descriptors(fixture, TRANSMIT_RING)[0] =
		(struct ringvisor_virtqueue_descriptor){ .address = RAM_BYTES - 16, .length = 64 };
	make_available(fixture, TRANSMIT_RING, 0);
	doorbell(fixture, NIC_EVENT_TRANSMIT_DOORBELL);
	assert_int_equal(fixture->backend->sent_count, 0);
	expect_broken(fixture, TRANSMIT_RING);
}

static void test_a_buffer_in_the_launcher_pages_breaks_the_device(void **state)
{
	struct fixture *fixture = *state;
	start(fixture);
	descriptors(fixture, RECEIVE_RING)[0] = (struct ringvisor_virtqueue_descriptor){
		.address = 0x1000, .length = 1600, .flags = RINGVISOR_VIRTQUEUE_DESCRIPTOR_WRITE
	};
	make_available(fixture, RECEIVE_RING, 0);
	queue_for_guest(fixture, 1, FRAME_BYTES);
	doorbell(fixture, NIC_EVENT_RECEIVE_DOORBELL);
	assert_int_equal(used(fixture, RECEIVE_RING)->index, 0);
	expect_broken(fixture, RECEIVE_RING);
}

static void test_a_readable_receive_buffer_breaks_the_device(void **state)
{
	struct fixture *fixture = *state;
	start(fixture);
	descriptors(fixture, RECEIVE_RING)[0] =
		(struct ringvisor_virtqueue_descriptor){ .address = BUFFERS, .length = 1600 };
	make_available(fixture, RECEIVE_RING, 0);
	queue_for_guest(fixture, 1, FRAME_BYTES);
	doorbell(fixture, NIC_EVENT_RECEIVE_DOORBELL);
	expect_broken(fixture, RECEIVE_RING);
}

static void test_a_looping_chain_breaks_the_device(void **state)
{
	struct fixture *fixture = *state;
	start(fixture);
	struct ringvisor_virtqueue_descriptor *table = descriptors(fixture, TRANSMIT_RING);
	table[0] = (struct ringvisor_virtqueue_descriptor){
		.address = BUFFERS,
		.length = 12,
		.flags = RINGVISOR_VIRTQUEUE_DESCRIPTOR_NEXT,
		.next = 1
	};
	table[1] = (struct ringvisor_virtqueue_descriptor){
		.address = BUFFERS,
		.length = 12,
		.flags = RINGVISOR_VIRTQUEUE_DESCRIPTOR_NEXT,
		.next = 0
	};
	make_available(fixture, TRANSMIT_RING, 0);
	doorbell(fixture, NIC_EVENT_TRANSMIT_DOORBELL);
	expect_broken(fixture, TRANSMIT_RING);
}

static void test_a_failed_backend_breaks_the_device(void **state)
{
	struct fixture *fixture = *state;
	start(fixture);
	nic_device_handle_event(&fixture->nic, NIC_EVENT_BACKEND_READABLE, true);
	expect_broken(fixture, RECEIVE_RING);
}

/* ---- faults, with fixed seeds -------------------------------------------------------------------
 */

static struct fixture *create_with_faults(struct fault_settings faults)
{
	struct fixture *fixture = create(&faults);
	start(fixture);
	return fixture;
}

static void transmit_frames(struct fixture *fixture, unsigned count)
{
	uint8_t frame[FRAME_BYTES];
	for (unsigned index = 0; index < count; index++) {
		make_frame(frame, (uint8_t)index);
		post_transmit(fixture, frame, sizeof frame);
	}
	doorbell(fixture, NIC_EVENT_TRANSMIT_DOORBELL);
}

static uint8_t sent_tag(struct fixture *fixture, unsigned index)
{
	return fixture->backend->sent[index][RINGVISOR_NET_HEADER_BYTES + 11];
}

static uint64_t counter(struct fixture *fixture, const char *name)
{
	char *text = printed_counters(fixture), key[64];
	snprintf(key, sizeof key, "nic test0 %s ", name);
	const char *line = strstr(text, key);
	assert_non_null(line);
	uint64_t value = strtoull(line + strlen(key), NULL, 10);
	free(text);
	return value;
}

static void test_transmit_loss_drops_every_frame(void **state)
{
	(void)state;
	struct fixture *fixture = create_with_faults((struct fault_settings){ .loss = 1 });
	transmit_frames(fixture, 4);
	assert_int_equal(fixture->backend->sent_count, 0);
	assert_int_equal(counter(fixture, "injected_losses"), 4);
	assert_int_equal(used(fixture, TRANSMIT_RING)->index, 4); /* the guest gets them back */
	tear_down((void **)&fixture);
}

static void test_transmit_duplicates_follow_their_frame(void **state)
{
	(void)state;
	struct fixture *fixture = create_with_faults((struct fault_settings){ .duplicate = 1 });
	transmit_frames(fixture, 2);
	assert_int_equal(fixture->backend->sent_count, 4);
	assert_int_equal(sent_tag(fixture, 0), 0);
	assert_int_equal(sent_tag(fixture, 1), 0);
	assert_int_equal(sent_tag(fixture, 2), 1);
	assert_int_equal(sent_tag(fixture, 3), 1);
	assert_int_equal(counter(fixture, "injected_duplicates"), 2);
	tear_down((void **)&fixture);
}

static void test_transmit_reorder_swaps_pairs(void **state)
{
	(void)state;
	struct fixture *fixture = create_with_faults((struct fault_settings){ .reorder = 1 });
	transmit_frames(fixture, 3);
	/* 0 is held and overtaken by 1; 2 is held and goes at the end of the batch. */
	assert_int_equal(fixture->backend->sent_count, 3);
	assert_int_equal(sent_tag(fixture, 0), 1);
	assert_int_equal(sent_tag(fixture, 1), 0);
	assert_int_equal(sent_tag(fixture, 2), 2);
	assert_int_equal(counter(fixture, "injected_reorders"), 1);
	tear_down((void **)&fixture);
}

/* Returns the byte offset where the received frame differs from the one sent; -1 if none. */
static int received_corruption(uint64_t seed)
{
	struct fault_settings faults = { .corrupt = 1, .seed = seed };
	struct fixture *corrupted = create_with_faults(faults);
	queue_for_guest(corrupted, 3, FRAME_BYTES);
	uint64_t buffer = post_receive_buffer(corrupted, 1600);
	doorbell(corrupted, NIC_EVENT_RECEIVE_DOORBELL);
	assert_int_equal(used(corrupted, RECEIVE_RING)->ring[0].length, FRAME_BYTES);
	assert_int_equal(counter(corrupted, "injected_corruptions"), 1);
	int differs = -1, differences = 0;
	for (int at = 0; at < FRAME_BYTES; at++)
		if (guest(corrupted, buffer)[at] != corrupted->backend->inbox[0][at])
			differs = at, differences++;
	assert_int_equal(differences, 1);
	tear_down((void **)&corrupted);
	return differs;
}

static void test_receive_corruption_flips_one_byte_where_the_seed_says(void **state)
{
	(void)state;
	int first = received_corruption(11);
	assert_true(first >= (int)RINGVISOR_NET_HEADER_BYTES); /* never the header */
	assert_int_equal(received_corruption(11), first);
}

static void test_receive_duplicate_fills_the_next_buffer(void **state)
{
	(void)state;
	struct fixture *fixture = create_with_faults((struct fault_settings){ .duplicate = 1 });
	queue_for_guest(fixture, 4, FRAME_BYTES);
	uint64_t first = post_receive_buffer(fixture, 1600);
	uint64_t second = post_receive_buffer(fixture, 1600);
	doorbell(fixture, NIC_EVENT_RECEIVE_DOORBELL);
	assert_int_equal(used(fixture, RECEIVE_RING)->index, 2);
	assert_memory_equal(guest(fixture, first), fixture->backend->inbox[0], FRAME_BYTES);
	assert_memory_equal(guest(fixture, second), fixture->backend->inbox[0], FRAME_BYTES);
	assert_int_equal(fixture->nic.counters.receive_frames, 2);
	assert_int_equal(counter(fixture, "injected_duplicates"), 1);
	tear_down((void **)&fixture);
}

static void test_receive_reorder_delivers_the_held_frame_second(void **state)
{
	(void)state;
	struct fixture *fixture = create_with_faults((struct fault_settings){ .reorder = 1 });
	queue_for_guest(fixture, 1, FRAME_BYTES);
	queue_for_guest(fixture, 2, FRAME_BYTES);
	uint64_t first = post_receive_buffer(fixture, 1600);
	uint64_t second = post_receive_buffer(fixture, 1600);
	doorbell(fixture, NIC_EVENT_RECEIVE_DOORBELL);
	assert_int_equal(used(fixture, RECEIVE_RING)->index, 2);
	assert_memory_equal(guest(fixture, first), fixture->backend->inbox[1], FRAME_BYTES);
	assert_memory_equal(guest(fixture, second), fixture->backend->inbox[0], FRAME_BYTES);
	assert_int_equal(counter(fixture, "injected_reorders"), 1);
	tear_down((void **)&fixture);
}

/* The same seed, the same frames: the same losses. */
static unsigned losses_with_seed(uint64_t seed)
{
	struct fixture *fixture =
		create_with_faults((struct fault_settings){ .loss = 0.5, .seed = seed });
	unsigned lost = 0;
	for (unsigned round = 0; round < 8; round++) {
		fixture->backend->sent_count = 0;
		transmit_frames(fixture, QUEUE_SIZE / 2);
		lost = (unsigned)counter(fixture, "injected_losses");
	}
	tear_down((void **)&fixture);
	return lost;
}

static void test_a_seed_replays_its_faults(void **state)
{
	(void)state;
	unsigned lost = losses_with_seed(7);
	assert_int_equal(losses_with_seed(7), lost);
	assert_int_not_equal(losses_with_seed(8), lost); /* the seed is not ignored */
	assert_true(lost > 4 && lost < 28);		 /* 32 frames at 0.5 */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_setup_offers_and_accepts, set_up, tear_down),
		cmocka_unit_test_setup_teardown(test_setup_refuses_what_was_not_offered, set_up,
						tear_down),
		cmocka_unit_test_setup_teardown(test_transmit_reaches_the_backend, set_up,
						tear_down),
		cmocka_unit_test_setup_teardown(test_transmit_without_wakeup_when_the_guest_polls,
						set_up, tear_down),
		cmocka_unit_test_setup_teardown(test_polling_sends_without_doorbells, set_up,
						tear_down),
		cmocka_unit_test_setup_teardown(test_polling_a_looping_chain_breaks_the_device,
						set_up, tear_down),
		cmocka_unit_test_setup_teardown(
			test_a_header_asking_for_what_was_not_negotiated_is_refused, set_up,
			tear_down),
		cmocka_unit_test_setup_teardown(
			test_offloads_are_checked_against_the_frame_and_the_mtu, set_up, tear_down),
		cmocka_unit_test_setup_teardown(
			test_the_backend_gets_the_checked_copy_of_the_header, set_up, tear_down),
		cmocka_unit_test_setup_teardown(test_transmit_of_no_frame_is_an_error_not_a_break,
						set_up, tear_down),
		cmocka_unit_test_setup_teardown(test_receive_into_the_guest_buffer, set_up,
						tear_down),
		cmocka_unit_test_setup_teardown(test_out_of_buffers_pauses_the_backend, set_up,
						tear_down),
		cmocka_unit_test_setup_teardown(
			test_a_frame_too_big_is_dropped_and_the_buffer_reused, set_up, tear_down),
		cmocka_unit_test_setup_teardown(test_a_buffer_outside_ram_breaks_the_device, set_up,
						tear_down),
		cmocka_unit_test_setup_teardown(
			test_a_buffer_in_the_launcher_pages_breaks_the_device, set_up, tear_down),
		cmocka_unit_test_setup_teardown(test_a_readable_receive_buffer_breaks_the_device,
						set_up, tear_down),
		cmocka_unit_test_setup_teardown(test_a_looping_chain_breaks_the_device, set_up,
						tear_down),
		cmocka_unit_test_setup_teardown(test_a_failed_backend_breaks_the_device, set_up,
						tear_down),
		cmocka_unit_test(test_transmit_loss_drops_every_frame),
		cmocka_unit_test(test_transmit_duplicates_follow_their_frame),
		cmocka_unit_test(test_transmit_reorder_swaps_pairs),
		cmocka_unit_test(test_receive_corruption_flips_one_byte_where_the_seed_says),
		cmocka_unit_test(test_receive_duplicate_fills_the_next_buffer),
		cmocka_unit_test(test_receive_reorder_delivers_the_held_frame_second),
		cmocka_unit_test(test_a_seed_replays_its_faults),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
