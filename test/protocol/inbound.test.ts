import {
  CallbackResponseSchema,
  ChatCallbackSchema,
  InboundActionSchema,
  InboundMessageSchema,
  isKnownActionType,
  isKnownMessageType,
} from '../../src/protocol/inbound.js';
import { LenientInt, ownValue } from '../../src/protocol/primitives.js';
import { parseCallback } from '../../src/webhook/parse.js';
import * as S from '../fixtures/spec-samples.js';

const parse = (text: string) => {
  const outcome = parseCallback(Buffer.from(text, 'utf8'));
  if (!outcome.ok) throw new Error(`expected a valid callback: ${outcome.message}`);
  return outcome.callback;
};

const base = { mType: 'message', chatId: 'c1', from: 'u1', to: 'b1', userInfos: { u1: { name: 'Alice' } } };

/** Paths named by a 400, whole-callback (`from`) or per message (`messages.0.text`). */
function issuePaths(value: unknown): string[] {
  const outcome = parseCallback(Buffer.from(JSON.stringify(value)));
  if (!outcome.ok) return (outcome.issues ?? []).map((i) => i.path);
  return (outcome.rejected ?? []).flatMap((r) => r.issues.map((i) => (i.path === '(message)' ? `messages.${r.position}` : `messages.${r.position}.${i.path}`)));
}

describe('spec callbacks parse', () => {
  it('the single text message callback', () => {
    const cb = parse(S.SINGLE_TEXT_CALLBACK);
    expect(cb).toMatchObject({ mType: 'message', chId: 'C00012B1E', chatId: '837680', from: '100006006205', to: '31045128202' });
    expect(cb.mTok).toMatch(/^MS4x/);
    expect(cb.messages).toEqual([
      { index: 1, type: 'text', mid: '2524be69e40ec933', ts: 1332394961610, text: 'Hello World!' },
    ]);
    const alice = cb.userInfos['100006006205']!;
    expect(alice.name).toBe('Alice');
    expect(alice.avatar?.[0]).toMatchObject({ imageSize: 1166, imageType: 'image/jpeg', resolution: '60x60' });
  });

  it('the postback callback: actions only, no ts, no mTok', () => {
    const cb = parse(S.POSTBACK_CALLBACK);
    expect(cb.mTok).toBeUndefined();
    expect(cb.messages).toBeUndefined();
    expect(cb.actions).toEqual([
      { type: 'postback', postback: { label: 'Book this offer', data: 'action=book&location=rome&offer=123' } },
    ]);
  });

  it('the typing callback (repaired)', () => {
    const cb = parse(S.TYPING_CALLBACK);
    expect(cb.actions).toEqual([{ type: 'typing', ts: 1332394963010 }]);
    expect(cb.mTok).toBeUndefined();
  });

  it('the multiple message callback (repaired): string indexes coerced', () => {
    const cb = parse(S.MULTIPLE_MESSAGE_CALLBACK);
    expect(cb.messages?.map((m) => [m.index, m.type, m.mid])).toEqual([
      [1, 'text', '3f4e094e9785fc70'],
      [2, 'image', '07dcb3e02ae3d19c'],
    ]);
    const image = cb.messages![1]!;
    expect(image.type === 'image' && 'image' in image ? image.image : undefined).toEqual({
      preview: 'https://placeholder.it.imgix.net/~text?txtsize=33&txt=256%C3%97144&w=256&h=144',
      url: 'https://placeholder.it.imgix.net/~text?txtsize=33&txt=1080x566&w=1080&h=566',
    });
  });

  it.each([
    ['leave', S.LEAVE_ACTION],
    ['typing', S.TYPING_ACTION],
    ['dlv', S.DLV_ACTION],
    ['read', S.READ_ACTION],
  ])('the %s action sample (repaired)', (type, sample) => {
    const action = InboundActionSchema.parse(JSON.parse(sample));
    expect(action.type).toBe(type);
    expect(action.ts).toBe(1332394961610);
    const cb = parse(S.callbackWith({ actions: [sample] }));
    expect(cb.actions).toHaveLength(1);
  });

  it('dlv and read keep their mids', () => {
    const cb = parse(S.callbackWith({ actions: [S.DLV_ACTION, S.READ_ACTION] }));
    expect(cb.actions?.map((a) => ('mids' in a ? a.mids : undefined))).toEqual([['7443411170bf9696'], ['7443411170bf9696']]);
  });

  it('the text and image message samples (repaired)', () => {
    const cb = parse(S.callbackWith({ messages: [S.TEXT_MESSAGE, S.IMAGE_MESSAGE] }));
    expect(cb.messages?.map((m) => m.type)).toEqual(['text', 'image']);
    expect(InboundMessageSchema.parse(JSON.parse(S.IMAGE_MESSAGE))).toMatchObject({
      type: 'image',
      image: { url: 'https://placeholderit.imgix.net/~text?txtsize=33&txt=1080x566&w=1080&h=566' },
    });
  });
});

