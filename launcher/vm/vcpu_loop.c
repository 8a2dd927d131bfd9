/*
 * The vCPU loop: KVM_RUN until the guest exits, and a decision for every reason KVM can
 * come back to us. In the normal case only two things bring us here: a hypercall (an `out`
 * to RINGVISOR_PORT_HYPERCALL) and an exception trampoline. Everything else is a crash,
 * reported as one.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "ringvisor_abi.h"
#include "vm/crash_report.h"
#include "fail.h"
#include "vm/hypercall.h"
#include "vm/vm.h"
#include "observe/profiler.h"
#include "observe/thread_state.h"

/* Set by a terminating signal; the loop notices it between exits. */
static volatile sig_atomic_t stop_signal;
static struct kvm_run *running;
static int running_wake_fd = -1;

static void on_stop_signal(int number)
{
	stop_signal = number;
	if (running)
		running->immediate_exit = 1; /* KVM_RUN returns EINTR now or on its next call */
	if (running_wake_fd >= 0) {
		uint64_t one = 1; /* and a guest blocked in wait() wakes */
		ssize_t ignored = write(running_wake_fd, &one, sizeof one);
		(void)ignored;
	}
}

bool vm_stop_requested(void)
{
	return stop_signal != 0;
}

static void catch_stop_signals(void)
{
	struct sigaction action;
	memset(&action, 0, sizeof action);
	action.sa_handler = on_stop_signal;
	sigemptyset(&action.sa_mask);
	int signals[] = { SIGINT, SIGTERM, SIGHUP };
	for (unsigned index = 0; index < sizeof signals / sizeof signals[0]; index++)
		sigaction(signals[index], &action, NULL);
	/* A reader that goes away (`ringvisor run ... | head`) costs the guest its console,
	 * not its life: writes then fail with EPIPE instead of killing us silently. */
	signal(SIGPIPE, SIG_IGN);
}

static int handle_port_io(struct vm *vm)
{
	struct kvm_run *run = vm->run;
	char why[160];
	if (run->io.direction == KVM_EXIT_IO_OUT && run->io.size == 4 && run->io.count == 1 &&
	    run->io.data_offset <= vm->run_bytes - 4) {
		uint32_t value;
		memcpy(&value, (uint8_t *)run + run->io.data_offset, sizeof value);
		if (run->io.port == RINGVISOR_PORT_HYPERCALL) {
			hypercall_handle(vm, value); /* counts the exit by hypercall number */
			return 0;
		}
		if (run->io.port == RINGVISOR_PORT_EXCEPTION) {
			vm_exit_count(&vm->exits.exception);
			vm->finished = true;
			vm->exit_status = crash_report_exception(vm, value);
			return 0;
		}
	}
	vm_exit_count(&vm->exits.other);
	snprintf(why, sizeof why,
		 "the guest used I/O port %#x (%s, %u bytes x %u), which Ringvisor does not serve",
		 run->io.port, run->io.direction == KVM_EXIT_IO_OUT ? "out" : "in", run->io.size,
		 run->io.count);
	vm->finished = true;
	vm->exit_status = crash_report_stop(vm, STATUS_GUEST_CRASHED, why);
	return 0;
}

static void handle_exit(struct vm *vm)
{
	struct kvm_run *run = vm->run;
	char why[200];
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		handle_port_io(vm);
		return;
	case KVM_EXIT_SHUTDOWN:
		snprintf(why, sizeof why,
			 "triple fault (KVM_EXIT_SHUTDOWN): an exception could not be delivered");
		break;
	case KVM_EXIT_MMIO:
		snprintf(why, sizeof why, "the guest %s %u bytes at %#llx, which is not RAM",
			 run->mmio.is_write ? "wrote" : "read", run->mmio.len,
			 (unsigned long long)run->mmio.phys_addr);
		break;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(why, sizeof why, "KVM could not enter the guest (hardware reason %#llx)",
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		snprintf(why, sizeof why, "KVM internal error, suberror %u",
			 run->internal.suberror);
		break;
	case KVM_EXIT_HLT:
		snprintf(why, sizeof why, "the guest halted (hlt), which a ring-3 guest cannot do");
		break;
	default:
		snprintf(why, sizeof why, "unexpected KVM exit reason %u", run->exit_reason);
		break;
	}
	vm_exit_count(&vm->exits.other);
	vm->finished = true;
	vm->exit_status = crash_report_stop(vm, STATUS_GUEST_CRASHED, why);
}

static int run_until_finished(struct vm *vm)
{
	while (!vm->finished) {
		if (stop_signal) {
			/* Say where the guest was: a stopped guest is usually a stuck one. */
			char why[80];
			snprintf(why, sizeof why, "launcher stopped by signal %d (%s)", stop_signal,
				 strsignal(stop_signal));
			return crash_report_stop(vm, 128 + stop_signal, why);
		}
		thread_state_set_vcpu(VCPU_IN_GUEST);
		int ran = ioctl(vm->vcpu_fd, KVM_RUN, 0);
		thread_state_set_vcpu(VCPU_IN_LAUNCHER);
		if (ran < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				vm->run->immediate_exit = 0;
				vm_exit_count(&vm->exits.signal);
				profiler_take_sample(vm); /* if its timer was what interrupted us */
				continue;
			}
			char why[160];
			snprintf(why, sizeof why, "KVM_RUN failed: %s", strerror(errno));
			return crash_report_stop(vm, STATUS_LAUNCHER_ERROR, why);
		}
		/* The timer may have fired just as KVM_RUN returned: the registers are still the
		 * guest's as it left, so take the sample now, not after the exit is handled (a wait
		 * hypercall would count as the sample's cost). */
		profiler_take_sample(vm);
		handle_exit(vm);
	}
	return vm->exit_status;
}

int vm_run(struct vm *vm)
{
	running = vm->run;
	running_wake_fd = vm->wake_fd;
	catch_stop_signals();
	int status = run_until_finished(vm);
	/* The signal handler must not touch this vm once it is gone. */
	running = NULL;
	running_wake_fd = -1;
	return status;
}
