/**
 * The protocol fast paths, case by case: they answer the common shapes as zod does (values, -0
 * and all, key order, references of unknown values), and leave the rest to zod. The generated
 * cases (thousands per run, valid and hostile) are in test/webhook/hostile-properties.test.ts.
 */
import { fastCallback, fastSendRequest, fastSendResponseMessages } from '../../src/protocol/fast.js';
import { ChatCallbackSchema } from '../../src/protocol/inbound.js';
import { SendRequestSchema, SendResponseSchema } from '../../src/protocol/outbound.js';
import { sameOutput } from '../helpers/oracles.js';

describe('fastCallback', () => {
  it('takes the fast path for the callbacks BBM sends, unknown values by reference', () => {
    const extra = { deep: [1, 2] };
    const audio = { url: 'https://a/1.ogg', duration: 3 };
    const value = {
      mType: 'message',
      chId: 'C1',
      chatId: '837680',
      from: 'u1',
      to: 'bot',
      mTok: 't',
      actions: [{ type: 'typing', ts: 1 }, { type: 'read', mids: ['a'] }],
      messages: [
        { index: 1, type: 'text', mid: 'm1', ts: 2, text: 'hi', extra },
        { type: 'audio', mid: 'm2', audio },
      ],
      userInfos: { u1: { name: 'Alice', locale: 'fr' } },
      future: extra,
    };
    const mine = fastCallback(value);
    expect(mine).toBeDefined();
    expect(sameOutput(mine, ChatCallbackSchema.parse(value))).toBeUndefined();
    expect((mine as unknown as { future: unknown }).future).toBe(extra);
    expect((mine!.messages![1] as unknown as { audio: unknown }).audio).toBe(audio);
  });

  it('leaves to zod what it does not cover: coercions, defaults, avatars, images, postbacks', () => {
    const base = { mType: 'message', chatId: 'c', from: 'u', to: 'b', userInfos: { u: { name: 'A' } } };
    for (const value of [
      { ...base, messages: [{ type: 'text', mid: 'm', text: 'x', index: '1' }] },
      { ...base, userInfos: { u: {} } },
      { ...base, userInfos: { u: { name: 'A', avatar: [] } } },
      { ...base, messages: [{ type: 'image', mid: 'm', image: { url: 'u' } }] },
      { ...base, actions: [{ type: 'postback', postback: { data: 'a=1' } }] },
    ]) {
      expect(fastCallback(value)).toBeUndefined();
      expect(ChatCallbackSchema.safeParse(value).success).toBe(true);
    }
  });
});

describe('fastSendRequest', () => {
  it('takes the fast path for what the echo bot sends', () => {
    const body = { mType: 'bot', chatId: 'c', from: 'b', to: 'u', chId: 'C1', messages: [{ type: 'text', text: 'hi', index: 1 }], userInfos: { b: { name: 'EchoBot' } } };
    const mine = fastSendRequest(body);
    expect(mine).toBeDefined();
    expect(JSON.stringify(mine)).toBe(JSON.stringify(SendRequestSchema.parse(body)));
  });
});

describe('fast send answers', () => {
  it('SendResponse answers as zod', () => {
    for (const json of [{}, { messages: [] }, { messages: [1, 'x'] }, { messages: undefined }, { messages: null }, { messages: {} }, [], null, 'x', { other: 1 }]) {
      const zod = SendResponseSchema.safeParse(json);
      const mine = fastSendResponseMessages(json);
      if (mine === undefined) continue;
      expect(zod.success).toBe(true);
      expect(mine.messages).toEqual(zod.data!.messages);
    }
  });
});

// Found by the property suite: zod reads enumerable inherited keys too (a strict object refuses
// them, a loose one copies them into its output), while the fast paths read own keys only.
describe('objects whose prototype is not Object.prototype are left to zod', () => {
  const inheriting = (own: Record<string, unknown>) => Object.assign(Object.create({ polluted: true }) as Record<string, unknown>, own);

  it('a send whose userInfos entry inherits an unknown key: refused by zod, so not accepted by the fast path', () => {
    const body = { mType: 'bot', chatId: 'c', from: 'b', to: 'u', messages: [{ type: 'text', text: 'hi' }], userInfos: { b: inheriting({ name: 'Bot' }) } };
    expect(SendRequestSchema.safeParse(body).success).toBe(false);
    expect(fastSendRequest(body)).toBeUndefined();
  });

  it('a callback whose userInfos entry inherits a key: zod copies it, the fast path answers nothing', () => {
    const value = { mType: 'message', chatId: 'c', from: 'u', to: 'b', userInfos: { u: inheriting({ name: 'A' }) } };
    expect(Object.keys(ChatCallbackSchema.parse(value).userInfos.u!)).toEqual(['name', 'polluted']);
    expect(fastCallback(value)).toBeUndefined();
  });
});
