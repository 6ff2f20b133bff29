/*
 * Container creation: clone into new pid, mount, uts, ipc (and net)
 * namespaces, join the container's cgroups, assemble the root filesystem,
 * pivot into it and exec vigil-init as PID 1.
 *
 * The helper process itself never enters the container; its clone child
 * becomes PID 1 there. Any failure before exec is reported as a step_error over
 * a close-on-exec pipe, and the helper then kills the child so nothing is left
 * half-made (the mounts die with the mount namespace).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup_join.h"
#include "helper.h"

static int efd = -1; /* error pipe of the child */

static void must(int rc, const char *step, const char *path)
{
	if (rc != 0)
		fail_child(efd, step, path);
}

static int mkdir_p(const char *path, mode_t mode)
{
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, mode) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(tmp, mode) != 0 && errno != EEXIST)
		return -1;
	return 0;
}

/* Targets under the container's own tmpfs directories may be created. */
static int is_private_path(const char *target)
{
	static const char *const private_dirs[] = { "/tmp/", "/run/", "/dev/" };
	for (size_t i = 0; i < sizeof(private_dirs) / sizeof(private_dirs[0]); i++)
		if (!strncmp(target, private_dirs[i], strlen(private_dirs[i])))
			return 1;
	return 0;
}

/*
 * Bind a user mount, after pivot_root: the source was cloned on the host
 * (open_tree) into a detached tree, and the target is resolved inside the
 * container's root, so a symlink in a directory rootfs cannot lead outside it.
 */
static void bind_user_mount(const struct mount_spec *m, int source_fd, bool host_root)
{
	struct stat src_st, dst_st;
	must(fstat(source_fd, &src_st), "stat(mount source)", m->source);
	if (stat(m->target, &dst_st) != 0) {
		/* The host's root is read-only: creating a target there would fail (or,
		 * worse, write to the host); a directory rootfs is the container's own. */
		if (host_root && !is_private_path(m->target)) {
			errno = ENOENT;
			fail_child(efd, "mount target (must exist on the host or lie under /tmp, /run or /dev)",
				   m->target);
		}
		if (S_ISDIR(src_st.st_mode)) {
			must(mkdir_p(m->target, 0755), "mkdir(mount target)", m->target);
		} else {
			char parent[PATH_MAX];
			snprintf(parent, sizeof(parent), "%s", m->target);
			*strrchr(parent, '/') = '\0';
			if (parent[0])
				must(mkdir_p(parent, 0755), "mkdir(mount target)", m->target);
			int fd = open(m->target, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
			if (fd < 0)
				fail_child(efd, "create(mount target)", m->target);
			close(fd);
		}
	}
	must(move_mount(source_fd, "", AT_FDCWD, m->target, MOVE_MOUNT_F_EMPTY_PATH), "bind mount", m->target);
	if (m->readonly)
		must(mount(NULL, m->target, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL),
		     "remount read-only", m->target);
}

/* A mount point: present in the host root, made in a directory rootfs if missing. */
static void mount_point(const char *path, mode_t mode)
{
	if (mkdir(path, mode) != 0 && errno != EEXIST)
		fail_child(efd, "mkdir(mount point)", path);
}

/*
 * Docker's defaults: kernel interfaces a container has no business reading are
 * hidden (a file under /dev/null, a directory under an empty read-only tmpfs),
 * and those that change the whole host are read-only.
 */
static void restrict_kernel_interfaces(void)
{
	static const char *const masked[] = {
		"/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
		"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
		"/sys/firmware", "/sys/devices/virtual/powercap",
	};
	static const char *const readonly[] = {
		"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
	};
	struct stat st;
	for (size_t i = 0; i < sizeof(masked) / sizeof(masked[0]); i++) {
		if (stat(masked[i], &st) != 0)
			continue; /* this kernel has no such file */
		if (S_ISDIR(st.st_mode))
			must(mount("tmpfs", masked[i], "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0"),
			     "mask", masked[i]);
		else
			must(mount("/dev/null", masked[i], NULL, MS_BIND, NULL), "mask", masked[i]);
	}
	for (size_t i = 0; i < sizeof(readonly) / sizeof(readonly[0]); i++) {
		if (stat(readonly[i], &st) != 0)
			continue;
		must(mount(readonly[i], readonly[i], NULL, MS_BIND | MS_REC, NULL), "bind read-only", readonly[i]);
		must(mount(NULL, readonly[i], NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL),
		     "remount read-only", readonly[i]);
	}
}

static void make_tree_readonly(const char *root)
{
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };
	if (mount_setattr(AT_FDCWD, root, AT_RECURSIVE, &attr, sizeof(attr)) == 0)
		return;
	if (errno != ENOSYS)
		fail_child(efd, "mount_setattr(read-only)", root);
	/* Kernels before 5.12: only the top mount can be made read-only here. */
	must(mount(NULL, root, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL), "remount read-only", root);
}

