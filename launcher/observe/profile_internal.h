/*
 * Between profile.c and the pieces that draw its report (flame_graph.c): the profile's stacks
 * as names, root first, sorted and merged.
 */
#ifndef RINGVISOR_OBSERVE_PROFILE_INTERNAL_H
#define RINGVISOR_OBSERVE_PROFILE_INTERNAL_H

#include "observe/profile.h"

#define PROFILE_NAME_MAX 128u

struct named_stack {
	char *text; /* "outer;...;inner", no ';' inside a name, printable ASCII */
	uint64_t count;
};

struct named_stacks {
	struct named_stack *stacks; /* sorted by text, no two equal */
	size_t count;
};

/* False if memory ran out (nothing to free then). */
bool profile_name_stacks(const struct profile *profile, profile_name_function *name, void *context,
			 struct named_stacks *named);
void profile_free_named(struct named_stacks *named);

#endif
