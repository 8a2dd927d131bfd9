/*
 * The guest ELF loader (see elf_loader.h).
 *
 * A guest file is input like any other: it may be truncated, lie about its sizes, point past
 * its own end or ask to be loaded over the launcher's page tables. Each check below names the
 * field that is wrong, so that whoever built the guest can fix it without a hex dump.
 */
#include "vm/elf_loader.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ringvisor_abi.h"
#include "fail.h"

#define PROGRAM_HEADERS_MAX 64
#define SECTION_HEADERS_MAX 4096

/* Reads the whole file; the loader then works on this one copy. */
static uint8_t *read_whole_file(const char *path, size_t *size_out)
{
	/* O_NONBLOCK: a FIFO or device must be refused below, not block us in open(). */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		fail_errno("cannot open guest %s", path);
	struct stat status;
	if (fstat(fd, &status) < 0)
		fail_errno("cannot stat guest %s", path);
	if (!S_ISREG(status.st_mode))
		fail("guest %s is not a regular file", path);
	if ((uint64_t)status.st_size > ELF_FILE_MAX_BYTES)
		fail("guest %s is %lld bytes, more than the %llu a guest image may be", path,
		     (long long)status.st_size, ELF_FILE_MAX_BYTES);

	size_t size = (size_t)status.st_size;
	uint8_t *contents = malloc(size ? size : 1);
	if (!contents)
		fail("out of memory reading guest %s", path);
	size_t done = 0;
	while (done < size) {
		ssize_t got = read(fd, contents + done, size - done);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			fail_errno("cannot read guest %s", path);
		if (got == 0)
			break; /* shrank under us: the checks below see a short file */
		done += (size_t)got;
	}
	close(fd);
	*size_out = done;
	return contents;
}

static const char *elf_type_name(unsigned type)
{
	switch (type) {
	case ET_REL:
		return "a relocatable object (ET_REL)";
	case ET_DYN:
		return "a shared object or position-independent executable (ET_DYN)";
	case ET_CORE:
		return "a core dump (ET_CORE)";
	default:
		return "of an unknown type";
	}
}

static void check_header(const char *path, const uint8_t *file, size_t size, Elf64_Ehdr *header)
{
	if (size < SELFMAG || memcmp(file, ELFMAG, SELFMAG) != 0)
		fail("guest %s is not an ELF file (no \\x7fELF magic at its start)", path);
	if (size < EI_NIDENT)
		fail("guest %s is truncated: %zu bytes, less than an ELF identification", path,
		     size);
	if (file[EI_CLASS] == ELFCLASS32)
		fail("guest %s is a 32-bit ELF (ELFCLASS32); Ringvisor runs 64-bit guests", path);
	if (file[EI_CLASS] != ELFCLASS64)
		fail("guest %s has an unknown ELF class %u", path, file[EI_CLASS]);
	if (file[EI_DATA] != ELFDATA2LSB)
		fail("guest %s is not little-endian (EI_DATA %u); x86-64 guests are", path,
		     file[EI_DATA]);
	if (file[EI_VERSION] != EV_CURRENT)
		fail("guest %s has an unknown ELF version %u", path, file[EI_VERSION]);
	if (size < sizeof *header)
		fail("guest %s is truncated: %zu bytes, less than the 64-byte ELF header", path,
		     size);
	memcpy(header, file, sizeof *header);

	if (header->e_machine != EM_X86_64)
		fail("guest %s is built for ELF machine %u, not x86-64 (%u)", path,
		     header->e_machine, EM_X86_64);
	if (header->e_type != ET_EXEC)
		fail("guest %s is %s; Ringvisor needs a static executable (ET_EXEC)", path,
		     elf_type_name(header->e_type));
	if (header->e_ehsize != sizeof(Elf64_Ehdr))
		fail("guest %s has an absurd header: e_ehsize %u, expected %zu", path,
		     header->e_ehsize, sizeof(Elf64_Ehdr));
	if (header->e_phentsize != sizeof(Elf64_Phdr))
		fail("guest %s has an absurd header: e_phentsize %u, expected %zu", path,
		     header->e_phentsize, sizeof(Elf64_Phdr));
	if (header->e_phnum == 0)
		fail("guest %s has no program headers, so nothing to load", path);
	if (header->e_phnum > PROGRAM_HEADERS_MAX)
		fail("guest %s has an absurd header: %u program headers (at most %u)", path,
		     header->e_phnum, PROGRAM_HEADERS_MAX);
	uint64_t table_bytes = (uint64_t)header->e_phnum * sizeof(Elf64_Phdr);
	if (header->e_phoff > size || table_bytes > size - header->e_phoff)
		fail("guest %s is truncated: its program headers end at byte %llu but the file "
		     "has %zu",
		     path, (unsigned long long)(header->e_phoff + table_bytes), size);
}

