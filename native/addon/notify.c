/*
 * The systemd notify protocol's receiving end: a datagram Unix socket with
 * SO_PASSCRED, so every message arrives with the sender's pid as the kernel
 * saw it (translated into our pid namespace), which a sender cannot forge
 * without CAP_SYS_ADMIN. Node's dgram has no Unix sockets, hence these two.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "addon.h"

/* The longest message kept; longer ones are dropped as malformed (systemd allows 4096 too). */
#define NOTIFY_MAX 4096

/*
 * notifyBind(path: string): number. A fresh socket at path (a stale socket
 * left there by an earlier monitor is replaced; any other file is an error),
 * writable by everyone (senders may run as any user), non-blocking.
 */
napi_value vn_notify_bind(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1], ret;
	char path[PATH_MAX];
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, one = 1;

	VN_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	if (argc < 1)
		return vn_throw_arg(env, "notifyBind", "path", "given");
	if (!vn_arg_path(env, argv[0], "notifyBind", "path", path))
		return NULL;
	if (strlen(path) >= sizeof(addr.sun_path))
		return vn_throw(env, VN_ERR_SYS, ENAMETOOLONG, "bind", path, NULL);
	strcpy(addr.sun_path, path);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return vn_throw(env, VN_ERR_SYS, EEXIST, "bind (not a socket)", path, NULL);
		if (unlink(path) != 0)
			return vn_throw(env, VN_ERR_SYS, errno, "unlink", path, NULL);
	}
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return vn_throw(env, VN_ERR_SYS, errno, "socket", NULL, NULL);
	if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) != 0 ||
	    bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || chmod(path, 0666) != 0) {
		int err = errno;
		close(fd);
		return vn_throw(env, VN_ERR_SYS, err, "bind", path, NULL);
	}
	VN_CALL(env, napi_create_int32(env, fd, &ret));
	return ret;
}

/*
 * notifyReceive(fd: number, max: number): Array<{pid, uid, text}>. What is
 * waiting now, up to max messages; never blocks. Messages without
 * credentials or cut short are skipped.
 */
napi_value vn_notify_receive(napi_env env, napi_callback_info info)
{
	size_t argc = 2;
	napi_value argv[2], ret, item, v;
	char buf[NOTIFY_MAX + 1];
	union {
		struct cmsghdr align;
		char space[CMSG_SPACE(sizeof(struct ucred))];
	} control;
	int fd, max;
	uint32_t n = 0;

	VN_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	if (argc < 2)
		return vn_throw_arg(env, "notifyReceive", "fd, max", "given");
	if (!vn_arg_int(env, argv[0], "notifyReceive", "fd", &fd) ||
	    !vn_arg_int(env, argv[1], "notifyReceive", "max", &max))
		return NULL;
	VN_CALL(env, napi_create_array(env, &ret));
	for (int i = 0; i < max; i++) {
		struct iovec iov = { .iov_base = buf, .iov_len = NOTIFY_MAX };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
				      .msg_control = control.space, .msg_controllen = sizeof(control.space) };
		ssize_t len = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (len < 0 && errno == EINTR)
			continue;
		if (len < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (len < 0)
			return vn_throw(env, VN_ERR_SYS, errno, "recvmsg", NULL, NULL);
		struct ucred *cred = NULL;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS &&
			    c->cmsg_len == CMSG_LEN(sizeof(struct ucred)))
				cred = (struct ucred *)CMSG_DATA(c);
			/* A sender may pass descriptors along: never keep them. */
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
				int *fds = (int *)CMSG_DATA(c);
				size_t nfds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
				for (size_t k = 0; k < nfds; k++)
					close(fds[k]);
			}
		}
		if (!cred || cred->pid <= 0 || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)))
			continue;
		VN_CALL(env, napi_create_object(env, &item));
		VN_CALL(env, napi_create_int32(env, cred->pid, &v));
		VN_CALL(env, napi_set_named_property(env, item, "pid", v));
		VN_CALL(env, napi_create_uint32(env, cred->uid, &v));
		VN_CALL(env, napi_set_named_property(env, item, "uid", v));
		VN_CALL(env, napi_create_string_utf8(env, buf, (size_t)len, &v));
		VN_CALL(env, napi_set_named_property(env, item, "text", v));
		VN_CALL(env, napi_set_element(env, ret, n++, item));
	}
	return ret;
}
