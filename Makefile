# Ringvisor's build. `make` builds the launcher and every guest; `make test` runs every test
# (unit tests under ASan/UBSan, then real guests on real KVM); `make bench` measures.
#
# Three kinds of code, three sets of flags:
#   launcher  host C (glibc), build/ringvisor, and build/sanitize/ringvisor for the tests
#   guest     freestanding C: guest/kernel + guest/lib + one app under apps/ = one static ELF
#   host tests  portable pieces (heap, formatter, network stack) built for the host

BUILD ?= build
CC ?= cc
HOST_CC ?= cc
GUEST_CC ?= gcc
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 30

WARNINGS := -Wall -Wextra -Werror
HOST_CFLAGS := -std=gnu11 -O1 -g $(WARNINGS)
SANITIZE := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
LAUNCHER_CFLAGS := -std=gnu11 -O2 -g $(WARNINGS) -D_GNU_SOURCE -MMD -MP -pthread
GUEST_CFLAGS := -std=gnu11 -O2 -g $(WARNINGS) -MMD -MP \
	-ffreestanding -nostdinc -isystem $(shell $(GUEST_CC) -print-file-name=include) \
	-Iguest/include -Inet -fno-pie -fno-stack-protector -fno-omit-frame-pointer -mno-red-zone \
	-fno-asynchronous-unwind-tables -fcf-protection=none
GUEST_LDFLAGS := -nostdlib -static -no-pie -T guest/guest.ld -Wl,--build-id=none \
	-Wl,-z,max-page-size=4096 -Wl,-z,noexecstack -Wl,--no-warn-rwx-segments

# ---- launcher --------------------------------------------------------------------------------

