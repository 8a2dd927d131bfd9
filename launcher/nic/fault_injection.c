/*
 * The fault injecting backend (see fault_injection.h). Every decision draws from the
 * direction's generator in a fixed order (loss, corruption, duplication, reordering), so that
 * a seed replays the same faults on the same frames.
 */
#include "nic/fault_injection.h"

#include <stdlib.h>
#include <string.h>

#include "fail.h"
#include "nic/frame_offload.h"
#include "nic/iovec_copy.h"
#include "nic/net_header.h"

/* One direction's decisions. */
struct fault_injector {
	uint64_t state;
	uint32_t loss, duplicate, reorder, corrupt; /* thresholds out of 2^32 */
};

/* A frame the fault injector keeps: held back for reordering, or a duplicate to deliver. */
struct kept_frame {
	uint8_t *bytes; /* RINGVISOR_FRAME_BYTES_MAX */
	size_t length;
	bool kept;
};

#define FAULT_COUNTERS(X)                                                                          \
	X(injected_losses)                                                                         \
	X(injected_duplicates)                                                                     \
	X(injected_reorders)                                                                       \
	X(injected_corruptions)

struct fault_injection {
	struct nic_backend backend; /* first: the device holds a pointer to this */
	struct nic_backend *inner;
	bool active; /* any fault configured; if not, every call goes straight to `inner` */
	struct fault_injector receive_faults, transmit_faults;
	struct kept_frame receive_held, receive_duplicate, transmit_held;
	bool receive_overtaken; /* a frame went past receive_held: it goes next */
	uint8_t *scratch;	/* a frame being corrupted */
	struct {
#define FAULT_COUNTER_FIELD(name) uint64_t name;
		FAULT_COUNTERS(FAULT_COUNTER_FIELD)
#undef FAULT_COUNTER_FIELD
	} counters;
};

/* ---- the generator ------------------------------------------------------------------------ */

