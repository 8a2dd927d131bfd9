# bench/bench.mk: the benchmarks. Included by the top Makefile.
#   make bench [BENCH_FLAGS=--quick|--peers]   exit costs, the profiler's cost, how near native
#                                              the guest's networking is, lguest's 2007 table
#   make table [TABLE_FLAGS=--quick]           the table alone, with the rivals (QEMU TCG, UML)
#   make network-bench                         the near-native figures alone (bench/near_native.sh)
#   make polling-bench [POLLING_FLAGS=--load]   polling against --poll 0, workload by workload
#                                              (bench/polling.sh; --load: one core kept busy)
#   make bench-tests                           the table's report against a recorded run (no root)

# Optimized twins of the UDP test tools: a benchmark measures the guest, not ASan.
BENCH_NETWORK_TOOLS := $(BUILD)/bench/udp_echo_client $(BUILD)/bench/udp_echo_server
$(BENCH_NETWORK_TOOLS): $(BUILD)/bench/%: tests/tools/%.c
	@mkdir -p $(@D)
	$(HOST_CC) -std=gnu11 -O2 $(WARNINGS) $< -o $@

$(BUILD)/bench/exit_costs.o: bench/exit_costs.c
	@mkdir -p $(dir $@)
	$(CC) $(LAUNCHER_CFLAGS) -c $< -o $@

$(BUILD)/bench/exit-costs: $(BUILD)/bench/exit_costs.o $(LAUNCHER_LIBRARY_OBJECTS)
	$(CC) $(LAUNCHER_CFLAGS) $^ -o $@

BENCH_NEEDS := all $(BUILD)/bench/exit-costs $(BENCH_GUESTS) $(BENCH_NETWORK_TOOLS) \
	$(BUILD)/tests/guests/testguest.elf
bench_env := BUILD=$(BUILD) RINGVISOR=$(BUILD)/ringvisor

.PHONY: bench bench-measure table table-measure network-bench network-bench-measure \
	polling-bench polling-bench-measure
# Each installs what it needs first, then builds and measures (a bare machine has no compiler).
bench:
	tools/dependencies.sh build run $(if $(filter --peers,$(BENCH_FLAGS)),peers)
	$(MAKE) --no-print-directory bench-measure BENCH_FLAGS='$(BENCH_FLAGS)'
bench-measure: $(BENCH_NEEDS)
	$(BUILD)/bench/exit-costs --guest $(BUILD)/bench/guests/bench-exits.elf \
		--launcher $(BUILD)/ringvisor --hello $(BUILD)/guests/hello.elf
	@echo
	$(bench_env) bench/profiler_cost.sh $(if $(filter --quick,$(BENCH_FLAGS)),--runs 3)
	@echo
	$(bench_env) bench/near_native.sh $(if $(filter --quick,$(BENCH_FLAGS)),--rounds 3 --seconds 2 --pings 100 --udp-seconds 1)
	@echo
	$(bench_env) bench/polling.sh $(if $(filter --quick,$(BENCH_FLAGS)),--rounds 3 --seconds 2 --pings 100 --udp-seconds 1)
	@echo
	$(bench_env) bench/table/lguest_table.sh $(BENCH_FLAGS)

# lguest's 2007 table alone, with the rivals. TABLE_FLAGS: e.g. --quick, --runs 3 --seconds 5.
table:
	tools/dependencies.sh build run peers
	$(MAKE) --no-print-directory table-measure TABLE_FLAGS='$(TABLE_FLAGS)'
table-measure: all
	$(bench_env) bench/table/lguest_table.sh --peers $(TABLE_FLAGS)

network-bench:
	tools/dependencies.sh build run
	$(MAKE) --no-print-directory network-bench-measure
network-bench-measure: all $(BENCH_NETWORK_TOOLS)
	$(bench_env) bench/near_native.sh

polling-bench:
	tools/dependencies.sh build run
	$(MAKE) --no-print-directory polling-bench-measure POLLING_FLAGS='$(POLLING_FLAGS)'
polling-bench-measure: all $(BENCH_NETWORK_TOOLS)
	$(bench_env) bench/polling.sh $(POLLING_FLAGS)

# The table's statistics and layout (bench/table/report.py) against a recorded run: quick, no
# root, no network. Debian's python3, which has python3-matplotlib; -B keeps __pycache__ out of
# the tree. Part of `make check` (tests/tests.mk).
.PHONY: bench-tests
BENCH_TESTS := "/usr/bin/python3 -B tests/bench/test_report.py" \
	"/usr/bin/python3 -B tests/bench/test_near_native_report.py"
bench-tests:
	@$(call run_each,$(BENCH_TESTS))
