/**
 * Fault injection for the Chat API: the next N sends answer 429 (with Retry-After), 503, or 207
 * with one failing message, or answer late. Faults are armed from the UI, the HTTP API or code,
 * and each use counts down; several can be armed at once (latency combines with the others).
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Fault } from './model.js';

const Count = z.number().int().min(1).max(1000).default(1);
const RetryAfter = z.number().int().min(0).max(3600);

/** Per-message codes the spec lists for a failed message. */
export const FAILURE_CODES = [403, 409, 429, 500, 503] as const;

export const FaultSpecSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('429'), count: Count, retryAfterSeconds: RetryAfter.default(1) }),
  z.strictObject({ kind: z.literal('503'), count: Count, retryAfterSeconds: RetryAfter.optional() }),
  z.strictObject({
    kind: z.literal('207'),
    count: Count,
    code: z
      .number()
      .int()
      .refine((c) => (FAILURE_CODES as readonly number[]).includes(c), `must be one of ${FAILURE_CODES.join(', ')}`)
      .default(503),
    messageIndex: z.number().int().min(1).max(100).default(1),
    retryAfterSeconds: RetryAfter.optional(),
  }),
  z.strictObject({ kind: z.literal('latency'), count: Count, latencyMs: z.number().int().min(1).max(60_000) }),
]);

export type FaultSpec = z.input<typeof FaultSpecSchema>;

export class FaultQueue {
  private faults: Fault[] = [];

  constructor(private readonly onChange: (faults: Fault[]) => void) {}

  arm(spec: z.output<typeof FaultSpecSchema>): Fault {
    const { count, ...rest } = spec;
    const fault: Fault = { id: randomBytes(4).toString('hex'), remaining: count, ...rest };
    this.faults.push(fault);
    this.changed();
    return fault;
  }

  list(): Fault[] {
    return this.faults.map((f) => ({ ...f }));
  }

  clear(): void {
    if (this.faults.length === 0) return;
    this.faults = [];
    this.changed();
  }

  remove(id: string): boolean {
    const before = this.faults.length;
    this.faults = this.faults.filter((f) => f.id !== id);
    if (this.faults.length === before) return false;
    this.changed();
    return true;
  }

  /** Consumes one use of the oldest armed fault among `kinds`. */
  take(kinds: readonly Fault['kind'][]): Fault | undefined {
    const fault = this.faults.find((f) => kinds.includes(f.kind));
    if (!fault) return undefined;
    fault.remaining--;
    if (fault.remaining <= 0) this.faults = this.faults.filter((f) => f !== fault);
    this.changed();
    return { ...fault };
  }

  private changed(): void {
    this.onChange(this.list());
  }
}
