/* Short-lived calls on a pinned tracer: watch/unwatch, per-kind counters,
 * the build and its programs' kernel run time, and what the kernel offers. */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "addon.h"
#include "tracer.h"

/* Open a pinned object of pinDir (jdir); throws and returns -1 on error. */
static int open_pinned(napi_env env, const char *fn, napi_value jdir, const char *name,
		       char path[PATH_MAX])
{
	char dir[PATH_MAX], what[64];
	int fd;

	if (!vn_arg_path(env, jdir, fn, "pinDir", dir) || !vn_join(env, fn, dir, name, path))
		return -1;
	fd = bpf_obj_get(path);
	if (fd < 0) {
		snprintf(what, sizeof(what), "%s: bpf_obj_get", fn);
		vn_throw(env, VN_ERR_MAP, errno, what, path, NULL);
	}
	return fd;
}

/*
 * An unwatched cgroup puts no more exits in the overflow, so its share
 * counters go with it: kept, every cgroup that ever overflowed would hold an
 * entry of each for good (a restarted container is a new cgroup), and past
 * their 4,096 no cgroup could overflow at all. Its exits still waiting are
 * read all the same (consumer.c counts none for a cgroup without counters).
 * Builds before the overflow have no such maps.
 */
static void drop_overflow_counters(const char *dir, __u64 id)
{
	static const char *const counters[] = { "overflow_written", "overflow_read" };

	for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
		int fd = vn_pinned_fd(dir, counters[i]);

		if (fd < 0)
			continue;
		bpf_map_delete_elem(fd, &id);
		close(fd);
	}
}

static napi_value watch_common(napi_env env, napi_callback_info info, bool add)
{
	const char *fn = add ? "watch" : "unwatch";
	char path[PATH_MAX], what[64];
	unsigned long long id;
	size_t argc = 2;
	napi_value argv[2];
	__u64 key;
	__u8 val = 1;
	int fd, rc, err;

	VN_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	if (argc < 2)
		return vn_throw_arg(env, fn, "pinDir, cgroupId", "given");
	if (!vn_arg_u64(env, argv[1], fn, "cgroupId", &id))
		return NULL;
	fd = open_pinned(env, fn, argv[0], "watched", path);
	if (fd < 0)
		return NULL;
	key = id;
	rc = add ? bpf_map_update_elem(fd, &key, &val, BPF_ANY) : bpf_map_delete_elem(fd, &key);
	err = errno;
	close(fd);
	if (rc < 0 && !(!add && err == ENOENT)) {
		snprintf(what, sizeof(what), "%s: %s", fn,
			 add ? "bpf_map_update_elem" : "bpf_map_delete_elem");
		return vn_throw(env, VN_ERR_MAP, err, what, path, NULL);
	}
	if (!add)
		drop_overflow_counters(dirname(path), key);
	return NULL;
}

/* watch(pinDir, cgroupId: bigint): void */
napi_value vn_watch(napi_env env, napi_callback_info info)
{
	return watch_common(env, info, true);
}

/* unwatch(pinDir, cgroupId: bigint): void; an id not watched is fine. */
napi_value vn_unwatch(napi_env env, napi_callback_info info)
{
	return watch_common(env, info, false);
}

/* counters(pinDir, 'drops' | 'limited'): bigint[VIGIL_DROPS_SLOTS], per-CPU sums. */
napi_value vn_counters(napi_env env, napi_callback_info info)
{
	char path[PATH_MAX], name[16];
	size_t argc = 2;
	napi_value argv[2], arr, v;
	__u64 *vals;
	int fd, ncpu, err;

	VN_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	if (argc < 2)
		return vn_throw_arg(env, "counters", "pinDir, name", "given");
	if (!vn_arg_string(env, argv[1], "counters", "name", name, sizeof(name)))
		return NULL;
	if (strcmp(name, "drops") != 0 && strcmp(name, "limited") != 0)
		return vn_throw_arg(env, "counters", "name", "'drops' or 'limited'");
	ncpu = libbpf_num_possible_cpus();
	if (ncpu <= 0)
		return vn_throw(env, VN_ERR_SYS, -ncpu, "counters: libbpf_num_possible_cpus", NULL,
				NULL);
	fd = open_pinned(env, "counters", argv[0], name, path);
	if (fd < 0)
		return NULL;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals) {
		close(fd);
		return vn_throw(env, VN_ERR_SYS, ENOMEM, "counters: calloc", NULL, NULL);
	}
	if (napi_create_array_with_length(env, VIGIL_DROPS_SLOTS, &arr) != napi_ok)
		goto napi_fail;
	for (__u32 k = 0; k < VIGIL_DROPS_SLOTS; k++) {
		__u64 sum = 0;

		if (bpf_map_lookup_elem(fd, &k, vals) < 0) {
			err = errno;
			free(vals);
			close(fd);
			return vn_throw(env, VN_ERR_MAP, err, "counters: bpf_map_lookup_elem", path,
					NULL);
		}
		for (int c = 0; c < ncpu; c++)
			sum += vals[c];
		if (napi_create_bigint_uint64(env, sum, &v) != napi_ok ||
		    napi_set_element(env, arr, k, v) != napi_ok)
			goto napi_fail;
	}
	free(vals);
	close(fd);
	return arr;
