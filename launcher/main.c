/*
 * ringvisor: runs a paravirtualized guest in ring 3 of a KVM virtual machine.
 *
 * Reading order, top to bottom, like lguest's launcher:
 *   options.c      what the user asked for
 *   kvm_vm.c       /dev/kvm, guest RAM, one vCPU
 *   elf_loader.c   the guest image, checked and loaded
 *   ring3_setup.c  page tables (page_tables.c), GDT, TSS, IDT, boot info (boot_info.c)
 *   vcpu_loop.c    KVM_RUN and every reason it returns
 *   hypercall.c    what the guest may ask of us
 *   crash_report.c what we say when it goes wrong
 */
#include <stdio.h>

#include "options.h"
#include "vm.h"

int main(int argc, char **argv)
{
	struct options options;
	options_parse(&options, argc, argv);

	struct vm vm;
	vm_create(&vm, options.memory_bytes);
	vm_load_guest(&vm, options.guest_path, options.guest_argument_count,
		      options.guest_arguments);
	int status = vm_run(&vm);
	vm_destroy(&vm);
	return status;
}
