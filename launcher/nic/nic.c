/*
 * The paravirtual NIC's device model (see nic.h): setup from the guest's hypercall, and the two
 * data paths the I/O thread runs between the virtqueues and the backend's operations.
 */
#include "nic/nic.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fail.h"
#include "nic/iovec_copy.h"
#include "nic/net_header.h"
#include "vm/vm.h"

#define FEATURES_BASIC                                                                             \
	(RINGVISOR_NIC_FEATURE(RINGVISOR_NIC_FEATURE_MTU) |                                        \
	 RINGVISOR_NIC_FEATURE(RINGVISOR_NIC_FEATURE_MAC))
#define FEATURES_OFFLOAD                                                                           \
	(RINGVISOR_NIC_FEATURE(RINGVISOR_NIC_FEATURE_CSUM) |                                       \
	 RINGVISOR_NIC_FEATURE(RINGVISOR_NIC_FEATURE_GUEST_CSUM) |                                 \
	 RINGVISOR_NIC_FEATURE(RINGVISOR_NIC_FEATURE_GUEST_TSO4) |                                 \
	 RINGVISOR_NIC_FEATURE(RINGVISOR_NIC_FEATURE_HOST_TSO4))

/* offload=off leaves a guest doing (and getting) every checksum and segment itself. */
static uint64_t features_offered(const struct nic_device *nic)
{
	return FEATURES_BASIC | (nic->config.offloads_off ? 0 : FEATURES_OFFLOAD);
}

/* Frames read per TAP wakeup before the I/O thread looks at its other work. */
#define RECEIVE_BATCH 256

static uint16_t receive_doorbell_port(unsigned index)
{
	return (uint16_t)(RINGVISOR_PORT_DOORBELL_FIRST + 4 * (2 * index));
}

static uint16_t transmit_doorbell_port(unsigned index)
{
	return (uint16_t)(RINGVISOR_PORT_DOORBELL_FIRST + 4 * (2 * index + 1));
}

static void bind_doorbell(struct vm *vm, int fd, uint16_t port, const char *name)
{
	struct kvm_ioeventfd binding = {
		.addr = port,
		.len = 4,
		.fd = fd,
		.flags = KVM_IOEVENTFD_FLAG_PIO,
	};
	if (ioctl(vm->vm_fd, KVM_IOEVENTFD, &binding) < 0)
		fail_errno("cannot bind NIC %s's doorbell port %#x to an eventfd", name, port);
}

static int doorbell_eventfd(const char *name)
{
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0)
		fail_errno("cannot make an eventfd for NIC %s's doorbell", name);
	return fd;
}

void nic_device_create(struct nic_device *nic, struct vm *vm, unsigned index,
		       const struct nic_config *config, struct nic_backend *backend)
{
	memset(nic, 0, sizeof *nic);
	nic->config = *config;
	nic->index = index;
	nic->vm = vm;
	nic->backend = backend;
	nic->epoll_fd = -1;
	nic->capture.fd = -1;
	nic->receive_doorbell_fd = doorbell_eventfd(config->name);
	nic->transmit_doorbell_fd = doorbell_eventfd(config->name);
	nic->sources[0] = (struct nic_event_source){ nic, NIC_EVENT_RECEIVE_DOORBELL };
	nic->sources[1] = (struct nic_event_source){ nic, NIC_EVENT_TRANSMIT_DOORBELL };
	nic->sources[2] = (struct nic_event_source){ nic, NIC_EVENT_BACKEND_READABLE };
}

void nic_device_capture(struct nic_device *nic, const char *path)
{
	char error[320];
	if (!pcap_open(&nic->capture, path, error, sizeof error))
		fail("NIC %s: %s", nic->config.name, error);
}

