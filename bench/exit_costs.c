/*
 * exit-costs: what it costs a Ringvisor guest to get the host's attention, beside what a
 * host process pays for the cheapest system call, measured side by side in one run; and how
 * long the launcher takes from its start to the guest's main and to the guest's exit.
 *
 *	exit-costs --launcher build/ringvisor --guest build/bench/guests/bench-exits.elf \
 *		   --hello build/guests/hello.elf [--runs N]
 *
 * The guest half (bench/guests/bench-exits) runs in this process, on the launcher's own code, with
 * one doorbell port bound to an ioeventfd as a NIC's will be. Start-up is measured from the
 * outside: fork and exec of the real launcher to the first byte the guest prints (its main
 * printing) and to the launcher's exit. Figures are medians, with min and max.
 */
#include <errno.h>
#include <getopt.h>
#include <linux/kvm.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ringvisor_abi.h"
#include "fail.h"
#include "vm/vm.h"

#define ROUNDS_MAX 64

struct figure {
	double values[ROUNDS_MAX];
	unsigned count;
};

static double now_ns(void)
{
	struct timespec time;
	clock_gettime(CLOCK_MONOTONIC, &time);
	return time.tv_sec * 1e9 + time.tv_nsec;
}

static int compare_doubles(const void *left, const void *right)
{
	double a = *(const double *)left, b = *(const double *)right;
	return (a > b) - (a < b);
}

static void add(struct figure *figure, double value)
{
	if (figure->count < ROUNDS_MAX)
		figure->values[figure->count++] = value;
}

static double median(struct figure *figure)
{
	if (figure->count == 0)
		return 0;
	qsort(figure->values, figure->count, sizeof(double), compare_doubles);
	return figure->values[figure->count / 2];
}

static void print_figure(const char *name, struct figure *figure, const char *unit, double baseline)
{
	double middle = median(figure); /* sorts */
	printf("%-46s %10.2f %-3s  (min %.2f, max %.2f)", name, middle, unit, figure->values[0],
	       figure->values[figure->count - 1]);
	if (baseline > 0)
		printf("  %7.1fx getppid()", middle / baseline);
	printf("\n");
}

static void measure_getppid(struct figure *figure, unsigned rounds)
{
	const unsigned calls = 1000000;
	for (unsigned round = 0; round < rounds; round++) {
		double start = now_ns();
		for (unsigned index = 0; index < calls; index++)
			syscall(SYS_getppid); /* glibc would not cache it, but be sure */
		add(figure, (now_ns() - start) / calls);
	}
}

/* Runs the guest half in this process; its console output comes back through a pipe. */
static void measure_guest_exits(const char *guest, unsigned rounds, struct figure *hypercalls,
				struct figure *doorbells)
{
	struct vm vm;
	vm_create(&vm, 64ull << 20);
	char rounds_text[16];
	snprintf(rounds_text, sizeof rounds_text, "%u", rounds);
	char *arguments[] = { "bench-exits", rounds_text, NULL };
	vm_load_guest(&vm, guest, 2, arguments);

	int doorbell = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	struct kvm_ioeventfd binding = {
		.addr = RINGVISOR_PORT_DOORBELL_FIRST,
		.len = 4,
		.fd = doorbell,
		.flags = KVM_IOEVENTFD_FLAG_PIO,
	};
	if (doorbell < 0 || ioctl(vm.vm_fd, KVM_IOEVENTFD, &binding) < 0)
		fail_errno("binding the doorbell port to an eventfd");

	int output[2];
	if (pipe(output) < 0)
		fail_errno("pipe");
	fflush(stdout);
	int saved_stdout = dup(STDOUT_FILENO);
	dup2(output[1], STDOUT_FILENO);
	int status = vm_run(&vm);
	dup2(saved_stdout, STDOUT_FILENO);
	close(saved_stdout);
	close(output[1]);
	vm_destroy(&vm);
	close(doorbell);

