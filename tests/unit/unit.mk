# Host unit tests for the guest's libc pieces and heap: cmocka, built with sanitizers.
#
# Included from the top-level Makefile, which defines BUILD, HOST_CC, HOST_CFLAGS and SANITIZE.
# `make unit-tests` builds every test into $(BUILD)/tests/unit/ and runs them all, failing if any
# test fails. Everything here is prefixed UNIT_ so it cannot collide with the including Makefile.
#
# The guest sources are compiled for the host against guest/include, with the symbols that also
# exist in glibc renamed (guest_snprintf, guest_strtoul, ...), so one test binary can call both
# and compare. string.c is renamed only in its own test, so the others use glibc's string
# functions, which the sanitizers instrument.

UNIT_DIR := $(BUILD)/tests/unit
UNIT_CFLAGS = $(HOST_CFLAGS) $(SANITIZE)
UNIT_HEADERS := $(wildcard guest/include/*.h) guest/lib/heap.h

UNIT_LIBC_RENAMES := -Dvsnprintf=guest_vsnprintf -Dsnprintf=guest_snprintf \
	-Dvprintf=guest_vprintf -Dprintf=guest_printf \
	-Dstrtoul=guest_strtoul -Dstrtoull=guest_strtoull -Dstrtol=guest_strtol \
	-Dstrtoll=guest_strtoll -Dabs=guest_abs -Dlabs=guest_labs \
	-Dmalloc=guest_malloc -Dfree=guest_free -Dcalloc=guest_calloc -Drealloc=guest_realloc
UNIT_STRING_RENAMES := $(foreach name,memcpy memmove memset memcmp memchr strlen strnlen strcmp \
	strncmp strchr strrchr strspn strcspn,-D$(name)=guest_$(name))

UNIT_GUEST_OBJECTS := $(UNIT_DIR)/guest_heap.o $(UNIT_DIR)/guest_format.o \
	$(UNIT_DIR)/guest_number.o $(UNIT_DIR)/guest_string.o
UNIT_TESTS := $(UNIT_DIR)/test_heap $(UNIT_DIR)/test_format $(UNIT_DIR)/test_number \
	$(UNIT_DIR)/test_string

$(UNIT_DIR)/guest_string.o: UNIT_RENAMES = $(UNIT_STRING_RENAMES)
$(UNIT_DIR)/guest_heap.o $(UNIT_DIR)/guest_format.o $(UNIT_DIR)/guest_number.o: \
	UNIT_RENAMES = $(UNIT_LIBC_RENAMES)

$(UNIT_GUEST_OBJECTS): $(UNIT_DIR)/guest_%.o: guest/lib/%.c $(UNIT_HEADERS)
	@mkdir -p $(@D)
	$(HOST_CC) $(UNIT_CFLAGS) -fno-builtin $(UNIT_RENAMES) -Iguest/include -c $< -o $@

$(UNIT_TESTS): $(UNIT_DIR)/test_%: tests/unit/test_%.c $(UNIT_DIR)/guest_%.o $(UNIT_HEADERS)
	@mkdir -p $(@D)
	$(HOST_CC) $(UNIT_CFLAGS) -Iguest/lib -o $@ $< $(UNIT_DIR)/guest_$*.o -lcmocka -lm

.PHONY: unit-tests
unit-tests: $(UNIT_TESTS)
	@$(call run_each,$(UNIT_TESTS))
