/* SPDX-License-Identifier: (GPL-2.0 OR Apache-2.0) */
/*
 * vigil event ABI: the records the BPF program writes into the `events` ring
 * buffer, byte for byte, and the `control` record shared by the program and
 * its loader. Shared by the BPF program (which includes vmlinux.h first) and
 * userspace C (which includes <linux/types.h> first); this header includes
 * nothing on purpose.
 *
 * Rules: every record starts with struct vigil_event_header; padding is
 * explicit; every size is pinned by _Static_assert; src/events/layout.ts
 * mirrors every offset and test/layout/events.test.ts proves it. Changing a
 * layout means bumping VIGIL_EVENT_VERSION.
 */
#ifndef VIGIL_EVENTS_H
#define VIGIL_EVENTS_H

#define VIGIL_EVENT_VERSION 2

#define VIGIL_COMM_LEN 16
#define VIGIL_PATH_LEN 256
#define VIGIL_IDENTITY_LEN 64

/* Record kinds; also the index into the `drops` and `limited` per-CPU arrays. */
enum vigil_event_kind {
	VIGIL_EV_EXIT = 1,
	VIGIL_EV_SIGNAL = 2,
	VIGIL_EV_OOM = 3,
	VIGIL_EV_FORK = 4,
	VIGIL_EV_EXEC = 5,
};

/* Number of slots in the `drops` and `limited` maps (kinds are indexes 0..7). */
#define VIGIL_DROPS_SLOTS 8

/* vigil_exit_event.flags */
#define VIGIL_EXIT_OOM_VICTIM 1u /* task->signal->oom_mm was set: the OOM killer chose it */
#define VIGIL_EXIT_CORE_DUMPED 2u /* exit_code & 0x80 */

/* vigil_signal_event.flags */
#define VIGIL_SIG_GROUP 1u /* sent to the whole thread group (kill), not one thread (tgkill) */

/* vigil_oom_event.flags */
#define VIGIL_OOM_MEMCG 1u     /* a memcg shared by the victim and the task whose charge failed was
				* at its limit, with a memcg OOM counted: a cgroup OOM, not a
				* global one (how it is decided: vigil.bpf.c, memcg_flags) */
#define VIGIL_OOM_NO_MEMCG 2u  /* the kernel has no memory controller: memcg vs global unknown */

/* vigil_control.oom_hook: which program reports OOM kills on this kernel. */
#define VIGIL_OOM_HOOK_NONE 0u       /* neither form is available: exits still carry OOM_VICTIM */
#define VIGIL_OOM_HOOK_TRACEPOINT 1u /* tp_btf/mark_victim(task, uid), newer kernels */
#define VIGIL_OOM_HOOK_FENTRY 2u     /* fentry/mark_oom_victim(task): kernels whose
				      * mark_victim passes only an int pid */

struct vigil_event_header {
	__u64 ts_ns; /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	/* the watched cgroup the subject belongs to: its own cgroup v2 id, or that
	 * of its nearest watched ancestor (a container's sub-cgroup) */
	__u64 cgroup_id;
	__u64 task_cgroup_id; /* the subject's own cgroup v2 id (inode of its directory) */
	__u16 kind;           /* enum vigil_event_kind */
	__u16 version;        /* VIGIL_EVENT_VERSION */
	__u32 size;           /* size of the whole record in bytes */
};
_Static_assert(sizeof(struct vigil_event_header) == 32, "vigil_event_header size");

struct vigil_task {
	__u32 pid; /* tgid, what userspace calls the pid */
	__u32 tid; /* the thread */
	/* group leader's task->start_boottime (ns since boot, suspend included);
	 * /proc/PID/stat field 22 is this divided by 10,000,000 (USER_HZ=100). */
	__u64 start_boottime_ns;
	char comm[VIGIL_COMM_LEN];
};
_Static_assert(sizeof(struct vigil_task) == 32, "vigil_task size");

struct vigil_exit_event {
	struct vigil_event_header header;
	struct vigil_task task;
	__u32 ppid;      /* real_parent's tgid */
	__s32 exit_code; /* raw task->exit_code: status << 8 | 0x80 if core | signal */
	__u32 flags;     /* VIGIL_EXIT_* */
	__u32 _pad;
};
_Static_assert(sizeof(struct vigil_exit_event) == 32 + 32 + 16, "vigil_exit_event size");

