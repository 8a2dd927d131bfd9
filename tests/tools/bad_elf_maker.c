/*
 * bad_elf_maker: writes broken variants of a good guest ELF, one per way a guest file can be
 * wrong, for the launcher tests. For each it prints a line "FILE<TAB>WHAT THE LAUNCHER MUST
 * SAY", so the test script needs no knowledge of ELF.
 *
 *	bad_elf_maker GOOD.elf OUTPUT-DIRECTORY
 */
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned char *good;
static size_t good_size;
static const char *directory;

static void write_variant(const char *name, const unsigned char *bytes, size_t size,
			  const char *expected)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s.elf", directory, name);
	FILE *file = fopen(path, "wb");
	if (!file || fwrite(bytes, 1, size, file) != size || fclose(file) != 0) {
		perror(path);
		exit(1);
	}
	printf("%s\t%s\n", path, expected);
}

/* A copy of the good file with `change` applied to its headers. */
static void variant(const char *name, const char *expected,
		    void (*change)(Elf64_Ehdr *header, Elf64_Phdr *programs))
{
	unsigned char *copy = malloc(good_size);
	memcpy(copy, good, good_size);
	Elf64_Ehdr *header = (Elf64_Ehdr *)copy;
	change(header, (Elf64_Phdr *)(copy + header->e_phoff));
	write_variant(name, copy, good_size, expected);
	free(copy);
}

static Elf64_Phdr *first_load(Elf64_Ehdr *header, Elf64_Phdr *programs)
{
	for (unsigned index = 0; index < header->e_phnum; index++)
		if (programs[index].p_type == PT_LOAD)
			return &programs[index];
	abort();
}

static Elf64_Phdr *second_load(Elf64_Ehdr *header, Elf64_Phdr *programs)
{
	Elf64_Phdr *first = first_load(header, programs);
	for (Elf64_Phdr *next = first + 1; next < programs + header->e_phnum; next++)
		if (next->p_type == PT_LOAD)
			return next;
	abort();
}

