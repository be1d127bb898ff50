/**
 * Runs tasks one at a time per key, in the order they were queued; different keys run
 * concurrently. An idle key holds no memory: its entry is removed when its last task settles.
 * `size(key)` says how many tasks a key has queued or running, so a caller can bound a key's queue
 * without keeping a count of its own.
 */
interface Entry {
  tail: Promise<unknown>;
  size: number;
}

export class KeyedQueue {
  private readonly entries = new Map<string, Entry>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    let entry = this.entries.get(key);
    const result = entry ? entry.tail.then(task, task) : task();
    // The tail never rejects, so one failed task does not poison the chat's later ones.
    const tail = result.then(settled, settled);
    if (entry) {
      entry.tail = tail;
      entry.size++;
    } else {
      entry = { tail, size: 1 };
      this.entries.set(key, entry);
    }
    const mine = entry;
    void tail.then(() => {
      if (--mine.size === 0 && this.entries.get(key) === mine) this.entries.delete(key);
    });
    return result;
  }

  /**
   * Tasks of `key` queued or running.
   *
   * @example if (queue.size(chatId) > 100) throw new ChatBusyError(chatId, 100, 5);
   */
  size(key: string): number {
    return this.entries.get(key)?.size ?? 0;
  }

  /** Keys with work queued or running. */
  get activeKeys(): number {
    return this.entries.size;
  }
}

const settled = (): undefined => undefined;
