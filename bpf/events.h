/* SPDX-License-Identifier: (GPL-2.0 OR Apache-2.0) */
/*
 * vigil event ABI: the records the BPF program writes into the `events` ring
 * buffer, byte for byte. Shared by the BPF program (which includes vmlinux.h
 * first) and userspace C (which includes <linux/types.h> first); this header
 * includes nothing on purpose.
 *
 * Rules: every record starts with struct vigil_event_header; padding is
 * explicit; every size is pinned by _Static_assert; src/events/layout.ts
 * mirrors every offset and test/layout/events.test.ts proves it. Changing a
 * layout means bumping VIGIL_EVENT_VERSION.
 */
#ifndef VIGIL_EVENTS_H
#define VIGIL_EVENTS_H

#define VIGIL_EVENT_VERSION 1

#define VIGIL_COMM_LEN 16

/* Record kinds; also the index into the `drops` per-CPU array. */
enum vigil_event_kind {
	VIGIL_EV_EXIT = 1,
	VIGIL_EV_SIGNAL = 2,
	VIGIL_EV_OOM = 3,
	VIGIL_EV_FORK = 4, /* reserved, not emitted yet */
	VIGIL_EV_EXEC = 5, /* reserved, not emitted yet */
};

/* Number of slots in the `drops` map (kinds are indexes 0..7). */
#define VIGIL_DROPS_SLOTS 8

/* vigil_exit_event.flags */
#define VIGIL_EXIT_OOM_VICTIM 1u /* task->signal->oom_mm was set: the OOM killer chose it */
#define VIGIL_EXIT_CORE_DUMPED 2u /* exit_code & 0x80 */

/* vigil_signal_event.flags */
#define VIGIL_SIG_GROUP 1u /* sent to the whole thread group (kill), not one thread (tgkill) */

struct vigil_event_header {
	__u64 ts_ns;     /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u64 cgroup_id; /* cgroup v2 id of the subject task (inode of its cgroup2 directory) */
	__u16 kind;      /* enum vigil_event_kind */
	__u16 version;   /* VIGIL_EVENT_VERSION */
	__u32 size;      /* size of the whole record in bytes */
};
_Static_assert(sizeof(struct vigil_event_header) == 24, "vigil_event_header size");

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
_Static_assert(sizeof(struct vigil_exit_event) == 24 + 32 + 16, "vigil_exit_event size");

struct vigil_signal_event {
	struct vigil_event_header header; /* cgroup_id is the target's */
	struct vigil_task target;
	struct vigil_task sender; /* the task that generated the signal (current) */
	__u64 sender_cgroup_id;
	__s32 sig;
	__s32 si_code; /* SI_USER 0, SI_KERNEL 0x80, SI_QUEUE -1, SI_TKILL -6, ... */
	__s32 result;  /* TRACE_SIGNAL_*: 0 delivered, 1 ignored, 2 already pending, ... */
	__u32 flags;   /* VIGIL_SIG_* */
};
_Static_assert(sizeof(struct vigil_signal_event) == 24 + 32 + 32 + 8 + 16, "vigil_signal_event size");

struct vigil_oom_event {
	struct vigil_event_header header; /* cgroup_id is the victim's */
	struct vigil_task victim;
	__u32 uid; /* victim's uid, as the tracepoint reports it */
	__u32 _pad;
};
_Static_assert(sizeof(struct vigil_oom_event) == 24 + 32 + 8, "vigil_oom_event size");

#endif /* VIGIL_EVENTS_H */
