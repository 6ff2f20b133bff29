/**
 * Memory and cpu use of containers, read by the TUI itself from the cgroup
 * directories the snapshot names: nothing is asked of the monitor, and a
 * read is one small file per figure. Which file serves a cgroup (v2
 * `memory.current` / `cpu.stat`, or v1 `memory.usage_in_bytes` /
 * `cpuacct.usage`) is found once per cgroup id and remembered, so the
 * steady cost is two reads per container per sample.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ContainerRow } from './model.js';

export interface Usage {
  memoryBytes: number | null;
  /** CPUs in use (1.0 = one core busy) over the last interval; null until two samples. */
  cpus: number | null;
}

type Probe = { memory: string | null; cpu: { file: string; unit: 'usec' | 'nsec' } | null };

function readOr(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

export class UsageReader {
  private readonly probes = new Map<string, Probe>();
  private readonly lastCpu = new Map<string, { usageUs: number; atMs: number }>();

  constructor(private readonly read: (file: string) => string | null = readOr) {}

  sample(containers: ContainerRow[], nowMs: number): Map<string, Usage> {
    const out = new Map<string, Usage>();
    const live = new Set<string>();
    for (const c of containers) {
      if (!c.cgroupId || c.state !== 'running') continue;
      live.add(c.cgroupId);
      const probe = this.probe(c);
      const mem = probe.memory ? Number(this.read(probe.memory)?.trim()) : NaN;
      let cpus: number | null = null;
      const usageUs = probe.cpu ? this.cpuUsec(probe.cpu) : null;
      if (usageUs !== null) {
        const before = this.lastCpu.get(c.cgroupId);
        if (before && nowMs > before.atMs) cpus = Math.max(0, (usageUs - before.usageUs) / ((nowMs - before.atMs) * 1000));
        this.lastCpu.set(c.cgroupId, { usageUs, atMs: nowMs });
      }
      out.set(c.name, { memoryBytes: Number.isFinite(mem) ? mem : null, cpus });
    }
    for (const id of [...this.probes.keys()]) if (!live.has(id)) (this.probes.delete(id), this.lastCpu.delete(id));
    return out;
  }

  private cpuUsec(cpu: NonNullable<Probe['cpu']>): number | null {
    const text = this.read(cpu.file);
    if (text === null) return null;
    if (cpu.unit === 'nsec') {
      const ns = Number(text.trim());
      return Number.isFinite(ns) ? ns / 1000 : null;
    }
    const m = /^usage_usec (\d+)$/m.exec(text);
    return m ? Number(m[1]) : null;
  }

  private probe(c: ContainerRow): Probe {
    const known = this.probes.get(c.cgroupId!);
    if (known) return known;
    const probe: Probe = { memory: null, cpu: null };
    for (const dir of c.cgroupDirs) {
      for (const f of ['memory.current', 'memory.usage_in_bytes']) {
        if (!probe.memory && this.read(path.join(dir, f)) !== null) probe.memory = path.join(dir, f);
      }
      if (!probe.cpu && this.read(path.join(dir, 'cpu.stat'))?.includes('usage_usec')) probe.cpu = { file: path.join(dir, 'cpu.stat'), unit: 'usec' };
      if (!probe.cpu && this.read(path.join(dir, 'cpuacct.usage')) !== null) probe.cpu = { file: path.join(dir, 'cpuacct.usage'), unit: 'nsec' };
    }
    this.probes.set(c.cgroupId!, probe);
    return probe;
  }
}
