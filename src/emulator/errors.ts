/**
 * Errors the emulator answers with. Every refusal is an {@link HttpError}: a status, a stable
 * machine code and a sentence for people, plus the offending fields when a body was invalid. The
 * HTTP layer turns them into JSON; nothing else reaches the client (no stack traces).
 */
import { BbmError, type FieldIssue } from '../protocol/errors.js';

export class HttpError extends BbmError {
  readonly status: number;
  readonly issues: readonly FieldIssue[] | undefined;
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    status: number,
    code: string,
    message: string,
    options: { issues?: readonly FieldIssue[]; headers?: Record<string, string>; field?: string } = {},
  ) {
    super(code, message, { field: options.field ?? options.issues?.[0]?.path });
    this.status = status;
    this.issues = options.issues;
    this.headers = options.headers ?? {};
  }

  /** The JSON body sent for this error. */
  toBody(): Record<string, unknown> {
    return { error: this.code, message: this.message, ...(this.issues ? { issues: this.issues } : {}) };
  }
}

/** Thrown by `startEmulator` when it cannot start (port taken, bad option). */
export class EmulatorStartError extends BbmError {
  constructor(code: 'PORT_IN_USE' | 'BAD_OPTION' | 'LISTEN_FAILED', message: string, options: { field?: string; cause?: unknown } = {}) {
    super(code, message, options);
  }
}
