export {
  ChatClient,
  type ChatClientOptions,
  type ChatClientRetryOptions,
  type SendAttemptEvent,
  type SendInput,
  type SendOptions,
  /** What `send` takes (the client-level request, mTok included); the wire body is SendRequestBody. */
  type SendInput as SendRequest,
} from './chat-client.js';
export {
  TokenProvider,
  type AccessTokenSource,
  type TokenProviderOptions,
  type TokenRetryOptions,
} from './token-provider.js';
export { ClosedChats, type ClosedChatRecord, type ClosedChatsOptions } from './closed-chats.js';
export {
  ChatApiError,
  ChatClosedError,
  MessageFailedError,
  SendFencedError,
  TokenError,
  UserGoneError,
  ValidationError,
  assertDelivered,
  validateSendRequest,
  type ChatApiFailureKind,
  type UserGoneReason,
} from './errors.js';
export { stateOf, type MessageResult, type MessageState, type SendResult } from './send-result.js';
export { buttons, image, link, linkAction, postback, read, text, textAction, typing } from './builders.js';
export type {
  ButtonAction,
  Buttons,
  LinkTarget,
  OutboundAction,
  OutboundMessage,
  OutboundMType,
  OutboundUserInfo,
  SendRequest as SendRequestBody,
} from '../protocol/outbound.js';
