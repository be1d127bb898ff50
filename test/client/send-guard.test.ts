/**
 * A send's guard (SendOptions): asked before every retry, so a sender that lost the right to send
 * (an outbox lease taken over by another instance) stops resending. The outbox fault test showed a
 * frozen instance, once resumed, retrying a reply the other instance had already sent.
 */
import { ChatClient, SendFencedError, text } from '../../src/client/index.js';
import { FakeChatApi } from './fake-chat-api.js';

describe('ChatClient.send with a guard', () => {
  let api: FakeChatApi;
  let client: ChatClient;
  const input = { chatId: 'chat-g', mTok: 'tok', from: 'bot', to: 'user', messages: [text('hi')] };

  beforeAll(async () => {
    api = await FakeChatApi.start();
  });
  beforeEach(() => {
    client = new ChatClient({
      apiUrl: api.apiUrl,
      tokenUrl: api.tokenUrl,
      clientCredentials: api.clientCredentials,
      botName: 'Bot',
      retry: { retries: 3, minTimeoutMs: 5, maxTimeoutMs: 5 },
    });
  });
  afterEach(async () => {
    await client.close();
    api.reset();
  });
  afterAll(() => api.close());

  it('stops before a retry when the guard says no: one request only, SendFencedError', async () => {
    api.queueChat({ status: 503, body: 'busy' }, { status: 503, body: 'busy' });
    let asked = 0;
    const err = await client.send(input, { guard: async () => (++asked, false) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SendFencedError);
    expect(err).toMatchObject({ code: 'SEND_FENCED', chatId: 'chat-g' });
    expect(asked).toBe(1);
    expect(api.chatRequests).toHaveLength(1);
  });

  it('retries as usual while the guard says yes, and never asks before the first attempt', async () => {
    api.queueChat({ status: 503, body: 'busy' });
    let asked = 0;
    const result = await client.send(input, { guard: async () => (++asked, true) });
    expect(result.ok).toBe(true);
    expect(asked).toBe(1);
    expect(api.chatRequests).toHaveLength(2);
    await client.send(input, { guard: async () => (++asked, false) });
    expect(asked).toBe(1);
  });
});
