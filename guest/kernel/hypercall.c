/*
 * Making a hypercall. The request block is static, not on the stack: there is one vCPU and
 * the guest never runs two hypercalls at once, and a static block is always in the guest's
 * own RAM, where the launcher accepts it, whatever stack we happen to be on.
 */
#include <ringvisor/hypercall.h>

static struct ringvisor_hypercall request __attribute__((aligned(16)));

int64_t hypercall(uint32_t number, uint64_t argument0, uint64_t argument1, uint64_t argument2)
{
	request.number = number;
	request.result = 0;
	request.argument[0] = argument0;
	request.argument[1] = argument1;
	request.argument[2] = argument2;
	request.argument[3] = 0;
	uint32_t block = (uint32_t)(uintptr_t)&request;
	/* "memory": the launcher reads the block and writes its result behind our back. */
	__asm__ volatile("outl %0, %w1" : : "a"(block), "Nd"(RINGVISOR_PORT_HYPERCALL) : "memory");
	return request.result;
}
