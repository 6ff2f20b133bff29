/*
 * Tracer lifecycle over pinned objects in bpffs:
 *   tracerEnsure: nothing to do when the pinned build has the wanted identity;
 *     else open -> configure .rodata -> reuse every pinned map -> load ->
 *     attach -> record the new build in `control` -> pin each new link under
 *     a temporary name (new_<pin>) and rename it over the old pin (which
 *     detaches the old program). The old and the new programs overlap, so no
 *     exit is missed; exits and OOM kills are deduplicated by the shared
 *     `exit_seen` and `oom_seen` maps, signals, forks and execs by the shared
 *     per-CPU `handover` note (see vigil.bpf.c).
 *   tracerRemove: unlink every pin (detaches the programs)
 *   (watch/unwatch/counters/tracerInfo are in tracer_query.c, the options in
 *   tracer_opts.c.)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
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
#include "tracer.h"

const char *const vn_link_pins[N_LINKS] = {
	"link_exit", "link_signal", "link_oom", "link_fork", "link_exec",
};

/* The program behind each link; the OOM link's depends on the hook. */
const char *vn_link_prog(int i, __u32 oom_hook)
{
	static const char *const progs[N_LINKS] = {
		"vigil_exit", "vigil_signal", "vigil_oom", "vigil_fork", "vigil_exec",
	};

	if (i == L_OOM)
		return oom_hook == VIGIL_OOM_HOOK_FENTRY ? "vigil_oom_fentry" : "vigil_oom";
	return progs[i];
}

const char *vn_oom_hook_name(__u32 hook)
{
	static const char *const names[] = { "none", "tracepoint", "fentry" };

	return names[hook < 3 ? hook : 0];
}

static const char *const map_pins[] = {
	"events", "watched", "drops", "limited", "control", "exit_seen", "oom_seen", "signal_bucket",
	"handover", "exit_overflow", "overflow_written", "overflow_read",
};


#define N_MAPS (sizeof(map_pins) / sizeof(map_pins[0]))

static bool pin_exists(const char *dir, const char *name)
{
	char p[PATH_MAX];
	struct stat st;

	if (snprintf(p, sizeof(p), "%s/%s", dir, name) >= (int)sizeof(p))
		return false;
	return stat(p, &st) == 0;
}

/* Unlink every pin we own in dir (and temporaries of an interrupted upgrade).
 * Returns 0 or the first errno other than ENOENT; *failed_name names the pin. */
static int unpin_all(const char *dir, const char **failed_name)
{
	char p[PATH_MAX];
	int first = 0;

	/* links first, so the programs stop before their maps disappear */
	for (size_t i = 0; i < 2 * N_LINKS + N_MAPS; i++) {
		const char *name = i < N_LINKS ? vn_link_pins[i] : i < 2 * N_LINKS ? vn_link_pins[i - N_LINKS]
										 : map_pins[i - 2 * N_LINKS];
		int n = i >= N_LINKS && i < 2 * N_LINKS
				? snprintf(p, sizeof(p), "%s/new_%s", dir, name)
				: snprintf(p, sizeof(p), "%s/%s", dir, name);

		if (n >= (int)sizeof(p))
			return ENAMETOOLONG;
		if (unlink(p) < 0 && errno != ENOENT && !first) {
			first = errno;
			if (failed_name)
				*failed_name = name;
		}
	}
	return first;
}

/* Read the pinned control record; false if there is none. */
bool vn_read_control(const char *dir, struct vigil_control *out)
{
	char p[PATH_MAX];
	__u32 k = 0;
	int fd, rc;

	memset(out, 0, sizeof(*out));
	if (snprintf(p, sizeof(p), "%s/control", dir) >= (int)sizeof(p))
		return false;
	fd = bpf_obj_get(p);
	if (fd < 0)
		return false;
	rc = bpf_map_lookup_elem(fd, &k, out);
	close(fd);
	out->identity[VIGIL_IDENTITY_LEN - 1] = 0;
	return rc == 0;
}

/* Write a global of .rodata before load. */
static int set_rodata(struct bpf_object *obj, const char *name, const void *val, size_t len)
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

		if (strcmp(btf__name_by_offset(btf, var->name_off), name) != 0)
			continue;
		if (vs->size != len || vs->offset + len > size)
			return EINVAL;
		/* libbpf 1.1 hands out a read-only view: copy, patch, set back. */
		data = malloc(size);
		if (!data)
			return ENOMEM;
		memcpy(data, init, size);
		memcpy(data + vs->offset, val, len);
		err = -bpf_map__set_initial_value(rodata, data, size);
		free(data);
		return err;
	}
	return ENOENT;
}

