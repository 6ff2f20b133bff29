/*
 * Consumer: reads the pinned `events` ring buffer on the Node main loop.
 *
 *   new Consumer(pinDir, callback)  bpf_obj_get + ring_buffer__new, and a
 *                                   uv_poll on ring_buffer__epoll_fd()
 *   readable -> ring_buffer__consume, then the exits that waited in
 *               exit_overflow -> callback(records: Buffer[]) once
 *   poll()   -> the same, synchronously; returns the number of records
 *   close()  -> uv_poll_stop + uv_close, ring_buffer__free; idempotent
 *
 * No threads and no libuv threadpool. While open, the poll handle keeps the
 * loop alive and a strong reference keeps the JS object (and so the callback)
 * from being collected; close() or environment teardown releases both.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "addon.h"
#include "events.h"

struct consumer {
	napi_env env;
	napi_ref self;     /* strong while open */
	napi_ref callback; /* the JS callback */
	napi_async_context actx;
	struct ring_buffer *rb;
	int map_fd;
	/* exits that found the ring buffer full (vigil.bpf.c exit_overflow) and
	 * the share counters per cgroup; -1 where the pinned build has none */
	int overflow_fd, overflow_written_fd, overflow_read_fd;
	uv_poll_t *poll; /* separately allocated: freed by the uv_close callback */
	bool open;
	bool hooked; /* env cleanup hook registered */
	/* the batch being collected by ring_buffer__consume */
	napi_value batch;
	uint32_t batch_len;
	bool batch_failed;
};

static void env_cleanup(void *arg);

static void close_overflow_fds(struct consumer *c)
{
	if (c->overflow_fd >= 0)
		close(c->overflow_fd);
	if (c->overflow_written_fd >= 0)
		close(c->overflow_written_fd);
	if (c->overflow_read_fd >= 0)
		close(c->overflow_read_fd);
	c->overflow_fd = c->overflow_written_fd = c->overflow_read_fd = -1;
}

/* Release the kernel and loop resources; JS references only when allowed. */
static void consumer_close(struct consumer *c, bool js_refs)
{
	if (!c->open)
		return;
	c->open = false;
	vn_poll_close(&c->poll);
	ring_buffer__free(c->rb); /* closes the epoll fd */
	c->rb = NULL;
	if (c->map_fd >= 0)
		close(c->map_fd);
	c->map_fd = -1;
	close_overflow_fds(c);
	if (c->hooked) {
		napi_remove_env_cleanup_hook(c->env, env_cleanup, c);
		c->hooked = false;
	}
	if (js_refs)
		vn_js_refs_release(c->env, &c->actx, &c->callback, &c->self);
}

static void env_cleanup(void *arg)
{
	struct consumer *c = arg;

	c->hooked = false; /* the hook is being run: do not remove it */
	consumer_close(c, true);
}

static void finalize(napi_env env, void *data, void *hint)
{
	struct consumer *c = data;

	consumer_close(c, false);
	free(c);
}

static int on_sample(void *ctx, void *data, size_t size)
{
	struct consumer *c = ctx;
	napi_value buf;

	if (c->batch_failed)
		return 0;
	if (napi_create_buffer_copy(c->env, size, data, NULL, &buf) != napi_ok ||
	    napi_set_element(c->env, c->batch, c->batch_len, buf) != napi_ok) {
		c->batch_failed = true;
		return 0; /* the record is consumed either way */
	}
	c->batch_len++;
	return 0;
}

/*
 * Take the exits that waited in exit_overflow, after the ring buffer: each is
 * passed on as a ring record would be, deleted, and counted in overflow_read
 * for its cgroup, which gives that cgroup's share back. An exit put there
 * while this runs is taken at the next wakeup or poll(). A cgroup unwatched
 * meanwhile has no counters left (tracer_query.c): none is made again.
 */
static void drain_overflow(struct consumer *c)
{
	struct vigil_task_key key;
	struct vigil_exit_event e;

	if (c->overflow_fd < 0)
		return;
	for (int i = 0; i < VIGIL_OVERFLOW_ENTRIES; i++) {
		__u64 wid, written, n = 0;

		if (bpf_map_get_next_key(c->overflow_fd, NULL, &key) < 0)
			return; /* empty */
		if (bpf_map_lookup_elem(c->overflow_fd, &key, &e) < 0 ||
		    bpf_map_delete_elem(c->overflow_fd, &key) < 0)
			continue; /* taken meanwhile by another reader */
		on_sample(c, &e, sizeof(e));
		wid = e.header.cgroup_id;
		if (c->overflow_read_fd < 0 || c->overflow_written_fd < 0 ||
		    bpf_map_lookup_elem(c->overflow_written_fd, &wid, &written) < 0)
			continue;
		bpf_map_lookup_elem(c->overflow_read_fd, &wid, &n);
		n++;
		bpf_map_update_elem(c->overflow_read_fd, &wid, &n, BPF_ANY);
		/* unwatched between the lookup and the update: drop what was made */
		if (bpf_map_lookup_elem(c->overflow_written_fd, &wid, &written) < 0)
			bpf_map_delete_elem(c->overflow_read_fd, &wid);
	}
}

