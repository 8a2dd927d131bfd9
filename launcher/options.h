/*
 * The launcher's command line: `ringvisor run [options] GUEST.elf [-- guest arguments]`.
 */
#ifndef RINGVISOR_OPTIONS_H
#define RINGVISOR_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "ringvisor_abi.h"
#include "nic_config.h"
#include "observe/profiler.h"

#define RINGVISOR_VERSION "0.1.0"

struct options {
	uint64_t memory_bytes;
	bool print_statistics;
	int cpu; /* --cpu: the host CPU for the vCPU and I/O threads; -1: the scheduler's choice */
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

/* Parses a size such as 64M, 1G, 4096K or 512 (MiB); false if it is not one. */
bool options_parse_size(const char *text, uint64_t *bytes);

#endif
