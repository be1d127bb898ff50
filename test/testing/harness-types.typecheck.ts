/**
 * Type tests of the test kit, checked by `npx tsc -p tsconfig.json` (jest does not run this file):
 * what must compile does, and every `@ts-expect-error` line must fail to compile, or tsc reports
 * the unused directive.
 */
import {
  buttons,
  createBot,
  createTestHarness,
  image,
  postback,
  textAction,
  type Bot,
  type MessagePattern,
  type TestHarness,
} from '../../src/index.js';

interface Order {
  size: string;
}
interface Session {
  orders: Order[];
}

const withSession = createBot<Session>({ name: 'Pizza', session: { initial: () => ({ orders: [] }) } });
const plain = createBot({ name: 'Plain' });

export async function harnessTypes(): Promise<void> {
  // Named for a bot with a session, directly: declared before it is created (as with beforeAll).
  let shared: TestHarness<typeof withSession> | undefined;
  const beforeAll = async () => {
    shared = await createTestHarness(withSession);
  };
  await beforeAll();
  const h = shared!;
  const sameBot: Bot<Session> = h.bot;
  // By the session type, as before.
  const bySession: TestHarness<Session> = await createTestHarness(withSession);
  // Without a type argument: a harness of any bot.
  const harnesses: TestHarness[] = [h, bySession, await createTestHarness(plain)];
  const plainHarness: TestHarness<typeof plain> = await createTestHarness(plain);
  void sameBot;
  void harnesses;
  void plainHarness;

  // @ts-expect-error a harness of another session type is not this bot's
  const wrong: TestHarness<typeof plain> = h;
  void wrong;

  // Deep patterns of the wire message.
  h.expectReply('Hi!');
  h.expectReply(/Hi/);
  h.expectReply({ type: 'buttons', buttons: { title: 'Size?' } });
  h.expectReply({ type: 'buttons', buttons: { title: /size/i, actions: [{ type: 'postback' }, { postback: { data: 'size=l' } }] } });
  h.expectReply({ buttons: { desc: 'Pick one' } });
  h.expectReply({ type: 'image', image: { url: /\.png$/ } });
  // Built with the bot's own builders: whole messages, and actions inside a pattern.
  h.expectReply(buttons({ desc: 'Pick one', actions: [postback({ label: 'Large', data: 'size=l' })] }));
  h.expectReply(image({ url: 'https://example.com/p.png' }));
  h.expectReply({ type: 'buttons', buttons: { actions: [postback({ label: 'Large', data: 'size=l' }), textAction({ label: 'Menu', text: 'menu' })] } });

  // @ts-expect-error a misspelt field
  h.expectReply({ type: 'buttons', buttons: { titel: 'Size?' } });
  // @ts-expect-error no such message type
  h.expectReply({ type: 'txt' });
  // @ts-expect-error a text message has no buttons
  h.expectReply({ type: 'text', buttons: { title: 'Size?' } });
  // @ts-expect-error text is a string
  h.expectReply({ type: 'text', text: 42 });
  // @ts-expect-error a literal field stays literal: no RegExp for `type`
  h.expectReply({ type: /button/ });
  // @ts-expect-error actions are a list
  h.expectReply({ type: 'buttons', buttons: { actions: postback({ label: 'Large', data: 'size=l' }) } });

  const pattern: MessagePattern = { type: 'link', link: { url: /example/ } };
  h.expectReply(pattern);
  const skipped: readonly unknown[] = h.skipReplies(2);
  void skipped;
  h.clear();
  const id: string = h.newChat();
  void id;
}
