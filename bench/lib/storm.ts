/** bench-storm (bench/storm.c) run in a cgroup: a paced fork/exit storm and its own count of what it did. */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { BUILD_DIR } from '../../src/paths.js';

export interface StormCount {
  /** Children started and reaped by all workers. */
  exits: number;
  /** The longest worker's running time. */
  seconds: number;
}

/** Start `workers` processes paced at `rate` exits a second together, moved into `cgroupDir` before they start. */
export function startStorm(cgroupDir: string, rate: number, workers: number): { stop: () => Promise<StormCount> } {
  const bin = path.join(BUILD_DIR, 'bench-storm');
  const child = spawn('/bin/sh', ['-c', `echo $$ > ${cgroupDir}/cgroup.procs && exec ${bin} ${rate} ${workers}`], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  const closed = new Promise((resolve) => child.once('close', resolve));
  return {
    stop: async () => {
      child.kill('SIGTERM');
      await closed;
      const count: StormCount = { exits: 0, seconds: 0 };
      for (const m of out.matchAll(/exits (\d+) seconds ([\d.]+)/g)) {
        count.exits += Number(m[1]);
        count.seconds = Math.max(count.seconds, Number(m[2]));
      }
      return count;
    },
  };
}
