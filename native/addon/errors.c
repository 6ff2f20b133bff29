/* Error construction and argument validation for vigil_native. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "addon.h"

static void set_str(napi_env env, napi_value obj, const char *key, const char *val)
{
	napi_value v;

	if (val && napi_create_string_utf8(env, val, NAPI_AUTO_LENGTH, &v) == napi_ok)
		napi_set_named_property(env, obj, key, v);
}

napi_value vn_throw(napi_env env, const char *code, int err, const char *op, const char *path,
		    const char *detail)
{
	char msg[PATH_MAX + 256];
	napi_value jcode, jmsg, error;
	bool pending = false;

	/* Never replace an exception that JS or N-API already raised. */
	if (napi_is_exception_pending(env, &pending) == napi_ok && pending)
		return NULL;
	if (path && err)
		snprintf(msg, sizeof(msg), "%s '%s': %s", op, path, strerror(err));
	else if (path)
		snprintf(msg, sizeof(msg), "%s '%s'", op, path);
	else if (err)
		snprintf(msg, sizeof(msg), "%s: %s", op, strerror(err));
	else
		snprintf(msg, sizeof(msg), "%s failed", op);
	if (napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &jcode) != napi_ok ||
	    napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &jmsg) != napi_ok ||
	    napi_create_error(env, jcode, jmsg, &error) != napi_ok) {
		napi_throw_error(env, code, msg);
		return NULL;
	}
	if (err) {
		const char *name = strerrorname_np(err);

		set_str(env, error, "errno", name ? name : "EUNKNOWN");
	}
	set_str(env, error, "syscall", op);
	set_str(env, error, "path", path);
	if (detail && *detail)
		set_str(env, error, "detail", detail);
	napi_throw(env, error);
	return NULL;
}

napi_value vn_throw_arg(napi_env env, const char *fn, const char *arg, const char *expected)
{
	char msg[256];

	snprintf(msg, sizeof(msg), "%s: argument '%s' must be %s", fn, arg, expected);
	napi_throw_type_error(env, VN_ERR_ARG, msg);
	return NULL;
}

bool vn_arg_string(napi_env env, napi_value v, const char *fn, const char *arg, char *out,
		   size_t cap)
{
	napi_valuetype t;
	size_t len = 0;

	if (napi_typeof(env, v, &t) != napi_ok || t != napi_string) {
		vn_throw_arg(env, fn, arg, "a string");
		return false;
	}
	if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok || len == 0 ||
	    len >= cap) {
		vn_throw_arg(env, fn, arg, "a non-empty string shorter than PATH_MAX");
		return false;
	}
	napi_get_value_string_utf8(env, v, out, cap, &len);
	if (strlen(out) != len) {
		vn_throw_arg(env, fn, arg, "a string without NUL bytes");
		return false;
	}
	return true;
}

bool vn_arg_path(napi_env env, napi_value v, const char *fn, const char *arg, char out[PATH_MAX])
{
	if (!vn_arg_string(env, v, fn, arg, out, PATH_MAX))
		return false;
	if (out[0] != '/') {
		char msg[PATH_MAX + 128];

		snprintf(msg, sizeof(msg), "%s: argument '%s' must be an absolute path, got '%s'",
			 fn, arg, out);
		napi_throw_error(env, VN_ERR_ARG_VALUE, msg);
		return false;
	}
	return true;
}

bool vn_arg_u64(napi_env env, napi_value v, const char *fn, const char *arg, unsigned long long *out)
{
	napi_valuetype t;
	uint64_t val;
	bool lossless = false;

	if (napi_typeof(env, v, &t) != napi_ok || t != napi_bigint ||
	    napi_get_value_bigint_uint64(env, v, &val, &lossless) != napi_ok || !lossless) {
		vn_throw_arg(env, fn, arg, "a bigint in 0..2^64-1");
		return false;
	}
	*out = val;
	return true;
}

bool vn_arg_bool(napi_env env, napi_value v, const char *fn, const char *arg, bool *out)
{
	napi_valuetype t;

	if (napi_typeof(env, v, &t) != napi_ok || t != napi_boolean ||
	    napi_get_value_bool(env, v, out) != napi_ok) {
		vn_throw_arg(env, fn, arg, "a boolean");
		return false;
	}
	return true;
}

bool vn_arg_int(napi_env env, napi_value v, const char *fn, const char *arg, int *out)
{
	napi_valuetype t;
	double d;

	if (napi_typeof(env, v, &t) != napi_ok || t != napi_number ||
	    napi_get_value_double(env, v, &d) != napi_ok || d != (double)(int)d || d < 0) {
		vn_throw_arg(env, fn, arg, "a non-negative integer");
		return false;
	}
	*out = (int)d;
	return true;
}

bool vn_join(napi_env env, const char *fn, const char *dir, const char *name, char out[PATH_MAX])
{
	int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);

	if (n < 0 || n >= PATH_MAX) {
		vn_throw(env, VN_ERR_ARG_VALUE, ENAMETOOLONG, fn, dir, NULL);
		return false;
	}
	return true;
}

/* libbpf log: the last 8 KiB of info/warn output, for the `detail` of errors. */
static char log_buf[8192];
static size_t log_len;

static int log_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char line[1024];
	int n;

	if (level == LIBBPF_DEBUG)
		return 0;
	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n < 0)
		return 0;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	if (log_len + n >= sizeof(log_buf)) {
		/* keep the tail: the verifier's verdict comes last */
		size_t keep = sizeof(log_buf) / 2;

		if (log_len > keep) {
			memmove(log_buf, log_buf + log_len - keep, keep);
			log_len = keep;
		}
		if (log_len + n >= sizeof(log_buf))
			n = sizeof(log_buf) - 1 - log_len;
	}
	memcpy(log_buf + log_len, line, n);
	log_len += n;
	log_buf[log_len] = '\0';
	return n;
}

void vn_libbpf_log_install(void)
{
	libbpf_set_print(log_print);
}

void vn_libbpf_log_reset(void)
{
	log_len = 0;
	log_buf[0] = '\0';
}

const char *vn_libbpf_log(void)
{
	return log_buf;
}