/* splitmix64: small, fast, and every seed (including 0) gives a good sequence. */
static uint64_t next_random(struct fault_injector *injector)
{
	uint64_t z = (injector->state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint32_t threshold(double probability)
{
	if (probability <= 0)
		return 0;
	if (probability >= 1)
		return UINT32_MAX;
	return (uint32_t)(probability * 4294967296.0);
}

/* `stream` tells apart the generators sharing one seed (each NIC, each direction). */
static void injector_init(struct fault_injector *injector, const struct fault_settings *settings,
			  uint64_t stream)
{
	injector->state = settings->seed ^ (stream * 0xd1b54a32d192ed03ull);
	injector->loss = threshold(settings->loss);
	injector->duplicate = threshold(settings->duplicate);
	injector->reorder = threshold(settings->reorder);
	injector->corrupt = threshold(settings->corrupt);
}

static bool roll(struct fault_injector *injector, uint32_t threshold)
{
	if (threshold == 0)
		return false; /* no draw: a fault that is off does not shift the others */
	return (uint32_t)(next_random(injector) >> 32) < threshold || threshold == UINT32_MAX;
}

static uint32_t random_below(struct fault_injector *injector, uint32_t limit)
{
	return limit ? (uint32_t)((next_random(injector) >> 32) % limit) : 0;
}

static bool fault_settings_active(const struct fault_settings *settings)
{
	return threshold(settings->loss) || threshold(settings->duplicate) ||
	       threshold(settings->reorder) || threshold(settings->corrupt);
}

/* ---- what both directions do to a frame ------------------------------------------------------ */

/*
 * Corrupts a frame (header, then Ethernet frame, in one buffer) as a wire would: one byte
 * flipped under checksums that the receiver will check. With checksum offload that needs care:
 * a NEEDS_CSUM checksum is not there yet (whoever finishes it would cover the bad byte), and
 * DATA_VALID tells the receiver not to look. So the checksum is finished here and both flags
 * dropped first. A GSO frame is segmented and checksummed after us, which would hide the
 * damage: those are left alone. Returns false if the frame was not corrupted.
 */
static bool corrupt_frame(struct fault_injector *faults, uint8_t *frame, size_t length)
{
	const size_t header = RINGVISOR_NET_HEADER_BYTES;
	const char *reason;
	if (length <= header || !frame_finish_checksum(frame, length, &reason))
		return false;
	frame[header + random_below(faults, (uint32_t)(length - header))] ^= 0xff;
	return true;
}

static void keep(struct kept_frame *frame, const struct iovec *buffers, unsigned count,
		 size_t length)
{
	struct iovec whole = { frame->bytes, length };
	iovec_copy(&whole, 1, 0, buffers, count, 0, length);
	frame->length = length;
	frame->kept = true;
}

static struct fault_injection *injection_of(struct nic_backend *backend)
{
	return (struct fault_injection *)backend;
}

/* ---- host to guest ----------------------------------------------------------------------------
 */

/* Hands a kept frame to the guest's buffers; a buffer too small for it loses it. */
static long deliver_kept(struct kept_frame *frame, const struct iovec *buffers, unsigned count,
			 size_t room)
{
	frame->kept = false;
	if (frame->length > room)
		return NIC_RECEIVE_TRUNCATED;
	struct iovec whole = { frame->bytes, frame->length };
	iovec_copy(buffers, count, 0, &whole, 1, 0, frame->length);
	return (long)frame->length;
}

/* The frame is in the guest's buffers already: gather it, corrupt it, put it back. */
static void corrupt_received(struct fault_injection *injection, const struct iovec *buffers,
			     unsigned count, size_t length)
{
	struct ringvisor_net_header header;
	struct iovec header_copy = { &header, sizeof header };
	iovec_copy(&header_copy, 1, 0, buffers, count, 0, sizeof header);
	if (header.gso_type != RINGVISOR_NET_GSO_NONE || length > RINGVISOR_FRAME_BYTES_MAX)
		return;
	struct iovec whole = { injection->scratch, length };
	iovec_copy(&whole, 1, 0, buffers, count, 0, length);
	if (corrupt_frame(&injection->receive_faults, injection->scratch, length)) {
		iovec_copy(buffers, count, 0, &whole, 1, 0, length);
		injection->counters.injected_corruptions++;
	}
}

/* A frame the backend just put into the guest's buffers: what the link does to it. */
static long receive_faults(struct fault_injection *injection, const struct iovec *buffers,
			   unsigned count, size_t length)
{
	struct fault_injector *faults = &injection->receive_faults;
	if (roll(faults, faults->loss)) {
		injection->counters.injected_losses++;
		return NIC_RECEIVE_DROPPED;
	}
	if (roll(faults, faults->corrupt))
		corrupt_received(injection, buffers, count, length);
	if (roll(faults, faults->duplicate)) /* the copy goes next */
		keep(&injection->receive_duplicate, buffers, count, length);
	if (!injection->receive_held.kept && roll(faults, faults->reorder)) {
		/* Counted as a reorder once another frame overtakes it. */
		keep(&injection->receive_held, buffers, count, length);
		return NIC_RECEIVE_DROPPED; /* for now: the buffer takes the next frame */
	}
	if (injection->receive_held.kept)
		injection->receive_overtaken = true;
	return (long)length;
}

static long receive(struct nic_backend *backend, const struct iovec *buffers, unsigned count,
		    size_t room)
{
	struct fault_injection *injection = injection_of(backend);
	if (!injection->active)
		return injection->inner->operations->receive(injection->inner, buffers, count,
							     room);
	if (injection->receive_duplicate.kept) {
		long length = deliver_kept(&injection->receive_duplicate, buffers, count, room);
		if (length > 0) { /* else not duplicated after all: the buffer was too small */
			injection->counters.injected_duplicates++;
			return length;
		}
	}
	if (injection->receive_overtaken) {
		injection->receive_overtaken = false;
		injection->counters.injected_reorders++;
		return deliver_kept(&injection->receive_held, buffers, count, room);
	}
	long length = injection->inner->operations->receive(injection->inner, buffers, count, room);
	/* Frames are reordered among those that are there: one is never held back waiting for
	 * traffic that may not come. Nothing overtook it, so it is no reorder. */
	if (length == NIC_RECEIVE_NOTHING && injection->receive_held.kept)
		return deliver_kept(&injection->receive_held, buffers, count, room);
	if (length <= 0)
		return length;
	return receive_faults(injection, buffers, count, (size_t)length);
}

/* ---- guest to host ----------------------------------------------------------------------------
 */

/* Sends the frame held back for reordering; `overtaken` if another frame went out first. */
static void send_held(struct fault_injection *injection, bool overtaken)
{
	struct kept_frame *held = &injection->transmit_held;
	if (!held->kept)
		return;
	held->kept = false;
	if (overtaken)
		injection->counters.injected_reorders++;
	struct iovec whole = { held->bytes, held->length };
	injection->inner->operations->send(injection->inner, &whole, 1, held->length);
}

static bool send_frame(struct nic_backend *backend, const struct iovec *buffers, unsigned count,
		       size_t length)
{
	struct fault_injection *injection = injection_of(backend);
	struct fault_injector *faults = &injection->transmit_faults;
	struct nic_backend *inner = injection->inner;
	if (!injection->active)
		return inner->operations->send(inner, buffers, count, length);
	if (roll(faults, faults->loss)) {
		injection->counters.injected_losses++;
		return true; /* sent, onto a wire that lost it */
	}
	bool corrupt = roll(faults, faults->corrupt);
	bool duplicate = roll(faults, faults->duplicate);
	if (!injection->transmit_held.kept && roll(faults, faults->reorder)) {
		struct kept_frame *held = &injection->transmit_held;
		keep(held, buffers, count, length);
		if (corrupt && corrupt_frame(faults, held->bytes, length))
			injection->counters.injected_corruptions++;
		return true; /* it goes after the next frame, or at the end of this batch */
	}
	struct iovec single = { injection->scratch, length };
	if (corrupt && length <= RINGVISOR_FRAME_BYTES_MAX) {
		iovec_copy(&single, 1, 0, buffers, count, 0, length);
		if (corrupt_frame(faults, injection->scratch, length)) {
			buffers = &single, count = 1;
			injection->counters.injected_corruptions++;
		}
	}
	bool sent = inner->operations->send(inner, buffers, count, length);
	if (duplicate) {
		inner->operations->send(inner, buffers, count, length);
		injection->counters.injected_duplicates++;
	}
	send_held(injection, true);
	return sent;
}

static void send_done(struct nic_backend *backend)
{
	struct fault_injection *injection = injection_of(backend);
	send_held(injection, false); /* reordered within one batch only */
	injection->inner->operations->send_done(injection->inner);
}

/* ---- the rest is the real backend's ------------------------------------------------------------
 */

static bool accept_features(struct nic_backend *backend, uint64_t features, char *why,
			    size_t why_size)
{
	struct nic_backend *inner = injection_of(backend)->inner;
	return inner->operations->accept_features(inner, features, why, why_size);
}

static bool wait_for_frames(struct nic_backend *backend)
{
	struct nic_backend *inner = injection_of(backend)->inner;
	return inner->operations->wait_for_frames(inner);
}

static void pause_receiving(struct nic_backend *backend)
{
	struct nic_backend *inner = injection_of(backend)->inner;
	inner->operations->pause_receiving(inner);
}

static void receive_later(struct nic_backend *backend)
{
	struct nic_backend *inner = injection_of(backend)->inner;
	inner->operations->receive_later(inner);
}

static void readable(struct nic_backend *backend)
{
	struct nic_backend *inner = injection_of(backend)->inner;
	inner->operations->readable(inner);
}

/* A frame we keep is waiting too, whatever the backend says: the device comes for it. */
static bool tick(struct nic_backend *backend)
{
	struct fault_injection *injection = injection_of(backend);
	bool waiting = injection->inner->operations->tick(injection->inner);
	return waiting || injection->receive_held.kept || injection->receive_duplicate.kept;
}

static void visit_counters(const struct nic_backend *backend, nic_counter_visitor *visit,
			   void *context)
{
	const struct fault_injection *injection = (const struct fault_injection *)backend;
#define FAULT_VISIT_COUNTER(counter) visit(context, #counter, injection->counters.counter);
	FAULT_COUNTERS(FAULT_VISIT_COUNTER)
#undef FAULT_VISIT_COUNTER
	injection->inner->operations->visit_counters(injection->inner, visit, context);
}

static void destroy(struct nic_backend *backend)
{
	struct fault_injection *injection = injection_of(backend);
	injection->inner->operations->destroy(injection->inner);
	free(injection->receive_held.bytes);
	free(injection->receive_duplicate.bytes);
	free(injection->transmit_held.bytes);
	free(injection->scratch);
	free(injection);
}

static const struct nic_backend_operations fault_injection_operations = {
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

static uint8_t *frame_buffer(void)
{
	uint8_t *buffer = malloc(RINGVISOR_FRAME_BYTES_MAX);
	if (!buffer)
		fail("out of memory for fault injection buffers");
	return buffer;
}

struct nic_backend *fault_injection_wrap(struct nic_backend *inner,
					 const struct fault_settings *settings, unsigned nic_index)
{
	struct fault_injection *injection = calloc(1, sizeof *injection);
	if (!injection)
		fail("out of memory for fault injection");
	injection->backend = *inner; /* the same fd to watch, the same failure */
	injection->backend.operations = &fault_injection_operations;
	injection->inner = inner;
	injector_init(&injection->receive_faults, settings, 2ull * nic_index);
	injector_init(&injection->transmit_faults, settings, 2ull * nic_index + 1);
	injection->active = fault_settings_active(settings);
	if (!injection->active)
		return &injection->backend;
	injection->receive_held.bytes = frame_buffer();
	injection->receive_duplicate.bytes = frame_buffer();
	injection->transmit_held.bytes = frame_buffer();
	injection->scratch = frame_buffer();
	return &injection->backend;
}
