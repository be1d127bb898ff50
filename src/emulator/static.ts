/**
 * The web chat's files: plain HTML, CSS and JS read from `src/emulator/public` under the package
 * root, so the same folder serves whether the emulator runs from source (tsx) or from dist/
 * (tsc does not copy non-TS files, and the build need not).
 */
import { readFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../server/config.js';

export const PUBLIC_DIR = join(PROJECT_ROOT, 'src', 'emulator', 'public');

const FILES: Readonly<Record<string, { file: string; type: string }>> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/dialog.js': { file: 'dialog.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
  '/favicon.svg': { file: 'favicon.svg', type: 'image/svg+xml' },
};

/**
 * The page loads nothing from elsewhere except the images bots send (any http(s) host), and never
 * runs inline script: bot-provided text cannot become code even if a bug let it into the DOM.
 */
const CSP =
  "default-src 'self'; img-src 'self' http: https: data:; script-src 'self'; style-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

export function isStaticPath(path: string): boolean {
  return Object.hasOwn(FILES, path);
}

export async function serveStatic(path: string, res: ServerResponse, head: boolean): Promise<void> {
  const entry = FILES[path]!;
  let data: Buffer;
  try {
    // Read on every request: edits to the page show on reload, no restart needed.
    data = await readFile(join(PUBLIC_DIR, entry.file));
  } catch {
    res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(`the web chat's files are missing from ${PUBLIC_DIR}`);
    return;
  }
  res.writeHead(200, {
    'content-type': entry.type,
    'content-length': String(data.length),
    'cache-control': 'no-cache',
    'content-security-policy': CSP,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  });
  res.end(head ? undefined : data);
}
