/*
 * ProcConnector: process exits from the kernel's netlink process connector
 * (PROC_EVENT_EXIT), the degraded-mode source of exits where the BPF tracer
 * cannot load (no BTF, no ring buffer). Read on the Node main loop like the
 * Consumer: a uv_poll on the socket, callback(records[]) per readable batch.
 *
 *   new ProcConnector(callback)   socket, bind to CN_IDX_PROC, PROC_CN_MCAST_LISTEN
 *   close()                       PROC_CN_MCAST_IGNORE, uv_close; idempotent
 *
 * Unlike the ring buffer, nothing is recorded while no one listens, and a
 * full socket buffer loses messages (ENOBUFS): each such overrun is passed to
 * the callback as a record { overrun: true } so the caller reconciles at once.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <uv.h>
#include "addon.h"

struct procconn {
	napi_env env;
	napi_ref self, callback;
	napi_async_context actx;
	int fd;
	uv_poll_t *poll;
	bool open, hooked;
};

static int mcast(int fd, enum proc_cn_mcast_op op)
{
	struct {
		struct nlmsghdr nl;
		struct cn_msg cn;
		enum proc_cn_mcast_op op;
	} __attribute__((packed)) m;

	memset(&m, 0, sizeof(m));
	m.nl.nlmsg_len = sizeof(m);
	m.nl.nlmsg_type = NLMSG_DONE;
	m.nl.nlmsg_pid = 0;
	m.cn.id.idx = CN_IDX_PROC;
	m.cn.id.val = CN_VAL_PROC;
	m.cn.len = sizeof(enum proc_cn_mcast_op);
	m.op = op;
	return send(fd, &m, sizeof(m), 0) < 0 ? -errno : 0;
}

static void pc_env_cleanup(void *arg);

static void pc_close(struct procconn *c, bool js_refs)
{
	if (!c->open)
		return;
	c->open = false;
	vn_poll_close(&c->poll);
	if (c->fd >= 0) {
		mcast(c->fd, PROC_CN_MCAST_IGNORE);
		close(c->fd);
	}
	c->fd = -1;
	if (c->hooked) {
		napi_remove_env_cleanup_hook(c->env, pc_env_cleanup, c);
		c->hooked = false;
	}
	if (js_refs)
		vn_js_refs_release(c->env, &c->actx, &c->callback, &c->self);
}

static void pc_env_cleanup(void *arg)
{
	struct procconn *c = arg;

	c->hooked = false;
	pc_close(c, true);
}

static void pc_finalize(napi_env env, void *data, void *hint)
{
	pc_close(data, false);
	free(data);
}

static bool set_num(napi_env env, napi_value o, const char *k, double v)
{
	napi_value x;

	return napi_create_double(env, v, &x) == napi_ok &&
	       napi_set_named_property(env, o, k, x) == napi_ok;
}

/* Append one exit (or an overrun marker) to arr. */
static bool push_exit(napi_env env, napi_value arr, uint32_t *n, const struct proc_event *ev)
{
	napi_value o, ts;

	if (napi_create_object(env, &o) != napi_ok)
		return false;
	if (!ev) {
		napi_value t;

		if (napi_get_boolean(env, true, &t) != napi_ok ||
		    napi_set_named_property(env, o, "overrun", t) != napi_ok)
			return false;
	} else {
		if (!set_num(env, o, "pid", ev->event_data.exit.process_tgid) ||
		    !set_num(env, o, "tid", ev->event_data.exit.process_pid) ||
		    !set_num(env, o, "exitCode", ev->event_data.exit.exit_code) ||
		    !set_num(env, o, "ppid", ev->event_data.exit.parent_tgid) ||
		    napi_create_bigint_uint64(env, ev->timestamp_ns, &ts) != napi_ok ||
		    napi_set_named_property(env, o, "tsNs", ts) != napi_ok)
			return false;
	}
	return napi_set_element(env, arr, (*n)++, o) == napi_ok;
}

static void pc_readable(uv_poll_t *h, int status, int events)
{
	struct procconn *c = h->data;
	char buf[16384] __attribute__((aligned(NLMSG_ALIGNTO)));
	napi_handle_scope scope;
	napi_value arr, cb, receiver, result, err;
	uint32_t n = 0;

	if (!c || !c->open || status < 0)
		return;
	if (napi_open_handle_scope(c->env, &scope) != napi_ok)
		return;
	if (napi_create_array(c->env, &arr) != napi_ok)
		goto out;
	for (int rounds = 0; rounds < 64; rounds++) {
		ssize_t len = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
		struct nlmsghdr *nl;

		if (len < 0) {
			if (errno == ENOBUFS) {
				push_exit(c->env, arr, &n, NULL);
				continue;
			}
			break; /* EAGAIN: drained */
		}
		for (nl = (struct nlmsghdr *)buf; NLMSG_OK(nl, (size_t)len); nl = NLMSG_NEXT(nl, len)) {
			struct cn_msg *cn = NLMSG_DATA(nl);
			struct proc_event *ev;

			if (nl->nlmsg_type == NLMSG_ERROR || nl->nlmsg_type == NLMSG_NOOP)
				continue;
			if (cn->id.idx != CN_IDX_PROC || cn->id.val != CN_VAL_PROC ||
			    cn->len < sizeof(struct proc_event))
				continue;
			ev = (struct proc_event *)cn->data;
			if (ev->what == PROC_EVENT_EXIT)
				push_exit(c->env, arr, &n, ev);
		}
	}
	if (n == 0)
		goto out;
	if (napi_get_reference_value(c->env, c->callback, &cb) != napi_ok ||
	    napi_get_reference_value(c->env, c->self, &receiver) != napi_ok || !receiver)
		goto out;
	if (napi_make_callback(c->env, c->actx, receiver, cb, 1, &arr, &result) != napi_ok &&
	    napi_get_and_clear_last_exception(c->env, &err) == napi_ok) {
		napi_valuetype t;

		if (napi_typeof(c->env, err, &t) == napi_ok && t != napi_undefined)
			napi_fatal_exception(c->env, err);
	}
out:
	napi_close_handle_scope(c->env, scope);
}