napi_fail:
	free(vals);
	close(fd);
	return vn_throw(env, VN_ERR_STATE, 0, "counters: napi", NULL, NULL);
}

/*
 * tracerInfo(pinDir): { generation, oomHook, identity, programs: [{ link,
 * name, id, runTimeNs, runCount }] } from the pinned control record and each
 * pinned link's program (run time needs kernel.bpf_stats_enabled=1).
 */
napi_value vn_tracer_info(napi_env env, napi_callback_info info)
{
	char dir[PATH_MAX], p[PATH_MAX];
	struct vigil_control ctrl;
	size_t argc = 1;
	napi_value argv[1], ret, progs, o, v;
	uint32_t n = 0;

	VN_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	if (argc < 1)
		return vn_throw_arg(env, "tracerInfo", "pinDir", "given");
	if (!vn_arg_path(env, argv[0], "tracerInfo", "pinDir", dir))
		return NULL;
	if (!vn_read_control(dir, &ctrl))
		return vn_throw(env, VN_ERR_MAP, errno ? errno : ENOENT, "tracerInfo: read control",
				dir, NULL);
	VN_CALL(env, napi_create_object(env, &ret));
	VN_CALL(env, napi_create_uint32(env, ctrl.active_gen, &v));
	VN_CALL(env, napi_set_named_property(env, ret, "generation", v));
	VN_CALL(env, napi_create_string_utf8(env, vn_oom_hook_name(ctrl.oom_hook),
					     NAPI_AUTO_LENGTH, &v));
	VN_CALL(env, napi_set_named_property(env, ret, "oomHook", v));
	VN_CALL(env, napi_create_string_utf8(env, ctrl.identity, NAPI_AUTO_LENGTH, &v));
	VN_CALL(env, napi_set_named_property(env, ret, "identity", v));
	VN_CALL(env, napi_create_array(env, &progs));
	for (int i = 0; i < N_LINKS; i++) {
		struct bpf_link_info li = { 0 };
		struct bpf_prog_info pi = { 0 };
		__u32 len = sizeof(li);
		int lfd, pfd;

		if (snprintf(p, sizeof(p), "%s/%s", dir, vn_link_pins[i]) >= (int)sizeof(p))
			continue;
		lfd = bpf_obj_get(p);
		if (lfd < 0)
			continue;
		if (bpf_obj_get_info_by_fd(lfd, &li, &len) < 0) {
			close(lfd);
			continue;
		}
		close(lfd);
		pfd = bpf_prog_get_fd_by_id(li.prog_id);
		if (pfd < 0)
			continue;
		len = sizeof(pi);
		if (bpf_obj_get_info_by_fd(pfd, &pi, &len) < 0) {
			close(pfd);
			continue;
		}
		close(pfd);
		VN_CALL(env, napi_create_object(env, &o));
		VN_CALL(env, napi_create_string_utf8(env, vn_link_pins[i], NAPI_AUTO_LENGTH, &v));
		VN_CALL(env, napi_set_named_property(env, o, "link", v));
		VN_CALL(env, napi_create_string_utf8(env, pi.name, NAPI_AUTO_LENGTH, &v));
		VN_CALL(env, napi_set_named_property(env, o, "name", v));
		VN_CALL(env, napi_create_uint32(env, pi.id, &v));
		VN_CALL(env, napi_set_named_property(env, o, "id", v));
		VN_CALL(env, napi_create_bigint_uint64(env, pi.run_time_ns, &v));
		VN_CALL(env, napi_set_named_property(env, o, "runTimeNs", v));
		VN_CALL(env, napi_create_bigint_uint64(env, pi.run_cnt, &v));
		VN_CALL(env, napi_set_named_property(env, o, "runCount", v));
		VN_CALL(env, napi_set_element(env, progs, n++, o));
	}
	VN_CALL(env, napi_set_named_property(env, ret, "programs", progs));
	return ret;
}

/* kernelSupport(btfPath): { btf: boolean, ringbuf: boolean } as libbpf probes them. */
napi_value vn_kernel_support(napi_env env, napi_callback_info info)
{
	char btf_path[PATH_MAX];
	size_t argc = 1;
	napi_value argv[1], ret, v;
	struct stat st;
	bool btf;

	VN_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	if (argc < 1)
		return vn_throw_arg(env, "kernelSupport", "btfPath", "given");
	if (!vn_arg_path(env, argv[0], "kernelSupport", "btfPath", btf_path))
		return NULL;
	btf = stat(btf_path, &st) == 0;
	VN_CALL(env, napi_create_object(env, &ret));
	VN_CALL(env, napi_get_boolean(env, btf, &v));
	VN_CALL(env, napi_set_named_property(env, ret, "btf", v));
	VN_CALL(env, napi_get_boolean(env, libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) == 1,
				      &v));
	VN_CALL(env, napi_set_named_property(env, ret, "ringbuf", v));
	return ret;
}
