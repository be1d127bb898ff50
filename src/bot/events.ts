/**
 * What a handler can listen for, and what each event guarantees on the context. One turn of the
 * bot is one action or one message of a callback; its events are the most specific name for it
 * plus the general `message` or `action`.
 */
import { ownValue } from '../protocol/primitives.js';
import type {
  DeliveredAction,
  Image,
  ImageMessage,
  InboundAction,
  InboundMessage,
  LeaveAction,
  LinkTapAction,
  PostbackAction,
  ReadAction,
  TextMessage,
  TextTapAction,
  TypingAction,
  UnknownAction,
  UnknownMessage,
} from '../protocol/inbound.js';
import type { OutboundMessage } from '../protocol/outbound.js';
import type { TypingStopReason } from './typing-tracker.js';

/** A postback tap, with its data also parsed as a query string (`action=book&offer=1`). */
export interface Postback {
  data: string;
  label: string | undefined;
  text: string | undefined;
  params: Readonly<Record<string, string>>;
}

/** The properties each event makes certain on the context. */
export interface EventMap {
  /** Any message from the user. */
  message: { message: InboundMessage; action: undefined };
  text: { message: TextMessage; text: string; action: undefined };
  image: { message: ImageMessage; image: Image; action: undefined };
  /** A message type this framework does not model (audio, video, richmedia...), properties intact. */
  unknown: { message: UnknownMessage; action: undefined };
  /** Any action. */
  action: { action: InboundAction; message: undefined };
  leave: { action: LeaveAction; message: undefined };
  typing: { action: TypingAction; message: undefined };
  dlv: { action: DeliveredAction; message: undefined };
  postback: { action: PostbackAction; postback: Postback; message: undefined };
  /** The user tapped a `text` action of a buttons message. */
  'tap:text': { action: TextTapAction; text: string; message: undefined };
  /** The user tapped a `link` action of a buttons message. */
  'tap:link': { action: LinkTapAction; message: undefined };
  /** An action type this framework does not model. */
  'action:unknown': { action: UnknownAction; message: undefined };
  /** The user started typing (a typing action after a pause of 30 s, a message, or never). */
  typingStart: { action: TypingAction; message: undefined };
  /** The user's typing ended: they sent a message, or 30 s passed without another typing action. */
  typingStop: { typingStop: { reason: TypingStopReason }; message: undefined };
  /** A message the bot sent reached the user: at send time (200) or by a later `dlv` action. Once per message. */
  delivered: { delivery: Delivery; message: undefined };
  /**
   * The user read a message the bot sent: once per message id of a `read` action. `delivery.message`
   * is the original when the bot still knows it.
   */
  read: { action: ReadAction; delivery: Delivery; message: undefined };
}

/** A message the bot sent, as `delivered` and `read` events see it. */
export interface Delivery {
  mid: string;
  /** The message as the bot sent it; undefined when the bot does not know (or no longer remembers) the mid. */
  message: OutboundMessage | undefined;
  state: 'accepted' | 'delivered' | 'read';
}

export type EventName = keyof EventMap;

const MESSAGE_EVENTS: Readonly<Record<string, EventName>> = { text: 'text', image: 'image' };
const ACTION_EVENTS: Readonly<Record<string, EventName>> = {
  leave: 'leave',
  typing: 'typing',
  dlv: 'dlv',
  read: 'read',
  postback: 'postback',
  text: 'tap:text',
  link: 'tap:link',
};

/** The events one message fires: its own type's event (or `unknown`) and `message`. */
export function eventsOfMessage(message: InboundMessage): ReadonlySet<EventName> {
  return new Set<EventName>([ownValue(MESSAGE_EVENTS, message.type) ?? 'unknown', 'message']);
}

export function eventsOfAction(action: InboundAction): ReadonlySet<EventName> {
  return new Set<EventName>([ownValue(ACTION_EVENTS, action.type) ?? 'action:unknown', 'action']);
}

/** Parses postback data as a query string; data that is not one gives no params. */
export function toPostback(action: PostbackAction): Postback {
  const { data, label, text } = action.postback;
  const params: Record<string, string> = Object.create(null) as Record<string, string>;
  if (data.includes('=')) {
    for (const [k, v] of new URLSearchParams(data)) params[k] = v;
  }
  return { data, label, text, params };
}
