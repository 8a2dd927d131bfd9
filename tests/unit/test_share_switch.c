/*
 * Unit tests for the share switch with real ports on a real switch file in /dev/shm, several
 * in one process (each port has its own open file description, so to the locks they are as
 * separate as launchers): routing, learning, taking over a dead member's port while a peer is
 * still reading its frames, the ticks repairing scribbled indices, and the last one out.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "share/share_port.h"

static char switch_name[32];
static char switch_path[96];
static struct share_port ports[4];
static const uint8_t macs[4][6] = {
	{ 0x52, 0x54, 0, 0, 0, 1 },
	{ 0x52, 0x54, 0, 0, 0, 2 },
	{ 0x52, 0x54, 0, 0, 0, 3 },
	{ 0x52, 0x54, 0, 0, 0, 4 },
};
static const uint8_t broadcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

static int setup(void **state)
{
	static unsigned test_number;
	(void)state;
	snprintf(switch_name, sizeof switch_name, "unit-%d-%u", (int)getpid(), test_number++);
	snprintf(switch_path, sizeof switch_path, "/dev/shm/ringvisor-%u/share-%s",
		 (unsigned)geteuid(), switch_name);
	return 0;
}

/* Sends a frame of `length` bytes from port `from` (source MAC its own) to `destination`, its
 * payload filled with `tag`. */
static void send_frame(unsigned from, const uint8_t destination[6], uint8_t tag, size_t length)
{
	uint8_t frame[2048];
	memset(frame, 0, 12);
	memcpy(frame + 12, destination, 6);
	memcpy(frame + 18, macs[from], 6);
	frame[24] = 0x08, frame[25] = 0x00;
	memset(frame + 26, tag, length - 26);
	struct iovec segment = { frame, length };
	assert_true(share_port_send(&ports[from], &segment, 1, length));
}

/* Receives the next frame at port `at`: its tag (first payload byte), or -1 if none. */
static int receive_frame(unsigned at)
{
	uint8_t frame[2048];
	struct iovec segment = { frame, sizeof frame };
	long length = share_port_receive(&ports[at], &segment, 1, sizeof frame);
	assert_true(length >= 0);
	if (length == 0)
		return -1;
	assert_true(length > 26);
	assert_int_equal(frame[10], 1); /* num_buffers */
	return frame[26];
}

static void test_unicast_goes_to_its_port_only(void **state)
{
	(void)state;
	for (unsigned index = 0; index < 3; index++)
		share_switch_join(&ports[index], switch_name, macs[index], 1500);
	send_frame(0, macs[1], 0xa1, 100);
	assert_int_equal(receive_frame(1), 0xa1);
	assert_int_equal(receive_frame(1), -1);
	assert_int_equal(receive_frame(2), -1); /* the bystander sees nothing */
	send_frame(2, broadcast, 0xb2, 60);
	assert_int_equal(receive_frame(0), 0xb2);
	assert_int_equal(receive_frame(1), 0xb2);
	assert_int_equal(receive_frame(2), -1);
	assert_int_equal(ports[2].counters.switch_received_unicast, 0);
	assert_int_equal(ports[2].counters.switch_received_not_ours, 0);
	/* A guest sending from a neighbour's MAC does not take its traffic. */
	uint8_t frame[60] = { 0 };
	memcpy(frame + 12, broadcast, 6);
	memcpy(frame + 18, macs[1], 6); /* port 2 pretends to be port 1 */
	struct iovec segment = { frame, sizeof frame };
	share_port_send(&ports[2], &segment, 1, sizeof frame);
	receive_frame(0), receive_frame(1);
	send_frame(0, macs[1], 0xc3, 100);
	assert_int_equal(receive_frame(1), 0xc3);
	assert_int_equal(receive_frame(2), -1);
	for (unsigned index = 0; index < 3; index++)
		share_switch_leave(&ports[index]);
	assert_int_equal(access(switch_path, F_OK), -1); /* the last one out removed it */
}

/*
 * A member leaves (or dies) with frames still in its ring to a live peer, which has read one of
 * them; a newcomer takes the port. The peer reads the rest of the old frames, then the
 * newcomer's, and no ring looks corrupt to anyone.
 */
static void test_newcomer_continues_a_ring_being_read(void **state)
{
	(void)state;
	share_switch_join(&ports[0], switch_name, macs[0], 1500);
	share_switch_join(&ports[1], switch_name, macs[1], 1500);
	send_frame(0, macs[1], 1, 100);
	send_frame(0, macs[1], 2, 1500);
	send_frame(0, macs[1], 3, 100);
	assert_int_equal(receive_frame(1), 1);
	share_switch_leave(&ports[0]);
	share_switch_join(&ports[2], switch_name, macs[2], 1500);
	assert_int_equal(ports[2].port, 0); /* the port the first one left */
	send_frame(2, macs[1], 4, 200);
	assert_int_equal(receive_frame(1), 2);
	assert_int_equal(receive_frame(1), 3);
	assert_int_equal(receive_frame(1), 4);
	assert_int_equal(receive_frame(1), -1);
	/* And the other way: nothing sent to the first one reaches the newcomer. */
	send_frame(1, macs[0], 5, 100);
	send_frame(1, macs[2], 6, 100);
	assert_int_equal(receive_frame(2), 6);
	assert_int_equal(ports[1].counters.switch_corrupt, 0);
	assert_int_equal(ports[2].counters.switch_corrupt, 0);
	share_switch_leave(&ports[1]);
	share_switch_leave(&ports[2]);
	assert_int_equal(access(switch_path, F_OK), -1);
}

/* Indices scribbled on by someone else: reported as corrupt, then put right by the two sides'
 * ticks, after which frames flow again. */
static void test_ticks_repair_scribbled_indices(void **state)
{
	(void)state;
	share_switch_join(&ports[0], switch_name, macs[0], 1500);
	share_switch_join(&ports[1], switch_name, macs[1], 1500);
	send_frame(0, macs[1], 1, 100);
	assert_int_equal(receive_frame(1), 1);
	struct share_ring_indices *ring = &ports[0].region->indices[0][1];
	ring->tail += 12; /* misaligned: the reader must not trust it */
	ring->head += SHARE_RING_BYTES * 2;
	assert_int_equal(receive_frame(1), -1);
	assert_int_equal(ports[1].counters.switch_corrupt, 1);
	send_frame(0, macs[1], 2, 100); /* dropped: the writer does not trust the head */
	assert_int_equal(ports[0].counters.switch_dropped_corrupt, 1);
	share_switch_tick(&ports[0]); /* the writer puts its tail back */
	share_switch_tick(&ports[1]); /* the reader its head, and looks again */
	send_frame(0, macs[1], 3, 100);
	assert_int_equal(receive_frame(1), 3);
	/* A scribbled port entry is put back by its owner's tick. */
	ports[1].region->ports[1].state = SHARE_PORT_FREE;
	share_switch_tick(&ports[1]);
	assert_int_equal(ports[1].region->ports[1].state, SHARE_PORT_ACTIVE);
	assert_int_equal(ports[1].counters.switch_entry_restored, 1);
	share_switch_leave(&ports[0]);
	share_switch_leave(&ports[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_unicast_goes_to_its_port_only, setup),
		cmocka_unit_test_setup(test_newcomer_continues_a_ring_being_read, setup),
		cmocka_unit_test_setup(test_ticks_repair_scribbled_indices, setup),
	};
	return cmocka_run_group_tests_name("share switch", tests, NULL, NULL);
}