/* new ProcConnector(callback: (exits: ProcExit[]) => void) */
static napi_value pc_new(napi_env env, napi_callback_info info)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = CN_IDX_PROC };
	napi_value argv[1], self, target, name;
	int rcvbuf = 4 << 20, err = 0, rc;
	size_t argc = 1;
	napi_valuetype t;
	struct procconn *c;
	uv_loop_t *loop;

	VN_CALL(env, napi_get_new_target(env, info, &target));
	if (!target)
		return vn_throw_arg(env, "ProcConnector", "new.target", "set (call with new)");
	VN_CALL(env, napi_get_cb_info(env, info, &argc, argv, &self, NULL));
	if (argc < 1 || napi_typeof(env, argv[0], &t) != napi_ok || t != napi_function)
		return vn_throw_arg(env, "ProcConnector", "callback", "a function");
	VN_CALL(env, napi_get_uv_event_loop(env, &loop));
	c = calloc(1, sizeof(*c));
	if (!c)
		return vn_throw(env, VN_ERR_SYS, ENOMEM, "ProcConnector: calloc", NULL, NULL);
	c->env = env;
	c->fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_CONNECTOR);
	if (c->fd < 0) {
		err = errno;
		free(c);
		return vn_throw(env, VN_ERR_SYS, err, "ProcConnector: socket(NETLINK_CONNECTOR)", NULL,
				NULL);
	}
	/* Room for bursts of exits; FORCE works for root beyond rmem_max. */
	if (setsockopt(c->fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
		setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (bind(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    (err = -mcast(c->fd, PROC_CN_MCAST_LISTEN)) != 0) {
		err = err ? err : errno;
		close(c->fd);
		free(c);
		return vn_throw(env, VN_ERR_SYS, err, "ProcConnector: listen to the process connector",
				NULL, NULL);
	}
	c->poll = calloc(1, sizeof(*c->poll));
	if (!c->poll || (rc = uv_poll_init(loop, c->poll, c->fd)) < 0) {
		err = c->poll ? -rc : ENOMEM;
		free(c->poll);
		close(c->fd);
		free(c);
		return vn_throw(env, VN_ERR_SYS, err, "ProcConnector: uv_poll_init", NULL, NULL);
	}
	c->poll->data = c;
	c->open = true;
	if (napi_wrap(env, self, c, pc_finalize, NULL, NULL) != napi_ok) {
		pc_close(c, true);
		free(c);
		return vn_throw(env, VN_ERR_STATE, 0, "ProcConnector: napi_wrap", NULL, NULL);
	}
	if (napi_create_reference(env, argv[0], 1, &c->callback) != napi_ok ||
	    napi_create_reference(env, self, 1, &c->self) != napi_ok ||
	    napi_create_string_utf8(env, "vigil:ProcConnector", NAPI_AUTO_LENGTH, &name) != napi_ok ||
	    napi_async_init(env, self, name, &c->actx) != napi_ok ||
	    napi_add_env_cleanup_hook(env, pc_env_cleanup, c) != napi_ok) {
		pc_close(c, true);
		return vn_throw(env, VN_ERR_STATE, 0, "ProcConnector: napi setup", NULL, NULL);
	}
	c->hooked = true;
	if ((rc = uv_poll_start(c->poll, UV_READABLE, pc_readable)) < 0) {
		pc_close(c, true);
		return vn_throw(env, VN_ERR_SYS, -rc, "ProcConnector: uv_poll_start", NULL, NULL);
	}
	return self;
}

static napi_value pc_close_js(napi_env env, napi_callback_info info)
{
	napi_value self;
	struct procconn *c = NULL;

	if (napi_get_cb_info(env, info, NULL, NULL, &self, NULL) == napi_ok &&
	    napi_unwrap(env, self, (void **)&c) == napi_ok && c)
		pc_close(c, true);
	return NULL;
}

bool vn_proc_connector_init(napi_env env, napi_value exports)
{
	napi_property_descriptor methods[] = {
		{ "close", NULL, pc_close_js, NULL, NULL, NULL, napi_default, NULL },
	};
	napi_value cls;

	if (napi_define_class(env, "ProcConnector", NAPI_AUTO_LENGTH, pc_new, NULL, 1, methods,
			      &cls) != napi_ok)
		return false;
	return napi_set_named_property(env, exports, "ProcConnector", cls) == napi_ok;
}
