/*
 * nictest: a guest that breaks its own NIC's transmit ring on purpose, for the launcher's
 * hostile-ring tests.
 *
 *	ringvisor run --net tap,ifname=rv0,ip=198.18.0.2/24 build/tests/guests/nictest.elf -- MODE
 *
 * Every mode sets NIC 0 up as usual (receive buffers posted), then writes something no device
 * may accept to the transmit queue and rings its doorbell:
 *   garbage-tx  a descriptor whose buffer lies outside guest RAM
 *   loop-tx     a descriptor chained to itself
 *   bad-index   an available index 1000 entries ahead of the ring
 * then sleeps 500 ms, says `nictest: still alive` and exits 0. The launcher is expected to mark
 * the device broken, say why, and keep the guest running. One mode breaks no ring:
 *   gso-size-one  20 frames of 60,000 bytes whose header asks for TCPv4 segmentation into
 *                 segments of one byte, whatever was negotiated; the launcher must refuse each
 *                 (transmit_refused) before the host's kernel sees it, and break nothing
 *   gso-size-24   the same with segments of 24 bytes, the smallest size allowed, which would
 *                 still make 2,500 segments of each frame
 */
#include <stdio.h>
#include <string.h>

#include <ringvisor/kernel.h>

#include "../../../guest/kernel/nic_driver.h"

#define GARBAGE_ADDRESS 0xfffffff00000ull

/* Publishes descriptor `head` (written by the caller) behind the driver's back. */
static void publish_raw(struct virtqueue_driver *queue, uint16_t head)
{
	queue->available->ring[queue->next_available & queue->mask] = head;
	queue->next_available++;
	__atomic_store_n(&queue->available->index, queue->next_available, __ATOMIC_RELEASE);
}

static void garbage_tx(struct virtqueue_driver *queue)
{
	static uint8_t token;
	struct virtqueue_buffer buffer = { .address = GARBAGE_ADDRESS, .length = 64 };
	if (virtqueue_driver_add(queue, &buffer, 1, &token) < 0)
		panic("nictest: no free transmit descriptor");
}

static void loop_tx(struct virtqueue_driver *queue)
{
	static uint8_t frame[64];
	uint16_t head = queue->free_head;
	struct ringvisor_virtqueue_descriptor *descriptor = &queue->descriptors[head];
	descriptor->address = (uintptr_t)frame;
	descriptor->length = sizeof frame;
	descriptor->next = head;
	descriptor->flags = RINGVISOR_VIRTQUEUE_DESCRIPTOR_NEXT;
	publish_raw(queue, head);
}

static void bad_index(struct virtqueue_driver *queue)
{
	queue->next_available = (uint16_t)(queue->next_available + 1000);
	__atomic_store_n(&queue->available->index, queue->next_available, __ATOMIC_RELEASE);
}

#define GSO_FRAMES 20
#define GSO_FRAME_BYTES 60000

static uint16_t gso_size_asked;

static void gso_frames(struct virtqueue_driver *queue)
{
	static uint8_t frame[GSO_FRAME_BYTES];
	static uint8_t tokens[GSO_FRAMES];
	struct ringvisor_net_header header = { .flags = RINGVISOR_NET_HEADER_NEEDS_CSUM,
					       .gso_type = RINGVISOR_NET_GSO_TCPV4,
					       .header_length = 54,
					       .gso_size = gso_size_asked,
					       .checksum_start = 34,
					       .checksum_offset = 16 };
	memcpy(frame, &header, sizeof header);
	memset(frame + sizeof header, 0xff, 6); /* broadcast: the host would see every one */
	for (unsigned index = 0; index < GSO_FRAMES; index++) {
		struct virtqueue_buffer buffer = { .address = (uintptr_t)frame,
						   .length = sizeof frame };
		if (virtqueue_driver_add(queue, &buffer, 1, &tokens[index]) < 0)
			panic("nictest: no free transmit descriptor");
	}
}

int main(int argc, char **argv)
{
	void (*breaker)(struct virtqueue_driver *) = NULL;
	if (argc == 2 && strcmp(argv[1], "garbage-tx") == 0)
		breaker = garbage_tx;
	else if (argc == 2 && strcmp(argv[1], "loop-tx") == 0)
		breaker = loop_tx;
	else if (argc == 2 && strcmp(argv[1], "bad-index") == 0)
		breaker = bad_index;
	else if (argc == 2 && strcmp(argv[1], "gso-size-one") == 0)
		breaker = gso_frames, gso_size_asked = 1;
	else if (argc == 2 && strcmp(argv[1], "gso-size-24") == 0)
		breaker = gso_frames, gso_size_asked = 24;
	if (!breaker) {
		printf("usage: nictest garbage-tx | loop-tx | bad-index | gso-size-one | "
		       "gso-size-24\n");
		return 2;
	}
	if (kernel_boot_info()->nic_count == 0) {
		printf("nictest: this guest has no NIC (give the launcher --net)\n");
		return 1;
	}

	struct nic_driver *nic = nic_driver_create(0);
	printf("nictest: NIC %.16s set up, %s\n", nic->info->name, argv[1]);
	breaker(&nic->transmit);
	virtqueue_driver_doorbell_now(&nic->transmit);

	kernel_sleep_until(clock_now_ns() + 500000000ull);
	printf("nictest: still alive\n");
	return 0;
}
