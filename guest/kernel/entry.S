/*
 * The guest's first instructions. The launcher enters here in 64-bit ring 3 with RDI
 * pointing at the boot information and RSP on a small launcher stack; we move to our own
 * stack and go to C. The launcher loaded us into zeroed RAM, so the BSS is already clear.
 */
	.section .text.entry, "ax"
	.globl _start
	.type _start, @function
_start:
	lea kernel_stack_top(%rip), %rsp
	xor %ebp, %ebp		/* the end of every backtrace */
	call kernel_start	/* RDI: the boot information */
	ud2			/* kernel_start never returns */
	.size _start, . - _start

	.section .bss
	.balign 16
kernel_stack:
	.space 256 * 1024
kernel_stack_top:
