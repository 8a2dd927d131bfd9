# tests/net/net.mk - build and run the network stack's packet tests and its fuzzer.
#
# Included by the top-level Makefile, which defines BUILD, HOST_CC, HOST_CFLAGS, SANITIZE and
# FUZZ_CC; it also works alone:
#   make -f tests/net/net.mk BUILD=build HOST_CC=cc HOST_CFLAGS='...' SANITIZE='...' \
#        FUZZ_CC=clang net-tests net-fuzz FUZZ_SECONDS=20
#
# net-tests: every tests/net/test_*.c becomes one cmocka program under $(BUILD)/tests/net/, built
#            with the sanitizers, and all are run; any failure fails the target.
# net-fuzz:  tests/fuzz/net_receive_fuzz.c with libFuzzer, run for $(FUZZ_SECONDS) seconds on a
#            corpus kept in $(BUILD)/fuzz/net_receive_corpus.

NET_TEST_BUILD := $(BUILD)/tests/net
NET_FUZZ_BUILD := $(BUILD)/fuzz
FUZZ_SECONDS ?= 30

NET_SOURCES := $(wildcard net/*.c)
NET_HEADERS := $(wildcard net/*.h)
NET_TEST_SUPPORT := tests/net/net_test.c
NET_TEST_SOURCES := $(wildcard tests/net/test_*.c)
NET_TEST_PROGRAMS := $(patsubst tests/net/%.c,$(NET_TEST_BUILD)/%,$(NET_TEST_SOURCES))
NET_TEST_CFLAGS = $(HOST_CFLAGS) $(SANITIZE) -Inet -Itests/net

.PHONY: net-tests net-fuzz

$(NET_TEST_BUILD)/%: tests/net/%.c $(NET_TEST_SUPPORT) tests/net/net_test.h $(NET_SOURCES) \
		$(NET_HEADERS)
	@mkdir -p $(@D)
	$(HOST_CC) $(NET_TEST_CFLAGS) -o $@ $< $(NET_TEST_SUPPORT) $(NET_SOURCES) -lcmocka

net-tests: $(NET_TEST_PROGRAMS)
	@$(call run_each,$(NET_TEST_PROGRAMS))

$(NET_FUZZ_BUILD)/net_receive_fuzz: tests/fuzz/net_receive_fuzz.c $(NET_SOURCES) $(NET_HEADERS)
	@mkdir -p $(@D)
	$(FUZZ_CC) -std=gnu11 -O1 -g -Wall -Wextra -Werror \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		-Inet -o $@ tests/fuzz/net_receive_fuzz.c $(NET_SOURCES)

# Seeds: a few well-formed exchanges, written by a host program into the corpus directory.
$(NET_FUZZ_BUILD)/net_receive_seeds: tests/fuzz/net_receive_seeds.c
	@mkdir -p $(@D)
	$(HOST_CC) $(HOST_CFLAGS) -o $@ $<

net-fuzz: $(NET_FUZZ_BUILD)/net_receive_fuzz $(NET_FUZZ_BUILD)/net_receive_seeds
	@mkdir -p $(NET_FUZZ_BUILD)/net_receive_corpus
	$(NET_FUZZ_BUILD)/net_receive_seeds $(NET_FUZZ_BUILD)/net_receive_corpus
	$(NET_FUZZ_BUILD)/net_receive_fuzz -max_total_time=$(FUZZ_SECONDS) -max_len=70000 \
		-print_final_stats=1 $(NET_FUZZ_BUILD)/net_receive_corpus
