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
#include <grp.h>
#include <limits.h>
#include <stdbool.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup_join.h"
#include "helper.h"

static int efd = -1; /* error pipe of the child */
/* In a user namespace no device node can be made: the host's are bound instead (opened before pivot_root). */
static int host_device_fds[6] = { -1, -1, -1, -1, -1, -1 };

static void must(int rc, const char *step, const char *path)
{
	if (rc != 0)
		fail_child(efd, step, path);
}

/*
 * A bind remount sets every flag at once: keep those the mount has (in a user
 * namespace nosuid, nodev, noexec and atime flags inherited from the host are
 * locked, and dropping one fails with EPERM).
 */
static int remount_bind(const char *target, unsigned long flags)
{
	struct statvfs sv;
	if (statvfs(target, &sv) == 0) {
		if (sv.f_flag & ST_NOSUID)
			flags |= MS_NOSUID;
		if (sv.f_flag & ST_NODEV)
			flags |= MS_NODEV;
		if (sv.f_flag & ST_NOEXEC)
			flags |= MS_NOEXEC;
		if (sv.f_flag & ST_NOATIME)
			flags |= MS_NOATIME;
		if (sv.f_flag & ST_NODIRATIME)
			flags |= MS_NODIRATIME;
		if (sv.f_flag & ST_RELATIME)
			flags |= MS_RELATIME;
	}
	return mount(NULL, target, NULL, MS_BIND | MS_REMOUNT | flags, NULL);
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
 * Where vigil's own layout mounts for the container itself: the spec check's
 * rule (src/launcher/mount-targets.ts), applied here to the path a target
 * really leads to, since a symlink on the way (a host symlink in image-less
 * mode, one in a directory rootfs) is invisible to a check of the string.
 */
static bool vigil_owned_path(const char *p)
{
	static const char *const trees[] = {
		"/proc", "/sys", "/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom",
		"/dev/tty", "/dev/ptmx", "/dev/pts", "/dev/fd", "/dev/stdin", "/dev/stdout", "/dev/stderr",
	};
	if (!strcmp(p, "/") || !strcmp(p, "/dev"))
		return true;
	for (size_t i = 0; i < sizeof(trees) / sizeof(trees[0]); i++) {
		size_t n = strlen(trees[i]);
		if (!strncmp(p, trees[i], n) && (p[n] == '\0' || p[n] == '/'))
			return true;
	}
	return false;
}

/*
 * Bind a user mount, after pivot_root: the source was cloned on the host
 * (open_tree) into a detached tree, and the target is resolved inside the
 * container's root, so a symlink in a directory rootfs cannot lead outside it.
 */
static void bind_user_mount(const struct mount_spec *m, int source_fd, bool host_root, bool own_layout)
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
	if (own_layout) {
		char real[PATH_MAX];
		if (!realpath(m->target, real))
			fail_child(efd, "resolve(mount target)", m->target);
		if (vigil_owned_path(real)) {
			errno = EPERM;
			fail_child(efd, "mount target (leads into /proc, /sys or the /dev that vigil mounts itself)", m->target);
		}
	}
	must(move_mount(source_fd, "", AT_FDCWD, m->target, MOVE_MOUNT_F_EMPTY_PATH), "bind mount", m->target);
	unsigned long flags = m->flags | (m->readonly ? MS_RDONLY : 0);
	if (flags)
		must(remount_bind(m->target, flags),
		     "remount bind with its options", m->target);
	if (m->propagation)
		must(mount(NULL, m->target, NULL, m->propagation, NULL), "set mount propagation", m->target);
}

/* A filesystem mount of an OCI bundle (proc, sysfs, tmpfs, devpts, mqueue, cgroup2), inside the root. */
static void filesystem_mount(const struct mount_spec *m)
{
	must(mkdir_p(m->target, 0755), "mkdir(mount target)", m->target);
	must(mount(m->source ? m->source : m->fstype, m->target, m->fstype, m->flags, m->data),
	     "mount", m->target);
	if (m->propagation)
		must(mount(NULL, m->target, NULL, m->propagation, NULL), "set mount propagation", m->target);
}

/*
 * A proc or sysfs made before pivot_root, detached (fsopen/fsmount), to be
 * attached inside: in a user namespace the kernel creates one only while a
 * fully visible instance is in the mount namespace (the host's, until the old
 * root is detached). `data` is "key=value,flag,..." as mount(2) takes it.
 */
