/*
 * The network (see ringvisor/network.h): NICs + stack + one event-loop poller and one timer.
 *
 * Sleep and wake: while the guest runs, every queue has NO_INTERRUPT set and the poller looks at
 * the used rings each turn. When a turn found nothing, the loop calls prepare_to_sleep: pending
 * transmit doorbells are written, each receive queue's NO_INTERRUPT is cleared, and after a full
 * barrier the used rings are checked once more; if a frame slipped in, the loop goes round again
 * instead of sleeping. The next poll sets NO_INTERRUPT again. The timer, armed at
 * net_next_deadline(), wakes the loop for ARP retries and reassembly timeouts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ringvisor/event_loop.h>
#include <ringvisor/network.h>

#include "kernel_internal.h"
#include "nic_driver.h"

static struct net_stack *stack;
static struct nic_driver *nics[RINGVISOR_NICS_MAX];
static unsigned nic_count;
static struct net_interface *interfaces[RINGVISOR_NICS_MAX];
static uint32_t addresses[RINGVISOR_NICS_MAX];
static unsigned interface_count;
static struct poller poller;
static struct timer stack_timer;

static uint64_t operation_now(void *context)
{
	(void)context;
	return clock_now_ns();
}

static void *operation_allocate(void *context, size_t size)
{
	(void)context;
	return malloc(size);
}

static void operation_free(void *context, void *pointer)
{
	(void)context;
	free(pointer);
}

/*
 * Randomness for the stack (initial sequence numbers, which must not be guessable): RDRAND
 * where the CPU has it (it runs at CPL 3), mixed with the TSC either way.
 */
