/*
 * Tracer lifecycle over pinned objects in bpffs:
 *   tracerEnsure: open -> configure rodata -> load -> attach -> pin -> close
 *   tracerRemove: unlink every pin (detaches the programs)
 *   watch/unwatch/drops: short-lived fds on the pinned maps.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/types.h>
#include "addon.h"
#include "events.h"

static const char *const map_pins[] = { "events", "watched", "drops" };

static const struct {
	const char *pin;
	const char *prog;
} link_pins[] = {
	{ "link_exit", "vigil_exit" },
	{ "link_signal", "vigil_signal" },
	{ "link_oom", "vigil_oom" },
};

/* Room for a pin directory plus a pin or program name, for messages. */
#define ERRPATH_MAX (PATH_MAX + 64)

#define N_MAPS (sizeof(map_pins) / sizeof(map_pins[0]))
#define N_LINKS (sizeof(link_pins) / sizeof(link_pins[0]))

static bool pin_exists(const char *dir, const char *name)
{
	char p[PATH_MAX];
	struct stat st;

	if (snprintf(p, sizeof(p), "%s/%s", dir, name) >= (int)sizeof(p))
		return false;
	return stat(p, &st) == 0;
}

static bool fully_pinned(const char *dir)
{
	for (size_t i = 0; i < N_MAPS; i++)
		if (!pin_exists(dir, map_pins[i]))
			return false;
	for (size_t i = 0; i < N_LINKS; i++)
		if (!pin_exists(dir, link_pins[i].pin))
			return false;
	return true;
}

/* Unlink every pin we own in dir. Returns 0 or the first errno other than ENOENT;
 * *failed_name names the pin that could not be removed. */
static int unpin_all(const char *dir, const char **failed_name)
{
	char p[PATH_MAX];
	int first = 0;

	/* links first, so the programs stop before their maps disappear */
	for (size_t i = 0; i < N_LINKS + N_MAPS; i++) {
		const char *name = i < N_LINKS ? link_pins[i].pin : map_pins[i - N_LINKS];

		if (snprintf(p, sizeof(p), "%s/%s", dir, name) >= (int)sizeof(p))
			return ENAMETOOLONG;
		if (unlink(p) < 0 && errno != ENOENT && !first) {
			first = errno;
			if (failed_name)
				*failed_name = name;
		}
	}
	return first;
}

/* Write the `signal_mask` global of .rodata before load. */
static int set_signal_mask(struct bpf_object *obj, __u64 mask)
{
	struct bpf_map *map, *rodata = NULL;
	const struct btf_var_secinfo *vs;
	const struct btf_type *sec;
	struct btf *btf;
	size_t size = 0;
	const void *init;
	char *data;
	int id, err;

	bpf_object__for_each_map(map, obj) {
		const char *n = bpf_map__name(map);
		size_t l = strlen(n);

		if (l >= 7 && strcmp(n + l - 7, ".rodata") == 0)
			rodata = map;
	}
	btf = bpf_object__btf(obj);
	if (!rodata || !btf)
		return ENOENT;
	id = btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC);
	if (id < 0)
		return ENOENT;
	sec = btf__type_by_id(btf, id);
	init = bpf_map__initial_value(rodata, &size);
	if (!init)
		return ENOENT;
	vs = btf_var_secinfos(sec);
	for (int i = 0; i < btf_vlen(sec); i++, vs++) {
		const struct btf_type *var = btf__type_by_id(btf, vs->type);

		if (strcmp(btf__name_by_offset(btf, var->name_off), "signal_mask") != 0)
			continue;
		if (vs->size != sizeof(mask) || vs->offset + sizeof(mask) > size)
			return EINVAL;
		/* libbpf 1.1 hands out a read-only view: copy, patch, set back. */
		data = malloc(size);
		if (!data)
			return ENOMEM;
		memcpy(data, init, size);
		memcpy(data + vs->offset, &mask, sizeof(mask));
		err = -bpf_map__set_initial_value(rodata, data, size);
		free(data);
		return err;
	}
	return ENOENT;
}

struct ensure_opts {
	bool has_mask;
	__u64 mask;
};

/* Load, attach and pin. On error, fills *code, *op and path_out, and returns an errno with
 * nothing left pinned. */
