/**
 * ChatClient makes a send's first attempt itself and hands p-retry only what follows a failure,
 * through the stack's prepared POST: retries, their numbering, the time limit and invalid options
 * must behave exactly as when p-retry and axios.post made every attempt.
 */
import { pino } from 'pino';
import { ChatApiError, ChatClient, text, type ChatClientOptions, type SendInput } from '../../src/client/index.js';
import { MemoryLog } from '../webhook/helpers.js';
import { FakeChatApi, clientOptionsFor, resultsBody } from './fake-chat-api.js';

describe('ChatClient send fast path', () => {
  let api: FakeChatApi;
  const clients: ChatClient[] = [];
  const makeClient = (extra: Partial<ChatClientOptions> = {}): ChatClient => {
    const c = new ChatClient(clientOptionsFor(api, extra));
    clients.push(c);
    return c;
  };
  const input: SendInput = { chatId: '837680', mTok: 'MS4xNDc2', from: '31045128202', to: '100006006205', messages: [text('Hi')] };

  beforeAll(async () => {
    api = await FakeChatApi.start();
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
    api.reset();
  });
  afterAll(async () => {
    await api.close();
  });

  it('a first success is one request', async () => {
    const result = await makeClient().send(input);
    expect(result).toMatchObject({ ok: true, attempts: 1 });
    expect(api.chatRequests).toHaveLength(1);
  });

  it('retries after a first failure, numbering the attempts as p-retry does', async () => {
    const log = new MemoryLog();
    const client = makeClient({ logger: log.logger('warn') });
    api.queueChat({ status: 503, body: 'busy' }, { status: 500, body: 'oops' });
    const result = await client.send(input);
    expect(result).toMatchObject({ ok: true, attempts: 3 });
    const warnings = log.entries().filter((e) => e.msg === 'chat api: request failed');
    expect(warnings.map((w) => [w.attempt, w.retriesLeft, w.status])).toEqual([
      [1, 3, 503],
      [2, 2, 500],
    ]);
  });

  it('counts the first attempt against the time limit', async () => {
    // The first attempt takes 300 ms of a 250 ms budget: p-retry must give up after it, as it would
    // have had it made the attempt itself.
    const client = makeClient({ retry: { retries: 5, minTimeoutMs: 10, maxTimeoutMs: 10, maxRetryTimeMs: 250 } });
    api.queueChat({ status: 503, body: 'slow and busy', delayMs: 300 });
    api.chatResponder = () => ({ status: 200, body: resultsBody([200]) });
    const err: unknown = await client.send(input).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChatApiError);
    expect(api.chatRequests).toHaveLength(1);
  });

  it('a non-retryable first failure is thrown as it is', async () => {
    api.queueChat({ status: 400, body: { error: 'bad' } });
    const err: unknown = await makeClient().send(input).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 400, retryable: false });
    expect(api.chatRequests).toHaveLength(1);
  });

  it('retry options p-retry refuses fail the send before any request, as before', async () => {
    const client = makeClient({ retry: { retries: -1 }, logger: pino({ enabled: false }) });
    await expect(client.send(input)).rejects.toBeInstanceOf(TypeError);
    expect(api.chatRequests).toHaveLength(0);
  });
});
