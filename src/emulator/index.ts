/** The local BBM platform emulator: token service, Chat API, signed callbacks and a web chat. */
export { startEmulator, normalizeBotUrl } from './emulator.js';
export type { Emulator, EmulatorOptions } from './emulator.js';
export { dialogReaderFromStore, inspectDialog, viewDialogRecord } from './dialogs.js';
export type { ActiveDialog, DialogInspectorOptions, DialogReader, InspectorDialog, InspectorDialogFields } from './dialogs.js';
export { EmulatorStartError, HttpError as EmulatorHttpError } from './errors.js';
export type { CallbackRetryOptions } from './callbacks.js';
export type { FaultSpec } from './faults.js';
export type { TypingTimings } from './typing.js';
export type {
  BotItem,
  BotMessageState,
  ChatItem,
  EmulatedChat,
  EmulatedUser,
  EmulatorConfigView,
  EmulatorEvent,
  EmulatorState,
  Fault,
  FaultKind,
  NoticeItem,
  TrafficEntry,
  TrafficKind,
  UserContent,
  UserItem,
  UserMessageState,
} from './model.js';
export type { Pending } from './platform.js';