static void check_segment(const char *path, unsigned index, const Elf64_Phdr *program,
			  size_t file_size, const struct guest_memory *memory)
{
	if (program->p_filesz > program->p_memsz)
		fail("guest %s: segment %u has more file bytes (%llu) than memory bytes (%llu)",
		     path, index, (unsigned long long)program->p_filesz,
		     (unsigned long long)program->p_memsz);
	if (program->p_offset > file_size || program->p_filesz > file_size - program->p_offset)
		fail("guest %s is truncated: segment %u needs file bytes up to %llu but the file "
		     "has %zu",
		     path, index, (unsigned long long)(program->p_offset + program->p_filesz),
		     file_size);
	if (program->p_vaddr != program->p_paddr)
		fail("guest %s: segment %u has virtual address 0x%llx but physical address 0x%llx; "
		     "Ringvisor maps guest RAM one to one, so they must be equal",
		     path, index, (unsigned long long)program->p_vaddr,
		     (unsigned long long)program->p_paddr);
	if (program->p_vaddr > UINT64_MAX - program->p_memsz)
		fail("guest %s: segment %u's address range overflows (0x%llx + %llu bytes)", path,
		     index, (unsigned long long)program->p_vaddr,
		     (unsigned long long)program->p_memsz);
	uint64_t end = program->p_vaddr + program->p_memsz;
	if (program->p_vaddr < RINGVISOR_GUEST_IMAGE_START)
		fail("guest %s: segment %u at [0x%llx, 0x%llx) overlaps the launcher's pages below "
		     "0x%x; link the guest at 0x%x or above",
		     path, index, (unsigned long long)program->p_vaddr, (unsigned long long)end,
		     RINGVISOR_GUEST_IMAGE_START, RINGVISOR_GUEST_IMAGE_START);
	if (end > memory->size)
		fail("guest %s: segment %u at [0x%llx, 0x%llx) does not fit in %llu MiB of guest "
		     "RAM (see --mem)",
		     path, index, (unsigned long long)program->p_vaddr, (unsigned long long)end,
		     (unsigned long long)(memory->size >> 20));
	if (program->p_align > 1 && (program->p_align & (program->p_align - 1)) != 0)
		fail("guest %s: segment %u has an absurd alignment %llu (not a power of two)", path,
		     index, (unsigned long long)program->p_align);
}

