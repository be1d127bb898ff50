/**
 * The operator's path, for real: `npm start` (build included) with only the contract variables,
 * the echo bot behind it, and a fake Chat API and token service on real sockets.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { signBody, startFakeChatApi, type FakeChatApi } from '../../src/index.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const KEY = '9c1d207d26f7c498b4c239bbf4e5282b9ef4fe1c18075e2e79d4db24e215904b';

function post(url: string, body: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json; charset=utf-8', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Waits for the log line that says where the bot listens. */
function listeningUrl(child: ChildProcess, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`npm start did not report listening within ${timeoutMs} ms:\n${out}`)), timeoutMs);
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /"url":"(http[^"]+)\/v1\/chats"/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited with ${code}:\n${out}`));
    });
  });
}

/** The `node` process npm started (npm → sh → node). */
function nodeDescendant(pid: number): number {
  const children = (p: number): number[] =>
    execFileSync('ps', ['-o', 'pid=', '--ppid', String(p)]).toString().split('\n').map((s) => Number(s.trim())).filter((n) => n > 0);
  const queue = [pid];
  while (queue.length) {
    const p = queue.shift()!;
    const comm = execFileSync('ps', ['-o', 'comm=', '-p', String(p)]).toString().trim();
    if (p !== pid && comm === 'node') return p;
    try {
      queue.push(...children(p));
    } catch {
      // no children
    }
  }
  throw new Error('no node process under npm start');
}

describe('npm start with the contract variables', () => {
  let api: FakeChatApi;
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    api = await startFakeChatApi();
  });
  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await api.close();
  });

  it('runs the echo bot: a signed text callback is echoed through the Chat API, SIGTERM exits 0', async () => {
    child = spawn('npm', ['start', '--silent'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        PORT: '0',
        HOST: '127.0.0.1',
        BBM_SIG_KEY: KEY,
        BBM_CLIENT_CREDENTIALS: api.clientCredentials,
        BBM_TOKEN_URL: api.tokenUrl,
        BBM_API_URL: api.apiUrl,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const url = await listeningUrl(child, 90_000);

    const body = JSON.stringify({
      mType: 'message',
      chId: 'C00012B1E',
      chatId: '837680',
      from: '100006006205',
      to: '31045128202',
      mTok: 'MS4xNDc2ODM4MDk3LjdkZDk4MjIxM2ZjNDBhMDc5YzI0ODJmYTQ5OTQ00Tg2',
      messages: [{ index: 1, type: 'text', mid: '2524be69e40ec933', ts: 1332394961610, text: 'Hello World!' }],
      userInfos: { '100006006205': { name: 'Alice' } },
    });
    const answer = await post(`${url}/v1/chats`, body, { 'bbm-sig': signBody(body, KEY) });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ messages: [{ mid: '2524be69e40ec933', result: { code: 200 } }] });

    const [send] = await api.waitForSends(1);
    expect(send).toMatchObject({ chatId: '837680', mTok: 'MS4xNDc2ODM4MDk3LjdkZDk4MjIxM2ZjNDBhMDc5YzI0ODJmYTQ5OTQ00Tg2' });
    expect(send!.body).toMatchObject({
      mType: 'bot',
      from: '31045128202',
      to: '100006006205',
      messages: [{ index: 1, type: 'text', text: 'Hello World!' }],
      userInfos: { '31045128202': { name: 'EchoBot' } },
    });

    const unsigned = await post(`${url}/v1/chats`, body, {});
    expect(unsigned.status).toBe(401);

    // Signal the bot's own node process, as a supervisor would; npm then exits with its code.
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    process.kill(nodeDescendant(child.pid!), 'SIGTERM');
    expect(await exited).toBe(0);
  }, 120_000);
});