static int load_and_pin(const char *obj_path, const char *dir, const struct ensure_opts *o,
			const char **code, const char **op, char path_out[ERRPATH_MAX])
{
	struct bpf_link *links[N_LINKS] = { 0 };
	struct bpf_object *obj;
	char p[ERRPATH_MAX];
	int err = 0;

	obj = bpf_object__open_file(obj_path, NULL);
	if (!obj) {
		err = errno;
		*code = VN_ERR_OPEN, *op = "bpf_object__open_file";
		snprintf(path_out, ERRPATH_MAX, "%s", obj_path);
		return err;
	}
	if (o->has_mask && (err = set_signal_mask(obj, o->mask))) {
		*code = VN_ERR_LOAD, *op = "set signal_mask in .rodata of";
		snprintf(path_out, ERRPATH_MAX, "%s", obj_path);
		goto out;
	}
	if ((err = -bpf_object__load(obj))) {
		*code = VN_ERR_LOAD, *op = "bpf_object__load";
		snprintf(path_out, ERRPATH_MAX, "%s", obj_path);
		goto out;
	}
	for (size_t i = 0; i < N_LINKS; i++) {
		struct bpf_program *prog = bpf_object__find_program_by_name(obj, link_pins[i].prog);

		if (!prog) {
			err = ENOENT;
			*code = VN_ERR_ATTACH, *op = "find program";
			snprintf(path_out, ERRPATH_MAX, "%s:%s", obj_path, link_pins[i].prog);
			goto out;
		}
		links[i] = bpf_program__attach(prog);
		if (!links[i]) {
			err = errno;
			*code = VN_ERR_ATTACH, *op = "bpf_program__attach";
			snprintf(path_out, ERRPATH_MAX, "%s:%s", obj_path, link_pins[i].prog);
			goto out;
		}
	}
	for (size_t i = 0; i < N_MAPS; i++) {
		struct bpf_map *map = bpf_object__find_map_by_name(obj, map_pins[i]);

		snprintf(p, sizeof(p), "%s/%s", dir, map_pins[i]);
		if (!map)
			err = ENOENT;
		else
			err = -bpf_map__pin(map, p);
		if (err) {
			*code = VN_ERR_PIN, *op = "bpf_map__pin";
			snprintf(path_out, ERRPATH_MAX, "%s", p);
			goto out;
		}
	}
	for (size_t i = 0; i < N_LINKS; i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, link_pins[i].pin);
		if ((err = -bpf_link__pin(links[i], p))) {
			*code = VN_ERR_PIN, *op = "bpf_link__pin";
			snprintf(path_out, ERRPATH_MAX, "%s", p);
			goto out;
		}
	}
out:
	if (err)
		unpin_all(dir, NULL);
	/* Closing our fds detaches nothing that is pinned; unpinned links go away. */
	for (size_t i = 0; i < N_LINKS; i++)
		bpf_link__destroy(links[i]);
	bpf_object__close(obj);
	return err;
}

static bool read_ensure_opts(napi_env env, napi_value v, struct ensure_opts *o)
{
	napi_valuetype t;
	bool has = false;
	napi_value mask;

	o->has_mask = false;
	if (napi_typeof(env, v, &t) != napi_ok)
		return false;
	if (t == napi_undefined)
		return true;
	if (t != napi_object) {
		vn_throw_arg(env, "tracerEnsure", "options", "an object or undefined");
		return false;
	}
	if (napi_has_named_property(env, v, "signalMask", &has) != napi_ok)
		return false;
	if (!has)
		return true;
	if (napi_get_named_property(env, v, "signalMask", &mask) != napi_ok ||
	    napi_typeof(env, mask, &t) != napi_ok)
		return false;
	if (t == napi_undefined)
		return true;
	o->has_mask = true;
	return vn_arg_u64(env, mask, "tracerEnsure", "options.signalMask",
			  (unsigned long long *)&o->mask);
}

