/**
 * The callback BBM POSTs to `<your URL>/v1/chats`, as zod schemas. TypeScript types are inferred
 * from these and from nothing else.
 *
 * Parsing is lenient the way the platform's own samples need: numeric strings are coerced, unknown
 * properties are kept at every level, and unknown message or action types are delivered (as
 * {@link UnknownMessage} / {@link UnknownAction}) instead of being rejected. The exported types
 * name only the schemas' own properties (see known.ts), so a misspelt name does not compile;
 * `extra()` (extra.ts) reads the unknown ones.
 */
import { z } from 'zod';
import { LenientInt } from './primitives.js';
import { INBOUND_LIMITS } from './limits.js';
import type { Known } from './known.js';

/**
 * A union keyed on `type` that tolerates types it does not know: a known type is parsed strictly by
 * its own schema (so a `dlv` without `mids` is a 400 naming `mids`), any other type by `fallback`.
 */
function openUnion<Known extends Record<string, z.ZodType>, Fallback extends z.ZodType>(
  known: Known,
  fallback: Fallback,
) {
  const byType = new Map<string, z.ZodType>(Object.entries(known));
  return z.looseObject({ type: z.string() }).transform((value, ctx) => {
    const schema = byType.get(value.type) ?? fallback;
    const result = schema.safeParse(value);
    if (!result.success) {
      for (const issue of result.error.issues) {
        ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
      }
      return z.NEVER;
    }
    return result.data as z.output<Known[keyof Known]> | z.output<Fallback>;
  });
}

const Mids = z.array(z.string()).min(1).max(INBOUND_LIMITS.mids);
const ActionBase = { ts: LenientInt.optional() };

export const LeaveActionSchema = z.looseObject({ type: z.literal('leave'), ...ActionBase });
export const TypingActionSchema = z.looseObject({ type: z.literal('typing'), ...ActionBase });
export const DeliveredActionSchema = z.looseObject({ type: z.literal('dlv'), ...ActionBase, mids: Mids });
export const ReadActionSchema = z.looseObject({ type: z.literal('read'), ...ActionBase, mids: Mids });
export const PostbackActionSchema = z.looseObject({
  type: z.literal('postback'),
  ...ActionBase,
  postback: z.looseObject({ data: z.string(), label: z.string().optional(), text: z.string().optional() }),
});
/** A buttons tap on a `text` action: the user "said" `text.text`. */
export const TextTapActionSchema = z.looseObject({
  type: z.literal('text'),
  ...ActionBase,
  text: z.looseObject({ text: z.string(), label: z.string().optional() }),
});
/** A buttons tap on a `link` action: the user opened `link.url`. */
export const LinkTapActionSchema = z.looseObject({
  type: z.literal('link'),
  ...ActionBase,
  link: z.looseObject({ url: z.string(), label: z.string().optional(), text: z.string().optional() }),
});
/** Any action type this version does not know; delivered, never rejected. */
export const UnknownActionSchema = z.looseObject({ type: z.string(), ...ActionBase });

export const KNOWN_ACTION_TYPES = ['leave', 'typing', 'dlv', 'read', 'postback', 'text', 'link'] as const;
export type KnownActionType = (typeof KNOWN_ACTION_TYPES)[number];

/** The schema of each known action type, by `type`. */
export const ACTION_SCHEMAS = {
  leave: LeaveActionSchema,
  typing: TypingActionSchema,
  dlv: DeliveredActionSchema,
  read: ReadActionSchema,
  postback: PostbackActionSchema,
  text: TextTapActionSchema,
  link: LinkTapActionSchema,
};

export const InboundActionSchema = openUnion(ACTION_SCHEMAS, UnknownActionSchema);

const MessageBase = {
  index: LenientInt.optional(),
  mid: z.string().min(1).max(INBOUND_LIMITS.idLength),
  ts: LenientInt.optional(),
};

export const TextMessageSchema = z.looseObject({ type: z.literal('text'), ...MessageBase, text: z.string() });
export const ImageSchema = z.looseObject({ url: z.string(), preview: z.string().optional() });
export const ImageMessageSchema = z.looseObject({ type: z.literal('image'), ...MessageBase, image: ImageSchema });
/** audio, video, richmedia, ...: delivered with their properties intact, never rejected. */
export const UnknownMessageSchema = z.looseObject({ type: z.string(), ...MessageBase });