void nic_device_bind_doorbells(struct nic_device *nic, struct vm *vm)
{
	bind_doorbell(vm, nic->receive_doorbell_fd, receive_doorbell_port(nic->index),
		      nic->config.name);
	bind_doorbell(vm, nic->transmit_doorbell_fd, transmit_doorbell_port(nic->index),
		      nic->config.name);
}

static void watch(struct nic_device *nic, int fd, unsigned events, enum nic_event event)
{
	struct epoll_event watched = { .events = events, .data.ptr = &nic->sources[event] };
	if (epoll_ctl(nic->epoll_fd, EPOLL_CTL_ADD, fd, &watched) < 0)
		fail_errno("epoll_ctl for NIC %s", nic->config.name);
}

void nic_device_watch(struct nic_device *nic, int epoll_fd)
{
	nic->epoll_fd = epoll_fd;
	watch(nic, nic->receive_doorbell_fd, EPOLLIN, NIC_EVENT_RECEIVE_DOORBELL);
	watch(nic, nic->transmit_doorbell_fd, EPOLLIN, NIC_EVENT_TRANSMIT_DOORBELL);
	watch(nic, nic->backend->fd, 0, NIC_EVENT_BACKEND_READABLE); /* off for now */
	nic->backend_watched = true;
}

void nic_device_destroy(struct nic_device *nic)
{
	nic->backend->operations->destroy(nic->backend);
	nic->backend = NULL;
	close(nic->receive_doorbell_fd);
	close(nic->transmit_doorbell_fd);
	pcap_close(&nic->capture);
}

void nic_device_describe(const struct nic_device *nic, struct ringvisor_nic_info *info)
{
	memset(info, 0, sizeof *info);
	memcpy(info->mac, nic->config.mac, 6);
	info->mtu = nic->config.mtu;
	memcpy(info->ipv4_address, nic->config.ipv4_address, 4);
	memcpy(info->ipv4_gateway, nic->config.ipv4_gateway, 4);
	info->ipv4_prefix_length = nic->config.ipv4_prefix_length;
	info->queue_size_max = NIC_QUEUE_SIZE_MAX;
	info->features = features_offered(nic);
	info->receive_doorbell_port = receive_doorbell_port(nic->index);
	info->transmit_doorbell_port = transmit_doorbell_port(nic->index);
	/* For the guest's messages; a long switch name is cut short (and still ends in NUL). */
	size_t length = strnlen(nic->config.name, sizeof info->name - 1);
	memcpy(info->name, nic->config.name, length);
}

/* A guest may ask again and again: the first few refusals of each kind are said, every one is
 * counted (`refusals`, the count with this one, under `counter` in the statistics). */
#define REFUSALS_SHOWN 10

static void say_refusal(const struct nic_device *nic, uint64_t refusals, const char *what,
			const char *counter, const char *why)
{
	if (refusals <= REFUSALS_SHOWN)
		fprintf(stderr, "ringvisor: NIC %s: %s refused: %s\n", nic->config.name, what, why);
	if (refusals == REFUSALS_SHOWN)
		fprintf(stderr,
			"ringvisor: NIC %s: further %s refusals are counted (%s), not shown\n",
			nic->config.name, what, counter);
}

static int64_t refuse_setup(struct nic_device *nic, const char *why)
{
	uint64_t refusals = __atomic_load_n(&nic->setup_refusals, __ATOMIC_RELAXED) + 1;
	__atomic_store_n(&nic->setup_refusals, refusals,
			 __ATOMIC_RELAXED); /* the metrics read it */
	say_refusal(nic, refusals, "setup", "setup_refused", why);
	return RINGVISOR_ERROR_BAD_ARGUMENT;
}

/* What the guest negotiated decides what the backend may hand it. */
static int64_t backend_accept_features(struct nic_device *nic, uint64_t features)
{
	char why[96];
	if (!nic->backend->operations->accept_features(nic->backend, features, why, sizeof why))
		return refuse_setup(nic, why);
	return 0;
}

