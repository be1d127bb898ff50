/**
 * The spec's outgoing typing rules (src/protocol/typing-rules.ts), driven by a FakeClock: the exact
 * moments a typing action goes out, to the millisecond.
 */
import { OutgoingTypingRules } from '../../src/protocol/typing-rules.js';
import { FakeClock } from '../../src/testing/fake-clock.js';

function setup(options: { activeMs?: number; send?: () => unknown; onError?: (e: unknown) => void } = {}) {
  const clock = new FakeClock();
  const start = clock.now();
  const sent: number[] = [];
  const rules = new OutgoingTypingRules({
    clock,
    send: options.send ?? (() => sent.push(clock.now() - start)),
    ...(options.activeMs === undefined ? {} : { activeMs: options.activeMs }),
    ...(options.onError ? { onError: options.onError } : {}),
  });
  /** Moves the clock to `t` ms after the start. */
  const at = (t: number) => clock.advance(start + t - clock.now());
  return { clock, rules, sent, at };
}

describe('outgoing typing rules', () => {
  it('continuous typing sends at exactly 5 s, 40 s and 75 s (rules 1, 3, 4: 30 s, then a new 5 s timer)', () => {
    const { rules, sent, at } = setup();
    rules.typing();
    at(4_999);
    expect(sent).toEqual([]);
    at(5_000);
    expect(sent).toEqual([5_000]);
    at(39_999);
    expect(sent).toEqual([5_000]);
    at(40_000);
    expect(sent).toEqual([5_000, 40_000]);
    at(74_999);
    expect(sent).toEqual([5_000, 40_000]);
    at(75_000);
    expect(sent).toEqual([5_000, 40_000, 75_000]);
  });

  it('keystroke-driven typing (activeMs) gives the same times while keystrokes keep coming', () => {
    const { rules, sent, at } = setup({ activeMs: 3_000 });
    for (let t = 0; t < 80_000; t += 1_000) {
      at(t);
      rules.typing();
    }
    at(80_000);
    expect(sent).toEqual([5_000, 40_000, 75_000]);
  });

  it('rule 2: a message at 4,999 ms cancels the pending typing action', () => {
    const { clock, rules, sent, at } = setup();
    rules.typing();
    at(4_999);
    rules.messageSent();
    at(120_000);
    expect(sent).toEqual([]);
    expect(clock.pendingTimers).toBe(0);
  });

  it('rule 1: typing again within 30 s of the last action sends nothing before the window ends', () => {
    const { rules, sent, at } = setup({ activeMs: 3_000 });
    rules.typing();
    at(5_000);
    rules.idle();
    at(20_000);
    rules.typing(); // 15 s after the last action: wait for the window
    at(34_999);
    expect(sent).toEqual([5_000]);
    rules.typing(); // still typing when the window ends at 35 s: scheduled with the 5 s delay
    at(39_999);
    expect(sent).toEqual([5_000]);
    at(40_000);
    expect(sent).toEqual([5_000, 40_000]);
  });

  it('rule 4: idle after the first action, nothing more is sent', () => {
    const { clock, rules, sent, at } = setup();
    rules.typing();
    at(5_000);
    rules.idle();
    at(200_000);
    expect(sent).toEqual([5_000]);
    expect(clock.pendingTimers).toBe(0);
  });

  it('rule 4: keystrokes that stopped more than activeMs before the window ends send nothing more', () => {
    const { rules, sent, at } = setup({ activeMs: 3_000 });
    rules.typing();
    at(31_000);
    rules.typing(); // 4 s before the window ends at 35 s: idle by then
    at(200_000);
    expect(sent).toEqual([5_000]);
  });

  it('rule 5: a sent message forgets the last action, so typing right after goes out 5 s later', () => {
    const { rules, sent, at } = setup();
    rules.typing();
    at(8_000);
    rules.messageSent();
    rules.typing(); // 3 s after the last action, but the message reset the window
    at(12_999);
    expect(sent).toEqual([5_000]);
    at(13_000);
    expect(sent).toEqual([5_000, 13_000]);
  });

  it('stop() cancels every timer but keeps the last action, so rule 1 still holds afterwards', () => {
    const { clock, rules, sent, at } = setup();
    rules.typing();
    at(10_000);
    rules.stop();
    expect(clock.pendingTimers).toBe(0);
    at(20_000);
    rules.typing(); // within 30 s of the action at 5 s
    at(200_000);
    expect(sent).toEqual([5_000, 40_000, 75_000, 110_000, 145_000, 180_000]);
  });

  it('a failing send (thrown or rejected) goes to onError and the rules go on', async () => {
    const errors: unknown[] = [];
    let calls = 0;
    const { rules, at } = setup({
      onError: (e) => errors.push(e),
      send: () => {
        if (++calls === 1) return Promise.reject(new Error('network'));
        throw new Error('sync');
      },
    });
    rules.typing();
    at(5_000);
    at(40_000);
    await Promise.resolve();
    expect(calls).toBe(2);
    expect(errors.map((e) => (e as Error).message).sort()).toEqual(['network', 'sync']);
  });

  it('refuses timings that are not a number of ms, with a coded error naming the field', () => {
    const clock = new FakeClock();
    expect(() => new OutgoingTypingRules({ clock, send: () => undefined, delayMs: -1 })).toThrow(
      expect.objectContaining({ code: 'BAD_OPTION', field: 'delayMs' }),
    );
    expect(() => new OutgoingTypingRules({ clock, send: () => undefined, windowMs: Number.NaN })).toThrow(
      expect.objectContaining({ code: 'BAD_OPTION', field: 'windowMs' }),
    );
    expect(() => new OutgoingTypingRules({ clock, send: () => undefined, activeMs: 0 })).toThrow(
      expect.objectContaining({ code: 'BAD_OPTION', field: 'activeMs' }),
    );
  });
});
