/*
 * libFuzzer harness for loading a guest: the input is a guest ELF file, and the launcher's own
 * loader (elf_loader.c: the header, the program headers, the segments copied into guest RAM,
 * the symbol table) and page-table builder (page_tables.c) take it exactly as they take a file
 * a user names. Each input is written to a memfd and loaded through /proc/self/fd/N, so the
 * real path (open, fstat, read) runs too. A refusal calls fail(), which here lands back in the
 * harness (fail_set_landing) instead of exiting; ASan and UBSan catch any access outside the
 * file's copy or guest RAM, and the harness checks what a loaded image promises: its segments
 * inside guest RAM, above the launcher's megabyte, its entry point inside an executable one.
 * Seeds: the real guests (tests/fuzz/fuzz.mk copies them into the corpus).
 */
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fail.h"
#include "vm/elf_loader.h"
#include "vm/layout.h"
#include "vm/page_tables.h"

#define GUEST_RAM_BYTES (16u << 20)

static void check_image(const struct elf_image *image)
{
	bool entry_executable = false;
	for (unsigned index = 0; index < image->segment_count; index++) {
		const struct elf_segment *segment = &image->segments[index];
		if (segment->start < RINGVISOR_GUEST_IMAGE_START ||
		    segment->start + segment->memory_bytes > GUEST_RAM_BYTES ||
		    segment->start + segment->memory_bytes < segment->start)
			abort(); /* a segment the loader let through outside guest RAM */
		if ((segment->permissions & SEGMENT_EXECUTE) && image->entry >= segment->start &&
		    image->entry < segment->start + segment->memory_bytes)
			entry_executable = true;
	}
	if (!entry_executable)
		abort(); /* an entry point the loader let through outside the code */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct guest_memory memory;
	static int file = -1;
	static char path[64];
	if (file < 0) {
		file = memfd_create("elf-fuzz", MFD_CLOEXEC);
		if (file < 0)
			abort();
		snprintf(path, sizeof path, "/proc/self/fd/%d", file);
		guest_memory_create(&memory, GUEST_RAM_BYTES);
	}
	if (ftruncate(file, 0) < 0 || (size && pwrite(file, data, size, 0) != (ssize_t)size))
		abort();

	static struct elf_image image;
	jmp_buf landing;
	if (setjmp(landing) == 0) {
		fail_set_landing(&landing);
		elf_load(&image, path, &memory);
		check_image(&image);
		page_tables_build(&memory, &image);
	}
	fail_set_landing(NULL);
	elf_image_release(&image);
	return 0;
}
