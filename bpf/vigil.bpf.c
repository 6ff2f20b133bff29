// SPDX-License-Identifier: GPL-2.0
/*
 * vigil tracer: process exit, signals, OOM kills, fork and exec in watched
 * cgroups and their descendants.
 *
 * Filtering happens here: an event is written only when the subject task's
 * cgroup v2 id, or that of one of its ancestors, is a key of `watched`, so the
 * rest of the host costs a few map lookups per hook. Records go to the
 * `events` ring buffer (layout in events.h). Nothing is lost silently: a full
 * buffer is counted in `drops`, a rate-limited signal in `limited`, both per
 * event kind. Exits and OOM kills may use the whole buffer; signals, forks and
 * execs only its first half, so a storm of them cannot crowd out an exit.
 * An exit that finds the buffer full waits in `exit_overflow` (a share per
 * watched cgroup) until the reader takes it, so one container's exit storm
 * cannot push another container's exit out while no monitor reads.
 * The maps and links are pinned by the loader, so recording continues with
 * no reader, and a newer build replaces this one without a gap: both run
 * for a moment, and `exit_seen`, `oom_seen` and `handover` keep each record
 * single.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "events.h"

char LICENSE[] SEC("license") = "GPL";

/* Settings in .rodata, written by the loader before load. */

/* Bit N set = signal N is reported. Default: the fatal set plus SIGSTOP/SIGTSTP. */
const volatile __u64 signal_mask = (1ULL << 1) | (1ULL << 2) | (1ULL << 3) | (1ULL << 4) |
				   (1ULL << 5) | (1ULL << 6) | (1ULL << 7) | (1ULL << 8) |
				   (1ULL << 9) | (1ULL << 11) | (1ULL << 13) | (1ULL << 14) |
				   (1ULL << 15) | (1ULL << 24) | (1ULL << 25) | (1ULL << 31) |
				   (1ULL << 19) | (1ULL << 20);
/* Signal events per second allowed per watched cgroup, and the burst above that rate. */
const volatile __u32 signal_rate = 200;
const volatile __u32 signal_burst = 400;
/* This build's generation (one more than the build it replaced). */
const volatile __u32 generation = 1;
/* What this build's OOM program reports as its hook (VIGIL_OOM_HOOK_*). */
const volatile __u32 oom_hook = VIGIL_OOM_HOOK_TRACEPOINT;
/* log2 of the page size, set by the loader (sizes are reported in KiB). */
const volatile __u32 page_shift = 12;

#define RINGBUF_SIZE (1 << 20)
/* Ancestors looked at above a task's own cgroup (v2 trees are rarely deeper). */
#define MAX_ANCESTRY 16

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, RINGBUF_SIZE);
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
	__type(value, __u64); /* records lost because the ring buffer was (half) full */
} drops SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VIGIL_DROPS_SLOTS);
	__type(key, __u32);   /* enum vigil_event_kind */
	__type(value, __u64); /* records not written because a per-cgroup rate limit said so */
} limited SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct vigil_control);
} control SEC(".maps");

/* Processes whose exit (or OOM kill) was already reported, keyed by (tgid,
 * leader start time), which no later process can reuse. Two threads of a
 * group can both read signal->live == 0 (each decrements it early in do_exit
 * and reaches the tracepoint later), and during an upgrade the old and the new
 * program both run: the first to insert the key reports. */

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct vigil_task_key);
	__type(value, __u8);
} exit_seen SEC(".maps");

/*
 * Exits that found the ring buffer full, keyed like exit_seen, the whole
 * record as the value: the reader takes them after the buffer (consumer.c).
 * Each watched cgroup may hold VIGIL_OVERFLOW_PER_CGROUP of them at once, so a
 * storm in one container fills its own share and the buffer, not the room
 * another container's exit needs. A plain hash (never evicts): an entry
 * leaves only when read. The shares are two counters per cgroup, each
 * written by one side only (no lost update): `overflow_written` here,
 * `overflow_read` by the reader.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VIGIL_OVERFLOW_ENTRIES);
	__type(key, struct vigil_task_key);
	__type(value, struct vigil_exit_event);
} exit_overflow SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);   /* watched cgroup id */
	__type(value, __u64); /* exits ever put in exit_overflow */
} overflow_written SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);   /* watched cgroup id */
	__type(value, __u64); /* exits ever taken out of exit_overflow by the reader */
} overflow_read SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, struct vigil_task_key);
	__type(value, __u8);
} oom_seen SEC(".maps");

