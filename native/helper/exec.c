/*
 * Starting a process inside a running container: the path for first starts,
 * restarts and `vigil exec -d` alike.
 *
 *   helper (host)  --setns(pid)--> fork A (in the container's pid namespace)
 *   A: setns ipc/uts/net/mnt, fork B into the v2 cgroup (cgroup_join.c), exit
 *   B: joins the v1 cgroups and the cgroup namespace;
 *   B: orphaned, so the kernel hands it to the namespace's reaper, vigil-init;
 *      tells the helper it exists, waits for "go", then execs the command.
 *
 * The helper learns B's host pid from SCM_CREDENTIALS (the kernel translates
 * the pid into the receiver's namespace) and reads B's start time before B
 * execs, so the (pid, start time) identity is taken without a race.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup_join.h"
#include "helper.h"

extern char **environ;

/* Set once the process has joined the container's user namespace. */
static bool in_user_ns;

/*
 * The container's user namespace, if it has one: joined last, after every
 * other namespace and the cgroups (host root may enter those; once in the
 * user namespace it could not). -1 when init shares ours.
 */
static int open_user_ns(pid_t init_pid)
{
	char path[64];
	struct stat ours, theirs;
	snprintf(path, sizeof(path), "/proc/%d/ns/user", init_pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &theirs) != 0 || stat("/proc/self/ns/user", &ours) != 0 ||
	    (theirs.st_ino == ours.st_ino && theirs.st_dev == ours.st_dev)) {
		close(fd);
		return -1;
	}
	return fd;
}

static void join_user_ns(const struct helper_config *cfg, int user_ns, int err_fd)
{
	if (user_ns < 0)
		return;
	/* rlimits first: raising a hard limit needs CAP_SYS_RESOURCE on the
	 * host, which the process no longer has once in the user namespace. */
	apply_rlimits(cfg, err_fd);
	if (setns(user_ns, CLONE_NEWUSER) != 0)
		fail_child(err_fd, "setns(user)", "");
	in_user_ns = true;
}

static const struct { const char *name; int type; } namespaces[] = {
	{ "ipc", CLONE_NEWIPC }, { "uts", CLONE_NEWUTS }, { "net", CLONE_NEWNET },
	{ "cgroup", CLONE_NEWCGROUP }, { "mnt", CLONE_NEWNS },
};
#define N_NS (sizeof(namespaces) / sizeof(namespaces[0]))

/* "uid[:gid]", digits only, each below (uid_t)-1: never wraps around to root. */
static int parse_user(const char *user, uid_t *uid, gid_t *gid)
{
	char *end;
	errno = 0;
	unsigned long u = strtoul(user, &end, 10);
	if (end == user || (*end != '\0' && *end != ':') || errno || u >= UINT32_MAX || user[0] == '-')
		return -1;
	unsigned long g = u;
	if (*end == ':') {
		const char *gs = end + 1;
		g = strtoul(gs, &end, 10);
		if (end == gs || *end != '\0' || errno || g >= UINT32_MAX || gs[0] == '-')
			return -1;
	}
	*uid = (uid_t)u;
	*gid = (gid_t)g;
	return 0;
}

/*
 * The last steps of every start, in the process itself: stdio, cwd, limits,
 * user and privileges, then exec. Never returns. Without stdio_fds, stdin is
 * /dev/null and stdout/stderr go to the log.
 */
