# Ringvisor's build. The two commands a user types:
#   make run    installs what it needs, builds, runs a guest with networking, then the benchmarks
#   make test   installs what it needs, then every test: unit tests under ASan/UBSan, then
#               real guests on real KVM and TAPs (`make fuzz` runs the fuzzers); every suite
#               runs even if one fails, and one summary ends it
#   make test-repeat N=10 [LOAD=1]   the whole suite N times, LOAD=1 with one core kept busy
# `make` alone builds the launcher and every guest. Each part has its own fragment:
#   launcher/launcher.mk    the host program, build/ringvisor (and a sanitized twin for tests)
#   guest/guest.mk          the guest kernel and one static ELF per app, build/guests/*.elf
#   tests/tests.mk          test guests, host-side test tools, the integration tests
#   tests/unit/*.mk         unit tests (guest libc pieces, launcher pieces), cmocka + sanitizers
#   tests/net/net.mk        the network stack's packet tests and its fuzzer
#   tests/fuzz/fuzz.mk      the launcher's fuzzers (virtqueue, NIC, share switch, guest ELF)
#   bench/bench.mk          exit costs, latency, lguest's 2007 table

BUILD ?= build
CC ?= cc
HOST_CC ?= cc
GUEST_CC ?= gcc
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 30

WARNINGS := -Wall -Wextra -Werror
HOST_CFLAGS := -std=gnu11 -O1 -g $(WARNINGS)
SANITIZE := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS := -std=gnu11 -O1 -g $(WARNINGS) -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=all

# run_each PROGRAMS: runs every one of a suite's test programs, even after one fails, and fails
# at the end if any did (tests/run_suites.sh counts what each printed).
run_each = status=0; for test in $(1); do echo "== $$test"; $$test || status=1; done; exit $$status

.DEFAULT_GOAL := all
.SECONDARY:
.PHONY: all run demo test test-repeat check dependencies-run dependencies-test format format-check clean

include launcher/launcher.mk
include guest/guest.mk
include tests/unit/unit.mk
include tests/unit/launcher.mk
include tests/net/net.mk
include tests/fuzz/fuzz.mk
include tests/tests.mk
include bench/bench.mk

all: $(BUILD)/ringvisor $(GUESTS)

# The main job: a guest with networking talked to by the host (tools/demo.sh), then the
# benchmarks in their quick form (`make bench` is the full length).
run: dependencies-run
	$(MAKE) --no-print-directory demo
	$(MAKE) --no-print-directory bench BENCH_FLAGS=--quick

demo: all $(BENCH_NETWORK_TOOLS)
	BUILD=$(BUILD) tools/demo.sh

# Every test; its last line ("N passed, N failed") is the one CI reads.
test: dependencies-test
	$(MAKE) --no-print-directory check

# The whole suite N times (default 5), LOAD=1 with one core kept busy by stress-ng throughout:
# what to run before saying a change is done (tests/repeat.sh).
N ?= 5
test-repeat: dependencies-test
	+@BUILD=$(BUILD) MAKE="$(MAKE)" tests/repeat.sh $(if $(filter 1,$(LOAD)),--load) $(N)

dependencies-run:
	tools/dependencies.sh build run
dependencies-test:
	tools/dependencies.sh build test

FORMATTED := $(shell git ls-files '*.c' '*.h' 2>/dev/null)
format:
	clang-format -i $(FORMATTED)
format-check:
	clang-format --dry-run --Werror $(FORMATTED)

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
