/*
 * hello: the smallest useful guest. Prints a greeting and its arguments, then exits 0.
 *
 *	ringvisor run build/guests/hello.elf -- one two three
 */
#include <stdio.h>

#include <ringvisor/kernel.h>

int main(int argc, char **argv)
{
	printf("Hello from a Ringvisor guest in ring 3: %d argument%s\n", argc,
	       argc == 1 ? "" : "s");
	for (int index = 0; index < argc; index++)
		printf("argv[%d] = \"%s\"\n", index, argv[index]);
	return 0;
}
