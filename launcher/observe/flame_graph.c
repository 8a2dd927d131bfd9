/*
 * flame_graph.c - the profile drawn as an SVG flame graph, and its top functions.
 *
 * A flame graph (Brendan Gregg's) stacks each sampled call chain from the bottom up: the root at
 * the bottom, each frame a box as wide as the samples it was on the stack for, its callees on
 * top of it, siblings in name order. So a wide box is where time goes, and a wide top edge is
 * time spent in that function itself. The sorted named stacks become a tree of frames (sorted
 * frame by frame, every stack sharing a prefix of frames sits next to the others, so only a
 * node's last child can be the one to extend), which is drawn depth first. Every box has a <title>:
 * hovering shows the function, its samples and share. No script, no external file: any browser
 * opens it.
 */
#include <stdlib.h>
#include <string.h>

#include "observe/profile.h"
#include "observe/profile_internal.h"

#define GRAPH_WIDTH 1200.0
#define FRAME_HEIGHT 16
#define GRAPH_TOP 40 /* room for the title */
#define TEXT_CHARACTER_WIDTH 7.0

struct frame_node {
	char *name;
	uint64_t count;
	struct frame_node *first_child, *last_child, *next_sibling;
};

static void free_tree(struct frame_node *node)
{
	while (node) {
		struct frame_node *next = node->next_sibling;
		free_tree(node->first_child);
		free(node->name);
		free(node);
		node = next;
	}
}

static struct frame_node *child_named(struct frame_node *parent, const char *name, size_t length)
{
	struct frame_node *last = parent->last_child;
	if (last && strlen(last->name) == length && memcmp(last->name, name, length) == 0)
		return last;
	struct frame_node *node = calloc(1, sizeof *node);
	if (!node || !(node->name = strndup(name, length))) {
		free(node);
		return NULL;
	}
	if (last)
		last->next_sibling = node;
	else
		parent->first_child = node;
	parent->last_child = node;
	return node;
}

/* The tree of all stacks under `root`; its depth in *depth. False if memory ran out. */
static bool build_tree(const struct named_stacks *named, struct frame_node *root, unsigned *depth)
{
	*depth = 0;
	for (size_t index = 0; index < named->count; index++) {
		const struct named_stack *stack = &named->stacks[index];
		struct frame_node *node = root;
		unsigned level = 0;
		root->count += stack->count;
		for (const char *name = stack->text; *name;) {
			size_t length = strcspn(name, ";");
			if (!(node = child_named(node, name, length)))
				return false;
			node->count += stack->count;
			level++;
			name += length + (name[length] == ';');
		}
		if (level > *depth)
			*depth = level;
	}
	return true;
}

static void write_escaped(FILE *out, const char *text, size_t limit)
{
	for (size_t index = 0; text[index] && index < limit; index++) {
		switch (text[index]) {
		case '<':
			fputs("&lt;", out);
			break;
		case '>':
			fputs("&gt;", out);
			break;
		case '&':
			fputs("&amp;", out);
			break;
		case '"':
			fputs("&quot;", out);
			break;
		case '\'':
			fputs("&apos;", out);
			break;
		default:
			fputc(text[index], out);
		}
	}
}

/* A warm colour from the name, so one function has one colour everywhere in the graph. */
static void colour_for(const char *name, unsigned *red, unsigned *green, unsigned *blue)
{
	uint32_t hash = 2166136261u;
	for (const char *c = name; *c; c++)
		hash = (hash ^ (uint8_t)*c) * 16777619u;
	*red = 205 + hash % 50;
	*green = 80 + (hash >> 8) % 150;
	*blue = 30 + (hash >> 16) % 50;
}

