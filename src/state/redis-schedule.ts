/**
 * The RedisStore's schedules: one sorted set per schedule key, the due time as the score. A claim
 * is one Lua script on that one key, so it is atomic on one server and on a Redis Cluster alike.
 */
import type { Cluster, Redis, Result } from 'ioredis';
import { checkScheduleAdd, checkScheduleClaim, checkScheduleRemove } from './schedule-args.js';
import type { ClaimedMember } from './store.js';

/**
 * KEYS: the schedule. ARGV: now, the due time claimed members move to, max. Returns the claimed
 * members and their former scores, flat. The new score comes in as text from the client: a Lua
 * number passed to redis.call is formatted with 14 significant digits, which would cut the
 * fraction off an epoch time in ms.
 */
export const SCHEDULE_SCRIPTS = {
  bbmScheduleClaim: {
    numberOfKeys: 1,
    lua: `local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', 0, ARGV[3])
for i = 1, #due, 2 do redis.call('ZADD', KEYS[1], ARGV[2], due[i]) end
return due`,
  },
} as const;

// ioredis adds `defineCommand` commands at run time; this tells TypeScript they exist.
declare module 'ioredis' {
  interface RedisCommander<Context> {
    bbmScheduleClaim(key: string, now: string, until: string, max: number): Result<string[], Context>;
  }
}

/** A score as Redis reads it back exactly: JavaScript's shortest round-trip text of the number. */
function score(ms: number): string {
  return String(ms);
}

/**
 * ZADD of one member (adds, or moves it to the new due time). `key` is the full Redis key.
 *
 * @example
 * await scheduleAdd(client, 'bbm:timers:conv', '["c1","r1",2]', Date.now() + 60_000);
 */
export async function scheduleAdd(client: Redis | Cluster, key: string, member: string, dueAt: number): Promise<void> {
  checkScheduleAdd(member, dueAt);
  await client.zadd(key, score(dueAt), member);
}

/**
 * ZREM of one member; true when it was there.
 *
 * @example
 * const removed = await scheduleRemove(client, 'bbm:timers:conv', member);
 */
export async function scheduleRemove(client: Redis | Cluster, key: string, member: string): Promise<boolean> {
  checkScheduleRemove(member);
  return (await client.zrem(key, member)) === 1;
}

/**
 * Claims up to `max` due members in one script (see StateStore.scheduleClaim). The client must
 * have SCHEDULE_SCRIPTS defined (RedisStore does it).
 *
 * @example
 * const claimed = await scheduleClaim(client, 'bbm:timers:conv', Date.now(), 30_000, 20);
 */
export async function scheduleClaim(client: Redis | Cluster, key: string, now: number, leaseMs: number, max: number): Promise<ClaimedMember[]> {
  const until = checkScheduleClaim(now, leaseMs, max);
  const flat = await client.bbmScheduleClaim(key, score(now), score(until), max);
  const claimed: ClaimedMember[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) claimed.push({ member: flat[i]!, dueAt: Number(flat[i + 1]) });
  return claimed;
}
