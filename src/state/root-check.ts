/**
 * Whether a directory can be a state root: a plain directory vigil can own,
 * never a place the kernel serves. Node's recursive mkdir loops for ever on a
 * path such as /proc/self/containers (mkdir answers ENOENT for the child and
 * EEXIST for the parent, so it retries both), which made `vigil --root
 * /proc/self run ...` spin; the CLI asks here first and refuses at once.
 */
import fs from 'node:fs';
import path from 'node:path';

/** Trees the kernel serves: never state, whatever file system a host mounts there. */
const KERNEL_TREES = ['/proc', '/sys', '/dev'];
/** A plain tmpfs under /dev that may hold state (the benchmarks keep theirs in RAM there). */
const SHARED_MEMORY = '/dev/shm';

/** statfs f_type of kernel pseudo file systems (linux/magic.h) that can sit anywhere. */
const PSEUDO_FS: ReadonlyMap<number, string> = new Map([
  [0x9fa0, 'proc'],
  [0x62656572, 'sysfs'],
  [0x27e0eb, 'cgroup'],
  [0x63677270, 'cgroup2'],
  [0xcafe4a11, 'bpf'],
  [0x64626720, 'debugfs'],
  [0x74726163, 'tracefs'],
  [0x73636673, 'securityfs'],
  [0x1cd1, 'devpts'],
  [0x62656570, 'configfs'],
  [0x6165676c, 'pstore'],
  [0xde5e81e4, 'efivarfs'],
  [0x19800202, 'mqueue'],
  [0x65735543, 'fusectl'],
  [0x42494e4d, 'binfmt_misc'],
]);

function under(p: string, tree: string): boolean {
  return p === tree || p.startsWith(tree + '/');
}

/** The real path of root's nearest existing ancestor, with the missing rest appended. */
function realOrAncestor(root: string): { real: string; existing: string } {
  let existing = path.resolve(root);
  const rest: string[] = [];
  for (;;) {
    try {
      const real = fs.realpathSync(existing);
      return { real: path.join(real, ...rest), existing: real };
    } catch {
      if (existing === '/') return { real: path.resolve(root), existing: '/' };
      rest.unshift(path.basename(existing));
      existing = path.dirname(existing);
    }
  }
}

/** Why root cannot be a state root, in words that follow the path ("ROOT: <this>"), or null when it can. */
export function stateRootProblem(root: string): string | null {
  if (root === '') return 'an empty path is not a directory';
  const { real, existing } = realOrAncestor(root);
  const shown = real === path.resolve(root) ? '' : ` (it resolves to ${real})`;
  const own = 'the state root must be a plain directory vigil can own';
  const tree = under(real, SHARED_MEMORY) ? undefined : KERNEL_TREES.find((t) => under(real, t));
  if (tree) return `a path under ${tree}, which the kernel serves${shown}; ${own}`;
  let type: number;
  try {
    type = Number(fs.statfsSync(existing).type);
  } catch (err) {
    return `cannot inspect ${existing} (${(err as NodeJS.ErrnoException).code ?? String(err)})`;
  }
  const fsName = PSEUDO_FS.get(type);
  if (fsName) return `a path on ${fsName}, a kernel pseudo file system${shown}; ${own}`;
  if (!fs.statSync(existing).isDirectory()) return existing === real ? `not a directory${shown}` : `${existing} is not a directory`;
  return null;
}