static void become_process(const struct helper_config *cfg, int err_fd, int log_fd)
{
	if (cfg->stdio_fds[0] >= 0) {
		for (int fd = 0; fd < 3; fd++)
			if (cfg->stdio_fds[fd] >= 0 && dup2(cfg->stdio_fds[fd], fd) < 0)
				fail_child(err_fd, "dup2(stdio)", "");
	} else {
		int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (devnull < 0 || dup2(devnull, 0) < 0)
			fail_child(err_fd, "open stdin", "/dev/null");
		if (log_fd >= 0 && (dup2(log_fd, 1) < 0 || dup2(log_fd, 2) < 0))
			fail_child(err_fd, "dup2(log)", cfg->log_path);
	}
	if (cfg->cwd && chdir(cfg->cwd) != 0)
		fail_child(err_fd, "chdir", cfg->cwd);
	if (!in_user_ns)
		apply_rlimits(cfg, err_fd);
	/* Before privileges drop: raising a nice value needs none, lowering one needs CAP_SYS_NICE. */
	if (cfg->set_nice && setpriority(PRIO_PROCESS, 0, cfg->nice) != 0)
		fail_child(err_fd, "setpriority", "");
	if (cfg->umask >= 0)
		umask((mode_t)cfg->umask);
	drop_bounding_caps(&cfg->security, err_fd);
	uid_t uid = 0;
	gid_t gid = 0;
	if (cfg->user && parse_user(cfg->user, &uid, &gid) != 0) {
		errno = EINVAL;
		fail_child(err_fd, "parse user", cfg->user);
	}
	if (setgroups(cfg->n_groups, cfg->groups) != 0)
		fail_child(err_fd, "setgroups", "");
	/* In a user namespace the ids are always set: the helper's own (host root)
	 * are not mapped there, and must not stay. */
	if ((cfg->user || in_user_ns) && (setresgid(gid, gid, gid) != 0 || setresuid(uid, uid, uid) != 0))
		fail_child(err_fd, "set user (is it mapped in the user namespace?)", cfg->user ? cfg->user : "0:0");
	finish_privileges(&cfg->security, err_fd);
	/* An ignored signal stays ignored across exec: the helper ignores
	 * SIGPIPE for itself, and the process must not inherit that. */
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);

	/* execvp searches the PATH of environ, so the container's env goes there. */
	environ = (char **)cfg->envs;
	/* A watchdog process (given WATCHDOG_USEC) learns its own pid as it sees
	 * it, as systemd passes it: only known here, inside the pid namespace. */
	if (getenv("WATCHDOG_USEC")) {
		char pid[16];
		snprintf(pid, sizeof(pid), "%d", (int)getpid());
		if (setenv("WATCHDOG_PID", pid, 1) != 0)
			fail_child(err_fd, "setenv", "WATCHDOG_PID");
	}
	execvp(cfg->args[0], (char *const *)cfg->args);
	fail_child(err_fd, "exec", cfg->args[0]);
}

/* B: the business process, from "go" to exec. Never returns. */
static void start_process(const struct helper_config *cfg, int sync_fd, int err_fd, int log_fd)
{
	setsid();
	char byte = 'r';
	if (write(sync_fd, &byte, 1) != 1 || read(sync_fd, &byte, 1) != 1)
		_exit(125); /* the helper is gone: start nothing */
	close(sync_fd);
	become_process(cfg, err_fd, log_fd);
}

static volatile pid_t attached_pid;

static void forward_signal(int sig)
{
	if (attached_pid > 0)
		kill(attached_pid, sig);
}

/*
 * Attached exec: A itself becomes the process, so it stays the helper's child
 * and the helper can wait for it and report its status. It gets a session of
 * its own, and the helper a process group of its own, so a terminal's signals
 * reach only the caller, which forwards them here (and the helper to the
 * process): each arrives once.
 */
static int exec_attached(const struct helper_config *cfg, struct cgroup_join *join, int ns_fds[], int n_ns, int user_ns)
{
	setpgid(0, 0);
	int err[2];
	if (pipe2(err, O_CLOEXEC) != 0)
		return report_failure("pipe", errno, "");
	pid_t a = cgroup_clone(join, 0);
	if (a < 0)
		return report_failure("fork into cgroup", errno, "");
	if (a == 0) {
		close(err[0]);
		if (cgroup_join_rest(join) != 0)
			fail_child(err[1], "join cgroup", cfg->cgroups[0]);
		for (int i = 0; i < n_ns; i++) {
			if (setns(ns_fds[i], namespaces[i].type) != 0) {
				char step[32];
				snprintf(step, sizeof(step), "setns(%s)", namespaces[i].name);
				fail_child(err[1], step, "");
			}
		}
		join_user_ns(cfg, user_ns, err[1]);
		if (chdir("/") != 0)
			fail_child(err[1], "chdir", "/");
		setsid();
		become_process(cfg, err[1], -1);
	}
	close(err[1]);
	attached_pid = a;
	struct sigaction sa = { .sa_handler = forward_signal, .sa_flags = SA_RESTART };
	sigemptyset(&sa.sa_mask);
	const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaction(forwarded[i], &sa, NULL);

	struct step_error e;
	int failed = read_step_error(err[0], &e);
	int status = 0;
	while (waitpid(a, &status, 0) < 0 && errno == EINTR)
		;
	if (failed)
		return report_error(&e);
	if (WIFSIGNALED(status))
		printf("{\"ok\":true,\"pid\":%d,\"signal\":%d}\n", a, WTERMSIG(status));
	else
		printf("{\"ok\":true,\"pid\":%d,\"exitCode\":%d}\n", a, WEXITSTATUS(status));
	fflush(stdout);
	return 0;
}

