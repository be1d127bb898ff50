/**
 * The callback contract as the spec's tables state it: which faults are the whole callback's (400)
 * and which are one message's (207 with a per-message 400 while its neighbours are handled).
 */
import express from 'express';
import request from 'supertest';
import { createWebhookRouter } from '../../src/webhook/router.js';
import { parseCallback } from '../../src/webhook/parse.js';
import { createBot } from '../../src/index.js';
import { closeHarnesses, harness } from '../helpers/harnesses.js';
import { bytes, KEY, sendBytes, signedHeaders, silentLogger, StubDispatcher, textCallback } from './helpers.js';

function post(dispatcher: StubDispatcher, value: unknown) {
  const app = express();
  app.use('/bbm', createWebhookRouter({ keys: [KEY], dispatcher, logger: silentLogger() }));
  const body = bytes(value);
  return sendBytes(request(app).post('/bbm/v1/chats').set(signedHeaders(body, KEY)), body);
}

describe('the callback contract', () => {
  it('a callback without userInfos is a 400 naming the field (the spec marks it required)', async () => {
    const dispatcher = new StubDispatcher();
    const value = textCallback();
    delete value.userInfos;
    const res = await post(dispatcher, value);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_callback');
    expect(res.body.issues).toEqual([expect.objectContaining({ path: 'userInfos' })]);
    expect(dispatcher.calls).toHaveLength(0);
  });

  it('numbers as strings and unknown properties stay accepted', async () => {
    const dispatcher = new StubDispatcher();
    const value = textCallback(['hi'], { extraField: { nested: true } });
    (value.messages as Record<string, unknown>[])[0]!.index = '1';
    (value.messages as Record<string, unknown>[])[0]!.ts = '1332394961610';
    const res = await post(dispatcher, value);
    expect(res.status).toBe(200);
    expect(dispatcher.calls[0]!.callback.messages![0]).toMatchObject({ index: 1, ts: 1332394961610 });
  });

  it('one malformed message of a known type is a per-message 400; the valid ones beside it are handled', async () => {
    const dispatcher = new StubDispatcher();
    const value = textCallback(['first', 'third']);
    const messages = value.messages as Record<string, unknown>[];
    messages.splice(1, 0, { index: 2, type: 'image', mid: 'bad-image', image: { preview: 'https://x.example/p.png' } });
    const res = await post(dispatcher, value);
    expect(res.status).toBe(207);
    expect(res.body.messages).toEqual([
      { mid: 'm1', result: { code: 200 } },
      { mid: 'bad-image', result: { code: 400, error: expect.stringContaining('image.url') } },
      { mid: 'm2', result: { code: 200 } },
    ]);
    expect(dispatcher.calls[0]!.callback.messages!.map((m) => m.mid)).toEqual(['m1', 'm2']);
  });

  it('a message without a usable mid still gets its 400, in its place', async () => {
    const dispatcher = new StubDispatcher();
    const value = textCallback(['ok']);
    (value.messages as unknown[]).unshift({ type: 'text', text: 'no mid' }, 'not an object');
    const res = await post(dispatcher, value);
    expect(res.status).toBe(207);
    expect(res.body.messages).toEqual([
      { result: { code: 400, error: expect.stringContaining('mid') } },
      { result: { code: 400, error: expect.stringContaining('(message)') } },
      { mid: 'm1', result: { code: 200 } },
    ]);
  });

  it('every message malformed: 207 with a 400 each, actions still dispatched', async () => {
    const dispatcher = new StubDispatcher();
    const value = textCallback([], { actions: [{ type: 'typing' }] });
    value.messages = [{ type: 'image', mid: 'x', image: {} }];
    const res = await post(dispatcher, value);
    expect(res.status).toBe(207);
    expect(res.body.messages).toEqual([{ mid: 'x', result: { code: 400, error: expect.any(String) } }]);
    expect(dispatcher.calls[0]!.callback.actions).toEqual([{ type: 'typing' }]);
  });

  it('a fault in the callback\'s own fields keeps the whole-callback 400, even beside a bad message', () => {
    const value = textCallback(['x']);
    delete value.chatId;
    (value.messages as unknown[]).push({ type: 'image', mid: 'i', image: {} });
    const outcome = parseCallback(Buffer.from(JSON.stringify(value)));
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) expect(outcome.issues?.map((i) => i.path)).toContain('chatId');
  });

  it('through a real bot, with indexes out of array order: results stay in array order, handling in index order', async () => {
    const handled: string[] = [];
    const bot = createBot({ name: 'T' });
    bot.on('text', (ctx) => {
      handled.push(ctx.text!);
    });
    const h = await harness(bot);
    const answer = await h.post({
      messages: [
        { index: 3, type: 'text', mid: 'third', text: 'c' },
        { index: 1, type: 'image', mid: 'bad', image: {} },
        { index: 2, type: 'text', mid: 'second', text: 'b' },
      ],
    });
    await closeHarnesses();
    expect(answer.status).toBe(207);
    expect(answer.body.messages!.map((m) => [m.mid, m.result.code])).toEqual([
      ['third', 200],
      ['bad', 400],
      ['second', 200],
    ]);
    expect(handled).toEqual(['b', 'c']);
  });

  it('too many messages is the whole callback\'s fault', () => {
    const value = textCallback(Array.from({ length: 1000 }, (_, i) => `t${i}`));
    const outcome = parseCallback(Buffer.from(JSON.stringify(value)));
    expect(outcome.ok).toBe(false);
  });
});
