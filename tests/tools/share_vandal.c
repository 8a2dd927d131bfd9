/*
 * share_vandal: scribbles on a `share` switch while launchers use it, for the test that a
 * hostile member cannot crash the others (tests/integration/share_test.sh).
 *
 *	share_vandal /dev/shm/ringvisor-UID/share-NAME MILLISECONDS
 *
 * For MILLISECONDS it writes random words over everything in the file but the header and the
 * ring data (the port table and every ring's indices: the first 36 KiB), and random words into
 * the first 64 KiB of every ring, where the record lengths are. It knows nothing of the layout
 * beyond those sizes, on purpose: it is any process with the file open for writing.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TABLES_START 64u
#define TABLES_END (36u << 10)
#define RING_BYTES (4u << 20)
#define RING_SCRIBBLE_BYTES (64u << 10)

static uint64_t state = 0x9e3779b97f4a7c15ull;

static uint64_t next_random(void)
{
	state ^= state << 13, state ^= state >> 7, state ^= state << 17;
	return state;
}

static uint64_t now_ms(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: share_vandal SWITCH-FILE MILLISECONDS\n");
		return 2;
	}
	int fd = open(argv[1], O_RDWR);
	struct stat status;
	if (fd < 0 || fstat(fd, &status) < 0 || status.st_size < (off_t)TABLES_END) {
		perror(argv[1]);
		return 1;
	}
	size_t size = (size_t)status.st_size;
	uint8_t *region = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (region == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	size_t rings = (size - 36864) / RING_BYTES;
	uint64_t deadline = now_ms() + strtoull(argv[2], NULL, 0), writes = 0;
	while (now_ms() < deadline) {
		for (int burst = 0; burst < 1000; burst++, writes++) {
			uint64_t value = next_random();
			size_t offset = TABLES_START + next_random() % (TABLES_END - TABLES_START);
			if (burst % 2 && rings > 0)
				offset = 36864 + (next_random() % rings) * RING_BYTES +
					 next_random() % RING_SCRIBBLE_BYTES;
			*(volatile uint32_t *)(region + (offset & ~(size_t)3)) = (uint32_t)value;
		}
		usleep(100);
	}
	printf("share_vandal: %llu words scribbled\n", (unsigned long long)writes);
	return 0;
}
