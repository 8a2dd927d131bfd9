/*
 * Creating the VM: /dev/kvm, guest RAM as one memory slot, one vCPU, and the CPU features a
 * ring-3 guest needs switched on (the host's CPUID, SSE/AVX/AVX-512 state in XCR0). Nothing
 * here is specific to a guest image; vm_load_guest() (ring3_setup.c) does that part.
 */
#include "vm/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fail.h"

/* XCR0 bits: x87, SSE, AVX, and the three AVX-512 state components. */
#define XCR0_WANTED 0xe7ull

static struct kvm_cpuid2 *get_supported_cpuid(int kvm_fd)
{
	for (unsigned entries = 64;; entries *= 2) {
		struct kvm_cpuid2 *cpuid =
			calloc(1, sizeof *cpuid + entries * sizeof(struct kvm_cpuid_entry2));
		if (!cpuid)
			fail("out of memory");
		cpuid->nent = entries;
		if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid) == 0)
			return cpuid;
		free(cpuid);
		if (errno != E2BIG || entries > 4096)
			fail_errno("KVM_GET_SUPPORTED_CPUID");
	}
}

static void configure_cpu_features(struct vm *vm)
{
	struct kvm_cpuid2 *cpuid = get_supported_cpuid(vm->kvm_fd);
	uint64_t supported_xcr0 = 0;
	for (unsigned index = 0; index < cpuid->nent; index++) {
		struct kvm_cpuid_entry2 *entry = &cpuid->entries[index];
		if (entry->function == 0xd && entry->index == 0)
			supported_xcr0 = entry->eax | ((uint64_t)entry->edx << 32);
	}
	if (ioctl(vm->vcpu_fd, KVM_SET_CPUID2, cpuid) < 0)
		fail_errno("KVM_SET_CPUID2");
	free(cpuid);

	struct kvm_xcrs xcrs = { .nr_xcrs = 1 };
	xcrs.xcrs[0].xcr = 0;
	xcrs.xcrs[0].value = (supported_xcr0 & XCR0_WANTED) | 1; /* x87 is architecturally on */
	if (ioctl(vm->vcpu_fd, KVM_SET_XCRS, &xcrs) < 0)
		fail_errno("KVM_SET_XCRS (XCR0 0x%llx)", (unsigned long long)xcrs.xcrs[0].value);
}

void vm_create(struct vm *vm, uint64_t memory_bytes)
{
	memset(vm, 0, sizeof *vm);
	vm->kvm_fd = vm->vm_fd = vm->vcpu_fd = vm->wake_fd = -1;

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0)
		fail_errno("cannot open /dev/kvm (is KVM available, and may this user use it?)");
	int version = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION)
		fail("/dev/kvm speaks API version %d; Ringvisor needs %d", version,
		     KVM_API_VERSION);
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IOEVENTFD) <= 0)
		fail("this KVM lacks ioeventfd (KVM_CAP_IOEVENTFD)");
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0)
		fail_errno("KVM_CREATE_VM");

	guest_memory_create(&vm->memory, memory_bytes);
	struct kvm_userspace_memory_region region = {
		.slot = 0,
		.guest_phys_addr = 0,
		.memory_size = memory_bytes,
		.userspace_addr = (uint64_t)(uintptr_t)vm->memory.base,
	};
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		fail_errno("KVM_SET_USER_MEMORY_REGION (%llu MiB)",
			   (unsigned long long)(memory_bytes >> 20));

	vm->vcpu_fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, 0);
	if (vm->vcpu_fd < 0)
		fail_errno("KVM_CREATE_VCPU");
	int run_bytes = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_bytes < (int)sizeof(struct kvm_run))
		fail_errno("KVM_GET_VCPU_MMAP_SIZE");
	vm->run_bytes = (size_t)run_bytes;
	vm->run = mmap(NULL, vm->run_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, vm->vcpu_fd, 0);
	if (vm->run == MAP_FAILED)
		fail_errno("cannot map the vCPU's kvm_run area");

	int khz = ioctl(vm->vcpu_fd, KVM_GET_TSC_KHZ, 0);
	if (khz <= 0)
		fail_errno("KVM_GET_TSC_KHZ");
	vm->tsc_khz = (uint64_t)khz;

	configure_cpu_features(vm);

	vm->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->wake_fd < 0)
		fail_errno("eventfd");
}

void vm_destroy(struct vm *vm)
{
	if (vm->run && vm->run != MAP_FAILED)
		munmap(vm->run, vm->run_bytes);
	int fds[] = { vm->wake_fd, vm->vcpu_fd, vm->vm_fd, vm->kvm_fd };
	for (unsigned index = 0; index < sizeof fds / sizeof fds[0]; index++)
		if (fds[index] >= 0)
			close(fds[index]);
	guest_memory_destroy(&vm->memory);
	elf_image_release(&vm->image);
	memset(vm, 0, sizeof *vm);
}
