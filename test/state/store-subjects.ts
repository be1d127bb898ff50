/**
 * The stores every contract suite runs against (store-contract, schedule-contract): MemoryStore
 * (the reference), the remote store of `npm run dev`, RedisStore on one server and on a Redis
 * Cluster. Each Redis subject writes under its own random prefix and deletes it afterwards.
 */
import { Cluster, Redis } from 'ioredis';
import { serveStore, type StoreServer } from '../../src/dev/store-server.js';
import { MemoryStore } from '../../src/state/memory.js';
import { connectRemoteStore } from '../../src/state/remote.js';
import { RedisStore } from '../../src/state/redis.js';
import type { StateStore } from '../../src/state/store.js';
import { clusterForTests, clusterSeeds, deleteClusterKeysUnder, deleteKeysUnder, randomPrefix, REDIS_URL, redisForTests } from './redis-helpers.js';

export interface Subject {
  /** A fresh, empty store for one test. */
  open(): Promise<StateStore>;
  /** Releases it (and, for Redis, deletes the test's keys). */
  cleanup(): Promise<void>;
}

function memorySubject(): Subject {
  let store: MemoryStore | undefined;
  return {
    open: async () => (store = new MemoryStore()),
    cleanup: async () => {
      await store?.close();
    },
  };
}

/** `npm run dev`'s store: a MemoryStore in another process's place, every method over HTTP. */
function remoteSubject(): Subject {
  let served: StoreServer | undefined;
  let store: StateStore | undefined;
  return {
    open: async () => {
      served = await serveStore(new MemoryStore());
      return (store = connectRemoteStore({ url: served.url, secret: served.secret }));
    },
    cleanup: async () => {
      await store?.close();
      await served?.close();
    },
  };
}

/** All tests share one connection; each gets its own prefix on it. */
let admin: Redis | undefined;
function redisSubject(): Subject {
  let prefix: string | undefined;
  return {
    open: async () => {
      admin ??= new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
      prefix = randomPrefix('contract');
      return new RedisStore({ client: admin, prefix });
    },
    cleanup: async () => {
      if (admin && prefix) await deleteKeysUnder(admin, prefix);
    },
  };
}

/** The cluster's subject: one cluster connection for all tests, cleaned up on every master. */
let cluster: Cluster | undefined;
function clusterSubject(): Subject {
  let prefix: string | undefined;
  return {
    open: async () => {
      cluster ??= new Cluster(clusterSeeds(), { redisOptions: { maxRetriesPerRequest: 1 } });
      prefix = randomPrefix('cluster');
      return new RedisStore({ client: cluster, prefix });
    },
    cleanup: async () => {
      if (cluster && prefix) await deleteClusterKeysUnder(cluster, prefix);
    },
  };
}

/**
 * The subjects for `describe.each`: memory and remote always; Redis and the cluster when they
 * answer (required in CI). Call `closeSubjects` in the suite's afterAll.
 */
export async function storeSubjects(suite: string): Promise<[name: string, make: () => Subject][]> {
  const subjects: [string, () => Subject][] = [['MemoryStore', memorySubject], ['RemoteStore (npm run dev)', remoteSubject]];
  if (await redisForTests(suite)) subjects.push(['RedisStore', redisSubject]);
  if (await clusterForTests(`${suite} on a cluster`)) subjects.push(['RedisStore on a cluster', clusterSubject]);
  return subjects;
}

/** Closes the connections the Redis subjects shared. */
export async function closeSubjects(): Promise<void> {
  await admin?.quit();
  await cluster?.quit();
  admin = undefined;
  cluster = undefined;
}
