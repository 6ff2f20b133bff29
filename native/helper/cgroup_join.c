/*
 * Joining a container's cgroups without paying for a global lock.
 *
 * Writing a pid to cgroup.procs moves a whole thread group, for which the
 * kernel takes cgroup_threadgroup_rwsem for writing; after an idle spell that
 * waits for an RCU grace period (measured here: 7-20 ms per start, the largest
 * term of a restart). Two moves avoid it:
 *   - the v2 hierarchy: the process is born there with clone3(CLONE_INTO_CGROUP);
 *   - v1 hierarchies: the new, still single-threaded process writes "0" (itself,
 *     one thread) to each hierarchy's `tasks` file, which 6.x kernels do
 *     without the lock.
 * Kernels without clone3 (before 5.3) or CLONE_INTO_CGROUP (before 5.7) fall
 * back to the child writing to cgroup.procs: correct, only slower.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroup_join.h"

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

int cgroup_join_open(const struct helper_config *cfg, struct cgroup_join *join, char *failed, size_t failed_len)
{
	join->n_v1 = 0;
	join->v2_dir = -1;
	join->v2_procs = -1;
	char path[PATH_MAX];
	for (size_t i = 0; i < cfg->n_cgroups; i++) {
		snprintf(path, sizeof(path), "%s/tasks", cfg->cgroups[i]);
		int fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd >= 0) {
			join->v1_tasks[join->n_v1++] = fd;
			continue;
		}
		if (errno != ENOENT || join->v2_dir >= 0)
			goto fail;
		/* No tasks file: the v2 hierarchy (there is at most one). */
		snprintf(path, sizeof(path), "%s/cgroup.procs", cfg->cgroups[i]);
		join->v2_procs = open(path, O_WRONLY | O_CLOEXEC);
		if (join->v2_procs < 0)
			goto fail;
		join->v2_dir = open(cfg->cgroups[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (join->v2_dir < 0) {
			snprintf(path, sizeof(path), "%s", cfg->cgroups[i]);
			goto fail;
		}
	}
	return 0;
fail:
	snprintf(failed, failed_len, "%s", path);
	return -1;
}

pid_t cgroup_clone(struct cgroup_join *join, unsigned long long flags)
{
	join->v2_born = false;
	if (join->v2_dir >= 0) {
		struct clone_args args;
		memset(&args, 0, sizeof(args));
		args.flags = flags | CLONE_INTO_CGROUP;
		args.exit_signal = SIGCHLD;
		args.cgroup = (unsigned long long)join->v2_dir;
		long pid = syscall(SYS_clone3, &args, sizeof(args));
		if (pid >= 0) {
			join->v2_born = true; /* in the parent and in the child */
			return (pid_t)pid;
		}
		if (errno != ENOSYS && errno != E2BIG && errno != EINVAL)
			return -1;
	}
	/* No v2 cgroup, or an older kernel: the child joins by itself. */
	return (pid_t)syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
}

int cgroup_join_rest(const struct cgroup_join *join)
{
	for (size_t i = 0; i < join->n_v1; i++)
		if (write(join->v1_tasks[i], "0", 1) != 1)
			return -1;
	if (join->v2_dir >= 0 && !join->v2_born && write(join->v2_procs, "0", 1) != 1)
		return -1;
	return 0;
}