/*
 * Which OOM hook this kernel offers, from its BTF (a CO-RE existence check,
 * not a version number): the tracepoint when btf_trace_mark_victim takes a
 * task pointer (newer kernels: task, uid); else fentry on mark_oom_victim(),
 * where the tracepoint passes only an int pid (5.x, 6.1); else none.
 */
static __u32 detect_oom_hook(const char *btf_path)
{
	struct btf *btf = btf_path[0] ? btf__parse(btf_path, NULL) : btf__load_vmlinux_btf();
	__u32 hook = VIGIL_OOM_HOOK_NONE;
	int id;

	if (!btf)
		return hook;
	id = btf__find_by_name_kind(btf, "btf_trace_mark_victim", BTF_KIND_TYPEDEF);
	if (id > 0) {
		const struct btf_type *t = btf__type_by_id(btf, btf__type_by_id(btf, id)->type);

		if (t && btf_is_ptr(t)) {
			const struct btf_type *fp = btf__type_by_id(btf, t->type);

			if (fp && btf_is_func_proto(fp) && btf_vlen(fp) >= 3) {
				const struct btf_type *a1 =
					btf__type_by_id(btf, btf_params(fp)[1].type);

				while (a1 && (btf_is_const(a1) || btf_is_volatile(a1) ||
					      btf_is_typedef(a1)))
					a1 = btf__type_by_id(btf, a1->type);
				if (a1 && btf_is_ptr(a1))
					hook = VIGIL_OOM_HOOK_TRACEPOINT;
			}
		}
	}
	if (hook == VIGIL_OOM_HOOK_NONE &&
	    btf__find_by_name_kind(btf, "mark_oom_victim", BTF_KIND_FUNC) > 0)
		hook = VIGIL_OOM_HOOK_FENTRY;
	btf__free(btf);
	return hook;
}

struct ensure_result {
	bool loaded, upgraded;
	__u32 generation, oom_hook, skipped;
	/* why each optional program was left out ("" if none was) */
	char why[N_LINKS][ERRPATH_MAX + 128];
};

struct ensure_err {
	const char *code, *op;
	char path[ERRPATH_MAX];
};

#define FAIL(c, o, ...)                                                                \
	do {                                                                           \
		e->code = (c), e->op = (o);                                            \
		snprintf(e->path, ERRPATH_MAX, __VA_ARGS__);                           \
		goto out;                                                              \
	} while (0)

/*
 * Load, attach and pin, reusing whatever is pinned in dir. On error nothing
 * that was pinned before changes; what this call pinned is removed.
 */
/*
 * For the tests only: VIGIL_TEST_UPGRADE_PAUSE_MS makes a replacement say
 * which link pin it just replaced and wait, so a test can kill the loader
 * half-way through an upgrade (test/integration/tracer-upgrade.test.ts).
 */
static void upgrade_failpoint(const char *pin)
{
	const char *ms = getenv("VIGIL_TEST_UPGRADE_PAUSE_MS");

	if (!ms || !*ms)
		return;
	fprintf(stderr, "vigil test: replaced %s\n", pin);
	fflush(stderr);
	usleep((useconds_t)strtoul(ms, NULL, 10) * 1000);
}

static int load_and_pin(const char *obj_path, const char *dir, const struct ensure_opts *o,
			const struct vigil_control *old, struct ensure_result *r,
			struct ensure_err *e)
{
	LIBBPF_OPTS(bpf_object_open_opts, open_opts, .btf_custom_path = o->btf_path[0] ? o->btf_path : NULL);
	struct bpf_link *links[N_LINKS] = { 0 };
	bool pinned_new[N_MAPS] = { 0 };
	struct vigil_control ctrl = { 0 };
	struct bpf_object *obj;
	char p[ERRPATH_MAX], tmp[ERRPATH_MAX];
	__u32 hook, gen = old->active_gen + 1, page_shift = 0;
	long page = sysconf(_SC_PAGESIZE);
	struct bpf_map *cmap;
	__u32 k = 0;
	int err = 0;