static bool have_rdrand(void)
{
	uint32_t eax = 1, ebx, ecx, edx;
	__asm__ volatile("cpuid" : "+a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx));
	return ecx & (1u << 30);
}

static uint64_t operation_random(void *context)
{
	static int rdrand = -1;
	(void)context;
	if (rdrand < 0)
		rdrand = have_rdrand();
	uint64_t value = clock_read_tsc() * 0x9e3779b97f4a7c15ull;
	for (int attempt = 0; rdrand && attempt < 10; attempt++) {
		uint64_t random;
		unsigned char ok;
		__asm__ volatile("rdrand %0; setc %1" : "=r"(random), "=qm"(ok));
		if (ok)
			return value ^ random;
	}
	return value ^ (value >> 29);
}

static uint32_t ipv4_from_bytes(const uint8_t bytes[4])
{
	return NET_IPV4_ADDRESS(bytes[0], bytes[1], bytes[2], bytes[3]);
}

static void arm_stack_timer(void)
{
	uint64_t deadline = net_next_deadline(stack);
	if (deadline == NET_NO_DEADLINE)
		timer_cancel(&stack_timer);
	else if (!stack_timer.armed || stack_timer.deadline_ns != deadline)
		timer_arm(&stack_timer, deadline);
}

static void on_stack_timer(struct timer *timer, void *argument)
{
	(void)timer;
	(void)argument;
	net_poll_timers(stack, clock_now_ns());
	/* The poller, which runs next in this turn, re-arms us. */
}

static bool network_poll(void *argument)
{
	(void)argument;
	bool worked = false;
	for (unsigned index = 0; index < nic_count; index++)
		worked |= nic_driver_poll(nics[index]);
	uint64_t deadline = net_next_deadline(stack), now = clock_now_ns();
	if (deadline != NET_NO_DEADLINE && now >= deadline) {
		net_poll_timers(stack, now);
		worked = true;
	}
	/* Frames the stack sent from its timers or from net_receive: one doorbell each queue. */
	for (unsigned index = 0; index < nic_count; index++)
		nic_driver_flush(nics[index]);
	arm_stack_timer();
	return worked;
}

static bool network_prepare_to_sleep(void *argument)
{
	(void)argument;
	bool work = false;
	for (unsigned index = 0; index < nic_count; index++)
		work |= nic_driver_prepare_to_sleep(nics[index]);
	return work;
}

/* Polling pays for small frames, not for bulk (ringvisor_poll.h). */
static bool network_worth_polling(void *argument)
{
	(void)argument;
	bool bulk = false;
	for (unsigned index = 0; index < nic_count; index++)
		bulk |= nic_driver_traffic_is_bulk(nics[index]);
	return !bulk;
}

struct net_stack *network_start(void)
{
	if (stack)
		return stack;
	const struct ringvisor_boot_info *boot_info = kernel_boot_info();
	unsigned count = boot_info->nic_count;
	if (count == 0) {
		printf("network: this guest has no NIC (give the launcher --net "
		       "tap,ifname=NAME,ip=ADDR/PREFIX or --net share,name=NAME,ip=ADDR/PREFIX)\n");
		return NULL;
	}
	if (count > RINGVISOR_NICS_MAX)
		panic("network: the boot information lists %u NICs, more than %u", count,
		      RINGVISOR_NICS_MAX);

	struct net_operations operations = {
		.now_ns = operation_now,
		.allocate = operation_allocate,
		.free = operation_free,
		.random = operation_random,
		.context = NULL,
	};
	/* TCP's buffers are its window, and the window over the round trip is its throughput:
	 * a wakeup makes our round trip a few hundred microseconds, so 10 Gbit/s needs a few
	 * MiB. They are allocated with each connection, so they scale with guest RAM: 1/128 of
	 * it (512 KiB in 64 MiB, 4 MiB from 512 MiB), never below 128 KiB. */
	struct net_limits limits = net_default_limits();
	uint64_t buffer = boot_info->memory_size / 128;
	buffer = buffer < (128u << 10) ? (128u << 10) : buffer > (4u << 20) ? (4u << 20) : buffer;
	limits.tcp_send_buffer_bytes = (uint32_t)buffer;
	limits.tcp_receive_buffer_bytes = (uint32_t)buffer;
	stack = net_stack_create(&operations, &limits);
	if (!stack)
		panic("network: out of memory for the stack");

	for (unsigned index = 0; index < count; index++) {
		const struct ringvisor_nic_info *info = &boot_info->nics[index];
		uint32_t address = ipv4_from_bytes(info->ipv4_address);
		if (address == 0) {
			printf("network: NIC %.16s has no IPv4 address (give it ip=ADDR/PREFIX); "
			       "left unused\n",
			       info->name);
			continue;
		}
		struct nic_driver *nic = nic_driver_create(index);
		struct net_interface_config config = {
			.ipv4_address = address,
			.ipv4_prefix_length = info->ipv4_prefix_length,
			.ipv4_gateway = ipv4_from_bytes(info->ipv4_gateway),
			.mtu = nic->mtu,
			.features = (nic_driver_accepted(nic, RINGVISOR_NIC_FEATURE_CSUM)
					     ? NET_INTERFACE_TX_CHECKSUM
					     : 0) |
				    (nic_driver_accepted(nic, RINGVISOR_NIC_FEATURE_HOST_TSO4)
					     ? NET_INTERFACE_TX_TSO4
					     : 0),
			.tso_max_segments = RINGVISOR_NET_GSO_SEGMENTS_MAX,
			.transmit = nic_driver_transmit,
			.driver_context = nic,
		};
		memcpy(config.mac, nic->mac, sizeof config.mac);
		nics[nic_count++] = nic;
		/* Attach first: adding the interface sends a gratuitous ARP. */
		struct net_interface *interface = net_interface_add(stack, &config);
		if (!interface)
			panic("network: NIC %.16s: the stack refused address %u.%u.%u.%u/%u, "
			      "gateway %u.%u.%u.%u, MTU %u",
			      info->name, info->ipv4_address[0], info->ipv4_address[1],
			      info->ipv4_address[2], info->ipv4_address[3],
			      info->ipv4_prefix_length, info->ipv4_gateway[0],
			      info->ipv4_gateway[1], info->ipv4_gateway[2], info->ipv4_gateway[3],
			      nic->mtu);
		nic_driver_attach(nic, interface);
		interfaces[interface_count] = interface;
		addresses[interface_count++] = address;
	}
	if (interface_count == 0) {
		printf("network: no NIC has an IPv4 address (give one ip=ADDR/PREFIX in its "
		       "--net)\n");
		return NULL;
	}
	/* 127.0.0.1, so that two apps in one guest can talk (iperf3's loopback column). */
	if (!net_loopback_add(stack, NULL))
		panic("network: out of memory for the loopback interface");

	timer_init(&stack_timer, on_stack_timer, NULL);
	poller.poll = network_poll;
	poller.prepare_to_sleep = network_prepare_to_sleep;
	poller.worth_polling = network_worth_polling;
	poller.argument = NULL;
	event_loop_add_poller(&poller);
	network_flush(); /* the gratuitous ARPs */
	arm_stack_timer();
	return stack;
}

struct net_stack *network_stack(void)
{
	return stack;
}

unsigned network_interface_count(void)
{
	return interface_count;
}

struct net_interface *network_interface(unsigned index)
{
	return index < interface_count ? interfaces[index] : NULL;
}

uint32_t network_interface_address(unsigned index)
{
	return index < interface_count ? addresses[index] : 0;
}

bool network_transmit_ready(size_t ipv4_payload_bytes)
{
	bool ready = true;
	for (unsigned index = 0; index < nic_count; index++) {
		/* Fragment payloads are multiples of 8 below the MTU less a 20-byte header. */
		size_t per_fragment = ((size_t)nics[index]->mtu - 20) & ~(size_t)7;
		size_t frames = ipv4_payload_bytes <= (size_t)nics[index]->mtu - 20
					? 1
					: (ipv4_payload_bytes + per_fragment - 1) / per_fragment;
		unsigned wanted = (unsigned)frames + 1;
		if (nic_driver_transmit_space(nics[index], wanted) < wanted)
			ready = false;
	}
	return ready;
}

void network_flush(void)
{
	for (unsigned index = 0; index < nic_count; index++)
		nic_driver_flush(nics[index]);
}

bool network_idle(void)
{
	/* An unresolved ARP entry is the only thing whose deadline is at most one ARP retry
	 * away (reassembly timeouts are 30 s): a nearer deadline may be a reply waiting for
	 * its next hop's address. */
	uint64_t deadline = stack ? net_next_deadline(stack) : NET_NO_DEADLINE;
	if (deadline != NET_NO_DEADLINE &&
	    deadline <= clock_now_ns() + net_default_limits().arp_retry_ns)
		return false;
	for (unsigned index = 0; index < nic_count; index++)
		if (!nic_driver_transmit_idle(nics[index]))
			return false;
	return true;
}

void network_print_counters(void)
{
	for (unsigned index = 0; index < nic_count; index++)
		nic_driver_print_counters(nics[index]);
	console_flush();
}