static void load_segments(struct elf_image *image, const uint8_t *file, size_t size,
			  const Elf64_Ehdr *header, struct guest_memory *memory)
{
	const char *path = image->path;
	image->lowest = UINT64_MAX;
	image->highest = 0;
	for (unsigned index = 0; index < header->e_phnum; index++) {
		Elf64_Phdr program;
		memcpy(&program, file + header->e_phoff + index * sizeof program, sizeof program);
		if (program.p_type == PT_INTERP)
			fail("guest %s asks for a dynamic linker (PT_INTERP); link it statically",
			     path);
		if (program.p_type == PT_DYNAMIC)
			fail("guest %s is dynamically linked (PT_DYNAMIC); link it statically",
			     path);
		if (program.p_type != PT_LOAD || program.p_memsz == 0)
			continue;
		check_segment(path, index, &program, size, memory);
		if (image->segment_count == ELF_SEGMENTS_MAX)
			fail("guest %s has more than %u loadable segments", path, ELF_SEGMENTS_MAX);

		struct elf_segment *segment = &image->segments[image->segment_count];
		segment->start = program.p_vaddr;
		segment->memory_bytes = program.p_memsz;
		segment->permissions = ((program.p_flags & PF_R) ? SEGMENT_READ : 0) |
				       ((program.p_flags & PF_W) ? SEGMENT_WRITE : 0) |
				       ((program.p_flags & PF_X) ? SEGMENT_EXECUTE : 0);
		for (unsigned other = 0; other < image->segment_count; other++) {
			const struct elf_segment *before = &image->segments[other];
			if (segment->start < before->start + before->memory_bytes &&
			    before->start < segment->start + segment->memory_bytes)
				fail("guest %s: loadable segments at [0x%llx, 0x%llx) and "
				     "[0x%llx, 0x%llx) overlap",
				     path, (unsigned long long)before->start,
				     (unsigned long long)(before->start + before->memory_bytes),
				     (unsigned long long)segment->start,
				     (unsigned long long)(segment->start + segment->memory_bytes));
		}
		image->segment_count++;

		/* Checked above with the ELF's own words; this is the one way into guest RAM. */
		uint8_t *destination =
			guest_memory_checked(memory, program.p_vaddr, program.p_memsz);
		if (!destination)
			fail("guest %s: segment %u is outside guest RAM", path, index);
		/* The rest (BSS) is already zero: guest RAM is fresh anonymous memory, and not
		 * touching it keeps a large BSS from costing host memory before it is used. */
		memcpy(destination, file + program.p_offset, program.p_filesz);
		if (program.p_vaddr < image->lowest)
			image->lowest = program.p_vaddr;
		if (program.p_vaddr + program.p_memsz > image->highest)
			image->highest = program.p_vaddr + program.p_memsz;
	}
	if (image->segment_count == 0)
		fail("guest %s has no loadable segments", path);
	for (unsigned index = 0; index < image->segment_count; index++) {
		const struct elf_segment *segment = &image->segments[index];
		if (!(segment->permissions & SEGMENT_WRITE))
			guest_memory_add_read_only(
				memory, segment->start & ~0xfffull,
				(segment->start + segment->memory_bytes + 0xfff) & ~0xfffull);
	}

	for (unsigned index = 0; index < image->segment_count; index++) {
		const struct elf_segment *segment = &image->segments[index];
		if ((segment->permissions & SEGMENT_EXECUTE) && header->e_entry >= segment->start &&
		    header->e_entry - segment->start < segment->memory_bytes) {
			image->entry = header->e_entry;
			return;
		}
	}
	fail("guest %s: its entry point 0x%llx is not inside an executable segment", path,
	     (unsigned long long)header->e_entry);
}

static int compare_symbols(const void *left, const void *right)
{
	const struct elf_symbol *a = left, *b = right;
	return (a->address > b->address) - (a->address < b->address);
}

/*
 * Keeps the function symbols, for crash reports. A file without section headers (stripped)
 * loads fine and is reported by address only; section headers that point outside the file
 * mean the file is truncated or forged, and are refused.
 */