	while (page > 1 && (1L << page_shift) < page)
		page_shift++;
	hook = o->oom_hook >= 0 ? (__u32)o->oom_hook : detect_oom_hook(o->btf_path);
	obj = bpf_object__open_file(obj_path, &open_opts);
	if (!obj) {
		err = errno;
		e->code = VN_ERR_OPEN, e->op = "bpf_object__open_file";
		snprintf(e->path, ERRPATH_MAX, "%s", obj_path);
		return err;
	}
	if ((o->has_mask && (err = set_rodata(obj, "signal_mask", &o->mask, sizeof(o->mask)))) ||
	    (o->has_rate && (err = set_rodata(obj, "signal_rate", &o->rate, sizeof(o->rate)))) ||
	    (o->has_burst && (err = set_rodata(obj, "signal_burst", &o->burst, sizeof(o->burst)))) ||
	    (err = set_rodata(obj, "generation", &gen, sizeof(gen))) ||
	    (err = set_rodata(obj, "page_shift", &page_shift, sizeof(page_shift))) ||
	    (err = set_rodata(obj, "oom_hook", &hook, sizeof(hook))))
		FAIL(VN_ERR_LOAD, "set .rodata of", "%s", obj_path);
	{
		struct bpf_program *tp = bpf_object__find_program_by_name(obj, "vigil_oom");
		struct bpf_program *fe = bpf_object__find_program_by_name(obj, "vigil_oom_fentry");

		if (!tp || !fe) {
			err = ENOENT;
			FAIL(VN_ERR_LOAD, "find the OOM programs in", "%s", obj_path);
		}
		bpf_program__set_autoload(tp, hook == VIGIL_OOM_HOOK_TRACEPOINT);
		bpf_program__set_autoload(fe, hook == VIGIL_OOM_HOOK_FENTRY);
	}
	for (int i = L_FORK; i <= L_EXEC; i++) {
		struct bpf_program *prog = bpf_object__find_program_by_name(obj, vn_link_prog(i, hook));

		if (prog)
			bpf_program__set_autoload(prog, !(o->skipped & (1u << i)));
	}
	for (size_t i = 0; i < N_MAPS; i++) {
		struct bpf_map *map = bpf_object__find_map_by_name(obj, map_pins[i]);
		int fd;

		snprintf(p, sizeof(p), "%s/%s", dir, map_pins[i]);
		if (!map) {
			err = ENOENT;
			FAIL(VN_ERR_LOAD, "find map", "%s:%s", obj_path, map_pins[i]);
		}
		fd = bpf_obj_get(p);
		if (fd < 0)
			continue; /* not pinned yet: created by the load, pinned below */
		err = -bpf_map__reuse_fd(map, fd);
		close(fd);
		if (err)
			FAIL(VN_ERR_MAP, "bpf_map__reuse_fd", "%s", p);
	}
	if ((err = -bpf_object__load(obj)))
		FAIL(VN_ERR_LOAD, "bpf_object__load", "%s", obj_path);
	for (int i = 0; i < N_LINKS; i++) {
		struct bpf_program *prog;

		if ((i == L_OOM && hook == VIGIL_OOM_HOOK_NONE) || (o->skipped & (1u << i)))
			continue;
		prog = bpf_object__find_program_by_name(obj, vn_link_prog(i, hook));
		if (!prog) {
			err = ENOENT;
			FAIL(VN_ERR_ATTACH, "find program", "%s:%s", obj_path, vn_link_prog(i, hook));
		}
		links[i] = bpf_program__attach(prog);
		if (!links[i]) {
			err = errno;
			FAIL(VN_ERR_ATTACH, "bpf_program__attach", "%s:%s", obj_path,
			     vn_link_prog(i, hook));
		}
	}
	for (size_t i = 0; i < N_MAPS; i++) {
		struct bpf_map *map = bpf_object__find_map_by_name(obj, map_pins[i]);

		snprintf(p, sizeof(p), "%s/%s", dir, map_pins[i]);
		if (pin_exists(dir, map_pins[i]))
			continue; /* reused */
		if ((err = -bpf_map__pin(map, p)))
			FAIL(VN_ERR_PIN, "bpf_map__pin", "%s", p);
		pinned_new[i] = true;
	}
	/*
	 * Every new program is attached. The generation is taken now (a retry
	 * after an interruption gets the next one, so the hand-over still tells
	 * the builds apart), but the identity is recorded only once every link
	 * is replaced: a loader killed half-way through the renames leaves the
	 * old identity, and the next ensure finishes the upgrade instead of
	 * taking a mix of builds (and a stray new_<pin>) as done.
	 */
	cmap = bpf_object__find_map_by_name(obj, "control");
	ctrl = *old;
	ctrl.active_gen = gen;
	if (bpf_map_update_elem(bpf_map__fd(cmap), &k, &ctrl, BPF_ANY) < 0) {
		err = errno;
		FAIL(VN_ERR_MAP, "bpf_map_update_elem", "%s/control", dir);
	}
	/* Then replace each link pin; the rename drops the old link (it detaches). */
	for (int i = 0; i < N_LINKS; i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, vn_link_pins[i]);
		if (!links[i]) {
			if (unlink(p) < 0 && errno != ENOENT) {
				err = errno;
				FAIL(VN_ERR_PIN, "unlink", "%s", p);
			}
			continue;
		}
		/* bpffs refuses dots in names: the temporary is new_<pin>. */
		snprintf(tmp, sizeof(tmp), "%s/new_%s", dir, vn_link_pins[i]);
		unlink(tmp);
		if ((err = -bpf_link__pin(links[i], tmp)))
			FAIL(VN_ERR_PIN, "bpf_link__pin", "%s", tmp);
		if (rename(tmp, p) < 0) {
			err = errno;
			unlink(tmp);
			FAIL(VN_ERR_PIN, "rename", "%s", p);
		}
		upgrade_failpoint(vn_link_pins[i]);
	}
	ctrl.oom_hook = hook;
	ctrl.skipped = o->skipped;
	snprintf(ctrl.identity, sizeof(ctrl.identity), "%s", o->identity);
	if (bpf_map_update_elem(bpf_map__fd(cmap), &k, &ctrl, BPF_ANY) < 0) {
		err = errno;
		FAIL(VN_ERR_MAP, "bpf_map_update_elem", "%s/control", dir);
	}
	r->loaded = true;
	r->generation = gen;
	r->oom_hook = hook;
	r->skipped = o->skipped;
