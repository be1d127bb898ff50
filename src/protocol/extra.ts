/**
 * `extra(value)`: the properties of a parsed wire object that its schema does not name.
 *
 * The platform may send more than the spec describes (a newer field, an `audio` message's own
 * properties). Parsing keeps them, but the exported types name only the schema's properties (see
 * known.ts), so a typo does not compile. This is the one way to read the rest: typed `unknown`,
 * computed only when asked for, so the webhook's parse path pays nothing for it.
 */
import {
  ACTION_SCHEMAS,
  ChatCallbackSchema,
  MESSAGE_SCHEMAS,
  UnknownActionSchema,
  UnknownMessageSchema,
  type ChatCallback,
  type InboundAction,
  type InboundMessage,
} from './inbound.js';
import { ownValue } from './primitives.js';

/** A zod object schema, or anything else that lists the properties it knows in `shape`. */
export interface WireObjectSchema {
  readonly shape: object;
}

const messageSchemas: Readonly<Record<string, WireObjectSchema>> = MESSAGE_SCHEMAS;
const actionSchemas: Readonly<Record<string, WireObjectSchema>> = ACTION_SCHEMAS;

const knownKeysBySchema = new WeakMap<WireObjectSchema, ReadonlySet<string>>();

function knownKeys(schema: WireObjectSchema): ReadonlySet<string> {
  let keys = knownKeysBySchema.get(schema);
  if (keys === undefined) {
    keys = new Set(Object.keys(schema.shape));
    knownKeysBySchema.set(schema, keys);
  }
  return keys;
}

/**
 * The schema a top-level wire object was parsed with: a callback has `mType` and `chatId`, a
 * message its `mid` (actions carry `mids`, never a `mid`), and each is picked by its `type`.
 */
function schemaOf(value: Readonly<Record<string, unknown>>): WireObjectSchema {
  if (typeof value.mType === 'string' && typeof value.chatId === 'string') return ChatCallbackSchema;
  const type = typeof value.type === 'string' ? value.type : '';
  if (typeof value.mid === 'string') return ownValue(messageSchemas, type) ?? UnknownMessageSchema;
  return ownValue(actionSchemas, type) ?? UnknownActionSchema;
}

/**
 * The properties of a parsed message, action or callback that its schema does not name, as a new
 * object (empty when there are none). For a nested object (an image, a postback, a user's info),
 * pass the schema it was parsed with. An action that carries a `mid` of its own is taken for a
 * message: pass its schema too.
 *
 * @example
 * bot.on('unknown', (ctx) => {
 *   const { audio } = extra(ctx.message); // an audio message's own property, typed unknown
 * });
 * extra(ctx.image, ImageSchema); // what BBM sent with the image beyond url and preview
 */
export function extra(value: InboundMessage | InboundAction | ChatCallback): Readonly<Record<string, unknown>>;
export function extra(value: object, schema: WireObjectSchema): Readonly<Record<string, unknown>>;
export function extra(value: object, schema?: WireObjectSchema): Readonly<Record<string, unknown>> {
  const fields = value as Readonly<Record<string, unknown>>;
  const known = knownKeys(schema ?? schemaOf(fields));
  // fromEntries defines properties: a `__proto__` sent on the wire stays a plain property.
  return Object.fromEntries(Object.keys(fields).filter((key) => !known.has(key)).map((key) => [key, fields[key]]));
}