static void draw(FILE *out, const struct frame_node *node, double x, unsigned level, unsigned depth,
		 uint64_t total)
{
	for (; node; node = node->next_sibling) {
		double width = GRAPH_WIDTH * (double)node->count / (double)total;
		if (width >= 0.1) {
			double y = GRAPH_TOP + (double)(depth - level) * FRAME_HEIGHT;
			unsigned red, green, blue;
			colour_for(node->name, &red, &green, &blue);
			fputs("<g><title>", out);
			write_escaped(out, node->name, PROFILE_NAME_MAX);
			fprintf(out, " (%llu samples, %.2f%%)</title>",
				(unsigned long long)node->count,
				100.0 * (double)node->count / (double)total);
			fprintf(out,
				"<rect x=\"%.2f\" y=\"%.0f\" width=\"%.2f\" height=\"%d\" "
				"fill=\"rgb(%u,%u,%u)\" rx=\"2\"/>",
				x, y, width, FRAME_HEIGHT - 1, red, green, blue);
			size_t fits = (size_t)((width - 6) / TEXT_CHARACTER_WIDTH);
			if (fits >= 3) {
				fprintf(out, "<text x=\"%.2f\" y=\"%.0f\">", x + 3,
					y + FRAME_HEIGHT - 4);
				size_t length = strlen(node->name);
				write_escaped(out, node->name, length <= fits ? length : fits - 2);
				fputs(length <= fits ? "" : "..", out);
				fputs("</text>", out);
			}
			fputs("</g>\n", out);
			draw(out, node->first_child, x, level + 1, depth, total);
		}
		x += width;
	}
}

bool profile_write_flame_graph(const struct profile *profile, FILE *out, const char *title,
			       profile_name_function *name, void *context)
{
	struct named_stacks named;
	if (!profile_name_stacks(profile, name, context, &named))
		return false;
	struct frame_node root = { 0 };
	unsigned depth;
	bool built = build_tree(&named, &root, &depth);
	profile_free_named(&named);
	if (!built) {
		free_tree(root.first_child);
		return false;
	}
	unsigned height = GRAPH_TOP + (depth + 1) * FRAME_HEIGHT + 8;
	fprintf(out,
		"<?xml version=\"1.0\" standalone=\"no\"?>\n"
		"<svg version=\"1.1\" width=\"%.0f\" height=\"%u\" viewBox=\"0 0 %.0f %u\" "
		"xmlns=\"http://www.w3.org/2000/svg\">\n"
		"<style>text { font: 12px monospace; fill: #000; pointer-events: none; }"
		" rect:hover { stroke: #000; }</style>\n"
		"<rect x=\"0\" y=\"0\" width=\"100%%\" height=\"100%%\" fill=\"#fdf6e3\"/>\n"
		"<text x=\"%.0f\" y=\"24\" text-anchor=\"middle\" style=\"font-size: 16px\">",
		GRAPH_WIDTH, height, GRAPH_WIDTH, height, GRAPH_WIDTH / 2);
	write_escaped(out, title, 200);
	fprintf(out, " (%llu samples)</text>\n", (unsigned long long)root.count);
	if (root.count)
		draw(out, root.first_child, 0, 1, depth, root.count);
	fputs("</svg>\n", out);
	free_tree(root.first_child);
	return fflush(out) == 0 && !ferror(out);
}

/* ---- Top functions ----------------------------------------------------------------------------
 */

struct function_total {
	const char *name; /* into a named stack's text, not terminated: `length` */
	size_t length;
	uint64_t self, total;
};

/* Most first; equal counts in name order, so the table is the same from run to run. */
static int compare_counts(uint64_t x, uint64_t y, const struct function_total *a,
			  const struct function_total *b)
{
	if (x != y)
		return x < y ? 1 : -1;
	size_t length = a->length < b->length ? a->length : b->length;
	int order = memcmp(a->name, b->name, length);
	return order ? order : (a->length > b->length) - (a->length < b->length);
}

static int compare_self(const void *a, const void *b)
{
	const struct function_total *x = a, *y = b;
	return compare_counts(x->self, y->self, x, y);
}

