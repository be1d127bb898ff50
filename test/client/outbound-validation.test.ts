import { readFileSync } from 'node:fs';
import {
  ChatClient,
  ValidationError,
  buttons,
  image,
  link,
  linkAction,
  postback,
  read,
  text,
  textAction,
  typing,
  validateSendRequest,
  type ButtonAction,
  type OutboundMessage,
} from '../../src/client/index.js';
import { OUTBOUND_LIMITS as L } from '../../src/protocol/limits.js';
import { FakeChatApi } from './fake-chat-api.js';

const s = (n: number, c = 'a') => c.repeat(n);
/** n code points, 2n UTF-16 units: limits count characters, not units. */
const emoji = (n: number) => '😀'.repeat(n);

function body(messages: unknown[], extra: Record<string, unknown> = {}) {
  return {
    mType: 'bot',
    chatId: '837680',
    from: 'bot',
    to: 'user',
    messages,
    userInfos: { bot: { name: 'Bot' } },
    ...extra,
  };
}

/** The issue paths of a body that must be rejected. */
function issuesOf(b: unknown): string[] {
  try {
    validateSendRequest(b);
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return (err as ValidationError).issues.map((i) => i.path);
  }
  throw new Error('expected the body to be rejected');
}

const ok = (b: unknown) => expect(() => validateSendRequest(b)).not.toThrow();
const oneButton = [postback({ label: 'Go', data: 'go' })];

describe('builders', () => {
  it('produce the wire shape', () => {
    expect(text('hi')).toEqual({ type: 'text', text: 'hi' });
    expect(image({ url: 'u' })).toEqual({ type: 'image', image: { url: 'u' } });
    expect(image({ url: 'u', preview: 'p' })).toEqual({ type: 'image', image: { url: 'u', preview: 'p' } });
    expect(link({ url: 'u' })).toEqual({ type: 'link', link: { url: 'u' } });
    expect(link({ url: 'u', target: 'ext' })).toEqual({ type: 'link', link: { url: 'u', target: 'ext' } });
    expect(postback({ label: 'l', data: 'd' })).toEqual({ type: 'postback', postback: { label: 'l', data: 'd' } });
    expect(postback({ label: 'l', data: 'd', text: 't' })).toEqual({
      type: 'postback',
      postback: { label: 'l', data: 'd', text: 't' },
    });
    expect(textAction({ label: 'l', text: 't' })).toEqual({ type: 'text', text: { label: 'l', text: 't' } });
    expect(linkAction({ label: 'l', url: 'u' })).toEqual({ type: 'link', link: { label: 'l', url: 'u' } });
    expect(linkAction({ label: 'l', url: 'u', text: 't' })).toEqual({ type: 'link', link: { label: 'l', url: 'u', text: 't' } });
    expect(typing()).toEqual({ type: 'typing' });
    expect(read('m1')).toEqual({ type: 'read', mids: ['m1'] });
    expect(read(['m1', 'm2'])).toEqual({ type: 'read', mids: ['m1', 'm2'] });
    expect(buttons({ desc: 'd', actions: oneButton })).toEqual({ type: 'buttons', buttons: { desc: 'd', actions: oneButton } });
    expect(buttons({ imageUrl: 'i', title: 't', desc: 'd', actions: oneButton })).toEqual({
      type: 'buttons',
      buttons: { imageUrl: 'i', title: 't', desc: 'd', actions: oneButton },
    });
  });

  it('build a body that validates', () => {
    ok(
      body(
        [
          text('hello'),
          image({ url: 'https://x/i.png', preview: 'https://x/p.png' }),
          link({ url: 'https://x', target: 'def' }),
          buttons({
            imageUrl: 'https://x/i.png',
            title: 'Title',
            desc: 'Short description',
            actions: [
              postback({ label: 'Book', data: 'a=1', text: 'Book it' }),
              textAction({ label: 'Say hi', text: 'hi' }),
              linkAction({ label: 'Site', url: 'https://x' }),
            ],
          }),
        ],
        { actions: [typing(), read(['m1'])] },
      ),
    );
  });
});

