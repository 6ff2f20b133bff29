import test from 'ava';
import { inspectView } from '../../../src/cli/view.js';
import { validateSpec } from '../../../src/launcher/spec.js';
import type { ContainerState, ProcessState } from '../../../src/state/store.js';

const NO_SUCH_PID = 2 ** 22 + 1; // above the kernel's pid_max limit

function container(processes: Array<Partial<ProcessState>>): ContainerState {
  const spec = validateSpec({ name: 'c', processes: processes.map((p) => ({ name: p.name, command: ['/bin/true'] })) });
  return {
    version: 1, name: 'c', state: 'running', spec, specFile: null, cgroupParent: 'x', init: null, cgroup: null,
    lastCgroupId: null, createdAt: '2026-12-04T00:00:00.000Z', startedAt: null, operatorStop: false,
    processes: processes.map((p) => ({
      name: p.name!, pid: NO_SUCH_PID, startTime: 1, state: p.state!, restarts: 0, attempt: 0, startedAt: null,
      lastExit: null, deaths: [], operatorStop: false, operatorKill: null,
    })),
  };
}

test('a process being started shows as starting, not as exited; one that died unrecorded shows as exited', (t) => {
  const view = inspectView(container([{ name: 'restarting', state: 'starting' }, { name: 'died', state: 'running' }])) as { processes: Array<{ name: string; state: string; pid: number | null }> };
  t.deepEqual(view.processes.map((p) => [p.name, p.state, p.pid]), [['restarting', 'starting', null], ['died', 'exited', null]]);
});
