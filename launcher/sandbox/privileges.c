/* Giving up what the launcher no longer needs (see privileges.h). */
#include "sandbox/privileges.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fail.h"

void privileges_close_inherited(void)
{
	if (close_range(3, ~0u, 0) < 0)
		fail_errno("cannot close the descriptors the launcher was started with");
}

/* The bounding set limits what an exec could ever grant; dropping from it takes CAP_SETPCAP,
 * which only a privileged launcher has (an unprivileged one has nothing to drop, and with
 * no_new_privs nothing to gain). Numbers past the kernel's last capability give EINVAL. */
static void drop_bounding_set(void)
{
	for (unsigned long capability = 0; capability < 64; capability++) {
		if (prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) == 0)
			continue;
		if (errno == EINVAL || errno == EPERM)
			return;
		fail_errno("cannot drop capability %lu from the bounding set", capability);
	}
}

void privileges_act_as(const struct privileges_user *user)
{
	if (!user->change)
		return;
	if (setegid(user->group_id) < 0 || seteuid(user->user_id) < 0)
		fail_errno("--user: cannot act as user %u, group %u", (unsigned)user->user_id,
			   (unsigned)user->group_id);
}

void privileges_act_as_launcher(void)
{
	uid_t real_user, effective_user, saved_user;
	gid_t real_group, effective_group, saved_group;
	if (getresuid(&real_user, &effective_user, &saved_user) < 0 ||
	    getresgid(&real_group, &effective_group, &saved_group) < 0 ||
	    seteuid(real_user) < 0 || setegid(real_group) < 0)
		fail_errno("--user: cannot act as the launcher's own user again");
}

/* The user and group for good, and no supplementary groups: root's would otherwise stay. Going
 * from uid 0 to another clears the permitted and effective capabilities, too. */
static void become(const struct privileges_user *user)
{
	if (setgroups(0, NULL) < 0)
		fail_errno("--user: cannot drop the supplementary groups");
	if (setresgid(user->group_id, user->group_id, user->group_id) < 0)
		fail_errno("--user: cannot become group %u", (unsigned)user->group_id);
	if (setresuid(user->user_id, user->user_id, user->user_id) < 0)
		fail_errno("--user: cannot become user %u", (unsigned)user->user_id);
}

void privileges_drop(const struct privileges_user *user)
{
	drop_bounding_set();
	if (user->change)
		become(user);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		fail_errno("cannot clear the ambient capabilities");
	struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct none[_LINUX_CAPABILITY_U32S_3] = { 0 };
	if (syscall(SYS_capset, &header, none) < 0)
		fail_errno("cannot drop the launcher's capabilities");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		fail_errno("cannot set no_new_privs");
	struct rlimit no_core = { 0, 0 };
	if (setrlimit(RLIMIT_CORE, &no_core) < 0)
		fail_errno("cannot turn core dumps off");
	struct rlimit files = { PRIVILEGES_OPEN_FILES_MAX, PRIVILEGES_OPEN_FILES_MAX }, now;
	if (getrlimit(RLIMIT_NOFILE, &now) == 0 && now.rlim_max < files.rlim_max)
		files = now; /* lower already: keep it */
	if (setrlimit(RLIMIT_NOFILE, &files) < 0)
		fail_errno("cannot limit the launcher's open files");
	/* A file-size limit (ulimit -f) set by whoever started us: a capture or the metrics
	 * stream that reaches it fails with EFBIG, which stops that output with a message, rather
	 * than SIGXFSZ killing the launcher and its guest. */
	signal(SIGXFSZ, SIG_IGN);
#ifndef __SANITIZE_ADDRESS__
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		fail_errno("cannot make the launcher undumpable");
#else
	/* A change of user made us undumpable; LeakSanitizer needs the opposite. */
	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
		fail_errno("cannot keep the sanitized launcher dumpable");
#endif
}
