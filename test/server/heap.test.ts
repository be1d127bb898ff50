import { LARGE_HEAP_BYTES, startHeapPolicy } from '../../src/server/heap.js';

describe('startHeapPolicy (HEAP_GROWING_PERCENT)', () => {
  const recording = () => {
    const flags: string[] = [];
    return { flags, setFlag: (f: string) => void flags.push(f) };
  };

  it('applies the percent once the live heap is large, and V8’s own policy again when it is small', () => {
    const { flags, setFlag } = recording();
    const policy = startHeapPolicy(20, { execArgv: [], setFlag, observe: false });
    policy.check(10 * 1024 * 1024);
    expect(flags).toEqual([]);
    policy.check(LARGE_HEAP_BYTES);
    policy.check(LARGE_HEAP_BYTES * 2);
    expect(flags).toEqual(['--heap-growing-percent=20']);
    expect(policy.applied).toBe(true);
    // Between half the threshold and the threshold nothing changes: no flapping.
    policy.check(LARGE_HEAP_BYTES * 0.6);
    expect(policy.applied).toBe(true);
    policy.check(LARGE_HEAP_BYTES * 0.4);
    expect(flags).toEqual(['--heap-growing-percent=20', '--heap-growing-percent=0']);
    expect(policy.applied).toBe(false);
    policy.stop();
  });

  it('engages after a minor collection, unless the last full one found little live data (no flapping)', () => {
    const { flags, setFlag } = recording();
    const policy = startHeapPolicy(20, { execArgv: [], setFlag, observe: false });
    // Before any full collection: a large old generation engages at once.
    policy.check(LARGE_HEAP_BYTES, false);
    expect(policy.applied).toBe(true);
    // A full collection finds 10% of it live: back to V8's policy...
    policy.check(LARGE_HEAP_BYTES * 0.1, true);
    expect(policy.applied).toBe(false);
    // ...and garbage piling up again between full collections does not engage it.
    policy.check(LARGE_HEAP_BYTES * 3, false);
    expect(policy.applied).toBe(false);
    // Live data that has grown, as a full collection finds it, does.
    policy.check(LARGE_HEAP_BYTES * 1.5, true);
    expect(flags).toEqual(['--heap-growing-percent=20', '--heap-growing-percent=0', '--heap-growing-percent=20']);
    policy.stop();
  });

  it('0, or a --heap-growing-percent given to node, leaves V8’s policy alone', () => {
    for (const [percent, execArgv] of [
      [0, []],
      [20, ['--heap-growing-percent=50']],
      [20, ['--heap_growing_percent=50']],
    ] as const) {
      const { flags, setFlag } = recording();
      const policy = startHeapPolicy(percent, { execArgv, setFlag });
      policy.check(LARGE_HEAP_BYTES * 4);
      expect(flags).toEqual([]);
      expect(policy.percent).toBeUndefined();
      policy.stop();
    }
  });

  it('refuses a negative or fractional percent', () => {
    expect(() => startHeapPolicy(-1, { observe: false })).toThrow(RangeError);
    expect(() => startHeapPolicy(2.5, { observe: false })).toThrow(RangeError);
  });

  it('watches real full collections', async () => {
    const { setFlag } = recording();
    const seen: number[] = [];
    const policy = startHeapPolicy(20, { execArgv: [], setFlag });
    const check = policy.check.bind(policy);
    policy.check = (live: number) => {
      seen.push(live);
      check(live);
    };
    // Enough old-generation garbage to bring a full collection within the wait.
    const deadline = Date.now() + 5000;
    while (seen.length === 0 && Date.now() < deadline) {
      let keep: unknown[] = [];
      for (let i = 0; i < 200_000; i++) keep.push({ i, s: `x${i}` });
      keep = [];
      await new Promise((r) => setTimeout(r, 10));
      void keep;
    }
    policy.stop();
    expect(seen.length).toBeGreaterThan(0);
  });
});