describe('spec callback responses parse', () => {
  it.each([
    ['the HTTP Response sample', S.CALLBACK_RESPONSE_SAMPLE, 1],
    ['the single text answer', S.SINGLE_TEXT_CALLBACK_RESPONSE, 1],
    ['the two-message answer', S.MULTIPLE_MESSAGE_CALLBACK_RESPONSE, 2],
    ['the actions-only answer', S.TYPING_CALLBACK_RESPONSE, 0],
    ['a send response with a string ts', S.SEND_RESPONSE_STRING_TS, 1],
  ])('%s', (_name, sample, count) => {
    const parsed = CallbackResponseSchema.parse(JSON.parse(sample));
    expect(parsed.messages?.length ?? 0).toBe(count);
    for (const m of parsed.messages ?? []) expect(m.result.code).toBe(200);
  });

  it('keeps the send response extras, coercing its string ts', () => {
    const parsed = CallbackResponseSchema.parse(JSON.parse(S.SEND_RESPONSE_STRING_TS));
    expect(parsed.messages![0]).toMatchObject({ index: 1, type: 'result', mid: '344eab12c9923a80', ts: '1332394962100' });
  });

  it('coerces a string result code', () => {
    const parsed = CallbackResponseSchema.parse({ messages: [{ mid: 'm', result: { code: '207', error: 'x' } }] });
    expect(parsed.messages![0]!.result).toEqual({ code: 207, error: 'x' });
  });
});

