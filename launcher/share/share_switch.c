/*
 * Joining and leaving a `share` switch (see share_switch.h): the file, its two kinds of lock,
 * the wakeup FIFOs, reclaiming the port of a launcher that died without leaving, and keeping
 * our own port entry true against anyone who scribbles on it.
 */
#include "share/share_switch.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ringvisor_abi.h"
#include "fail.h"

/* Where the per-user directories are; RINGVISOR_SHARE_DIRECTORY in the environment replaces it
 * (the tests use their own). */
#define SHARE_DIRECTORY_BASE "/dev/shm"
/* How long joining or leaving waits for another launcher's membership change: a change takes
 * a few system calls, so waiting longer means its holder is stuck (or hostile). */
#define MEMBERSHIP_WAIT_SECONDS 5
/* How often a member may ask the kernel whether one peer is still alive. */
#define LIVENESS_CHECK_INTERVAL_NS (100ull * 1000000)
/* The port table and every ring's indices: the part of the file that is not ring data. */
#define TABLES_BYTES offsetof(struct share_region, rings)

bool share_switch_name_is_valid(const char *name)
{
	size_t length = strlen(name);
	if (length == 0 || length > SHARE_NAME_MAX || name[0] == '.')
		return false;
	return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") ==
	       length;
}

static void region_path(const char *name, char path[SHARE_FILE_NAME_MAX])
{
	snprintf(path, SHARE_FILE_NAME_MAX, "share-%s", name);
}

static void wakeup_path(const char *name, unsigned port, char path[SHARE_FILE_NAME_MAX])
{
	snprintf(path, SHARE_FILE_NAME_MAX, "share-%s@port-%u", name, port);
}

/*
 * The directory every file of our switches lives in: BASE/ringvisor-UID, made 0700 if it is not
 * there, then opened (not following a symbolic link) and checked through the open descriptor:
 * a directory, ours, and no access for anyone else. Another user who made it first, or left a
 * link there, is refused by name: they could otherwise read and write our guests' frames.
 */
static void open_directory(struct share_port *port)
{
	const char *base = getenv("RINGVISOR_SHARE_DIRECTORY");
	uid_t uid = geteuid();
	snprintf(port->directory, sizeof port->directory, "%s/ringvisor-%u",
		 base && *base ? base : SHARE_DIRECTORY_BASE, (unsigned)uid);
	const char *name = port->switch_name, *path = port->directory;
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		fail_errno("switch %s: cannot make the directory %s", name, path);
	port->directory_fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (port->directory_fd < 0 && (errno == ELOOP || errno == ENOTDIR))
		fail("switch %s: %s is not a directory (a symbolic link or a file is there); "
		     "remove it",
		     name, path);
	if (port->directory_fd < 0)
		fail_errno("switch %s: cannot open the directory %s", name, path);
	struct stat status;
	if (fstat(port->directory_fd, &status) < 0)
		fail_errno("switch %s: fstat %s", name, path);
	if (status.st_uid != uid)
		fail("switch %s: %s belongs to user %u, not to us (%u): another user made it; "
		     "remove it",
		     name, path, (unsigned)status.st_uid, (unsigned)uid);
	if ((status.st_mode & 07777) != 0700)
		fail("switch %s: %s has mode %04o, not 0700: others could reach our switches; "
		     "chmod 700 it or remove it",
		     name, path, (unsigned)(status.st_mode & 07777));
}

/* ---- the locks: open-file-description locks on single bytes of the file ------------------
 * Byte 0 is the membership lock; byte 1 + N is held by port N's launcher for as long as it
 * lives. The kernel drops them when the file is closed, which a process's death does. */

static bool set_lock(int fd, unsigned byte, short type)
{
	struct flock lock = { .l_type = type, .l_whence = SEEK_SET, .l_start = byte, .l_len = 1 };
	return fcntl(fd, F_OFD_SETLK, &lock) == 0;
}

