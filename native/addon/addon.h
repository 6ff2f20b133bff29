/* vigil_native: N-API addon over libbpf. Shared declarations. */
#ifndef VIGIL_ADDON_H
#define VIGIL_ADDON_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <node_api.h>
#include <uv.h>

/* Error codes carried on thrown JS errors as `code`. */
#define VN_ERR_ARG "ERR_INVALID_ARG_TYPE"
#define VN_ERR_ARG_VALUE "ERR_INVALID_ARG_VALUE"
#define VN_ERR_OPEN "ERR_BPF_OPEN"
#define VN_ERR_LOAD "ERR_BPF_LOAD"
#define VN_ERR_ATTACH "ERR_BPF_ATTACH"
#define VN_ERR_PIN "ERR_BPF_PIN"
#define VN_ERR_MAP "ERR_BPF_MAP"
#define VN_ERR_RINGBUF "ERR_BPF_RINGBUF"
#define VN_ERR_SYS "ERR_SYSCALL"
#define VN_ERR_STATE "ERR_INVALID_STATE"

/*
 * Throw a JS Error whose message names the operation, the path (may be NULL)
 * and strerror(err) (err may be 0). Properties: code, errno (symbolic name,
 * e.g. 'ENOENT'), syscall (op), path, detail (libbpf log, when present).
 * Returns NULL so callers can `return vn_throw(...)`.
 */
napi_value vn_throw(napi_env env, const char *code, int err, const char *op, const char *path,
		    const char *detail);
/* Throw a TypeError with code ERR_INVALID_ARG_TYPE naming the argument. */
napi_value vn_throw_arg(napi_env env, const char *fn, const char *arg, const char *expected);

/* Argument readers: on failure they have thrown and return false. */
bool vn_arg_string(napi_env env, napi_value v, const char *fn, const char *arg, char *out,
		   size_t cap);
bool vn_arg_path(napi_env env, napi_value v, const char *fn, const char *arg, char out[PATH_MAX]);
bool vn_arg_u64(napi_env env, napi_value v, const char *fn, const char *arg, unsigned long long *out);
bool vn_arg_bool(napi_env env, napi_value v, const char *fn, const char *arg, bool *out);
bool vn_arg_int(napi_env env, napi_value v, const char *fn, const char *arg, int *out);

/* dir + "/" + name into out; throws ENAMETOOLONG and returns false if too long. */
bool vn_join(napi_env env, const char *fn, const char *dir, const char *name, char out[PATH_MAX]);

/* The fd of the object pinned at dir/name, or -1 (absent, e.g. a map older builds lack). */
int vn_pinned_fd(const char *dir, const char *name);

/* libbpf messages (info and warnings) are kept here rather than printed. */
/*
 * Teardown shared by the objects that read an fd on the main loop (Consumer,
 * ProcConnector): stop and close their poll handle (freed by uv_close's
 * callback), and drop their async context and JS references. Each leaves its
 * pointers NULL, so a second call does nothing.
 */
void vn_poll_close(uv_poll_t **poll);
void vn_js_refs_release(napi_env env, napi_async_context *actx, napi_ref *callback, napi_ref *self);

void vn_libbpf_log_install(void);
void vn_libbpf_log_reset(void);
const char *vn_libbpf_log(void);

/* Exported functions, one per file area. */
napi_value vn_tracer_ensure(napi_env env, napi_callback_info info);
napi_value vn_tracer_remove(napi_env env, napi_callback_info info);
napi_value vn_watch(napi_env env, napi_callback_info info);
napi_value vn_unwatch(napi_env env, napi_callback_info info);
napi_value vn_counters(napi_env env, napi_callback_info info);
napi_value vn_tracer_info(napi_env env, napi_callback_info info);
napi_value vn_kernel_support(napi_env env, napi_callback_info info);
napi_value vn_flock(napi_env env, napi_callback_info info);
napi_value vn_mount_cgroup2(napi_env env, napi_callback_info info);
napi_value vn_monotonic_ns(napi_env env, napi_callback_info info);
napi_value vn_peer_cred(napi_env env, napi_callback_info info);
napi_value vn_notify_bind(napi_env env, napi_callback_info info);
napi_value vn_notify_receive(napi_env env, napi_callback_info info);
/* Defines the Consumer class on exports. */
bool vn_consumer_init(napi_env env, napi_value exports);
/* Defines the ProcConnector class (degraded-mode exits) on exports. */
bool vn_proc_connector_init(napi_env env, napi_value exports);

/* Bail out of a napi_value function when a napi call fails. */
#define VN_CALL(env, call)                                                             \
	do {                                                                           \
		if ((call) != napi_ok)                                                 \
			return vn_throw((env), VN_ERR_STATE, 0, #call, NULL, NULL);    \
	} while (0)

#endif