/*
 * Hand-over between two builds attached at once (during an upgrade both run,
 * one after the other, for each tracepoint hit, in an order not to rely
 * on). Exits and OOM kills are deduplicated by key above; signals, forks
 * and execs by this per-CPU note of the last record written: the second build
 * to see the same hit (same kind and subject, another generation, within
 * HANDOVER_NS) skips it. A wrong match could only make a duplicate, never a
 * miss, except for two identical hits within HANDOVER_NS on one CPU exactly
 * while the old build is being detached.
 */
struct handover {
	__u64 ts;
	__u64 a, b; /* the hit's subject (thread ids, signal) */
	__u32 gen;
	__u32 kind;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct handover);
} handover SEC(".maps");

#define HANDOVER_NS 200000ULL

/* Signal token buckets, one per watched cgroup, as a theoretical arrival time
 * (GCRA): a signal is allowed while tat - now <= burst * interval. Updates
 * from two CPUs at once may both pass; the limit is approximate by design
 * (no atomics beyond add exist on 5.10). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);   /* watched cgroup id */
	__type(value, __u64); /* theoretical arrival time, ns */
} signal_bucket SEC(".maps");

#define SEND_SIG_NOINFO_PTR 0UL /* kernel's SEND_SIG_NOINFO: treat as SI_USER */
#define SEND_SIG_PRIV_PTR 1UL   /* kernel's SEND_SIG_PRIV: treat as SI_KERNEL */
#define SI_USER_CODE 0
#define SI_KERNEL_CODE 0x80

static __always_inline struct cgroup *task_cgroup(struct task_struct *t)
{
	return BPF_CORE_READ(t, cgroups, dfl_cgrp);
}

/*
 * The watched cgroup `cg` belongs to: itself or its nearest watched ancestor,
 * else 0. A cgroup's own css is its first member and css->parent is the
 * parent's own css, whose ->cgroup is the parent cgroup (5.x and 6.x alike).
 */
static __always_inline __u64 watched_of(struct cgroup *cg, __u64 *own)
{
	__u64 id = BPF_CORE_READ(cg, kn, id);

	*own = id;
	for (int i = 0; i < MAX_ANCESTRY; i++) {
		if (bpf_map_lookup_elem(&watched, &id))
			return id;
		cg = BPF_CORE_READ(cg, self.parent, cgroup);
		if (!cg)
			return 0;
		id = BPF_CORE_READ(cg, kn, id);
	}
	return 0;
}

static __always_inline void count(void *map, __u32 kind)
{
	__u64 *n = bpf_map_lookup_elem(map, &kind);

	if (n)
		*n += 1;
}

/* Should this build write this hit, or did the other build just write it? */
static __always_inline bool claim(__u32 kind, __u64 a, __u64 b)
{
	__u32 k = 0;
	struct handover *h = bpf_map_lookup_elem(&handover, &k);
	__u64 now = bpf_ktime_get_ns();

	if (!h)
		return true;
	if (h->kind == kind && h->a == a && h->b == b && h->gen != generation &&
	    now - h->ts < HANDOVER_NS) {
		h->kind = 0; /* consumed: a real repeat of this hit is written again */
		return false;
	}
	h->ts = now;
	h->a = a;
	h->b = b;
	h->gen = generation;
	h->kind = kind;
	return true;
}

/* Room for a record that must not crowd out exits: the first half only. */
static __always_inline void *reserve_low(__u32 size, __u32 kind)
{
	void *e;

	if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) > RINGBUF_SIZE / 2) {
		count(&drops, kind);
		return NULL;
	}
	e = bpf_ringbuf_reserve(&events, size, 0);
	if (!e)
		count(&drops, kind);
	return e;
}

static __always_inline void *reserve(__u32 size, __u32 kind)
{
	void *e = bpf_ringbuf_reserve(&events, size, 0);

	if (!e)
		count(&drops, kind);
	return e;
}

/*
 * Every record is submitted with the kernel's own wakeup rule: the reader is
 * woken only when it had caught up, so one event a minute is read at once and
 * a storm costs few wakeups. A wakeup is most of a record's cost in this
 * project's VMs (bench/tracer.ts); making forks and execs skip it would need
 * exits to force one every time (the rule does not fire behind records that
 * skipped it), which measured no cheaper: see docs/decisions.md.
 */