static bool configure_queue(struct nic_device *nic, struct virtqueue_device *queue,
			    const struct ringvisor_queue_setup *setup, const char *which)
{
	const char *reason;
	if (setup->size > NIC_QUEUE_SIZE_MAX) {
		char why[96];
		snprintf(why, sizeof why, "%s queue of %u entries, more than %u", which,
			 setup->size, NIC_QUEUE_SIZE_MAX);
		refuse_setup(nic, why);
		return false;
	}
	if (!virtqueue_configure(queue, &nic->vm->memory, setup->size, setup->descriptors,
				 setup->available, setup->used, &reason)) {
		char why[160];
		snprintf(why, sizeof why, "%s queue: %s", which, reason);
		refuse_setup(nic, why);
		return false;
	}
	return true;
}

int64_t nic_device_setup(struct nic_device *nic, uint64_t setup_address)
{
	struct ringvisor_nic_setup setup;
	if (__atomic_load_n(&nic->active, __ATOMIC_ACQUIRE))
		return refuse_setup(nic, "the NIC is already set up");
	const void *request = guest_memory_checked(&nic->vm->memory, setup_address, sizeof setup);
	if (!request)
		return RINGVISOR_ERROR_BAD_ADDRESS;
	memcpy(&setup, request, sizeof setup); /* read once, then checked */
	if (setup.features & ~features_offered(nic))
		return refuse_setup(nic, "the guest accepted features that were not offered");
	if (!configure_queue(nic, &nic->receive_queue, &setup.receive, "receive") ||
	    !configure_queue(nic, &nic->transmit_queue, &setup.transmit, "transmit"))
		return RINGVISOR_ERROR_BAD_ARGUMENT;

	int64_t refused = backend_accept_features(nic, setup.features);
	if (refused)
		return refused;
	nic->features = setup.features;
	__atomic_store_n(&nic->active, true, __ATOMIC_RELEASE);

	/* Let the I/O thread start: it turns on TAP reading when it sees a receive doorbell. */
	uint64_t one = 1;
	if (write(nic->receive_doorbell_fd, &one, sizeof one) < 0)
		fail_errno("waking the I/O thread");
	return 0;
}

/* ---- common to both directions --------------------------------------------------------- */

/*
 * The one way a NIC stops: a hostile ring or a failed backend. The backend's fd leaves the
 * epoll set, so a level-triggered "readable" (or an error epoll reports whatever we ask) cannot
 * keep the I/O thread spinning over a device that will never read again. The backend itself
 * stays until the launcher exits: frames for the NIC wait there, and are dropped (a TAP's
 * queue, a switch port's rings fill, and their senders count the drops).
 */
static void mark_broken(struct nic_device *nic, const char *reason)
{
	if (nic->broken)
		return;
	nic->broken = true;
	fprintf(stderr, "ringvisor: NIC %s: device broken: %s\n", nic->config.name, reason);
	if (nic->backend_watched &&
	    epoll_ctl(nic->epoll_fd, EPOLL_CTL_DEL, nic->backend->fd, NULL) == 0)
		nic->backend_watched = false;
	nic->backend_reading = false;
	nic->backend->operations->pause_receiving(nic->backend);
}

static void wake_guest_if_wanted(struct nic_device *nic, struct virtqueue_device *queue)
{
	if (!virtqueue_guest_wants_wakeup(queue))
		return;
	uint64_t one = 1;
	if (write(nic->vm->wake_fd, &one, sizeof one) == sizeof one)
		nic->counters.guest_wakeups++;
}

/* Off while the guest has no receive buffers: frames wait in the backend (a TAP's queue, a
 * switch port's rings), and nobody wakes us for them. */