static int premount(const char *fstype, const char *source, unsigned long ms_flags, const char *data, const char *target)
{
	int fs = fsopen(fstype, FSOPEN_CLOEXEC);
	if (fs < 0)
		fail_child(efd, "fsopen", target);
	if (fsconfig(fs, FSCONFIG_SET_STRING, "source", source ? source : fstype, 0) != 0)
		fail_child(efd, "fsconfig(source)", target);
	char opts[1024];
	snprintf(opts, sizeof(opts), "%s", data ? data : "");
	for (char *save = NULL, *opt = strtok_r(opts, ",", &save); opt; opt = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(opt, '=');
		if (eq)
			*eq = '\0';
		if (fsconfig(fs, eq ? FSCONFIG_SET_STRING : FSCONFIG_SET_FLAG, opt, eq ? eq + 1 : NULL, 0) != 0)
			fail_child(efd, "fsconfig(option)", target);
	}
	if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) != 0)
		fail_child(efd, "mount (in a user namespace)", target);
	unsigned int attr = 0;
	if (ms_flags & MS_RDONLY)
		attr |= MOUNT_ATTR_RDONLY;
	if (ms_flags & MS_NOSUID)
		attr |= MOUNT_ATTR_NOSUID;
	if (ms_flags & MS_NODEV)
		attr |= MOUNT_ATTR_NODEV;
	if (ms_flags & MS_NOEXEC)
		attr |= MOUNT_ATTR_NOEXEC;
	if (ms_flags & MS_NODIRATIME)
		attr |= MOUNT_ATTR_NODIRATIME;
	if (ms_flags & MS_NOATIME)
		attr |= MOUNT_ATTR_NOATIME;
	else if (ms_flags & MS_STRICTATIME)
		attr |= MOUNT_ATTR_STRICTATIME;
	int mnt = fsmount(fs, FSMOUNT_CLOEXEC, attr);
	if (mnt < 0)
		fail_child(efd, "fsmount", target);
	close(fs);
	return mnt;
}

/* Attach a premounted filesystem at target (made if missing), inside the root. */
static void attach_premounted(int mnt, const char *target, unsigned long propagation)
{
	must(mkdir_p(target, 0755), "mkdir(mount target)", target);
	must(move_mount(mnt, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH), "mount", target);
	close(mnt);
	if (propagation)
		must(mount(NULL, target, NULL, propagation, NULL), "set mount propagation", target);
}

/* A mount point: present in the host root, made in a directory rootfs if missing. */
static void mount_point(const char *path, mode_t mode)
{
	if (mkdir(path, mode) != 0 && errno != EEXIST)
		fail_child(efd, "mkdir(mount point)", path);
}

/*
 * Kernel interfaces a container has no business with: a masked file lies
 * under /dev/null, a masked directory under an empty read-only tmpfs, and a
 * read-only path is bound onto itself read-only. Paths this kernel lacks are
 * skipped.
 */
static void restrict_paths(const char *const *masked, size_t n_masked, const char *const *readonly, size_t n_readonly,
			   unsigned long hardening)
{
	struct stat st;
	for (size_t i = 0; i < n_masked; i++) {
		if (stat(masked[i], &st) != 0)
			continue; /* this kernel has no such file */
		if (S_ISDIR(st.st_mode))
			must(mount("tmpfs", masked[i], "tmpfs", MS_RDONLY | hardening, "size=0"),
			     "mask", masked[i]);
		else
			must(mount("/dev/null", masked[i], NULL, MS_BIND, NULL), "mask", masked[i]);
	}
	for (size_t i = 0; i < n_readonly; i++) {
		if (stat(readonly[i], &st) != 0)
			continue;
		must(mount(readonly[i], readonly[i], NULL, MS_BIND | MS_REC, NULL), "bind read-only", readonly[i]);
		must(remount_bind(readonly[i], MS_RDONLY | hardening),
		     "remount read-only", readonly[i]);
	}
}

/* Docker's lists, vigil's default. */
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
	restrict_paths(masked, sizeof(masked) / sizeof(masked[0]), readonly, sizeof(readonly) / sizeof(readonly[0]),
		       MS_NOSUID | MS_NODEV | MS_NOEXEC);
}

static void make_tree_readonly(const char *root)
{
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };
	if (mount_setattr(AT_FDCWD, root, AT_RECURSIVE, &attr, sizeof(attr)) == 0)
		return;
	if (errno != ENOSYS)
		fail_child(efd, "mount_setattr(read-only)", root);
	/* Kernels before 5.12: only the top mount can be made read-only here. */
	must(remount_bind(root, MS_RDONLY), "remount read-only", root);
}

static const struct { const char *path; unsigned major, minor; } device_nodes[] = {
	{ "/dev/null", 1, 3 }, { "/dev/zero", 1, 5 }, { "/dev/full", 1, 7 },
	{ "/dev/random", 1, 8 }, { "/dev/urandom", 1, 9 }, { "/dev/tty", 5, 0 },
};
static const struct { const char *target, *path; } device_links[] = {
	{ "/proc/self/fd", "/dev/fd" }, { "/proc/self/fd/0", "/dev/stdin" },
	{ "/proc/self/fd/1", "/dev/stdout" }, { "/proc/self/fd/2", "/dev/stderr" },
};

