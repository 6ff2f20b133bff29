/**
 * Walking a config.json: every field is checked with its JSON path, and a key
 * that is not taken is refused by its full path, with why where there is more
 * to say than "not supported". Pure.
 */
import { MAX_ID, type Checker } from './spec.js';

export type Obj = Record<string, unknown>;

/** Why a known runtime-spec field is not taken, when there is more to say than "not supported". */
export const WHY: Record<string, string> = {
  hooks: 'vigil runs no hooks (nothing of vigil stays on the host to run poststop hooks)',
  'process.terminal': 'true needs a console socket (runc --console-socket); vigil writes output to `vigil logs` and attaches only `vigil exec`: set it to false',
  'process.user.username': 'give numeric uid and gid',
  'process.capabilities.inheritable': 'vigil keeps the inheritable set empty (CVE-2022-24769); leave it empty',
  'linux.cgroupsPath': 'vigil places the cgroup at PARENT/NAME: use --cgroup-parent',
  'linux.seccomp': 'vigil has no seccomp filter yet',
};

export function join(p: string, key: string | number): string {
  return typeof key === 'number' ? `${p}[${key}]` : p ? `${p}.${key}` : key;
}

/** Refuse every key outside `allowed`, by its full path. */
export function known(c: Checker, o: Obj, p: string, allowed: readonly string[]): void {
  for (const key of Object.keys(o)) {
    if (allowed.includes(key)) continue;
    const full = join(p, key);
    c.fail(full, WHY[full] ? `not supported by vigil: ${WHY[full]}` : 'not supported by vigil');
  }
}

export function obj(c: Checker, v: unknown, p: string): Obj | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return c.fail(p, `expected an object, got ${v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v}`);
  return v as Obj;
}

export function list(c: Checker, v: unknown, p: string): unknown[] | undefined {
  if (!Array.isArray(v)) return c.fail(p, `expected an array, got ${v === null ? 'null' : typeof v}`);
  return v;
}

export function strings(c: Checker, v: unknown, p: string): string[] | undefined {
  const a = list(c, v, p);
  if (!a) return undefined;
  const out = a.map((s, i) => c.string(s, join(p, i)));
  return out.every((s) => s !== undefined) ? (out as string[]) : undefined;
}

export function uint(c: Checker, v: unknown, p: string, max = MAX_ID): number | undefined {
  return c.number(v, p, { min: 0, max, integer: true });
}

export function absolute(c: Checker, v: unknown, p: string): string | undefined {
  return c.absolutePath(v, p);
}