LAUNCHER_SOURCES := $(wildcard launcher/*.c)
LAUNCHER_OBJECTS := $(LAUNCHER_SOURCES:%.c=$(BUILD)/%.o)
LAUNCHER_SANITIZED_OBJECTS := $(LAUNCHER_SOURCES:%.c=$(BUILD)/sanitize/%.o)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(LAUNCHER_CFLAGS) -c $< -o $@

$(BUILD)/sanitize/launcher/%.o: launcher/%.c
	@mkdir -p $(dir $@)
	$(CC) $(LAUNCHER_CFLAGS) $(SANITIZE) -c $< -o $@

$(BUILD)/ringvisor: $(LAUNCHER_OBJECTS)
	$(CC) $(LAUNCHER_CFLAGS) $^ -o $@

$(BUILD)/sanitize/ringvisor: $(LAUNCHER_SANITIZED_OBJECTS)
	$(CC) $(LAUNCHER_CFLAGS) $(SANITIZE) $^ -o $@

# ---- guests ----------------------------------------------------------------------------------

GUEST_KERNEL_SOURCES := $(wildcard guest/kernel/*.c guest/kernel/*.S guest/lib/*.c net/*.c)
GUEST_KERNEL_OBJECTS := $(patsubst %,$(BUILD)/guest-objects/%.o,$(GUEST_KERNEL_SOURCES))
APPS := $(notdir $(wildcard apps/*))
GUESTS := $(APPS:%=$(BUILD)/guests/%.elf)

$(BUILD)/guest-objects/%.c.o: %.c
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -c $< -o $@

$(BUILD)/guest-objects/%.S.o: %.S
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -c $< -o $@

app_objects = $(patsubst %,$(BUILD)/guest-objects/%.o,$(wildcard apps/$(1)/*.c))

.SECONDEXPANSION:
$(BUILD)/guests/%.elf: $$(call app_objects,$$*) $(GUEST_KERNEL_OBJECTS) guest/guest.ld
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_LDFLAGS) $(filter %.o,$^) -lgcc -o $@

# ---- top-level targets -----------------------------------------------------------------------

.DEFAULT_GOAL := all
.SECONDARY:
.PHONY: all run test launcher-tests network-tests tcp-tests iperf3-tests share-tests share-fuzz network-bench table launcher-unit-tests virtqueue-fuzz nic-fuzz fuzz bench format \
	format-check clean

all: $(BUILD)/ringvisor $(GUESTS)

# The main job: a guest with networking talked to by the host (tools/demo.sh), then the
# benchmark tables.
run: all $(BENCH_NETWORK_TOOLS)
	tools/demo.sh
	$(MAKE) --no-print-directory bench BENCH_FLAGS=--quick

include tests/unit/unit.mk
include tests/net/net.mk

$(BUILD)/tests/share_vandal: tests/integration/share_vandal.c
	@mkdir -p $(dir $@)
	$(HOST_CC) $(HOST_CFLAGS) $(SANITIZE) $< -o $@

$(BUILD)/tests/bad_elf_maker: tests/integration/bad_elf_maker.c
	@mkdir -p $(dir $@)
	$(HOST_CC) $(HOST_CFLAGS) $(SANITIZE) $< -o $@

# The launcher's device-model pieces, on the host with sanitizers, and under libFuzzer.
LAUNCHER_UNIT_SOURCES := launcher/virtqueue.c launcher/guest_memory.c launcher/fail.c
# The share backend's data path, with the switch file it needs (share_fuzz.c, nic.c).
SHARE_SOURCES := launcher/share_port.c launcher/share_ring.c launcher/share_switch.c \
	launcher/frame_offload.c launcher/segments.c

$(BUILD)/tests/launcher/test_virtqueue: tests/unit/test_virtqueue.c $(LAUNCHER_UNIT_SOURCES) \
		launcher/virtqueue.h abi/ringvisor_abi.h
	@mkdir -p $(dir $@)
	$(HOST_CC) $(HOST_CFLAGS) -D_GNU_SOURCE $(SANITIZE) $< $(LAUNCHER_UNIT_SOURCES) -lcmocka -o $@

$(BUILD)/fuzz/virtqueue_fuzz: tests/fuzz/virtqueue_fuzz.c $(LAUNCHER_UNIT_SOURCES) \
		launcher/virtqueue.h abi/ringvisor_abi.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=gnu11 -O1 -g $(WARNINGS) -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=all $< $(LAUNCHER_UNIT_SOURCES) -o $@

$(BUILD)/tests/launcher/test_frame_offload: tests/unit/test_frame_offload.c \
		launcher/frame_offload.c launcher/frame_offload.h abi/ringvisor_abi.h
	@mkdir -p $(dir $@)
	$(HOST_CC) $(HOST_CFLAGS) -D_GNU_SOURCE $(SANITIZE) $< launcher/frame_offload.c -lcmocka \
		-o $@

$(BUILD)/tests/launcher/test_share_ring: tests/unit/test_share_ring.c launcher/share_ring.c \
		launcher/segments.c launcher/share_ring.h launcher/segments.h
	@mkdir -p $(dir $@)
	$(HOST_CC) $(HOST_CFLAGS) -D_GNU_SOURCE $(SANITIZE) $< launcher/share_ring.c \
		launcher/segments.c -lcmocka -o $@

$(BUILD)/tests/launcher/test_share_switch: tests/unit/test_share_switch.c $(SHARE_SOURCES) \
		launcher/fail.c launcher/share_switch.h launcher/share_ring.h
	@mkdir -p $(dir $@)
	$(HOST_CC) $(HOST_CFLAGS) -D_GNU_SOURCE $(SANITIZE) $< $(SHARE_SOURCES) launcher/fail.c \
		-lcmocka -o $@

LAUNCHER_UNIT_TESTS := $(BUILD)/tests/launcher/test_virtqueue \
	$(BUILD)/tests/launcher/test_frame_offload $(BUILD)/tests/launcher/test_share_ring \
	$(BUILD)/tests/launcher/test_share_switch

launcher-unit-tests: $(LAUNCHER_UNIT_TESTS)
	@set -e; for test in $(LAUNCHER_UNIT_TESTS); do echo "== $$test"; $$test; done

NIC_FUZZ_SOURCES := launcher/nic.c launcher/tap.c launcher/fault_injection.c $(SHARE_SOURCES) \
	$(LAUNCHER_UNIT_SOURCES)

$(BUILD)/fuzz/nic_fuzz: tests/fuzz/nic_fuzz.c $(NIC_FUZZ_SOURCES) launcher/nic.h \
		launcher/virtqueue.h abi/ringvisor_abi.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=gnu11 -O1 -g $(WARNINGS) -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=all $< $(NIC_FUZZ_SOURCES) -o $@

nic-fuzz: $(BUILD)/fuzz/nic_fuzz
	@mkdir -p $(BUILD)/fuzz/nic_corpus
	$< -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 -rss_limit_mb=4096 \
		$(BUILD)/fuzz/nic_corpus

$(BUILD)/fuzz/share_fuzz: tests/fuzz/share_fuzz.c $(SHARE_SOURCES) launcher/fail.c \
		launcher/share_switch.h launcher/share_ring.h launcher/frame_offload.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=gnu11 -O1 -g $(WARNINGS) -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=all $< $(SHARE_SOURCES) launcher/fail.c -o $@

share-fuzz: $(BUILD)/fuzz/share_fuzz
	@mkdir -p $(BUILD)/fuzz/share_corpus
	$< -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 -rss_limit_mb=4096 \
		$(BUILD)/fuzz/share_corpus

virtqueue-fuzz: $(BUILD)/fuzz/virtqueue_fuzz
	@mkdir -p $(BUILD)/fuzz/virtqueue_corpus
	$< -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 $(BUILD)/fuzz/virtqueue_corpus

fuzz: net-fuzz virtqueue-fuzz nic-fuzz share-fuzz

# Host-side tools for the network tests (sanitized) and the network benchmark (optimized).
NETWORK_TOOLS := $(BUILD)/tests/udp_echo_client $(BUILD)/tests/udp_echo_server \
	$(BUILD)/tests/raw_frame_sender $(BUILD)/tests/tcp_check_host
$(NETWORK_TOOLS): $(BUILD)/tests/%: tests/integration/%.c apps/tcp-check/tcp_check_pattern.h
	@mkdir -p $(@D)
	$(HOST_CC) $(HOST_CFLAGS) $(SANITIZE) $< -o $@

BENCH_NETWORK_TOOLS := $(BUILD)/bench/udp_echo_client $(BUILD)/bench/udp_echo_server
$(BENCH_NETWORK_TOOLS): $(BUILD)/bench/%: tests/integration/%.c
	@mkdir -p $(@D)
	$(HOST_CC) -std=gnu11 -O2 $(WARNINGS) $< -o $@

network-tests: $(BUILD)/sanitize/ringvisor $(GUESTS) $(NETWORK_TOOLS)
	RINGVISOR=$(BUILD)/sanitize/ringvisor BUILD=$(BUILD) tests/integration/network_test.sh

# lguest's 2007 table alone, with the rivals (QEMU TCG, UML), which it installs from Debian.
# TABLE_FLAGS: e.g. --quick, --runs 3 --seconds 5.
table: all
	BUILD=$(BUILD) RINGVISOR=$(BUILD)/ringvisor bench/table/lguest_table.sh --peers $(TABLE_FLAGS)

tcp-tests: $(BUILD)/sanitize/ringvisor $(GUESTS) $(NETWORK_TOOLS)
	RINGVISOR=$(BUILD)/sanitize/ringvisor BUILD=$(BUILD) tests/integration/tcp_test.sh

share-tests: $(BUILD)/sanitize/ringvisor $(GUESTS) $(BUILD)/tests/share_vandal
	RINGVISOR=$(BUILD)/sanitize/ringvisor BUILD=$(BUILD) tests/integration/share_test.sh

iperf3-tests: $(BUILD)/sanitize/ringvisor $(GUESTS)
	RINGVISOR=$(BUILD)/sanitize/ringvisor BUILD=$(BUILD) tests/integration/iperf3_test.sh

network-bench: all $(BENCH_NETWORK_TOOLS)
	BUILD=$(BUILD) RINGVISOR=$(BUILD)/ringvisor bench/network_latency.sh

launcher-tests: $(BUILD)/sanitize/ringvisor $(GUESTS) $(BUILD)/tests/bad_elf_maker
	RINGVISOR=$(BUILD)/sanitize/ringvisor BUILD=$(BUILD) tests/integration/launcher_test.sh

test: unit-tests launcher-unit-tests net-tests launcher-tests network-tests tcp-tests \
	iperf3-tests share-tests

LAUNCHER_LIBRARY_OBJECTS := $(filter-out $(BUILD)/launcher/main.o,$(LAUNCHER_OBJECTS))

$(BUILD)/bench/exit-costs: $(BUILD)/bench/exit_costs.o $(LAUNCHER_LIBRARY_OBJECTS)
	$(CC) $(LAUNCHER_CFLAGS) $^ -o $@

# Every benchmark: exit costs, network latency, and lguest's 2007 table (host and Ringvisor
# rows). BENCH_FLAGS go to the table: --quick (fewer, shorter runs), --peers (QEMU and UML too).
bench: all $(BUILD)/bench/exit-costs $(BENCH_NETWORK_TOOLS)
	$(BUILD)/bench/exit-costs --guest $(BUILD)/guests/bench-exits.elf \
		--launcher $(BUILD)/ringvisor --hello $(BUILD)/guests/hello.elf
	@echo
	BUILD=$(BUILD) RINGVISOR=$(BUILD)/ringvisor bench/network_latency.sh \
		$(if $(filter --quick,$(BENCH_FLAGS)),--runs 3 --seconds 2)
	@echo
	BUILD=$(BUILD) RINGVISOR=$(BUILD)/ringvisor bench/table/lguest_table.sh $(BENCH_FLAGS)

FORMATTED := $(shell git ls-files '*.c' '*.h' 2>/dev/null)
format:
	clang-format -i $(FORMATTED)
format-check:
	clang-format --dry-run --Werror $(FORMATTED)

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
