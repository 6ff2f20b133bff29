/*
 * vigil-helper: the only code that creates containers and starts processes in
 * them. It is a separate single-threaded C program because a multi-threaded
 * runtime (Node) cannot setns() into a mount namespace.
 *
 * Protocol: the configuration arrives as NUL-separated "key\0value\0" pairs on
 * a file descriptor (stdin by default); repeated keys (arg, env, cgroup, mount_*)
 * keep their order. The result is one JSON line on stdout:
 *   {"ok":true,"pid":H,"startTime":T,"runningNs":N}
 *   {"ok":false,"step":"setns(mnt)","errno":"EPERM","path":"/proc/1/ns/mnt","message":"..."}
 * and the exit status follows the table in helper_exit_code().
 */
#ifndef VIGIL_HELPER_H
#define VIGIL_HELPER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define MAX_LIST 256

/*
 * A mount: a bind of a host path (fstype NULL), or, in an OCI bundle's own
 * layout, a filesystem (proc, sysfs, tmpfs, devpts, mqueue, cgroup2) with
 * its flags and data. `flags` are MS_* applied after a bind by a remount;
 * `propagation` (MS_PRIVATE, MS_SLAVE, ... with MS_REC) is set last.
 */
struct mount_spec {
	const char *source;
	const char *target;
	bool readonly;
	const char *fstype;
	unsigned long flags;
	unsigned long propagation;
	const char *data;
	bool flat;              /* a bind without its submounts ("bind", not "rbind") */
};

struct rlimit_spec {
	int resource;
	unsigned long long soft, hard; /* RLIM_INFINITY for "unlimited" */
};

/* What a process (or vigil-init) may do: applied last, just before exec. */
struct security_config {
	unsigned long long caps; /* bit N: capability N stays (bounding, effective, permitted) */
	bool no_new_privs;
};

/* Docker's default set: CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID
 * SETPCAP NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP. */
#define DEFAULT_CAPS 0xa80425fbULL

struct helper_config {
	/* create */
	const char *hostname;
	const char *rootfs;      /* "host" or a directory */
	const char *rootfs_mountpoint; /* empty directory the new root is assembled on */
	const char *init_path;
	bool network_none;
	bool privileged;          /* no masked or read-only /proc paths, writable /sys */
	struct mount_spec mounts[MAX_LIST];
	size_t n_mounts;
	/* An OCI bundle's layout: only the mounts given (no default /proc, /sys,
	 * /dev, /tmp, /run), the masked and read-only paths given, and the
	 * namespaces it asks for. */
	bool explicit_layout;
	bool rootfs_readonly;
	bool new_ipc, new_uts, new_cgroupns; /* default true */
	/* A user namespace: uid_map and gid_map lines ("inside outside count\n"...);
	 * NULL: none. */
	const char *uid_map, *gid_map;
	const char *masked[64];
	size_t n_masked;
	const char *readonly_paths[64];
	size_t n_readonly;
	/* exec */
	pid_t init_pid;
	unsigned long long init_start; /* /proc/PID/stat starttime, guards pid reuse */
	const char *cwd;
	const char *log_path;
	const char *user;        /* "uid[:gid]" */
	const char *args[MAX_LIST];
	size_t n_args;
	const char *envs[MAX_LIST];
	size_t n_envs;
	struct rlimit_spec rlimits[16];
	size_t n_rlimits;
	gid_t groups[64];        /* supplementary groups */
	size_t n_groups;
	int umask;               /* -1: inherit */
	bool set_nice;           /* give the process this nice value (the monitor runs raised) */
	int nice;
	bool attach;             /* wait for the process, stdio from stdio_fds */
	int stdio_fds[3];        /* helper fds that become the process's 0, 1, 2 */
	/* both */
	const char *cgroups[16]; /* cgroup directories to join (v2 and v1 ones) */
	size_t n_cgroups;
	struct security_config security;
};

/* A failure before exec, carried from a child process to the helper. */
struct step_error {
	char step[96]; /* long enough for the longest step name in create.c */
	int err;
	char path[256];
};

int parse_config(int fd, struct helper_config *cfg);

/* Record a failed step; in a child, write it to the error pipe and _exit. */
void fail_child(int error_fd, const char *step, const char *path) __attribute__((noreturn));
int report_error(const struct step_error *e);
int report_failure(const char *step, int err, const char *path);
/* Read a step_error from fd; 0 on EOF (the exec happened), 1 if one was read. */
int read_step_error(int fd, struct step_error *e);

unsigned long long proc_start_time(pid_t pid);
unsigned long long monotonic_ns(void);
int write_all(int fd, const char *buf, size_t len);

/* security.c: limits and privileges, in the order the kernel needs them. */
int parse_rlimit(const char *spec, struct rlimit_spec *out);
void apply_rlimits(const struct helper_config *cfg, int err_fd);
void drop_bounding_caps(const struct security_config *sec, int err_fd);
void finish_privileges(const struct security_config *sec, int err_fd);

/* Every descriptor from lowfd up becomes close-on-exec (any kernel). */
void cloexec_from(int lowfd);
int helper_create(const struct helper_config *cfg);
int helper_exec(const struct helper_config *cfg);

#endif
