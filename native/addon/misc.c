/* flock(2), the monotonic clock, SO_PEERCRED, a cgroup2 mount, a pinned object: small host calls Node lacks. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <time.h>
#include <bpf/bpf.h>
#include "addon.h"

/* flock(fd: number, exclusive: boolean, wait: boolean): boolean */
napi_value vn_flock(napi_env env, napi_callback_info info)
{
	size_t argc = 3;
	napi_value argv[3], ret;
	bool exclusive, wait;
	int fd, op, rc;

	VN_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	if (argc < 3)
		return vn_throw_arg(env, "flock", "fd, exclusive, wait", "given");
	if (!vn_arg_int(env, argv[0], "flock", "fd", &fd) ||
	    !vn_arg_bool(env, argv[1], "flock", "exclusive", &exclusive) ||
	    !vn_arg_bool(env, argv[2], "flock", "wait", &wait))
		return NULL;
	op = (exclusive ? LOCK_EX : LOCK_SH) | (wait ? 0 : LOCK_NB);
	do
		rc = flock(fd, op);
	while (rc < 0 && errno == EINTR);
	if (rc < 0 && !wait && errno == EWOULDBLOCK) {
		VN_CALL(env, napi_get_boolean(env, false, &ret));
		return ret;
	}
	if (rc < 0)
		return vn_throw(env, VN_ERR_SYS, errno, "flock", NULL, NULL);
	VN_CALL(env, napi_get_boolean(env, true, &ret));
	return ret;
}

/* monotonicNs(): bigint, CLOCK_MONOTONIC, the clock of bpf_ktime_get_ns(). */
napi_value vn_monotonic_ns(napi_env env, napi_callback_info info)
{
	struct timespec ts;
	napi_value ret;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		return vn_throw(env, VN_ERR_SYS, errno, "clock_gettime", NULL, NULL);
	VN_CALL(env, napi_create_bigint_uint64(env,
					       (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec,
					       &ret));
	return ret;
}

/*
 * peerCred(fd: number): {pid, uid, gid} of the process that connected a Unix
 * socket (SO_PEERCRED: its credentials at connect(2), which it cannot forge).
 */
napi_value vn_peer_cred(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1], ret, v;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int fd;

	VN_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	if (argc < 1)
		return vn_throw_arg(env, "peerCred", "fd", "given");
	if (!vn_arg_int(env, argv[0], "peerCred", "fd", &fd))
		return NULL;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return vn_throw(env, VN_ERR_SYS, errno, "getsockopt SO_PEERCRED", NULL, NULL);
	VN_CALL(env, napi_create_object(env, &ret));
	VN_CALL(env, napi_create_int32(env, cred.pid, &v));
	VN_CALL(env, napi_set_named_property(env, ret, "pid", v));
	VN_CALL(env, napi_create_uint32(env, cred.uid, &v));
	VN_CALL(env, napi_set_named_property(env, ret, "uid", v));
	VN_CALL(env, napi_create_uint32(env, cred.gid, &v));
	VN_CALL(env, napi_set_named_property(env, ret, "gid", v));
	return ret;
}

/*
 * mountCgroup2(target: string): mount the cgroup v2 hierarchy at target (a
 * host with only v1 hierarchies mounted still has it in the kernel). Throws
 * ERR_SYSCALL with errno and path on failure.
 */
napi_value vn_mount_cgroup2(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1];
	char target[PATH_MAX];

	VN_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	if (argc < 1)
		return vn_throw_arg(env, "mountCgroup2", "target", "given");
	if (!vn_arg_path(env, argv[0], "mountCgroup2", "target", target))
		return NULL;
	if (mount("cgroup2", target, "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return vn_throw(env, VN_ERR_SYS, errno, "mount cgroup2", target, NULL);
	return NULL;
}

static void free_poll_handle(uv_handle_t *h)
{
	free(h);
}

void vn_poll_close(uv_poll_t **poll)
{
	if (!*poll)
		return;
	uv_poll_stop(*poll);
	(*poll)->data = NULL;
	uv_close((uv_handle_t *)*poll, free_poll_handle);
	*poll = NULL;
}

void vn_js_refs_release(napi_env env, napi_async_context *actx, napi_ref *callback, napi_ref *self)
{
	if (*actx)
		napi_async_destroy(env, *actx);
	*actx = NULL;
	if (*callback)
		napi_delete_reference(env, *callback);
	*callback = NULL;
	if (*self)
		napi_delete_reference(env, *self);
	*self = NULL;
}

int vn_pinned_fd(const char *dir, const char *name)
{
	char p[PATH_MAX];

	if (snprintf(p, sizeof(p), "%s/%s", dir, name) >= (int)sizeof(p))
		return -1;
	return bpf_obj_get(p);
}
