/* Giving up what the launcher no longer needs (see privileges.h). */
#include "sandbox/privileges.h"

#include <errno.h>
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

void privileges_drop(void)
{
	drop_bounding_set();
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
#endif
}