static __always_inline void fill_header(struct vigil_event_header *h, __u64 watched_id,
					__u64 own_id, __u16 kind, __u32 size)
{
	h->ts_ns = bpf_ktime_get_ns();
	h->cgroup_id = watched_id;
	h->task_cgroup_id = own_id;
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

/* First report of this process for `seen`? */
static __always_inline bool first_report(void *seen, struct task_struct *p)
{
	struct vigil_task_key key = {};
	__u8 one = 1;

	key.tgid = BPF_CORE_READ(p, tgid);
	key.start_boottime_ns = BPF_CORE_READ(p, group_leader, start_boottime);
	return bpf_map_update_elem(seen, &key, &one, BPF_NOEXIST) == 0;
}

/*
 * do_exit() -> trace_sched_process_exit(), once per exiting thread, after
 * signal->live was decremented and task->exit_code set. Only the first
 * argument is used: 6.16+ adds `bool group_dead`, older kernels have only p.
 * Never rate-limited and never gated by generation (dedup by exit_seen).
 */
static __always_inline void fill_exit(struct vigil_exit_event *e, struct task_struct *p, __u64 wid,
				      __u64 own)
{
	__s32 code = BPF_CORE_READ(p, exit_code);

	fill_header(&e->header, wid, own, VIGIL_EV_EXIT, sizeof(*e));
	fill_task(&e->task, p);
	e->ppid = BPF_CORE_READ(p, real_parent, tgid);
	e->exit_code = code;
	e->flags = 0;
	if (BPF_CORE_READ(p, signal, oom_mm))
		e->flags |= VIGIL_EXIT_OOM_VICTIM;
	if (code & 0x80)
		e->flags |= VIGIL_EXIT_CORE_DUMPED;
	e->_pad = 0;
}

/* The ring buffer is full: keep the exit in exit_overflow if wid's share allows. */
static __always_inline void overflow_exit(struct task_struct *p, __u64 wid, __u64 own)
{
	struct vigil_exit_event e = {};
	struct vigil_task_key key = {};
	__u64 zero = 0, *written, *read;

	written = bpf_map_lookup_elem(&overflow_written, &wid);
	if (!written) {
		bpf_map_update_elem(&overflow_written, &wid, &zero, BPF_NOEXIST);
		written = bpf_map_lookup_elem(&overflow_written, &wid);
		if (!written)
			goto lost;
	}
	read = bpf_map_lookup_elem(&overflow_read, &wid);
	if (*written - (read ? *read : 0) >= VIGIL_OVERFLOW_PER_CGROUP)
		goto lost;
	fill_exit(&e, p, wid, own);
	key.tgid = e.task.pid;
	key.start_boottime_ns = e.task.start_boottime_ns;
	if (bpf_map_update_elem(&exit_overflow, &key, &e, BPF_NOEXIST) < 0)
		goto lost;
	__sync_fetch_and_add(written, 1);
	return;
lost:
	count(&drops, VIGIL_EV_EXIT);
}

/*
 * do_exit() -> trace_sched_process_exit(), once per exiting thread, after
 * signal->live was decremented and task->exit_code set. Only the first
 * argument is used: 6.16+ adds `bool group_dead`, older kernels have only p.
 * Never rate-limited and never gated by generation (dedup by exit_seen).
 */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(vigil_exit, struct task_struct *p)
{
	struct vigil_exit_event *e;
	__u64 wid, own;

	if (BPF_CORE_READ(p, signal, live.counter) != 0)
		return 0; /* not the last thread of the group */
	wid = watched_of(task_cgroup(p), &own);
	if (!wid)
		return 0;
	if (!first_report(&exit_seen, p))
		return 0; /* another thread (or the other build) already reported it */

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		overflow_exit(p, wid, own);
		return 0;
	}
	fill_exit(e, p, wid, own);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* May one more signal event of watched cgroup `wid` be written now? */
static __always_inline bool signal_allowed(__u64 wid)
{
	__u64 now = bpf_ktime_get_ns();
	__u64 interval, tat, *slot;

	if (signal_rate == 0)
		return true; /* no limit configured */
	interval = 1000000000ULL / signal_rate;
	slot = bpf_map_lookup_elem(&signal_bucket, &wid);
	if (!slot) {
		tat = now + interval;
		bpf_map_update_elem(&signal_bucket, &wid, &tat, BPF_ANY);
		return true;
	}
	tat = *slot > now ? *slot : now;
	if (tat - now > (__u64)signal_burst * interval)
		return false;
	*slot = tat + interval;
	return true;
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
	/* bpf_get_current_task_btf() is 5.11+; the untyped one plus CO-RE reads works on 5.8+. */
	struct task_struct *cur;
	__u64 wid, own, sender_own;

	if (sig <= 0 || sig >= 64 || !(signal_mask & (1ULL << sig)))
		return 0;
	wid = watched_of(task_cgroup(task), &own);
	if (!wid)
		return 0;
	cur = (struct task_struct *)bpf_get_current_task();
	if (!claim(VIGIL_EV_SIGNAL, (__u64)BPF_CORE_READ(task, pid) | ((__u64)sig << 32),
		   bpf_get_current_pid_tgid()))
		return 0;
	if (!signal_allowed(wid)) {
		count(&limited, VIGIL_EV_SIGNAL);
		return 0;
	}

	e = reserve_low(sizeof(*e), VIGIL_EV_SIGNAL);
	if (!e)
		return 0;
	fill_header(&e->header, wid, own, VIGIL_EV_SIGNAL, sizeof(*e));
	fill_task(&e->target, task);
	fill_task(&e->sender, cur);
	e->sender_watched_cgroup_id = watched_of(task_cgroup(cur), &sender_own);
	e->sender_cgroup_id = sender_own;
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

/* Before 6.2 mm->rss_stat was a struct of atomic counters; now it is an
 * array of percpu_counters. Both are read, whichever this kernel has. */
struct mm_rss_stat___old {
	atomic_long_t count[4];
} __attribute__((preserve_access_index));

struct mm_struct___old {
	struct mm_rss_stat___old rss_stat;
} __attribute__((preserve_access_index));

/* The 6.2+ shape, spelled out too: vmlinux.h is generated from the build
 * host's kernel, and on a host older than 6.2 it has only the old one. */
struct mm_struct___new {
	struct percpu_counter rss_stat[4];
} __attribute__((preserve_access_index));

enum { RSS_FILE = 0, RSS_ANON = 1, RSS_SHMEM = 3 };

static __always_inline __u64 rss_pages(struct mm_struct *mm, int member)
{
	__s64 n = 0;

	if (bpf_core_type_exists(struct mm_rss_stat___old)) {
		struct mm_struct___old *old = (void *)mm;

		n = BPF_CORE_READ(old, rss_stat.count[member].counter);
	} else {
		struct mm_struct___new *cur = (void *)mm;

		n = BPF_CORE_READ(cur, rss_stat[member].count);
	}
	return n > 0 ? n : 0; /* a percpu counter can read negative for a moment */
}

static __always_inline __u64 pages_kb(__u64 pages)
{
	return page_shift >= 10 ? pages << (page_shift - 10) : pages;
}

/*
 * Was this OOM kill a cgroup (memcg) OOM or a global one? The kernel's
 * oom_control says, but it is not reachable from these hooks, so the hook
 * decides from what it can see (docs/decisions.md, "OOM scope"). The OOM
 * killer runs in the context of the task whose allocation or charge failed
 * (`current`). In a memcg OOM, the memcg M that hit its limit is an
 * ancestor-or-self of the memcg `current` charged, the victim is in M's
 * subtree, and M's local MEMCG_OOM count was raised before the kill. So:
 * `memcg` when some memcg that is an ancestor-or-self of both the victim's and
 * one of `current`'s possible charge targets is at its limit and has seen a
 * memcg OOM; else `global`.
 */
#define MEMCG_LEVELS 8

/* The memory controller's index, or -1 where the kernel has no memory cgroups. */
static __always_inline int memory_subsys_id(void)
{
	int id;

	if (!bpf_core_enum_value_exists(enum cgroup_subsys_id, memory_cgrp_id))
		return -1;
	id = bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id);
	return id >= 0 && id < 16 ? id : -1;
}

/* Within 1/32 of its limit? The root and unlimited groups have a max near
 * LONG_MAX >> page_shift, never "at" it. */
static __always_inline bool counter_at_limit(struct page_counter *c)
{
	__u64 usage = BPF_CORE_READ(c, usage.counter);
	__u64 max = BPF_CORE_READ(c, max);

	return max < (1ULL << 50) && usage + (max >> 5) + 1 >= max;
}

/*
 * Could memcg `m` be the one a memcg OOM was declared for: at its memory
 * limit, and with a memcg OOM counted in it (memory_events_local[MEMCG_OOM],
 * raised for exactly that memcg by mem_cgroup_oom() before the kill, never
 * by a global OOM). A v1 memory+swap limit (memsw) is not looked at: with no
 * swap it is never reached before the memory limit, and no machine here has
 * swap to prove the other case.
 */
static __always_inline bool memcg_oom_candidate(struct mem_cgroup *m)
{
	if (!counter_at_limit(&m->memory))
		return false;
	if (bpf_core_field_exists(m->memory_events_local) &&
	    bpf_core_enum_value_exists(enum memcg_memory_event, MEMCG_OOM)) {
		int ev = bpf_core_enum_value(enum memcg_memory_event, MEMCG_OOM);
		long n = 0;

		if (ev < 0 || ev >= 16)
			return true;
		bpf_probe_read_kernel(&n, sizeof(n), (void *)m + bpf_core_field_offset(m->memory_events_local) +
							   ev * sizeof(atomic_long_t));
		return n > 0;
	}
	return true; /* a kernel without the count: the limit alone */
}

/* A memcg's depth in its hierarchy (the root is 0), v1 and v2 alike. */
static __always_inline int memcg_level(struct cgroup_subsys_state *css)
{
	return BPF_CORE_READ(css, cgroup, level);
}

static __always_inline __u32 memcg_flags(struct task_struct *t)
{
	struct cgroup_subsys_state *charge[3] = {};
	struct cgroup_subsys_state *victim, *css;
	struct task_struct *cur = (struct task_struct *)bpf_get_current_task();
	struct mm_struct *mm;
	int id = memory_subsys_id();
	int victim_level, shared = -1;

	if (id < 0)
		return VIGIL_OOM_NO_MEMCG;
	victim = BPF_CORE_READ(t, cgroups, subsys[id]);
	if (!victim)
		return 0;
	victim_level = memcg_level(victim);

	/*
	 * Where `current`'s failed charge may have gone: user pages go to the
	 * memcg of mm->owner, kernel objects to current's own memcg, and a
	 * remote charge (set_active_memcg: loop, fsnotify, bpf maps, ...) to
	 * current->active_memcg. Which one the charge used is not known here,
	 * so any of them counts.
	 */
	if (bpf_core_field_exists(cur->active_memcg))
		charge[0] = (struct cgroup_subsys_state *)BPF_CORE_READ(cur, active_memcg);
	mm = BPF_CORE_READ(cur, mm);
	if (mm && bpf_core_field_exists(mm->owner)) {
		struct task_struct *owner = BPF_CORE_READ(mm, owner);

		if (owner)
			charge[1] = BPF_CORE_READ(owner, cgroups, subsys[id]);
	}
	charge[2] = BPF_CORE_READ(cur, cgroups, subsys[id]);

	/*
	 * The deepest level at which the victim's chain and a charge target's
	 * meet: that memcg and everything above it are shared by both. The
	 * deeper of the two climbs until both stand at one level, then both
	 * climb together until they are the same memcg. Levels, not a table of
	 * the victim's ancestors compared pairwise: that made the verifier
	 * walk ten times longer (a tracer upgrade stalled the monitor ~0.4 s).
	 */
	for (int c = 0; c < 3; c++) {
		struct cgroup_subsys_state *a = charge[c], *b = victim;
		int la, lb = victim_level;

		if (!a)
			continue;
		la = memcg_level(a);
		for (int i = 0; i < 2 * MEMCG_LEVELS && a && b && a != b; i++) {
			int step_a = la >= lb, step_b = lb >= la;

			if (step_a) {
				a = BPF_CORE_READ(a, parent);
				la--;
			}
			if (step_b) {
				b = BPF_CORE_READ(b, parent);
				lb--;
			}
		}
		if (a && a == b && la > shared)
			shared = la;
	}
	if (shared < 0)
		return 0;

	/* A memcg the two share, at its limit with a memcg OOM counted. */
	css = victim;
	for (int k = 0; k < MEMCG_LEVELS && css; k++) {
		if (victim_level - k <= shared &&
		    memcg_oom_candidate((struct mem_cgroup *)css))
			return VIGIL_OOM_MEMCG;
		css = BPF_CORE_READ(css, parent);
	}
	return 0;
}

static __always_inline int report_oom(struct task_struct *task, __u32 uid)
{
	struct vigil_oom_event *e;
	struct mm_struct *mm;
	__u64 wid, own;

	wid = watched_of(task_cgroup(task), &own);
	if (!wid || !first_report(&oom_seen, task))
		return 0;
	e = reserve(sizeof(*e), VIGIL_EV_OOM);
	if (!e)
		return 0;
	fill_header(&e->header, wid, own, VIGIL_EV_OOM, sizeof(*e));
	fill_task(&e->victim, task);
	e->uid = uid;
	e->hook = oom_hook;
	mm = BPF_CORE_READ(task, mm);
	e->total_vm_kb = mm ? pages_kb(BPF_CORE_READ(mm, total_vm)) : 0;
	e->anon_rss_kb = mm ? pages_kb(rss_pages(mm, RSS_ANON)) : 0;
	e->file_rss_kb = mm ? pages_kb(rss_pages(mm, RSS_FILE)) : 0;
	e->shmem_rss_kb = mm ? pages_kb(rss_pages(mm, RSS_SHMEM)) : 0;
	e->pgtables_kb = mm ? BPF_CORE_READ(mm, pgtables_bytes.counter) >> 10 : 0;
	e->oom_score_adj = BPF_CORE_READ(task, signal, oom_score_adj);
	e->flags = memcg_flags(task);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/*
 * out_of_memory() (global or memcg) -> oom_kill_process() -> __oom_kill_process()
 * -> mark_oom_victim() -> trace_mark_victim(), in the allocating task's context,
 * before the SIGKILL is sent. This form, (task, uid), is that of newer kernels;
 * the loader enables it only when the kernel's BTF says the tracepoint has it.
 */
SEC("tp_btf/mark_victim")
int BPF_PROG(vigil_oom, struct task_struct *task, uid_t uid)
{
	return report_oom(task, uid);
}

/*
 * The same point, for kernels whose mark_victim passes only the victim's pid
 * (5.x, 6.1): mark_oom_victim(struct task_struct *tsk) itself. Enabled by the
 * loader instead of vigil_oom when the tracepoint has the old form.
 */
SEC("fentry/mark_oom_victim")
int BPF_PROG(vigil_oom_fentry, struct task_struct *tsk)
{
	return report_oom(tsk, BPF_CORE_READ(tsk, cred, uid.val));
}

/*
 * kernel_clone() -> copy_process() (the child is in its cgroup already, even
 * with CLONE_INTO_CGROUP) -> trace_sched_process_fork(current, child), for
 * threads too: only a new thread group is reported.
 */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(vigil_fork, struct task_struct *parent, struct task_struct *child)
{
	struct vigil_fork_event *e;
	__u64 wid, own;

	if (BPF_CORE_READ(child, pid) != BPF_CORE_READ(child, tgid))
		return 0; /* a thread */
	wid = watched_of(task_cgroup(child), &own);
	if (!wid || !claim(VIGIL_EV_FORK, BPF_CORE_READ(child, pid), BPF_CORE_READ(parent, pid)))
		return 0;
	e = reserve_low(sizeof(*e), VIGIL_EV_FORK);
	if (!e)
		return 0;
	fill_header(&e->header, wid, own, VIGIL_EV_FORK, sizeof(*e));
	fill_task(&e->child, child);
	fill_task(&e->parent, BPF_CORE_READ(child, real_parent));
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/*
 * execve() -> bprm_execve() -> exec_binprm() -> trace_sched_process_exec(),
 * after the new image replaced the old one (comm is the new one already).
 */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(vigil_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct vigil_exec_event *e;
	__u64 wid, own;

	wid = watched_of(task_cgroup(p), &own);
	if (!wid || !claim(VIGIL_EV_EXEC, BPF_CORE_READ(p, pid), 0))
		return 0;
	e = reserve_low(sizeof(*e), VIGIL_EV_EXEC);
	if (!e)
		return 0;
	fill_header(&e->header, wid, own, VIGIL_EV_EXEC, sizeof(*e));
	fill_task(&e->task, p);
	if (bpf_probe_read_kernel_str(e->filename, sizeof(e->filename),
				      BPF_CORE_READ(bprm, filename)) < 0)
		e->filename[0] = 0;
	bpf_ringbuf_submit(e, 0);
	return 0;
}
