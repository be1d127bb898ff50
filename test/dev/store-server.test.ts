/**
 * The dev store's endpoint: only the holder of its secret gets in, only StateStore methods run,
 * and a client's close (the bot's shutdown on every reload) leaves the data with the runner.
 * (The StateStore contract itself runs over it in test/state/store-contract.test.ts.)
 */
import { request } from 'node:http';
import { serveStore, type StoreServer } from '../../src/dev/store-server.js';
import { MemoryStore } from '../../src/state/memory.js';
import { connectRemoteStore, RemoteStoreError } from '../../src/state/remote.js';

let served: StoreServer;
const store = new MemoryStore();

beforeEach(async () => {
  served = await serveStore(store);
});
afterEach(async () => {
  await served.close();
});

function post(body: string, authorization?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(served.url, { method: 'POST', agent: false, headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

it('refuses a request without the secret, and a client with a wrong one', async () => {
  const call = JSON.stringify({ method: 'get', args: ['"k"'] });
  expect((await post(call)).status).toBe(401);
  expect((await post(call, `Bearer ${'0'.repeat(served.secret.length)}`)).status).toBe(401);
  const intruder = connectRemoteStore({ url: served.url, secret: 'guess' });
  await expect(intruder.get('k')).rejects.toThrow(RemoteStoreError);
  await expect(intruder.get('k')).rejects.toThrow(/answered 401/);
  await intruder.close();
});

it('runs StateStore methods only: not close, not anything else on the object', async () => {
  const auth = `Bearer ${served.secret}`;
  for (const method of ['close', 'constructor', 'records', '__proto__']) {
    const answer = await post(JSON.stringify({ method, args: [] }), auth);
    expect(answer.status).toBe(400);
    expect(answer.text).toContain(`method: "${method}" is not a StateStore method`);
  }
  expect((await post('{"method":"get","args":[1]}', auth)).text).toContain('args: must be an array of JSON texts');
  expect((await post('not json', auth)).status).toBe(400);
});

it("keeps the data when a client closes (a reloaded bot's shutdown), for the next client", async () => {
  const before = connectRemoteStore({ url: served.url, secret: served.secret });
  await before.set('session:c1', { orders: ['margherita'], note: null }, 60_000);
  await before.close();
  const after = connectRemoteStore({ url: served.url, secret: served.secret });
  expect(await after.get('session:c1')).toEqual({ orders: ['margherita'], note: null });
  // Absent and a stored null stay apart, also inside takeTicket's reads.
  await after.set('n', null, 60_000);
  const ticket = await after.takeTicket({ tickets: 't', done: 'd', lease: 'l' }, 'dev', 1000, 60_000, ['n', 'absent']);
  expect(ticket.values).toEqual([null, undefined]);
  expect(ticket.values).toHaveLength(2);
  expect(1 in ticket.values!).toBe(true);
  await after.close();
});

it('names the setting when the runner is gone', async () => {
  const client = connectRemoteStore({ url: served.url, secret: served.secret });
  await served.close();
  const err = await client.get('k').catch((e: unknown) => e);
  expect(err).toBeInstanceOf(RemoteStoreError);
  expect(err).toMatchObject({ code: 'REMOTE_STORE_FAILED', field: 'DEV_STORE_URL' });
  expect((err as Error).message).toMatch(/^state store get: .*is npm run dev still running\?/);
  await client.close();
  served = await serveStore(store);
});