static void make_devices(void)
{
	static const struct { const char *path; unsigned major, minor; } nodes[] = {
		{ "/dev/null", 1, 3 }, { "/dev/zero", 1, 5 }, { "/dev/full", 1, 7 },
		{ "/dev/random", 1, 8 }, { "/dev/urandom", 1, 9 }, { "/dev/tty", 5, 0 },
	};
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		must(mknod(nodes[i].path, S_IFCHR | 0666, makedev(nodes[i].major, nodes[i].minor)),
		     "mknod", nodes[i].path);
		must(chmod(nodes[i].path, 0666), "chmod", nodes[i].path);
	}
	must(mkdir("/dev/pts", 0755), "mkdir", "/dev/pts");
	must(mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
		   "newinstance,ptmxmode=0666,mode=0620"), "mount devpts", "/dev/pts");
	must(symlink("pts/ptmx", "/dev/ptmx"), "symlink", "/dev/ptmx");
	must(mkdir("/dev/shm", 01777), "mkdir", "/dev/shm");
	must(mount("shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777"), "mount tmpfs", "/dev/shm");
	must(symlink("/proc/self/fd", "/dev/fd"), "symlink", "/dev/fd");
	must(symlink("/proc/self/fd/0", "/dev/stdin"), "symlink", "/dev/stdin");
	must(symlink("/proc/self/fd/1", "/dev/stdout"), "symlink", "/dev/stdout");
	must(symlink("/proc/self/fd/2", "/dev/stderr"), "symlink", "/dev/stderr");
}

static void loopback_up(void)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		fail_child(efd, "socket(loopback)", "lo");
	struct ifreq ifr = { 0 };
	snprintf(ifr.ifr_name, IFNAMSIZ, "lo");
	must(ioctl(s, SIOCGIFFLAGS, &ifr) < 0, "ioctl(SIOCGIFFLAGS)", "lo");
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	must(ioctl(s, SIOCSIFFLAGS, &ifr) < 0, "ioctl(SIOCSIFFLAGS)", "lo");
	close(s);
}

