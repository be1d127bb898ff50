/**
 * The callbacks every subject is sent: signed like BBM signs them, each with a unique sequence
 * number (the mid of its message, the `ts` of its action) over a rotating set of chats, so nothing
 * (deduplication, caches) can short-circuit the work.
 */
import { createHmac } from 'node:crypto';

/** The Client Sig key every subject is configured with. */
export const SIG_KEY = 'bench-9c1d207d26f7c498b4c239bbf4e5282b9ef4fe1c18075e2e79d4db24e215904b';
/** The credentials the fake Chat API's token service accepts. */
export const CLIENT_CREDENTIALS = Buffer.from('bench-client:bench-secret').toString('base64');
export const BOT_ID = '31045128202';
export const BOT_NAME = 'EchoBot';
export const WEBHOOK_PATH = '/v1/chats';

export type CallbackKind = 'typing' | 'text';

/** `seq` picks the chat (`seq % chats`) and makes the body unique. */
export function callbackBody(kind: CallbackKind, seq: number, chats: number): string {
  const k = seq % chats;
  const user = `2000${k}`;
  const head = `{"mType":"message","chId":"C00012B1E","chatId":"chat-${k}","from":"${user}","to":"${BOT_ID}","mTok":"mtok-${k}",`;
  const tail = `"userInfos":{"${user}":{"name":"User ${k}"}}}`;
  const ts = 1_700_000_000_000 + seq;
  if (kind === 'typing') return `${head}"actions":[{"type":"typing","ts":${ts}}],${tail}`;
  return `${head}"messages":[{"index":1,"type":"text","mid":"m${seq}","ts":${ts},"text":"hello #${seq}"}],${tail}`;
}

export function sign(body: string): string {
  return createHmac('sha256', SIG_KEY).update(body).digest('base64');
}

/** The sequence number an echoed text carries (`hello #123` → 123), or -1. */
export function seqOfText(text: unknown): number {
  if (typeof text !== 'string') return -1;
  const at = text.lastIndexOf('#');
  return at === -1 ? -1 : Number(text.slice(at + 1));
}
