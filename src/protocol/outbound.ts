/**
 * What a bot POSTs to `/v1/chats/<chatId>` and what the Chat API answers, as zod schemas. TypeScript
 * types are inferred from these.
 *
 * Requests are strict (unknown properties, unknown types and every documented limit are rejected
 * before anything goes on the wire); responses are lenient (numeric strings coerced, unknown
 * properties kept). Schemas are built once, at module load: the client validates every send.
 */
import { z } from 'zod';
import { LenientInt, codePointLength, limitedString } from './primitives.js';
import { OUTBOUND_LIMITS as L } from './limits.js';

/** A required string of 1..max code points. */
const required = (max: number) => limitedString(max).min(1, 'must not be empty');

// ---------------------------------------------------------------------------------------------
// Button actions: only valid inside a buttons message.

export const PostbackButtonActionSchema = z.strictObject({
  type: z.literal('postback'),
  postback: z.strictObject({
    label: required(L.actionLabel),
    data: required(L.postbackData),
    text: required(L.actionText).optional(),
  }),
});

export const TextButtonActionSchema = z.strictObject({
  type: z.literal('text'),
  text: z.strictObject({
    label: required(L.actionLabel),
    text: required(L.actionText),
  }),
});

export const LinkButtonActionSchema = z.strictObject({
  type: z.literal('link'),
  link: z.strictObject({
    label: required(L.actionLabel),
    url: required(L.linkUrl),
    text: required(L.actionText).optional(),
  }),
});

export const ButtonActionSchema = z.discriminatedUnion('type', [
  PostbackButtonActionSchema,
  TextButtonActionSchema,
  LinkButtonActionSchema,
]);

// ---------------------------------------------------------------------------------------------
// Top-level actions: processed before the messages, and answered with no result.

export const TypingOutboundActionSchema = z.strictObject({ type: z.literal('typing') });
export const ReadOutboundActionSchema = z.strictObject({
  type: z.literal('read'),
  mids: z.array(z.string().min(1, 'must not be empty')).min(1, 'must list at least one mid'),
});

export const OutboundActionSchema = z.discriminatedUnion('type', [
  TypingOutboundActionSchema,
  ReadOutboundActionSchema,
]);

// ---------------------------------------------------------------------------------------------
// Messages.

/** Assigned by the client from 1 in order; callers normally leave it out. */
const Index = z.number().int().min(1).optional();

export const OutboundTextMessageSchema = z.strictObject({
  index: Index,
  type: z.literal('text'),
  text: required(L.text),
});

export const OutboundImageMessageSchema = z.strictObject({
  index: Index,
  type: z.literal('image'),
  image: z.strictObject({
    url: required(L.imageUrl),
    preview: required(L.previewUrl).optional(),
  }),
});

export const LinkTargetSchema = z.enum(['def', 'ext']);

export const OutboundLinkMessageSchema = z.strictObject({
  index: Index,
  type: z.literal('link'),
  link: z.strictObject({
    url: required(L.linkUrl),
    target: LinkTargetSchema.optional(),
  }),
});

export const ButtonsSchema = z
  .strictObject({
    imageUrl: required(L.buttonsImageUrl).optional(),
    title: required(L.buttonsTitle).optional(),
    desc: required(L.buttonsDesc),
    actions: z
      .array(ButtonActionSchema)
      .min(L.buttonsActionsMin, `must have at least ${L.buttonsActionsMin} action`)
      .max(L.buttonsActionsMax, `must have at most ${L.buttonsActionsMax} actions`),
  })
  .superRefine((b, ctx) => {
    // The desc limit depends on its siblings, so it cannot live on the desc field alone. Values are
    // checked defensively: this runs even when other fields already failed.
    const hasHeader = b.imageUrl !== undefined || b.title !== undefined;
    if (
      hasHeader &&
      typeof b.desc === 'string' &&
      b.desc.length > L.buttonsDescWithHeader &&
      codePointLength(b.desc) > L.buttonsDescWithHeader
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['desc'],
        message: `must be at most ${L.buttonsDescWithHeader} characters with an image or a title`,
      });
    }
  });

