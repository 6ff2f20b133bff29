import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { readTail } from '../../../tui/log-tail.js';
import { containerOf } from '../../../tui/model.js';
import { UsageReader } from '../../../tui/usage.js';
import { container, proc } from '../../helpers/tui-fixtures.js';

function files(map: Record<string, string>) {
  const reads: string[] = [];
  return { reads, read: (f: string) => (reads.push(f), f in map ? map[f] : null) };
}

test('v2: memory.current and cpu.stat usage_usec; cpu is the rate between two samples', (t) => {
  const v2 = '/sys/fs/cgroup/vigil/a';
  const fsMap: Record<string, string> = { [`${v2}/memory.current`]: '1048576\n', [`${v2}/cpu.stat`]: 'usage_usec 1000000\nuser_usec 1\n' };
  const f = files(fsMap);
  const reader = new UsageReader(f.read);
  const c = containerOf(container('a', [proc('x')], { cgroupDirs: [v2] }));
  t.deepEqual(reader.sample([c], 10_000).get('a'), { memoryBytes: 1048576, cpus: null });
  fsMap[`${v2}/cpu.stat`] = 'usage_usec 1500000\n';
  t.deepEqual(reader.sample([c], 12_000).get('a'), { memoryBytes: 1048576, cpus: 0.25 });
  const probes = f.reads.length;
  reader.sample([c], 13_000);
  t.is(f.reads.length - probes, 2, 'once found, two reads per container per sample');
});

test('hybrid: v1 memory.usage_in_bytes and cpuacct.usage (ns); nothing known is shown as unknown', (t) => {
  const v2 = '/sys/fs/cgroup/unified/vigil/b';
  const mem = '/sys/fs/cgroup/memory/vigil/b';
  const acct = '/sys/fs/cgroup/cpuacct/vigil/b';
  const fsMap: Record<string, string> = { [`${v2}/cpu.stat`]: 'nr_periods 0\n', [`${mem}/memory.usage_in_bytes`]: '2048\n', [`${acct}/cpuacct.usage`]: '2000000000\n' };
  const reader = new UsageReader(files(fsMap).read);
  const c = containerOf(container('b', [proc('x')], { cgroupDirs: [v2, mem, acct] }));
  reader.sample([c], 0);
  fsMap[`${acct}/cpuacct.usage`] = '3000000000\n';
  t.deepEqual(reader.sample([c], 1000).get('b'), { memoryBytes: 2048, cpus: 1 });
  const none = containerOf(container('c', [proc('x')], { cgroupDirs: ['/nowhere'], cgroupId: '99' }));
  t.deepEqual(reader.sample([none], 0).get('c'), { memoryBytes: null, cpus: null });
  const stopped = containerOf(container('d', [proc('x')], { state: 'stopped' }));
  t.false(reader.sample([stopped], 0).has('d'), 'a stopped container has no cgroup to read');
});

test('log tail: the last lines from the end of a large file, a cut first line dropped, control bytes shown as ?', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-test-tail-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'p.log');
  const lines = Array.from({ length: 5000 }, (_, i) => `line ${i} ${'x'.repeat(20)}`);
  fs.writeFileSync(file, lines.join('\n') + '\nlast \x1b[31mred\x07\n');
  const tail = readTail(file, 3);
  t.is(tail.error, null);
  t.deepEqual(tail.lines, [lines[4998], lines[4999], 'last ?[31mred?']);
  t.true(readTail(file, 100_000).lines.length < 1000, 'at most 16 KiB is read');
  t.regex(readTail(path.join(dir, 'none.log'), 3).error ?? '', /^no log yet \(.*none\.log\)$/);
});
