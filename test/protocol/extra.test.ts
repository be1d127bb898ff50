/**
 * Parsed wire objects keep what the spec does not name, but their types name only the schema's
 * properties: a typo is a compile error (the `@ts-expect-error` lines below fail `npm run typecheck`
 * when it compiles), and `extra()` is the one way to the rest.
 */
import { ImageSchema, PostbackActionSchema, UserInfoSchema, extra, type ChatCallback, type InboundMessage, type TextMessage } from '../../src/index.js';
import { parseCallback } from '../../src/webhook/parse.js';

const parse = (value: unknown): ChatCallback => {
  const outcome = parseCallback(Buffer.from(JSON.stringify(value), 'utf8'));
  if (!outcome.ok) throw new Error(`expected a valid callback: ${outcome.message}`);
  return outcome.callback;
};

const base = { mType: 'message', chatId: 'c1', from: 'u1', to: 'b1', mTok: 't1', userInfos: { u1: { name: 'Alice', mood: 'hungry' } } };

describe('typed wire objects: known names only', () => {
  it('a misspelt property does not compile, on a message, a union, an action and the callback', () => {
    const text: TextMessage = { type: 'text', mid: 'm1', text: 'hi' };
    // @ts-expect-error `txet` is not a property of a text message
    expect(text.txet).toBeUndefined();
    const message: InboundMessage = text;
    // @ts-expect-error nor of any message
    expect(message.txet).toBeUndefined();
    const callback = parse({ ...base, messages: [text] });
    // @ts-expect-error a callback has `chatId`, not `chatID`
    expect(callback.chatID).toBeUndefined();
    const tap = parse({ ...base, actions: [{ type: 'postback', postback: { data: 'x' } }] }).actions![0]!;
    if (tap.type !== 'postback') throw new Error('expected a postback');
    // @ts-expect-error an action's properties are named too
    expect(tap.postbak).toBeUndefined();
    // Records keep their keys: `userInfos` is indexed by user id.
    expect(callback.userInfos.u1?.name).toBe('Alice');
    const known: string = text.text;
    expect(known).toBe('hi');
  });
});

describe('extra()', () => {
  it('gives the properties the schema does not name, from the real parse path', () => {
    const callback = parse({
      ...base,
      newField: 1,
      messages: [
        { type: 'text', mid: 'm1', text: 'hi', lang: 'en' },
        { type: 'audio', mid: 'm2', index: 2, audio: { url: 'https://x/a.ogg' } },
        { type: 'image', mid: 'm3', image: { url: 'https://x/i.png', width: 640 } },
      ],
      actions: [
        { type: 'postback', postback: { data: 'a=1', extraData: 'z' }, source: 'menu' },
        { type: 'text', text: { text: 'yes' }, via: 'button' },
        { type: 'future', ts: 1, detail: 'x' },
      ],
    });
    expect(extra(callback)).toEqual({ newField: 1 });
    const [text, audio, image] = callback.messages!;
    expect(extra(text!)).toEqual({ lang: 'en' });
    expect(extra(audio!)).toEqual({ audio: { url: 'https://x/a.ogg' } });
    expect(extra(image!)).toEqual({});
    const imageMessage = image as Extract<InboundMessage, { type: 'image' }>;
    expect(extra(imageMessage.image, ImageSchema)).toEqual({ width: 640 });
    const [postback, tap, future] = callback.actions!;
    expect(extra(postback!)).toEqual({ source: 'menu' });
    const postbackAction = postback as Extract<typeof postback, { type: 'postback' }>;
    expect(extra(postbackAction.postback, PostbackActionSchema.shape.postback)).toEqual({ extraData: 'z' });
    // A tap on a text button is an action whose type is also a message type: no mid tells them apart.
    expect(extra(tap!)).toEqual({ via: 'button' });
    expect(extra(future!)).toEqual({ detail: 'x' });
    expect(extra(callback.userInfos.u1!, UserInfoSchema)).toEqual({ mood: 'hungry' });
  });

  it('is typed unknown, and a `__proto__` on the wire stays a plain property', () => {
    // The webhook's parser drops such keys already; extra() must not revive them on its own objects.
    const hostile = JSON.parse('{"type":"text","mid":"m1","text":"hi","__proto__":{"polluted":true}}') as TextMessage;
    const rest = extra(hostile);
    expect(Object.getPrototypeOf(rest)).toBe(Object.prototype);
    expect(Object.keys(rest)).toEqual(['__proto__']);
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
    const lang: unknown = rest.lang;
    expect(lang).toBeUndefined();
  });
});
