# tests/tests.mk: the integration tests (real guests on real KVM, real TAPs in namespaces the tests
# create), the guests that exist only for them (tests/guests/) and the host-side tools they drive
# (tests/tools/). Included by the top Makefile. `make check` runs every test without first
# installing anything; `make test` is the same after tools/dependencies.sh.

# Host-side tools, sanitized: the tests' clients, servers, frame injectors and vandals.
TEST_TOOLS := $(BUILD)/tests/udp_echo_client $(BUILD)/tests/udp_echo_server \
	$(BUILD)/tests/raw_frame_sender $(BUILD)/tests/tcp_check_host $(BUILD)/tests/share_vandal \
	$(BUILD)/tests/bad_elf_maker
$(TEST_TOOLS): $(BUILD)/tests/%: tests/tools/%.c tests/guests/tcp-check/tcp_check_pattern.h
	@mkdir -p $(@D)
	$(HOST_CC) $(HOST_CFLAGS) $(SANITIZE) $< -o $@

INTEGRATION_NEEDS := $(BUILD)/sanitize/ringvisor $(BUILD)/ringvisor $(GUESTS) $(TEST_GUESTS) $(TEST_TOOLS)
integration_run = RINGVISOR=$(BUILD)/sanitize/ringvisor BUILD=$(BUILD) tests/integration/$(1).sh

.PHONY: launcher-tests network-tests tcp-tests iperf3-tests share-tests
launcher-tests: $(INTEGRATION_NEEDS)
	$(call integration_run,launcher_test)
network-tests: $(INTEGRATION_NEEDS)
	$(call integration_run,network_test)
tcp-tests: $(INTEGRATION_NEEDS)
	$(call integration_run,tcp_test)
iperf3-tests: $(INTEGRATION_NEEDS)
	$(call integration_run,iperf3_test)
share-tests: $(INTEGRATION_NEEDS)
	$(call integration_run,share_test)

# Every suite, each run whatever became of the ones before it (tests/run_suites.sh), the quick
# ones first; the last line sums them all ("N passed, N failed"), the closing line CI reads.
TEST_SUITES := unit-tests launcher-unit-tests net-tests bench-tests launcher-tests network-tests \
	tcp-tests iperf3-tests share-tests
.PHONY: check
check:
	+@BUILD=$(BUILD) MAKE="$(MAKE)" tests/run_suites.sh $(TEST_SUITES)
