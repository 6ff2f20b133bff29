/* The tracer's pins and settings, shared by tracer.c (load, replace, remove),
 * tracer_opts.c (tracerEnsure's options) and tracer_query.c (watch, counters, info). */
#ifndef VIGIL_ADDON_TRACER_H
#define VIGIL_ADDON_TRACER_H

#include <limits.h>
#include <stdbool.h>
#include <linux/types.h>
#include <node_api.h>
#include "events.h"

/* Links in the loader's order; also the bits of vigil_control.skipped. */
enum { L_EXIT, L_SIGNAL, L_OOM, L_FORK, L_EXEC, N_LINKS };

/* Pin names of the links, by L_*. */
extern const char *const vn_link_pins[N_LINKS];
/* The program behind link i (the OOM link's depends on the hook). */
const char *vn_link_prog(int i, __u32 oom_hook);
/* "none", "tracepoint" or "fentry". */
const char *vn_oom_hook_name(__u32 hook);

/* Room for a pin directory plus a pin or program name, for messages. */
#define ERRPATH_MAX (PATH_MAX + 64)

struct ensure_opts {
	bool has_mask;
	__u64 mask;
	bool has_rate, has_burst;
	__u32 rate, burst;
	char identity[VIGIL_IDENTITY_LEN];
	int oom_hook; /* -1 = detect */
	__u32 skipped; /* bit N: do not attach link N (optional programs only) */
	char btf_path[PATH_MAX]; /* "" = the kernel's own */
};

/* Read tracerEnsure's options (undefined: defaults); throws and returns false when wrong. */
bool vn_read_ensure_opts(napi_env env, napi_value v, struct ensure_opts *o);
/* The pinned control record of dir; false if there is none. */
bool vn_read_control(const char *dir, struct vigil_control *out);

#endif
