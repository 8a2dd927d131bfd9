/*
 * profile.c - counting sampled stacks, and the three ways out: folded stacks, a flame graph,
 * the top functions (see profile.h).
 *
 * While the guest runs: a hash table of distinct address stacks with their counts. At exit each
 * stack's addresses become names (root first), the named stacks are sorted and merged (two
 * addresses in one function are one frame), and both the folded file and the flame graph are
 * drawn from that sorted list. Guest symbol names are the guest's words: characters that would
 * break a folded line or the SVG are replaced, and the SVG escapes the rest.
 */
#include "observe/profile.h"
#include "observe/profile_internal.h"

#include <stdlib.h>
#include <string.h>

#define PROFILE_TABLE_INITIAL 1024u

struct profile_stack {
	uint64_t hash;
	uint64_t count; /* 0: an empty slot */
	size_t offset;	/* of the addresses in the arena */
	unsigned depth;
};

/* FNV-1a over the addresses: stacks differ mostly in a few low bytes. */
static uint64_t hash_stack(const uint64_t *addresses, unsigned depth)
{
	uint64_t hash = 0xcbf29ce484222325ull;
	for (unsigned index = 0; index < depth; index++)
		for (unsigned shift = 0; shift < 64; shift += 8) {
			hash ^= (addresses[index] >> shift) & 0xff;
			hash *= 0x100000001b3ull;
		}
	return hash;
}

void profile_init(struct profile *profile)
{
	memset(profile, 0, sizeof *profile);
}

void profile_release(struct profile *profile)
{
	free(profile->table);
	free(profile->arena);
	profile_init(profile);
}

static struct profile_stack *find_slot(struct profile_stack *table, size_t capacity,
				       const uint64_t *arena, uint64_t hash,
				       const uint64_t *addresses, unsigned depth)
{
	for (size_t slot = hash & (capacity - 1);; slot = (slot + 1) & (capacity - 1)) {
		struct profile_stack *stack = &table[slot];
		if (stack->count == 0)
			return stack;
		if (stack->hash == hash && stack->depth == depth &&
		    (!addresses ||
		     memcmp(arena + stack->offset, addresses, depth * sizeof *addresses) == 0))
			return stack;
	}
}

/* Doubles the table (or makes the first one); false if memory ran out. */
static bool grow_table(struct profile *profile)
{
	size_t capacity = profile->capacity ? profile->capacity * 2 : PROFILE_TABLE_INITIAL;
	struct profile_stack *table = calloc(capacity, sizeof *table);
	if (!table)
		return false;
	for (size_t slot = 0; slot < profile->capacity; slot++) {
		const struct profile_stack *old = &profile->table[slot];
		if (old->count)
			*find_slot(table, capacity, NULL, old->hash, NULL, 0) = *old;
	}
	free(profile->table);
	profile->table = table;
	profile->capacity = capacity;
	return true;
}

static bool reserve_arena(struct profile *profile, unsigned depth)
{
	if (profile->arena_used + depth <= profile->arena_capacity)
		return true;
	size_t capacity = profile->arena_capacity ? profile->arena_capacity * 2 : 16384;
	while (capacity < profile->arena_used + depth)
		capacity *= 2;
	uint64_t *arena = realloc(profile->arena, capacity * sizeof *arena);
	if (!arena)
		return false;
	profile->arena = arena;
	profile->arena_capacity = capacity;
	return true;
}

void profile_add(struct profile *profile, const uint64_t *addresses, unsigned depth, bool cut)
{
	if (depth > PROFILE_DEPTH_MAX)
		depth = PROFILE_DEPTH_MAX;
	profile->samples++;
	if (cut)
		profile->samples_cut++;
	if ((profile->used + 1) * 4 > profile->capacity * 3 && profile->used < PROFILE_STACKS_MAX &&
	    !grow_table(profile)) {
		profile->samples_dropped++;
		return;
	}
	uint64_t hash = hash_stack(addresses, depth);
	struct profile_stack *stack = find_slot(profile->table, profile->capacity, profile->arena,
						hash, addresses, depth);
	if (stack->count == 0) {
		if (profile->used >= PROFILE_STACKS_MAX || !reserve_arena(profile, depth)) {
			profile->samples_dropped++;
			return;
		}
		memcpy(profile->arena + profile->arena_used, addresses, depth * sizeof *addresses);
		*stack = (struct profile_stack){ hash, 0, profile->arena_used, depth };
		profile->arena_used += depth;
		profile->used++;
	}
	stack->count++;
}

