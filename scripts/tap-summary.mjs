// Count a TAP stream's test points: "ok"/"not ok", with "# SKIP" and "# TODO"
// directives. Prints "N passed, N failed, N skipped" alone on the last line;
// exits 1 if anything failed or nothing ran at all.
import fs from 'node:fs';

const text = fs.readFileSync(process.argv[2] ?? 0, 'utf8');
let passed = 0;
let failed = 0;
let skipped = 0;
for (const line of text.split('\n')) {
  const m = /^(not ok|ok)\b[^#]*(#\s*(SKIP|TODO)\b)?/i.exec(line);
  if (!m) continue;
  if (m[3]) skipped++;
  else if (m[1] === 'ok') passed++;
  else failed++;
}
// ava reports a crashed worker or an uncaught error as "not ok" lines too;
// "Bail out!" means the run stopped early.
if (/^Bail out!/m.test(text)) failed = Math.max(failed, 1);
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || passed + failed === 0 ? 1 : 0);
