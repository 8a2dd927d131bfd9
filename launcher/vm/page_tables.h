/*
 * The guest's page tables: all of guest RAM mapped one to one, user-accessible, except the
 * launcher's own pages. Regions holding the guest image or the launcher's pages are mapped
 * in 4 KiB pages so that each page gets the permissions it needs (code read-only and
 * executable, data never executable, page 0 absent); the rest in 2 MiB pages.
 */
#ifndef RINGVISOR_PAGE_TABLES_H
#define RINGVISOR_PAGE_TABLES_H

#include "vm/elf_loader.h"
#include "vm/guest_memory.h"

/* Builds the tables in guest memory; returns the value for CR3. */
uint64_t page_tables_build(struct guest_memory *memory, const struct elf_image *image);

#endif
