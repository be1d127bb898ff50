/**
 * What the emulated platform knows: users, their chats with the bot, every item shown in a chat,
 * and the traffic log. These plain objects are what `GET /api/state` and the event stream carry,
 * and what `startEmulator()` callers read.
 */
import type { OutboundMessage } from '../protocol/outbound.js';

/** A BBM user played by the person at the browser. */
export interface EmulatedUser {
  /** The user's BBM id (`from` in callbacks). */
  id: string;
  name: string;
  /** An avatar the emulator serves, sent in `userInfos`. */
  avatarUrl: string;
}

/**
 * States of a message the user sent, as the BBM client shows them: ✓ accepted (the platform has it
 * and is calling the bot), 🕒 waiting (the bot asked, with a per-message 500/503, for it again
 * later), D delivered (the bot answered 200, delivery notifications on), R read (the bot answered
 * 200 with notifications off, or later sent a read action), ✖ error.
 */
export type UserMessageState = 'accepted' | 'waiting' | 'delivered' | 'read' | 'error';

/** States of a message the bot sent: 202 accepted (✓) until the user's client reports dlv and read. */
export type BotMessageState = 'accepted' | 'delivered' | 'read';

export type UserContent = { type: 'text'; text: string } | { type: 'image'; image: { url: string; preview?: string } };

/** Something the user sent: a message, or a tap on a button that produced an action. */
export interface UserItem {
  from: 'user';
  /** The mid sent to the bot; for action-only items an emulator id (actions have no mid). */
  id: string;
  ts: number;
  kind: 'message' | 'postback';
  /** For messages. */
  content?: UserContent;
  /** For postbacks: what the button said and carried. */
  postback?: { data: string; label?: string; text?: string };
  state: UserMessageState;
  /** Why the state is `error`. */
  error?: string;
  /** While `waiting`: why, and when the platform sends the message again. */
  retry?: string;
}

/** A message the bot sent through the Chat API, exactly as validated. */
export interface BotItem {
  from: 'bot';
  /** The mid the emulator assigned. */
  id: string;
  ts: number;
  message: OutboundMessage;
  state: BotMessageState;
}

/** A line of the conversation's history that is neither side's message ("Alice left the chat"). */
export interface NoticeItem {
  from: 'system';
  id: string;
  ts: number;
  text: string;
}

export type ChatItem = UserItem | BotItem | NoticeItem;

/** A 1:1 chat between one user and the bot. */
export interface EmulatedChat {
  chatId: string;
  userId: string;
  /** The bot's BBM id (`to` in callbacks, `from` in its sends). */
  botId: string;
  /** False once the user left; sends to it then answer 404. */
  open: boolean;
  createdAt: number;
  /** The bot sent a typing action and has not written since (cleared after 30 s). */
  botTyping: boolean;
  items: ChatItem[];
}

export type FaultKind = '429' | '503' | '207' | 'latency';

/** One armed fault: applies to the next `remaining` Chat API sends. */
export interface Fault {
  id: string;
  kind: FaultKind;
  remaining: number;
  /** 429 (and optionally 503, 207): the Retry-After header, seconds. */
  retryAfterSeconds?: number;
  /** 207: the per-message result code of the failing message. */
  code?: number;
  /** 207: which message (1-based, in index order) fails; later ones answer 409. */
  messageIndex?: number;
  /** latency: added before answering. */
  latencyMs?: number;
}

export type TrafficKind = 'callback' | 'api' | 'token';

/** One HTTP exchange that crossed the wire, secrets masked, for the inspector. */
export interface TrafficEntry {
  id: number;
  at: number;
  /** callback: emulator → bot; api: bot → Chat API; token: bot → token service. */
  kind: TrafficKind;
  chatId?: string;
  method: string;
  url: string;
  /** Null when no answer came (timeout, connection refused). */
  status: number | null;
  durationMs: number;
  requestHeaders: Record<string, string>;
  requestBody: unknown;
  responseHeaders: Record<string, string>;
  responseBody: unknown;
  /** For callbacks: which attempt this was, of how many allowed. */
  attempt?: { n: number; of: number };
  /** For a callback that retries an earlier one (all of it, or some of its messages): that one's id. */
  retryOf?: number;
  /** Transport failure (timeout, refused...). */
  error?: string;
  /** Still waiting for the answer; the same id is sent again when it is complete. */
  pending?: boolean;
  /** What the emulator noticed that a bot author should know (a missing result, a needless read...). */
  notes: string[];
}

/** The emulated channel's settings, as the UI shows them. */
export interface EmulatorConfigView {
  botUrl: string | undefined;
  botId: string;
  botName: string;
  /**
   * Whether `botName` is the bot's own: given to `startEmulator`, or learned from the `userInfos`
   * of a send. Until then it is a placeholder the web chat does not show as a name.
   */
  botNameKnown: boolean;
  channelId: string;
  deliveryNotifications: boolean;
  tokenUrl: string;
  apiUrl: string;
  tokenTtlSeconds: number;
  /** Limits the UI enforces before sending. */
  limits: { text: number };
}

export interface EmulatorState {
  config: EmulatorConfigView;
  users: EmulatedUser[];
  chats: EmulatedChat[];
  faults: Fault[];
  /** Newest first. */
  traffic: TrafficEntry[];
}

/** What the event stream (`GET /api/events`) and `onEvent` listeners receive. */
export type EmulatorEvent =
  | { type: 'snapshot'; state: EmulatorState }
  | { type: 'config'; config: EmulatorConfigView }
  | { type: 'user'; user: EmulatedUser }
  | { type: 'chat'; chat: EmulatedChat }
  | { type: 'faults'; faults: Fault[] }
  | { type: 'traffic'; entry: TrafficEntry }
  | { type: 'traffic-cleared' };
