/**
 * The public API of the BBM bot framework. Everything a bot, a host app or a test needs is
 * exported from here; internal modules may change without notice.
 */

// Bots
export { Bot, BotNotStartedError, HandlerError, createBot } from './bot/bot.js';
export type { BotOptions, BotRuntime, ContextFor, ErrorHandler, Handler, HearsContext, Sender } from './bot/bot.js';
export type { PostbackTrigger, TextTrigger } from './bot/filters.js';
// Routing tree (issue 16): bot.on/hears/postback/filter/errorBoundary return sub-composers; a Composer mounts with use
export { Composer } from './bot/composer.js';
export type { BoundaryHandler, MatchedTurn, MiddlewareSource, PostbackMatchContext, Routable, RoutePredicate } from './bot/composer.js';
export { postbackMatcher, textMatcher } from './bot/filters.js';
export { Context } from './bot/context.js';
export type { Chat, ReplyContent, ReplyItem, User } from './bot/context.js';
export type { EventMap, EventName, Postback } from './bot/events.js';
export { compose } from './bot/compose.js';
export type { Middleware, NextFunction } from './bot/compose.js';

// Sending
export * from './client/index.js';

// Receiving
export { createWebhookHandler, messagesStatus } from './webhook/handler.js';
export type { WebhookHandler, WebhookOptions } from './webhook/handler.js';
export { createWebhookRouter, WebhookMountError } from './webhook/router.js';
export type { WebhookRouterOptions } from './webhook/router.js';
export { signBody, verifySignature, parseKeyList } from './webhook/signature.js';
export { mergeRejected, parseCallback } from './webhook/parse.js';
export type { ParseOutcome, RejectedMessage } from './webhook/parse.js';
export { Lifecycle } from './webhook/lifecycle.js';
export type { CallbackDispatcher, DispatchContext } from './webhook/dispatcher.js';

// Wire format
export * from './protocol/inbound.js';
export { extra } from './protocol/extra.js';
export type { WireObjectSchema } from './protocol/extra.js';
export type { Known } from './protocol/known.js';
export { INBOUND_LIMITS, OUTBOUND_LIMITS } from './protocol/limits.js';
export { ChatAccess, ChatRefusedError } from './protocol/chat-access.js';
export type { ChatRefusal } from './protocol/chat-access.js';
export { BbmError, ValidationError as WireValidationError } from './protocol/errors.js';
export type { FieldIssue } from './protocol/errors.js';

// State
export type { LeasedShift, StateStore, Ticket, TicketKeys, TicketLease } from './state/store.js';
export { ticketLeaseJson } from './state/store.js';
export { MemoryStore } from './state/memory.js';
export type { MemoryStoreOptions } from './state/memory.js';
export { RedisStore, RedisStoreError, RedisConnectError, DEFAULT_REDIS_PREFIX, redactRedisUrl } from './state/redis.js';
export type { ClusterNode, RedisStoreOptions } from './state/redis.js';
export { chatKey, storeKey } from './state/keys.js';

// Running
export { loadConfig, ConfigError, CONFIG_VARIABLES } from './server/config.js';
export type { AppConfig, LoadConfigOptions } from './server/config.js';
export { startServer } from './server/http-server.js';
export type { RunningServer, ServerOptions } from './server/http-server.js';
export { startBotServer, runFromEnvironment } from './server/run.js';
export type { BotServer, StartBotServerOptions } from './server/run.js';
export { createLogger } from './server/logger.js';
export { Metrics, startMetricsServer, METRICS_PATH } from './server/metrics.js';
export type { BotMetrics, MetricsOptions, MetricsServer, QueueDepthSource } from './server/metrics.js';
export type { TokenFetchEvent } from './client/token-provider.js';

// Testing
export { createTestHarness } from './testing/harness.js';
export type { AnyBot, BotHarness, CallbackAnswer, HarnessBot, HarnessOptions, HarnessUser, TestHarness } from './testing/harness.js';
export { ReplyMismatchError } from './testing/reply-expectations.js';
export type { DeepPattern, MessagePattern, ReplyPattern } from './testing/reply-pattern.js';
export { startFakeChatApi } from './testing/fake-chat-api.js';
export type { FakeChatApi, FakeChatApiOptions, RecordedSend, SendScript } from './testing/fake-chat-api.js';
export { FakeClock } from './testing/fake-clock.js';

// Conversations
export { TypingRelay } from './bot/typing-relay.js';
export { OutgoingTypingRules, SPEC_TYPING_RULES } from './protocol/typing-rules.js';
export type { OutgoingTypingRulesOptions, TypingRuleTimings } from './protocol/typing-rules.js';
export type { TypingRelayOptions } from './bot/typing-relay.js';
export { TypingTracker, TYPING_TIMEOUT_MS } from './bot/typing-tracker.js';
export type { TypingStopReason } from './bot/typing-tracker.js';
export type { Clock } from './bot/clock.js';
export type { Delivery } from './bot/events.js';
export type { DeliveryState, SentMessage } from './bot/delivery-tracker.js';
export type { SessionOptions } from './bot/session.js';
export * from './emulator/index.js';

// Conversations as code (issue 16): dialogs written as async functions, durable and bounded
export {
  conversation,
  Conversation,
  ConversationLimitError,
  ConversationNameError,
  ConversationReplayError,
  ConversationValueError,
  LoopDone,
} from './conversation/index.js';
export type {
  AskOptions,
  ChooseOptions,
  ConversationMiddleware,
  ConversationOptions,
  DialogEvent,
  DialogFn,
  DialogRecord,
  LoopControl,
  WaitOptions,
  WaitState,
} from './conversation/index.js';