/* Runs as PID 1 of the new pid namespace; never returns. */
static void container_init_child(const struct helper_config *cfg, int init_fd)
{
	const char *root = cfg->rootfs_mountpoint;
	bool host_root = !cfg->rootfs || !strcmp(cfg->rootfs, "host");
	int source_fds[MAX_LIST];

	/* The cgroup namespace is made only now that the parent has moved us into
	 * the container's cgroup, so that cgroup becomes its root. */
	must(unshare(CLONE_NEWCGROUP), "unshare(cgroup)", "");
	must(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), "make mounts private", "/");
	if (cfg->hostname)
		must(sethostname(cfg->hostname, strlen(cfg->hostname)), "sethostname", cfg->hostname);

	/* Mount sources are host paths: cloned now, attached once inside. */
	for (size_t i = 0; i < cfg->n_mounts; i++) {
		source_fds[i] = open_tree(AT_FDCWD, cfg->mounts[i].source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
		if (source_fds[i] < 0)
			fail_child(efd, "open_tree(mount source)", cfg->mounts[i].source);
	}
	if (host_root) {
		/* Image-less mode: the host's root, read-only, recursively. */
		must(mount("/", root, NULL, MS_BIND | MS_REC, NULL), "bind host root", root);
		make_tree_readonly(root);
	} else {
		/* A directory rootfs is the container's own and stays writable, as runc's default. */
		must(mount(cfg->rootfs, root, NULL, MS_BIND | MS_REC, NULL), "bind rootfs", cfg->rootfs);
	}
	must(chdir(root), "chdir", root);
	must((int)syscall(SYS_pivot_root, ".", "."), "pivot_root", root);
	must(umount2(".", MNT_DETACH), "detach old root", "/");
	must(chdir("/"), "chdir", "/");

	/* From here every path is inside the container. */
	unsigned long sys_ro = cfg->privileged ? 0 : MS_RDONLY;
	mount_point("/proc", 0555);
	must(mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL), "mount proc", "/proc");
	mount_point("/sys", 0555);
	must(mount("sysfs", "/sys", "sysfs", sys_ro | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL), "mount sysfs", "/sys");
	/* In the cgroup namespace this shows the container's own cgroup as the root. */
	must(mount("cgroup2", "/sys/fs/cgroup", "cgroup2", sys_ro | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL),
	     "mount cgroup2", "/sys/fs/cgroup");
	mount_point("/tmp", 01777);
	must(mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777"), "mount tmpfs", "/tmp");
	mount_point("/run", 0755);
	must(mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=755"), "mount tmpfs", "/run");
	mount_point("/dev", 0755);
	must(mount("tmpfs", "/dev", "tmpfs", MS_NOSUID, "mode=755"), "mount tmpfs", "/dev");
	make_devices();
	for (size_t i = 0; i < cfg->n_mounts; i++) {
		bind_user_mount(&cfg->mounts[i], source_fds[i], host_root);
		close(source_fds[i]);
	}
	if (!cfg->privileged)
		restrict_kernel_interfaces();
	if (cfg->network_none)
		loopback_up();

	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0)
		fail_child(efd, "open", "/dev/null");
	for (int fd = 0; fd < 3; fd++)
		must(dup2(devnull, fd) < 0, "dup2", "/dev/null");
	cloexec_from(3);

	/* vigil-init keeps the container's set (it signals processes of any user). */
	drop_bounding_caps(&cfg->security, efd);
	finish_privileges(&cfg->security, efd);

	char *const argv[] = { "vigil-init", NULL };
	char *const envp[] = { NULL };
	syscall(SYS_execveat, init_fd, "", argv, envp, AT_EMPTY_PATH);
	fail_child(efd, "exec vigil-init", cfg->init_path);
}

int helper_create(const struct helper_config *cfg)
{
	if (!cfg->init_path || !cfg->rootfs_mountpoint)
		return report_failure("config: init and rootfs_mountpoint are required", EINVAL, "");

	int init_fd = open(cfg->init_path, O_RDONLY | O_CLOEXEC);
	if (init_fd < 0)
		return report_failure("open vigil-init", errno, cfg->init_path);
	int go[2], err[2];
	if (pipe2(go, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0)
		return report_failure("pipe", errno, "");

	unsigned long flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC;
	if (cfg->network_none)
		flags |= CLONE_NEWNET;
	struct cgroup_join join;
	char failed[PATH_MAX];
	if (cgroup_join_open(cfg, &join, failed, sizeof(failed)) != 0)
		return report_failure("open cgroup", errno, failed);
	pid_t pid = cgroup_clone(&join, flags);
	if (pid < 0)
		return report_failure("clone(namespaces)", errno, "");
	if (pid == 0) {
		close(go[1]);
		close(err[0]);
		efd = err[1];
		/* Into the cgroups before anything else, so every process of the
		 * container is born inside them. */
		if (cgroup_join_rest(&join) != 0)
			fail_child(efd, "join cgroup", cfg->cgroups[0]);
		char byte;
		if (read(go[0], &byte, 1) != 1)
			_exit(125); /* the helper died before we were placed */
		close(go[0]);
		container_init_child(cfg, init_fd);
	}
	close(go[0]);
	close(err[1]);

	if (write(go[1], "g", 1) != 1) {
		kill(pid, SIGKILL);
		return report_failure("sync child", errno, "");
	}
	close(go[1]);

	struct step_error e;
	if (read_step_error(err[0], &e)) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return report_error(&e);
	}
	/* The pipe also closes when the child is killed (say, by an `rm -f` racing
	 * this start): reap it here, so no zombie of ours keeps its cgroups busy. */
	if (waitpid(pid, NULL, WNOHANG) == pid)
		return report_failure("container init died while starting", ECHILD, cfg->init_path);
	printf("{\"ok\":true,\"pid\":%d,\"startTime\":%llu,\"runningNs\":%llu}\n", pid,
	       proc_start_time(pid), monotonic_ns());
	return 0;
}
