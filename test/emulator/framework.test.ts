/**
 * The framework against the emulator as its platform: the real ChatClient (token service, sends,
 * retries through injected faults) and real bots behind the real webhook server.
 */
import showcase, { settings } from '../../bots/showcase/index.js';
import echo from '../../bots/echo/index.js';
import {
  ChatClient,
  FakeClock,
  startBotServer,
  startEmulator,
  type Bot,
  type BotItem,
  type BotServer,
  type Emulator,
  type EmulatorOptions,
  type UserItem,
} from '../../src/index.js';
import { until } from '../helpers/until.js';
import { botConfigFor } from './helpers.js';

interface Running {
  emu: Emulator;
  server: BotServer<unknown>;
  close(): Promise<void>;
}

/** The emulator and a bot wired as `npm run dev` wires them, in this process. */
async function run(bot: Bot<unknown>, options: EmulatorOptions = {}): Promise<Running> {
  const emu = await startEmulator({ port: 0, callbackRetry: { attempts: 3, backoffMs: 20 }, ...options });
  const config = botConfigFor(emu, options.deliveryNotifications === true);
  const server = await startBotServer({ config, bot });
  emu.setBotUrl(`${server.url}/v1/chats`);
  return {
    emu,
    server,
    close: async () => {
      await server.shutdown();
      await emu.close();
    },
  };
}

const botTexts = (emu: Emulator, chatId: string): string[] =>
  emu.chat(chatId).items.flatMap((i) => (i.from === 'bot' && i.message.type === 'text' ? [i.message.text] : []));

describe('the ChatClient against the emulator', () => {
  let emu: Emulator;
  let client: ChatClient;
  beforeAll(async () => {
    emu = await startEmulator({ port: 0 });
    client = new ChatClient({
      apiUrl: emu.apiUrl,
      tokenUrl: emu.tokenUrl,
      clientCredentials: emu.clientCredentials,
      botName: 'CompatBot',
      retry: { minTimeoutMs: 10, maxTimeoutMs: 50 },
    });
  });
  afterAll(async () => {
    await client.close();
    await emu.close();
  });

  const input = () => {
    const chat = emu.chats()[0]!;
    return { chatId: chat.chatId, mTok: emu.mTokOf(chat.chatId), from: emu.botId, to: chat.userId };
  };

  it('gets a token and sends: the message reaches the chat with the mid the client reports', async () => {
    const result = await client.send({ ...input(), messages: [{ type: 'text', text: 'from the real client' }] });
    expect(result.ok).toBe(true);
    expect(result.messages[0]).toMatchObject({ index: 1, code: 200, state: 'delivered', mid: expect.any(String) });
    const item = emu.chat(input().chatId).items.at(-1)!;
    expect(item).toMatchObject({ from: 'bot', id: result.messages[0]!.mid, message: { type: 'text', text: 'from the real client' } });
    expect(emu.state().config.botName).toBe('CompatBot');
    expect(emu.traffic().some((e) => e.kind === 'token' && e.status === 200)).toBe(true);
  });

  it('retries through injected 429s (honouring Retry-After) and 503s', async () => {
    emu.injectFault({ kind: '429', count: 2, retryAfterSeconds: 0 });
    emu.injectFault({ kind: '503', count: 1 });
    const result = await client.send({ ...input(), messages: [{ type: 'text', text: 'persistent' }] });
    expect(result.ok).toBe(true);
    expect(result.attempts).toBe(4);
    const statuses = emu.traffic(input().chatId).filter((e) => e.kind === 'api').slice(0, 4).map((e) => e.status).reverse();
    expect(statuses).toEqual([429, 429, 503, 200]);
  });

  it('resends only the message a 207 failed, and none twice', async () => {
    emu.injectFault({ kind: '207', code: 503, messageIndex: 2 });
    const before = botTexts(emu, input().chatId).length;
    const result = await client.send({ ...input(), messages: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }, { type: 'text', text: 'c' }] });
    expect(result.ok).toBe(true);
    expect(botTexts(emu, input().chatId).slice(before)).toEqual(['a', 'b', 'c']);
  });

  it('gets a new token when the emulator answers 401 to an expired one, and sends once', async () => {
    let clock = Date.now();
    const own = await startEmulator({ port: 0, tokenTtlSeconds: 3600, now: () => clock });
    const c = new ChatClient({ apiUrl: own.apiUrl, tokenUrl: own.tokenUrl, clientCredentials: own.clientCredentials, botName: 'CompatBot' });
    try {
      const chat = own.chats()[0]!;
      const send = (t: string) => c.send({ chatId: chat.chatId, mTok: own.mTokOf(chat.chatId), from: own.botId, to: chat.userId, messages: [{ type: 'text', text: t }] });
      expect((await send('one')).ok).toBe(true);
      // The emulator's clock runs ahead: the token the client still trusts has expired there.
      clock += 3601_000;
      expect((await send('two')).ok).toBe(true);
      expect(own.traffic().filter((e) => e.kind === 'api').map((e) => e.status).reverse()).toEqual([200, 401, 200]);
      expect(own.traffic().filter((e) => e.kind === 'token')).toHaveLength(2);
      expect(botTexts(own, chat.chatId)).toEqual(['one', 'two']);
    } finally {
      await c.close();
      await own.close();
    }
  });
});

