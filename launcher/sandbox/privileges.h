/*
 * What the launcher gives up, and when. It needs root's powers only to build its world: open
 * /dev/kvm, create or open TAPs and attach them to bridges, make the switch directory. Once the
 * VM and every NIC exist, a flaw anywhere in the launcher (the virtqueue parser, a backend, the
 * profiler) should find nothing left to abuse, as Firecracker's jailer and Solo5's tenders
 * arrange:
 *
 *   privileges_close_inherited()  first thing in main(): every descriptor but 0, 1 and 2 that
 *                                 the launcher was started with is closed (close_range), so a
 *                                 descriptor leaked by whoever started it is not one more way
 *                                 out;
 *   privileges_drop()             once everything is open, before any other thread exists
 *                                 (capabilities and no_new_privs are per thread, inherited by
 *                                 the threads made later): every capability gone, from the
 *                                 effective, permitted, inheritable, ambient and bounding sets;
 *                                 no_new_privs, so that none can come back through an exec;
 *                                 no core dumps (RLIMIT_CORE 0) and not dumpable, so that
 *                                 neither a crash nor a ptrace by another process of the same
 *                                 user can read guest memory through us; at most
 *                                 PRIVILEGES_OPEN_FILES_MAX descriptors (RLIMIT_NOFILE), and a
 *                                 file-size limit ends a capture with EFBIG, not the launcher
 *                                 with SIGXFSZ.
 *
 * What stays: the uid, unless --user names another. A launcher started as root is still uid 0
 * without any capability: it can still write files root owns (docs/security.md says so). With
 * --user it becomes that user and group, with no supplementary groups, as the capabilities go;
 * before that, privileges_act_as() lets start-up make what must belong to that user (a
 * switch's directory and files, which later launchers of the user join) as that user. The
 * sanitized build the tests run stays dumpable, because LeakSanitizer's report at exit ptraces
 * the process.
 */
#ifndef RINGVISOR_SANDBOX_PRIVILEGES_H
#define RINGVISOR_SANDBOX_PRIVILEGES_H

/* What a running launcher may have open: at most 4 NICs, each with a switch's 16 wakeup FIFOs
 * and a capture, KVM's, the I/O thread's and the outputs' descriptors come to about 100; the
 * sanitizers' runtime opens a few more at exit. */
#define PRIVILEGES_OPEN_FILES_MAX 256

#include <stdbool.h>
#include <sys/types.h>

/* Who the launcher becomes: change false keeps the user it was started as. */
struct privileges_user {
	bool change;
	uid_t user_id;
	gid_t group_id;
};

void privileges_close_inherited(void);
void privileges_drop(const struct privileges_user *user);

/* For a stretch of start-up: files are made, and access is checked, as `user` (if it changes),
 * then as the launcher again (privileges_act_as_launcher). */
void privileges_act_as(const struct privileges_user *user);
void privileges_act_as_launcher(void);

#endif
