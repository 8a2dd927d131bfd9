# tests/fuzz/fuzz.mk: the launcher's fuzzers under libFuzzer with ASan/UBSan: the virtqueue model,
# the NIC's whole data path, the share switch's rings, and the guest ELF loader with the page
# tables built from what it loads. Each runs $(FUZZ_SECONDS) seconds on a
# corpus kept under $(BUILD)/fuzz/. `make fuzz` runs these and the network stack's (net.mk).
# Included by the top Makefile, after tests/unit/launcher.mk (whose source lists it uses).

NIC_FUZZ_SOURCES := launcher/nic/nic.c launcher/nic/fault_injection.c launcher/nic/frame_offload.c \
	launcher/observe/pcap.c launcher/observe/output_file.c \
	launcher/nic/iovec_copy.c launcher/tap/tap_backend.c launcher/tap/tap.c \
	$(LAUNCHER_UNIT_SOURCES)
LAUNCHER_FUZZ_CFLAGS = $(FUZZ_CFLAGS) $(LAUNCHER_INCLUDES)

$(BUILD)/fuzz/virtqueue_fuzz: tests/fuzz/virtqueue_fuzz.c $(LAUNCHER_UNIT_SOURCES) \
		$(LAUNCHER_HEADERS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(LAUNCHER_FUZZ_CFLAGS) $< $(LAUNCHER_UNIT_SOURCES) -o $@

$(BUILD)/fuzz/nic_fuzz: tests/fuzz/nic_fuzz.c $(NIC_FUZZ_SOURCES) $(LAUNCHER_HEADERS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(LAUNCHER_FUZZ_CFLAGS) $< $(NIC_FUZZ_SOURCES) -o $@

$(BUILD)/fuzz/share_fuzz: tests/fuzz/share_fuzz.c $(SHARE_SOURCES) launcher/fail.c \
		$(LAUNCHER_HEADERS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(LAUNCHER_FUZZ_CFLAGS) $< $(SHARE_SOURCES) launcher/fail.c -o $@

ELF_FUZZ_SOURCES := launcher/vm/elf_loader.c launcher/vm/page_tables.c \
	launcher/vm/guest_memory.c launcher/fail.c
$(BUILD)/fuzz/elf_fuzz: tests/fuzz/elf_fuzz.c $(ELF_FUZZ_SOURCES) $(LAUNCHER_HEADERS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(LAUNCHER_FUZZ_CFLAGS) $< $(ELF_FUZZ_SOURCES) -o $@

# The ELF fuzzer's seeds: two real guests, one with its symbols and one stripped.
ELF_FUZZ_SEEDS := $(BUILD)/fuzz/elf_corpus/hello.elf $(BUILD)/fuzz/elf_corpus/udp-echo-stripped.elf
$(BUILD)/fuzz/elf_corpus/hello.elf: $(BUILD)/guests/hello.elf
	@mkdir -p $(dir $@)
	cp $< $@
$(BUILD)/fuzz/elf_corpus/udp-echo-stripped.elf: $(BUILD)/guests/udp-echo.elf
	@mkdir -p $(dir $@)
	strip -o $@ $<

fuzz_run = @mkdir -p $(BUILD)/fuzz/$(1)_corpus && \
	$< -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 -rss_limit_mb=4096 \
	$(BUILD)/fuzz/$(1)_corpus

.PHONY: virtqueue-fuzz nic-fuzz share-fuzz elf-fuzz fuzz
virtqueue-fuzz: $(BUILD)/fuzz/virtqueue_fuzz
	$(call fuzz_run,virtqueue)
nic-fuzz: $(BUILD)/fuzz/nic_fuzz
	$(call fuzz_run,nic)
share-fuzz: $(BUILD)/fuzz/share_fuzz
	$(call fuzz_run,share)
# -close_fd_mask=2: every refusal prints a line, which would be most of the run's time.
elf-fuzz: $(BUILD)/fuzz/elf_fuzz $(ELF_FUZZ_SEEDS)
	$(call fuzz_run,elf) -close_fd_mask=2

fuzz: net-fuzz virtqueue-fuzz nic-fuzz share-fuzz elf-fuzz
