/** Every error the framework throws on purpose: a stable `code` and, where there is one, the offending field. */
export class BbmError extends Error {
  readonly code: string;
  readonly field: string | undefined;

  constructor(code: string, message: string, options: { field?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.field = options.field;
  }
}

/** One problem in a body, named by its path (`messages.0.buttons.desc`). */
export interface FieldIssue {
  path: string;
  message: string;
}

/** Turns zod issue paths into dotted strings: what error bodies and messages show. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.length === 0 ? '(body)' : path.map((p) => String(p)).join('.');
}

export function toFieldIssues(issues: readonly { path: readonly PropertyKey[]; message: string }[]): FieldIssue[] {
  return issues.map((i) => ({ path: formatPath(i.path), message: i.message }));
}

/** A body that does not satisfy the wire format; lists every offending field. */
export class ValidationError extends BbmError {
  readonly issues: readonly FieldIssue[];

  constructor(what: string, issues: readonly FieldIssue[]) {
    const list = issues.map((i) => `${i.path}: ${i.message}`).join('; ');
    super('VALIDATION_FAILED', `${what} is invalid: ${list}`, { field: issues[0]?.path });
    this.issues = issues;
  }
}
