/*
 * The launcher's command line: `ringvisor run [options] GUEST.elf [-- guest arguments]`.
 */
#ifndef RINGVISOR_OPTIONS_H
#define RINGVISOR_OPTIONS_H

#include <sys/types.h>

#include <stdbool.h>
#include <stdint.h>

#include "ringvisor_abi.h"
#include "nic_config.h"
#include "observe/profiler.h"

#define RINGVISOR_VERSION "0.1.0"

/* --poll's range and default, in microseconds (the default is KVM's halt_poll_ns). */
#define POLL_US_MAX 1000000
#define POLL_US_DEFAULT 200

struct options {
	uint64_t memory_bytes;
	bool print_statistics;
	int cpu; /* --cpu: the host CPU for the vCPU and I/O threads; -1: the scheduler's choice */
	bool change_user; /* --user: become user_id:group_id once start-up is done */
	uid_t user_id;
	gid_t group_id;
	long poll_us; /* --poll: the longest poll before sleeping, both sides; -1: not given */
	struct profiler_config profile; /* --profile FILE[,hz=N] */
	const char *metrics_path;	/* --metrics FILE[,interval=MS]; NULL: none */
	unsigned metrics_interval_ms;
	unsigned nic_count;
	struct nic_config nics[RINGVISOR_NICS_MAX];
	const char *guest_path;
	int guest_argument_count; /* guest_arguments[0] is the guest's name */
	char **guest_arguments;
};

/* Parses argv. Handles --help and --version itself (printing and exiting 0); fails the
 * launcher with usage on anything it cannot accept. */
void options_parse(struct options *options, int argc, char **argv);

/* The poll window's limit in nanoseconds: --poll if given; else none if the vCPU and the I/O
 * thread share one CPU (a poller there only delays the thread it waits for), else the default. */
uint64_t options_poll_ns_max(const struct options *options);

/* Parses a size such as 64M, 1G, 4096K or 512 (MiB); false if it is not one. */
bool options_parse_size(const char *text, uint64_t *bytes);

#endif
