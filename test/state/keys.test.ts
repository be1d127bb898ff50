/**
 * Store keys: ids cannot collide however they are spelled, and every record of one chat is in one
 * Redis Cluster hash slot (so the multi-key scripts never fail with CROSSSLOT). Checked on the key
 * builders and on the keys the bot's pieces really touch, through a store that records them.
 */
import calculateSlot from 'cluster-key-slot';
import { ChatOrder } from '../../src/bot/chat-order.js';
import { ChatRegistry } from '../../src/bot/chat-registry.js';
import { DeliveryTracker } from '../../src/bot/delivery-tracker.js';
import { Outbox } from '../../src/bot/outbox.js';
import { RedeliveryGuard } from '../../src/bot/redelivery.js';
import { SessionStore } from '../../src/bot/session.js';
import { TypingState } from '../../src/bot/typing-state.js';
import { systemClock } from '../../src/bot/clock.js';
import type { Sender } from '../../src/bot/bot.js';
import { ClosedChats } from '../../src/client/closed-chats.js';
import type { SendRequest, SendResult } from '../../src/client/index.js';
import { chatKey, hashTag, keyPart, shardOf, storeKey } from '../../src/state/keys.js';
import { MemoryStore } from '../../src/state/memory.js';
import type { StateStore, TicketKeys, TurnWrite } from '../../src/state/store.js';

const WEIRD_IDS = ['837680', '', 'a:b', 'X:lease', '{x}', '}{', 'a}b{c', '%7B', '%', 'é✓', 'x'.repeat(300)];

describe('key builders', () => {
  it('leave plain ids as they are and escape % : { }', () => {
    const id = 'abc-123_Z.9';
    expect(keyPart(id)).toBe(id);
    expect(keyPart('a:b{c}%')).toBe('a%3Ab%7Bc%7D%25');
    expect(storeKey('sent', 'a:b', 'c')).toBe('sent:a%3Ab:c');
    expect(chatKey('order', '837680', 'lease')).toBe('order:{837680}:lease');
    expect(hashTag('')).toBe('{%}');
  });

  it('never give two different (chat, part) pairs the same key', () => {
    expect(chatKey('mid', 'a:b', 'c')).not.toBe(chatKey('mid', 'a', 'b:c'));
    expect(chatKey('outbox', 'X:lease')).not.toBe(chatKey('outbox', 'X', 'lease'));
    const seen = new Map<string, string>();
    for (const chat of WEIRD_IDS) {
      for (const part of WEIRD_IDS) {
        for (const key of [chatKey('mid', chat, part), chatKey('mid', `${chat}:${part}`)]) {
          const who = JSON.stringify([chat, part, key.split(':').length]);
          expect(seen.get(key) ?? who).toBe(who);
          seen.set(key, who);
        }
      }
    }
  });

  it('put every per-chat key of a chat in one hash slot, behind any prefix without braces', () => {
    for (const chat of WEIRD_IDS) {
      const slot = calculateSlot(`bbm:${chatKey('chat', chat)}`);
      for (const key of [chatKey('order', chat, 'tickets'), chatKey('order', chat, 'lease'), chatKey('mid', chat, '{m}'), chatKey('outbox', chat, 'lease')]) {
        expect(calculateSlot(`mybot:prod:${key}`)).toBe(slot);
      }
      expect(calculateSlot(`bbm:closed:${hashTag(chat)}`)).toBe(slot);
    }
  });

  it('spread shards evenly and the same way everywhere', () => {
    const counts = new Array<number>(16).fill(0);
    for (let i = 0; i < 16_000; i++) counts[shardOf(String(100_000 + i), 16)]!++;
    for (const n of counts) expect(n).toBeGreaterThan(800);
    expect(shardOf('837680', 16)).toBe(shardOf('837680', 16));
  });
});

/** A MemoryStore that notes every key it is asked about. */
function recordingStore(): { store: StateStore; keys: Set<string> } {
  const keys = new Set<string>();
  const inner = new MemoryStore();
  const store = new Proxy(inner, {
    get(target, name, receiver) {
      const value: unknown = Reflect.get(target, name, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (typeof args[0] === 'string') keys.add(args[0]);
        if (name === 'takeTicket' || name === 'endTurn') {
          for (const k of Object.values(args[0] as TicketKeys)) keys.add(k);
          if (name === 'takeTicket') for (const k of (args[4] as string[] | undefined) ?? []) keys.add(k);
          else for (const w of (args[4] as TurnWrite[] | undefined) ?? []) keys.add(w.key);
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store, keys };
}

const sender: Sender = {
  send: async (): Promise<SendResult> => ({ ok: true, messages: [], attempts: 1 }),
  closeChat: async () => undefined,
};

/** Everything the bot's pieces store about one chat, driven through their own APIs. */
async function keysOfChat(chatId: string, mid: string): Promise<string[]> {
  const { store, keys } = recordingStore();
  const registry = new ChatRegistry(store);
  const typing = new TypingState(store, systemClock, () => undefined);
  const redelivery = new RedeliveryGuard(store);
  await redelivery.claim(chatId, mid);
  await redelivery.complete(chatId, mid, { code: 200 });
  await new ChatOrder(store).run(chatId, async () => undefined, [registry.key(chatId), typing.key(chatId)]);
  const session = await new SessionStore(store, { initial: () => ({ n: 0 }) }).load(chatId);
  session.begin();
  await session.commit({ n: 1 }, false);
  await new DeliveryTracker(store).recordSent(chatId, [], [], false);
  await new DeliveryTracker(store).get(chatId, mid);
  await new ClosedChats(store).close(chatId, 'tok');
  const outbox = new Outbox(store, sender);
  await outbox.send({ chatId, mTok: 'tok', messages: [] } as unknown as SendRequest);
  await outbox.close();
  typing.stop();
  // The outbox's cluster-wide index and per-job results belong to no chat.
  return [...keys].filter((k) => !k.startsWith('outbox:chats:') && !k.startsWith('outbox:result:'));
}

describe('the keys the bot really uses', () => {
  it.each([
    ['a:b', 'c', 'a', 'b:c'],
    ['X:lease', 'm', 'X', 'm'],
    ['a}b', 'c', 'a', '}b:c'],
  ])('chat %j mid %j shares no record with chat %j mid %j', async (chat1, mid1, chat2, mid2) => {
    const one = await keysOfChat(chat1, mid1);
    const two = new Set(await keysOfChat(chat2, mid2));
    expect(one.filter((k) => two.has(k))).toEqual([]);
  });

  it('keeps every record of a chat in the chat’s hash slot', async () => {
    for (const chat of ['837680', 'a:b', '{x}']) {
      const keys = await keysOfChat(chat, 'm1');
      expect(keys.length).toBeGreaterThanOrEqual(8);
      const slots = new Set(keys.map((k) => calculateSlot(`bbm:${k}`)));
      expect([...slots]).toEqual([calculateSlot(`bbm:${chatKey('chat', chat)}`)]);
    }
  });
});
