/* tracerEnsure's options, read and checked (tracer.h: struct ensure_opts). */
#include <stdio.h>
#include <string.h>
#include "addon.h"
#include "tracer.h"

/* Read options.<name> if present and not undefined; *t is its type. */
static bool opt_get(napi_env env, napi_value obj, const char *name, napi_value *v,
		    napi_valuetype *t)
{
	bool has = false;

	*t = napi_undefined;
	if (napi_has_named_property(env, obj, name, &has) != napi_ok)
		return false;
	if (!has)
		return true;
	return napi_get_named_property(env, obj, name, v) == napi_ok &&
	       napi_typeof(env, *v, t) == napi_ok;
}

static bool opt_u32(napi_env env, napi_value obj, const char *name, bool *has, __u32 *out)
{
	napi_valuetype t;
	napi_value v;
	char arg[64];
	int n;

	*has = false;
	if (!opt_get(env, obj, name, &v, &t))
		return false;
	if (t == napi_undefined)
		return true;
	snprintf(arg, sizeof(arg), "options.%s", name);
	if (!vn_arg_int(env, v, "tracerEnsure", arg, &n))
		return false;
	*has = true;
	*out = (__u32)n;
	return true;
}

bool vn_read_ensure_opts(napi_env env, napi_value v, struct ensure_opts *o)
{
	static const char *const hooks[] = { "none", "tracepoint", "fentry", "auto" };
	napi_valuetype t;
	napi_value x;
	char s[32];

	memset(o, 0, sizeof(*o));
	o->oom_hook = -1;
	if (napi_typeof(env, v, &t) != napi_ok)
		return false;
	if (t == napi_undefined)
		return true;
	if (t != napi_object) {
		vn_throw_arg(env, "tracerEnsure", "options", "an object or undefined");
		return false;
	}
	if (!opt_get(env, v, "signalMask", &x, &t))
		return false;
	if (t != napi_undefined) {
		o->has_mask = true;
		if (!vn_arg_u64(env, x, "tracerEnsure", "options.signalMask",
				(unsigned long long *)&o->mask))
			return false;
	}
	if (!opt_u32(env, v, "signalRate", &o->has_rate, &o->rate) ||
	    !opt_u32(env, v, "signalBurst", &o->has_burst, &o->burst))
		return false;
	if (!opt_get(env, v, "identity", &x, &t))
		return false;
	if (t != napi_undefined &&
	    !vn_arg_string(env, x, "tracerEnsure", "options.identity", o->identity,
			   sizeof(o->identity)))
		return false;
	if (!opt_get(env, v, "btfPath", &x, &t))
		return false;
	if (t != napi_undefined &&
	    !vn_arg_path(env, x, "tracerEnsure", "options.btfPath", o->btf_path))
		return false;
	if (!opt_get(env, v, "skip", &x, &t))
		return false;
	if (t != napi_undefined) {
		uint32_t len = 0;
		bool is_array = false;

		if (napi_is_array(env, x, &is_array) != napi_ok || !is_array ||
		    napi_get_array_length(env, x, &len) != napi_ok) {
			vn_throw_arg(env, "tracerEnsure", "options.skip", "an array of 'fork', 'exec'");
			return false;
		}
		for (uint32_t i = 0; i < len; i++) {
			napi_value el;

			if (napi_get_element(env, x, i, &el) != napi_ok ||
			    !vn_arg_string(env, el, "tracerEnsure", "options.skip[]", s, sizeof(s)))
				return false;
			if (strcmp(s, "fork") == 0)
				o->skipped |= 1u << L_FORK;
			else if (strcmp(s, "exec") == 0)
				o->skipped |= 1u << L_EXEC;
			else {
				vn_throw_arg(env, "tracerEnsure", "options.skip[]", "'fork' or 'exec'");
				return false;
			}
		}
	}
	if (!opt_get(env, v, "oomHook", &x, &t))
		return false;
	if (t != napi_undefined) {
		if (!vn_arg_string(env, x, "tracerEnsure", "options.oomHook", s, sizeof(s)))
			return false;
		for (int i = 0; i < 4; i++)
			if (strcmp(s, hooks[i]) == 0)
				o->oom_hook = i == 3 ? -1 : i;
		if (o->oom_hook < 0 && strcmp(s, "auto") != 0) {
			vn_throw_arg(env, "tracerEnsure", "options.oomHook",
				     "one of auto, tracepoint, fentry, none");
			return false;
		}
	}
	return true;
}
