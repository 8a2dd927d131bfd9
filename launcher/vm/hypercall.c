/*
 * Serving hypercalls (see ringvisor_abi.h for each call's contract).
 *
 * Like Solo5's hvt tender, each call is a few checked lines: copy the request block out of
 * guest memory once, check every field of the copy, act, write back only the result. A bad
 * buffer earns the guest an error result; a bad request block (we cannot even answer it)
 * stops the guest with a report.
 */
#include "vm/hypercall.h"

#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ringvisor_abi.h"
#include "vm/crash_report.h"
#include "fail.h"
#include "nic/nic.h"
#include "observe/thread_state.h"

#define PANIC_MESSAGE_MAX 4096u

static void finish(struct vm *vm, int status)
{
	vm->finished = true;
	vm->exit_status = status;
}

/*
 * The guest's bytes go to the operator's terminal, so they are read once into our copy and
 * defanged there: every control character but newline and tab (ESC and its sequences, which
 * set window titles and move the cursor; CR, which overwrites a line; BEL; DEL) becomes '?'.
 * Bytes from 0x80 up pass, so UTF-8 text stays text.
 */
static void defang(uint8_t *bytes, uint64_t length)
{
	for (uint64_t index = 0; index < length; index++)
		if ((bytes[index] < 0x20 && bytes[index] != '\n' && bytes[index] != '\t') ||
		    bytes[index] == 0x7f)
			bytes[index] = '?';
}

static int64_t console_write(struct vm *vm, uint64_t address, uint64_t length)
{
	static uint8_t bytes[RINGVISOR_CONSOLE_WRITE_MAX]; /* the vCPU thread's only */
	if (length > RINGVISOR_CONSOLE_WRITE_MAX)
		return RINGVISOR_ERROR_BAD_ARGUMENT;
	const uint8_t *guest_bytes = guest_memory_checked(&vm->memory, address, length);
	if (!guest_bytes)
		return RINGVISOR_ERROR_BAD_ADDRESS;
	memcpy(bytes, guest_bytes, length);
	defang(bytes, length);
	uint64_t written = 0;
	while (written < length) {
		ssize_t done = write(STDOUT_FILENO, bytes + written, length - written);
		if (done < 0 && errno == EINTR && !vm_stop_requested())
			continue; /* but a stop signal must not wait for a blocked reader */
		if (done <= 0)
			break; /* stdout gone (SIGPIPE is ignored): the guest goes on, unheard */
		written += (uint64_t)done;
	}
	return (int64_t)written;
}

static void guest_exit(struct vm *vm, uint64_t code)
{
	if (code > RINGVISOR_EXIT_CODE_MAX) {
		fprintf(stderr,
			"ringvisor: guest asked to exit with code %llu, outside 0-%d; "
			"treating it as a crash\n",
			(unsigned long long)code, RINGVISOR_EXIT_CODE_MAX);
		finish(vm, STATUS_GUEST_CRASHED);
		return;
	}
	finish(vm, (int)code);
}

static uint64_t monotonic_ns(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

/*
 * Sleeps until the wake eventfd fires or `nanoseconds` pass; 1 if woken, 0 if timed out. A
 * signal that is not a stop (the profiler's timer) does not end the wait: the guest would only
 * come back with another wait hypercall, an exit the profile would then have caused.
 */
static int64_t guest_wait(struct vm *vm, uint64_t nanoseconds)
{
	struct pollfd wake = { .fd = vm->wake_fd, .events = POLLIN };
	/* The guest waits "forever" with a huge duration: the sum must not wrap round to now. */
	uint64_t now = monotonic_ns();
	uint64_t deadline = nanoseconds > UINT64_MAX - now ? UINT64_MAX : now + nanoseconds;
	int ready;
	thread_state_set_vcpu(VCPU_WAITING);
	do {
		now = monotonic_ns();
		uint64_t left = deadline > now ? deadline - now : 0;
		struct timespec timeout = {
			.tv_sec = (time_t)(left / 1000000000u),
			.tv_nsec = (long)(left % 1000000000u),
		};
		/* Past what a timespec holds (centuries): no timeout at all. */
		ready = ppoll(&wake, 1, left > (uint64_t)INT64_MAX / 2 ? NULL : &timeout, NULL);
	} while (ready < 0 && errno == EINTR && !vm_stop_requested());
	thread_state_set_vcpu(VCPU_IN_LAUNCHER);
	if (ready > 0) {
		uint64_t count;
		if (read(vm->wake_fd, &count, sizeof count) < 0 && errno != EAGAIN)
			fail_errno("reading the guest's wake eventfd");
		return 1;
	}
	return 0; /* timed out, or a signal: the vCPU loop looks at signals next */
}

static void guest_panic(struct vm *vm, uint64_t address, uint64_t length, uint64_t caller)
{
	char message[PANIC_MESSAGE_MAX + 1];
	if (length > PANIC_MESSAGE_MAX)
		length = PANIC_MESSAGE_MAX;
	/* The guest's own memory only, as for console writes: the launcher's page tables and
	 * descriptor tables are in RAM too, and are not the guest's to print. */
	const char *text = guest_memory_checked(&vm->memory, address, length);
	if (text)
		memcpy(message, text, length);
	else
		length = (uint64_t)snprintf(message, sizeof message,
					    "(message at %#llx is outside the guest's memory)",
					    (unsigned long long)address);
	message[length] = '\0';
	defang((uint8_t *)message, length); /* keep the terminal sane */
	finish(vm, crash_report_panic(vm, message, caller));
}

void hypercall_handle(struct vm *vm, uint32_t block)
{
	struct ringvisor_hypercall call;
	/* We write the result back, so the block must be where the guest could write it. */
	uint8_t *request = guest_memory_checked_writable(&vm->memory, block, sizeof call);
	if (block % 16 != 0 || !request) {
		char why[160];
		snprintf(why, sizeof why,
			 "hypercall request block at %#x is misaligned, not in guest RAM or in "
			 "read-only memory",
			 block);
		finish(vm, crash_report_stop(vm, STATUS_GUEST_CRASHED, why));
		return;
	}
	memcpy(&call, request, sizeof call); /* read once: the guest may change it meanwhile */

	int64_t result;
	switch (call.number) {
	case RINGVISOR_HYPERCALL_CONSOLE_WRITE:
		vm_exit_count(&vm->exits.hypercall_console_write);
		result = console_write(vm, call.argument[0], call.argument[1]);
		break;
	case RINGVISOR_HYPERCALL_EXIT:
		vm_exit_count(&vm->exits.hypercall_exit);
		guest_exit(vm, call.argument[0]);
		return;
	case RINGVISOR_HYPERCALL_WAIT:
		vm_exit_count(&vm->exits.hypercall_wait);
		result = guest_wait(vm, call.argument[0]);
		break;
	case RINGVISOR_HYPERCALL_PANIC:
		vm_exit_count(&vm->exits.hypercall_panic);
		guest_panic(vm, call.argument[0], call.argument[1], call.argument[2]);
		return;
	case RINGVISOR_HYPERCALL_NIC_SETUP:
		vm_exit_count(&vm->exits.hypercall_nic_setup);
		result = call.argument[0] < vm->nic_count
				 ? nic_device_setup(&vm->nics[call.argument[0]], call.argument[1])
				 : RINGVISOR_ERROR_BAD_ARGUMENT;
		break;
	default:
		vm_exit_count(&vm->exits.hypercall_unknown);
		result = RINGVISOR_ERROR_BAD_CALL;
		break;
	}
	memcpy(request + offsetof(struct ringvisor_hypercall, result), &result, sizeof result);
}
