/**
 * The JSON API under `/api` that the web chat (and tests, and curl) drive the emulated users with,
 * plus the Server-Sent Events stream that keeps every open page live. Every body is validated
 * with zod; a bad one is a 400 naming the field.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { inspectDialog, type DialogInspectorOptions } from './dialogs.js';
import { HttpError } from './errors.js';
import { FaultSpecSchema, type FaultQueue } from './faults.js';
import { parseJson, readBody, sendJson } from './http.js';
import type { EmulatorEvent, EmulatorState, UserItem } from './model.js';
import { NameSchema, parseInput, type Pending, type Platform } from './platform.js';
import type { TrafficLog } from './traffic.js';

/** Fans events out to every open `GET /api/events` stream. */
export class EventHub {
  private readonly clients = new Set<ServerResponse>();
  private heartbeat: NodeJS.Timeout | undefined;

  add(res: ServerResponse, snapshot: EmulatorState): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    // The browser reconnects by itself after a second; every (re)connection starts with a snapshot.
    res.write('retry: 1000\n\n');
    this.write(res, { type: 'snapshot', state: snapshot });
    this.clients.add(res);
    res.on('close', () => {
      this.clients.delete(res);
      if (this.clients.size === 0) this.stopHeartbeat();
    });
    if (!this.heartbeat) {
      // Comments keep proxies and idle timeouts from closing a quiet stream.
      this.heartbeat = setInterval(() => {
        for (const c of this.clients) c.write(': ping\n\n');
      }, 15_000);
      this.heartbeat.unref();
    }
  }

  broadcast(event: EmulatorEvent): void {
    for (const c of this.clients) this.write(c, event);
  }

  close(): void {
    this.stopHeartbeat();
    for (const c of this.clients) c.end();
    this.clients.clear();
  }

  private write(res: ServerResponse, event: EmulatorEvent): void {
    res.write(`data: ${JSON.stringify(event)}\n\n`);
  }

  private stopHeartbeat(): void {
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }
}

export interface UiApiContext {
  platform: Platform;
  faults: FaultQueue;
  traffic: TrafficLog;
  hub: EventHub;
  state: () => EmulatorState;
  bodyLimit: number;
  setBotUrl: (url: string | undefined) => void;
  /** How to read the bot's dialog records (none: the panel says so), and the clock for their timeouts. */
  dialogs: DialogInspectorOptions & { now?: () => number };
}

const UserBody = z.strictObject({ name: NameSchema });
const ChatBody = z.strictObject({ userId: z.string().min(1, 'must not be empty') });
const TypingBody = z.strictObject({ immediate: z.boolean().optional() });
const TapBody = z.strictObject({ mid: z.string().min(1, 'must not be empty'), action: z.number().int().min(0).max(3) });
const MidsBody = z.strictObject({ mids: z.array(z.string().min(1)).min(1).max(1000).optional() });
const EmptyBody = z.strictObject({});
const BotBody = z.strictObject({ botUrl: z.string().min(1).nullable() });

/**
 * JSON-only bodies: a form or `text/plain` post (which a page elsewhere could send without a CORS
 * preflight) is refused. Host and Origin are checked before any route, by the host guard.
 */
function checkJsonBody(req: IncomingMessage): void {
  const type = req.headers['content-type'] ?? '';
  if (req.method !== 'GET' && req.method !== 'HEAD' && !/^application\/json\b/i.test(type)) {
    throw new HttpError(415, 'unsupported_media_type', 'send the body as application/json (an empty body may be {})');
  }
}

export async function handleUiApi(req: IncomingMessage, res: ServerResponse, url: URL, ctx: UiApiContext): Promise<void> {
  try {
    await dispatch(req, res, url, ctx);
  } catch (err) {
    const e = err instanceof HttpError ? err : new HttpError(500, 'internal_error', 'the emulator failed to handle this request');
    sendJson(res, e.status, e.toBody(), { ...e.headers });
  }
}