/* Open the host's device nodes to bind, before pivot_root (user namespace only). */
static void open_host_devices(void)
{
	for (size_t i = 0; i < sizeof(device_nodes) / sizeof(device_nodes[0]); i++) {
		host_device_fds[i] = open_tree(AT_FDCWD, device_nodes[i].path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
		if (host_device_fds[i] < 0)
			fail_child(efd, "open_tree(host device)", device_nodes[i].path);
	}
}

/* The i-th standard node: made, or in a user namespace bound from the host. */
static void device_node(size_t i)
{
	const char *path = device_nodes[i].path;
	if (host_device_fds[i] < 0) {
		must(mknod(path, S_IFCHR | 0666, makedev(device_nodes[i].major, device_nodes[i].minor)), "mknod", path);
		must(chmod(path, 0666), "chmod", path);
		return;
	}
	int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0666);
	if (fd < 0)
		fail_child(efd, "create(device mount point)", path);
	close(fd);
	must(move_mount(host_device_fds[i], "", AT_FDCWD, path, MOVE_MOUNT_F_EMPTY_PATH), "bind host device", path);
	close(host_device_fds[i]);
	host_device_fds[i] = -1;
}

static void make_devices(void)
{
	for (size_t i = 0; i < sizeof(device_nodes) / sizeof(device_nodes[0]); i++)
		device_node(i);
	must(mkdir("/dev/pts", 0755), "mkdir", "/dev/pts");
	must(mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
		   "newinstance,ptmxmode=0666,mode=0620"), "mount devpts", "/dev/pts");
	must(symlink("pts/ptmx", "/dev/ptmx"), "symlink", "/dev/ptmx");
	must(mkdir("/dev/shm", 01777), "mkdir", "/dev/shm");
	must(mount("shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777"), "mount tmpfs", "/dev/shm");
	for (size_t i = 0; i < sizeof(device_links) / sizeof(device_links[0]); i++)
		must(symlink(device_links[i].target, device_links[i].path), "symlink", device_links[i].path);
}

/*
 * An OCI bundle's /dev holds what its mounts put there; the standard nodes
 * and links are added where missing, as runc does (a /dev/ptmx link only
 * when a devpts is mounted at /dev/pts).
 */
