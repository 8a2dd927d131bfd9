/* The share backend's operations (see share_backend.h): each is one call into the port. */
#include "share/share_backend.h"

#include <stdlib.h>

#include "fail.h"
#include "share/share_port.h"

struct share_backend {
	struct nic_backend backend;
	struct share_port port;
};

static struct share_port *port_of(struct nic_backend *backend)
{
	return &((struct share_backend *)backend)->port;
}

/* The port finishes what the guest cannot take (share_port.c). */
static bool accept_features(struct nic_backend *backend, uint64_t features, char *why,
			    size_t why_size)
{
	(void)why, (void)why_size;
	port_of(backend)->guest_features = features;
	return true;
}

static bool send_frame(struct nic_backend *backend, const struct iovec *buffers, unsigned count,
		       size_t length)
{
	return share_port_send(port_of(backend), buffers, count, length);
}

static void send_done(struct nic_backend *backend)
{
	(void)backend; /* each frame woke its receiver as it went */
}

static long receive(struct nic_backend *backend, const struct iovec *buffers, unsigned count,
		    size_t room)
{
	return share_port_receive(port_of(backend), buffers, count, room);
}

static bool wait_for_frames(struct nic_backend *backend)
{
	return share_port_ask_for_wakeup(port_of(backend));
}

static void pause_receiving(struct nic_backend *backend)
{
	share_port_pause_wakeups(port_of(backend));
}

static void receive_later(struct nic_backend *backend)
{
	share_port_wake_self(port_of(backend)); /* others first, then back here */
}

static void readable(struct nic_backend *backend)
{
	share_port_drain_wakeups(port_of(backend));
}

/* A wakeup a dying sender took with it would leave frames waiting: the device looks. */
static bool tick(struct nic_backend *backend)
{
	share_switch_tick(port_of(backend));
	return true;
}

static void visit_counters(const struct nic_backend *backend, nic_counter_visitor *visit,
			   void *context)
{
	share_port_visit_counters(&((const struct share_backend *)backend)->port, visit, context);
}

static void destroy(struct nic_backend *backend)
{
	share_switch_leave(port_of(backend)); /* closes the FIFO, backend->fd */
	free(backend);
}

static const struct nic_backend_operations share_operations = {
	.accept_features = accept_features,
	.send = send_frame,
	.send_done = send_done,
	.receive = receive,
	.wait_for_frames = wait_for_frames,
	.pause_receiving = pause_receiving,
	.receive_later = receive_later,
	.readable = readable,
	.tick = tick,
	.visit_counters = visit_counters,
	.destroy = destroy,
};

struct nic_backend *share_backend_join(const char *name, const uint8_t mac[6], unsigned mtu)
{
	struct share_backend *share = calloc(1, sizeof *share);
	if (!share)
		fail("out of memory for switch %s", name);
	share_switch_join(&share->port, name, mac, mtu);
	share->backend =
		(struct nic_backend){ &share_operations, share_port_wakeup_fd(&share->port),
				      "the switch port's wakeup FIFO failed" };
	return &share->backend;
}
