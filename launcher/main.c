/*
 * ringvisor: runs a paravirtualized guest in ring 3 of a KVM virtual machine.
 *
 * Reading order, top to bottom, like lguest's launcher:
 *   options.c            what the user asked for (nic_config.c: each --net)
 *   vm/                  the VM core
 *     kvm_vm.c           /dev/kvm, guest RAM (guest_memory.c), one vCPU
 *     elf_loader.c       the guest image, checked and loaded
 *     ring3_setup.c      page tables (page_tables.c), GDT, TSS, IDT, boot info (boot_info.c)
 *     vcpu_loop.c        KVM_RUN and every reason it returns
 *     hypercall.c        what the guest may ask of us
 *     crash_report.c     what we say when it goes wrong
 *   nic/                 the paravirtual NIC's device model
 *     nic.c              the device: setup, the two data paths (virtqueue.c: the rings)
 *     nic_backend.h      what the device asks of a backend: an operations table
 *     fault_injection.c  loss, duplication, reordering, corruption: a backend in front of
 *                        the real one
 *     io_thread.c        the thread that moves the frames
 *     iovec_copy.c, frame_offload.c, net_header.h   frame helpers the backends share
 *   tap/                 the TAP backend: tap.c opens the device, tap_backend.c its operations
 *   share/               the share backend, a switch in shared memory between launchers
 *     share_switch.c     joining and leaving; share_port.c: the data path; share_ring.c;
 *     share_backend.c    its operations
 *   sandbox/             what the launcher gives up once its world is built (privileges.c)
 * and below, main() putting them together: the VM, each NIC's backend, the I/O thread.
 */
#include <sched.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fail.h"
#include "nic/fault_injection.h"
#include "nic/io_thread.h"
#include "nic/nic.h"
#include "observe/metrics_stream.h"
#include "observe/profiler.h"
#include "observe/statistics.h"
#include "options.h"
#include "sandbox/privileges.h"
#include "share/share_backend.h"
#include "tap/tap.h"
#include "tap/tap_backend.h"
#include "vm/vm.h"

/* The one place that knows which backends there are: the NIC device never asks. A switch is
 * joined as the user the launcher becomes (--user): its directory and files must be that
 * user's, to be left and rejoined after the change. */
static struct nic_backend *open_backend(const struct nic_config *config,
					const struct privileges_user *user)
{
	if (config->backend == NIC_BACKEND_TAP)
		return tap_backend_create(
			tap_open(config->interface_name, config->bridge, config->mtu),
			config->name);
	privileges_act_as(user);
	struct nic_backend *backend =
		share_backend_join(config->switch_name, config->mac, config->mtu);
	privileges_act_as_launcher();
	return backend;
}

static void create_nic(struct nic_device *nic, struct vm *vm, unsigned index,
		       struct nic_config *config, const struct privileges_user *user)
{
	nic_config_choose_mac(config);
	/* The device, then the faults on its link (none unless configured), then the backend. */
	struct nic_backend *backend =
		fault_injection_wrap(open_backend(config, user), &config->faults, index);
	nic_device_create(nic, vm, index, config, backend);
	nic_device_bind_doorbells(nic, vm);
	if (config->pcap_path[0])
		nic_device_capture(nic, config->pcap_path);
}

/* Two NICs writing one capture file would interleave into garbage: the names differed (that
 * options.c checks), but they may still be one file (a link, ./x and x). */
static void refuse_shared_captures(const struct nic_device *nics, unsigned count)
{
	for (unsigned one = 0; one < count; one++)
		for (unsigned other = 0; other < one; other++) {
			struct stat a, b;
			if (nics[one].capture.fd < 0 || nics[other].capture.fd < 0 ||
			    fstat(nics[one].capture.fd, &a) < 0 ||
			    fstat(nics[other].capture.fd, &b) < 0)
				continue;
			if (a.st_dev == b.st_dev && a.st_ino == b.st_ino)
				fail("--net: NICs %s and %s were given the same pcap file (%s, %s)",
				     nics[other].config.name, nics[one].config.name,
				     nics[other].capture.path, nics[one].capture.path);
		}
}

int main(int argc, char **argv)
{
	uint64_t start_ns = statistics_monotonic_ns();
	privileges_close_inherited();
	io_thread_block_signals(); /* first: SIGUSR1 is for counters, never the default death */
	static struct options options;
	options_parse(&options, argc, argv);

	const struct privileges_user user = { options.change_user, options.user_id,
					      options.group_id };

	static struct vm vm;
	static struct nic_device nics[RINGVISOR_NICS_MAX];
	vm_create(&vm, options.memory_bytes);
	for (unsigned index = 0; index < options.nic_count; index++)
		create_nic(&nics[index], &vm, index, &options.nics[index], &user);
	refuse_shared_captures(nics, options.nic_count);
	vm.nics = nics;
	vm.nic_count = options.nic_count;
	vm.poll_ns_max = options_poll_ns_max(&options);
	vm_load_guest(&vm, options.guest_path, options.guest_argument_count,
		      options.guest_arguments);
	profiler_prepare(&options.profile, &vm);
	static struct metrics_stream metrics;
	if (options.metrics_path) {
		char error[320];
		if (!metrics_stream_open(&metrics, options.metrics_path, error, sizeof error))
			fail("--metrics: %s", error);
	}

	/* Threads inherit the creating thread's CPUs: pinning this one (the vCPU thread) before
	 * the I/O thread starts pins both. */
	if (options.cpu >= 0) {
		cpu_set_t cpus;
		CPU_ZERO(&cpus);
		CPU_SET(options.cpu, &cpus);
		if (sched_setaffinity(0, sizeof cpus, &cpus) < 0)
			fail_errno("cannot run on CPU %d", options.cpu);
	}
	/* Everything is open: from here on no capability, in this thread or the ones it starts. */
	privileges_drop(&user);
	static struct statistics_snapshot final;
	struct statistics_sources sources = {
		&vm, nics, options.nic_count, (pid_t)syscall(SYS_gettid), 0, start_ns, NULL
	};
	struct io_thread_reports reports = { &sources, options.metrics_path ? &metrics : NULL,
					     options.metrics_interval_ms, &final };
	struct io_thread io;
	io_thread_start(&io, nics, options.nic_count, vm.poll_ns_max, &reports);
	profiler_start(&vm);
	int status = vm_run(&vm);
	io_thread_stop(&io); /* its final snapshot: before the profile's report takes time */
	profiler_finish(&vm, stderr);

	if (options.print_statistics)
		statistics_print(&final, stderr);
	if (options.metrics_path) {
		statistics_stream(&final, &metrics);
		metrics_stream_close(&metrics, 1000);
	}
	for (unsigned index = 0; index < options.nic_count; index++)
		nic_device_destroy(&nics[index]);
	vm_destroy(&vm);
	return status;
}