	FILE *lines = fdopen(output[0], "r");
	char line[256];
	while (lines && fgets(line, sizeof line, lines)) {
		unsigned round;
		double value;
		if (sscanf(line, "hypercall_ns %u %lf", &round, &value) == 2)
			add(hypercalls, value);
		else if (sscanf(line, "doorbell_ns %u %lf", &round, &value) == 2)
			add(doorbells, value);
	}
	if (lines)
		fclose(lines);
	if (status != 0 || hypercalls->count == 0 || doorbells->count == 0)
		fail("the bench guest failed (status %d)", status);
}

/* One launch of the real launcher: time to the guest's first output byte and to exit. */
static void measure_start(const char *launcher, const char *hello, struct figure *to_main,
			  struct figure *to_exit)
{
	int output[2];
	if (pipe(output) < 0)
		fail_errno("pipe");
	double start = now_ns();
	pid_t child = fork();
	if (child < 0)
		fail_errno("fork");
	if (child == 0) {
		dup2(output[1], STDOUT_FILENO);
		close(output[0]);
		close(output[1]);
		execl(launcher, launcher, "run", hello, (char *)NULL);
		_exit(127);
	}
	close(output[1]);
	char byte;
	double first_byte = 0;
	ssize_t got;
	while ((got = read(output[0], &byte, 1)) < 0 && errno == EINTR)
		;
	if (got == 1)
		first_byte = now_ns();
	char drain[4096];
	while (read(output[0], drain, sizeof drain) > 0)
		;
	int status;
	waitpid(child, &status, 0);
	double end = now_ns();
	close(output[0]);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || got != 1)
		fail("%s run %s failed", launcher, hello);
	add(to_main, (first_byte - start) / 1e6);
	add(to_exit, (end - start) / 1e6);
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "launcher", required_argument, NULL, 'l' },
		{ "guest", required_argument, NULL, 'g' },
		{ "hello", required_argument, NULL, 'e' },
		{ "runs", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *launcher = "build/ringvisor", *guest = "build/bench/guests/bench-exits.elf",
		   *hello = "build/guests/hello.elf";
	unsigned runs = 9;
	int option;
	while ((option = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (option) {
		case 'l':
			launcher = optarg;
			break;
		case 'g':
			guest = optarg;
			break;
		case 'e':
			hello = optarg;
			break;
		case 'r':
			runs = (unsigned)strtoul(optarg, NULL, 10);
			if (runs == 0 || runs > ROUNDS_MAX)
				fail("--runs must be from 1 to %d", ROUNDS_MAX);
			break;
		case 'h':
			printf("usage: exit-costs [--launcher PATH] [--guest BENCH-EXITS.elf] "
			       "[--hello HELLO.elf] [--runs N]\n");
			return 0;
		default:
			fail("unknown option; see --help");
		}
	}

	struct figure getppid_ns = { 0 }, hypercall_ns = { 0 }, doorbell_ns = { 0 };
	struct figure to_main_ms = { 0 }, to_exit_ms = { 0 };
	measure_getppid(&getppid_ns, runs);
	measure_guest_exits(guest, runs, &hypercall_ns, &doorbell_ns);
	for (unsigned run = 0; run < runs; run++)
		measure_start(launcher, hello, &to_main_ms, &to_exit_ms);

	printf("Ringvisor exit costs, %u runs each, medians (one run, side by side)\n\n", runs);
	double baseline = median(&getppid_ns);
	print_figure("host getppid() system call", &getppid_ns, "ns", baseline);
	print_figure("guest hypercall (exit to the launcher)", &hypercall_ns, "ns", baseline);
	print_figure("guest doorbell (ioeventfd, no user exit)", &doorbell_ns, "ns", baseline);
	printf("\n");
	print_figure("launcher start to guest main (first output)", &to_main_ms, "ms", 0);
	print_figure("launcher start to guest exit", &to_exit_ms, "ms", 0);
	return 0;
}
