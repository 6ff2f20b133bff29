/**
 * The client side of vigil-helper (native/helper): encodes its configuration
 * as NUL-separated key/value pairs and turns its one-line JSON answer into a
 * result or a HelperError. Sync for the CLI, async for the monitor.
 */
import { spawn, spawnSync } from 'node:child_process';
import { HELPER_PATH } from '../paths.js';
import { HelperError, HostError } from '../util/errors.js';
import type { MonoNs } from '../util/units.js';

export type HelperConfig = Array<[key: string, value: string]>;

export interface HelperResult {
  pid: number;
  startTime: number;
  /** CLOCK_MONOTONIC when the helper saw the exec succeed. */
  runningNs: MonoNs;
  /** Attached exec only: how the process ended. */
  exitCode?: number;
  signal?: number;
}

export function encodeConfig(config: HelperConfig): string {
  for (const [key, value] of config) {
    if (key.includes('\0') || value.includes('\0')) throw new HelperError('config', 'EINVAL', key, 'a value contains a NUL byte', 125);
  }
  return config.map(([k, v]) => `${k}\0${v}\0`).join('');
}

export function parseAnswer(stdout: string, status: number | null, stderr: string, signal: NodeJS.Signals | null): HelperResult {
  const line = stdout.trim().split('\n').pop() ?? '';
  let answer: Record<string, unknown>;
  try {
    answer = JSON.parse(line);
  } catch {
    // A helper must never die silently: say what we got.
    const how = signal ? `killed by ${signal}` : `exit status ${status}`;
    throw new HelperError('run helper', 'EPROTO', HELPER_PATH, `no answer (${how}; ${stderr.trim() || 'no output'})`, 125);
  }
  if (answer.ok === true) {
    const result: HelperResult = { pid: Number(answer.pid), startTime: Number(answer.startTime ?? 0), runningNs: BigInt(String(answer.runningNs ?? 0)) as MonoNs };
    if (typeof answer.exitCode === 'number') result.exitCode = answer.exitCode;
    if (typeof answer.signal === 'number') result.signal = answer.signal;
    return result;
  }
  throw new HelperError(String(answer.step), String(answer.errno), String(answer.path ?? ''), String(answer.message), status ?? 125);
}

/**
 * `lockFd`: the state lock this process holds, handed to the helper as fd 3 so
 * the lock outlives us if we are killed mid-way: an `rm -f` then waits for the
 * helper to finish instead of racing it.
 */
export function runHelperSync(mode: 'create' | 'exec', config: HelperConfig, lockFd: number | null = null): HelperResult {
  const stdio: Array<'pipe' | number> = ['pipe', 'pipe', 'pipe'];
  if (lockFd !== null) stdio.push(lockFd);
  const r = spawnSync(HELPER_PATH, [mode], { input: encodeConfig(config), encoding: 'utf8', stdio });
  if (r.error) throw HostError.from('spawn', HELPER_PATH, r.error);
  return parseAnswer(r.stdout, r.status, r.stderr, r.signal);
}

export function runHelper(mode: 'create' | 'exec', config: HelperConfig, env?: Record<string, string>): Promise<HelperResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(HELPER_PATH, [mode], { stdio: ['pipe', 'pipe', 'pipe'], env: env && { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err) => reject(HostError.from('spawn', HELPER_PATH, err)));
    child.on('close', (status, signal) => {
      try {
        resolve(parseAnswer(stdout, status, stderr, signal));
      } catch (err) {
        reject(err);
      }
    });
    child.stdin.end(encodeConfig(config));
  });
}

/** Signals the caller forwards to an attached process (through the helper, which forwards them on). */
const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

/**
 * Attached exec: the process gets this process's stdin, stdout and stderr
 * (passed to the helper as fds 3, 4, 5) and the helper waits for it; the
 * answer says how it ended. Signals sent to us are passed on, once.
 */
export function runHelperAttached(config: HelperConfig): Promise<HelperResult> {
  const attached: HelperConfig = [...config, ['attach', '1'], ['stdin_fd', '3'], ['stdout_fd', '4'], ['stderr_fd', '5']];
  return new Promise((resolve, reject) => {
    const child = spawn(HELPER_PATH, ['exec'], { stdio: ['pipe', 'pipe', 'pipe', 0, 1, 2] });
    const forward = (sig: NodeJS.Signals) => child.kill(sig);
    for (const sig of FORWARDED) process.on(sig, forward);
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err) => reject(HostError.from('spawn', HELPER_PATH, err)));
    child.on('close', (status, signal) => {
      for (const sig of FORWARDED) process.off(sig, forward);
      try {
        resolve(parseAnswer(stdout, status, stderr, signal));
      } catch (err) {
        reject(err);
      }
    });
    child.stdin!.end(encodeConfig(attached));
  });
}
