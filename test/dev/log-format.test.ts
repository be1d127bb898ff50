/**
 * The dev terminal's rendering of the bot's pino lines, on lines pino really wrote: a handler error
 * keeps its whole stack, the bot's own frame (file and line) first, the framework's after, the
 * node_modules and node-internal frames folded into a count.
 */
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { formatBotLine } from '../../src/dev/log-format.js';

const ROOT = '/work/app';
const plain = { root: ROOT, color: false };

/** An error whose stack is what a handler in bots/pizza throws through the framework. */
function handlerError(message: string): Error {
  const err = new Error(message);
  err.stack = [
    `Error: ${message}`,
    `    at Composer.handler (${ROOT}/src/bot/validate.ts:88:11)`,
    `    at placeOrder (${ROOT}/bots/pizza/orders.ts:42:7)`,
    `    at async Bot.dispatch (${ROOT}/src/bot/bot.ts:301:5)`,
    `    at async Layer.handle (${ROOT}/node_modules/express/lib/router/layer.js:95:5)`,
    '    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)',
  ].join('\n');
  return Object.assign(err, { code: 'ADDRESS_INVALID' });
}

/** The one JSON line pino writes for `log(logger)`. */
function pinoLine(log: (logger: Logger) => void): string {
  let line = '';
  const logger = pino(
    { base: { pid: 1 } },
    new Writable({
      write(chunk: Buffer, _enc, done) {
        line += chunk.toString();
        done();
      },
    }),
  );
  log(logger);
  return line.trim();
}

describe('formatBotLine', () => {
  it('prints a handler error whole: the bot frame first with its file and line, nothing cut', () => {
    const message = `the address must name a street and a number, got ${'x'.repeat(200)}`;
    const line = pinoLine((l) => l.error({ err: handlerError(message), chatId: 'c1' }, 'handler failed'));
    const out = formatBotLine(line, plain).split('\n');
    expect(out[0]).toMatch(/^\[bot\] \d\d:\d\d:\d\d ERROR handler failed {2}chatId=c1$/);
    expect(out.slice(1)).toEqual([
      `      Error: ${message}  code=ADDRESS_INVALID`,
      '      › at placeOrder (bots/pizza/orders.ts:42:7)',
      '        at Composer.handler (src/bot/validate.ts:88:11)',
      '        at async Bot.dispatch (src/bot/bot.ts:301:5)',
      '        … 2 more in node_modules and node internals',
    ]);
    expect(formatBotLine(line, plain)).not.toContain('…/');
  });

  it('prints each cause of an error with its own frames', () => {
    const cause = handlerError('street missing');
    const line = pinoLine((l) => l.error({ err: new Error('order failed', { cause }) }, 'handler failed'));
    const out = formatBotLine(line, plain).split('\n');
    const causeAt = out.findIndex((l) => l.includes('caused by: Error: street missing'));
    expect(causeAt).toBeGreaterThan(1);
    expect(out[causeAt + 1]).toBe('      › at placeOrder (bots/pizza/orders.ts:42:7)');
  });

  it('keeps ordinary fields on the line, cutting only long ones', () => {
    const line = pinoLine((l) => l.info({ bot: 'echo', body: 'y'.repeat(500) }, 'BBM bot listening'));
    const out = formatBotLine(line, plain);
    expect(out).toMatch(/INFO {2}BBM bot listening {2}bot=echo body=y{160}…$/);
    expect(out.split('\n')).toHaveLength(1);
  });

  it('marks the bot frames in colour on a terminal', () => {
    const line = pinoLine((l) => l.error({ err: handlerError('boom') }, 'handler failed'));
    expect(formatBotLine(line, { root: ROOT, color: true })).toContain('\x1b[1;36m› at placeOrder (bots/pizza/orders.ts:42:7)\x1b[0m');
  });

  it('passes lines that are not pino JSON through, prefixed', () => {
    expect(formatBotLine('[tsx] change in ./bots/pizza/index.ts Restarting...', plain)).toBe('[bot] [tsx] change in ./bots/pizza/index.ts Restarting...');
    expect(formatBotLine('{not json', plain)).toBe('[bot] {not json');
  });
});
