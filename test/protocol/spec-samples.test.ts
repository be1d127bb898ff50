/**
 * Every fenced block of the spec that is valid JSON must parse under the schema it illustrates.
 * Runs when the spec sits next to the repository (`../shared/spec/bbm-chat-api.md`); skipped, saying
 * so, when it does not.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { z } from 'zod';
import { CallbackResponseSchema, ChatCallbackSchema, InboundActionSchema, InboundMessageSchema } from '../../src/protocol/inbound.js';
import { codePointLength } from '../../src/protocol/primitives.js';
import { PROJECT_ROOT } from '../../src/server/config.js';
import { parseCallback } from '../../src/webhook/parse.js';
import * as S from '../fixtures/spec-samples.js';

const SPEC_PATH = join(PROJECT_ROOT, '..', 'shared', 'spec', 'bbm-chat-api.md');
const SPEC_FOUND = existsSync(SPEC_PATH);

interface Block {
  /** 1-based line of the block's first content line. */
  line: number;
  text: string;
}

/** Fenced blocks (```), the last one included even when the document ends without closing it. */
function fencedBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  let current: { line: number; lines: string[] } | undefined;
  markdown.split(/\r?\n/).forEach((line, i) => {
    if (/^\s*```/.test(line)) {
      if (current) {
        blocks.push({ line: current.line, text: current.lines.join('\n') });
        current = undefined;
      } else current = { line: i + 2, lines: [] };
    } else current?.lines.push(line);
  });
  if (current) blocks.push({ line: current.line, text: current.lines.join('\n') });
  return blocks;
}

type Kind =
  | 'callback'
  | 'send-request'
  | 'callback-response'
  | 'send-response'
  | 'inbound-message'
  | 'inbound-action'
  | 'outbound-action'
  | 'button-action'
  | 'outbound-message';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Which schema a sample illustrates, from its shape. */
function classify(value: unknown): Kind | undefined {
  if (!isObject(value)) return undefined;
  if (typeof value.mType === 'string') return value.mType === 'bot' ? 'send-request' : 'callback';
  if (Object.keys(value).every((k) => k === 'messages')) {
    const entries = Array.isArray(value.messages) ? value.messages : [];
    return entries.some((m) => isObject(m) && (m.type === 'result' || m.ts !== undefined)) ? 'send-response' : 'callback-response';
  }
  const type = value.type;
  if (typeof type !== 'string') return undefined;
  if (value.mid !== undefined) return 'inbound-message';
  if (value.ts !== undefined) return 'inbound-action';
  if (type === 'typing' || type === 'read') return 'outbound-action';
  if (type === 'postback') return 'button-action';
  if (type === 'text' && isObject(value.text)) return 'button-action';
  if (type === 'link' && isObject(value.link) && value.link.label !== undefined) return 'button-action';
  return 'outbound-message';
}

interface OutboundSchemas {
  OutboundMessageSchema: z.ZodType;
  OutboundActionSchema: z.ZodType;
  ButtonActionSchema: z.ZodType;
  SendRequestSchema?: z.ZodType;
  SendResponseSchema?: z.ZodType;
  SendMessageResultSchema?: z.ZodType;
}

/** src/protocol/outbound.ts, when it exists with the schemas this test needs. */
async function loadOutbound(): Promise<OutboundSchemas | undefined> {
  // A computed specifier: this test must compile and run before that module exists.
  const specifier = '../../src/protocol/outbound.js';
  const mod = (await import(specifier).catch(() => undefined)) as Partial<OutboundSchemas> | undefined;
  if (!mod?.OutboundMessageSchema || !mod.OutboundActionSchema || !mod.ButtonActionSchema) return undefined;
  return mod as OutboundSchemas;
}

const ACTION_LABEL_LIMIT = 20;

/** Where a button action sample breaks a documented limit (the spec's own samples do). */
function buttonActionViolations(value: Json): string[] {
  const type = value.type as string;
  const body = value[type];
  if (!isObject(body) || typeof body.label !== 'string') return [];
  return codePointLength(body.label) > ACTION_LABEL_LIMIT ? [`${type}.label`] : [];
}

function paths(result: { success: boolean; error?: { issues: { path: PropertyKey[] }[] } }): string[] {
  return result.success ? [] : (result.error?.issues ?? []).map((i) => i.path.map(String).join('.'));
}

if (!SPEC_FOUND) {
  console.warn(`spec-samples.test.ts: ${SPEC_PATH} not found; the spec sample checks are skipped.`);
}

(SPEC_FOUND ? describe : describe.skip)(`spec JSON samples (${SPEC_FOUND ? SPEC_PATH : `skipped: ${SPEC_PATH} not found`})`, () => {
  const blocks = SPEC_FOUND ? fencedBlocks(readFileSync(SPEC_PATH, 'utf8')) : [];
  const valid = blocks.flatMap((block) => {
    try {
      return [{ ...block, value: JSON.parse(block.text) as unknown }];
    } catch {
      return [];
    }
  });
  let outbound: OutboundSchemas | undefined;

  beforeAll(async () => {
    outbound = await loadOutbound();
    if (!outbound) {
          console.warn('spec-samples.test.ts: src/protocol/outbound.ts is not there yet; outbound samples are only classified.');
    }
  });

  it('finds the valid JSON samples', () => {
    expect(blocks.length).toBeGreaterThan(40);
    expect(valid.length).toBeGreaterThanOrEqual(13);
  });

  it('every valid sample is one of the known shapes', () => {
    const unknown = valid.filter((b) => classify(b.value) === undefined).map((b) => `line ${b.line}`);
    expect(unknown).toEqual([]);
  });

  it('the verbatim fixtures are copied exactly from the spec', () => {
    const texts = new Set(valid.map((b) => b.text.trim()));
    const verbatim = [
      S.SINGLE_TEXT_CALLBACK,
      S.POSTBACK_CALLBACK,
      S.CALLBACK_RESPONSE_SAMPLE,
      S.SINGLE_TEXT_CALLBACK_RESPONSE,
      S.TYPING_CALLBACK_RESPONSE,
      S.MULTIPLE_MESSAGE_CALLBACK_RESPONSE,
      S.SEND_RESPONSE_STRING_TS,
      S.OUTBOUND_TYPING_ACTION,
      S.BUTTON_TEXT_ACTION,
      S.BUTTON_LINK_ACTION,
      S.OUTBOUND_TEXT_MESSAGE,
      S.OUTBOUND_IMAGE_MESSAGE,
      S.OUTBOUND_LINK_MESSAGE,
    ];
    for (const fixture of verbatim) expect(texts.has(fixture)).toBe(true);
    expect(verbatim).toHaveLength(valid.length);
  });

  it('callbacks parse under ChatCallbackSchema, and as exact bytes through the webhook parser', () => {
    const samples = valid.filter((b) => classify(b.value) === 'callback');
    expect(samples.length).toBeGreaterThanOrEqual(2);
    for (const b of samples) {
      expect({ line: b.line, paths: paths(ChatCallbackSchema.safeParse(b.value)) }).toEqual({ line: b.line, paths: [] });
      const outcome = parseCallback(Buffer.from(b.text, 'utf8'));
      expect({ line: b.line, ok: outcome.ok }).toEqual({ line: b.line, ok: true });
    }
  });

  it('callback responses ({messages:[{mid, result}]} or {}) parse under CallbackResponseSchema', () => {
    const samples = valid.filter((b) => ['callback-response', 'send-response'].includes(classify(b.value)!));
    expect(samples.length).toBeGreaterThanOrEqual(5);
    for (const b of samples) {
      expect({ line: b.line, paths: paths(CallbackResponseSchema.safeParse(b.value)) }).toEqual({ line: b.line, paths: [] });
    }
  });

  it('inbound message and action fragments parse', () => {
    for (const b of valid) {
      const kind = classify(b.value);
      if (kind === 'inbound-message') expect({ line: b.line, paths: paths(InboundMessageSchema.safeParse(b.value)) }).toEqual({ line: b.line, paths: [] });
      if (kind === 'inbound-action') expect({ line: b.line, paths: paths(InboundActionSchema.safeParse(b.value)) }).toEqual({ line: b.line, paths: [] });
    }
  });

  it('send responses parse under the outbound response schemas, string ts coerced', () => {
    if (!outbound?.SendResponseSchema || !outbound.SendMessageResultSchema) return;
    const samples = valid.filter((b) => classify(b.value) === 'send-response');
    expect(samples.length).toBeGreaterThanOrEqual(1);
    for (const b of samples) {
      const response = outbound.SendResponseSchema.parse(b.value) as { messages?: unknown[] };
      for (const entry of response.messages ?? []) {
        const result = outbound.SendMessageResultSchema.parse(entry) as { ts?: unknown };
        if (result.ts !== undefined) expect(typeof result.ts).toBe('number');
      }
    }
  });

  it('outbound fragments parse under the outbound schemas, except where the spec breaks its own limits', () => {
    if (!outbound) return;
    const schemaOf: Partial<Record<Kind, z.ZodType | undefined>> = {
      'outbound-action': outbound.OutboundActionSchema,
      'button-action': outbound.ButtonActionSchema,
      'outbound-message': outbound.OutboundMessageSchema,
      'send-request': outbound.SendRequestSchema,
    };
    let checked = 0;
    for (const b of valid) {
      const kind = classify(b.value)!;
      const schema = schemaOf[kind];
      if (!schema) continue;
      checked++;
      const expected = kind === 'button-action' ? buttonActionViolations(b.value as Json) : [];
      const got = paths(schema.safeParse(b.value));
      expect({ line: b.line, kind, paths: got }).toEqual({ line: b.line, kind, paths: expected });
    }
    expect(checked).toBeGreaterThanOrEqual(6);
  });

  it('the buttons text action sample is rejected for its 22-character label', () => {
    if (!outbound) return;
    const result = outbound.ButtonActionSchema.safeParse(JSON.parse(S.BUTTON_TEXT_ACTION));
    expect(paths(result)).toEqual(['text.label']);
  });
});

describe('hand-repaired samples', () => {
  it('are valid JSON and parse under their schemas', async () => {
    for (const sample of [S.TYPING_CALLBACK, S.MULTIPLE_MESSAGE_CALLBACK]) {
      expect(ChatCallbackSchema.safeParse(JSON.parse(sample)).success).toBe(true);
    }
    for (const sample of [S.LEAVE_ACTION, S.TYPING_ACTION, S.DLV_ACTION, S.READ_ACTION]) {
      expect(classify(JSON.parse(sample))).toBe('inbound-action');
      expect(InboundActionSchema.safeParse(JSON.parse(sample)).success).toBe(true);
    }
    for (const sample of [S.TEXT_MESSAGE, S.IMAGE_MESSAGE]) {
      expect(classify(JSON.parse(sample))).toBe('inbound-message');
      expect(InboundMessageSchema.safeParse(JSON.parse(sample)).success).toBe(true);
    }
    const outbound = await loadOutbound();
    if (outbound) {
      expect(paths(outbound.OutboundActionSchema.safeParse(JSON.parse(S.OUTBOUND_READ_ACTION)))).toEqual([]);
      expect(paths(outbound.ButtonActionSchema.safeParse(JSON.parse(S.BUTTON_POSTBACK_ACTION)))).toEqual([]);
    }
  });
});