out:
	if (err) {
		for (size_t i = 0; i < N_MAPS; i++) {
			if (!pinned_new[i])
				continue;
			snprintf(p, sizeof(p), "%s/%s", dir, map_pins[i]);
			unlink(p);
		}
	}
	/* Closing our fds detaches nothing that is pinned; unpinned links go away. */
	for (int i = 0; i < N_LINKS; i++)
		bpf_link__destroy(links[i]);
	bpf_object__close(obj);
	return err;
}

/* Whether every link the pinned build needs is pinned. */
static bool links_pinned(const char *dir, const struct vigil_control *c)
{
	for (int i = 0; i < N_LINKS; i++) {
		if ((i == L_OOM && c->oom_hook == VIGIL_OOM_HOOK_NONE) || (c->skipped & (1u << i)))
			continue;
		if (!pin_exists(dir, vn_link_pins[i]))
			return false;
	}
	for (size_t i = 0; i < N_MAPS; i++)
		if (!pin_exists(dir, map_pins[i]))
			return false;
	/* A temporary left by a loader killed between pin and rename: finish the job. */
	for (int i = 0; i < N_LINKS; i++) {
		char tmp[64];

		snprintf(tmp, sizeof(tmp), "new_%s", vn_link_pins[i]);
		if (pin_exists(dir, tmp))
			return false;
	}
	return true;
}

static napi_value ensure_result(napi_env env, const struct ensure_result *r)
{
	napi_value ret, v;

	VN_CALL(env, napi_create_object(env, &ret));
	VN_CALL(env, napi_get_boolean(env, r->loaded, &v));
	VN_CALL(env, napi_set_named_property(env, ret, "loaded", v));
	VN_CALL(env, napi_get_boolean(env, r->upgraded, &v));
	VN_CALL(env, napi_set_named_property(env, ret, "upgraded", v));
	VN_CALL(env, napi_create_uint32(env, r->generation, &v));
	VN_CALL(env, napi_set_named_property(env, ret, "generation", v));
	VN_CALL(env, napi_create_string_utf8(env, vn_oom_hook_name(r->oom_hook),
					     NAPI_AUTO_LENGTH, &v));
	VN_CALL(env, napi_set_named_property(env, ret, "oomHook", v));
	{
		napi_value arr, o;
		uint32_t n = 0;

		VN_CALL(env, napi_create_array(env, &arr));
		for (int i = 0; i < N_LINKS; i++) {
			bool left_out = (i == L_OOM && r->oom_hook == VIGIL_OOM_HOOK_NONE) ||
					(r->skipped & (1u << i));

			if (!left_out)
				continue;
			VN_CALL(env, napi_create_object(env, &o));
			VN_CALL(env, napi_create_string_utf8(env, vn_link_pins[i] + 5, NAPI_AUTO_LENGTH, &v));
			VN_CALL(env, napi_set_named_property(env, o, "hook", v));
			VN_CALL(env, napi_create_string_utf8(env, r->why[i][0] ? r->why[i] : "not available on this kernel or not asked for",
							     NAPI_AUTO_LENGTH, &v));
			VN_CALL(env, napi_set_named_property(env, o, "why", v));
			VN_CALL(env, napi_set_element(env, arr, n++, o));
		}
		VN_CALL(env, napi_set_named_property(env, ret, "skipped", arr));
	}
	return ret;
}