/* ---- Named stacks ---------------------------------------------------------------------------- */

/* The caller's name for `address`, with what would break a folded line or a tag replaced. */
static void frame_name(profile_name_function *name, void *context, uint64_t address,
		       char out[PROFILE_NAME_MAX])
{
	out[0] = '\0';
	name(context, address, out, PROFILE_NAME_MAX);
	out[PROFILE_NAME_MAX - 1] = '\0';
	if (out[0] == '\0')
		snprintf(out, PROFILE_NAME_MAX, "%#llx", (unsigned long long)address);
	for (char *c = out; *c; c++)
		if (*c == ';' || *c <= ' ' || *c > '~')
			*c = '_';
}

/* Frame by frame: ';' sorts before any character a name can hold, so every stack that shares
 * a first frame comes together, then within those every one sharing a second, and so on ("a;b"
 * before "a.cold", which plain strcmp would put between "a" and "a;b"). */
static int compare_named(const void *a, const void *b)
{
	const unsigned char *x = (const unsigned char *)((const struct named_stack *)a)->text;
	const unsigned char *y = (const unsigned char *)((const struct named_stack *)b)->text;
	for (;; x++, y++) {
		int one = *x == ';' ? 1 : *x, other = *y == ';' ? 1 : *y;
		if (one != other || one == 0)
			return one - other;
	}
}

void profile_free_named(struct named_stacks *named)
{
	for (size_t index = 0; index < named->count; index++)
		free(named->stacks[index].text);
	free(named->stacks);
	named->stacks = NULL;
	named->count = 0;
}

/* Every stack as names, root first, sorted, equal ones merged. False if memory ran out. */
bool profile_name_stacks(const struct profile *profile, profile_name_function *name, void *context,
			 struct named_stacks *named)
{
	named->count = 0;
	named->stacks = calloc(profile->used ? profile->used : 1, sizeof *named->stacks);
	if (!named->stacks)
		return false;
	for (size_t slot = 0; slot < profile->capacity; slot++) {
		const struct profile_stack *stack = &profile->table[slot];
		if (!stack->count || stack->depth == 0)
			continue;
		char *text = malloc((size_t)stack->depth * PROFILE_NAME_MAX);
		if (!text) {
			profile_free_named(named);
			return false;
		}
		size_t length = 0;
		char frame[PROFILE_NAME_MAX];
		for (unsigned index = stack->depth; index-- > 0;) {
			frame_name(name, context, profile->arena[stack->offset + index], frame);
			size_t frame_length = strlen(frame);
			if (length)
				text[length++] = ';';
			memcpy(text + length, frame, frame_length);
			length += frame_length;
		}
		text[length] = '\0';
		char *fitted =
			realloc(text, length + 1); /* most names are far shorter than the most */
		named->stacks[named->count++] =
			(struct named_stack){ fitted ? fitted : text, stack->count };
	}
	qsort(named->stacks, named->count, sizeof *named->stacks, compare_named);
	size_t kept = 0;
	for (size_t index = 0; index < named->count; index++) {
		if (kept && strcmp(named->stacks[kept - 1].text, named->stacks[index].text) == 0) {
			named->stacks[kept - 1].count += named->stacks[index].count;
			free(named->stacks[index].text);
		} else {
			named->stacks[kept++] = named->stacks[index];
		}
	}
	named->count = kept;
	return true;
}

bool profile_write_folded(const struct profile *profile, FILE *out, profile_name_function *name,
			  void *context)
{
	struct named_stacks named;
	if (!profile_name_stacks(profile, name, context, &named))
		return false;
	for (size_t index = 0; index < named.count; index++)
		fprintf(out, "%s %llu\n", named.stacks[index].text,
			(unsigned long long)named.stacks[index].count);
	profile_free_named(&named);
	return fflush(out) == 0 && !ferror(out);
}
