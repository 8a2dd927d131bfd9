/*
 * libFuzzer harness for the `share` backend's data path against a hostile switch: the input
 * becomes what another launcher left in shared memory for us (a ring's tail index and its
 * records, that port's table entry) and a frame our own guest sends. The real share_port.c,
 * share_ring.c and frame_offload.c code run over a real switch file in /dev/shm (removed at
 * exit, when the port leaves). ASan catches any access outside the buffers; the harness checks
 * that a receive never reports more bytes than the buffer holds.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "share/share_port.h"

#define BUFFER_BYTES (12 + 14 + 65535)
#define RING_INPUT_MAX (256u << 10)

static struct share_port port;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t our_mac[6] = { 0x52, 0x54, 0x00, 0xfa, 0x22, 0x01 };
	static uint8_t buffer[BUFFER_BYTES];
	if (!port.region) {
		char name[32];
		snprintf(name, sizeof name, "fuzz-%d", (int)getpid());
		share_switch_join(&port, name, our_mac, 1500); /* port 0: the switch is new */
	}
	if (size < 16)
		return 0;

	/* Which peer, what our guest negotiated, and the room in its receive buffer. */
	unsigned peer = 1 + data[0] % (SHARE_PORTS_MAX - 1);
	unsigned buffer_count = data[0] & 0x80 ? 2 : 1; /* one buffer, or two halves */
	bool vandalized_position = data[0] & 0x40;	/* our own position is what a vandal left */
	port.guest_features = (uint64_t)data[1] << 1;	/* bits 1 (GUEST_CSUM) to 8 (GUEST_TSO4) */
	size_t room = 60 + ((size_t)data[2] << 8 | data[3]) % (BUFFER_BYTES - 60);
	uint32_t tail;
	memcpy(&tail, data + 4, 4);
	struct share_port_entry *entry = &port.region->ports[peer];
	entry->state = data[8] & 1 ? SHARE_PORT_ACTIVE : SHARE_PORT_FREE;
	entry->generation = data[9];
	memcpy(data[8] & 2 ? &entry->own_mac : &entry->macs[0], data + 10, 6);
	entry->own_mac |= 1ull << 63;
	entry->macs[0] |= 1ull << 63;
	port.guest_features |= (uint64_t)data[9] << 9; /* HOST_TSO4 is bit 11 */
	data += 16, size -= 16;

	/* The peer's ring to us: its records from the input, its tail from the input, read
	 * from the start. */
	struct share_peer *sender = &port.peers[peer];
	sender->receive.position = 0;
	sender->receive_corrupt = false;
	port.segmenting = false;
	port.region->indices[peer][port.port].head = 0;
	size_t ring_bytes = size < RING_INPUT_MAX ? size : RING_INPUT_MAX;
	memcpy(port.region->rings[peer][port.port], data, ring_bytes);
	port.region->indices[peer][port.port].tail = tail % 4 ? tail : tail % (ring_bytes + 64);
	if (vandalized_position)
		sender->receive.position = tail >> 8;

	struct iovec buffers[2] = { { buffer, room / 2 }, { buffer + room / 2, room - room / 2 } };
	for (unsigned frames = 0; frames < 4096; frames++) {
		long length = share_port_receive(&port, buffers, buffer_count, room);
		if (length == 0)
			break;
		if (length > (long)room)
			abort(); /* more than the buffer holds */
	}
	share_port_ask_for_wakeup(&port);
	share_port_drain_wakeups(&port);
	share_switch_tick(&port);

	/* Our guest sends the input as a frame: routed by its own headers to the peer or flooded;
	 * the transmit ring is reset first so that it never fills up. */
	port.peers[peer].transmit.position = 0;
	port.peers[peer].transmit_corrupt = false;
	port.region->indices[port.port][peer].head = 0;
	port.region->indices[port.port][peer].tail = 0;
	struct iovec frame = { (void *)data, size < BUFFER_BYTES ? size : BUFFER_BYTES };
	share_port_send(&port, &frame, 1, frame.iov_len);
	return 0;
}
