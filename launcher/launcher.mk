# launcher/launcher.mk: the host program, build/ringvisor, and build/sanitize/ringvisor (the same
# sources under ASan/UBSan, which every integration test runs). Included by the top Makefile.

# Every launcher include names its file from launcher/ ("nic/virtqueue.h") or is the ABI's
# ("ringvisor_abi.h"): one convention, whichever folder the includer is in. Tests, fuzzers and
# bench/ programs that include launcher headers use the same flags.
LAUNCHER_INCLUDES := -Ilauncher -Iabi
LAUNCHER_CFLAGS := -std=gnu11 -O2 -g $(WARNINGS) -D_GNU_SOURCE -MMD -MP -pthread \
	$(LAUNCHER_INCLUDES)
# The VM core (vm/), the NIC device model (nic/), its backends (tap/, share/), and main.c,
# options.c, nic_config.c and fail.c at the top.
LAUNCHER_SOURCES := $(wildcard launcher/*.c launcher/*/*.c)
LAUNCHER_OBJECTS := $(LAUNCHER_SOURCES:%.c=$(BUILD)/%.o)
LAUNCHER_SANITIZED_OBJECTS := $(LAUNCHER_SOURCES:%.c=$(BUILD)/sanitize/%.o)
# Everything but main(), for programs that drive the launcher's code themselves (bench/).
LAUNCHER_LIBRARY_OBJECTS := $(filter-out $(BUILD)/launcher/main.o,$(LAUNCHER_OBJECTS))

$(BUILD)/launcher/%.o: launcher/%.c
	@mkdir -p $(dir $@)
	$(CC) $(LAUNCHER_CFLAGS) -c $< -o $@

$(BUILD)/sanitize/launcher/%.o: launcher/%.c
	@mkdir -p $(dir $@)
	$(CC) $(LAUNCHER_CFLAGS) $(SANITIZE) -c $< -o $@

$(BUILD)/ringvisor: $(LAUNCHER_OBJECTS)
	$(CC) $(LAUNCHER_CFLAGS) $^ -o $@

$(BUILD)/sanitize/ringvisor: $(LAUNCHER_SANITIZED_OBJECTS)
	$(CC) $(LAUNCHER_CFLAGS) $(SANITIZE) $^ -o $@
