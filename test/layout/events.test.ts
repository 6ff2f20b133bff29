/**
 * The event ABI: bpf/events.h as compiled by gcc must match src/events/layout.ts
 * field by field. A C program generated from the TS table prints offsetof and
 * sizeof of every field it names (a name unknown to C fails the compile), and
 * each struct's fields must tile it exactly (a field unknown to TS leaves a gap).
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { C_CONSTANTS, STRUCTS, type Field } from '../../src/events/layout.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

interface CLayout {
  structs: Record<string, { size: number; fields: Record<string, [number, number]> }>;
  constants: Record<string, number>;
}

function cProgram(): string {
  const out: string[] = [
    '#include <stdio.h>',
    '#include <stddef.h>',
    '#include <linux/types.h>',
    '#include "events.h"',
    '#define FIELD(s, f) offsetof(struct s, f), sizeof(((struct s *)0)->f)',
    'int main(void)',
    '{',
    '\tprintf("{\\"structs\\":{");',
  ];
  STRUCTS.forEach((s, i) => {
    out.push(`\tprintf("${i ? ',' : ''}\\"${s.name}\\":{\\"size\\":%zu,\\"fields\\":{", sizeof(struct ${s.name}));`);
    Object.keys(s.fields).forEach((f, j) => {
      out.push(`\tprintf("${j ? ',' : ''}\\"${f}\\":[%zu,%zu]", FIELD(${s.name}, ${f}));`);
    });
    out.push('\tprintf("}}");');
  });
  out.push('\tprintf("},\\"constants\\":{");');
  Object.keys(C_CONSTANTS).forEach((c, i) => {
    out.push(`\tprintf("${i ? ',' : ''}\\"${c}\\":%lld", (long long)(${c}));`);
  });
  out.push('\tprintf("}}\\n");', '\treturn 0;', '}');
  return out.join('\n') + '\n';
}

function compileAndRun(): CLayout {
  const dir = mkdtempSync(path.join(tmpdir(), 'vigil-layout-'));
  try {
    writeFileSync(path.join(dir, 'layout.c'), cProgram());
    const bin = path.join(dir, 'layout');
    execFileSync('gcc', ['-Wall', '-Wextra', '-Werror', '-I', path.join(ROOT, 'bpf'), '-o', bin, path.join(dir, 'layout.c')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return JSON.parse(execFileSync(bin, { encoding: 'utf8' })) as CLayout;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const c = compileAndRun();

for (const s of STRUCTS) {
  test(`struct ${s.name}: size and every field match events.h`, (t) => {
    const cs = c.structs[s.name];
    t.truthy(cs, `struct ${s.name} missing from C output`);
    t.is(s.size, cs!.size, 'sizeof');
    const fields = s.fields as Readonly<Record<string, Field>>;
    for (const [name, f] of Object.entries(fields)) {
      t.deepEqual([f.offset, f.size], cs!.fields[name], `${s.name}.${name} [offset, size]`);
    }
  });

  test(`struct ${s.name}: fields tile the struct with no gap (nothing missing in TS)`, (t) => {
    const fields = Object.entries(s.fields as Readonly<Record<string, Field>>).sort((a, b) => a[1].offset - b[1].offset);
    let at = 0;
    for (const [name, f] of fields) {
      t.is(f.offset, at, `${s.name}.${name} starts where the previous field ends`);
      at = f.offset + f.size;
    }
    t.is(at, s.size, `${s.name} fields end at sizeof`);
  });
}

test('constants match events.h', (t) => {
  t.deepEqual(c.constants, { ...C_CONSTANTS });
});