/* tracerEnsure(objPath, pinDir, options?): { loaded: boolean } */
napi_value vn_tracer_ensure(napi_env env, napi_callback_info info)
{
	char obj_path[PATH_MAX], dir[PATH_MAX], errpath[ERRPATH_MAX];
	const char *code = NULL, *op = NULL;
	struct ensure_opts opts;
	size_t argc = 3;
	napi_value argv[3], ret, loaded;
	bool created;
	int dfd, err;

	VN_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	if (argc < 2)
		return vn_throw_arg(env, "tracerEnsure", "objPath, pinDir", "given");
	if (argc < 3)
		napi_get_undefined(env, &argv[2]);
	if (!vn_arg_path(env, argv[0], "tracerEnsure", "objPath", obj_path) ||
	    !vn_arg_path(env, argv[1], "tracerEnsure", "pinDir", dir) ||
	    !read_ensure_opts(env, argv[2], &opts))
		return NULL;

	created = mkdir(dir, 0700) == 0;
	if (!created && errno != EEXIST)
		return vn_throw(env, VN_ERR_PIN, errno, "tracerEnsure: mkdir", dir, NULL);
	/* Serialise concurrent loaders on the pin directory itself. */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return vn_throw(env, VN_ERR_PIN, errno, "tracerEnsure: open", dir, NULL);
	while (flock(dfd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			err = errno;
			close(dfd);
			return vn_throw(env, VN_ERR_PIN, err, "tracerEnsure: flock", dir, NULL);
		}
	}
	if (fully_pinned(dir)) {
		close(dfd);
		VN_CALL(env, napi_create_object(env, &ret));
		VN_CALL(env, napi_get_boolean(env, false, &loaded));
		VN_CALL(env, napi_set_named_property(env, ret, "loaded", loaded));
		return ret;
	}
	/* A partial set (an interrupted load or remove) is replaced as a whole. */
	unpin_all(dir, NULL);
	vn_libbpf_log_reset();
	err = load_and_pin(obj_path, dir, &opts, &code, &op, errpath);
	if (err && created)
		rmdir(dir);
	close(dfd);
	if (err) {
		char what[128];

		snprintf(what, sizeof(what), "tracerEnsure: %s", op);
		return vn_throw(env, code, err, what, errpath, vn_libbpf_log());
	}
	VN_CALL(env, napi_create_object(env, &ret));
	VN_CALL(env, napi_get_boolean(env, true, &loaded));
	VN_CALL(env, napi_set_named_property(env, ret, "loaded", loaded));
	return ret;
}

/* tracerRemove(pinDir): void. Missing pins and a missing directory are fine. */
napi_value vn_tracer_remove(napi_env env, napi_callback_info info)
{
	char dir[PATH_MAX], p[ERRPATH_MAX];
	const char *failed = NULL;
	size_t argc = 1;
	napi_value argv[1];
	int err;

	VN_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	if (argc < 1)
		return vn_throw_arg(env, "tracerRemove", "pinDir", "given");
	if (!vn_arg_path(env, argv[0], "tracerRemove", "pinDir", dir))
		return NULL;
	err = unpin_all(dir, &failed);
	if (err) {
		snprintf(p, sizeof(p), "%s/%s", dir, failed ? failed : "");
		return vn_throw(env, VN_ERR_PIN, err, "tracerRemove: unlink", p, NULL);
	}
	if (rmdir(dir) < 0 && errno != ENOENT)
		return vn_throw(env, VN_ERR_PIN, errno, "tracerRemove: rmdir", dir, NULL);
	return NULL;
}

/* Open a pinned map of pinDir (argv[0]); throws and returns -1 on error. */
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

/* drops(pinDir): bigint[VIGIL_DROPS_SLOTS], per-CPU counters summed. */
napi_value vn_drops(napi_env env, napi_callback_info info)
{
	char path[PATH_MAX];
	size_t argc = 1;
	napi_value argv[1], arr, v;
	__u64 *vals;
	int fd, ncpu, err;

	VN_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	if (argc < 1)
		return vn_throw_arg(env, "drops", "pinDir", "given");
	ncpu = libbpf_num_possible_cpus();
	if (ncpu <= 0)
		return vn_throw(env, VN_ERR_SYS, -ncpu, "drops: libbpf_num_possible_cpus", NULL,
				NULL);
	fd = open_pinned(env, "drops", argv[0], "drops", path);
	if (fd < 0)
		return NULL;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals) {
		close(fd);
		return vn_throw(env, VN_ERR_SYS, ENOMEM, "drops: calloc", NULL, NULL);
	}
	if (napi_create_array_with_length(env, VIGIL_DROPS_SLOTS, &arr) != napi_ok)
		goto napi_fail;
	for (__u32 k = 0; k < VIGIL_DROPS_SLOTS; k++) {
		__u64 sum = 0;

		if (bpf_map_lookup_elem(fd, &k, vals) < 0) {
			err = errno;
			free(vals);
			close(fd);
			return vn_throw(env, VN_ERR_MAP, err, "drops: bpf_map_lookup_elem", path,
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
	return vn_throw(env, VN_ERR_STATE, 0, "drops: napi", NULL, NULL);
}