static void complete_devices(void)
{
	struct stat st;
	mount_point("/dev", 0755);
	for (size_t i = 0; i < sizeof(device_nodes) / sizeof(device_nodes[0]); i++) {
		if (lstat(device_nodes[i].path, &st) == 0)
			continue;
		device_node(i);
	}
	if (stat("/dev/pts/ptmx", &st) == 0) {
		if (unlink("/dev/ptmx") != 0 && errno != ENOENT)
			fail_child(efd, "unlink", "/dev/ptmx");
		must(symlink("pts/ptmx", "/dev/ptmx"), "symlink", "/dev/ptmx");
	}
	for (size_t i = 0; i < sizeof(device_links) / sizeof(device_links[0]); i++)
		if (lstat(device_links[i].path, &st) != 0)
			must(symlink(device_links[i].target, device_links[i].path), "symlink", device_links[i].path);
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

static void explicit_layout(const struct helper_config *cfg, const int *source_fds);
static void finish_init(const struct helper_config *cfg, int init_fd) __attribute__((noreturn));

/* Runs as PID 1 of the new pid namespace; never returns. */
static void container_init_child(const struct helper_config *cfg, int init_fd)
{
	const char *root = cfg->rootfs_mountpoint;
	bool host_root = !cfg->rootfs || !strcmp(cfg->rootfs, "host");
	int source_fds[MAX_LIST];

	/* The cgroup namespace is made only now that the parent has moved us into
	 * the container's cgroup, so that cgroup becomes its root. */
	if (cfg->new_cgroupns)
		must(unshare(CLONE_NEWCGROUP), "unshare(cgroup)", "");
	must(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), "make mounts private", "/");
	if (cfg->hostname)
		must(sethostname(cfg->hostname, strlen(cfg->hostname)), "sethostname", cfg->hostname);

	if (cfg->uid_map)
		open_host_devices();
	/* Mount sources are host paths: cloned now, attached once inside. */
	for (size_t i = 0; i < cfg->n_mounts; i++) {
		const struct mount_spec *m = &cfg->mounts[i];
		source_fds[i] = -1;
		if (m->fstype && cfg->uid_map && (!strcmp(m->fstype, "proc") || !strcmp(m->fstype, "sysfs")))
			source_fds[i] = premount(m->fstype, m->source, m->flags, m->data, m->target);
		if (m->fstype)
			continue; /* a filesystem, made inside */
		source_fds[i] = open_tree(AT_FDCWD, cfg->mounts[i].source,
					  OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (cfg->mounts[i].flat ? 0 : AT_RECURSIVE));
		if (source_fds[i] < 0)
			fail_child(efd, "open_tree(mount source)", cfg->mounts[i].source);
	}
	/* vigil's own layout in a user namespace: its proc and sysfs, premounted. */
	unsigned long sys_ro = cfg->privileged ? 0 : MS_RDONLY;
	int proc_fd = -1, sys_fd = -1;
	if (cfg->uid_map && !cfg->explicit_layout) {
		proc_fd = premount("proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, "/proc");
		sys_fd = premount("sysfs", "sysfs", sys_ro | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, "/sys");
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
	/* In a user namespace, become its root only now: until pivot_root the
	 * host paths (the state root may be 0700) are walked as the host's root
	 * owner; from here vigil-init and the layout are the container's root's. */
	if (cfg->uid_map && (setgroups(0, NULL) != 0 || setresgid(0, 0, 0) != 0 || setresuid(0, 0, 0) != 0))
		fail_child(efd, "become root of the user namespace (is container id 0 mapped?)", "");

	/* From here every path is inside the container. */
	if (cfg->explicit_layout) {
		explicit_layout(cfg, source_fds);
		finish_init(cfg, init_fd);
	}
	mount_point("/proc", 0555);
	if (proc_fd >= 0)
		attach_premounted(proc_fd, "/proc", 0);
	else
		must(mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL), "mount proc", "/proc");
	mount_point("/sys", 0555);
	if (sys_fd >= 0)
		attach_premounted(sys_fd, "/sys", 0);
	else if (mount("sysfs", "/sys", "sysfs", sys_ro | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0) {
		/* With the host's network namespace (network: host) sysfs is the host's
		 * superblock, which image-less mode has already bound here with the host
		 * root: the kernel refuses the same filesystem twice on one mount point
		 * (EBUSY). Take the bound one (and the host's mounts below it) away in
		 * this mount namespace, then mount sysfs afresh. */
		if (errno != EBUSY)
			fail_child(efd, "mount sysfs", "/sys");
		must(umount2("/sys", MNT_DETACH), "unmount the host's sysfs", "/sys");
		must(mount("sysfs", "/sys", "sysfs", sys_ro | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL), "mount sysfs", "/sys");
	}
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
		bind_user_mount(&cfg->mounts[i], source_fds[i], host_root, true);
		close(source_fds[i]);
	}
	if (!cfg->privileged)
		restrict_kernel_interfaces();
	finish_init(cfg, init_fd);
}

/* An OCI bundle's layout: its mounts in order, the standard devices, its masked and read-only paths, a read-only root. */
static void explicit_layout(const struct helper_config *cfg, const int *source_fds)
{
	for (size_t i = 0; i < cfg->n_mounts; i++) {
		if (cfg->mounts[i].fstype && source_fds[i] >= 0) {
			attach_premounted(source_fds[i], cfg->mounts[i].target, cfg->mounts[i].propagation);
		} else if (cfg->mounts[i].fstype) {
			filesystem_mount(&cfg->mounts[i]);
		} else {
			bind_user_mount(&cfg->mounts[i], source_fds[i], false, false);
			close(source_fds[i]);
		}
	}
	complete_devices();
	/* As runc: read-only, nothing more (vigil's own default adds nosuid, nodev, noexec). */
	restrict_paths(cfg->masked, cfg->n_masked, cfg->readonly_paths, cfg->n_readonly, 0);
	if (cfg->rootfs_readonly)
		must(remount_bind("/", MS_RDONLY), "remount root read-only", "/");
}

/* Network, stdio, privileges, then exec vigil-init. Never returns. */
static void finish_init(const struct helper_config *cfg, int init_fd)
{
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

	unsigned long flags = CLONE_NEWPID | CLONE_NEWNS;
	if (cfg->new_uts)
		flags |= CLONE_NEWUTS;
	if (cfg->new_ipc)
		flags |= CLONE_NEWIPC;
	if (cfg->uid_map)
		flags |= CLONE_NEWUSER;
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

	if (cfg->uid_map) {
		const char *maps[2][2] = { { "uid_map", cfg->uid_map }, { "gid_map", cfg->gid_map ? cfg->gid_map : cfg->uid_map } };
		for (int i = 0; i < 2; i++) {
			char path[64];
			snprintf(path, sizeof(path), "/proc/%d/%s", pid, maps[i][0]);
			int fd = open(path, O_WRONLY | O_CLOEXEC);
			if (fd < 0 || write_all(fd, maps[i][1], strlen(maps[i][1])) != 0) {
				int saved = errno;
				kill(pid, SIGKILL);
				waitpid(pid, NULL, 0);
				return report_failure(i == 0 ? "write uid_map" : "write gid_map", saved, path);
			}
			close(fd);
		}
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
