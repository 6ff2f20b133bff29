/** `vigil doctor`: can this host run vigil? Each check says what it found in plain words. */
import fs from 'node:fs';
import os from 'node:os';
import { BPF_OBJECT_PATH, HELPER_PATH, INIT_PATH } from '../paths.js';
import { detectLayout } from '../launcher/cgroups.js';
import { bpffsMount, ensureTracer, removeTracer } from '../tracer/tracer.js';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export function kernelAtLeast(release: string, major: number, minor: number): boolean {
  const m = /^(\d+)\.(\d+)/.exec(release);
  if (!m) return false;
  const [maj, min] = [Number(m[1]), Number(m[2])];
  return maj > major || (maj === major && min >= minor);
}

function attempt(name: string, fn: () => string): Check {
  try {
    return { name, ok: true, detail: fn() };
  } catch (err) {
    return { name, ok: false, detail: (err as Error).message };
  }
}

export function runChecks(): Check[] {
  const checks: Check[] = [];
  const release = os.release();
  checks.push({
    name: 'kernel',
    ok: kernelAtLeast(release, 5, 8),
    detail: kernelAtLeast(release, 5, 8) ? `Linux ${release} (5.8 or newer: has the BPF ring buffer)` : `Linux ${release} is older than 5.8, which vigil needs for the BPF ring buffer`,
  });
  checks.push({
    name: 'root',
    ok: process.geteuid?.() === 0,
    detail: process.geteuid?.() === 0 ? 'running as root' : 'vigil must run as root (it creates namespaces, cgroups and BPF programs)',
  });
  const btf = fs.existsSync('/sys/kernel/btf/vmlinux');
  checks.push({ name: 'btf', ok: btf, detail: btf ? 'kernel type information (BTF) at /sys/kernel/btf/vmlinux' : 'the kernel has no BTF (/sys/kernel/btf/vmlinux): build it with CONFIG_DEBUG_INFO_BTF=y' });
  checks.push(attempt('cgroups', () => {
    const l = detectLayout();
    return l.kind === 'hybrid'
      ? `hybrid: identity from the v2 tree at ${l.v2Mount}; limits through v1 ${Object.keys(l.v1Mounts).join(', ') || 'none'}${l.v2Controllers.size ? ` and v2 ${[...l.v2Controllers].join(', ')}` : ''}`
      : `cgroup v2 at ${l.v2Mount} with ${[...l.v2Controllers].join(', ') || 'no controllers'}`;
  }));
  checks.push(attempt('bpffs', () => (bpffsMount() ? 'mounted bpffs at /sys/fs/bpf' : 'bpffs is mounted at /sys/fs/bpf')));
  for (const [name, file] of [['helper', HELPER_PATH], ['init', INIT_PATH], ['bpf object', BPF_OBJECT_PATH]] as const) {
    const there = fs.existsSync(file);
    checks.push({ name, ok: there, detail: there ? file : `${file} is missing: run \`make\` (or scripts/setup.sh)` });
  }
  if (checks.every((c) => c.ok)) {
    checks.push(attempt('bpf', () => {
      const pinDir = `/sys/fs/bpf/vigil-doctor-${process.pid}`;
      try {
        ensureTracer(BPF_OBJECT_PATH, pinDir);
      } finally {
        removeTracer(pinDir);
      }
      return 'the tracer loads and attaches (exit, signal and OOM hooks)';
    }));
  }
  return checks;
}
