// SPDX-License-Identifier: GPL-2.0
/*
 * vigil tracer: process exit, signals and OOM kills of watched cgroups.
 *
 * Filtering happens here: an event is written only when the subject task's
 * cgroup v2 id is a key of `watched`, so the rest of the host costs one hash
 * lookup per hook. Records go to the `events` ring buffer (layout in
 * events.h); a full buffer is counted in `drops`, never ignored. The maps and
 * links are pinned by the loader, so recording continues with no reader.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "events.h"

char LICENSE[] SEC("license") = "GPL";

/* Bit N set = signal N is reported. The loader may override it before load;
 * the default is the fatal set plus SIGSTOP/SIGTSTP (0x8318ebfe). */
const volatile __u64 signal_mask = (1ULL << 1) | (1ULL << 2) | (1ULL << 3) | (1ULL << 4) |
				   (1ULL << 5) | (1ULL << 6) | (1ULL << 7) | (1ULL << 8) |
				   (1ULL << 9) | (1ULL << 11) | (1ULL << 13) | (1ULL << 14) |
				   (1ULL << 15) | (1ULL << 24) | (1ULL << 25) | (1ULL << 31) |
				   (1ULL << 19) | (1ULL << 20);

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);  /* cgroup v2 id */
	__type(value, __u8); /* unused */
} watched SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VIGIL_DROPS_SLOTS);
	__type(key, __u32);   /* enum vigil_event_kind */
	__type(value, __u64); /* records lost because the ring buffer was full */
} drops SEC(".maps");

/* Processes whose exit was already reported. Two threads of a group exit can
 * both read signal->live == 0 (each decrements it early in do_exit and reaches
 * the tracepoint later), so the first to insert its key wins. Keyed by
 * (tgid, leader start time), which no later process can reuse. */
struct exit_key {
	__u32 tgid;
	__u32 _pad;
	__u64 start_boottime_ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct exit_key);
	__type(value, __u8);
} exit_seen SEC(".maps");

#define SEND_SIG_NOINFO_PTR 0UL /* kernel's SEND_SIG_NOINFO: treat as SI_USER */
#define SEND_SIG_PRIV_PTR 1UL   /* kernel's SEND_SIG_PRIV: treat as SI_KERNEL */
#define SI_USER_CODE 0
#define SI_KERNEL_CODE 0x80

static __always_inline bool is_watched(__u64 cgroup_id)
{
	return bpf_map_lookup_elem(&watched, &cgroup_id) != NULL;
}

static __always_inline __u64 task_cgroup_id(struct task_struct *t)
{
	return BPF_CORE_READ(t, cgroups, dfl_cgrp, kn, id);
}

static __always_inline void count_drop(__u32 kind)
{
	__u64 *n = bpf_map_lookup_elem(&drops, &kind);

	if (n)
		*n += 1;
}

static __always_inline void fill_header(struct vigil_event_header *h, __u64 cgroup_id,
					__u16 kind, __u32 size)
{
	h->ts_ns = bpf_ktime_get_ns();
	h->cgroup_id = cgroup_id;
	h->kind = kind;
	h->version = VIGIL_EVENT_VERSION;
	h->size = size;
}

/* Process identity: tgid, thread id, and the leader's start time and comm. */
static __always_inline void fill_task(struct vigil_task *out, struct task_struct *t)
{
	struct task_struct *leader = BPF_CORE_READ(t, group_leader);

	out->pid = BPF_CORE_READ(t, tgid);
	out->tid = BPF_CORE_READ(t, pid);
	out->start_boottime_ns = BPF_CORE_READ(leader, start_boottime);
	BPF_CORE_READ_STR_INTO(&out->comm, leader, comm);
}

