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

#include "helper.h"

static int efd = -1; /* error pipe of the child */

static void must(int rc, const char *step, const char *path)
{
	if (rc != 0)
		fail_child(efd, step, path);
}

static const char *join(char *buf, const char *root, const char *rel)
{
	snprintf(buf, PATH_MAX, "%s%s", root, rel);
	return buf;
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

static void bind_user_mount(const char *root, const struct mount_spec *m)
{
	char dest[PATH_MAX];
	struct stat src_st, dst_st;
	join(dest, root, m->target);
	must(stat(m->source, &src_st), "stat(mount source)", m->source);
	if (stat(dest, &dst_st) != 0) {
		if (!is_private_path(m->target)) {
			errno = ENOENT;
			fail_child(efd, "mount target (must exist on the host or lie under /tmp, /run or /dev)",
				   m->target);
		}
		if (S_ISDIR(src_st.st_mode)) {
			must(mkdir_p(dest, 0755), "mkdir(mount target)", m->target);
		} else {
			char parent[PATH_MAX];
			snprintf(parent, sizeof(parent), "%s", dest);
			*strrchr(parent, '/') = '\0';
			must(mkdir_p(parent, 0755), "mkdir(mount target)", m->target);
			int fd = open(dest, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
			if (fd < 0)
				fail_child(efd, "create(mount target)", m->target);
			close(fd);
		}
	}
	must(mount(m->source, dest, NULL, MS_BIND | MS_REC, NULL), "bind mount", m->target);
	if (m->readonly)
		must(mount(NULL, dest, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL),
		     "remount read-only", m->target);
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
	char path[PATH_MAX];

	/* The cgroup namespace is made only now that the parent has moved us into
	 * the container's cgroup, so that cgroup becomes its root. */
	must(unshare(CLONE_NEWCGROUP), "unshare(cgroup)", "");
	must(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), "make mounts private", "/");
	if (cfg->hostname)
		must(sethostname(cfg->hostname, strlen(cfg->hostname)), "sethostname", cfg->hostname);

	/* Image-less mode: the host's root, read-only, recursively. */
	must(mount("/", root, NULL, MS_BIND | MS_REC, NULL), "bind host root", root);
	make_tree_readonly(root);
	must(mount("tmpfs", join(path, root, "/tmp"), "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777"),
	     "mount tmpfs", "/tmp");
	must(mount("tmpfs", join(path, root, "/run"), "tmpfs", MS_NOSUID | MS_NODEV, "mode=755"),
	     "mount tmpfs", "/run");
	must(mount("tmpfs", join(path, root, "/dev"), "tmpfs", MS_NOSUID, "mode=755"),
	     "mount tmpfs", "/dev");
	for (size_t i = 0; i < cfg->n_mounts; i++)
		bind_user_mount(root, &cfg->mounts[i]);

	must(chdir(root), "chdir", root);
	must((int)syscall(SYS_pivot_root, ".", "."), "pivot_root", root);
	must(umount2(".", MNT_DETACH), "detach old root", "/");
	must(chdir("/"), "chdir", "/");

	must(mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL), "mount proc", "/proc");
	make_devices();
	if (cfg->network_none)
		loopback_up();

	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0)
		fail_child(efd, "open", "/dev/null");
	for (int fd = 0; fd < 3; fd++)
		must(dup2(devnull, fd) < 0, "dup2", "/dev/null");
	close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);

	char *const argv[] = { "vigil-init", NULL };
	char *const envp[] = { NULL };
	syscall(SYS_execveat, init_fd, "", argv, envp, AT_EMPTY_PATH);
	fail_child(efd, "exec vigil-init", cfg->init_path);
}

int helper_create(const struct helper_config *cfg)
{
	if (!cfg->init_path || !cfg->rootfs_mountpoint)
		return report_failure("config: init and rootfs_mountpoint are required", EINVAL, "");
	if (cfg->rootfs && strcmp(cfg->rootfs, "host") != 0)
		return report_failure("config: only rootfs=host is supported", EINVAL, cfg->rootfs);

	int init_fd = open(cfg->init_path, O_RDONLY | O_CLOEXEC);
	if (init_fd < 0)
		return report_failure("open vigil-init", errno, cfg->init_path);
	int go[2], err[2];
	if (pipe2(go, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0)
		return report_failure("pipe", errno, "");

	unsigned long flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC;
	if (cfg->network_none)
		flags |= CLONE_NEWNET;
	pid_t pid = (pid_t)syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
	if (pid < 0)
		return report_failure("clone(namespaces)", errno, "");
	if (pid == 0) {
		close(go[1]);
		close(err[0]);
		efd = err[1];
		char byte;
		if (read(go[0], &byte, 1) != 1)
			_exit(125); /* the helper died before we were placed */
		close(go[0]);
		container_init_child(cfg, init_fd);
	}
	close(go[0]);
	close(err[1]);

	/* Place the child in its cgroups before it does anything else, so every
	 * process of the container is born inside them. */
	for (size_t i = 0; i < cfg->n_cgroups; i++) {
		char procs[PATH_MAX], buf[32];
		snprintf(procs, sizeof(procs), "%s/cgroup.procs", cfg->cgroups[i]);
		int fd = open(procs, O_WRONLY | O_CLOEXEC);
		int len = snprintf(buf, sizeof(buf), "%d", pid);
		if (fd < 0 || write(fd, buf, (size_t)len) != len) {
			int saved = errno;
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			return report_failure("join cgroup", saved, procs);
		}
		close(fd);
	}
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
