/** Fault injection: each armed fault shapes the next N Chat API answers, then disarms itself. */
import { http, send, sendBody, setup, text, uiHttp, uiPost, type Setup } from './helpers.js';

describe('emulator: fault injection', () => {
  let s: Setup;
  beforeEach(async () => {
    s = await setup();
  });
  afterEach(() => s.close());

  const body = () => sendBody(s, { messages: [text('one'), text('two'), text('three')] });

  it('answers 429 with Retry-After to the next N sends, then normally', async () => {
    const armed = await uiPost(s.emu, '/api/faults', { kind: '429', count: 2, retryAfterSeconds: 2 });
    expect(armed.status).toBe(201);
    expect(armed.json.fault).toMatchObject({ kind: '429', remaining: 2, retryAfterSeconds: 2 });
    for (const remaining of [1, 0]) {
      const res = await send(s, body());
      expect(res.status).toBe(429);
      expect(res.headers['retry-after']).toBe('2');
      expect(s.emu.faults().map((f) => f.remaining)).toEqual(remaining ? [remaining] : []);
    }
    expect((await send(s, body())).status).toBe(200);
    expect(s.emu.traffic(s.chatId)[1]!.notes).toContain('injected fault: 429');
  });

  it('answers 503 (Retry-After only when asked)', async () => {
    s.emu.injectFault({ kind: '503' });
    const res = await send(s, body());
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBeUndefined();
    expect(res.json.error).toBe('service_unavailable');
  });

  it('answers 207 with the chosen message failing and the later ones 409; only earlier ones reach the chat', async () => {
    s.emu.injectFault({ kind: '207', code: 500, messageIndex: 2 });
    const before = s.emu.chat(s.chatId).items.length;
    const res = await send(s, body());
    expect(res.status).toBe(207);
    expect(res.json.messages!.map((m) => [m.index, (m.result as { code: number }).code, 'mid' in m])).toEqual([
      [1, 200, true],
      [2, 500, false],
      [3, 409, false],
    ]);
    expect(s.emu.chat(s.chatId).items.length).toBe(before + 1);
  });

  it('does not spend a 207 fault on a send with only actions', async () => {
    s.emu.injectFault({ kind: '207' });
    expect((await send(s, sendBody(s, { actions: [{ type: 'typing' }] }))).status).toBe(200);
    expect(s.emu.faults()).toHaveLength(1);
  });

  it('adds latency to the next N sends', async () => {
    s.emu.injectFault({ kind: 'latency', latencyMs: 250, count: 1 });
    const started = Date.now();
    expect((await send(s, body())).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(240);
    const quick = Date.now();
    await send(s, body());
    expect(Date.now() - quick).toBeLessThan(200);
  });

  it('lists, removes and clears faults over HTTP', async () => {
    const a = await uiPost(s.emu, '/api/faults', { kind: '503', count: 3 });
    await uiPost(s.emu, '/api/faults', { kind: 'latency', latencyMs: 10 });
    expect((await http('GET', `${s.emu.url}/api/faults`)).json.faults).toHaveLength(2);
    const id = (a.json.fault as { id: string }).id;
    expect((await uiHttp('DELETE', `${s.emu.url}/api/faults/${id}`, { body: {} })).json.faults).toHaveLength(1);
    expect((await uiHttp('DELETE', `${s.emu.url}/api/faults/${id}`, { body: {} })).status).toBe(404);
    expect((await uiHttp('DELETE', `${s.emu.url}/api/faults`, { body: {} })).json.faults).toEqual([]);
  });

  it.each([
    [{ kind: 'teapot' }, 'kind'],
    [{ kind: '429', count: 0 }, 'count'],
    [{ kind: 'latency' }, 'latencyMs'],
    [{ kind: '207', code: 200 }, 'code'],
    [{ kind: '503', colour: 'red' }, '(body)'],
  ])('refuses a bad fault %j with 400 naming %s', async (spec, path) => {
    const res = await uiPost(s.emu, '/api/faults', spec);
    expect(res.status).toBe(400);
    expect(res.json.issues!.map((i) => i.path)).toContain(path);
    expect(s.emu.faults()).toEqual([]);
  });
});
