/*
 * Unit tests of the guest profile's counting and its three reports (launcher/observe/profile.c,
 * flame_graph.c): folded stacks merge by name and keep recursion, the top tables count self and
 * total right, hostile names cannot break a line or the SVG, and a profile with no samples or
 * many distinct stacks still reports.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "observe/profile.h"

/* Addresses 0x1000-0x1fff are "main", 0x2000-0x2fff "poll", 0x3000-0x3fff "memcpy"; 0x4000
 * is named hostilely; anything else gets no name (the profile then prints the address). */
static void test_name(void *context, uint64_t address, char *name, size_t size)
{
	(void)context;
	static const char *const names[] = { "main", "poll", "memcpy", "evil;<name> &\n\"x\"" };
	unsigned index = (unsigned)(address >> 12) - 1;
	if (address >= 0x1000 && address < 0x5000)
		snprintf(name, size, "%s", names[index]);
}

static char *render(void (*report)(const struct profile *, FILE *), const struct profile *profile)
{
	char *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);
	assert_non_null(out);
	report(profile, out);
	fclose(out);
	return text;
}

static void folded(const struct profile *profile, FILE *out)
{
	assert_true(profile_write_folded(profile, out, test_name, NULL));
}

static void top(const struct profile *profile, FILE *out)
{
	profile_print_top(profile, out, 20, test_name, NULL);
}

static void graph(const struct profile *profile, FILE *out)
{
	assert_true(profile_write_flame_graph(profile, out, "guest <test>", test_name, NULL));
}

static void add(struct profile *profile, unsigned times, unsigned depth, ...)
{
	uint64_t addresses[PROFILE_DEPTH_MAX];
	va_list list;
	va_start(list, depth);
	for (unsigned index = 0; index < depth; index++)
		addresses[index] = va_arg(list, uint64_t);
	va_end(list);
	for (unsigned time = 0; time < times; time++)
		profile_add(profile, addresses, depth, false);
}

static void test_folded_stacks_merge_by_function(void **state)
{
	(void)state;
	struct profile profile;
	profile_init(&profile);
	/* Innermost first: two addresses inside memcpy, called from two places in poll. */
	add(&profile, 3, 3, (uint64_t)0x3010, (uint64_t)0x2010, (uint64_t)0x1010);
	add(&profile, 2, 3, (uint64_t)0x3020, (uint64_t)0x2030, (uint64_t)0x1010);
	add(&profile, 4, 2, (uint64_t)0x2040, (uint64_t)0x1010);
	add(&profile, 1, 1, (uint64_t)0x9999);
	char *text = render(folded, &profile);
	assert_string_equal(text, "0x9999 1\nmain;poll 4\nmain;poll;memcpy 5\n");
	free(text);
	assert_int_equal(profile.samples, 10);
	profile_release(&profile);
}

static void test_top_counts_self_and_total_once_per_sample(void **state)
{
	(void)state;
	struct profile profile;
	profile_init(&profile);
	add(&profile, 6, 3, (uint64_t)0x3000, (uint64_t)0x2000, (uint64_t)0x1000);
	/* Recursion: poll on the stack twice counts once in poll's total. */
	add(&profile, 4, 3, (uint64_t)0x2000, (uint64_t)0x2100, (uint64_t)0x1000);
	char *text = render(top, &profile);
	assert_non_null(strstr(text, "by self samples\n   60.00%        6  memcpy\n"));
	assert_non_null(strstr(text, "   40.00%        4  poll\n"));
	assert_non_null(strstr(text, "by total samples\n  100.00%       10  main\n"
				     "  100.00%       10  poll\n   60.00%        6  memcpy\n"));
	free(text);
	profile_release(&profile);
}

static void test_hostile_names_cannot_break_lines_or_tags(void **state)
{
	(void)state;
	struct profile profile;
	profile_init(&profile);
	add(&profile, 2, 2, (uint64_t)0x4000, (uint64_t)0x1000);
	char *text = render(folded, &profile);
	assert_string_equal(text, "main;evil_<name>_&_\"x\" 2\n");
	free(text);
	text = render(graph, &profile);
	assert_null(strstr(text, "<name>"));
	assert_non_null(strstr(text, "evil_&lt;name&gt;_&amp;_&quot;x&quot;"));
	assert_non_null(strstr(text, "guest &lt;test&gt; (2 samples)"));
	assert_non_null(strstr(text, "</svg>\n"));
	free(text);
	profile_release(&profile);
}

