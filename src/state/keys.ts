/**
 * The one place store keys are built. Two rules, both about ids that arrive off the wire:
 *
 * - No collisions. Parts are joined with `:`, and an id may itself hold a `:` (chat `a:b` + mid `c`
 *   must not be chat `a` + mid `b:c`), so every part is escaped: `%` `:` `{` `}` become `%25` `%3A`
 *   `%7B` `%7D`. Ids without any of them (nearly all) are used as they are, at no cost: this runs
 *   on every callback.
 * - One chat, one Redis Cluster hash slot. A per-chat key carries the chat id as a hash tag,
 *   `kind:{chatId}:…`: Redis Cluster hashes only the text between the first `{` and the next `}`,
 *   so every record of a chat (its order counters and lease, its chat and typing records, its
 *   outbox...) lives in one slot, and a script touching several of them never fails with CROSSSLOT.
 *   The escaping keeps an id from closing the tag early. An empty id is tagged `{%}` (an empty tag
 *   `{}` would make Redis hash the whole key); escaping never yields a lone `%`, so it collides with
 *   no other id.
 *
 * The text before the first `:` is the key's kind (the MemoryStore bounds records per kind), so a
 * kind never contains `:`, `{` or `}`. Nothing in front of the key (REDIS_PREFIX) may contain `{`
 * or `}` either, or it would become the tag: the configuration refuses one.
 *
 * @example
 * storeKey('sent', 'a:b', 'c')           // 'sent:a%3Ab:c'
 * chatKey('order', '837680', 'lease')    // 'order:{837680}:lease'
 * chatKey('mid', 'a', 'b:c')             // 'mid:{a}:b%3Ac' (not the key of chat 'a:b', mid 'c')
 */
const NEEDS_ESCAPE = /[%:{}]/;
const ESCAPES: Readonly<Record<string, string>> = { '%': '%25', ':': '%3A', '{': '%7B', '}': '%7D' };

/** An id as a key part: unchanged unless it holds `%`, `:`, `{` or `}`. */
export function keyPart(id: string): string {
  return NEEDS_ESCAPE.test(id) ? id.replace(/[%:{}]/g, (c) => ESCAPES[c]!) : id;
}

/** The hash tag of an id: `{id}`, escaped, so keys built with it share the id's cluster slot. */
export function hashTag(id: string): string {
  return id === '' ? '{%}' : `{${keyPart(id)}}`;
}

/** `kind:part:part…`, every part escaped; no hash tag (a key used alone, in no multi-key step). */
export function storeKey(kind: string, ...parts: readonly string[]): string {
  let key = kind;
  for (const part of parts) key += `:${keyPart(part)}`;
  return key;
}

/**
 * `kind:{chatId}:part…`: a per-chat key, in the chat's hash slot. Every record of a chat is built
 * here, so any of them can be read or written in one atomic step with the chat's others.
 *
 * @example chatKey('chat', chatId) // 'chat:{837680}'
 */
export function chatKey(kind: string, chatId: string, ...parts: readonly string[]): string {
  let key = `${kind}:${hashTag(chatId)}`;
  for (const part of parts) key += `:${keyPart(part)}`;
  return key;
}

/**
 * Which of `shards` shards an id belongs to: FNV-1a over its UTF-16 code units, cheap and spread
 * evenly enough to keep a sharded structure (the outbox's set of chats) free of hot slots.
 *
 * @example shardOf('837680', 16) // a whole number from 0 to 15, the same on every instance
 */
export function shardOf(id: string, shards: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % shards;
}