static void make_32_bit(Elf64_Ehdr *header, Elf64_Phdr *programs)
{
	header->e_ident[EI_CLASS] = ELFCLASS32;
	(void)programs;
}
static void make_big_endian(Elf64_Ehdr *header, Elf64_Phdr *programs)
{
	header->e_ident[EI_DATA] = ELFDATA2MSB;
	(void)programs;
}
static void make_arm(Elf64_Ehdr *header, Elf64_Phdr *programs)
{
	header->e_machine = EM_AARCH64;
	(void)programs;
}
static void make_shared_object(Elf64_Ehdr *header, Elf64_Phdr *programs)
{
	header->e_type = ET_DYN;
	(void)programs;
}
static void make_relocatable(Elf64_Ehdr *header, Elf64_Phdr *programs)
{
	header->e_type = ET_REL;
	(void)programs;
}
static void make_absurd_program_header_size(Elf64_Ehdr *header, Elf64_Phdr *programs)
{
	header->e_phentsize = 7;
	(void)programs;
}
static void make_too_many_program_headers(Elf64_Ehdr *header, Elf64_Phdr *programs)
{
	header->e_phnum = 60000;
	(void)programs;
}
static void make_program_headers_past_end(Elf64_Ehdr *header, Elf64_Phdr *programs)
{
	header->e_phoff = 0x7fffffff;
	(void)programs;
}
static void make_no_program_headers(Elf64_Ehdr *header, Elf64_Phdr *programs)
{
	header->e_phnum = 0;
	(void)programs;
}
static void make_segment_over_launcher(Elf64_Ehdr *header, Elf64_Phdr *programs)
{
	Elf64_Phdr *load = first_load(header, programs);
	load->p_vaddr = load->p_paddr = 0x1000;
}
static void make_segment_beyond_ram(Elf64_Ehdr *header, Elf64_Phdr *programs)
{
	Elf64_Phdr *load = second_load(header, programs);
	load->p_vaddr = load->p_paddr = 0x7fff0000;
}
static void make_segment_wrapping(Elf64_Ehdr *header, Elf64_Phdr *programs)
{
	Elf64_Phdr *load = second_load(header, programs);
	load->p_vaddr = load->p_paddr = 0xfffffffffffff000ull;
	load->p_memsz = load->p_filesz + 0x2000; /* past the top of the address space */
}
static void make_overlapping_segments(Elf64_Ehdr *header, Elf64_Phdr *programs)
{
	Elf64_Phdr *first = first_load(header, programs), *second = second_load(header, programs);
	second->p_vaddr = second->p_paddr = first->p_vaddr + 16;
}
static void make_file_bigger_than_memory(Elf64_Ehdr *header, Elf64_Phdr *programs)
{
	Elf64_Phdr *load = first_load(header, programs);
	load->p_memsz = load->p_filesz / 2;
}
static void make_segment_past_file_end(Elf64_Ehdr *header, Elf64_Phdr *programs)
{
	Elf64_Phdr *load = first_load(header, programs);
	load->p_offset = 0x40000000;
}
static void make_virtual_not_physical(Elf64_Ehdr *header, Elf64_Phdr *programs)
{
	Elf64_Phdr *load = first_load(header, programs);
	load->p_paddr += 0x200000;
}
static void make_entry_outside_code(Elf64_Ehdr *header, Elf64_Phdr *programs)
{
	header->e_entry = 0x7000000;
	(void)programs;
}
static void make_interpreter(Elf64_Ehdr *header, Elf64_Phdr *programs)
{
	for (unsigned index = 0; index < header->e_phnum; index++)
		if (programs[index].p_type != PT_LOAD) {
			programs[index].p_type = PT_INTERP;
			return;
		}
	programs[header->e_phnum - 1].p_type = PT_INTERP;
}
static void make_dynamic(Elf64_Ehdr *header, Elf64_Phdr *programs)
{
	for (unsigned index = 0; index < header->e_phnum; index++)
		if (programs[index].p_type != PT_LOAD) {
			programs[index].p_type = PT_DYNAMIC;
			return;
		}
	programs[header->e_phnum - 1].p_type = PT_DYNAMIC;
}
static void make_odd_alignment(Elf64_Ehdr *header, Elf64_Phdr *programs)
{
	first_load(header, programs)->p_align = 0x3000;
}
static void make_entry_in_data(Elf64_Ehdr *header, Elf64_Phdr *programs)
{
	header->e_entry = second_load(header, programs)->p_vaddr; /* read-only data */
}
static void make_absurd_section_header_size(Elf64_Ehdr *header, Elf64_Phdr *programs)
{
	header->e_shentsize = 3;
	(void)programs;
}
static void make_unknown_class(Elf64_Ehdr *header, Elf64_Phdr *programs)
{
	header->e_ident[EI_CLASS] = 7;
	(void)programs;
}
static void make_section_headers_past_end(Elf64_Ehdr *header, Elf64_Phdr *programs)
{
	header->e_shoff = 0x7fffffff;
	(void)programs;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: bad_elf_maker GOOD.elf OUTPUT-DIRECTORY\n");
		return 2;
	}
	FILE *file = fopen(argv[1], "rb");
	if (!file) {
		perror(argv[1]);
		return 1;
	}
	fseek(file, 0, SEEK_END);
	good_size = (size_t)ftell(file);
	rewind(file);
	good = malloc(good_size);
	if (fread(good, 1, good_size, file) != good_size) {
		perror(argv[1]);
		return 1;
	}
	fclose(file);
	directory = argv[2];

	write_variant("empty", good, 0, "is not an ELF file");
	write_variant("text", (const unsigned char *)"#!/bin/sh\necho hi\n", 18,
		      "is not an ELF file");
	write_variant("truncated-header", good, 40, "is truncated");
	write_variant("truncated-segments", good, good_size / 3, "is truncated");
	variant("32-bit", "32-bit ELF", make_32_bit);
	variant("big-endian", "not little-endian", make_big_endian);
	variant("arm64", "not x86-64", make_arm);
	variant("shared-object", "needs a static executable", make_shared_object);
	variant("relocatable", "relocatable object", make_relocatable);
	variant("absurd-phentsize", "absurd header: e_phentsize", make_absurd_program_header_size);
	variant("too-many-phdrs", "absurd header", make_too_many_program_headers);
	variant("phdrs-past-end", "program headers end at", make_program_headers_past_end);
	variant("no-phdrs", "no program headers", make_no_program_headers);
	variant("over-launcher", "overlaps the launcher's pages", make_segment_over_launcher);
	variant("beyond-ram", "does not fit in 64 MiB of guest RAM", make_segment_beyond_ram);
	variant("wrapping", "overflows", make_segment_wrapping);
	variant("overlapping", "overlap", make_overlapping_segments);
	variant("filesz-over-memsz", "more file bytes", make_file_bigger_than_memory);
	variant("segment-past-end", "is truncated: segment", make_segment_past_file_end);
	variant("virtual-not-physical", "must be equal", make_virtual_not_physical);
	variant("entry-outside-code", "entry point", make_entry_outside_code);
	variant("interpreter", "dynamic linker", make_interpreter);
	variant("shdrs-past-end", "section headers end at", make_section_headers_past_end);
	variant("dynamic", "dynamically linked (PT_DYNAMIC)", make_dynamic);
	variant("odd-alignment", "absurd alignment 12288", make_odd_alignment);
	variant("entry-in-data", "not inside an executable segment", make_entry_in_data);
	variant("absurd-shentsize", "absurd header: e_shentsize 3",
		make_absurd_section_header_size);
	variant("unknown-class", "unknown ELF class 7", make_unknown_class);
	free(good);
	return 0;
}
