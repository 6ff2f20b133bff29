/**
 * The TUI is a client: it imports the control client, the protocol and the
 * record types, and nothing else of vigil (never the monitor's internals).
 */
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { PACKAGE_ROOT } from '../../src/paths.js';

const ALLOWED_FROM_SRC = new Set(['src/control/client.ts', 'src/control/protocol.ts', 'src/journal/journal.ts']);
/** Modules the TUI may only take types from (erased at build). */
const TYPES_ONLY = new Set(['src/journal/journal.ts']);

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(path.join(dir, e.name)) : /\.tsx?$/.test(e.name) ? [path.join(dir, e.name)] : []));
}

test('tui/ imports only the control client, the protocol and record types of src/', (t) => {
  const files = sources(path.join(PACKAGE_ROOT, 'tui'));
  t.true(files.length > 10);
  for (const file of files) {
    const text = fs.readFileSync(file, 'utf8');
    for (const m of text.matchAll(/^import\s+(type\s+)?[^'"]*?from\s+'([^']+)'/gm)) {
      const [, typeOnly, spec] = m;
      if (!spec.startsWith('.')) {
        t.true(spec.startsWith('node:') || ['ink', 'react', 'react/jsx-runtime'].includes(spec), `${path.relative(PACKAGE_ROOT, file)} imports ${spec}`);
        continue;
      }
      const target = path.relative(PACKAGE_ROOT, path.resolve(path.dirname(file), spec)).replace(/\.js$/, '.ts');
      if (target.startsWith('tui/')) continue;
      t.true(ALLOWED_FROM_SRC.has(target), `${path.relative(PACKAGE_ROOT, file)} imports ${target}`);
      if (TYPES_ONLY.has(target)) t.truthy(typeOnly, `${path.relative(PACKAGE_ROOT, file)} may import only types from ${target}`);
    }
  }
});

test('tui/ draws text only through Line (Ink caches every string a <Text> shows, forever)', (t) => {
  for (const file of sources(path.join(PACKAGE_ROOT, 'tui'))) {
    const code = fs.readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
    t.notRegex(code, /<Text[\s>]/, `${path.relative(PACKAGE_ROOT, file)} uses <Text>`);
  }
});