static void load_symbols(struct elf_image *image, const uint8_t *file, size_t size,
			 const Elf64_Ehdr *header)
{
	const char *path = image->path;
	if (header->e_shoff == 0 || header->e_shnum == 0)
		return;
	if (header->e_shentsize != sizeof(Elf64_Shdr))
		fail("guest %s has an absurd header: e_shentsize %u, expected %zu", path,
		     header->e_shentsize, sizeof(Elf64_Shdr));
	if (header->e_shnum > SECTION_HEADERS_MAX)
		fail("guest %s has an absurd header: %u section headers", path, header->e_shnum);
	uint64_t table_bytes = (uint64_t)header->e_shnum * sizeof(Elf64_Shdr);
	if (header->e_shoff > size || table_bytes > size - header->e_shoff)
		fail("guest %s is truncated: its section headers end at byte %llu but the file "
		     "has %zu",
		     path, (unsigned long long)(header->e_shoff + table_bytes), size);

	for (unsigned index = 0; index < header->e_shnum; index++) {
		Elf64_Shdr symbols;
		memcpy(&symbols, file + header->e_shoff + index * sizeof symbols, sizeof symbols);
		if (symbols.sh_type != SHT_SYMTAB)
			continue;
		if (symbols.sh_link >= header->e_shnum)
			fail("guest %s: symbol table's string table index %u is out of range", path,
			     symbols.sh_link);
		Elf64_Shdr strings;
		memcpy(&strings, file + header->e_shoff + symbols.sh_link * sizeof strings,
		       sizeof strings);
		if (symbols.sh_offset > size || symbols.sh_size > size - symbols.sh_offset ||
		    strings.sh_offset > size || strings.sh_size > size - strings.sh_offset)
			fail("guest %s is truncated: its symbol table lies past the end of the "
			     "file",
			     path);

		/* Our own copy of the strings, NUL-terminated whatever the file says. */
		image->string_table = malloc(strings.sh_size + 1);
		size_t count = symbols.sh_size / sizeof(Elf64_Sym);
		image->symbols = calloc(count ? count : 1, sizeof *image->symbols);
		if (!image->string_table || !image->symbols)
			fail("out of memory reading the symbols of guest %s", path);
		memcpy(image->string_table, file + strings.sh_offset, strings.sh_size);
		image->string_table[strings.sh_size] = '\0';

		for (size_t at = 0; at < count; at++) {
			Elf64_Sym symbol;
			memcpy(&symbol, file + symbols.sh_offset + at * sizeof symbol,
			       sizeof symbol);
			if (ELF64_ST_TYPE(symbol.st_info) != STT_FUNC ||
			    symbol.st_shndx == SHN_UNDEF || symbol.st_name >= strings.sh_size)
				continue;
			image->symbols[image->symbol_count++] = (struct elf_symbol){
				.address = symbol.st_value,
				.size = symbol.st_size,
				.name = image->string_table + symbol.st_name,
			};
		}
		qsort(image->symbols, image->symbol_count, sizeof *image->symbols, compare_symbols);
		return; /* a static executable has one symbol table */
	}
}

void elf_load(struct elf_image *image, const char *path, struct guest_memory *memory)
{
	memset(image, 0, sizeof *image);
	image->path = strdup(path);
	if (!image->path)
		fail("out of memory");
	size_t size;
	image->file = read_whole_file(path, &size);
	Elf64_Ehdr header;
	check_header(path, image->file, size, &header);
	load_segments(image, image->file, size, &header, memory);
	load_symbols(image, image->file, size, &header);
	free(image->file);
	image->file = NULL;
}

void elf_image_release(struct elf_image *image)
{
	free(image->path);
	free(image->file);
	free(image->symbols);
	free(image->string_table);
	memset(image, 0, sizeof *image);
}

const struct elf_symbol *elf_symbolize(const struct elf_image *image, uint64_t address,
				       uint64_t *offset)
{
	const struct elf_symbol *found = NULL;
	unsigned low = 0, high = image->symbol_count;
	while (low < high) { /* the last symbol starting at or below address */
		unsigned middle = low + (high - low) / 2;
		if (image->symbols[middle].address <= address) {
			found = &image->symbols[middle];
			low = middle + 1;
		} else {
			high = middle;
		}
	}
	if (!found || (found->size && address - found->address >= found->size) ||
	    address >= image->highest) /* a size-0 symbol must not claim all memory above it */
		return NULL;
	*offset = address - found->address;
	return found;
}
