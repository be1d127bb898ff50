/**
 * The inspector's record of every exchange, newest last in memory and bounded, with secrets masked
 * before anything is stored: what reaches the browser (or a screenshot) never holds a usable
 * signature, token or credential.
 */
import type { TrafficEntry } from './model.js';

/** Keeps a hint of the value (so two can be told apart) and hides the rest. */
export function maskSecret(value: string): string {
  if (value.length <= 8) return '••••';
  return `${value.slice(0, 4)}…${value.slice(-2)} (masked)`;
}

const SECRET_HEADERS: ReadonlySet<string> = new Set(['bbm-sig', 'authorization', 'proxy-authorization', 'cookie', 'set-cookie']);

export function maskHeaders(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (!SECRET_HEADERS.has(lower)) {
      out[lower] = value;
      continue;
    }
    // Keep the scheme visible: "Bearer …" vs "Basic …" is worth seeing, the credential is not.
    const m = /^(Bearer|Basic)\s+(.*)$/i.exec(value);
    out[lower] = m ? `${m[1]} ${maskSecret(m[2]!)}` : maskSecret(value);
  }
  return out;
}

/** Masks `mTok` in a URL's query string. */
export function maskUrl(url: string): string {
  return url.replace(/([?&]mTok=)([^&#]*)/gi, (_all, prefix: string, tok: string) => {
    let decoded = tok;
    try {
      decoded = decodeURIComponent(tok);
    } catch {
      // keep as is
    }
    // A display string, not a URL to call: left readable rather than percent-encoded.
    return `${prefix}${maskSecret(decoded).replace(' ', '')}`;
  });
}

const SECRET_FIELDS: ReadonlySet<string> = new Set(['mTok', 'access_token', 'refresh_token', 'client_secret', 'clientCredentials']);

/** Copies a JSON value with secret fields masked, at any depth. */
export function maskBody(value: unknown, depth = 0): unknown {
  if (depth > 32 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => maskBody(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    out[k] = SECRET_FIELDS.has(k) && typeof v === 'string' ? maskSecret(v) : maskBody(v, depth + 1);
  }
  return out;
}

/** A body as the inspector shows it: parsed JSON when it is JSON, otherwise (bounded) text. */
export function bodyForLog(raw: Buffer | string | undefined): unknown {
  if (raw === undefined) return undefined;
  const text = typeof raw === 'string' ? raw : raw.toString('utf8');
  if (text === '') return undefined;
  try {
    return maskBody(JSON.parse(text) as unknown);
  } catch {
    // Form bodies (the token request) may carry secrets too.
    const masked = text.replace(/(client_secret=)([^&]*)/g, (_a, p: string, s: string) => `${p}${maskSecret(s)}`);
    return masked.length > 4000 ? `${masked.slice(0, 4000)}… (${masked.length} characters)` : masked;
  }
}

export type NewTrafficEntry = Omit<TrafficEntry, 'id' | 'at' | 'notes'> & { at?: number; notes?: string[] };

export class TrafficLog {
  private readonly entries: TrafficEntry[] = [];
  private nextId = 1;

  constructor(
    private readonly limit: number,
    private readonly onEntry: (entry: TrafficEntry) => void,
  ) {}

  /** Stores an entry. Callers pass raw headers and URLs; masking happens here so none is forgotten. */
  add(entry: NewTrafficEntry): TrafficEntry {
    const stored: TrafficEntry = {
      ...entry,
      id: this.nextId++,
      at: entry.at ?? Date.now(),
      url: maskUrl(entry.url),
      requestHeaders: maskHeaders(entry.requestHeaders),
      responseHeaders: maskHeaders(entry.responseHeaders),
      requestBody: maskBody(entry.requestBody),
      responseBody: maskBody(entry.responseBody),
      notes: entry.notes ?? [],
    };
    this.entries.push(stored);
    if (this.entries.length > this.limit) this.entries.splice(0, this.entries.length - this.limit);
    this.onEntry(stored);
    return stored;
  }

  /**
   * Completes an entry added while its exchange was still running (a callback waiting for the
   * bot): listeners get the same id again and replace what they showed.
   */
  update(entry: TrafficEntry, patch: Partial<NewTrafficEntry>): TrafficEntry {
    const masked: Partial<TrafficEntry> = { ...patch } as Partial<TrafficEntry>;
    if (patch.responseHeaders) masked.responseHeaders = maskHeaders(patch.responseHeaders);
    if ('responseBody' in patch) masked.responseBody = maskBody(patch.responseBody);
    const notes = patch.notes ?? entry.notes;
    const index = this.entries.indexOf(entry);
    const next: TrafficEntry = { ...entry, ...masked, notes };
    delete next.pending;
    if (index >= 0) this.entries[index] = next;
    this.onEntry(next);
    return next;
  }

  /** Newest first, optionally for one chat. */
  list(chatId?: string): TrafficEntry[] {
    const list = chatId === undefined ? this.entries : this.entries.filter((e) => e.chatId === chatId);
    return list.slice().reverse();
  }

  clear(): void {
    this.entries.length = 0;
  }
}
