#ifndef VIGIL_CGROUP_JOIN_H
#define VIGIL_CGROUP_JOIN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "helper.h"

/* The container's cgroups, opened on the host before any namespace is entered. */
struct cgroup_join {
	int v1_tasks[16]; /* `tasks` of each v1 hierarchy */
	size_t n_v1;
	int v2_dir;       /* the v2 cgroup directory, or -1 */
	int v2_procs;     /* its cgroup.procs, for kernels without CLONE_INTO_CGROUP */
	bool v2_born;     /* set by cgroup_clone: the child was born in the v2 cgroup */
};

/* Open every cgroup of cfg; on failure, the path that failed is in `failed` (errno set). */
int cgroup_join_open(const struct helper_config *cfg, struct cgroup_join *join, char *failed, size_t failed_len);
/* clone(flags), the child born in the v2 cgroup where the kernel can; -1 with errno on failure. */
pid_t cgroup_clone(struct cgroup_join *join, unsigned long long flags);
/* In that child, still single-threaded and before anything else: join the rest. */
int cgroup_join_rest(const struct cgroup_join *join);

#endif
