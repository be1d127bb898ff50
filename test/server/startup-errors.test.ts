/**
 * What `npm start` prints when it cannot start: a bad setting is one line naming it; a bot module
 * that throws while it loads shows where (its stack), so the file and line of the mistake are not lost.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const KEY = '9c1d207d26f7c498b4c239bbf4e5282b9ef4fe1c18075e2e79d4db24e215904b';

function runMain(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'dist/src/server/main.js')], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', BBM_SIG_KEY: KEY, PORT: '0', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

describe('startup failures', () => {
  const name = `startup-throws-${process.pid}`;
  const dir = join(ROOT, 'dist', 'bots', name);
  beforeAll(() => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'index.js'), 'function loadMenu() {\n  throw new TypeError("menu.json is missing");\n}\nloadMenu();\nexport default null;\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('shows the stack of a bot module that throws while it loads, down to its file and line', async () => {
    const { code, stderr } = await runMain({ BOT: name });
    expect(code).toBe(1);
    const lines = stderr.trimEnd().split('\n');
    expect(lines[0]).toBe('Startup failed: menu.json is missing');
    expect(lines[1]).toMatch(new RegExp(`at loadMenu \\(.*bots/${name}/index\\.js:2:9\\)`));
  }, 20_000);

  it('keeps a bad setting to one line naming it', async () => {
    const { code, stderr } = await runMain({ BOT: 'echo', PORT: 'eighty' });
    expect(code).toBe(1);
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/PORT/);
  }, 20_000);
});
