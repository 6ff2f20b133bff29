/**
 * How kernel test files declare their tests: kept apart from KernelEnv so that
 * benchmarks can use KernelEnv without loading ava (which refuses to be
 * imported outside its CLI).
 */
import fs from 'node:fs';
import test, { type TestFn } from 'ava';

/**
 * Kernel tests skip only where the host truly lacks a feature; under CI an
 * unexpected skip is a failure.
 */
export function kernelFeatureMissing(): string | null {
  if (process.geteuid?.() !== 0) return 'not running as root';
  if (!fs.existsSync('/sys/kernel/btf/vmlinux')) return 'the kernel has no BTF (/sys/kernel/btf/vmlinux)';
  return null;
}

/**
 * `test.serial` for a file of kernel tests, or its skip where the host lacks a
 * feature; then one test says why, and under CI (CI=true) that test fails.
 */
export function kernelSerial(what: string): { serial: TestFn['serial']['skip']; missing: string | null } {
  const missing = kernelFeatureMissing();
  if (missing) {
    if (process.env.CI === 'true') test(`${what} cannot run: ${missing}`, (t) => t.fail());
    else test(`${what} skipped: ${missing}`, (t) => t.pass());
  }
  return { serial: missing ? test.serial.skip : test.serial, missing };
}