static bool lock_membership(int fd)
{
	uint64_t deadline = share_now_ns() + MEMBERSHIP_WAIT_SECONDS * 1000000000ull;
	while (!set_lock(fd, 0, F_WRLCK)) {
		if ((errno != EAGAIN && errno != EACCES) || share_now_ns() > deadline)
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

/* Is the file at our path still the one we have open? Someone may have removed it (rm, or
 * systemd's RemoveIPC) and another switch of the same name taken its place: its files are
 * not ours to remove. */
static bool region_is_ours(const struct share_port *port)
{
	char path[SHARE_FILE_NAME_MAX];
	struct stat at_path, ours;
	region_path(port->switch_name, path);
	return fstatat(port->directory_fd, path, &at_path, AT_SYMLINK_NOFOLLOW) == 0 &&
	       fstat(port->region_fd, &ours) == 0 && at_path.st_dev == ours.st_dev &&
	       at_path.st_ino == ours.st_ino;
}

/* Marks a dead member's port free (under the membership lock). */
static void free_port(struct share_port *port, unsigned index)
{
	struct share_port_entry *entry = &port->region->ports[index];
	__atomic_store_n(&entry->own_mac, 0, __ATOMIC_RELAXED);
	for (unsigned slot = 0; slot < SHARE_MACS_PER_PORT; slot++)
		__atomic_store_n(&entry->macs[slot], 0, __ATOMIC_RELAXED);
	__atomic_store_n(&entry->state, SHARE_PORT_FREE, __ATOMIC_RELEASE);
	if (region_is_ours(port)) {
		char path[SHARE_FILE_NAME_MAX];
		wakeup_path(port->switch_name, index, path);
		unlinkat(port->directory_fd, path, 0);
	}
}

/* ---- the file ------------------------------------------------------------------------------ */

/*
 * Opens the switch file in our directory, creating it (O_EXCL: never someone else's file taken
 * for a new one) if it is not there, and takes the membership lock. An existing file must be
 * a regular file of ours that no one else may open, with no other name. A file that the last
 * member removed while we waited for its lock is not the switch any more: start again.
 */
static int open_locked_region(const struct share_port *port, const char *path, bool *created)
{
	const char *name = port->switch_name, *directory = port->directory;
	for (unsigned attempt = 0; attempt < 100; attempt++) {
		int fd = openat(port->directory_fd, path,
				O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		*created = fd >= 0;
		if (fd < 0 && errno == EEXIST)
			fd = openat(port->directory_fd, path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT)
			continue; /* removed between the two opens: create it after all */
		if (fd < 0)
			fail_errno("switch %s: cannot open or create %s/%s", name, directory, path);
		struct stat status;
		if (fstat(fd, &status) < 0)
			fail_errno("switch %s: fstat %s/%s", name, directory, path);
		if (!S_ISREG(status.st_mode) || status.st_uid != geteuid() ||
		    (status.st_mode & 077) || status.st_nlink > 1)
			fail("switch %s: %s/%s is not a switch file of ours (a regular file, owned "
			     "by us, mode 0600, one name); remove it",
			     name, directory, path);
		if (!lock_membership(fd))
			fail("switch %s: another launcher has held the lock of %s/%s for more than "
			     "%d s",
			     name, directory, path, MEMBERSHIP_WAIT_SECONDS);
		if (fstat(fd, &status) < 0)
			fail_errno("switch %s: fstat %s/%s", name, directory, path);
		if (status.st_nlink > 0)
			return fd;
		close(fd);
	}
	fail("switch %s: %s/%s keeps disappearing under us", name, directory, path);
}

/*
 * Maps the file, sizing and initializing it if it is new. A header of zeros is a switch that
 * its creator did not finish (killed, or refused later): it is initialized again. Any other
 * header must be exactly ours. The tables get their memory now, so that a full /dev/shm is an
 * error here and not a SIGBUS later.
 */
static struct share_region *map_region(const char *name, const char *path, int fd)
{
	/* `path` is the file's name in the switch directory; the messages name it so. */
	struct stat status;
	if (fstat(fd, &status) < 0)
		fail_errno("switch %s: fstat %s", name, path);
	if (!S_ISREG(status.st_mode))
		fail("switch %s: %s is not a regular file", name, path);
	if (status.st_size != 0 && status.st_size != (off_t)sizeof(struct share_region))
		fail("switch %s: %s is %lld bytes, not the %zu of a version-%d Ringvisor switch "
		     "(is another program using that name?)",
		     name, path, (long long)status.st_size, sizeof(struct share_region),
		     SHARE_VERSION);
	if (status.st_size == 0 && ftruncate(fd, sizeof(struct share_region)) < 0)
		fail_errno("switch %s: cannot size %s", name, path);
	int error = posix_fallocate(fd, 0, TABLES_BYTES);
	if (error) {
		errno = error;
		fail_errno("switch %s: no room for %s's tables", name, path);
	}
	struct share_region *region =
		mmap(NULL, sizeof *region, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (region == MAP_FAILED)
		fail_errno("switch %s: cannot map %s", name, path);
	/* Other guests' frames pass through it: never in a core dump of this launcher. */
	if (madvise(region, sizeof *region, MADV_DONTDUMP) < 0)
		fail_errno("switch %s: cannot keep %s out of core dumps", name, path);

	struct share_header expected = {
		.magic = SHARE_MAGIC,
		.version = SHARE_VERSION,
		.ports_max = SHARE_PORTS_MAX,
		.ring_bytes = SHARE_RING_BYTES,
		.region_bytes = sizeof(struct share_region),
	};
	static const struct share_header blank;
	struct share_header found;
	memcpy(&found, &region->header, sizeof found); /* read once */
	if (memcmp(&found, &blank, sizeof found) == 0)
		memcpy(&region->header, &expected, sizeof expected);
	else if (memcmp(&found, &expected, sizeof found) != 0)
		fail("switch %s: %s is not a version-%d Ringvisor switch with %d ports of %u-byte "
		     "rings (its header says otherwise)",
		     name, path, SHARE_VERSION, SHARE_PORTS_MAX, SHARE_RING_BYTES);
	return region;
}

/* Our own FIFO, made afresh: whatever a dead predecessor left at the name goes. */
static int create_wakeup_fifo(const struct share_port *port, unsigned index)
{
	const char *name = port->switch_name, *directory = port->directory;
	char path[SHARE_FILE_NAME_MAX];
	wakeup_path(name, index, path);
	if (unlinkat(port->directory_fd, path, 0) < 0 && errno == EISDIR)
		unlinkat(port->directory_fd, path, AT_REMOVEDIR);
	if (mkfifoat(port->directory_fd, path, 0600) < 0)
		fail_errno("switch %s: cannot create the wakeup FIFO %s/%s", name, directory, path);
	int fd = openat(port->directory_fd, path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
	struct stat status;
	if (fd < 0 || fstat(fd, &status) < 0 || !S_ISFIFO(status.st_mode))
		fail_errno("switch %s: cannot open the wakeup FIFO %s/%s", name, directory, path);
	return fd;
}

/* ---- leaving ----------------------------------------------------------------------------------
 */

/* The last one out (under the membership lock): nothing of the switch may remain, if the file
 * at its name is still the one we hold (a newer switch may have taken the name). */
static void remove_switch_files(struct share_port *port)
{
	if (!region_is_ours(port))
		return;
	char path[SHARE_FILE_NAME_MAX];
	for (unsigned index = 0; index < SHARE_PORTS_MAX; index++) {
		wakeup_path(port->switch_name, index, path);
		unlinkat(port->directory_fd, path, 0);
	}
	region_path(port->switch_name, path);
	unlinkat(port->directory_fd, path, 0);
}

/*
 * The membership half of leaving: our port becomes free, and the last one out removes the
 * files. It touches nothing the I/O thread uses (the mapping stays, the buffers stay), so it is
 * also what runs at exit when fail() ends the launcher while its threads still run.
 */
static void leave_switch(struct share_port *port)
{
	if (!__atomic_exchange_n(&port->joined, false, __ATOMIC_ACQ_REL))
		return;
	if (!lock_membership(port->region_fd)) {
		fprintf(stderr,
			"ringvisor: %s: cannot take the switch's lock to leave it; the next "
			"launcher "
			"to find our port dead will free it\n",
			port->display_name);
		return;
	}
	free_port(port, port->port);
	bool others = false;
	for (unsigned index = 0; index < SHARE_PORTS_MAX; index++) {
		if (index == port->port)
			continue;
		if (port_is_alive(port->region_fd, index))
			others = true;
		else if (__atomic_load_n(&port->region->ports[index].state, __ATOMIC_ACQUIRE) !=
			 SHARE_PORT_FREE)
			free_port(port, index);
	}
	if (!others)
		remove_switch_files(port);
	/* Our port's lock goes before the membership lock, so that whoever takes that next sees
	 * us gone (and, if it is the last, removes the files). */
	set_lock(port->region_fd, 1 + port->port, F_UNLCK);
	unlock_membership(port->region_fd);
}

static struct share_port *joined_ports[RINGVISOR_NICS_MAX];
/* A join under way: it holds the membership lock, and a failure in it (fail() exits) must not
 * leave behind the file it may have just made, 1 GiB to whoever looks. */
static struct share_port *joining;

/* A join that failed half-way: if it made the switch file and no one else has joined since (a
 * port we locked ourselves does not count: open-file-description locks never conflict with
 * their own), the files go. A file it found is left as it was, with the error naming it. */
static void abandon_join(struct share_port *port)
{
	if (!port->created_region)
		return;
	for (unsigned index = 0; index < SHARE_PORTS_MAX; index++)
		if (port_is_alive(port->region_fd, index))
			return;
	remove_switch_files(port);
}

static void leave_all_at_exit(void)
{
	if (joining)
		abandon_join(joining);
	for (unsigned index = 0; index < RINGVISOR_NICS_MAX; index++)
		if (joined_ports[index])
			leave_switch(joined_ports[index]);
}

static void leave_at_exit(void)
{
	static bool registered;
	if (!registered)
		registered = atexit(leave_all_at_exit) == 0;
}

static void remember_joined(struct share_port *port, bool joined)
{
	for (unsigned index = 0; index < RINGVISOR_NICS_MAX; index++) {
		if (joined && !joined_ports[index]) {
			joined_ports[index] = port;
			return;
		}
		if (!joined && joined_ports[index] == port)
			joined_ports[index] = NULL;
	}
}

void share_switch_leave(struct share_port *port)
{
	if (!port->region)
		return;
	leave_switch(port);
	remember_joined(port, false);
	for (unsigned index = 0; index < SHARE_PORTS_MAX; index++)
		if (port->peers[index].wakeup_fd >= 0)
			close(port->peers[index].wakeup_fd);
	close(port->wakeup_fd);
	munmap(port->region, sizeof *port->region);
	port->region = NULL;
	close(port->region_fd); /* drops our port's lock */
	close(port->directory_fd);
	free(port->offload_frame);
	free(port->segment_frame);
}

/* ---- joining -----------------------------------------------------------------------------------
 */

/* Publishes our entry: what share_switch_tick() puts back if it finds it changed. */
static void publish_entry(struct share_port *port)
{
	struct share_port_entry *entry = &port->region->ports[port->port];
	__atomic_store_n(&entry->own_mac, share_mac_key(port->mac), __ATOMIC_RELAXED);
	__atomic_store_n(&entry->owner_pid, (int32_t)getpid(), __ATOMIC_RELAXED);
	__atomic_store_n(&entry->mtu, port->mtu, __ATOMIC_RELAXED);
	__atomic_store_n(&entry->generation, port->generation, __ATOMIC_RELEASE);
	__atomic_store_n(&entry->state, SHARE_PORT_ACTIVE, __ATOMIC_RELEASE);
}

/*
 * Our two rings with each other port, as we take our port over. With a dead (or no) peer, nobody
 * else uses them: both start from zero, whatever a vandal or a dead predecessor left. With a live
 * peer we agree without talking. Our ring out continues where the last owner published (its
 * tail): the peer may be reading the last owner's frames this very moment, and goes on into ours
 * without a break. Our ring in starts at the peer's tail: what it sent our predecessor is not our
 * guest's. If what we adopt is garbage, both sides find the ring corrupt, and the ticks put it
 * right (share_switch_tick).
 */
static void take_over_rings(struct share_port *port, unsigned index, bool peer_alive)
{
	struct share_region *region = port->region;
	struct share_peer *peer = &port->peers[index];
	struct share_ring_indices *out = &region->indices[port->port][index];
	struct share_ring_indices *in = &region->indices[index][port->port];
	if (!peer_alive) {
		__atomic_store_n(&out->head, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&out->tail, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&in->head, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&in->tail, 0, __ATOMIC_RELAXED);
	}
	uint32_t out_start = __atomic_load_n(&out->tail, __ATOMIC_ACQUIRE);
	uint32_t in_start = __atomic_load_n(&in->tail, __ATOMIC_ACQUIRE);
	peer->transmit = (struct share_ring){ out, region->rings[port->port][index], out_start };
	peer->receive = (struct share_ring){ in, region->rings[index][port->port], in_start };
	__atomic_store_n(&in->head, in_start, __ATOMIC_RELEASE);
}

/* Frames bigger than the smaller MTU would be dropped as too big for the receiver's buffers:
 * say so now rather than leave it to a counter. */
static void warn_about_other_mtus(const struct share_port *port, const bool alive[])
{
	for (unsigned index = 0; index < SHARE_PORTS_MAX; index++) {
		uint32_t mtu = __atomic_load_n(&port->region->ports[index].mtu, __ATOMIC_RELAXED);
		if (index != port->port && alive[index] && mtu != port->mtu)
			fprintf(stderr,
				"ringvisor: %s: warning: port %u has MTU %u, ours is %u; frames "
				"bigger than the smaller one will be dropped\n",
				port->display_name, index, mtu, port->mtu);
	}
}

void share_switch_join(struct share_port *port, const char *name, const uint8_t mac[6],
		       unsigned mtu)
{
	memset(port, 0, sizeof *port);
	snprintf(port->switch_name, sizeof port->switch_name, "%s", name);
	snprintf(port->display_name, sizeof port->display_name, "share:%s", name);
	memcpy(port->mac, mac, 6);
	port->mtu = mtu;
	port->wakeup_fd = -1;
	port->directory_fd = -1;
	for (unsigned index = 0; index < SHARE_PORTS_MAX; index++)
		port->peers[index].wakeup_fd =
			-1; /* our own entry's too: leaving closes every one */
	port->offload_frame = malloc(RINGVISOR_FRAME_BYTES_MAX);
	port->segment_frame = malloc(RINGVISOR_FRAME_BYTES_MAX);
	if (!port->offload_frame || !port->segment_frame)
		fail("switch %s: out of memory", name);
	/* A FIFO whose reader died raises SIGPIPE on write; we want EPIPE, and a reclaim. */
	signal(SIGPIPE, SIG_IGN);

	open_directory(port);
	char path[SHARE_FILE_NAME_MAX];
	region_path(name, path);
	leave_at_exit();
	port->region_fd = open_locked_region(port, path, &port->created_region);
	joining = port; /* from here on a failure cleans up after itself */
	port->region = map_region(name, path, port->region_fd);
	struct share_region *region = port->region;

	/* A port is taken exactly when its byte is locked; any other port is ours to have, and
	 * a dead member's leftovers are cleared on the way. */
	bool alive[SHARE_PORTS_MAX];
	int chosen = -1;
	for (unsigned index = 0; index < SHARE_PORTS_MAX; index++) {
		alive[index] = port_is_alive(port->region_fd, index);
		if (alive[index])
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
	port->wakeup_fd = create_wakeup_fifo(port, port->port);
	for (unsigned index = 0; index < SHARE_PORTS_MAX; index++)
		if (index != port->port)
			take_over_rings(port, index, alive[index]);

	struct share_port_entry *entry = &region->ports[port->port];
	for (unsigned slot = 0; slot < SHARE_MACS_PER_PORT; slot++)
		__atomic_store_n(&entry->macs[slot], 0, __ATOMIC_RELAXED);
	__atomic_store_n(&entry->wakeup_wanted, 0, __ATOMIC_RELAXED);
	port->generation = __atomic_load_n(&entry->generation, __ATOMIC_RELAXED) + 1;
	publish_entry(port);
	__atomic_store_n(&port->joined, true, __ATOMIC_RELEASE);
	joining = NULL;
	remember_joined(port, true);
	unlock_membership(port->region_fd);
	warn_about_other_mtus(port, alive);
}

/* ---- for the data path (share_port.c) ------------------------------------------------------- */

/*
 * The indices we own, written again: a vandal's value lasts a second at most. A ring found
 * corrupt gets another chance: our side is looked at again, and a ring in whose record could
 * not be read is skipped to what its producer has published (what was in it is lost; the
 * producer's own tick has put its tail right by now).
 */
static void repair_rings(struct share_port *port)
{
	for (unsigned index = 0; index < SHARE_PORTS_MAX; index++) {
		struct share_peer *peer = &port->peers[index];
		if (index == port->port)
			continue;
		if (peer->receive_corrupt) {
			uint32_t tail =
				__atomic_load_n(&peer->receive.indices->tail, __ATOMIC_ACQUIRE);
			if (tail % 8 == 0)
				peer->receive.position = tail;
			peer->receive_corrupt = false;
		}
		peer->transmit_corrupt = false;
		if (peer->transmit.position % 8)
			peer->transmit.position =
				__atomic_load_n(&peer->transmit.indices->head, __ATOMIC_ACQUIRE) &
				~7u;
		__atomic_store_n(&peer->receive.indices->head, peer->receive.position,
				 __ATOMIC_RELEASE);
		__atomic_store_n(&peer->transmit.indices->tail, peer->transmit.position,
				 __ATOMIC_RELEASE);
	}
}

void share_switch_tick(struct share_port *port)
{
	if (!__atomic_load_n(&port->joined, __ATOMIC_ACQUIRE))
		return; /* leaving at exit, while this thread still runs */
	repair_rings(port);
	struct share_port_entry *entry = &port->region->ports[port->port];
	if (__atomic_load_n(&entry->state, __ATOMIC_ACQUIRE) == SHARE_PORT_ACTIVE &&
	    __atomic_load_n(&entry->generation, __ATOMIC_ACQUIRE) == port->generation &&
	    __atomic_load_n(&entry->own_mac, __ATOMIC_RELAXED) == share_mac_key(port->mac))
		return;
	if (port->counters.switch_entry_restored++ < 10)
		fprintf(stderr,
			"ringvisor: %s: someone overwrote our port entry (port %u); restored\n",
			port->display_name, port->port);
	publish_entry(port);
}

bool share_switch_reclaim_if_dead(struct share_port *port, unsigned index)
{
	struct share_peer *peer = &port->peers[index];
	uint64_t now = share_now_ns();
	if (now - peer->liveness_checked_ns < LIVENESS_CHECK_INTERVAL_NS)
		return true;
	peer->liveness_checked_ns = now;
	if (port_is_alive(port->region_fd, index) ||
	    !__atomic_load_n(&port->joined, __ATOMIC_ACQUIRE))
		return true;
	/* Never wait here (this is the I/O thread): someone is changing membership, so look
	 * again later. Our own leave cannot be under way: the I/O thread stops first. */
	if (!set_lock(port->region_fd, 0, F_WRLCK))
		return false;
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
	return false;
}

bool share_switch_reserve_transmit_ring(struct share_port *port, unsigned index)
{
	struct share_peer *peer = &port->peers[index];
	if (peer->transmit_reserved)
		return true;
	uint64_t now = share_now_ns();
	if (now < peer->reserve_retry_ns) {
		port->counters.switch_dropped_no_space++;
		return false;
	}
	off_t offset = (off_t)((const uint8_t *)port->region->rings[port->port][index] -
			       (const uint8_t *)port->region);
	int error = posix_fallocate(port->region_fd, offset, SHARE_RING_BYTES);
	if (error == 0) {
		peer->transmit_reserved = true;
		return true;
	}
	peer->reserve_retry_ns = now + LIVENESS_CHECK_INTERVAL_NS;
	if (port->counters.switch_dropped_no_space++ == 0)
		fprintf(stderr,
			"ringvisor: %s: no room in %s for the %u KiB ring to port %u (%s): "
			"frames to it are dropped\n",
			port->display_name, port->directory, SHARE_RING_BYTES >> 10, index,
			strerror(error));
	return false;
}

int share_switch_peer_wakeup_fd(struct share_port *port, unsigned index)
{
	struct share_peer *peer = &port->peers[index];
	uint32_t generation =
		__atomic_load_n(&port->region->ports[index].generation, __ATOMIC_ACQUIRE);
	if (peer->wakeup_fd >= 0 && peer->wakeup_generation == generation)
		return peer->wakeup_fd;
	if (peer->wakeup_fd >= 0)
		close(peer->wakeup_fd);
	peer->wakeup_fd = -1;
	uint64_t now = share_now_ns();
	if (now < peer->wakeup_open_retry_ns)
		return -1;
	char path[SHARE_FILE_NAME_MAX];
	wakeup_path(port->switch_name, index, path);
	peer->wakeup_fd =
		openat(port->directory_fd, path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
	peer->wakeup_generation = generation;
	struct stat status;
	if (peer->wakeup_fd >= 0 &&
	    (fstat(peer->wakeup_fd, &status) < 0 || !S_ISFIFO(status.st_mode))) {
		close(peer->wakeup_fd);
		peer->wakeup_fd = -1;
	}
	if (peer->wakeup_fd < 0) { /* ENXIO: nobody reads it; ENOENT: no FIFO at all */
		peer->wakeup_open_retry_ns = now + LIVENESS_CHECK_INTERVAL_NS;
		share_switch_reclaim_if_dead(port, index);
	}
	return peer->wakeup_fd;
}

void share_switch_peer_wakeup_failed(struct share_port *port, unsigned index)
{
	close(port->peers[index].wakeup_fd);
	port->peers[index].wakeup_fd = -1;
	share_switch_reclaim_if_dead(port, index);
}