describe('framework bots with the emulator as their platform', () => {
  it('the echo bot says back text, images and postbacks', async () => {
    const r = await run(echo as Bot<unknown>);
    try {
      const chatId = r.emu.chats()[0]!.chatId;
      const sent = await r.emu.userSends(chatId, { text: 'hello' }).done;
      expect(sent.state).toBe('read');
      await r.emu.waitFor(() => botTexts(r.emu, chatId).includes('hello'), 3000, 'the echo');
      await r.emu.userSends(chatId, { image: { url: 'https://example.com/cat.jpg' } }).done;
      await r.emu.waitFor(() => r.emu.chat(chatId).items.some((i) => i.from === 'bot' && i.message.type === 'image'), 3000, 'the image');
      await r.emu.userPostback(chatId, { data: 'action=ping', label: 'Ping' }).done;
      await r.emu.waitFor(() => botTexts(r.emu, chatId).includes('postback: action=ping'), 3000, 'the postback reply');
      expect(r.emu.state().config.botName).toBe('EchoBot');
    } finally {
      await r.close();
    }
  });

  it('the showcase bot with delivery notifications on: read receipts, menu taps and typing', async () => {
    settings.slowWorkMs = 50;
    const r = await run(showcase as Bot<unknown>, { deliveryNotifications: true });
    try {
      const chatId = r.emu.chats()[0]!.chatId;
      const hi = await r.emu.userSends(chatId, { text: 'hi' }).done;
      // D on the callback's 200, or already R: the bot replies (with its read action) before answering.
      expect(['delivered', 'read']).toContain(hi.state);
      const menu = await r.emu.waitFor(
        () => r.emu.chat(chatId).items.find((i): i is BotItem => i.from === 'bot' && i.message.type === 'buttons'),
        3000,
        'the menu',
      );
      // The bot read "hi" (a read action with its first reply): the user sees R.
      await r.emu.waitFor(
        () => r.emu.chat(chatId).items.find((i): i is UserItem => i.from === 'user' && i.id === hi.id)?.state === 'read',
        3000,
        'R on "hi"',
      );
      expect(menu.state).toBe('accepted');

      // The slow work runs on a fake clock: typing goes out 5 s into it (the spec's rules), then the report.
      const clock = new FakeClock();
      const [realClock, realMs] = [settings.clock, settings.slowWorkMs];
      Object.assign(settings, { clock, slowWorkMs: 8_000 });
      const typed = () => r.emu.traffic(chatId).some((e) => e.kind === 'api' && JSON.stringify(e.requestBody).includes('"typing"'));
      try {
        const tap = r.emu.userTaps(chatId, menu.id, 1);
        await until(() => clock.pendingTimers >= 2, 'the slow work to start');
        expect(typed()).toBe(false);
        clock.advance(5_000);
        await until(typed, 'the typing action');
        clock.advance(3_000);
        await tap.done;
      } finally {
        Object.assign(settings, { clock: realClock, slowWorkMs: realMs });
      }
      await r.emu.waitFor(() => botTexts(r.emu, chatId).some((t) => t.startsWith('Done: that took 8.0 s')), 3000, 'the slow work');

      await r.emu.userLeaves(chatId);
      expect(r.emu.chat(chatId).open).toBe(false);
    } finally {
      await r.close();
    }
  });
});
