# tests/unit/launcher.mk: unit tests of the launcher's device-model pieces, on the host with
# cmocka and the sanitizers. Included by the top Makefile. `make launcher-unit-tests` builds and
# runs them all.

# The pieces most tests and fuzzers need: the virtqueue model and guest memory.
LAUNCHER_UNIT_SOURCES := launcher/nic/virtqueue.c launcher/vm/guest_memory.c launcher/fail.c
# The share backend's data path, with the switch file it needs, and the frame helpers it uses.
SHARE_SOURCES := launcher/share/share_port.c launcher/share/share_ring.c \
	launcher/share/share_switch.c launcher/nic/frame_offload.c launcher/nic/iovec_copy.c
# Any launcher or ABI header: a test is rebuilt when one changes.
LAUNCHER_HEADERS := $(wildcard launcher/*.h launcher/*/*.h abi/*.h)
LAUNCHER_UNIT_CFLAGS = $(HOST_CFLAGS) -D_GNU_SOURCE $(LAUNCHER_INCLUDES) $(SANITIZE)
LAUNCHER_UNIT_DIR := $(BUILD)/tests/launcher

$(LAUNCHER_UNIT_DIR)/test_virtqueue: tests/unit/test_virtqueue.c $(LAUNCHER_UNIT_SOURCES) \
		$(LAUNCHER_HEADERS)
	@mkdir -p $(dir $@)
	$(HOST_CC) $(LAUNCHER_UNIT_CFLAGS) $< $(LAUNCHER_UNIT_SOURCES) -lcmocka -o $@

$(LAUNCHER_UNIT_DIR)/test_frame_offload: tests/unit/test_frame_offload.c \
		launcher/nic/frame_offload.c $(LAUNCHER_HEADERS)
	@mkdir -p $(dir $@)
	$(HOST_CC) $(LAUNCHER_UNIT_CFLAGS) $< launcher/nic/frame_offload.c -lcmocka -o $@

$(LAUNCHER_UNIT_DIR)/test_share_ring: tests/unit/test_share_ring.c launcher/share/share_ring.c \
		launcher/nic/iovec_copy.c $(LAUNCHER_HEADERS)
	@mkdir -p $(dir $@)
	$(HOST_CC) $(LAUNCHER_UNIT_CFLAGS) $< launcher/share/share_ring.c launcher/nic/iovec_copy.c \
		-lcmocka -o $@

$(LAUNCHER_UNIT_DIR)/test_share_switch: tests/unit/test_share_switch.c $(SHARE_SOURCES) \
		launcher/fail.c $(LAUNCHER_HEADERS)
	@mkdir -p $(dir $@)
	$(HOST_CC) $(LAUNCHER_UNIT_CFLAGS) $< $(SHARE_SOURCES) launcher/fail.c -lcmocka -o $@

# The NIC's device model with a backend of the test's own, and the real fault injector.
NIC_UNIT_SOURCES := launcher/nic/nic.c launcher/nic/fault_injection.c launcher/nic/frame_offload.c \
	launcher/observe/pcap.c launcher/observe/output_file.c \
	launcher/nic/iovec_copy.c $(LAUNCHER_UNIT_SOURCES)
$(LAUNCHER_UNIT_DIR)/test_nic: tests/unit/test_nic.c $(NIC_UNIT_SOURCES) $(LAUNCHER_HEADERS)
	@mkdir -p $(dir $@)
	$(HOST_CC) $(LAUNCHER_UNIT_CFLAGS) $< $(NIC_UNIT_SOURCES) -lcmocka -o $@

# When to poll: the adaptive window, a header both sides share, and the I/O thread's judgement
# of CPU contention.
$(LAUNCHER_UNIT_DIR)/test_poll_window: tests/unit/test_poll_window.c launcher/nic/cpu_contention.c \
		$(LAUNCHER_HEADERS)
	@mkdir -p $(dir $@)
	$(HOST_CC) $(LAUNCHER_UNIT_CFLAGS) $< launcher/nic/cpu_contention.c -lcmocka -o $@

# Seeing inside a guest (observe/): each piece alone.
$(LAUNCHER_UNIT_DIR)/test_profile: launcher/observe/profile.c launcher/observe/flame_graph.c
$(LAUNCHER_UNIT_DIR)/test_pcap: launcher/observe/pcap.c launcher/observe/output_file.c
$(LAUNCHER_UNIT_DIR)/test_thread_times: launcher/observe/thread_times.c
$(LAUNCHER_UNIT_DIR)/test_metrics: launcher/observe/json_writer.c launcher/observe/metrics_stream.c \
		launcher/observe/output_file.c
OBSERVE_UNIT_TESTS := $(LAUNCHER_UNIT_DIR)/test_profile $(LAUNCHER_UNIT_DIR)/test_pcap \
	$(LAUNCHER_UNIT_DIR)/test_thread_times $(LAUNCHER_UNIT_DIR)/test_metrics
$(OBSERVE_UNIT_TESTS): $(LAUNCHER_UNIT_DIR)/%: tests/unit/%.c $(LAUNCHER_HEADERS)
	@mkdir -p $(dir $@)
	$(HOST_CC) $(LAUNCHER_UNIT_CFLAGS) $< $(filter %.c,$(filter-out $<,$^)) -lcmocka -o $@

LAUNCHER_UNIT_TESTS := $(LAUNCHER_UNIT_DIR)/test_virtqueue $(LAUNCHER_UNIT_DIR)/test_frame_offload \
	$(LAUNCHER_UNIT_DIR)/test_share_ring $(LAUNCHER_UNIT_DIR)/test_share_switch \
	$(LAUNCHER_UNIT_DIR)/test_nic $(LAUNCHER_UNIT_DIR)/test_poll_window $(OBSERVE_UNIT_TESTS)

.PHONY: launcher-unit-tests
launcher-unit-tests: $(LAUNCHER_UNIT_TESTS)
	@$(call run_each,$(LAUNCHER_UNIT_TESTS))
