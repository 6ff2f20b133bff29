/* vigil_native module registration. */
#include "addon.h"

NAPI_MODULE_INIT()
{
	napi_property_descriptor fns[] = {
		{ "tracerEnsure", NULL, vn_tracer_ensure, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "tracerRemove", NULL, vn_tracer_remove, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "watch", NULL, vn_watch, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "unwatch", NULL, vn_unwatch, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "counters", NULL, vn_counters, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "tracerInfo", NULL, vn_tracer_info, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "kernelSupport", NULL, vn_kernel_support, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "flock", NULL, vn_flock, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "mountCgroup2", NULL, vn_mount_cgroup2, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "monotonicNs", NULL, vn_monotonic_ns, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "peerCred", NULL, vn_peer_cred, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "notifyBind", NULL, vn_notify_bind, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "notifyReceive", NULL, vn_notify_receive, NULL, NULL, NULL, napi_enumerable, NULL },
	};

	vn_libbpf_log_install();
	if (napi_define_properties(env, exports, sizeof(fns) / sizeof(fns[0]), fns) != napi_ok)
		return NULL;
	if (!vn_consumer_init(env, exports) || !vn_proc_connector_init(env, exports))
		return NULL;
	return exports;
}
