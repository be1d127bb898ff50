import { applyHeapGrowingPercent } from '../../src/server/heap.js';

describe('applyHeapGrowingPercent (HEAP_GROWING_PERCENT)', () => {
  it('0 leaves V8’s own policy', () => {
    expect(applyHeapGrowingPercent(0, [])).toBeUndefined();
  });

  it('a --heap-growing-percent given to node wins', () => {
    expect(applyHeapGrowingPercent(20, ['--heap-growing-percent=50'])).toBeUndefined();
    expect(applyHeapGrowingPercent(20, ['--heap_growing_percent=50'])).toBeUndefined();
  });

  it('applies a percent and says so', () => {
    expect(applyHeapGrowingPercent(20, [])).toBe(20);
  });

  it('refuses a negative or fractional percent', () => {
    expect(() => applyHeapGrowingPercent(-1, [])).toThrow(RangeError);
    expect(() => applyHeapGrowingPercent(2.5, [])).toThrow(RangeError);
  });
});
