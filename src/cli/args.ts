/** A small argument parser: flags with values, boolean flags, positionals, and `--`. */
import { UsageError } from '../util/errors.js';

export interface FlagSpec {
  /** 'list': a flag that may be given again; its values collect in Parsed.lists. */
  [name: string]: 'boolean' | 'string' | 'list';
}

export interface Parsed {
  flags: Record<string, string | boolean | undefined>;
  positionals: string[];
  /** Everything after `--`. */
  rest: string[] | null;
  /** Values of 'list' flags, in the order given. */
  lists: Record<string, string[]>;
}

/** Aliases map short names ("-t") to long ones ("timeout"). */
export function parseArgs(argv: string[], spec: FlagSpec, aliases: Record<string, string> = {}): Parsed {
  const flags: Parsed['flags'] = {};
  const positionals: string[] = [];
  const lists: Parsed['lists'] = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') return { flags, positionals, rest: argv.slice(i + 1), lists };
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    let [name, value] = arg.startsWith('--') ? splitEq(arg.slice(2)) : [aliases[arg] ?? arg, undefined as string | undefined];
    name = aliases[`--${name}`] ?? name;
    const kind = spec[name];
    if (!kind) throw new UsageError(`unknown option ${arg}${arg.startsWith('--') ? nearestOption(name, Object.keys(spec)) : ''} (see vigil --help)`);
    if (kind === 'boolean') {
      if (value !== undefined) throw new UsageError(`option --${name} takes no value`);
      flags[name] = true;
    } else {
      if (value === undefined) {
        if (i + 1 >= argv.length) throw new UsageError(`option --${name} needs a value`);
        value = argv[++i];
      }
      if (kind === 'list') (lists[name] ??= []).push(value);
      else flags[name] = value;
    }
  }
  return { flags, positionals, rest: null, lists };
}

function splitEq(s: string): [string, string | undefined] {
  const eq = s.indexOf('=');
  return eq < 0 ? [s, undefined] : [s.slice(0, eq), s.slice(eq + 1)];
}

export function expectPositionals(p: Parsed, min: number, max: number, usage: string): string[] {
  if (p.positionals.length < min || p.positionals.length > max) throw new UsageError(`usage: ${usage}`);
  return p.positionals;
}

export function seconds(value: string | boolean | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (typeof value !== 'string' || !Number.isFinite(n) || n < 0) throw new UsageError(`option ${flag} expects a number of seconds, got ${JSON.stringify(value)}`);
  return n;
}

/** " (did you mean --x?)" for a misspelt option one edit (two, for long names) from a known one, else "". */
function nearestOption(name: string, known: string[]): string {
  let best: string | null = null;
  let bestDistance = name.length >= 6 ? 3 : name.length >= 3 ? 2 : 1;
  for (const k of known) {
    const d = editDistance(name, k);
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best === null ? '' : ` (did you mean --${best}?)`;
}

/** Levenshtein distance, with a swap of two neighbours counting as one edit. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}
