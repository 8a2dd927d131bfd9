/*
 * The guest profile: call stacks sampled from a running guest, counted, and written out at exit
 * as folded stacks, an SVG flame graph and the top functions.
 *
 * The sampler (observe/profiler.c) interrupts the vCPU at a steady rate, walks the guest's frame
 * pointers with the crash report's checked walker (vm/frame_walk.c) and adds the addresses here,
 * innermost first. Stacks are kept as addresses while the guest runs, so a sample costs a hash
 * and a copy; names come from the guest ELF's symbols only when the report is written.
 *
 * Folded stacks are one line per distinct stack, outermost frame first, then the count:
 *	main;network_poll;tcp_input;memcpy 1234
 * the format flame-graph tools read (Brendan Gregg's flamegraph.pl, speedscope, inferno).
 */
#ifndef RINGVISOR_OBSERVE_PROFILE_H
#define RINGVISOR_OBSERVE_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define PROFILE_DEPTH_MAX 64u
/* Distinct stacks kept (about 10 MiB at most); samples of further new stacks are counted in
 * samples_dropped, so a guest that fakes a new stack every sample cannot grow the launcher. */
#define PROFILE_STACKS_MAX 16384u

struct profile_stack; /* one distinct stack and its count */

struct profile {
	struct profile_stack *table; /* open addressing, a power of two long; count 0: empty */
	size_t capacity, used;
	uint64_t *arena; /* the stacks' addresses, back to back */
	size_t arena_used, arena_capacity;
	uint64_t samples;	  /* stacks added */
	uint64_t samples_cut;	  /* of which the frame chain left guest memory or looped */
	uint64_t samples_dropped; /* not kept: out of memory, or PROFILE_STACKS_MAX reached */
};

/*
 * Names an address for the report: writes the function's name (or the address in hex, for a
 * stripped guest or an address outside every symbol) into `name`. `context` is the caller's.
 */
typedef void profile_name_function(void *context, uint64_t address, char *name, size_t size);

void profile_init(struct profile *profile);
void profile_release(struct profile *profile);

/* One sample: `depth` return addresses, innermost (the sampled RIP) first. `cut`: the walk
 * stopped at a frame it would not follow. */
void profile_add(struct profile *profile, const uint64_t *addresses, unsigned depth, bool cut);

/* Folded stacks, one line per distinct stack of names, sorted. False if writing failed. */
bool profile_write_folded(const struct profile *profile, FILE *out, profile_name_function *name,
			  void *context);

/* An SVG flame graph of the same stacks (a self-contained file a browser opens). `title` is
 * shown above it. False if writing failed or memory ran out. */
bool profile_write_flame_graph(const struct profile *profile, FILE *out, const char *title,
			       profile_name_function *name, void *context);

/* The `count` functions with the most samples of their own (self: the innermost frame) and in
 * all (total: anywhere on the stack, once per sample), as a small table. */
void profile_print_top(const struct profile *profile, FILE *out, unsigned count,
		       profile_name_function *name, void *context);

#endif
