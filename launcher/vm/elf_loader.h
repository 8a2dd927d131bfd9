/*
 * Loading a guest: a static ELF64 x86-64 executable, checked field by field before any of it
 * is trusted, then copied into guest RAM at its physical addresses. The loader keeps the
 * file's symbol table so that crash reports can name functions ("main+0x1c").
 */
#ifndef RINGVISOR_ELF_LOADER_H
#define RINGVISOR_ELF_LOADER_H

#include <stdint.h>

#include "vm/guest_memory.h"

#define ELF_SEGMENTS_MAX 16
#define ELF_FILE_MAX_BYTES (1ull << 30)

enum segment_permission {
	SEGMENT_READ = 1,
	SEGMENT_WRITE = 2,
	SEGMENT_EXECUTE = 4,
};

struct elf_segment {
	uint64_t start;	       /* guest address */
	uint64_t memory_bytes; /* including the zero-filled tail (BSS) */
	unsigned permissions;  /* enum segment_permission */
};

struct elf_symbol {
	uint64_t address;
	uint64_t size;
	const char *name; /* points into the image's string table copy */
};

struct elf_image {
	char *path;
	uint8_t *file; /* the file's contents while loading (here, not on the stack, so a
			* refusal that exits mid-load leaves nothing unreachable) */
	uint64_t entry;
	uint64_t lowest;  /* first byte of the lowest segment */
	uint64_t highest; /* one past the last byte of the highest segment */
	unsigned segment_count;
	struct elf_segment segments[ELF_SEGMENTS_MAX];
	/* Function symbols, sorted by address; empty if the file was stripped. */
	struct elf_symbol *symbols;
	unsigned symbol_count;
	char *string_table;
};

/*
 * Reads and checks `path` and loads it into `memory`. On any problem, fails the launcher with
 * a message that names the file and what is wrong with it.
 */
void elf_load(struct elf_image *image, const char *path, struct guest_memory *memory);
void elf_image_release(struct elf_image *image);

/* The function containing `address`, or NULL; *offset gets the distance from its start. */
const struct elf_symbol *elf_symbolize(const struct elf_image *image, uint64_t address,
				       uint64_t *offset);

#endif