/*
 * Exits that found the ring buffer full wait in the `exit_overflow` hash map
 * (key: struct vigil_task_key, value: struct vigil_exit_event) until the
 * reader takes them; each watched cgroup may hold VIGIL_OVERFLOW_PER_CGROUP
 * of them at once.
 */
#define VIGIL_OVERFLOW_ENTRIES 8192
#define VIGIL_OVERFLOW_PER_CGROUP 1024

/* A process, for ever: (tgid, leader's start_boottime) is never reused. */
struct vigil_task_key {
	__u32 tgid;
	__u32 _pad;
	__u64 start_boottime_ns;
};
_Static_assert(sizeof(struct vigil_task_key) == 16, "vigil_task_key size");

struct vigil_signal_event {
	struct vigil_event_header header; /* cgroup ids are the target's */
	struct vigil_task target;
	struct vigil_task sender; /* the task that generated the signal (current) */
	__u64 sender_cgroup_id;   /* the sender's own cgroup v2 id */
	__u64 sender_watched_cgroup_id; /* the sender's watched cgroup, 0 if none (the host) */
	__s32 sig;
	__s32 si_code; /* SI_USER 0, SI_KERNEL 0x80, SI_QUEUE -1, SI_TKILL -6, ... */
	__s32 result;  /* TRACE_SIGNAL_*: 0 delivered, 1 ignored, 2 already pending, ... */
	__u32 flags;   /* VIGIL_SIG_* */
};
_Static_assert(sizeof(struct vigil_signal_event) == 32 + 32 + 32 + 16 + 16,
	       "vigil_signal_event size");

struct vigil_oom_event {
	struct vigil_event_header header; /* cgroup ids are the victim's */
	struct vigil_task victim;
	__u32 uid;  /* victim's uid */
	__u32 hook; /* VIGIL_OOM_HOOK_*: which kernel hook saw it */
	/* The sizes the kernel reports for the victim (as the mark_victim
	 * tracepoint prints them), in KiB, read when it was chosen. */
	__u64 total_vm_kb;
	__u64 anon_rss_kb;
	__u64 file_rss_kb;
	__u64 shmem_rss_kb;
	__u64 pgtables_kb;
	__s32 oom_score_adj;
	__u32 flags; /* VIGIL_OOM_* */
};
_Static_assert(sizeof(struct vigil_oom_event) == 32 + 32 + 8 + 48, "vigil_oom_event size");

/* A new process (not a thread) in a watched cgroup. */
struct vigil_fork_event {
	struct vigil_event_header header; /* cgroup ids are the child's */
	struct vigil_task child;
	struct vigil_task parent; /* the child's real_parent (group leader identity) */
};
_Static_assert(sizeof(struct vigil_fork_event) == 32 + 32 + 32, "vigil_fork_event size");

/* A successful execve in a watched cgroup; task.comm is the new comm. */
struct vigil_exec_event {
	struct vigil_event_header header;
	struct vigil_task task;
	char filename[VIGIL_PATH_LEN]; /* bprm->filename as passed to execve, NUL-terminated */
};
_Static_assert(sizeof(struct vigil_exec_event) == 32 + 32 + VIGIL_PATH_LEN, "vigil_exec_event size");

/*
 * The single entry of the pinned `control` array, written by the loader once
 * a build is attached: which build is pinned (its generation counts the
 * builds loaded into this pin directory), and its OOM hook.
 */
struct vigil_control {
	__u32 active_gen;
	__u32 oom_hook; /* VIGIL_OOM_HOOK_* of the active programs */
	__u32 skipped;  /* bit N: link N (loader's order) is not attached: its program would not load */
	__u32 _pad;
	char identity[VIGIL_IDENTITY_LEN]; /* the loader's identity of the build, NUL-terminated */
};
_Static_assert(sizeof(struct vigil_control) == 16 + VIGIL_IDENTITY_LEN, "vigil_control size");

#endif /* VIGIL_EVENTS_H */
