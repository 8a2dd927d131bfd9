/*
 * profiler.c - sampling the guest (see profiler.h).
 *
 * One vCPU, one profiler: the state is this file's, as the vCPU loop's signal state is
 * vcpu_loop.c's. The signal handler only counts, stamps the time and asks KVM_RUN to return;
 * everything that may fail or allocate happens on the vCPU thread, outside the handler.
 */
#include "observe/profiler.h"

#include <errno.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "fail.h"
#include "ringvisor_abi.h"
#include "observe/output_file.h"
#include "observe/profile.h"
#include "observe/thread_state.h"
#include "vm/frame_walk.h"
#include "vm/layout.h"
#include "vm/vm.h"

int thread_state_vcpu, thread_state_io;

static struct {
	bool enabled;
	unsigned hz;
	char path[256], svg_path[264];
	FILE *folded, *svg;
	bool stripped;
	struct kvm_run *run; /* the handler's way to make KVM_RUN return */
	timer_t timer;
	bool timer_running;
	struct profile profile;
	uint64_t start_ns, end_ns;
	uint64_t cost_ns;	     /* signal to stack counted, summed */
	uint64_t exit_ns;	     /* one exit to the launcher and back, measured */
	uint64_t period_ns, grid_ns; /* the timer fires at grid_ns + k * period_ns */
	uint64_t signal_late_ns;     /* the handler's lateness after its expiry, for the sample */
	uint64_t delivery_ns;	     /* expiry to handler, summed over the samples taken */
	uint64_t vcpu_ticks[VCPU_STATES], io_ticks[IO_STATES]; /* the handler's tallies */
	int sample_pending; /* set by the handler, taken by the vCPU loop */
	uint64_t signal_ns; /* when the handler last asked for a sample */
} profiler;

static uint64_t monotonic_ns(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now); /* async-signal-safe */
	return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

static FILE *open_output(const char *path, char *copy, size_t copy_size)
{
	char error[320];
	int fd = output_file_open("profile", path, copy, copy_size, error, sizeof error);
	FILE *file = NULL;
	if (fd < 0 || !output_file_blocking(fd, "profile", path, error, sizeof error) ||
	    !(file = fdopen(fd, "w")))
		fail("--profile: %s", fd < 0 ? error : strerror(errno));
	return file;
}

void profiler_prepare(const struct profiler_config *config, const struct vm *vm)
{
	if (!config->path)
		return;
	profiler.enabled = true;
	profiler.hz = config->hz;
	char svg_path[sizeof profiler.svg_path];
	snprintf(svg_path, sizeof svg_path, "%s.svg", config->path);
	profiler.folded = open_output(config->path, profiler.path, sizeof profiler.path);
	profiler.svg = open_output(svg_path, profiler.svg_path, sizeof profiler.svg_path);
	profiler.stripped = vm->image.symbol_count == 0;
	if (profiler.stripped)
		fprintf(stderr,
			"ringvisor: --profile: %s has no symbols (stripped): the profile "
			"names guest addresses, not functions\n",
			vm->image.path);
	profile_init(&profiler.profile);
}

static void on_profile_signal(int number)
{
	(void)number;
	int saved_errno = errno;
	int vcpu = __atomic_load_n(&thread_state_vcpu, __ATOMIC_RELAXED);
	int io = __atomic_load_n(&thread_state_io, __ATOMIC_RELAXED);
	if (vcpu >= 0 && vcpu < VCPU_STATES)
		profiler.vcpu_ticks[vcpu]++;
	if (io >= 0 && io < IO_STATES)
		profiler.io_ticks[io]++;
	if (vcpu == VCPU_IN_GUEST && profiler.run) {
		uint64_t now = monotonic_ns();
		profiler.signal_ns = now;
		/* The expiry this signal is for: the grid point at or before now. What lies between
		 * is the guest being kicked out and the signal reaching us. */
		if (now >= profiler.grid_ns)
			profiler.signal_late_ns = (now - profiler.grid_ns) % profiler.period_ns;
		__atomic_store_n(&profiler.sample_pending, 1, __ATOMIC_RELEASE);
		profiler.run->immediate_exit =
			1; /* KVM_RUN returns EINTR now or at its next call */
	}
	errno = saved_errno;
}

/*
 * What one exit to the launcher and back costs here, measured before the guest's first
 * instruction: the vCPU runs the launcher's exit probe (an `out` in a loop), each KVM_RUN
 * returns at the `out`, and half the median round trip prices a sample's way back into the
 * guest, which nothing after KVM_RUN returns can time. The guest's registers are put back.
 */