/* Consume what is waiting into c->batch. Returns the count or -errno. */
static int collect(struct consumer *c)
{
	int n;

	c->batch_len = 0;
	c->batch_failed = false;
	if (napi_create_array(c->env, &c->batch) != napi_ok)
		return -ENOMEM;
	n = ring_buffer__consume(c->rb);
	if (n < 0)
		return n;
	drain_overflow(c);
	if (c->batch_failed)
		return -ENOMEM;
	return (int)c->batch_len;
}

static void on_readable(uv_poll_t *h, int status, int events)
{
	struct consumer *c = h->data;
	napi_handle_scope scope;
	napi_value cb, recv, result, err;
	napi_status st;
	int n;

	if (!c || !c->open)
		return;
	if (napi_open_handle_scope(c->env, &scope) != napi_ok)
		return;
	if (status < 0) {
		vn_throw(c->env, VN_ERR_RINGBUF, -status, "Consumer: uv_poll", NULL, NULL);
		goto report;
	}
	n = collect(c);
	if (n < 0) {
		vn_throw(c->env, VN_ERR_RINGBUF, -n, "Consumer: ring_buffer__consume", NULL, NULL);
		goto report;
	}
	if (n == 0)
		goto out;
	/* make_callback needs an object receiver: the Consumer itself. */
	if (napi_get_reference_value(c->env, c->callback, &cb) != napi_ok ||
	    napi_get_reference_value(c->env, c->self, &recv) != napi_ok || !recv)
		goto out;
	/* make_callback: a proper async boundary (microtasks, async hooks). */
	st = napi_make_callback(c->env, c->actx, recv, cb, 1, &c->batch, &result);
	if (st == napi_ok)
		goto out;
report:
	/* An exception from the callback (or ours) goes to 'uncaughtException'. */
	if (napi_get_and_clear_last_exception(c->env, &err) == napi_ok) {
		napi_valuetype t;

		if (napi_typeof(c->env, err, &t) == napi_ok && t != napi_undefined)
			napi_fatal_exception(c->env, err);
	}
out:
	c->batch = NULL;
	napi_close_handle_scope(c->env, scope);
}

static struct consumer *unwrap_this(napi_env env, napi_callback_info info, const char *fn)
{
	napi_value self;
	struct consumer *c = NULL;

	if (napi_get_cb_info(env, info, NULL, NULL, &self, NULL) != napi_ok ||
	    napi_unwrap(env, self, (void **)&c) != napi_ok || !c) {
		vn_throw_arg(env, fn, "this", "a Consumer");
		return NULL;
	}
	return c;
}

