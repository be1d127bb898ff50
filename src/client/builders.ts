/**
 * Short, typed constructors for outbound messages and actions, in the wire shape. They do not
 * validate: `ChatClient.send` checks the whole body against the spec's limits before sending.
 */
import type {
  Buttons,
  ButtonAction,
  LinkButtonAction,
  LinkTarget,
  OutboundButtonsMessage,
  OutboundImageMessage,
  OutboundLinkMessage,
  OutboundTextMessage,
  PostbackButtonAction,
  ReadOutboundAction,
  TextButtonAction,
  TypingOutboundAction,
} from '../protocol/outbound.js';

export function text(s: string): OutboundTextMessage {
  return { type: 'text', text: s };
}

export function image(opts: { url: string; preview?: string }): OutboundImageMessage {
  return {
    type: 'image',
    image: opts.preview === undefined ? { url: opts.url } : { url: opts.url, preview: opts.preview },
  };
}

export function link(opts: { url: string; target?: LinkTarget }): OutboundLinkMessage {
  return {
    type: 'link',
    link: opts.target === undefined ? { url: opts.url } : { url: opts.url, target: opts.target },
  };
}

export function buttons(opts: {
  imageUrl?: string;
  title?: string;
  desc: string;
  actions: ButtonAction[];
}): OutboundButtonsMessage {
  // Only defined keys go on the wire: the schema is strict and `undefined` is not JSON.
  const b: Buttons = { desc: opts.desc, actions: opts.actions };
  if (opts.imageUrl !== undefined) b.imageUrl = opts.imageUrl;
  if (opts.title !== undefined) b.title = opts.title;
  return { type: 'buttons', buttons: b };
}

/** A button that posts `data` back to the bot's webhook when tapped. */
export function postback(opts: { label: string; data: string; text?: string }): PostbackButtonAction {
  return {
    type: 'postback',
    postback:
      opts.text === undefined
        ? { label: opts.label, data: opts.data }
        : { label: opts.label, data: opts.data, text: opts.text },
  };
}

/** A button that makes the user "say" `text`. */
export function textAction(opts: { label: string; text: string }): TextButtonAction {
  return { type: 'text', text: { label: opts.label, text: opts.text } };
}

/** A button that opens `url`. */
export function linkAction(opts: { label: string; url: string; text?: string }): LinkButtonAction {
  return {
    type: 'link',
    link:
      opts.text === undefined
        ? { label: opts.label, url: opts.url }
        : { label: opts.label, url: opts.url, text: opts.text },
  };
}

export function typing(): TypingOutboundAction {
  return { type: 'typing' };
}

export function read(mids: string | readonly string[]): ReadOutboundAction {
  return { type: 'read', mids: typeof mids === 'string' ? [mids] : [...mids] };
}
