/**
 * Posts callbacks to a bot's webhook as BBM does: JSON, signed with BBM-Sig, over real HTTP. The
 * test harness's user actions all go through here, so what a test exercises is the real webhook.
 */
import { request } from 'node:http';
import type { CallbackResponse } from '../protocol/inbound.js';
import { signBody } from '../webhook/signature.js';

/** The webhook's answer to one callback. */
export interface CallbackAnswer {
  status: number;
  body: CallbackResponse & { error?: string; message?: string };
}

/**
 * Posts `body` (already JSON) to `url`, signed with `key`; resolves with the status and parsed body.
 *
 * @example const answer = await postSigned(`${server.url}/v1/chats`, JSON.stringify(callback), key);
 */
export function postSigned(url: string, body: string, key: string): Promise<CallbackAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8', 'bbm-sig': signBody(body, key), 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, body: text ? (JSON.parse(text) as CallbackAnswer['body']) : {} });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
