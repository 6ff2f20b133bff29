/* vigil-helper entry point: configuration parsing and result reporting. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "helper.h"

#define CONFIG_MAX (1 << 20)

static char config_buf[CONFIG_MAX];

int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int add(const char **list, size_t *n, size_t cap, const char *v)
{
	if (*n >= cap)
		return -1;
	list[(*n)++] = v;
	return 0;
}

/* A whole unsigned number in `base`, at most `max`; -2 if malformed. */
static int parse_number(const char *s, int base, unsigned long long max, unsigned long long *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, base);
	if (end == s || *end != '\0' || errno || v > max || s[0] == '-')
		return -2;
	*out = v;
	return 0;
}

/* The fields of the mount last opened by "mount_source". */
static int parse_mount_key(struct helper_config *cfg, const char *key, const char *val)
{
	if (cfg->n_mounts == 0)
		return -1;
	struct mount_spec *m = &cfg->mounts[cfg->n_mounts - 1];
	unsigned long long n;
	if (!strcmp(key, "mount_target"))
		m->target = val;
	else if (!strcmp(key, "mount_readonly"))
		m->readonly = !strcmp(val, "1");
	else if (!strcmp(key, "mount_type"))
		m->fstype = strcmp(val, "bind") ? val : NULL;
	else if (!strcmp(key, "mount_data"))
		m->data = val;
	else if (!strcmp(key, "mount_flat"))
		m->flat = !strcmp(val, "1");
	else if (!strcmp(key, "mount_flags") || !strcmp(key, "mount_propagation")) {
		if (parse_number(val, 10, ~0UL, &n) != 0)
			return -2;
		if (key[6] == 'f')
			m->flags = (unsigned long)n;
		else
			m->propagation = (unsigned long)n;
	} else
		return -2;
	return 0;
}