static uint64_t measure_exit_ns(struct vm *vm)
{
	enum { PROBES = 41 };
	struct kvm_regs entry, probe;
	if (ioctl(vm->vcpu_fd, KVM_GET_REGS, &entry) < 0)
		fail_errno("--profile: KVM_GET_REGS");
	probe = entry;
	probe.rip = LAYOUT_EXIT_PROBE;
	probe.rax = 0;
	if (ioctl(vm->vcpu_fd, KVM_SET_REGS, &probe) < 0)
		fail_errno("--profile: KVM_SET_REGS");
	uint64_t round_trips[PROBES];
	unsigned count = 0;
	for (unsigned run = 0; run <= PROBES; run++) {
		uint64_t start = monotonic_ns();
		if (ioctl(vm->vcpu_fd, KVM_RUN, 0) < 0 || vm->run->exit_reason != KVM_EXIT_IO ||
		    vm->run->io.port != RINGVISOR_PORT_HYPERCALL)
			break;
		if (run > 0) /* the first one warms up */
			round_trips[count++] = monotonic_ns() - start;
	}
	/* KVM finishes an `out` when KVM_RUN is next called; let it, without entering the guest
	 * (immediate_exit), before the registers are put back, as the KVM API asks. */
	vm->run->immediate_exit = 1;
	if (ioctl(vm->vcpu_fd, KVM_RUN, 0) == 0 || errno != EINTR)
		fail("--profile: KVM_RUN did not stop for immediate_exit after the exit probe");
	vm->run->immediate_exit = 0;
	if (ioctl(vm->vcpu_fd, KVM_SET_REGS, &entry) < 0)
		fail_errno("--profile: KVM_SET_REGS");
	for (unsigned i = 1; i < count; i++) /* insertion sort: 41 numbers */
		for (unsigned j = i; j > 0 && round_trips[j - 1] > round_trips[j]; j--) {
			uint64_t swap = round_trips[j];
			round_trips[j] = round_trips[j - 1];
			round_trips[j - 1] = swap;
		}
	return count ? round_trips[count / 2] : 0;
}

void profiler_start(struct vm *vm)
{
	if (!profiler.enabled)
		return;
	profiler.exit_ns = measure_exit_ns(vm);
	profiler.run = vm->run;
	struct sigaction action;
	memset(&action, 0, sizeof action);
	action.sa_handler = on_profile_signal;
	action.sa_flags = SA_RESTART; /* console writes and the like go on; KVM_RUN still stops */
	sigemptyset(&action.sa_mask);
	if (sigaction(SIGPROF, &action, NULL) < 0)
		fail_errno("--profile: cannot catch SIGPROF");
	struct sigevent event;
	memset(&event, 0, sizeof event);
	event.sigev_notify = SIGEV_THREAD_ID; /* this thread, the vCPU's, and no other */
	event.sigev_signo = SIGPROF;
	event._sigev_un._tid = (pid_t)syscall(SYS_gettid);
	if (timer_create(CLOCK_MONOTONIC, &event, &profiler.timer) < 0)
		fail_errno("--profile: cannot create its timer");
	profiler.period_ns = 1000000000u / profiler.hz;
	profiler.grid_ns = monotonic_ns() + profiler.period_ns;
	struct itimerspec every = {
		{ (time_t)(profiler.period_ns / 1000000000u),
		  (long)(profiler.period_ns % 1000000000u) },
		{ (time_t)(profiler.grid_ns / 1000000000u),
		  (long)(profiler.grid_ns % 1000000000u) },
	};
	if (timer_settime(profiler.timer, TIMER_ABSTIME, &every, NULL) < 0)
		fail_errno("--profile: cannot start its timer");
	profiler.timer_running = true;
	profiler.start_ns = monotonic_ns();
}

void profiler_take_sample(struct vm *vm)
{
	if (!profiler.enabled ||
	    !__atomic_exchange_n(&profiler.sample_pending, 0, __ATOMIC_ACQUIRE))
		return;
	struct kvm_regs regs;
	if (ioctl(vm->vcpu_fd, KVM_GET_REGS, &regs) < 0)
		return; /* counted as no sample; the guest runs on */
	uint64_t addresses[PROFILE_DEPTH_MAX];
	struct frame_walk walk = frame_walk(vm, &regs, addresses, PROFILE_DEPTH_MAX);
	/* A return address is the instruction after a call: one byte back is the call itself, in
	 * the caller (a call to a function that never returns may end its caller). */
	for (unsigned index = 1; index < walk.depth; index++)
		addresses[index] -= addresses[index] != 0;
	profile_add(&profiler.profile, addresses, walk.depth, walk.cut);
	profiler.cost_ns += monotonic_ns() - profiler.signal_ns;
	profiler.delivery_ns += profiler.signal_late_ns;
}

