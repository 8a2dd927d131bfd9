/*
 * libFuzzer harness for the NIC's device model: the input becomes the guest's rings and the
 * fault settings, a datagram socket pair stands in for the TAP under the real TAP backend and
 * the fault injector, and the real nic.c code runs both data paths over them: transmit chains are
 * written to the "TAP", frames waiting on it are read into receive chains. ASan catches any access
 * outside guest RAM; the harness checks that a broken device stays broken and never pushes more
 * used entries than the ring holds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nic/fault_injection.h"
#include "nic/nic.h"
#include "tap/tap_backend.h"
#include "vm/vm.h"

#define RAM_BYTES (0x100000u + 0x8000u)
#define QUEUE_SIZE 8u
#define RECEIVE_RING 0x100000u /* descriptors, then available, then (page) used */
#define TRANSMIT_RING 0x102000u
#define BUFFERS 0x104000u

static void steer_descriptors(struct guest_memory *memory, uint64_t table)
{
	/* As in virtqueue_fuzz.c: top bit clear steers a descriptor into the buffer area, so
	 * the fuzzer gets past the first check; top bit set keeps raw, hostile values. */
	struct ringvisor_virtqueue_descriptor *descriptors = (void *)(memory->base + table);
	for (unsigned index = 0; index < QUEUE_SIZE; index++) {
		if (descriptors[index].address >> 63)
			continue;
		descriptors[index].address =
			BUFFERS + descriptors[index].address % (RAM_BYTES - BUFFERS);
		descriptors[index].length %= 0x1800;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 8)
		return 0;
	static struct vm vm;
	static struct nic_device nic;
	static struct nic_config config;
	memset(&vm, 0, sizeof vm);
	memset(&config, 0, sizeof config);
	vm.memory.base = calloc(1, RAM_BYTES);
	vm.memory.size = RAM_BYTES;
	vm.wake_fd = eventfd(0, EFD_NONBLOCK);

	/* The first bytes choose the faults; the rest fills both rings and the buffers. */
	config.faults = (struct fault_settings){
		.loss = data[0] / 1024.0,
		.duplicate = data[1] / 1024.0,
		.reorder = data[2] / 1024.0,
		.corrupt = data[3] / 1024.0,
		.seed = data[4],
	};
	unsigned frames_waiting = data[5] % 6;
	data += 8, size -= 8;
	size_t copied = size < RAM_BYTES - RECEIVE_RING ? size : RAM_BYTES - RECEIVE_RING;
	memcpy(vm.memory.base + RECEIVE_RING, data, copied);
	steer_descriptors(&vm.memory, RECEIVE_RING);
	steer_descriptors(&vm.memory, TRANSMIT_RING);

	int tap[2];
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, tap) < 0)
		abort();
	strcpy(config.interface_name, "fuzz0");
	strcpy(config.name, "fuzz0");
	struct nic_backend *backend = tap_backend_create(tap[0], config.name);
	nic_device_create(&nic, &vm, 0, &config, fault_injection_wrap(backend, &config.faults, 0));
	/* As io_thread_start() would, without a thread: the harness makes the calls itself. */
	int epoll_fd = epoll_create1(0);
	nic_device_watch(&nic, epoll_fd);

	const char *reason;
	uint64_t used = 0x1000;
	if (!virtqueue_configure(&nic.receive_queue, &vm.memory, QUEUE_SIZE, RECEIVE_RING,
				 RECEIVE_RING + 16 * QUEUE_SIZE, RECEIVE_RING + used, &reason) ||
	    !virtqueue_configure(&nic.transmit_queue, &vm.memory, QUEUE_SIZE, TRANSMIT_RING,
				 TRANSMIT_RING + 16 * QUEUE_SIZE, TRANSMIT_RING + used, &reason))
		abort();
	nic.active = true;

	/* Frames waiting on the "TAP", of sizes from the input. */
	static uint8_t frame[9000];
	for (unsigned index = 0; index < frames_waiting; index++) {
		size_t length = 12 + (index * 977 + (size ? data[index % size] : 0) * 31) % 8000;
		memset(frame, (int)index, length);
		if (send(tap[1], frame, length, 0) < 0)
			break;
	}
	uint64_t one = 1;
	bool broken_after_first = false;
	uint64_t frames_after_first = 0;
	for (int round = 0; round < 2; round++) {
		if (write(nic.transmit_doorbell_fd, &one, sizeof one) < 0 ||
		    write(nic.receive_doorbell_fd, &one, sizeof one) < 0)
			abort();
		nic_device_handle_event(&nic, NIC_EVENT_TRANSMIT_DOORBELL, false);
		nic_device_handle_event(&nic, NIC_EVENT_RECEIVE_DOORBELL, false);
		nic_device_handle_event(&nic, NIC_EVENT_BACKEND_READABLE, false);
		if (round == 0) {
			broken_after_first = nic.broken;
			frames_after_first =
				nic.counters.receive_frames + nic.counters.transmit_frames;
		}
	}
	/* A broken device stays broken, and moves no frame after it broke. */
	if (broken_after_first &&
	    (!nic.broken ||
	     nic.counters.receive_frames + nic.counters.transmit_frames != frames_after_first))
		abort();
	if (nic.counters.receive_frames > 3 * QUEUE_SIZE ||
	    nic.counters.transmit_frames > 6 * QUEUE_SIZE)
		abort(); /* more frames than the rings could ever have offered */

	while (recv(tap[1], frame, sizeof frame, 0) > 0) /* what the guest "sent" */
		;
	nic_device_destroy(&nic); /* closes tap[0] */
	close(epoll_fd);
	close(tap[1]), close(vm.wake_fd);
	free(vm.memory.base);
	return 0;
}
