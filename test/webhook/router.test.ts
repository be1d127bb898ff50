import express from 'express';
import request from 'supertest';
import { Lifecycle } from '../../src/webhook/lifecycle.js';
import { createWebhookRouter, WebhookMountError, type WebhookRouterOptions } from '../../src/webhook/router.js';
import { signBody } from '../../src/webhook/signature.js';
import {
  actionsCallback,
  bytes,
  KEY,
  MemoryLog,
  sendBytes,
  signedHeaders,
  silentLogger,
  StubDispatcher,
  textCallback,
} from './helpers.js';

type Options = Partial<WebhookRouterOptions>;

function router(dispatcher: StubDispatcher, options: Options = {}) {
  return createWebhookRouter({ keys: [KEY], dispatcher, logger: silentLogger(), ...options });
}

/** An app with only the webhook, mounted at `base`. */
function appWith(dispatcher: StubDispatcher, base = '/bbm', options: Options = {}) {
  const app = express();
  app.use(base, router(dispatcher, options));
  return app;
}

function postSigned(app: express.Express, path: string, value: unknown, key = KEY) {
  const body = bytes(value);
  return sendBytes(request(app).post(path).set(signedHeaders(body, key)), body);
}

describe('createWebhookRouter: POST <base>/v1/chats', () => {
  it('answers 200 with one result per message and hands the parsed callback to the dispatcher', async () => {
    const dispatcher = new StubDispatcher();
    const res = await postSigned(appWith(dispatcher), '/bbm/v1/chats', textCallback(['one', 'two']));
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.body).toEqual({
      messages: [
        { mid: 'm1', result: { code: 200 } },
        { mid: 'm2', result: { code: 200 } },
      ],
    });
    expect(dispatcher.calls).toHaveLength(1);
    const { callback, context } = dispatcher.calls[0]!;
    expect(callback.chatId).toBe('837680');
    expect(callback.messages?.map((m) => m.mid)).toEqual(['m1', 'm2']);
    expect(typeof context.receivedAt).toBe('number');
    expect(typeof context.log.info).toBe('function');
  });

  it.each(['', '/bbm', '/hooks/tenant-a/bbm'])('is served under the base path %j', async (base) => {
    const app = express();
    if (base === '') app.use(router(new StubDispatcher()));
    else app.use(base, router(new StubDispatcher()));
    const res = await postSigned(app, `${base}/v1/chats`, textCallback());
    expect(res.status).toBe(200);
    expect((await request(app).get(`${base}/healthz`)).status).toBe(200);
  });

  it('answers 207 when a message failed, still one result per message in order', async () => {
    const dispatcher = new StubDispatcher(() => [
      { mid: 'm1', result: { code: 200 } },
      { mid: 'm2', result: { code: 500, error: 'handler failed' } },
      { mid: 'm3', result: { code: 409 } },
    ]);
    const res = await postSigned(appWith(dispatcher), '/bbm/v1/chats', textCallback(['a', 'b', 'c']));
    expect(res.status).toBe(207);
    expect(res.body).toEqual({
      messages: [
        { mid: 'm1', result: { code: 200 } },
        { mid: 'm2', result: { code: 500, error: 'handler failed' } },
        { mid: 'm3', result: { code: 409 } },
      ],
    });
  });

  it('answers 200 {} to an actions-only callback', async () => {
    const dispatcher = new StubDispatcher();
    const res = await postSigned(appWith(dispatcher), '/bbm/v1/chats', actionsCallback());
    expect(res.status).toBe(200);
    expect(res.text).toBe('{}');
    expect(dispatcher.calls[0]!.callback.actions).toEqual([{ type: 'typing', ts: 1332394963010 }]);
  });

  it('answers 401 when BBM-Sig is missing, without dispatching', async () => {
    const dispatcher = new StubDispatcher();
    const res = await sendBytes(
      request(appWith(dispatcher)).post('/bbm/v1/chats').set('content-type', 'application/json'),
      bytes(textCallback()),
    );
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ error: 'invalid_signature' });
    expect(res.body.message).toMatch(/BBM-Sig/);
    expect(dispatcher.calls).toHaveLength(0);
  });

  it('answers 401 when BBM-Sig does not match', async () => {
    const dispatcher = new StubDispatcher();
    const res = await postSigned(appWith(dispatcher), '/bbm/v1/chats', textCallback(), 'some-other-key');
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ error: 'invalid_signature' });
    expect(dispatcher.calls).toHaveLength(0);
  });

  it('accepts either key while rotating', async () => {
    const app = appWith(new StubDispatcher(), '/bbm', { keys: ['old-key', 'new-key'] });
    expect((await postSigned(app, '/bbm/v1/chats', textCallback(), 'old-key')).status).toBe(200);
    expect((await postSigned(app, '/bbm/v1/chats', textCallback(), 'new-key')).status).toBe(200);
    expect((await postSigned(app, '/bbm/v1/chats', textCallback(), KEY)).status).toBe(401);
  });

  it('verifies the exact bytes: odd whitespace and \\u escapes pass, a re-serialized signature does not', async () => {
    const dispatcher = new StubDispatcher();
    const app = appWith(dispatcher);
    const raw = Buffer.from(
      '{\n\t"mType" : "message", "chatId":"837680","from":"100006006205" ,"to":"31045128202",\r\n' +
        '"messages":[ {"type":"text","mid":"m1","text":"caf\\u00e9"} ],"userInfos":{}}\n',
    );
    const ok = await postSigned(app, '/bbm/v1/chats', raw);
    expect(ok.status).toBe(200);
    const message = dispatcher.calls[0]!.callback.messages![0]!;
    expect(message.type === 'text' && 'text' in message ? message.text : undefined).toBe('café');

    const reserializedSig = signBody(JSON.stringify(JSON.parse(raw.toString('utf8'))), KEY);
    const bad = await sendBytes(request(app).post('/bbm/v1/chats').set({ ...signedHeaders(raw), 'bbm-sig': reserializedSig }), raw);
    expect(bad.status).toBe(401);
  });

  it('answers 400 to a body that is not JSON', async () => {
    const res = await postSigned(appWith(new StubDispatcher()), '/bbm/v1/chats', '{"mType": "message",');
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: 'invalid_json' });
  });

  it('answers 400 naming a missing required field', async () => {
    const { chatId: _omit, ...withoutChatId } = textCallback();
    const res = await postSigned(appWith(new StubDispatcher()), '/bbm/v1/chats', withoutChatId);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_callback');
    expect(res.body.issues).toEqual([expect.objectContaining({ path: 'chatId' })]);
    expect(res.body.message).toMatch(/chatId/);
  });

  it('answers 400 naming the nested path of a known type missing its field', async () => {
    const res = await postSigned(appWith(new StubDispatcher()), '/bbm/v1/chats', actionsCallback([{ type: 'read', ts: 1 }]));
    expect(res.status).toBe(400);
    expect(res.body.issues.map((i: { path: string }) => i.path)).toEqual(['actions.0.mids']);
  });

  it('answers 413 over the body limit', async () => {
    const dispatcher = new StubDispatcher();
    const app = appWith(dispatcher, '/bbm', { bodyLimit: 1024 });
    const big = textCallback(['x'.repeat(4000)]);
    const res = await postSigned(app, '/bbm/v1/chats', big);
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ error: 'body_too_large' });
    expect(dispatcher.calls).toHaveLength(0);
    // Just under the limit is fine.
    expect((await postSigned(app, '/bbm/v1/chats', textCallback(['y'.repeat(500)]))).status).toBe(200);
  });

  it('answers 503 with Retry-After while shutting down, and /readyz says so', async () => {
    const lifecycle = new Lifecycle();
    const dispatcher = new StubDispatcher();
    const app = appWith(dispatcher, '/bbm', { lifecycle });
    expect((await request(app).get('/bbm/readyz')).status).toBe(200);
    await lifecycle.drain(0);
    const res = await postSigned(app, '/bbm/v1/chats', textCallback());
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBeDefined();
    expect(res.body).toMatchObject({ error: 'shutting_down' });
    expect(dispatcher.calls).toHaveLength(0);
    const ready = await request(app).get('/bbm/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body).toEqual({ status: 'not_ready', reason: 'shutting down' });
    expect((await request(app).get('/bbm/healthz')).status).toBe(200);
  });

  it('answers 500 when the dispatcher throws, logs it, and keeps serving', async () => {
    const log = new MemoryLog();
    let fail = true;
    const dispatcher = new StubDispatcher((cb) => {
      if (fail) throw new Error('database on fire');
      return [{ mid: cb.messages![0]!.mid, result: { code: 200 } }];
    });
    const app = appWith(dispatcher, '/bbm', { logger: log.logger() });
    const res = await postSigned(app, '/bbm/v1/chats', textCallback());
    expect(res.status).toBe(500);
    expect(res.body).toMatchObject({ error: 'internal_error' });
    expect(res.text).not.toMatch(/database on fire/);
    const errorLine = log.entries().find((e) => e.level === 50);
    expect(errorLine).toBeDefined();
    expect(JSON.stringify(errorLine)).toMatch(/database on fire/);

    fail = false;
    expect((await postSigned(app, '/bbm/v1/chats', textCallback())).status).toBe(200);
  });

  it('answers 500 when the dispatcher rejects asynchronously', async () => {
    const dispatcher = new StubDispatcher(async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      throw new Error('later');
    });
    const res = await postSigned(appWith(dispatcher), '/bbm/v1/chats', textCallback());
    expect(res.status).toBe(500);
  });

  it.each(['get', 'put', 'delete', 'patch'] as const)('answers 405 to %s on /v1/chats', async (method) => {
    const res = await request(appWith(new StubDispatcher()))[method]('/bbm/v1/chats');
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('POST');
    expect(res.body).toMatchObject({ error: 'method_not_allowed' });
  });
});

