/**
 * How `npm run dev` lets the emulator's inspector show a chat's running dialog: it reads the bot's
 * store itself. Without Redis the store is the MemoryStore this process serves to the bot; with
 * REDIS_URL or REDIS_CLUSTER_NODES it is a connection of its own to the same Redis, under the same
 * REDIS_PREFIX, opened on the first look (a Redis that is away fails that look, not the runner).
 */
import { dialogReaderFromStore, type DialogReader } from '../emulator/dialogs.js';
import { DEFAULT_REDIS_PREFIX, RedisStore } from '../state/redis.js';
import type { StateStore } from '../state/store.js';
import type { Setting } from './settings.js';

export interface DevDialogReader {
  read: DialogReader;
  /** Closes the runner's own Redis connection, if it opened one. */
  close(): Promise<void>;
}

/**
 * The reader for the bot's dialogs: over `memory` when the runner holds the bot's store, else over
 * a lazily opened connection to the bot's Redis (a failed connect is retried on the next look).
 *
 * @example
 * const dialogs = devDialogReader(setting, state.store);
 * const emulator = await startEmulator({ readDialog: dialogs.read });
 * // on exit
 * await dialogs.close();
 */
export function devDialogReader(setting: Setting, memory: Pick<StateStore, 'get'> | undefined): DevDialogReader {
  if (memory) return { read: dialogReaderFromStore(memory), close: async () => undefined };
  const url = setting('REDIS_URL');
  const cluster = setting('REDIS_CLUSTER_NODES');
  const options = { prefix: setting('REDIS_PREFIX') ?? DEFAULT_REDIS_PREFIX };
  let opening: Promise<RedisStore> | undefined;
  let closed = false;
  const open = (): Promise<RedisStore> => {
    opening ??= (url !== undefined ? RedisStore.connect(url, options) : RedisStore.connectCluster(cluster ?? '', options)).catch((err: unknown) => {
      opening = undefined;
      throw err;
    });
    return opening;
  };
  return {
    read: async (chatId) => {
      if (closed) throw new Error('npm run dev is stopping');
      return dialogReaderFromStore(await open())(chatId);
    },
    close: async () => {
      closed = true;
      const store = await opening?.catch(() => undefined);
      await store?.close();
    },
  };
}