static void set_backend_reading(struct nic_device *nic, bool reading)
{
	if (!reading)
		nic->backend->operations->pause_receiving(nic->backend);
	if (nic->backend_reading == reading || !nic->backend_watched)
		return;
	struct epoll_event event = { .events = reading ? EPOLLIN : 0,
				     .data.ptr = &nic->sources[NIC_EVENT_BACKEND_READABLE] };
	if (epoll_ctl(nic->epoll_fd, EPOLL_CTL_MOD, nic->backend->fd, &event) < 0)
		fail_errno("epoll_ctl on NIC %s", nic->config.name);
	nic->backend_reading = reading;
}

/* ---- host to guest: the backend into the receive queue ------------------------------------ */

static void deliver(struct nic_device *nic, uint16_t head, uint32_t length)
{
	virtqueue_push(&nic->receive_queue, head, length);
	nic->counters.receive_frames++;
	nic->counters.receive_bytes += length - RINGVISOR_NET_HEADER_BYTES;
}

/* What one step of the receive loop came to. */
enum receive_step {
	STEP_DONE,  /* a buffer taken, or a frame delivered into it */
	STEP_AGAIN, /* nothing this time; go round again */
	STEP_STOP,  /* no buffer, no frame, or the device broke */
};

/* The guest's next receive buffer into *chain, checked. */
static enum receive_step take_buffer(struct nic_device *nic, struct virtqueue_chain *chain)
{
	struct virtqueue_device *queue = &nic->receive_queue;
	enum virtqueue_pop_result result = virtqueue_pop(queue, chain);
	if (result == VIRTQUEUE_BROKEN) {
		mark_broken(nic, queue->broken_reason);
		return STEP_STOP;
	}
	if (result == VIRTQUEUE_EMPTY) {
		/* Out of buffers: stop reading (the TAP queues, then drops; a switch ring fills,
		 * then its senders drop) and ask for a doorbell when the guest posts more; look
		 * once more in case it just did. */
		virtqueue_set_doorbells_wanted(queue, true);
		if (virtqueue_pending(queue) > 0) { /* it just did: no doorbell needed */
			virtqueue_set_doorbells_wanted(queue, false);
			return STEP_AGAIN;
		}
		nic->counters.receive_no_buffer++;
		set_backend_reading(nic, false);
		return STEP_STOP;
	}
	if (chain->readable_count > 0 || chain->writable_bytes < RINGVISOR_NET_HEADER_BYTES + 60) {
		mark_broken(nic, "a receive chain is not one writable buffer of a frame's size");
		return STEP_STOP;
	}
	return STEP_DONE;
}

/* The backend's next frame into the buffer just taken, and to the guest. */
static enum receive_step fill_buffer(struct nic_device *nic, const struct virtqueue_chain *chain)
{
	long length = nic->backend->operations->receive(
		nic->backend, chain->buffers, chain->writable_count, chain->writable_bytes);
	if (length > 0) {
		/* Captured before the guest sees it, so what is written is what it got. */
		pcap_write_frame(&nic->capture, chain->buffers, chain->writable_count,
				 (size_t)length);
		deliver(nic, chain->head, (uint32_t)length);
		return STEP_DONE;
	}
	virtqueue_unpop(&nic->receive_queue); /* the buffer waits for the next frame */
	if (length == NIC_RECEIVE_TRUNCATED) {
		nic->counters.receive_truncated++; /* too big for the buffer, or a runt */
		return STEP_AGAIN;
	}
	if (length == NIC_RECEIVE_DROPPED)
		return STEP_AGAIN;
	if (length < 0) {
		char why[96];
		snprintf(why, sizeof why, "receiving failed: %s", strerror((int)-length));
		mark_broken(nic, why);
		return STEP_STOP;
	}
	return nic->backend->operations->wait_for_frames(nic->backend) ? STEP_AGAIN : STEP_STOP;
}