static void name_address(void *context, uint64_t address, char *name, size_t size)
{
	const struct vm *vm = context;
	uint64_t offset;
	const struct elf_symbol *symbol = elf_symbolize(&vm->image, address, &offset);
	if (symbol)
		snprintf(name, size, "%s", symbol->name);
	else
		snprintf(name, size, "%#llx", (unsigned long long)address);
}

static double percent(uint64_t part, const uint64_t *all, unsigned count)
{
	uint64_t total = 0;
	for (unsigned index = 0; index < count; index++)
		total += all[index];
	return total ? 100.0 * (double)part / (double)total : 0.0;
}

/* Closes a profile file that `written` (with errno as the writing left it) says was or was not
 * written whole, and says why not: a full disk, a file-size limit (EFBIG; SIGXFSZ is ignored). */
static void write_file(FILE *file, const char *path, bool written)
{
	int error = written ? 0 : errno;
	if (fclose(file) != 0 && !error)
		error = errno;
	if (!written || error)
		fprintf(stderr, "ringvisor: --profile: writing %s failed: %s\n", path,
			error ? strerror(error) : "an error from the C library");
}

void profiler_finish(struct vm *vm, FILE *report)
{
	if (!profiler.enabled)
		return;
	if (profiler.timer_running) {
		timer_delete(profiler.timer);
		profiler.timer_running = false;
	}
	profiler.end_ns = monotonic_ns();
	profiler.run = NULL;
	const struct profile *profile = &profiler.profile;
	char title[320];
	snprintf(title, sizeof title, "%s, %u Hz", vm->image.path, profiler.hz);
	write_file(profiler.folded, profiler.path,
		   profile_write_folded(profile, profiler.folded, name_address, vm));
	write_file(profiler.svg, profiler.svg_path,
		   profile_write_flame_graph(profile, profiler.svg, title, name_address, vm));

	double seconds = (double)(profiler.end_ns - profiler.start_ns) / 1e9;
	fprintf(report, "profile: %llu samples at %u Hz over %.2f s of the guest",
		(unsigned long long)profile->samples, profiler.hz, seconds);
	fprintf(report, " (%llu cut at a frame outside the guest or a loop, %llu not kept)\n",
		(unsigned long long)profile->samples_cut,
		(unsigned long long)profile->samples_dropped);
	if (profile->samples) {
		/* A sample's price, in three measured parts: from the timer's expiry to our handler
		 * (the kick out of the guest and the signal), the handling (registers, walk,
		 * count), and the way back in, priced at half an exit's round trip (measured at
		 * start with the exit probe). */
		double samples = (double)profile->samples;
		double kick = (double)profiler.delivery_ns / samples,
		       handling = (double)profiler.cost_ns / samples,
		       back = (double)profiler.exit_ns / 2;
		double cost_ns = samples * (kick + handling + back);
		fprintf(report,
			"profile: sampling cost %.2f ms, %.2f%% of the run; a sample: %.1f us from "
			"the timer to the handler, %.1f us handling, %.1f us back into the guest\n",
			cost_ns / 1e6, seconds > 0 ? 100.0 * cost_ns / 1e9 / seconds : 0.0,
			kick / 1e3, handling / 1e3, back / 1e3);
	}
	const uint64_t *v = profiler.vcpu_ticks, *io = profiler.io_ticks;
	fprintf(report,
		"profile: threads per tick: vCPU in the guest %.1f%%, in the launcher %.1f%%, "
		"waiting %.1f%%; I/O thread busy %.1f%%, polling %.1f%%, waiting %.1f%%\n",
		percent(v[VCPU_IN_GUEST], v, VCPU_STATES),
		percent(v[VCPU_IN_LAUNCHER], v, VCPU_STATES),
		percent(v[VCPU_WAITING], v, VCPU_STATES), percent(io[IO_BUSY], io, IO_STATES),
		percent(io[IO_POLLING], io, IO_STATES), percent(io[IO_WAITING], io, IO_STATES));
	profile_print_top(profile, report, 20, name_address, vm);
	fprintf(report, "profile: folded stacks in %s, a flame graph in %s%s\n", profiler.path,
		profiler.svg_path,
		profiler.stripped ? " (the guest is stripped: frames are addresses)" : "");
	profile_release(&profiler.profile);
	profiler.enabled = false;
}
