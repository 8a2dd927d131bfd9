/* statistics.c - one snapshot of everything, printed or as JSON (see statistics.h). */
#include "observe/statistics.h"

#include <string.h>
#include <time.h>

#include "nic/io_thread.h"
#include "nic/nic.h"
#include "observe/metrics_stream.h"
#include "observe/thread_times.h"
#include "vm/vm.h"

uint64_t statistics_monotonic_ns(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

struct adding {
	struct statistics_snapshot *snapshot;
	const char *section, *name;
};

static void add(void *context, const char *counter, uint64_t value)
{
	struct adding *adding = context;
	struct statistics_snapshot *snapshot = adding->snapshot;
	if (snapshot->count < STATISTICS_MAX)
		snapshot->entries[snapshot->count++] =
			(struct statistic){ adding->section, adding->name, counter, value };
}

static void add_thread(struct adding *adding, const char *name, pid_t tid, bool guest)
{
	struct thread_times times;
	if (!tid || !thread_times_read(tid, &times))
		return; /* a thread that is gone (or never was) has no line, rather than zeros */
	adding->name = name;
	add(adding, "user_ns", times.user_ns);
	add(adding, "system_ns", times.system_ns);
	if (guest) {
		/* guest_time is part of utime: what is left is the launcher's own work. */
		add(adding, "guest_ns", times.guest_ns);
		uint64_t all = times.user_ns + times.system_ns;
		add(adding, "launcher_ns", all > times.guest_ns ? all - times.guest_ns : 0);
	}
}

void statistics_take(const struct statistics_sources *sources, struct statistics_snapshot *snapshot)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	snapshot->unix_time_ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
	snapshot->count = 0;
	struct adding adding = { snapshot, "nic", NULL };
	for (unsigned index = 0; index < sources->nic_count; index++) {
		adding.name = sources->nics[index].config.name;
		nic_device_visit_counters(&sources->nics[index], add, &adding);
	}
	adding.section = "thread";
	add_thread(&adding, "vcpu", sources->vcpu_tid, true);
	add_thread(&adding, "io", sources->io_tid, false);
	if (sources->io_polls) {
		adding.section = "poll";
		adding.name = "io";
#define POLL_STATISTIC(counter) add(&adding, #counter, sources->io_polls->counter);
		IO_POLL_COUNTERS(POLL_STATISTIC)
#undef POLL_STATISTIC
	}
	adding.section = "exit";
	adding.name = "vcpu";
	const struct vm_exits *exits = &sources->vm->exits;
#define EXIT_STATISTIC(reason) add(&adding, #reason, vm_exit_read(&exits->reason));
	VM_EXIT_REASONS(EXIT_STATISTIC)
#undef EXIT_STATISTIC
	adding.section = "time";
	adding.name = "launcher";
	add(&adding, "wall_ns", statistics_monotonic_ns() - sources->start_ns);
}

void statistics_print(const struct statistics_snapshot *snapshot, FILE *stream)
{
	for (unsigned index = 0; index < snapshot->count; index++) {
		const struct statistic *entry = &snapshot->entries[index];
		fprintf(stream, "%s %s %s %llu\n", entry->section, entry->name, entry->counter,
			(unsigned long long)entry->value);
	}
}

void statistics_write_json(const struct statistics_snapshot *snapshot, struct json_writer *json)
{
	json_begin(json);
	json_number(json, "unix_time_ns", snapshot->unix_time_ns);
	const char *section = NULL, *name = NULL;
	for (unsigned index = 0; index < snapshot->count; index++) {
		const struct statistic *entry = &snapshot->entries[index];
		/* Entries come grouped: a new section or name closes the open objects. */
		if (!section || strcmp(section, entry->section) != 0) {
			if (section) {
				json_end(json);
				json_end(json);
			}
			json_object(json, entry->section);
			json_object(json, entry->name);
			section = entry->section;
			name = entry->name;
		} else if (strcmp(name, entry->name) != 0) {
			json_end(json);
			json_object(json, entry->name);
			name = entry->name;
		}
		json_number(json, entry->counter, entry->value);
	}
	if (section) {
		json_end(json);
		json_end(json);
	}
	json_end(json);
}

void statistics_stream(const struct statistics_snapshot *snapshot, struct metrics_stream *stream)
{
	struct json_writer json;
	json_init(&json);
	statistics_write_json(snapshot, &json);
	if (!json.failed)
		metrics_stream_write_line(stream, json.text, json.length);
	json_release(&json);
}
