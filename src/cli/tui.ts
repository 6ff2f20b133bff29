/**
 * `vigil tui`: the live terminal UI (tui/). React and Ink load only here, by
 * dynamic import, so no other command pays for them at start-up.
 */
import path from 'node:path';
import { PACKAGE_ROOT } from '../paths.js';
import { UsageError } from '../util/errors.js';
import { expectPositionals, parseArgs } from './args.js';
import type { Context } from './commands.js';

export async function cmdTui(ctx: Context, argv: string[]): Promise<number> {
  expectPositionals(parseArgs(argv, {}), 0, 0, 'vigil tui');
  if (!process.stdout.isTTY || !process.stdin.isTTY) {
    throw new UsageError('vigil tui needs a terminal on stdin and stdout (for a stream of events, use vigil events --follow)');
  }
  const env = { ...process.env };
  // Ink draws only a final frame when it believes it runs in CI (it reads
  // CI at load). A terminal is interactive whatever the environment says.
  process.env.CI = 'false';
  const { runTui } = await import('../../tui/main.js');
  return runTui({ root: ctx.store.root, vigilBin: path.join(PACKAGE_ROOT, 'bin/vigil'), env });
}
