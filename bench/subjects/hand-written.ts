/**
 * What the two hand-written baselines share: the signature check, the answer, and the reply sent
 * the way a careful developer would write it without a framework (one keep-alive `node:http` agent,
 * the token fetched once, the body built with a template). Each baseline does exactly what the echo
 * bot does: a text is sent back before the callback is answered; an action is acknowledged.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import { BOT_NAME, CLIENT_CREDENTIALS } from '../lib/callbacks.js';

export const SIG_KEY = process.env.BBM_SIG_KEY ?? '';
export const PORT = Number(process.env.PORT ?? 0);
const API = new URL(process.env.BBM_API_URL ?? 'http://127.0.0.1:1');
const TOKEN_URL = new URL(process.env.BBM_TOKEN_URL ?? 'http://127.0.0.1:1/oauth/token');

export function signatureValid(body: Buffer, header: unknown): boolean {
  if (typeof header !== 'string') return false;
  const given = Buffer.from(header, 'base64');
  const expected = createHmac('sha256', SIG_KEY).update(body).digest();
  return given.length === expected.length && timingSafeEqual(given, expected);
}

interface Callback {
  chatId: string;
  chId?: string;
  from: string;
  to: string;
  mTok?: string;
  messages?: { mid: string; type: string; text?: string }[];
}

export interface MessageResult {
  mid: string;
  result: { code: number };
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 128, scheduling: 'lifo' });
let token = '';

function post(url: URL, path: string, headers: http.OutgoingHttpHeaders, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: url.hostname, port: url.port, path, method: 'POST', agent, headers: { ...headers, 'content-length': Buffer.byteLength(body) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export async function fetchToken(): Promise<void> {
  const res = await post(
    TOKEN_URL,
    TOKEN_URL.pathname,
    { authorization: `Basic ${CLIENT_CREDENTIALS}`, 'content-type': 'application/x-www-form-urlencoded' },
    'grant_type=client_credentials',
  );
  token = (JSON.parse(res.text) as { access_token: string }).access_token;
}

/** Sends `text` back to the callback's user; resolves with the Chat API's result code for it. */
async function echo(cb: Callback, text: string): Promise<number> {
  const body = JSON.stringify({
    mType: 'bot',
    ...(cb.chId === undefined ? {} : { chId: cb.chId }),
    chatId: cb.chatId,
    from: cb.to,
    to: cb.from,
    userInfos: { [cb.to]: { name: BOT_NAME } },
    messages: [{ index: 1, type: 'text', text }],
  });
  const path = `${API.pathname.replace(/\/$/, '')}/v1/chats/${encodeURIComponent(cb.chatId)}?mTok=${encodeURIComponent(cb.mTok ?? '')}`;
  try {
    const res = await post(API, path, { authorization: `Bearer ${token}`, 'content-type': 'application/json; charset=utf-8' }, body);
    if (res.status !== 200) return 500;
    const answer = JSON.parse(res.text) as { messages?: { result: { code: number } }[] };
    return answer.messages?.[0]?.result.code ?? 500;
  } catch {
    return 503;
  }
}

/** One result per message, in order: texts are echoed first. Null when the body is not a callback. */
export async function handleCallback(value: unknown): Promise<{ status: number; body: { messages?: MessageResult[] } }> {
  const cb = value as Callback;
  const messages = cb.messages;
  if (messages === undefined || messages.length === 0) return { status: 200, body: {} };
  const results: MessageResult[] = [];
  let status = 200;
  for (const m of messages) {
    const code = m.type === 'text' && typeof m.text === 'string' ? await echo(cb, m.text) : 200;
    if (code !== 200) status = 207;
    results.push({ mid: m.mid, result: { code } });
  }
  return { status, body: { messages: results } };
}
