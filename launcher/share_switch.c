/*
 * Joining and leaving a `share` switch (see share_switch.h): the file, its two kinds of lock,
 * the wakeup FIFOs, and reclaiming the port of a launcher that died without leaving.
 */
#include "share_switch.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../abi/ringvisor_abi.h"
#include "fail.h"

#define SHARE_DIRECTORY "/dev/shm"
#define SHARE_FRAME_BYTES_MAX (RINGVISOR_NIC_HEADER_BYTES + 14 + 65535)
/* How long joining or leaving waits for another launcher's membership change. */
#define MEMBERSHIP_WAIT_NS (5ull * 1000000000)
/* How often a member may ask the kernel whether one peer is still alive. */
#define LIVENESS_CHECK_INTERVAL_NS (100ull * 1000000)

static uint64_t now_ns(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)now.tv_sec * 1000000000 + (uint64_t)now.tv_nsec;
}

bool share_name_is_valid(const char *name)
{
	size_t length = strlen(name);
	if (length == 0 || length > SHARE_NAME_MAX || name[0] == '.')
		return false;
	return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") ==
	       length;
}

static void region_path(const char *name, char path[96])
{
	snprintf(path, 96, SHARE_DIRECTORY "/ringvisor-share-%s", name);
}

static void wakeup_path(const char *name, unsigned port, char path[96])
{
	snprintf(path, 96, SHARE_DIRECTORY "/ringvisor-share-%s.port-%u", name, port);
}

/* ---- the locks: open-file-description locks on single bytes of the file ------------------
 * Byte 0 is the membership lock; byte 1 + N is held by port N's launcher for as long as it
 * lives. The kernel drops them when the file is closed, which a process's death does. */

static bool set_lock(int fd, unsigned byte, short type)
{
	struct flock lock = { .l_type = type, .l_whence = SEEK_SET, .l_start = byte, .l_len = 1 };
	return fcntl(fd, F_OFD_SETLK, &lock) == 0;
}

/* Waits up to MEMBERSHIP_WAIT_NS; a lock is only ever held for a few system calls, so
 * waiting longer means its holder is stuck (or hostile). */
static bool lock_membership(int fd)
{
	uint64_t deadline = now_ns() + MEMBERSHIP_WAIT_NS;
	while (!set_lock(fd, 0, F_WRLCK)) {
		if ((errno != EAGAIN && errno != EACCES) || now_ns() > deadline)
			return false;
		nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
	}
	return true;
}

static void unlock_membership(int fd)
{
	set_lock(fd, 0, F_UNLCK);
}

/* Does some other open file description hold port `index`'s lock? */
static bool port_is_alive(int fd, unsigned index)
{
	struct flock lock = {
		.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 1 + index, .l_len = 1
	};
	if (fcntl(fd, F_OFD_GETLK, &lock) < 0)
		return true; /* cannot tell: do not take anything away */
	return lock.l_type != F_UNLCK;
}

/* Marks a dead member's port free (under the membership lock). */
static void free_port(struct share_port *port, unsigned index)
{
	struct share_port_entry *entry = &port->region->ports[index];
	char path[96];
	for (unsigned slot = 0; slot < SHARE_MACS_PER_PORT; slot++)
		__atomic_store_n(&entry->macs[slot], 0, __ATOMIC_RELAXED);
	__atomic_store_n(&entry->state, SHARE_PORT_FREE, __ATOMIC_RELEASE);
	wakeup_path(port->switch_name, index, path);
	unlink(path);
}

/* ---- the file ------------------------------------------------------------------------------ */

/* Opens (creating if need be) the switch file and takes the membership lock. A file that the
 * last member removed while we waited for its lock is not the switch any more: start again. */
static int open_locked_region(const char *name, const char *path)
{
	for (unsigned attempt = 0; attempt < 100; attempt++) {
		int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0)
			fail_errno("switch %s: cannot open or create %s", name, path);
		if (!lock_membership(fd))
			fail("switch %s: cannot take the lock of %s: another launcher has held it "
			     "for "
			     "more than 5 s",
			     name, path);
		struct stat status;
		if (fstat(fd, &status) < 0)
			fail_errno("switch %s: fstat %s", name, path);
		if (status.st_nlink > 0)
			return fd;
		close(fd);
	}
	fail("switch %s: %s keeps disappearing under us", name, path);
}