static void test_flame_graph_widths_follow_samples(void **state)
{
	(void)state;
	struct profile profile;
	profile_init(&profile);
	add(&profile, 3, 2, (uint64_t)0x3000, (uint64_t)0x1000);
	add(&profile, 1, 2, (uint64_t)0x2000, (uint64_t)0x1000);
	char *text = render(graph, &profile);
	/* main spans everything; above it memcpy (siblings in name order), three quarters wide,
	 * then poll. */
	assert_non_null(strstr(text, "<title>main (4 samples, 100.00%)</title><rect x=\"0.00\""));
	assert_non_null(strstr(text, "width=\"1200.00\""));
	assert_non_null(strstr(text, "<title>memcpy (3 samples, 75.00%)</title><rect x=\"0.00\""));
	assert_non_null(strstr(text, "<title>poll (1 samples, 25.00%)</title><rect x=\"900.00\""));
	free(text);
	profile_release(&profile);
}

/* A name that another extends with a character below ';' ("main" and "main.cold") must not
 * split main's callers in two: one main box, with both its callees on it. */
static void name_prefixes(void *context, uint64_t address, char *name, size_t size)
{
	(void)context;
	static const char *const names[] = { "k", "main", "main.cold", "foo" };
	snprintf(name, size, "%s", names[(address >> 12) - 1]);
}

static void test_prefixed_names_stay_one_frame(void **state)
{
	(void)state;
	struct profile profile;
	profile_init(&profile);
	add(&profile, 1, 2, (uint64_t)0x2000, (uint64_t)0x1000);		   /* k;main */
	add(&profile, 1, 2, (uint64_t)0x3000, (uint64_t)0x1000);		   /* k;main.cold */
	add(&profile, 1, 3, (uint64_t)0x4000, (uint64_t)0x2000, (uint64_t)0x1000); /* k;main;foo */
	char *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);
	assert_true(profile_write_flame_graph(&profile, out, "t", name_prefixes, NULL));
	fclose(out);
	unsigned mains = 0;
	for (char *at = text; (at = strstr(at, "<title>main (")); at++)
		mains++;
	assert_int_equal(mains, 1);
	assert_non_null(strstr(text, "<title>main (2 samples"));
	free(text);
	profile_release(&profile);
}

static void test_empty_and_large_profiles(void **state)
{
	(void)state;
	struct profile profile;
	profile_init(&profile);
	char *text = render(folded, &profile);
	assert_string_equal(text, "");
	free(text);
	text = render(top, &profile);
	assert_string_equal(text, "profile: no samples\n");
	free(text);
	text = render(graph, &profile);
	assert_non_null(strstr(text, "(0 samples)"));
	free(text);

	/* 50,000 distinct stacks, some of full depth: the table and the arena grow, up to
	 * PROFILE_STACKS_MAX distinct stacks; samples of new stacks past that are dropped and
	 * counted, while a stack already kept still counts. */
	uint64_t addresses[PROFILE_DEPTH_MAX + 8];
	for (unsigned sample = 0; sample < 50000; sample++) {
		unsigned depth = 1 + sample % (PROFILE_DEPTH_MAX + 8);
		for (unsigned index = 0; index < depth; index++)
			addresses[index] = 0x10000 + sample * 16 + index;
		profile_add(&profile, addresses, depth, sample % 7 == 0);
	}
	addresses[0] = 0x10000; /* sample 0's stack, kept long ago */
	profile_add(&profile, addresses, 1, false);
	assert_int_equal(profile.samples, 50001);
	assert_int_equal(profile.samples_cut, (50000 + 6) / 7);
	assert_int_equal(profile.used, PROFILE_STACKS_MAX);
	assert_int_equal(profile.samples_dropped, 50000 - PROFILE_STACKS_MAX);
	text = render(folded, &profile);
	size_t lines = 0;
	for (char *c = text; *c; c++)
		lines += *c == '\n';
	assert_int_equal(lines, PROFILE_STACKS_MAX);
	assert_non_null(strstr(text, "0x10000 2\n"));
	free(text);
	profile_release(&profile);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_folded_stacks_merge_by_function),
		cmocka_unit_test(test_top_counts_self_and_total_once_per_sample),
		cmocka_unit_test(test_hostile_names_cannot_break_lines_or_tags),
		cmocka_unit_test(test_flame_graph_widths_follow_samples),
		cmocka_unit_test(test_prefixed_names_stay_one_frame),
		cmocka_unit_test(test_empty_and_large_profiles),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
