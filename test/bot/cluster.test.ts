/**
 * The bot's shared path on a Redis Cluster: ChatOrder's ticket with the chat and typing records
 * read along, the turn's deferred writes, sessions, redelivery records and the outbox. Each is one
 * atomic step over several keys, which a cluster refuses (CROSSSLOT) unless the keys share a slot;
 * state/keys.ts tags every per-chat key with its chat. Two bots on one cluster stand for two
 * instances, several chats each.
 */
import type { Cluster } from 'ioredis';
import { createBot, type Bot } from '../../src/index.js';
import { RedisStore } from '../../src/state/redis.js';
import { closeHarnesses, harness } from '../helpers/harnesses.js';
import { clusterForTests, deleteClusterKeysUnder, randomPrefix, REDIS_CLUSTER_NODES } from '../state/redis-helpers.js';

const clusterUp = await clusterForTests('the shared bot on a Redis Cluster');

(clusterUp ? describe : describe.skip)('a bot on a Redis Cluster (shared path)', () => {
  const prefix = randomPrefix('cluster-bot');
  let store: RedisStore;
  beforeAll(async () => {
    store = await RedisStore.connectCluster(REDIS_CLUSTER_NODES, { prefix });
  });
  afterEach(closeHarnesses);
  afterAll(async () => {
    await deleteClusterKeysUnder(store.client as Cluster, prefix);
    await store.close();
  });

  function counter(name: string): Bot<{ n: number }> {
    const bot = createBot({ name, session: { initial: () => ({ n: 0 }) } });
    bot.on('typingStart', () => undefined);
    bot.on('text', async (ctx) => {
      ctx.session.n++;
      await ctx.reply(`${name} ${ctx.message.text} #${ctx.session.n}`);
    });
    return bot;
  }

  it('answers every message of several chats in order, on two instances, with no CROSSSLOT', async () => {
    const a = await harness(counter('A'), { store, shared: true });
    const b = await harness(counter('B'), { store, shared: true });
    const errors: unknown[] = [];
    for (const h of [a, b]) h.bot.catch((err) => void errors.push(err));
    const chats = 3;
    for (let c = 0; c < chats; c++) {
      for (const h of [a, b]) {
        h.newChat();
        const typed = await h.userTypes();
        expect({ status: typed.status, body: typed.body }).toMatchObject({ status: 200 });
        for (const word of ['one', 'two', 'three']) {
          const answer = await h.userSays(word);
          expect({ status: answer.status, body: answer.body }).toMatchObject({ status: 200 });
        }
      }
    }
    expect(errors).toEqual([]);
    for (const [name, h] of [['A', a], ['B', b]] as const) {
      const texts = (await h.waitForReplies(chats * 3)).map((m) => (m.type === 'text' ? m.text : m.type));
      const perChat = Array.from({ length: chats }, () => [`${name} one #1`, `${name} two #2`, `${name} three #3`]).flat();
      expect(texts).toEqual(perChat);
    }
    expect(store.readiness()).toBeUndefined();
  });
});