async function dispatch(req: IncomingMessage, res: ServerResponse, url: URL, ctx: UiApiContext): Promise<void> {
  const { platform, faults } = ctx;
  const method = req.method ?? 'GET';
  const path = url.pathname;
  checkJsonBody(req);
  // Read every body up front, even where none is used: an unread body would be parsed as the
  // next request on a keep-alive connection.
  const raw = method === 'GET' || method === 'HEAD' ? Buffer.alloc(0) : await readBody(req, ctx.bodyLimit);
  const body = async (): Promise<unknown> => parseJson(raw, true);
  const wait = url.searchParams.get('wait') === '1' || url.searchParams.get('wait') === 'true';
  /** Answers with the item at once, or (with ?wait=1) once the bot has answered. */
  const pending = async (p: Pending<UserItem> & { url?: string }, status = 201) => {
    const item = wait ? await p.done : p.item;
    // Without ?wait the outcome arrives on the event stream; its rejection must not go unhandled.
    if (!wait) p.done.catch(() => undefined);
    sendJson(res, status, { item, ...(p.url ? { url: p.url } : {}) });
  };

  if (path === '/api/events' && method === 'GET') {
    ctx.hub.add(res, ctx.state());
    return;
  }
  if (path === '/api/state' && method === 'GET') return sendJson(res, 200, ctx.state());
  if (path === '/api/traffic') {
    if (method === 'GET') return sendJson(res, 200, { traffic: ctx.traffic.list(url.searchParams.get('chatId') ?? undefined) });
    if (method === 'DELETE') {
      ctx.traffic.clear();
      ctx.hub.broadcast({ type: 'traffic-cleared' });
      return sendJson(res, 200, { traffic: [] });
    }
  }
  if (path === '/api/bot' && method === 'PUT') {
    const { botUrl } = parseInput(BotBody, await body(), 'the bot');
    try {
      ctx.setBotUrl(botUrl ?? undefined);
    } catch (err) {
      throw new HttpError(400, 'bad_request', err instanceof Error ? err.message : 'bad bot URL', { field: 'botUrl' });
    }
    return sendJson(res, 200, ctx.state().config);
  }
  if (path === '/api/users') {
    if (method === 'GET') return sendJson(res, 200, { users: platform.listUsers() });
    if (method === 'POST') {
      const { name } = parseInput(UserBody, await body(), 'the user');
      const user = platform.createUser(name);
      // A new user comes with a chat, ready to type into.
      const chat = platform.openChat(user.id);
      return sendJson(res, 201, { user, chat });
    }
  }
  if (path === '/api/chats') {
    if (method === 'GET') return sendJson(res, 200, { chats: platform.listChats() });
    if (method === 'POST') {
      const { userId } = parseInput(ChatBody, await body(), 'the chat');
      return sendJson(res, 201, { chat: platform.openChat(userId) });
    }
  }
  if (path === '/api/faults') {
    if (method === 'GET') return sendJson(res, 200, { faults: faults.list() });
    if (method === 'POST') {
      const fault = faults.arm(parseInput(FaultSpecSchema, await body(), 'the fault'));
      return sendJson(res, 201, { fault, faults: faults.list() });
    }
    if (method === 'DELETE') {
      faults.clear();
      return sendJson(res, 200, { faults: [] });
    }
  }
  const faultMatch = /^\/api\/faults\/([^/]+)$/.exec(path);
  if (faultMatch && method === 'DELETE') {
    if (!faults.remove(decodeURIComponent(faultMatch[1]!))) throw new HttpError(404, 'fault_not_found', 'no such fault is armed');
    return sendJson(res, 200, { faults: faults.list() });
  }

  const chatMatch = /^\/api\/chats\/([^/]+)(?:\/([a-z]+))?$/.exec(path);
  if (chatMatch) {
    let chatId: string;
    try {
      chatId = decodeURIComponent(chatMatch[1]!);
    } catch {
      throw new HttpError(400, 'bad_request', 'malformed chat id');
    }
    const action = chatMatch[2];
    if (action === undefined && method === 'GET') return sendJson(res, 200, { chat: platform.getChat(chatId) });
    if (action === 'dialog' && method === 'GET') {
      platform.getChat(chatId); // a chat the emulator does not know is a 404, as for its other routes
      // no-store: the page polls this while the dialog's timeout counts down.
      return sendJson(res, 200, { dialog: await inspectDialog(chatId, ctx.dialogs) }, { 'cache-control': 'no-store' });
    }
    if (method === 'POST') {
      switch (action) {
        case 'messages':
          return pending(platform.userSends(chatId, await body()));
        case 'postback':
          return pending(platform.userPostback(chatId, await body()));
        case 'tap': {
          const { mid, action: index } = parseInput(TapBody, await body(), 'the tap');
          return pending(platform.userTaps(chatId, mid, index));
        }
        case 'typing': {
          const { immediate } = parseInput(TypingBody, await body(), 'the typing');
          return sendJson(res, 200, platform.userTyping(chatId, immediate ?? false));
        }
        case 'leave': {
          parseInput(EmptyBody, await body(), 'the leave');
          const done = platform.userLeaves(chatId);
          if (wait) await done;
          else done.catch(() => undefined);
          return sendJson(res, 200, { chat: platform.getChat(chatId) });
        }
        case 'reopen':
          parseInput(EmptyBody, await body(), 'the reopen');
          return sendJson(res, 200, { chat: platform.userReopens(chatId) });
        case 'delivered':
        case 'read': {
          const { mids } = parseInput(MidsBody, await body(), `the ${action}`);
          const done = action === 'read' ? platform.markRead(chatId, mids) : platform.markDelivered(chatId, mids);
          if (wait) return sendJson(res, 200, { mids: await done });
          done.catch(() => undefined);
          return sendJson(res, 202, {});
        }
      }
    }
  }
  throw new HttpError(404, 'not_found', `nothing is served at ${method} ${path}`);
}