/* new Consumer(pinDir: string, callback: (records: Buffer[]) => void) */
static napi_value consumer_new(napi_env env, napi_callback_info info)
{
	char dir[PATH_MAX], path[PATH_MAX];
	napi_value argv[2], self, target, name;
	napi_valuetype t;
	size_t argc = 2;
	struct consumer *c;
	uv_loop_t *loop;
	int err, rc;

	VN_CALL(env, napi_get_new_target(env, info, &target));
	if (!target)
		return vn_throw_arg(env, "Consumer", "new.target", "set (call with new)");
	VN_CALL(env, napi_get_cb_info(env, info, &argc, argv, &self, NULL));
	if (argc < 2)
		return vn_throw_arg(env, "Consumer", "pinDir, callback", "given");
	if (!vn_arg_path(env, argv[0], "Consumer", "pinDir", dir) ||
	    !vn_join(env, "Consumer", dir, "events", path))
		return NULL;
	if (napi_typeof(env, argv[1], &t) != napi_ok || t != napi_function)
		return vn_throw_arg(env, "Consumer", "callback", "a function");
	VN_CALL(env, napi_get_uv_event_loop(env, &loop));

	c = calloc(1, sizeof(*c));
	if (!c)
		return vn_throw(env, VN_ERR_SYS, ENOMEM, "Consumer: calloc", NULL, NULL);
	c->env = env;
	/* -1 where the pinned build predates the overflow: the ring buffer alone then */
	c->overflow_fd = vn_pinned_fd(dir, "exit_overflow");
	c->overflow_written_fd = vn_pinned_fd(dir, "overflow_written");
	c->overflow_read_fd = vn_pinned_fd(dir, "overflow_read");
	c->map_fd = bpf_obj_get(path);
	if (c->map_fd < 0) {
		err = errno;
		close_overflow_fds(c);
		free(c);
		return vn_throw(env, VN_ERR_MAP, err, "Consumer: bpf_obj_get", path, NULL);
	}
	c->rb = ring_buffer__new(c->map_fd, on_sample, c, NULL);
	if (!c->rb) {
		err = errno;
		close(c->map_fd);
		close_overflow_fds(c);
		free(c);
		return vn_throw(env, VN_ERR_RINGBUF, err, "Consumer: ring_buffer__new", path,
				NULL);
	}
	c->poll = calloc(1, sizeof(*c->poll));
	if (!c->poll) {
		err = ENOMEM;
		goto fail_rb;
	}
	if ((rc = uv_poll_init(loop, c->poll, ring_buffer__epoll_fd(c->rb))) < 0) {
		err = -rc;
		free(c->poll);
		goto fail_rb;
	}
	c->poll->data = c;
	c->open = true;
	if (napi_wrap(env, self, c, finalize, NULL, NULL) != napi_ok) {
		/* not wrapped: close the handle ourselves, then free */
		consumer_close(c, true);
		free(c);
		return vn_throw(env, VN_ERR_STATE, 0, "Consumer: napi_wrap", NULL, NULL);
	}
	/* From here on `c` belongs to the wrapper; errors close but do not free. */
	if (napi_create_reference(env, argv[1], 1, &c->callback) != napi_ok ||
	    napi_create_reference(env, self, 1, &c->self) != napi_ok ||
	    napi_create_string_utf8(env, "vigil:Consumer", NAPI_AUTO_LENGTH, &name) != napi_ok ||
	    napi_async_init(env, self, name, &c->actx) != napi_ok ||
	    napi_add_env_cleanup_hook(env, env_cleanup, c) != napi_ok) {
		consumer_close(c, true);
		return vn_throw(env, VN_ERR_STATE, 0, "Consumer: napi setup", NULL, NULL);
	}
	c->hooked = true;
	if ((rc = uv_poll_start(c->poll, UV_READABLE, on_readable)) < 0) {
		consumer_close(c, true);
		return vn_throw(env, VN_ERR_RINGBUF, -rc, "Consumer: uv_poll_start", path, NULL);
	}
	return self;

fail_rb:
	ring_buffer__free(c->rb);
	close(c->map_fd);
	close_overflow_fds(c);
	free(c);
	return vn_throw(env, VN_ERR_RINGBUF, err, "Consumer: uv_poll_init", path, NULL);
}

/* consumer.poll(): number — consume now, calling the callback if anything came. */
static napi_value consumer_poll(napi_env env, napi_callback_info info)
{
	struct consumer *c = unwrap_this(env, info, "Consumer.poll");
	napi_value cb, recv, result, count;
	int n;

	if (!c)
		return NULL;
	if (!c->open)
		return vn_throw(env, VN_ERR_STATE, 0, "Consumer.poll on a closed consumer", NULL,
				NULL);
	n = collect(c);
	if (n < 0)
		return vn_throw(env, VN_ERR_RINGBUF, -n, "Consumer.poll: ring_buffer__consume",
				NULL, NULL);
	if (n > 0) {
		VN_CALL(env, napi_get_reference_value(env, c->callback, &cb));
		VN_CALL(env, napi_get_undefined(env, &recv));
		if (napi_call_function(env, recv, cb, 1, &c->batch, &result) != napi_ok)
			return NULL; /* the callback threw: let it propagate */
	}
	c->batch = NULL;
	VN_CALL(env, napi_create_uint32(env, (uint32_t)n, &count));
	return count;
}

/* consumer.close(): void — safe to call more than once. */
static napi_value consumer_close_js(napi_env env, napi_callback_info info)
{
	struct consumer *c = unwrap_this(env, info, "Consumer.close");

	if (c)
		consumer_close(c, true);
	return NULL;
}

/* consumer.closed: boolean */
static napi_value consumer_closed(napi_env env, napi_callback_info info)
{
	struct consumer *c = unwrap_this(env, info, "Consumer.closed");
	napi_value v;

	if (!c)
		return NULL;
	VN_CALL(env, napi_get_boolean(env, !c->open, &v));
	return v;
}

bool vn_consumer_init(napi_env env, napi_value exports)
{
	napi_property_descriptor methods[] = {
		{ "poll", NULL, consumer_poll, NULL, NULL, NULL, napi_default, NULL },
		{ "close", NULL, consumer_close_js, NULL, NULL, NULL, napi_default, NULL },
		{ "closed", NULL, NULL, consumer_closed, NULL, NULL, napi_default, NULL },
	};
	napi_value cls;

	if (napi_define_class(env, "Consumer", NAPI_AUTO_LENGTH, consumer_new, NULL,
			      sizeof(methods) / sizeof(methods[0]), methods, &cls) != napi_ok)
		return false;
	return napi_set_named_property(env, exports, "Consumer", cls) == napi_ok;
}