static struct share_region *map_region(const char *name, const char *path, int fd)
{
	struct stat status;
	if (fstat(fd, &status) < 0)
		fail_errno("switch %s: fstat %s", name, path);
	if (!S_ISREG(status.st_mode))
		fail("switch %s: %s is not a regular file", name, path);
	bool created = status.st_size == 0;
	if (!created && status.st_size != (off_t)sizeof(struct share_region))
		fail("switch %s: %s is %lld bytes, not the %zu of a version-%d Ringvisor switch "
		     "(is another program using that name?)",
		     name, path, (long long)status.st_size, sizeof(struct share_region),
		     SHARE_VERSION);
	if (created && ftruncate(fd, sizeof(struct share_region)) < 0)
		fail_errno("switch %s: cannot size %s", name, path);
	struct share_region *region =
		mmap(NULL, sizeof *region, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (region == MAP_FAILED)
		fail_errno("switch %s: cannot map %s", name, path);

	struct share_header expected = {
		.magic = SHARE_MAGIC,
		.version = SHARE_VERSION,
		.ports_max = SHARE_PORTS_MAX,
		.ring_bytes = SHARE_RING_BYTES,
		.region_bytes = sizeof(struct share_region),
	};
	struct share_header found;
	memcpy(&found, &region->header, sizeof found); /* read once */
	if (created) {
		memcpy(&region->header, &expected, sizeof expected);
	} else if (memcmp(&found, &expected, sizeof found) != 0) {
		fail("switch %s: %s is not a version-%d Ringvisor switch with %d ports of %u-byte "
		     "rings (its header says otherwise)",
		     name, path, SHARE_VERSION, SHARE_PORTS_MAX, SHARE_RING_BYTES);
	}
	return region;
}

/* Our own FIFO, made afresh: whatever a dead predecessor left at the path goes. */
static int create_wakeup_fifo(const char *name, unsigned index)
{
	char path[96];
	wakeup_path(name, index, path);
	unlink(path);
	if (mkfifo(path, 0600) < 0)
		fail_errno("switch %s: cannot create the wakeup FIFO %s", name, path);
	int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
	struct stat status;
	if (fd < 0 || fstat(fd, &status) < 0 || !S_ISFIFO(status.st_mode))
		fail_errno("switch %s: cannot open the wakeup FIFO %s", name, path);
	return fd;
}

/* ---- leaving at exit ------------------------------------------------------------------------
 * main() leaves through nic_destroy(); this catches fail() after joining, so that a launcher
 * refused later in its start does not leave a port or a file behind. */

static struct share_port *joined_ports[16];

static void leave_all(void)
{
	for (unsigned index = 0; index < 16; index++)
		if (joined_ports[index])
			share_port_leave(joined_ports[index]);
}

static void remember_joined(struct share_port *port, bool joined)
{
	static bool registered;
	if (!registered)
		registered = atexit(leave_all) == 0;
	for (unsigned index = 0; index < 16; index++) {
		if (joined && !joined_ports[index]) {
			joined_ports[index] = port;
			return;
		}
		if (!joined && joined_ports[index] == port)
			joined_ports[index] = NULL;
	}
}

/* ---- joining and leaving -------------------------------------------------------------------- */

void share_port_join(struct share_port *port, const char *name, const uint8_t mac[6])
{
	memset(port, 0, sizeof *port);
	snprintf(port->switch_name, sizeof port->switch_name, "%s", name);
	snprintf(port->display_name, sizeof port->display_name, "share:%s", name);
	memcpy(port->mac, mac, 6);
	port->offload_frame = malloc(SHARE_FRAME_BYTES_MAX);
	port->segment_frame = malloc(SHARE_FRAME_BYTES_MAX);
	if (!port->offload_frame || !port->segment_frame)
		fail("switch %s: out of memory", name);
	/* A FIFO whose reader died raises SIGPIPE on write; we want EPIPE, and a reclaim. */
	signal(SIGPIPE, SIG_IGN);

	char path[96];
	region_path(name, path);
	port->region_fd = open_locked_region(name, path);
	port->region = map_region(name, path, port->region_fd);
	struct share_region *region = port->region;

	/* A port is taken exactly when its byte is locked; any other port is ours to have, and
	 * a dead member's leftovers are cleared on the way. */
	int chosen = -1;
	for (unsigned index = 0; index < SHARE_PORTS_MAX; index++) {
		if (port_is_alive(port->region_fd, index))
			continue;
		if (__atomic_load_n(&region->ports[index].state, __ATOMIC_ACQUIRE) !=
		    SHARE_PORT_FREE) {
			free_port(port, index);
			port->counters.switch_reclaimed_ports++;
		}
		if (chosen < 0)
			chosen = (int)index;
	}
	if (chosen < 0)
		fail("switch %s is full: all %d ports are in use (a switch takes at most %d "
		     "launchers)",
		     name, SHARE_PORTS_MAX, SHARE_PORTS_MAX);
	if (!set_lock(port->region_fd, 1 + (unsigned)chosen, F_WRLCK))
		fail_errno("switch %s: cannot lock port %d", name, chosen);
	port->port = (unsigned)chosen;
	port->wakeup_fd = create_wakeup_fifo(name, port->port);

	/* Rings into us start empty (what a dead predecessor was sent is not our guest's);
	 * rings out of us continue where the last owner published, so their readers stay in
	 * step. */
	for (unsigned index = 0; index < SHARE_PORTS_MAX; index++) {
		struct share_peer *peer = &port->peers[index];
		peer->wakeup_fd = -1;
		peer->transmit = (struct share_ring){
			&region->indices[port->port][index], region->rings[port->port][index],
			__atomic_load_n(&region->indices[port->port][index].tail, __ATOMIC_ACQUIRE)
		};
		peer->receive = (struct share_ring){
			&region->indices[index][port->port], region->rings[index][port->port],
			__atomic_load_n(&region->indices[index][port->port].tail, __ATOMIC_ACQUIRE)
		};
		__atomic_store_n(&peer->receive.indices->head, peer->receive.position,
				 __ATOMIC_RELEASE);
		peer->generation =
			__atomic_load_n(&region->ports[index].generation, __ATOMIC_ACQUIRE);
	}

	struct share_port_entry *entry = &region->ports[port->port];
	for (unsigned slot = 0; slot < SHARE_MACS_PER_PORT; slot++)
		__atomic_store_n(&entry->macs[slot], 0, __ATOMIC_RELAXED);
	__atomic_store_n(&entry->wakeup_wanted, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&entry->owner_pid, (int32_t)getpid(), __ATOMIC_RELAXED);
	__atomic_add_fetch(&entry->generation, 1, __ATOMIC_RELEASE);
	__atomic_store_n(&entry->state, SHARE_PORT_ACTIVE, __ATOMIC_RELEASE);
	unlock_membership(port->region_fd);
	remember_joined(port, true);
}

void share_port_leave(struct share_port *port)
{
	if (!port->region)
		return;
	remember_joined(port, false);
	bool locked = lock_membership(port->region_fd);
	if (!locked)
		fprintf(stderr,
			"ringvisor: %s: cannot take the switch's lock to leave it; its port will "
			"be reclaimed when the next launcher finds it dead\n",
			port->display_name);
	if (locked) {
		free_port(port, port->port);
		bool others = false;
		for (unsigned index = 0; index < SHARE_PORTS_MAX; index++) {
			if (index == port->port)
				continue;
			if (port_is_alive(port->region_fd, index))
				others = true;
			else if (__atomic_load_n(&port->region->ports[index].state,
						 __ATOMIC_ACQUIRE) != SHARE_PORT_FREE)
				free_port(port, index);
		}
		if (!others) { /* the last one out: nothing may remain */
			char path[96];
			for (unsigned index = 0; index < SHARE_PORTS_MAX; index++) {
				wakeup_path(port->switch_name, index, path);
				unlink(path);
			}
			region_path(port->switch_name, path);
			unlink(path);
		}
	}
	for (unsigned index = 0; index < SHARE_PORTS_MAX; index++)
		if (port->peers[index].wakeup_fd >= 0)
			close(port->peers[index].wakeup_fd);
	close(port->wakeup_fd);
	munmap(port->region, sizeof *port->region);
	port->region = NULL;
	close(port->region_fd); /* drops both locks */
	free(port->offload_frame);
	free(port->segment_frame);
}

/* ---- for the data path (share_port.c) ------------------------------------------------------- */

void share_reclaim_if_dead(struct share_port *port, unsigned index)
{
	struct share_peer *peer = &port->peers[index];
	uint64_t now = now_ns();
	if (now - peer->liveness_checked_ns < LIVENESS_CHECK_INTERVAL_NS)
		return;
	peer->liveness_checked_ns = now;
	if (port_is_alive(port->region_fd, index) || !set_lock(port->region_fd, 0, F_WRLCK))
		return; /* alive, or someone is changing membership: look again later */
	struct share_port_entry *entry = &port->region->ports[index];
	if (!port_is_alive(port->region_fd, index) &&
	    __atomic_load_n(&entry->state, __ATOMIC_ACQUIRE) != SHARE_PORT_FREE) {
		fprintf(stderr,
			"ringvisor: %s: port %u's launcher (pid %d) is gone; its port is free "
			"again\n",
			port->display_name, index,
			__atomic_load_n(&entry->owner_pid, __ATOMIC_RELAXED));
		free_port(port, index);
		port->counters.switch_reclaimed_ports++;
	}
	unlock_membership(port->region_fd);
}

int share_peer_wakeup_fd(struct share_port *port, unsigned index)
{
	struct share_peer *peer = &port->peers[index];
	uint32_t generation =
		__atomic_load_n(&port->region->ports[index].generation, __ATOMIC_ACQUIRE);
	if (peer->wakeup_fd >= 0 && peer->wakeup_generation == generation)
		return peer->wakeup_fd;
	if (peer->wakeup_fd >= 0)
		close(peer->wakeup_fd);
	char path[96];
	wakeup_path(port->switch_name, index, path);
	peer->wakeup_fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
	peer->wakeup_generation = generation;
	struct stat status;
	if (peer->wakeup_fd >= 0 &&
	    (fstat(peer->wakeup_fd, &status) < 0 || !S_ISFIFO(status.st_mode))) {
		close(peer->wakeup_fd);
		peer->wakeup_fd = -1;
	}
	if (peer->wakeup_fd < 0) /* ENXIO: nobody reads it; ENOENT: no FIFO at all */
		share_reclaim_if_dead(port, index);
	return peer->wakeup_fd;
}

void share_peer_wakeup_failed(struct share_port *port, unsigned index)
{
	close(port->peers[index].wakeup_fd);
	port->peers[index].wakeup_fd = -1;
	share_reclaim_if_dead(port, index);
}