describe('createWebhookRouter: health', () => {
  it('GET /healthz answers 200', async () => {
    const res = await request(appWith(new StubDispatcher())).get('/bbm/healthz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
  });

  it('GET /readyz answers 503 with the reason the readiness check gives', async () => {
    let reason: string | undefined = 'redis unreachable';
    const app = appWith(new StubDispatcher(), '/bbm', { readiness: () => reason });
    const res = await request(app).get('/bbm/readyz');
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ status: 'not_ready', reason: 'redis unreachable' });
    reason = undefined;
    const ok = await request(app).get('/bbm/readyz');
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ status: 'ready' });
  });
});

describe('createWebhookRouter and body parsers', () => {
  it('works mounted BEFORE express.json(), which still parses the other routes', async () => {
    const app = express();
    app.use('/bbm', router(new StubDispatcher()));
    app.use(express.json());
    app.post('/api/echo', (req, res) => {
      res.json({ got: req.body as unknown });
    });
    expect((await postSigned(app, '/bbm/v1/chats', textCallback())).status).toBe(200);
    const echo = await request(app).post('/api/echo').send({ hello: 'world' });
    expect(echo.status).toBe(200);
    expect(echo.body).toEqual({ got: { hello: 'world' } });
  });

  it('works mounted at the root before express.json()', async () => {
    const app = express();
    app.use(router(new StubDispatcher()));
    app.use(express.json());
    app.post('/api/echo', (req, res) => {
      res.json({ got: req.body as unknown });
    });
    expect((await postSigned(app, '/v1/chats', textCallback())).status).toBe(200);
    expect((await request(app).post('/api/echo').send({ a: 1 })).body).toEqual({ got: { a: 1 } });
  });

  it('throws WebhookMountError at mount time when mounted AFTER a global express.json()', () => {
    const app = express();
    app.use(express.json());
    let thrown: unknown;
    try {
      app.use('/bbm', router(new StubDispatcher()));
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(WebhookMountError);
    const err = thrown as WebhookMountError;
    expect(err.code).toBe('WEBHOOK_MOUNTED_AFTER_BODY_PARSER');
    expect(err.message).toMatch(/express\.json\(\)/);
    expect(err.message).toMatch(/before app\.use\(express\.json\(\)\)/);
  });

  it('throws at mount time when express.json() covers the webhook path', () => {
    const app = express();
    app.use('/bbm', express.json());
    expect(() => app.use('/bbm', router(new StubDispatcher()))).toThrow(WebhookMountError);
  });

  it('accepts express.json() limited to other paths', async () => {
    const app = express();
    app.use('/api', express.json());
    app.post('/api/echo', (req, res) => {
      res.json({ got: req.body as unknown });
    });
    app.use('/bbm', router(new StubDispatcher()));
    expect((await postSigned(app, '/bbm/v1/chats', textCallback())).status).toBe(200);
    expect((await request(app).post('/api/echo').send({ b: 2 })).body).toEqual({ got: { b: 2 } });
  });

  it('reuses the Buffer express.raw() left in req.body', async () => {
    const app = express();
    app.use(express.raw({ type: 'application/json' }));
    app.use('/bbm', router(new StubDispatcher()));
    // Odd spacing: only the very bytes received verify.
    const body = Buffer.from(`  ${JSON.stringify(textCallback(), null, 3)}\n`);
    const ok = await sendBytes(request(app).post('/bbm/v1/chats').set(signedHeaders(body)), body);
    expect(ok.status).toBe(200);
    const bad = await sendBytes(
      request(app)
        .post('/bbm/v1/chats')
        .set({ ...signedHeaders(body), 'bbm-sig': signBody(JSON.stringify(textCallback()), KEY) }),
      body,
    );
    expect(bad.status).toBe(401);
  });

  it('applies the body limit to a Buffer from express.raw() too', async () => {
    const app = express();
    app.use(express.raw({ type: 'application/json', limit: '1mb' }));
    app.use('/bbm', router(new StubDispatcher(), { bodyLimit: 512 }));
    const res = await postSigned(app, '/bbm/v1/chats', textCallback(['z'.repeat(2000)]));
    expect(res.status).toBe(413);
  });

  it('answers 500 raw_body_unavailable when a parser hidden in a nested Router ate the body', async () => {
    const log = new MemoryLog();
    const app = express();
    const nested = express.Router();
    nested.use(express.json());
    app.use(nested);
    app.use('/bbm', router(new StubDispatcher(), { logger: log.logger() }));
    const res = await postSigned(app, '/bbm/v1/chats', textCallback());
    expect(res.status).toBe(500);
    expect(res.body.error).toBe('raw_body_unavailable');
    expect(res.body.message).toMatch(/body parser/);
    expect(log.entries().some((e) => e.level === 50)).toBe(true);
  });

  it('uses req.rawBody kept by a verify hook in a nested parser', async () => {
    const app = express();
    const nested = express.Router();
    nested.use(
      express.json({
        verify: (req, _res, buf) => {
          (req as unknown as { rawBody: Buffer }).rawBody = Buffer.from(buf);
        },
      }),
    );
    app.use(nested);
    app.use('/bbm', router(new StubDispatcher()));
    expect((await postSigned(app, '/bbm/v1/chats', textCallback())).status).toBe(200);
  });
});
