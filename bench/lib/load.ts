/**
 * The load generator: autocannon's programmatic API, every request built and signed as it goes out
 * (a unique sequence number each). Latencies are taken from autocannon's per-response event at full
 * (sub-millisecond) precision rather than from its millisecond histogram.
 */
import autocannon from 'autocannon';
import { WEBHOOK_PATH, callbackBody, sign, type CallbackKind } from './callbacks.js';

export interface LoadOptions {
  url: string;
  kind: CallbackKind;
  /** Distinct chats the callbacks rotate over. */
  chats: number;
  connections: number;
  /** Run for this long... */
  durationS?: number;
  /** ...or until this many responses. */
  amount?: number;
  pipelining?: number;
  /** First sequence number (mids `m<seq>`). */
  seqStart: number;
  /** Sequence numbers answered 2xx are marked here (index seq - seqStart). */
  answered?: Uint8Array;
  /** Called on every response with the count so far (memory sampling). */
  onCount?: (count: number) => void;
}

export interface LoadResult {
  elapsedS: number;
  responses: number;
  rps: number;
  /** Milliseconds. */
  p50: number;
  p99: number;
  max: number;
  mean: number;
  statusCodes: Record<string, number>;
  non2xx: number;
  /** 207 answers: at least one message was not handled. */
  partial: number;
  errors: number;
  timeouts: number;
  sent: number;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

interface Ctx {
  seq?: number;
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  let seq = options.seqStart;
  let latencies = new Float64Array(1 << 18);
  let n = 0;
  const statusCodes: Record<string, number> = {};
  const answered = options.answered;

  const started = performance.now();
  let finish!: (r: autocannon.Result) => void;
  let fail!: (e: unknown) => void;
  const done = new Promise<autocannon.Result>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  const instance = autocannon({
    url: options.url,
    connections: options.connections,
    pipelining: options.pipelining ?? 1,
    timeout: 10,
    ...(options.amount !== undefined ? { amount: options.amount } : { duration: options.durationS ?? 10 }),
    requests: [
      {
        method: 'POST',
        path: WEBHOOK_PATH,
        setupRequest: (req, context) => {
          const s = seq++;
          (context as Ctx).seq = s;
          const body = callbackBody(options.kind, s, options.chats);
          return {
            ...req,
            method: 'POST',
            path: WEBHOOK_PATH,
            headers: { 'content-type': 'application/json; charset=utf-8', 'bbm-sig': sign(body) },
            body,
          };
        },
        ...(answered
          ? {
              onResponse: (status: number, _body: string, context: Ctx) => {
                const s = context.seq;
                if (status >= 200 && status < 300 && s !== undefined) answered[s - options.seqStart] = 1;
              },
            }
          : {}),
      },
    ],
  }, (err, res) => (err ? fail(err) : finish(res)));
  instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
    if (n === latencies.length) {
      const bigger = new Float64Array(latencies.length * 2);
      bigger.set(latencies);
      latencies = bigger;
    }
    latencies[n++] = responseTime;
    statusCodes[statusCode] = (statusCodes[statusCode] ?? 0) + 1;
    options.onCount?.(n);
  });
  const result = await done;
  const elapsedS = (performance.now() - started) / 1000;
  const sorted = latencies.slice(0, n).sort();
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i]!;
  let non2xx = 0;
  for (const [code, count] of Object.entries(statusCodes)) if (code[0] !== '2') non2xx += count;
  return {
    elapsedS,
    responses: n,
    rps: n / (options.amount !== undefined ? elapsedS : result.duration),
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: n ? sorted[n - 1]! : 0,
    mean: n ? sum / n : 0,
    statusCodes,
    non2xx,
    partial: statusCodes['207'] ?? 0,
    errors: result.errors,
    timeouts: result.timeouts,
    sent: seq - options.seqStart,
  };
}