static void receive_from_backend(struct nic_device *nic)
{
	struct virtqueue_chain chain;
	unsigned delivered = 0, frames;
	for (frames = 0; frames < RECEIVE_BATCH; frames++) {
		enum receive_step step = take_buffer(nic, &chain);
		if (step == STEP_DONE)
			step = fill_buffer(nic, &chain);
		if (step == STEP_STOP)
			break;
		delivered += step == STEP_DONE;
	}
	if (delivered)
		wake_guest_if_wanted(nic, &nic->receive_queue);
	if (frames == RECEIVE_BATCH) /* more to do: others first, then back here */
		nic->backend->operations->receive_later(nic->backend);
}

/* ---- guest to host: the transmit queue to the backend ------------------------------------- */

/*
 * The frame's header, read once into `header` and checked against what the guest negotiated
 * (net_header_refusal); into `checked`, the chain with that copy in place of the guest's
 * header, so the backend (a TAP's kernel, another launcher) never reads the guest's bytes of it
 * again. The number of buffers in `checked`, or 0 if the header asks for what it may not.
 */
static unsigned check_header(struct nic_device *nic, struct ringvisor_net_header *header,
			     struct iovec *checked, const struct iovec *buffers, unsigned count,
			     size_t length)
{
	struct iovec copy = { header, sizeof *header };
	iovec_copy(&copy, 1, 0, buffers, count, 0, sizeof *header);
	const char *why =
		net_header_refusal(header, nic->features, nic->config.mtu, length - sizeof *header);
	if (why) {
		say_refusal(nic, ++nic->counters.transmit_refused, "transmit", "transmit_refused",
			    why);
		return 0;
	}
	checked[0] = copy;
	unsigned used = 1;
	size_t skip = sizeof *header;
	for (unsigned index = 0; index < count; index++) {
		size_t part = buffers[index].iov_len;
		if (part <= skip) {
			skip -= part;
			continue;
		}
		checked[used++] =
			(struct iovec){ (uint8_t *)buffers[index].iov_base + skip, part - skip };
		skip = 0;
	}
	return used;
}

static void write_frame(struct nic_device *nic, const struct iovec *guest_buffers,
			unsigned guest_count, size_t length)
{
	struct ringvisor_net_header header;
	struct iovec buffers[VIRTQUEUE_CHAIN_MAX + 1];
	unsigned count = check_header(nic, &header, buffers, guest_buffers, guest_count, length);
	if (count == 0)
		return;
	if (!nic->backend->operations->send(nic->backend, buffers, count, length)) {
		nic->counters.transmit_errors++;
		return;
	}
	pcap_write_frame(&nic->capture, buffers, count, length); /* as the guest sent it */
	nic->counters.transmit_frames++;
	nic->counters.transmit_bytes += length - RINGVISOR_NET_HEADER_BYTES;
}

/* Chains sent per transmit doorbell before the I/O thread looks at its other work. */
#define TRANSMIT_BATCH 256

/* Sends every chain the guest queued (up to a batch). Polling, it leaves the guest's doorbells
 * off; otherwise it turns them back on and looks once more, so no chain waits unannounced. */
static void transmit_to_backend(struct nic_device *nic, bool polling)
{
	struct virtqueue_device *queue = &nic->transmit_queue;
	struct virtqueue_chain chain;
	unsigned done = 0;
	for (;;) {
		virtqueue_set_doorbells_wanted(queue, false); /* we are looking anyway */
		enum virtqueue_pop_result result = VIRTQUEUE_EMPTY;
		while (done < TRANSMIT_BATCH &&
		       (result = virtqueue_pop(queue, &chain)) == VIRTQUEUE_CHAIN) {
			if (chain.readable_bytes < RINGVISOR_NET_HEADER_BYTES ||
			    chain.readable_bytes > RINGVISOR_FRAME_BYTES_MAX)
				nic->counters.transmit_errors++; /* no frame can be that size */
			else
				write_frame(nic, chain.buffers, chain.readable_count,
					    chain.readable_bytes);
			virtqueue_push(queue, chain.head, 0);
			done++;
		}
		if (result == VIRTQUEUE_BROKEN) {
			nic->backend->operations->send_done(nic->backend);
			mark_broken(nic, queue->broken_reason);
			return;
		}
		if (done == TRANSMIT_BATCH) {
			/* More to send, but others get a turn first: doorbells stay off and we
			 * ring our own, so epoll brings us back. */
			uint64_t one = 1;
			if (write(nic->transmit_doorbell_fd, &one, sizeof one) == sizeof one)
				nic->counters.transmit_doorbells--; /* not the guest's */
			break;
		}
		if (polling)
			break; /* we look again soon, and sleep only after nic_device_stop_polling
				*/
		virtqueue_set_doorbells_wanted(queue, true);
		if (virtqueue_pending(queue) == 0)
			break; /* nothing slipped in between our last look and the flag */
	}
	nic->backend->operations->send_done(nic->backend);
	if (done)
		wake_guest_if_wanted(nic, queue);
}