export const KNOWN_MESSAGE_TYPES = ['text', 'image'] as const;
export type KnownMessageType = (typeof KNOWN_MESSAGE_TYPES)[number];

/** The schema of each known message type, by `type`. */
export const MESSAGE_SCHEMAS = { text: TextMessageSchema, image: ImageMessageSchema };

export const InboundMessageSchema = openUnion(MESSAGE_SCHEMAS, UnknownMessageSchema);

export const AvatarSchema = z.looseObject({
  url: z.string().optional(),
  imageSize: LenientInt.optional(),
  imageType: z.string().optional(),
  resolution: z.string().optional(),
});

export const UserInfoSchema = z.looseObject({
  // The spec marks name required; a callback is still worth handling without it.
  name: z.string().default(''),
  avatar: z.array(AvatarSchema).max(INBOUND_LIMITS.avatars).optional(),
});

const Id = z.string().min(1).max(INBOUND_LIMITS.idLength);

export const ChatCallbackSchema = z.looseObject({
  mType: z.string(),
  chId: z.string().optional(),
  chatId: Id,
  from: Id,
  to: Id,
  mTok: z.string().max(INBOUND_LIMITS.tokenLength).optional(),
  actions: z.array(InboundActionSchema).max(INBOUND_LIMITS.actions).optional(),
  messages: z.array(InboundMessageSchema).max(INBOUND_LIMITS.messages).optional(),
  userInfos: z
    .record(z.string(), UserInfoSchema)
    .refine((r) => Object.keys(r).length <= INBOUND_LIMITS.userInfos, {
      message: `at most ${INBOUND_LIMITS.userInfos} entries`,
    }),
});

/** What a bot answers to a callback: one result per incoming message (none for actions). */
export const CallbackResultCodeSchema = LenientInt;
export const CallbackMessageResultSchema = z.looseObject({
  mid: z.string().optional(),
  result: z.looseObject({ code: LenientInt, error: z.string().optional() }),
});
export const CallbackResponseSchema = z.looseObject({
  messages: z.array(CallbackMessageResultSchema).optional(),
});

export type LeaveAction = Known<z.output<typeof LeaveActionSchema>>;
export type TypingAction = Known<z.output<typeof TypingActionSchema>>;
export type DeliveredAction = Known<z.output<typeof DeliveredActionSchema>>;
export type ReadAction = Known<z.output<typeof ReadActionSchema>>;
export type PostbackAction = Known<z.output<typeof PostbackActionSchema>>;
export type TextTapAction = Known<z.output<typeof TextTapActionSchema>>;
export type LinkTapAction = Known<z.output<typeof LinkTapActionSchema>>;
export type UnknownAction = Known<z.output<typeof UnknownActionSchema>>;
export type InboundAction = Known<z.output<typeof InboundActionSchema>>;

export type TextMessage = Known<z.output<typeof TextMessageSchema>>;
export type ImageMessage = Known<z.output<typeof ImageMessageSchema>>;
export type Image = Known<z.output<typeof ImageSchema>>;
export type UnknownMessage = Known<z.output<typeof UnknownMessageSchema>>;
export type InboundMessage = Known<z.output<typeof InboundMessageSchema>>;

export type Avatar = Known<z.output<typeof AvatarSchema>>;
export type UserInfo = Known<z.output<typeof UserInfoSchema>>;
export type ChatCallback = Known<z.output<typeof ChatCallbackSchema>>;
export type CallbackMessageResult = Known<z.output<typeof CallbackMessageResultSchema>>;
export type CallbackResponse = Known<z.output<typeof CallbackResponseSchema>>;

const knownActionTypes: ReadonlySet<string> = new Set(KNOWN_ACTION_TYPES);
const knownMessageTypes: ReadonlySet<string> = new Set(KNOWN_MESSAGE_TYPES);
export const isKnownActionType = (t: string): t is KnownActionType => knownActionTypes.has(t);
export const isKnownMessageType = (t: string): t is KnownMessageType => knownMessageTypes.has(t);