/* Whether an error path "<object>:<program>" names this program. */
static bool names_prog(const char *path, const char *prog)
{
	size_t lp = strlen(path), ln = strlen(prog);

	return lp > ln && path[lp - ln - 1] == ':' && strcmp(path + lp - ln, prog) == 0;
}

/* tracerEnsure(objPath, pinDir, options?): { loaded, upgraded, generation, oomHook } */
napi_value vn_tracer_ensure(napi_env env, napi_callback_info info)
{
	char obj_path[PATH_MAX], dir[PATH_MAX];
	struct ensure_result r = { 0 };
	struct ensure_err e = { 0 };
	struct vigil_control old;
	struct ensure_opts opts;
	size_t argc = 3;
	napi_value argv[3];
	bool created, had_control, anything;
	int dfd, err;

	VN_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	if (argc < 2)
		return vn_throw_arg(env, "tracerEnsure", "objPath, pinDir", "given");
	if (argc < 3)
		napi_get_undefined(env, &argv[2]);
	if (!vn_arg_path(env, argv[0], "tracerEnsure", "objPath", obj_path) ||
	    !vn_arg_path(env, argv[1], "tracerEnsure", "pinDir", dir) ||
	    !vn_read_ensure_opts(env, argv[2], &opts))
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
	had_control = vn_read_control(dir, &old);
	if (had_control && strcmp(old.identity, opts.identity) == 0 &&
	    links_pinned(dir, &old)) {
		close(dfd);
		r.generation = old.active_gen;
		r.oom_hook = old.oom_hook;
		r.skipped = old.skipped;
		return ensure_result(env, &r);
	}
	anything = pin_exists(dir, "events");
	vn_libbpf_log_reset();
	/*
	 * Exits and signals are what vigil is for; OOM, fork and exec programs
	 * are optional: one that this kernel will not load or attach (e.g. fentry
	 * where ftrace is locked down) is left out, with the reason kept, and the
	 * rest loads. OOM kills are still recognised from the exit's OOM-victim
	 * flag. An OOM hook asked for by name is not optional.
	 */
	for (int attempt = 0; attempt <= N_LINKS; attempt++) {
		int opt = -1;

		err = load_and_pin(obj_path, dir, &opts, &old, &r, &e);
		if (!err)
			break;
		for (int i = L_OOM; i <= L_EXEC && opt < 0; i++) {
			const char *names[2] = { vn_link_prog(i, VIGIL_OOM_HOOK_TRACEPOINT),
						 vn_link_prog(i, VIGIL_OOM_HOOK_FENTRY) };

			for (int k = 0; k < 2 && opt < 0; k++) {
				char quoted[64];

				snprintf(quoted, sizeof(quoted), "prog '%s'", names[k]);
				if (names_prog(e.path, names[k]) || strstr(vn_libbpf_log(), quoted))
					opt = i;
			}
		}
		if (opt < 0 || (opt == L_OOM && opts.oom_hook >= 0))
			break;
		snprintf(r.why[opt], sizeof(r.why[opt]), "%s: %s (%s)", e.op, strerror(err), e.path);
		if (opt == L_OOM)
			opts.oom_hook = VIGIL_OOM_HOOK_NONE;
		else
			opts.skipped |= 1u << opt;
		memset(&e, 0, sizeof(e));
		vn_libbpf_log_reset();
	}
	if (err && !anything) {
		unpin_all(dir, NULL);
		if (created)
			rmdir(dir);
	}
	close(dfd);
	if (err) {
		char what[128];

		snprintf(what, sizeof(what), "tracerEnsure: %s", e.op);
		return vn_throw(env, e.code, err, what, e.path, vn_libbpf_log());
	}
	r.upgraded = anything;
	return ensure_result(env, &r);
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