void nic_device_handle_event(struct nic_device *nic, enum nic_event event, bool failed)
{
	uint64_t count;
	if (event == NIC_EVENT_BACKEND_READABLE && failed) {
		mark_broken(nic, nic->backend->failure);
		return;
	}
	if (event == NIC_EVENT_BACKEND_READABLE)
		nic->backend->operations->readable(nic->backend);
	if (event != NIC_EVENT_BACKEND_READABLE) {
		int fd = event == NIC_EVENT_RECEIVE_DOORBELL ? nic->receive_doorbell_fd
							     : nic->transmit_doorbell_fd;
		if (read(fd, &count, sizeof count) != sizeof count)
			return;
		if (event == NIC_EVENT_RECEIVE_DOORBELL)
			nic->counters.receive_doorbells += count;
		else
			nic->counters.transmit_doorbells += count;
	}
	if (!__atomic_load_n(&nic->active, __ATOMIC_ACQUIRE) || nic->broken)
		return;
	switch (event) {
	case NIC_EVENT_RECEIVE_DOORBELL: /* new receive buffers: read the backend again */
		virtqueue_set_doorbells_wanted(&nic->receive_queue, false);
		set_backend_reading(nic, true);
		receive_from_backend(nic);
		break;
	case NIC_EVENT_BACKEND_READABLE:
		receive_from_backend(nic);
		break;
	case NIC_EVENT_TRANSMIT_DOORBELL:
		transmit_to_backend(nic, false);
		break;
	}
}

static bool running(const struct nic_device *nic)
{
	return __atomic_load_n(&nic->active, __ATOMIC_ACQUIRE) && !nic->broken;
}

bool nic_device_poll(struct nic_device *nic)
{
	if (!running(nic))
		return false;
	virtqueue_set_doorbells_wanted(&nic->transmit_queue, false);
	if (virtqueue_pending(&nic->transmit_queue) == 0)
		return false;
	transmit_to_backend(nic, true);
	return true;
}

void nic_device_stop_polling(struct nic_device *nic)
{
	if (running(nic))
		transmit_to_backend(nic, false);
}

void nic_device_tick(struct nic_device *nic)
{
	if (!nic->backend->operations->tick(nic->backend))
		return;
	if (__atomic_load_n(&nic->active, __ATOMIC_ACQUIRE) && !nic->broken && nic->backend_reading)
		receive_from_backend(nic);
}

void nic_device_visit_counters(const struct nic_device *nic, nic_counter_visitor *visit,
			       void *context)
{
#define NIC_VISIT_COUNTER(counter) visit(context, #counter, nic->counters.counter);
	NIC_COUNTERS(NIC_VISIT_COUNTER)
#undef NIC_VISIT_COUNTER
	nic->backend->operations->visit_counters(nic->backend, visit, context);
	visit(context, "setup_refused", __atomic_load_n(&nic->setup_refusals, __ATOMIC_RELAXED));
	visit(context, "broken", nic->broken);
}