int parse_config(int fd, struct helper_config *cfg)
{
	size_t len = 0;
	for (;;) {
		ssize_t n = read(fd, config_buf + len, CONFIG_MAX - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		len += (size_t)n;
		if (len >= CONFIG_MAX - 1) {
			errno = E2BIG;
			return -1;
		}
	}
	config_buf[len] = '\0';
	memset(cfg, 0, sizeof(*cfg));
	/* Secure unless told otherwise: a config without these keys gets the defaults. */
	cfg->security.caps = DEFAULT_CAPS;
	cfg->security.no_new_privs = true;
	cfg->umask = -1;
	cfg->new_ipc = cfg->new_uts = cfg->new_cgroupns = true;
	for (int i = 0; i < 3; i++)
		cfg->stdio_fds[i] = -1;
	size_t pos = 0;
	while (pos < len) {
		const char *key = config_buf + pos;
		pos += strlen(key) + 1;
		if (pos > len) {
			errno = EINVAL;
			return -1;
		}
		const char *val = config_buf + pos;
		pos += strlen(val) + 1;
		int rc = 0;
		if (!strcmp(key, "hostname"))
			cfg->hostname = val;
		else if (!strcmp(key, "rootfs"))
			cfg->rootfs = val;
		else if (!strcmp(key, "rootfs_mountpoint"))
			cfg->rootfs_mountpoint = val;
		else if (!strcmp(key, "init"))
			cfg->init_path = val;
		else if (!strcmp(key, "network"))
			cfg->network_none = !strcmp(val, "none");
		else if (!strcmp(key, "privileged"))
			cfg->privileged = !strcmp(val, "1");
		else if (!strcmp(key, "caps"))
			rc = parse_number(val, 16, ~0ULL, &cfg->security.caps);
		else if (!strcmp(key, "no_new_privs"))
			cfg->security.no_new_privs = !strcmp(val, "1");
		else if (!strcmp(key, "rlimit")) {
			if (cfg->n_rlimits >= 16 || parse_rlimit(val, &cfg->rlimits[cfg->n_rlimits]) != 0)
				rc = -1;
			else
				cfg->n_rlimits++;
		} else if (!strcmp(key, "group")) {
			unsigned long long g;
			if (cfg->n_groups >= 64 || parse_number(val, 10, 4294967294ULL, &g) != 0)
				rc = -1;
			else
				cfg->groups[cfg->n_groups++] = (gid_t)g;
		} else if (!strcmp(key, "umask")) {
			unsigned long long m;
			rc = parse_number(val, 8, 0777, &m);
			cfg->umask = (int)m;
		} else if (!strcmp(key, "nice")) {
			char *end;
			errno = 0;
			long n = strtol(val, &end, 10);
			rc = (errno || end == val || *end || n < -20 || n > 19) ? -1 : 0;
			cfg->nice = (int)n;
			cfg->set_nice = true;
		} else if (!strcmp(key, "attach"))
			cfg->attach = !strcmp(val, "1");
		else if (!strcmp(key, "stdin_fd") || !strcmp(key, "stdout_fd") || !strcmp(key, "stderr_fd")) {
			unsigned long long fd;
			rc = parse_number(val, 10, 1 << 20, &fd);
			cfg->stdio_fds[key[3] == 'i' ? 0 : key[3] == 'o' ? 1 : 2] = (int)fd;
		} else if (!strcmp(key, "mount_source")) {
			if (cfg->n_mounts >= MAX_LIST)
				rc = -1;
			else
				cfg->mounts[cfg->n_mounts++].source = val;
		} else if (!strncmp(key, "mount_", 6)) {
			rc = parse_mount_key(cfg, key, val);
		} else if (!strcmp(key, "layout"))
			cfg->explicit_layout = !strcmp(val, "explicit");
		else if (!strcmp(key, "rootfs_readonly"))
			cfg->rootfs_readonly = !strcmp(val, "1");
		else if (!strcmp(key, "new_ipc"))
			cfg->new_ipc = !strcmp(val, "1");
		else if (!strcmp(key, "new_uts"))
			cfg->new_uts = !strcmp(val, "1");
		else if (!strcmp(key, "new_cgroupns"))
			cfg->new_cgroupns = !strcmp(val, "1");
		else if (!strcmp(key, "uid_map"))
			cfg->uid_map = val;
		else if (!strcmp(key, "gid_map"))
			cfg->gid_map = val;
		else if (!strcmp(key, "masked_path"))
			rc = add(cfg->masked, &cfg->n_masked, 64, val);
		else if (!strcmp(key, "readonly_path"))
			rc = add(cfg->readonly_paths, &cfg->n_readonly, 64, val); else if (!strcmp(key, "init_pid"))
			cfg->init_pid = (pid_t)strtol(val, NULL, 10);
		else if (!strcmp(key, "init_start"))
			cfg->init_start = strtoull(val, NULL, 10);
		else if (!strcmp(key, "cwd"))
			cfg->cwd = val;
		else if (!strcmp(key, "log"))
			cfg->log_path = val;
		else if (!strcmp(key, "user"))
			cfg->user = val;
		else if (!strcmp(key, "arg"))
			rc = add(cfg->args, &cfg->n_args, MAX_LIST - 1, val);
		else if (!strcmp(key, "env"))
			rc = add(cfg->envs, &cfg->n_envs, MAX_LIST - 1, val);
		else if (!strcmp(key, "cgroup"))
			rc = add(cfg->cgroups, &cfg->n_cgroups, 16, val);
		else {
			fprintf(stderr, "vigil-helper: unknown config key '%s'\n", key);
			errno = EINVAL;
			return -1;
		}
		if (rc != 0) {
			fprintf(stderr, "vigil-helper: bad config value for '%s': '%s' (or too many)\n", key, val);
			errno = rc == -2 ? EINVAL : E2BIG;
			return -1;
		}
	}
	return 0;
}

static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/*
 * Exit statuses, fixed: 125 vigil's own step failed, 126 the command exists
 * but cannot be executed, 127 the command was not found.
 */
static int helper_exit_code(const struct step_error *e)
{
	if (!strcmp(e->step, "exec")) {
		if (e->err == ENOENT)
			return 127;
		return 126;
	}
	return 125;
}

int report_error(const struct step_error *e)
{
	const char *name = strerrorname_np(e->err);
	printf("{\"ok\":false,\"step\":");
	json_string(stdout, e->step);
	printf(",\"errno\":");
	json_string(stdout, name ? name : "EUNKNOWN");
	printf(",\"path\":");
	json_string(stdout, e->path);
	printf(",\"message\":");
	json_string(stdout, strerror(e->err));
	printf("}\n");
	fflush(stdout);
	return helper_exit_code(e);
}

int report_failure(const char *step, int err, const char *path)
{
	struct step_error e = { .err = err };
	snprintf(e.step, sizeof(e.step), "%s", step);
	snprintf(e.path, sizeof(e.path), "%s", path ? path : "");
	return report_error(&e);
}

void fail_child(int error_fd, const char *step, const char *path)
{
	struct step_error e = { .err = errno };
	snprintf(e.step, sizeof(e.step), "%s", step);
	snprintf(e.path, sizeof(e.path), "%s", path ? path : "");
	write_all(error_fd, (const char *)&e, sizeof(e));
	_exit(125);
}

int read_step_error(int fd, struct step_error *e)
{
	size_t got = 0;
	while (got < sizeof(*e)) {
		ssize_t n = read(fd, (char *)e + got, sizeof(*e) - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got == 0)
		return 0;
	if (got < sizeof(*e)) {
		memset(e, 0, sizeof(*e));
		snprintf(e->step, sizeof(e->step), "child-report");
		e->err = EPROTO;
	}
	e->step[sizeof(e->step) - 1] = '\0';
	e->path[sizeof(e->path) - 1] = '\0';
	return 1;
}

/* Field 22 of /proc/PID/stat: start time in clock ticks since boot. */
unsigned long long proc_start_time(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* comm may hold spaces and parentheses: count fields after the last ')'. */
	char *p = strrchr(buf, ')');
	if (!p)
		return 0;
	p += 2; /* field 3 */
	for (int field = 3; field < 22 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	return p ? strtoull(p, NULL, 10) : 0;
}

unsigned long long monotonic_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ULL + (unsigned long long)ts.tv_nsec;
}

static int usage(void)
{
	fprintf(stderr, "usage: vigil-helper create|exec [--config-fd N]  (config: key\\0value\\0 pairs)\n");
	return 2;
}

/*
 * Mark every descriptor from lowfd up close-on-exec. close_range's
 * CLOSE_RANGE_CLOEXEC needs Linux 5.11; 5.10 refuses it with EINVAL, and then
 * the caller's state lock (fd 3) leaked into vigil-init and every business
 * process, holding the lock for as long as the container lived.
 */
void cloexec_from(int lowfd)
{
	if (close_range((unsigned int)lowfd, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
		return;
	DIR *dir = opendir("/proc/self/fd");
	if (dir) {
		struct dirent *e;
		while ((e = readdir(dir)) != NULL) {
			if (e->d_name[0] < '0' || e->d_name[0] > '9')
				continue;
			int fd = atoi(e->d_name);
			if (fd >= lowfd && fd != dirfd(dir))
				fcntl(fd, F_SETFD, FD_CLOEXEC);
		}
		closedir(dir);
		return;
	}
	long max = sysconf(_SC_OPEN_MAX);
	for (int fd = lowfd; fd < (max > 0 ? max : 1024); fd++)
		fcntl(fd, F_SETFD, FD_CLOEXEC);
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	int config_fd = 0;
	if (argc == 4 && !strcmp(argv[2], "--config-fd"))
		config_fd = atoi(argv[3]);
	else if (argc != 2)
		return usage();

	/* Finish (and reap) even if whoever reads our answer is gone. */
	signal(SIGPIPE, SIG_IGN);
	/* Inherited descriptors (the caller's state lock, fd 3) stay with the
	 * helper only: nothing it starts may keep them. */
	cloexec_from(3);
	struct helper_config cfg;
	if (parse_config(config_fd, &cfg) != 0)
		return report_failure("read-config", errno, "");
	if (config_fd != 0)
		close(config_fd);

	if (!strcmp(argv[1], "create"))
		return helper_create(&cfg);
	if (!strcmp(argv[1], "exec"))
		return helper_exec(&cfg);
	return usage();
}
