/**
 * RedisStore on a Redis Cluster beyond the shared contract (which runs on the cluster too):
 * connecting from seed nodes, failing startup clearly when none answers, readiness and close.
 */
import { Cluster } from 'ioredis';
import { BbmError } from '../../src/protocol/errors.js';
import { RedisConnectError, RedisStore } from '../../src/state/redis.js';
import { chatKey } from '../../src/state/keys.js';
import { parseClusterNodes } from '../../src/state/redis-connection.js';
import { clusterForTests, clusterSeeds, deleteClusterKeysUnder, keysUnder, randomPrefix, REDIS_CLUSTER_NODES } from './redis-helpers.js';

const clusterUp = await clusterForTests('the RedisStore cluster tests');

describe('RedisStore.connectCluster without a cluster', () => {
  it('rejects quickly with a RedisConnectError naming REDIS_CLUSTER_NODES when no node answers', async () => {
    const started = Date.now();
    const err = (await RedisStore.connectCluster('127.0.0.1:1,127.0.0.1:2', { connectTimeoutMs: 1_000 }).catch((e: unknown) => e)) as RedisConnectError;
    expect(err).toBeInstanceOf(RedisConnectError);
    expect(err).toBeInstanceOf(BbmError);
    expect(err.code).toBe('REDIS_UNAVAILABLE');
    expect(err.field).toBe('REDIS_CLUSTER_NODES');
    expect(err.message).toMatch(/^REDIS_CLUSTER_NODES 127\.0\.0\.1:1,127\.0\.0\.1:2: no node answers: /);
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('refuses a malformed node list with a RedisConnectError naming REDIS_CLUSTER_NODES', async () => {
    for (const bad of ['127.0.0.1', 'redis://h:7000', 'h:7000,', 'h:0', 'h:70000', 'user:pw@h:7000']) {
      const err = (await RedisStore.connectCluster(bad).catch((e: unknown) => e)) as RedisConnectError;
      expect({ bad, err: err instanceof RedisConnectError, field: err.field }).toEqual({ bad, err: true, field: 'REDIS_CLUSTER_NODES' });
      expect(err.message).toMatch(/^REDIS_CLUSTER_NODES entry ".*" is not host:port/);
    }
  });

  it('parses host:port lists, IPv6 in brackets, spaces around entries', () => {
    expect(parseClusterNodes('10.0.0.1:7000, redis-b.internal:7001,[::1]:7002')).toEqual([
      { host: '10.0.0.1', port: 7000 },
      { host: 'redis-b.internal', port: 7001 },
      { host: '::1', port: 7002 },
    ]);
  });

  it('refuses a key prefix with a brace: it would be every key’s hash tag', () => {
    expect(() => new RedisStore({ url: 'redis://127.0.0.1:1', prefix: 'bot{1}:', connectTimeoutMs: 10 })).toThrow(RangeError);
  });
});

(clusterUp ? describe : describe.skip)('RedisStore on a cluster', () => {
  const prefix = randomPrefix('cluster-conn');

  it('connectCluster() resolves ready from one seed; keys land on several masters; close() ends it', async () => {
    const store = await RedisStore.connectCluster(REDIS_CLUSTER_NODES, { prefix });
    try {
      expect(store.readiness()).toBeUndefined();
      for (let i = 0; i < 20; i++) await store.set(`k:{${i}}`, { i }, 10_000);
      for (let i = 0; i < 20; i++) expect(await store.get(`k:{${i}}`)).toEqual({ i });
      const cluster = store.client as Cluster;
      const holding = await Promise.all(cluster.nodes('master').map(async (m) => (await keysUnder(m, prefix)).length > 0));
      expect(holding.filter(Boolean).length).toBeGreaterThan(1);
      await deleteClusterKeysUnder(cluster, prefix);
    } finally {
      await store.close();
    }
    expect(store.client.status).toBe('end');
    expect(store.readiness()).toBe('redis end');
    await store.close();
  });

  it.each([
    ['opened by connectCluster', () => RedisStore.connectCluster(REDIS_CLUSTER_NODES, { prefix })],
    [
      'on a cluster client made with auto-pipelining on',
      async () => new RedisStore({ client: new Cluster(clusterSeeds(), { enableAutoPipelining: true }), prefix }),
    ],
  ])('runs many chats’ turns issued in one tick without mixing slots (%s)', async (_how, open) => {
    // ioredis groups auto-pipelined commands by their first argument, which for a script with a
    // variable number of keys is that number, not a key: a batch of turns of chats on different
    // masters was refused whole ("All keys in the pipeline should belong to the same slots
    // allocation group"), and the commands batched with them failed too.
    const store = await open();
    try {
      const chats = Array.from({ length: 30 }, (_, i) => `tick-${i}`);
      const keysOf = (chat: string) => ({ tickets: chatKey('order', chat, 'tickets'), done: chatKey('order', chat, 'done'), lease: chatKey('order', chat, 'lease') });
      const turns = await Promise.all(chats.map((chat) => store.takeTicket(keysOf(chat), 'o', 10_000, 10_000, [chatKey('chat', chat)])));
      expect(turns.every((t) => t.holding && t.ticket === 1)).toBe(true);
      const ends = await Promise.all([
        ...chats.map((chat) => store.endTurn(keysOf(chat), 1, 'o', 10_000, [{ key: chatKey('typing', chat), value: 1, ttlMs: 10_000 }])),
        ...chats.map((chat) => store.setAdd(`set:{${chat}}`, 'm', 10_000).then(() => true)),
      ]);
      expect(ends.every(Boolean)).toBe(true);
      await deleteClusterKeysUnder(store.client as Cluster, prefix);
    } finally {
      await store.close();
      if (store.client.status !== 'end') await store.client.quit();
    }
  });
});