static int compare_total(const void *a, const void *b)
{
	const struct function_total *x = a, *y = b;
	return compare_counts(x->total, y->total, x, y);
}

/* The functions seen so far, by name: a dense array, and an open-addressing index into it. */
struct function_table {
	struct function_total *functions;
	size_t count;
	size_t *slots; /* index + 1 into functions; 0: empty */
	size_t mask;
};

static struct function_total *find_function(struct function_table *table, const char *name,
					    size_t length)
{
	uint64_t hash = 0xcbf29ce484222325ull;
	for (size_t index = 0; index < length; index++)
		hash = (hash ^ (uint8_t)name[index]) * 0x100000001b3ull;
	for (size_t slot = hash & table->mask;; slot = (slot + 1) & table->mask) {
		if (table->slots[slot] == 0) {
			table->functions[table->count] =
				(struct function_total){ name, length, 0, 0 };
			table->slots[slot] = ++table->count;
			return &table->functions[table->count - 1];
		}
		struct function_total *function = &table->functions[table->slots[slot] - 1];
		if (function->length == length && memcmp(function->name, name, length) == 0)
			return function;
	}
}

static void print_table(FILE *out, const char *heading, struct function_total *functions,
			size_t count, unsigned shown, uint64_t samples, bool by_self)
{
	qsort(functions, count, sizeof *functions, by_self ? compare_self : compare_total);
	fprintf(out, "profile: top %u functions by %s samples\n", shown, heading);
	for (size_t index = 0; index < count && index < shown; index++) {
		uint64_t value = by_self ? functions[index].self : functions[index].total;
		if (value == 0)
			break;
		fprintf(out, "  %6.2f%% %8llu  %.*s\n", 100.0 * (double)value / (double)samples,
			(unsigned long long)value, (int)functions[index].length,
			functions[index].name);
	}
}

void profile_print_top(const struct profile *profile, FILE *out, unsigned count,
		       profile_name_function *name, void *context)
{
	struct named_stacks named;
	if (!profile_name_stacks(profile, name, context, &named)) {
		fprintf(out, "profile: out of memory for the report\n");
		return;
	}
	size_t frames = 0;
	uint64_t samples = 0;
	for (size_t index = 0; index < named.count; index++) {
		samples += named.stacks[index].count;
		for (const char *c = named.stacks[index].text; *c; c++)
			frames += *c == ';';
		frames++;
	}
	struct function_table table = { 0 };
	size_t capacity = 16;
	while (capacity < 2 * frames)
		capacity *= 2;
	table.mask = capacity - 1;
	table.functions = calloc(frames ? frames : 1, sizeof *table.functions);
	table.slots = calloc(capacity, sizeof *table.slots);
	if (!table.functions || !table.slots || samples == 0) {
		fprintf(out, table.functions && table.slots ? "profile: no samples\n"
							    : "profile: out of memory\n");
		free(table.functions);
		free(table.slots);
		profile_free_named(&named);
		return;
	}
	for (size_t index = 0; index < named.count; index++) {
		const struct named_stack *stack = &named.stacks[index];
		struct function_total *seen[PROFILE_DEPTH_MAX];
		unsigned seen_count = 0;
		struct function_total *function = NULL;
		for (const char *frame = stack->text; *frame;) {
			size_t length = strcspn(frame, ";");
			function = find_function(&table, frame, length);
			bool counted = false; /* recursion: once per sample in the total */
			for (unsigned other = 0; other < seen_count; other++)
				counted |= seen[other] == function;
			if (!counted && seen_count < PROFILE_DEPTH_MAX) {
				seen[seen_count++] = function;
				function->total += stack->count;
			}
			frame += length + (frame[length] == ';');
		}
		if (function)
			function->self += stack->count; /* the innermost frame */
	}
	print_table(out, "self", table.functions, table.count, count, samples, true);
	print_table(out, "total", table.functions, table.count, count, samples, false);
	free(table.functions);
	free(table.slots);
	profile_free_named(&named);
}