describe('outbound limits', () => {
  it('text: at most 2000 characters, counted in code points', () => {
    ok(body([text(s(L.text))]));
    ok(body([text(emoji(L.text))]));
    expect(issuesOf(body([text(s(L.text + 1))]))).toEqual(['messages.0.text']);
    expect(issuesOf(body([text(emoji(L.text + 1))]))).toEqual(['messages.0.text']);
    expect(issuesOf(body([text('')]))).toEqual(['messages.0.text']);
  });

  it('image url and preview: at most 4096', () => {
    ok(body([image({ url: s(L.imageUrl), preview: s(L.previewUrl) })]));
    expect(issuesOf(body([image({ url: s(L.imageUrl + 1) })]))).toEqual(['messages.0.image.url']);
    expect(issuesOf(body([image({ url: 'u', preview: s(L.previewUrl + 1) })]))).toEqual(['messages.0.image.preview']);
  });

  it('link url: at most 4096; target def or ext', () => {
    ok(body([link({ url: s(L.linkUrl), target: 'def' })]));
    expect(issuesOf(body([link({ url: s(L.linkUrl + 1) })]))).toEqual(['messages.0.link.url']);
    expect(issuesOf(body([{ type: 'link', link: { url: 'u', target: 'blank' } }]))).toEqual(['messages.0.link.target']);
  });

  it('buttons imageUrl at most 1000, title at most 40', () => {
    const short = 'd';
    ok(body([buttons({ imageUrl: s(L.buttonsImageUrl), title: s(L.buttonsTitle), desc: short, actions: oneButton })]));
    expect(issuesOf(body([buttons({ imageUrl: s(L.buttonsImageUrl + 1), desc: short, actions: oneButton })]))).toEqual([
      'messages.0.buttons.imageUrl',
    ]);
    expect(issuesOf(body([buttons({ title: s(L.buttonsTitle + 1), desc: short, actions: oneButton })]))).toEqual([
      'messages.0.buttons.title',
    ]);
  });

  it('buttons desc: 160 alone, 60 with an image or a title', () => {
    ok(body([buttons({ desc: s(L.buttonsDesc), actions: oneButton })]));
    expect(issuesOf(body([buttons({ desc: s(L.buttonsDesc + 1), actions: oneButton })]))).toEqual([
      'messages.0.buttons.desc',
    ]);
    ok(body([buttons({ imageUrl: 'i', desc: s(L.buttonsDescWithHeader), actions: oneButton })]));
    ok(body([buttons({ title: 't', desc: emoji(L.buttonsDescWithHeader), actions: oneButton })]));
    expect(issuesOf(body([buttons({ imageUrl: 'i', desc: s(L.buttonsDescWithHeader + 1), actions: oneButton })]))).toEqual([
      'messages.0.buttons.desc',
    ]);
    expect(issuesOf(body([buttons({ title: 't', desc: s(L.buttonsDescWithHeader + 1), actions: oneButton })]))).toEqual([
      'messages.0.buttons.desc',
    ]);
  });

  it('buttons: 1 to 4 actions', () => {
    const four = Array.from({ length: 4 }, (_, i) => postback({ label: `b${i}`, data: `${i}` }));
    ok(body([buttons({ desc: 'd', actions: four })]));
    expect(issuesOf(body([buttons({ desc: 'd', actions: [] })]))).toEqual(['messages.0.buttons.actions']);
    expect(
      issuesOf(body([buttons({ desc: 'd', actions: [...four, postback({ label: 'x', data: 'x' })] })])),
    ).toEqual(['messages.0.buttons.actions']);
  });

  it('action label at most 20, postback data at most 300, action text at most 300', () => {
    const withAction = (a: ButtonAction) => body([buttons({ desc: 'd', actions: [a] })]);
    const p = 'messages.0.buttons.actions.0';
    ok(withAction(postback({ label: s(L.actionLabel), data: s(L.postbackData), text: s(L.actionText) })));
    ok(withAction(textAction({ label: s(L.actionLabel), text: s(L.actionText) })));
    ok(withAction(linkAction({ label: s(L.actionLabel), url: s(L.linkUrl), text: s(L.actionText) })));

    expect(issuesOf(withAction(postback({ label: s(L.actionLabel + 1), data: 'd' })))).toEqual([`${p}.postback.label`]);
    expect(issuesOf(withAction(postback({ label: 'l', data: s(L.postbackData + 1) })))).toEqual([`${p}.postback.data`]);
    expect(issuesOf(withAction(postback({ label: 'l', data: 'd', text: s(L.actionText + 1) })))).toEqual([
      `${p}.postback.text`,
    ]);
    expect(issuesOf(withAction(textAction({ label: s(L.actionLabel + 1), text: 't' })))).toEqual([`${p}.text.label`]);
    expect(issuesOf(withAction(textAction({ label: 'l', text: s(L.actionText + 1) })))).toEqual([`${p}.text.text`]);
    expect(issuesOf(withAction(linkAction({ label: s(L.actionLabel + 1), url: 'u' })))).toEqual([`${p}.link.label`]);
    expect(issuesOf(withAction(linkAction({ label: 'l', url: s(L.linkUrl + 1) })))).toEqual([`${p}.link.url`]);
    expect(issuesOf(withAction(linkAction({ label: 'l', url: 'u', text: s(L.actionText + 1) })))).toEqual([
      `${p}.link.text`,
    ]);
  });

  it('message types: text, image, link, buttons only', () => {
    expect(issuesOf(body([{ type: 'video', video: { url: 'u' } }]))).toEqual(['messages.0.type']);
    expect(issuesOf(body([{ type: 'text', text: 'hi', extra: 1 }]))).toEqual(['messages.0']);
  });

  it('actions: read and typing at top level; postback/text/link only inside buttons', () => {
    ok(body([], { actions: [typing(), read(['m'])] }));
    expect(issuesOf(body([], { actions: [postback({ label: 'l', data: 'd' })] }))).toEqual(['actions.0.type']);
    expect(issuesOf(body([], { actions: [textAction({ label: 'l', text: 't' })] }))).toEqual(['actions.0.type']);
    expect(issuesOf(body([], { actions: [{ type: 'leave' }] }))).toEqual(['actions.0.type']);
    expect(issuesOf(body([], { actions: [{ type: 'read', mids: [] }] }))).toEqual(['actions.0.mids']);
    expect(issuesOf(body([buttons({ desc: 'd', actions: [typing() as unknown as ButtonAction] })]))).toEqual([
      'messages.0.buttons.actions.0.type',
    ]);
  });

  it('the body: something to send, and a userInfos entry for the sender', () => {
    expect(issuesOf(body([]))).toEqual(['(body)']);
    expect(issuesOf(body([text('x')], { userInfos: {} }))).toEqual(['userInfos']);
    expect(issuesOf(body([text('x')], { mType: 'shout' }))).toEqual(['mType']);
  });

  it('lists every offending field at once', () => {
    const issues = issuesOf(
      body([
        text(s(L.text + 1)),
        image({ url: s(L.imageUrl + 1), preview: s(L.previewUrl + 1) }),
        buttons({ title: 't', desc: s(61), actions: [postback({ label: s(21), data: s(301) })] }),
      ]),
    );
    expect(issues.sort()).toEqual(
      [
        'messages.0.text',
        'messages.1.image.url',
        'messages.1.image.preview',
        'messages.2.buttons.desc',
        'messages.2.buttons.actions.0.postback.label',
        'messages.2.buttons.actions.0.postback.data',
      ].sort(),
    );
  });

  it("rejects the spec's own buttons sample: desc too long with an image, a 22-character label", () => {
    const sample: unknown = JSON.parse(
      readFileSync(new URL('../fixtures/outbound-buttons-spec-sample.json', import.meta.url), 'utf8'),
    );
    expect(issuesOf(sample).sort()).toEqual(
      ['messages.0.buttons.desc', 'messages.0.buttons.actions.0.text.label'].sort(),
    );
  });
});

describe('ChatClient validation', () => {
  let api: FakeChatApi;
  let client: ChatClient;

  beforeAll(async () => {
    api = await FakeChatApi.start();
    client = new ChatClient({
      apiUrl: api.apiUrl,
      tokenUrl: api.tokenUrl,
      clientCredentials: api.clientCredentials,
      botName: 'Bot',
    });
  });
  afterAll(async () => {
    await client.close();
    await api.close();
  });

  it('throws before any network call, listing every issue', async () => {
    const bad: OutboundMessage[] = [text(s(L.text + 1)), buttons({ desc: 'd', actions: [] })];
    const err: unknown = await client.send({ chatId: 'c', mTok: '', from: 'bot', to: 'user', messages: bad }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).code).toBe('VALIDATION_FAILED');
    expect((err as ValidationError).issues.map((i) => i.path).sort()).toEqual(
      ['messages.0.text', 'messages.1.buttons.actions', 'mTok'].sort(),
    );
    expect(api.tokenRequests).toHaveLength(0);
    expect(api.chatRequests).toHaveLength(0);
  });
});
