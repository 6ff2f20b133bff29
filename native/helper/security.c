/*
 * Limits and privileges of a process the helper starts (and of vigil-init),
 * in the order the kernel needs them:
 *
 *   rlimits         first: raising a hard limit needs CAP_SYS_RESOURCE
 *   bounding set    before the user switch: PR_CAPBSET_DROP needs CAP_SETPCAP
 *   (user switch)   the caller's: setgroups, setgid, setuid
 *   capset          effective = permitted = the kept set for root, nothing for
 *                   other users (as Docker: a non-root user starts with none);
 *                   inheritable and ambient empty
 *   no_new_privs    last: set-uid binaries and file capabilities grant nothing
 *
 * For root the kernel recomputes the permitted set at exec as the bounding
 * set, so the bounding drop is what holds after exec.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "helper.h"

static const struct { const char *name; int resource; } rlimit_names[] = {
	{ "as", RLIMIT_AS }, { "core", RLIMIT_CORE }, { "cpu", RLIMIT_CPU },
	{ "data", RLIMIT_DATA }, { "fsize", RLIMIT_FSIZE }, { "locks", RLIMIT_LOCKS },
	{ "memlock", RLIMIT_MEMLOCK }, { "msgqueue", RLIMIT_MSGQUEUE }, { "nice", RLIMIT_NICE },
	{ "nofile", RLIMIT_NOFILE }, { "nproc", RLIMIT_NPROC }, { "rss", RLIMIT_RSS },
	{ "rtprio", RLIMIT_RTPRIO }, { "rttime", RLIMIT_RTTIME },
	{ "sigpending", RLIMIT_SIGPENDING }, { "stack", RLIMIT_STACK },
};

static int parse_limit(const char *s, unsigned long long *out)
{
	if (!strcmp(s, "unlimited")) {
		*out = RLIM_INFINITY;
		return 0;
	}
	char *end;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return (end == s || *end != '\0' || errno || s[0] == '-') ? -1 : 0;
}

/* "name:soft:hard", each limit a number or "unlimited". */
int parse_rlimit(const char *spec, struct rlimit_spec *out)
{
	char buf[96];
	snprintf(buf, sizeof(buf), "%s", spec);
	char *soft = strchr(buf, ':');
	char *hard = soft ? strchr(soft + 1, ':') : NULL;
	if (!soft || !hard)
		return -1;
	*soft++ = '\0';
	*hard++ = '\0';
	out->resource = -1;
	for (size_t i = 0; i < sizeof(rlimit_names) / sizeof(rlimit_names[0]); i++)
		if (!strcmp(buf, rlimit_names[i].name))
			out->resource = rlimit_names[i].resource;
	if (out->resource < 0 || parse_limit(soft, &out->soft) || parse_limit(hard, &out->hard))
		return -1;
	return out->soft <= out->hard ? 0 : -1;
}

void apply_rlimits(const struct helper_config *cfg, int err_fd)
{
	for (size_t i = 0; i < cfg->n_rlimits; i++) {
		struct rlimit rl = { .rlim_cur = cfg->rlimits[i].soft, .rlim_max = cfg->rlimits[i].hard };
		if (setrlimit(cfg->rlimits[i].resource, &rl) != 0) {
			char what[32];
			snprintf(what, sizeof(what), "resource %d", cfg->rlimits[i].resource);
			fail_child(err_fd, "setrlimit", what);
		}
	}
}

static int last_cap(void)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
	int last = CAP_LAST_CAP;
	if (f) {
		if (fscanf(f, "%d", &last) != 1)
			last = CAP_LAST_CAP;
		fclose(f);
	}
	return last;
}

void drop_bounding_caps(const struct security_config *sec, int err_fd)
{
	int last = last_cap();
	for (int cap = 0; cap <= last && cap < 64; cap++) {
		if (sec->caps & (1ULL << cap))
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) {
			char what[32];
			snprintf(what, sizeof(what), "capability %d", cap);
			fail_child(err_fd, "drop capability", what);
		}
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
		fail_child(err_fd, "clear ambient capabilities", "");
}

void finish_privileges(const struct security_config *sec, int err_fd)
{
	int last = last_cap();
	unsigned long long valid = last >= 63 ? ~0ULL : (1ULL << (last + 1)) - 1;
	struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct have[2];
	if (syscall(SYS_capget, &header, have) != 0)
		fail_child(err_fd, "capget", "");
	/* Never more than we hold: a helper run with fewer capabilities (a
	 * confined host) grants what it can. */
	unsigned long long held = ((unsigned long long)have[1].permitted << 32) | have[0].permitted;
	unsigned long long keep = getuid() == 0 ? sec->caps & valid & held : 0;
	struct __user_cap_data_struct data[2] = {
		{ .effective = (__u32)keep, .permitted = (__u32)keep, .inheritable = 0 },
		{ .effective = (__u32)(keep >> 32), .permitted = (__u32)(keep >> 32), .inheritable = 0 },
	};
	if (syscall(SYS_capset, &header, data) != 0)
		fail_child(err_fd, "capset", "");
	if (sec->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		fail_child(err_fd, "prctl(no_new_privs)", "");
}