/*
 * do_exit() -> trace_sched_process_exit(), once per exiting thread, after
 * signal->live was decremented and task->exit_code set. Only the first
 * argument is used: 6.16+ adds `bool group_dead`, older kernels have only p.
 */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(vigil_exit, struct task_struct *p)
{
	struct vigil_exit_event *e;
	struct exit_key key = {};
	__u64 cgid;
	__s32 code;

	if (BPF_CORE_READ(p, signal, live.counter) != 0)
		return 0; /* not the last thread of the group */
	cgid = bpf_get_current_cgroup_id();
	if (!is_watched(cgid))
		return 0;
	key.tgid = BPF_CORE_READ(p, tgid);
	key.start_boottime_ns = BPF_CORE_READ(p, group_leader, start_boottime);
	if (bpf_map_update_elem(&exit_seen, &key, &key._pad, BPF_NOEXIST) != 0)
		return 0; /* another thread of this group already reported it */

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_drop(VIGIL_EV_EXIT);
		return 0;
	}
	fill_header(&e->header, cgid, VIGIL_EV_EXIT, sizeof(*e));
	fill_task(&e->task, p);
	e->ppid = BPF_CORE_READ(p, real_parent, tgid);
	code = BPF_CORE_READ(p, exit_code);
	e->exit_code = code;
	e->flags = 0;
	if (BPF_CORE_READ(p, signal, oom_mm))
		e->flags |= VIGIL_EXIT_OOM_VICTIM;
	if (code & 0x80)
		e->flags |= VIGIL_EXIT_CORE_DUMPED;
	e->_pad = 0;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/*
 * kill()/tgkill()/rt_sigqueueinfo()/kernel senders -> send_signal_locked() ->
 * __send_signal_locked() -> trace_signal_generate(), in the sender's context,
 * for every generation attempt including ignored and already-pending ones.
 */
SEC("tp_btf/signal_generate")
int BPF_PROG(vigil_signal, int sig, struct kernel_siginfo *info, struct task_struct *task,
	     int group, int result)
{
	struct vigil_signal_event *e;
	struct task_struct *cur;
	__u64 cgid;

	if (sig <= 0 || sig >= 64 || !(signal_mask & (1ULL << sig)))
		return 0;
	cgid = task_cgroup_id(task);
	if (!is_watched(cgid))
		return 0;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_drop(VIGIL_EV_SIGNAL);
		return 0;
	}
	cur = bpf_get_current_task_btf();
	fill_header(&e->header, cgid, VIGIL_EV_SIGNAL, sizeof(*e));
	fill_task(&e->target, task);
	fill_task(&e->sender, cur);
	e->sender_cgroup_id = bpf_get_current_cgroup_id();
	e->sig = sig;
	/* info may be one of the marker pointers, which must not be read. */
	if ((unsigned long)info == SEND_SIG_NOINFO_PTR)
		e->si_code = SI_USER_CODE;
	else if ((unsigned long)info == SEND_SIG_PRIV_PTR)
		e->si_code = SI_KERNEL_CODE;
	else
		e->si_code = BPF_CORE_READ(info, si_code);
	e->result = result;
	e->flags = group ? VIGIL_SIG_GROUP : 0;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/*
 * out_of_memory() (global or memcg) -> oom_kill_process() -> __oom_kill_process()
 * -> mark_oom_victim() -> trace_mark_victim(), in the allocating task's context,
 * before the SIGKILL is sent. 6.x passes (task, uid); 5.x passes only (int pid),
 * which this program does not support yet (it would need a second variant).
 */
SEC("tp_btf/mark_victim")
int BPF_PROG(vigil_oom, struct task_struct *task, uid_t uid)
{
	struct vigil_oom_event *e;
	__u64 cgid;

	cgid = task_cgroup_id(task);
	if (!is_watched(cgid))
		return 0;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_drop(VIGIL_EV_OOM);
		return 0;
	}
	fill_header(&e->header, cgid, VIGIL_EV_OOM, sizeof(*e));
	fill_task(&e->victim, task);
	e->uid = uid;
	e->_pad = 0;
	bpf_ringbuf_submit(e, 0);
	return 0;
}
