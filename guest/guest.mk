# guest/guest.mk: guests. A guest is one static ELF: the guest kernel (guest/kernel), its libc
# subset (guest/lib) and the network stack (net/), linked with one app's folder. Included by the
# top Makefile.
#   apps/NAME/          the guests a user runs      -> $(BUILD)/guests/NAME.elf
#   tests/guests/NAME/  guests that exist for tests -> $(BUILD)/tests/guests/NAME.elf
#   bench/guests/NAME/  guests that exist to measure -> $(BUILD)/bench/guests/NAME.elf

GUEST_CFLAGS := -std=gnu11 -O2 -g $(WARNINGS) -MMD -MP \
	-ffreestanding -nostdinc -isystem $(shell $(GUEST_CC) -print-file-name=include) \
	-Iguest/include -Inet -fno-pie -fno-stack-protector -fno-omit-frame-pointer \
	-mno-red-zone -fno-asynchronous-unwind-tables -fcf-protection=none
GUEST_LDFLAGS := -nostdlib -static -no-pie -T guest/guest.ld -Wl,--build-id=none \
	-Wl,-z,max-page-size=4096 -Wl,-z,noexecstack -Wl,--no-warn-rwx-segments

GUEST_KERNEL_SOURCES := $(wildcard guest/kernel/*.c guest/kernel/*.S guest/lib/*.c net/*.c)
GUEST_KERNEL_OBJECTS := $(patsubst %,$(BUILD)/guest-objects/%.o,$(GUEST_KERNEL_SOURCES))
GUESTS := $(patsubst apps/%,$(BUILD)/guests/%.elf,$(wildcard apps/*))
TEST_GUESTS := $(patsubst tests/guests/%,$(BUILD)/tests/guests/%.elf,$(wildcard tests/guests/*))
BENCH_GUESTS := $(patsubst bench/guests/%,$(BUILD)/bench/guests/%.elf,$(wildcard bench/guests/*))

$(BUILD)/guest-objects/%.c.o: %.c
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -c $< -o $@

$(BUILD)/guest-objects/%.S.o: %.S
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -c $< -o $@

guest_app_objects = $(patsubst %,$(BUILD)/guest-objects/%.o,$(wildcard $(1)/*.c))
guest_link = $(GUEST_CC) $(GUEST_LDFLAGS) $(filter %.o,$^) -lgcc -o $@

.SECONDEXPANSION:
$(BUILD)/guests/%.elf: $$(call guest_app_objects,apps/$$*) $(GUEST_KERNEL_OBJECTS) guest/guest.ld
	@mkdir -p $(dir $@)
	$(guest_link)

$(BUILD)/tests/guests/%.elf: $$(call guest_app_objects,tests/guests/$$*) $(GUEST_KERNEL_OBJECTS) \
		guest/guest.ld
	@mkdir -p $(dir $@)
	$(guest_link)

$(BUILD)/bench/guests/%.elf: $$(call guest_app_objects,bench/guests/$$*) $(GUEST_KERNEL_OBJECTS) \
		guest/guest.ld
	@mkdir -p $(dir $@)
	$(guest_link)
