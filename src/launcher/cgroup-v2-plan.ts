/**
 * Enabling cgroup v2 controllers down to a container's cgroup, pure: the
 * ancestors as read from cgroupfs in, the steps to take out, or an error
 * that says which cgroup stands in the way and why.
 *
 * cgroup v2's "no internal processes" rule: a cgroup other than the root
 * cannot both hold processes and enable controllers for its children
 * (writing cgroup.subtree_control fails with EBUSY). With a relative cgroup
 * parent, containers lie beneath vigil's own cgroup, which holds vigil's
 * caller (a shell, a test runner, a service). As a delegated service manager
 * does, vigil then moves the processes of its own cgroup into a leaf child,
 * LEAF, and enables the controllers on the emptied cgroup. It does this only
 * for its own cgroup (never above it: that is whoever delegated it), and a
 * relative parent keeps resolving against the cgroup above the leaf.
 */
import { UnsupportedError } from '../util/errors.js';

/** The leaf child that the processes of vigil's own cgroup move to. */
export const LEAF = 'vigil-leaf';

export interface V2Level {
  dir: string;
  /** The hierarchy's root cgroup: exempt from the rule. */
  root: boolean;
  /** cgroup.controllers: what this cgroup may enable for its children. */
  available: readonly string[];
  /** cgroup.subtree_control: what it enables now. */
  enabled: readonly string[];
  /** Whether cgroup.procs is non-empty. */
  hasProcesses: boolean;
  /** vigil may write here: at or below its own cgroup, or anywhere on an absolute parent's path. */
  ours: boolean;
  /** vigil's own cgroup (a relative parent lies beneath it). */
  own: boolean;
}

export type V2Step =
  | { kind: 'evacuate'; from: string; to: string }
  | { kind: 'enable'; dir: string; controllers: string[] };

/** `levels`: the container cgroup's ancestors, top down (the container's own directory excluded). */
export function planV2Controllers(levels: readonly V2Level[], wanted: readonly string[]): V2Step[] {
  const steps: V2Step[] = [];
  for (const level of levels) {
    const missing = wanted.filter((c) => !level.enabled.includes(c));
    if (!missing.length) continue;
    const absent = missing.filter((c) => !level.available.includes(c));
    if (absent.length) {
      throw new UnsupportedError(`cgroup-${absent[0]}`, `the ${absent.join(', ')} controller${absent.length > 1 ? 's are' : ' is'} not available in ${level.dir} (cgroup.controllers): the cgroup above it does not delegate ${absent.length > 1 ? 'them' : 'it'} (with systemd: Delegate=yes on vigil's unit), or use an absolute --cgroup-parent`);
    }
    if (!level.ours) {
      throw new UnsupportedError(`cgroup-${missing[0]}`, `${level.dir} does not enable ${missing.join(', ')} for its children, and it lies above vigil's own cgroup, which vigil leaves to whoever manages it: enable ${missing.length > 1 ? 'them' : 'it'} there (cgroup.subtree_control) or use an absolute --cgroup-parent`);
    }
    if (level.hasProcesses && !level.root) {
      if (!level.own) {
        throw new UnsupportedError('cgroup-no-internal-processes', `${level.dir} holds processes, so cgroup v2 lets it enable no controllers for its children ("no internal processes"): move them to a leaf cgroup or choose another --cgroup-parent`);
      }
      steps.push({ kind: 'evacuate', from: level.dir, to: `${level.dir}/${LEAF}` });
    }
    steps.push({ kind: 'enable', dir: level.dir, controllers: missing });
  }
  return steps;
}

/** vigil's own v2 cgroup for resolving a relative parent: the cgroup above LEAF when it was moved there. */
export function ownBase(own: string): string {
  return own === `/${LEAF}` ? '/' : own.endsWith(`/${LEAF}`) ? own.slice(0, -LEAF.length - 1) : own;
}
