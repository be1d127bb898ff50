/**
 * Runs once before all test files: the end-to-end tests start the compiled bot
 * (`node dist/src/server/main.js`), so `dist` must match the sources. It is built here, once, and
 * only when a source is newer than it (CI builds just before `npm test`, so there it costs nothing).
 * One build instead of one per e2e file: two concurrent builds writing one `dist` raced.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

function newest(path) {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat) return 0;
  if (!stat.isDirectory()) return stat.mtimeMs;
  let latest = 0;
  for (const entry of readdirSync(path)) latest = Math.max(latest, newest(join(path, entry)));
  return latest;
}

export default function buildOnce() {
  const built = statSync(join(ROOT, 'dist/src/server/main.js'), { throwIfNoEntry: false })?.mtimeMs ?? 0;
  const sources = Math.max(...['src', 'bots', 'config', 'package.json', 'tsconfig.json', 'tsconfig.build.json'].map((p) => newest(join(ROOT, p))));
  if (sources > built) execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
}
