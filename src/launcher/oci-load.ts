/**
 * Reading an OCI bundle from disk: config.json, then the checks that need
 * the host (the root and every bind source exist), and HOME as runc sets it
 * (the user's home in the bundle's /etc/passwd, else "/"). The translation
 * itself is pure (oci-bundle.ts). Everything is refused before anything is
 * made, each problem by the field's JSON path.
 */
import fs from 'node:fs';
import path from 'node:path';
import { SpecError, type SpecIssue } from '../util/errors.js';
import { translateBundle } from './oci-bundle.js';
import { DEFAULT_RESTART, RESTART_POLICIES, type ContainerSpec, type RestartCondition } from './spec.js';

export function loadBundle(dir: string, name?: string, restart?: string): { spec: ContainerSpec; file: string } {
  const bundle = path.resolve(dir);
  const file = path.join(bundle, 'config.json');
  let st: fs.Stats | null = null;
  try {
    st = fs.statSync(bundle);
  } catch (err) {
    throw new SpecError(null, [{ path: '--bundle', message: `${JSON.stringify(dir)} cannot be used: ${(err as NodeJS.ErrnoException).code ?? err}` }]);
  }
  if (!st.isDirectory()) throw new SpecError(null, [{ path: '--bundle', message: `${JSON.stringify(dir)} is not a directory` }]);
  if (restart !== undefined && !RESTART_POLICIES.includes(restart as RestartCondition)) {
    throw new SpecError(null, [{ path: '--restart', message: `expected one of ${RESTART_POLICIES.join(', ')}, got ${JSON.stringify(restart)}` }]);
  }
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new SpecError(file, [{ path: '', message: code === 'ENOENT' ? 'the bundle has no config.json (`runc spec` writes one)' : `cannot be read: ${code ?? err}` }]);
  }
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch (err) {
    throw new SpecError(file, [{ path: '', message: `not valid JSON: ${(err as Error).message}` }]);
  }
  const policy = restart === undefined ? DEFAULT_RESTART : { ...DEFAULT_RESTART, policy: restart as RestartCondition };
  const spec = translateBundle(config, bundle, name ?? path.basename(bundle), policy, file);
  checkBundleOnHost(spec, file);
  const main = spec.processes[0];
  if (!('HOME' in main.env)) main.env.HOME = homeOf(spec.rootfs, Number(main.user!.split(':')[0]));
  return { spec, file };
}

function checkBundleOnHost(spec: ContainerSpec, file: string): void {
  const issues: SpecIssue[] = [];
  const problem = (p: string, fieldPath: string, dirWanted: boolean) => {
    try {
      const s = fs.statSync(p);
      if (dirWanted && !s.isDirectory()) issues.push({ path: fieldPath, message: `${JSON.stringify(p)} is not a directory` });
    } catch (err) {
      issues.push({ path: fieldPath, message: `${JSON.stringify(p)} cannot be used: ${(err as NodeJS.ErrnoException).code ?? err}` });
    }
  };
  problem(spec.rootfs, 'root.path', true);
  spec.oci!.mounts.forEach((m, i) => {
    if (m.kind === 'bind') problem(m.source, `mounts[${i}].source`, false);
  });
  if (issues.length) throw new SpecError(file, issues);
}

/** The home of `uid` in the rootfs's /etc/passwd, else "/" (runc's rule). */
function homeOf(rootfs: string, uid: number): string {
  let text = '';
  try {
    text = fs.readFileSync(path.join(rootfs, 'etc/passwd'), 'utf8');
  } catch {
    return '/';
  }
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length >= 6 && Number(f[2]) === uid && f[2] !== '') return f[5] || '/';
  }
  return '/';
}