int helper_exec(const struct helper_config *cfg)
{
	char path[PATH_MAX];
	if (cfg->n_args == 0 || cfg->init_pid <= 0)
		return report_failure("config: init_pid and at least one arg are required", EINVAL, "");
	if (proc_start_time(cfg->init_pid) != cfg->init_start || cfg->init_start == 0) {
		snprintf(path, sizeof(path), "/proc/%d", cfg->init_pid);
		return report_failure("find container init (is the container running?)", ESRCH, path);
	}

	/* Everything from the host is opened before any namespace is entered. */
	int ns_fds[N_NS];
	for (size_t i = 0; i < N_NS; i++) {
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", cfg->init_pid, namespaces[i].name);
		ns_fds[i] = open(path, O_RDONLY | O_CLOEXEC);
		if (ns_fds[i] < 0)
			return report_failure("open namespace", errno, path);
	}
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", cfg->init_pid);
	int pid_ns = open(path, O_RDONLY | O_CLOEXEC);
	if (pid_ns < 0)
		return report_failure("open namespace", errno, path);
	int user_ns = open_user_ns(cfg->init_pid);
	struct cgroup_join join;
	if (cgroup_join_open(cfg, &join, path, sizeof(path)) != 0)
		return report_failure("open cgroup", errno, path);
	/* Only children enter the pid namespace; the helper stays on the host. */
	if (cfg->attach) {
		if (setns(pid_ns, CLONE_NEWPID) != 0)
			return report_failure("setns(pid)", errno, "");
		return exec_attached(cfg, &join, ns_fds, (int)N_NS, user_ns);
	}
	int log_fd = -1;
	if (cfg->log_path) {
		log_fd = open(cfg->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
		if (log_fd < 0)
			return report_failure("open log", errno, cfg->log_path);
	}
	int sync[2], err[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sync) != 0 || pipe2(err, O_CLOEXEC) != 0)
		return report_failure("socketpair", errno, "");
	int one = 1;
	if (setsockopt(sync[0], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) != 0)
		return report_failure("setsockopt(SO_PASSCRED)", errno, "");

	/* Only children enter the pid namespace; the helper stays on the host. */
	if (setns(pid_ns, CLONE_NEWPID) != 0)
		return report_failure("setns(pid)", errno, "");
	pid_t a = fork();
	if (a < 0)
		return report_failure("fork", errno, "");
	if (a == 0) {
		close(sync[0]);
		close(err[0]);
		/* The cgroup namespace is entered by B, after it is born in the v2
		 * cgroup: from inside it, that cgroup's parent is out of reach. */
		size_t cgroup_ns = N_NS;
		for (size_t i = 0; i < N_NS; i++) {
			if (namespaces[i].type == CLONE_NEWCGROUP) {
				cgroup_ns = i;
				continue;
			}
			if (setns(ns_fds[i], namespaces[i].type) != 0) {
				snprintf(path, sizeof(path), "setns(%s)", namespaces[i].name);
				fail_child(err[1], path, "");
			}
		}
		if (chdir("/") != 0)
			fail_child(err[1], "chdir", "/");
		pid_t b = cgroup_clone(&join, 0);
		if (b < 0)
			fail_child(err[1], "fork into cgroup", "");
		if (b == 0) {
			if (cgroup_join_rest(&join) != 0)
				fail_child(err[1], "join cgroup", cfg->cgroups[0]);
			if (setns(ns_fds[cgroup_ns], CLONE_NEWCGROUP) != 0)
				fail_child(err[1], "setns(cgroup)", "");
			join_user_ns(cfg, user_ns, err[1]);
			start_process(cfg, sync[1], err[1], log_fd);
		}
		_exit(0);
	}
	close(sync[1]);
	close(err[1]);
	waitpid(a, NULL, 0);

	char byte;
	char control[CMSG_SPACE(sizeof(struct ucred))];
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof(control),
	};
	ssize_t n;
	do
		n = recvmsg(sync[0], &msg, 0);
	while (n < 0 && errno == EINTR);
	struct step_error e;
	if (n != 1) {
		if (read_step_error(err[0], &e))
			return report_error(&e);
		return report_failure("start process", n < 0 ? errno : EPIPE, "");
	}
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
	if (!cmsg || cmsg->cmsg_type != SCM_CREDENTIALS)
		return report_failure("receive credentials", EPROTO, "");
	struct ucred cred;
	memcpy(&cred, CMSG_DATA(cmsg), sizeof(cred));
	unsigned long long start = proc_start_time(cred.pid);

	if (write(sync[0], "g", 1) != 1)
		return report_failure("sync process", errno, "");
	if (read_step_error(err[0], &e))
		return report_error(&e);
	printf("{\"ok\":true,\"pid\":%d,\"startTime\":%llu,\"runningNs\":%llu}\n", cred.pid, start,
	       monotonic_ns());
	return 0;
}