export const OutboundButtonsMessageSchema = z.strictObject({
  index: Index,
  type: z.literal('buttons'),
  buttons: ButtonsSchema,
});

export const OutboundMessageSchema = z.discriminatedUnion('type', [
  OutboundTextMessageSchema,
  OutboundImageMessageSchema,
  OutboundLinkMessageSchema,
  OutboundButtonsMessageSchema,
]);

// ---------------------------------------------------------------------------------------------
// The request body.

export const OutboundUserInfoSchema = z.strictObject({ name: z.string().min(1, 'must not be empty') });

/** `bot` is what a bot sends; the others are listed by the spec and passed through. */
export const OutboundMTypeSchema = z.enum(['bot', 'message', 'private', 'retract', 'timed']);

const Id = z.string().min(1, 'must not be empty');

export const SendRequestSchema = z
  .strictObject({
    mType: OutboundMTypeSchema,
    chId: Id.optional(),
    chatId: Id,
    from: Id,
    to: Id,
    sessionId: Id.optional(),
    actions: z.array(OutboundActionSchema).optional(),
    messages: z.array(OutboundMessageSchema).optional(),
    userInfos: z.record(z.string(), OutboundUserInfoSchema),
  })
  .superRefine((r, ctx) => {
    const actions = Array.isArray(r.actions) ? r.actions.length : 0;
    const messages = Array.isArray(r.messages) ? r.messages.length : 0;
    if (actions + messages === 0) {
      ctx.addIssue({ code: 'custom', path: [], message: 'must contain at least one action or message' });
    }
    // The spec wants an entry for every sender; the bot is the only sender of an outbound body.
    if (typeof r.from === 'string' && r.userInfos !== null && typeof r.userInfos === 'object' && !(r.from in r.userInfos)) {
      ctx.addIssue({ code: 'custom', path: ['userInfos'], message: 'must contain an entry for `from`' });
    }
  });

export type PostbackButtonAction = z.output<typeof PostbackButtonActionSchema>;
export type TextButtonAction = z.output<typeof TextButtonActionSchema>;
export type LinkButtonAction = z.output<typeof LinkButtonActionSchema>;
export type ButtonAction = z.output<typeof ButtonActionSchema>;

export type TypingOutboundAction = z.output<typeof TypingOutboundActionSchema>;
export type ReadOutboundAction = z.output<typeof ReadOutboundActionSchema>;
export type OutboundAction = z.output<typeof OutboundActionSchema>;

export type OutboundTextMessage = z.output<typeof OutboundTextMessageSchema>;
export type OutboundImageMessage = z.output<typeof OutboundImageMessageSchema>;
export type OutboundLinkMessage = z.output<typeof OutboundLinkMessageSchema>;
export type LinkTarget = z.output<typeof LinkTargetSchema>;
export type Buttons = z.output<typeof ButtonsSchema>;
export type OutboundButtonsMessage = z.output<typeof OutboundButtonsMessageSchema>;
export type OutboundMessage = z.output<typeof OutboundMessageSchema>;
export type OutboundMessageType = OutboundMessage['type'];

export type OutboundUserInfo = z.output<typeof OutboundUserInfoSchema>;
export type OutboundMType = z.output<typeof OutboundMTypeSchema>;
export type SendRequest = z.output<typeof SendRequestSchema>;

// ---------------------------------------------------------------------------------------------
// The response to a send (200 or 207): one result per message, none for actions.

export const SendResultCodeSchema = LenientInt;

export const SendMessageResultSchema = z.looseObject({
  index: LenientInt.optional(),
  type: z.string().optional(),
  mid: z.string().optional(),
  ts: LenientInt.optional(),
  result: z.looseObject({ code: LenientInt, error: z.string().optional() }),
});

/**
 * Entries are kept unparsed here so that one malformed result does not hide the others: parse each
 * with {@link SendMessageResultSchema}.
 */
export const SendResponseSchema = z.looseObject({
  messages: z.array(z.unknown()).optional(),
});

export type SendMessageResult = z.output<typeof SendMessageResultSchema>;
export type SendResponse = z.output<typeof SendResponseSchema>;
