/**
 * The spec checks that need the host: a directory rootfs must exist and be a
 * directory, a bind source must exist (and, image-less, a target outside
 * /tmp, /run and /dev), and a cpuset must name online cpus. Refused as spec errors
 * (exit 2, the field's path) before anything is created.
 */
import fs from 'node:fs';
import { SpecError, type SpecIssue } from '../util/errors.js';
import { cpusOf } from './spec-isolation.js';
import type { ContainerSpec } from './spec.js';

export function checkSpecOnHost(spec: ContainerSpec, file: string | null, onlineCpus = readOnlineCpus()): void {
  const issues: SpecIssue[] = [];
  if (spec.rootfs !== 'host') {
    let st: fs.Stats | null = null;
    try {
      st = fs.statSync(spec.rootfs);
    } catch (err) {
      issues.push({ path: 'rootfs', message: `${JSON.stringify(spec.rootfs)} cannot be used: ${(err as NodeJS.ErrnoException).code ?? err}` });
    }
    if (st && !st.isDirectory()) issues.push({ path: 'rootfs', message: `${JSON.stringify(spec.rootfs)} is not a directory` });
  }
  spec.mounts.forEach((m, i) => {
    try {
      fs.statSync(m.source);
    } catch (err) {
      issues.push({ path: `mounts[${i}].source`, message: `${JSON.stringify(m.source)} cannot be used: ${(err as NodeJS.ErrnoException).code ?? err}` });
    }
    // The helper's rule (create.c): it cannot make a target on the read-only host root.
    if (spec.rootfs === 'host' && !/^\/(tmp|run|dev)\//.test(m.target) && !fs.existsSync(m.target)) {
      issues.push({ path: `mounts[${i}].target`, message: `${JSON.stringify(m.target)} does not exist on the host, and the host's root is read-only in image-less mode (targets under /tmp, /run or /dev are made)` });
    }
  });
  if (spec.limits.cpuset && onlineCpus) {
    const offline = cpusOf(spec.limits.cpuset).filter((c) => !onlineCpus.includes(c));
    if (offline.length) {
      issues.push({ path: 'limits.cpuset', message: `cpu ${offline.join(', ')} is not online on this host (online: ${onlineCpus.join(',')})` });
    }
  }
  if (issues.length) throw new SpecError(file, issues);
}

function readOnlineCpus(): number[] | null {
  try {
    return cpusOf(fs.readFileSync('/sys/devices/system/cpu/online', 'utf8').trim());
  } catch {
    return null; // unknown: the kernel will judge when the cpuset is written
  }
}