describe('lenient parsing', () => {
  it('coerces numeric strings for index and ts, on messages and actions', () => {
    const cb = parse(
      JSON.stringify({
        ...base,
        messages: [{ index: '3', type: 'text', mid: 'm', ts: '1332394962100', text: 'x' }],
        actions: [{ type: 'leave', ts: '1332394961610' }],
      }),
    );
    expect(cb.messages![0]).toMatchObject({ index: 3, ts: 1332394962100 });
    expect(cb.actions![0]).toMatchObject({ ts: 1332394961610 });
  });

  it('LenientInt accepts integers and digit strings only', () => {
    expect(LenientInt.parse(5)).toBe(5);
    expect(LenientInt.parse('-12')).toBe(-12);
    expect(LenientInt.parse('0042')).toBe(42);
    for (const bad of ['1.5', ' 1', '', '1e3', 'abc', 1.5, null, true, '12345678901234567']) {
      expect(LenientInt.safeParse(bad).success).toBe(false);
    }
  });

  it('LenientInt refuses unsafe integers in both forms (a double cannot hold them exactly)', () => {
    expect(LenientInt.parse(Number.MAX_SAFE_INTEGER)).toBe(Number.MAX_SAFE_INTEGER);
    expect(LenientInt.parse('9007199254740991')).toBe(Number.MAX_SAFE_INTEGER);
    expect(LenientInt.parse('-9007199254740991')).toBe(-Number.MAX_SAFE_INTEGER);
    for (const bad of [2 ** 53 + 2, 2 ** 53, -(2 ** 53), '9999999999999999', '9007199254740992', '-9007199254740993']) {
      expect(LenientInt.safeParse(bad).success).toBe(false);
    }
  });

  it('ownValue reads a wire map by its own properties only', () => {
    const map: Record<string, { name: string }> = { alice: { name: 'Alice' } };
    expect(ownValue(map, 'alice')).toEqual({ name: 'Alice' });
    for (const key of ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'bob']) expect(ownValue(map, key)).toBeUndefined();
    expect(ownValue(undefined, 'alice')).toBeUndefined();
  });

  it('a bad integer names its path and says what was expected', () => {
    const outcome = parseCallback(Buffer.from(JSON.stringify({ ...base, messages: [{ type: 'text', mid: 'm', text: 'x', index: 'one' }] })));
    expect(outcome.ok && outcome.rejected).toEqual([
      { position: 0, mid: 'm', issues: [{ path: 'index', message: 'expected an integer or a string of digits' }] },
    ]);
    const whole = parseCallback(Buffer.from(JSON.stringify({ ...base, actions: [{ type: 'typing', ts: 'soon' }] })));
    expect(!whole.ok && whole.issues).toEqual([{ path: 'actions.0.ts', message: 'expected an integer or a string of digits' }]);
  });

  it('keeps unknown properties at every level', () => {
    const cb = parse(
      JSON.stringify({
        ...base,
        sessionId: 'sess-1',
        future: { nested: [1, 2] },
        messages: [{ type: 'text', mid: 'm', text: 'x', lang: 'it', meta: { a: 1 } }, { type: 'image', mid: 'n', image: { url: 'u', width: 300 }, caption: 'c' }],
        actions: [{ type: 'read', mids: ['m0'], reader: 'u1' }, { type: 'postback', postback: { data: 'd', extra: true }, origin: 'button' }],
        userInfos: { u1: { name: 'Alice', presence: 'online', avatar: [{ url: 'a', imageSize: '1166', color: 'blue' }] } },
      }),
    ) as unknown as Record<string, unknown> & { messages: Record<string, unknown>[]; actions: Record<string, unknown>[]; userInfos: Record<string, Record<string, unknown>> };
    expect(cb.sessionId).toBe('sess-1');
    expect(cb.future).toEqual({ nested: [1, 2] });
    expect(cb.messages[0]).toMatchObject({ lang: 'it', meta: { a: 1 } });
    expect(cb.messages[1]).toMatchObject({ caption: 'c', image: { url: 'u', width: 300 } });
    expect(cb.actions[0]).toMatchObject({ reader: 'u1' });
    expect(cb.actions[1]).toMatchObject({ origin: 'button', postback: { data: 'd', extra: true } });
    expect(cb.userInfos.u1).toMatchObject({ presence: 'online', avatar: [{ url: 'a', imageSize: 1166, color: 'blue' }] });
  });

  it.each(['audio', 'video', 'richmedia', 'music', 'sticker'])('delivers an unknown message type (%s) with its properties', (type) => {
    const cb = parse(JSON.stringify({ ...base, messages: [{ index: '1', type, mid: 'm1', ts: 1, [type]: { url: 'https://example.com/x', duration: 12 } }] }));
    expect(cb.messages![0]).toEqual({ index: 1, type, mid: 'm1', ts: 1, [type]: { url: 'https://example.com/x', duration: 12 } });
    expect(isKnownMessageType(type)).toBe(false);
  });

  it('delivers unknown action types with their properties', () => {
    const cb = parse(JSON.stringify({ ...base, actions: [{ type: 'retract', ts: '5', mids: ['m1'] }, { type: 'reaction', emoji: '👍' }] }));
    expect(cb.actions).toEqual([
      { type: 'retract', ts: 5, mids: ['m1'] },
      { type: 'reaction', emoji: '👍' },
    ]);
    expect(isKnownActionType('retract')).toBe(false);
    expect(isKnownActionType('dlv')).toBe(true);
  });

  it('accepts the buttons taps a user can send back: text and link actions', () => {
    const cb = parse(
      JSON.stringify({
        ...base,
        actions: [
          { type: 'text', text: { label: 'Discover latest offers', text: 'Discover latest offers' } },
          { type: 'link', link: { label: 'Go to our website', url: 'http://example.com/page/123' } },
        ],
      }),
    );
    expect(cb.actions?.map((a) => a.type)).toEqual(['text', 'link']);
  });

  it('requires userInfos (the spec marks it required) but defaults a missing name', () => {
    const { userInfos: _omit, ...noUserInfos } = base;
    expect(issuePaths(noUserInfos)).toEqual(['userInfos']);
    expect(ChatCallbackSchema.parse({ ...base, userInfos: { u1: {} } }).userInfos.u1!.name).toBe('');
  });

  describe('known types missing required fields → the path is named', () => {
    it.each([
      [{ actions: [{ type: 'dlv', ts: 1 }] }, ['actions.0.mids']],
      [{ actions: [{ type: 'typing' }, { type: 'read', mids: [] }] }, ['actions.1.mids']],
      [{ actions: [{ type: 'postback', postback: { label: 'x' } }] }, ['actions.0.postback.data']],
      [{ actions: [{ ts: 1 }] }, ['actions.0.type']],
      [{ messages: [{ type: 'text', mid: 'm' }] }, ['messages.0.text']],
      [{ messages: [{ type: 'image', mid: 'm', image: { preview: 'p' } }] }, ['messages.0.image.url']],
      [{ messages: [{ type: 'audio' }] }, ['messages.0.mid']],
      [{ messages: [{ type: 'text', text: 'x', mid: '' }] }, ['messages.0.mid']],
      [{ from: undefined }, ['from']],
      [{ mType: 7 }, ['mType']],
    ])('%j → %j', (patch, paths) => {
      expect(issuePaths({ ...base, ...patch })).toEqual(paths);
    });
  });
});
